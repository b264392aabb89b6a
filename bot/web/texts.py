"""Fixed texts of the web chat (HTML of the allow-list). Answers come from the content."""

SLOW_DOWN = (
    "You're sending messages very quickly. Please wait a moment, then try again. "
    "In an emergency, call 999."
)
NONE_OF_THESE = (
    "Sorry I couldn't help with that. Try asking in other words.\n"
    "• Not an emergency: call <b>101</b>.\n"
    "• Danger right now: call <b>999</b>."
)
TOPICS = "Pick a topic, or type your question:"
WHAT_WANTED = "Sorry that didn't help. What were you looking for?"
SOMETHING_ELSE = "Something else"
WANTED_THANKS = (
    "Thanks – staff read these to improve my answers. Try asking in other words.\n"
    "• Not an emergency: call <b>101</b>.\n• Danger right now: call <b>999</b>."
)
FEEDBACK_THANKS = "Thanks for your feedback!"
FORGOTTEN = "Done: this chat is cleared here and the {count} records kept about it are deleted."
FORGET_FAILED = (
    "Sorry, the records could not be deleted just now. Please try again in a few minutes."
)
EXPIRED = "That button has expired. Please type your question."
DANGER_NOW = (
    "🚨 <b>If you or someone else is in danger now, call 999.</b>\n"
    "If you can't speak on a mobile, call 999 and press 55 when prompted."
)
TOO_LONG = "Your message is too long: please keep it under {limit:,} characters."
TOO_BIG = "That request is too large."
NOT_JSON = "Send JSON: an object with a text field."
ERROR = (
    "Sorry, something went wrong on our side (reference {ref}). Please try again. "
    "In an emergency, call 999."
)
