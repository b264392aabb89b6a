"""Residents' questions whose kind of reply the shipped content decides, shared by the
tests of every channel, so a content change that moves one is fixed in one place."""

# Two topics fit and the match is unsure: the likelier one's answer is shown and the other
# is offered below it. Their scores are close, so which one leads may change with the
# content: the tests check that one leads and the other is offered.
AMBIGUOUS = "complaint help"
# The two topics: the title on each one's button, and a number only its answer gives.
AMBIGUOUS_TOPICS = {
    "Complain about the police": "01707 806100",  # the Commissioner's office
    "Unhappy with the outcome of a police complaint": "0300 020 0096",  # the IOPC
}


def ambiguous_other(shown: str) -> tuple[str, str]:
    """The topic offered below the answer ``shown``: (its button's title, its number).
    Fails unless ``shown`` is exactly one of the two topics' answers."""
    led = [title for title, number in AMBIGUOUS_TOPICS.items() if number in shown]
    assert len(led) == 1, f"not one of the two answers: {shown[:200]!r}"
    return next((t, n) for t, n in AMBIGUOUS_TOPICS.items() if t != led[0])

# The safety check is unsure (a danger score in the unsure band, in its middle): the
# topic's answer, led by the 999 line and the "I'm in danger now" button.
UNSURE = "strange man hanging round the park taking photos"
