"""Residents' questions whose kind of reply the shipped content decides, shared by the
tests of every channel, so a content change that moves one is fixed in one place."""

# Two topics fit and a resident must be asked which: complaining about the police, or a
# review of a complaint's outcome (first suggestion: the review, IOPC 0300 020 0096).
AMBIGUOUS = "complaint help"
