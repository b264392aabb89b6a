"""Fixed texts of the Telegram bot (Telegram HTML). Answers to questions live in intents/."""

EMERGENCY_FIRST = "🚨 <b>In an emergency, call 999.</b>"
WELCOME = (
    f"{EMERGENCY_FIRST}\n\n"
    "👋 <b>Hello!</b> I'm an automated assistant for community safety and policing in "
    "Hertfordshire, from the Office of the Police and Crime Commissioner. I'm not watched "
    "live and can't take reports.\n\n"
    "Pick one of the most asked topics below, or just ask in your own words – for example "
    "<i>how do I report fly-tipping?</i> or <i>Beacon phone number</i>."
)
HELP = (
    f"{EMERGENCY_FIRST}\n\n"
    "Pick one of the most asked topics below, or just ask in your own words. "
    "/topics lists everything I can help with."
)
DELAYED = "<i>Sorry for the delay in answering.</i>"
TOPICS = "Pick a topic, or type your question:"
ONLY_TEXT = (
    "Sorry, I can only read text messages. Please type your question.\n"
    "🚨 In an emergency, call <b>999</b>."
)
SLOW_DOWN = (
    "You're sending messages very quickly – please slow down and I'll answer again in a moment."
)
EXPIRED = "This menu has expired. Please type your question or send /topics."
NONE_OF_THESE = (
    "Sorry I couldn't help with that. Try asking in other words, or send /topics.\n"
    "• Not an emergency: call <b>101</b>.\n"
    "• Danger right now: call <b>999</b>."
)
FEEDBACK_THANKS = "Thanks for your feedback!"
UNKNOWN_COMMAND = "Sorry, I don't know that command. Send /topics to see what I can help with."
ERROR = (
    "Sorry, something went wrong on our side (reference {ref}). Please try again.\n"
    "🚨 In an emergency, call <b>999</b>."
)
PRIVACY = (
    "<b>Your privacy</b>\n"
    "• I don't keep your name, username or phone number. Your Telegram id is stored only as "
    "a one-way code, so records can't be traced back to you by reading them.\n"
    "• For each message I keep the time, which topic it matched and how sure I was. The words "
    "you typed are kept only when I could not answer, so staff can improve my answers; phone "
    "numbers, emails, postcodes, vehicle registrations, places, people's names (those I "
    "recognise) and similar details are removed first.\n"
    "• 👍/👎 feedback is kept with the answer it rates; after a 👎, the question you asked is "
    "kept too (details removed as above), so staff can see which answers failed.\n"
    "• Question text is deleted after {days} days.\n"
    "• Send /forget to delete everything kept about you, at any time."
)
FORGOTTEN = "Done: I deleted everything kept about you ({count} records)."
FORGET_FAILED = "Sorry, I couldn't delete your records just now. Please try again in a few minutes."
DANGER_NOW = (
    "🚨 <b>If you or someone else is in danger now, call 999.</b>\n"
    "If you can't speak on a mobile, call 999 and press 55 when prompted."
)
WHAT_WANTED = "Sorry that didn't help. What were you looking for?"
SOMETHING_ELSE = "Something else"
ALL_TOPICS = "◀ All topics"
WANTED_THANKS = (
    "Thanks – staff read these to improve my answers. Try asking in other words, or send "
    "/topics.\n• Not an emergency: call <b>101</b>.\n• Danger right now: call <b>999</b>."
)
