"""Residents' questions whose kind of reply the shipped content decides, shared by the
tests of every channel, so a content change that moves one is fixed in one place."""

# Two topics fit and the match is unsure: the likelier one's answer is shown (a review of a
# complaint's outcome, IOPC 0300 020 0096) and the other (complaining about the police,
# 01707 806100) is offered below it.
AMBIGUOUS = "complaint help"
