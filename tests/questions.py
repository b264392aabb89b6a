"""Residents' questions whose kind of reply the shipped content decides, shared by the
tests of every channel, so a content change that moves one is fixed in one place."""

# Two topics fit and the match is unsure: the likelier one's answer is shown (a review of
# a complaint's outcome, with the IOPC's 0300 020 0096) and the other (complaining about
# the police, the Commissioner's office on 01707 806100) is offered below it.
AMBIGUOUS = "complaint help"
AMBIGUOUS_LIKELIER_NUMBER = "0300 020 0096"
AMBIGUOUS_OTHER = "Complain about the police"  # its button
AMBIGUOUS_OTHER_NUMBER = "01707 806100"

# The safety check is unsure (a danger score in the unsure band, in its middle): the
# topic's answer, led by the 999 line and the "I'm in danger now" button.
UNSURE = "strange man hanging round the park taking photos"
