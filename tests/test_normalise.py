from bot.matching.encoder import dictionary_words
from bot.matching.normalise import Normaliser
from bot.text import clean, compile_phrase


def test_clean_folds_case_punctuation_and_apostrophes():
    assert clean("  What’s the NON-emergency number?!  ") == "whats the non emergency number"
    assert clean("don't") == clean("dont") == clean("don`t")


def test_clean_removes_invisible_characters_inside_words_and_splits_at_controls():
    assert clean("be\u200bacon\u0000num\u200dber\u202e") == "beacon number"
    for mark in ("\u200d", "\u200b", "\u00ad", "\ufeff", "\u200e", "\u200f", "\u2066"):
        assert clean(f"bea{mark}con") == "beacon", repr(mark)
    assert clean("ｂｅａｃｏｎ") == "beacon"  # full-width letters (NFKC)


def test_clean_of_emoji_only_or_blank_text_is_empty():
    assert clean("🚓🚨") == ""
    assert clean(" \t\n ") == ""


def test_replacements_fix_misspellings_and_synonyms_including_phrases():
    normalise = Normaliser({"numbr": "number", "old bill": "police"}, ["number", "police"])
    assert normalise("Beacon numbr") == "beacon number"
    assert normalise("call the Old Bill") == "call the police"


def test_unknown_words_one_typo_away_are_corrected_but_real_words_are_kept():
    normalise = Normaliser({}, ["stolen", "burglary", "night", "report"])
    assert normalise("burglray reprot") == "burglary report"  # swapped letters
    assert normalise("fight") == "fight"  # different first letter: not turned into "night"
    assert normalise("stol") == "stol"  # too short to correct safely


def test_phrases_match_whole_words_with_alternatives_and_gaps():
    pattern = compile_phrase("is hitting/kicking * me")
    assert pattern.search("he is hitting me")
    assert pattern.search("she is kicking my brother and me")
    assert not pattern.search("he is shitting me")
    assert not pattern.search("this hitting me")


def test_real_words_are_never_corrected_into_content_words():
    normalise = Normaliser(vocabulary=["randox", "number"], dictionary=["random"])
    assert normalise("random question") == "random question"
    assert normalise("randax numbre") == "randox number"  # typos still are


def test_the_dictionary_knows_everyday_english_but_not_typos():
    words = dictionary_words()
    assert {"random", "stolen", "neighbour"} <= words
    assert not {"numbr", "beacn", "polic"} & words
