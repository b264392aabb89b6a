"""What staff tripped over in a trial of ``validate``, and the plain-English checks."""

import socket

import pytest

from bot.content import readability
from bot.entry import main
from tests.conftest import DEFAULTS
from tests.test_validation import intent


def validate(content_dir, *flags, env=None):
    return main(
        [
            "validate",
            "--intents",
            str(content_dir.intents),
            "--knowledge",
            str(content_dir.knowledge),
            *flags,
        ],
        env=env,
    )


# -- examples written as one text


def test_examples_written_as_one_text_are_an_error_on_their_line(content_dir, capsys):
    content_dir.write(
        "intents/one_text.yaml",
        'id: one_text\ntitle: One text\nanswer: A short answer.\nexamples: "beacon number, beacon phone"\n',
    )
    assert (
        "intents/one_text.yaml:4: examples: is one text ('beacon number, beacon phone'), so "
        "it would be a single example; write each example on its own line below, starting "
        "with '  - '"
    ) in content_dir.problems()
    assert validate(content_dir) == 1
    assert "intents/one_text.yaml:4: examples: is one text" in capsys.readouterr().out


# -- phone numbers typed into an answer


def test_a_typed_number_with_a_fact_names_the_reference_and_fails_validate(content_dir, capsys):
    content_dir.write(
        "intents/typed.yaml",
        intent("typed", answer="|\n  Support after a crime:\n  ring Beacon on 0300 011 55 55.\n"),
    )
    assert validate(content_dir) == 1
    assert (
        "intents/typed.yaml:5: phone number '0300 011 55 55' is typed in; write {beacon.phone} "
        "instead, so every number comes from its fact and changes with it"
    ) in capsys.readouterr().out.splitlines()


def test_a_typed_number_without_a_fact_asks_for_one_with_its_source(content_dir):
    content_dir.write("intents/unknown.yaml", intent("unknown", answer="Ring 01234 567890."))
    assert (
        "intents/unknown.yaml:3: phone number '01234 567890' is not a recorded fact; add it "
        "under knowledge/ as a fact's phone: (with its source), then refer to it as "
        "{that_fact.phone}"
    ) in content_dir.problems()


# -- language cards awaiting review: one line


def test_unreviewed_cards_are_one_line_and_verbose_lists_each(content_dir, capsys):
    content_dir.with_cards()
    assert validate(content_dir) == 0
    out = capsys.readouterr().out.splitlines()
    assert (
        "intents/_languages/ar.yaml:5: warning: 12 language cards await a fluent reviewer: "
        "ar, bg, bn, el, es, it, lt, pl, pt, ro, tr, ur (validate --verbose lists each)"
    ) in out
    assert not [line for line in out if "card has not been reviewed" in line]
    assert validate(content_dir, "--verbose") == 0
    verbose = capsys.readouterr().out.splitlines()
    assert len([line for line in verbose if "card has not been reviewed" in line]) == 12
    assert out[-1] == verbose[-1]  # the same totals either way


def test_a_few_unreviewed_cards_are_listed_each(content_dir):
    content_dir.with_cards()
    for path in (content_dir.intents / "_languages").glob("*.yaml"):
        if path.stem not in ("en", "ar", "ur"):
            path.write_text(path.read_text().replace("reviewed: false", "reviewed: true"))
    warnings = [p for p in content_dir.problems() if "fluent" in p]
    assert [w.split(": warning: ")[0] for w in warnings] == [
        "intents/_languages/ar.yaml:5",
        "intents/_languages/ur.yaml:5",
    ]


# -- the seeds folder


def test_without_the_seeds_folder_validate_says_it_did_not_check_sources(tmp_path, capsys):
    missing = tmp_path / "no-seeds"
    assert main(["validate"], env={"SEEDS_DIR": str(missing)}) == 0
    assert (
        f"{DEFAULTS.knowledge}:1: warning: facts' seed sources were not checked: no seeds "
        f"folder at {missing}; set SEEDS_DIR to the folder of source documents to check them"
    ) in capsys.readouterr().out.splitlines()


def test_with_the_seeds_folder_validate_says_nothing_about_it(capsys):
    assert main(["validate"]) == 0
    assert "seed sources were not checked" not in capsys.readouterr().out


# -- line numbers


def test_a_dedented_line_of_a_plain_answer_is_named_on_its_own_line(content_dir):
    content_dir.write("intents/dedent.yaml", intent("dedent", answer="Call us.\nThen wait."))
    assert content_dir.problems()[0] == (
        "intents/dedent.yaml:4: 'Then wait.' has no ':', so YAML cannot read it; if it "
        "continues the text above, indent it like that text's other lines; if it is a key, "
        "add the ':'"
    )


def test_a_dedented_line_of_a_block_answer_is_named_on_its_own_line(content_dir):
    content_dir.write("intents/block.yaml", intent("block", answer="|\n  Call us.\nThen wait."))
    assert content_dir.problems()[0].startswith("intents/block.yaml:5: 'Then wait.' has no ':'")


def test_a_link_missing_its_closing_quote_is_named_not_its_end_tag(content_dir):
    content_dir.write(
        "intents/quote.yaml",
        intent(
            "quote",
            answer='|\n  Business crime:\n  see <a href="https://www.hertscommissioner.org/IBAG>'
            "the advisory group</a>.\n",
        ),
    )
    problems = [p for p in content_dir.problems() if "quote.yaml" in p]
    assert problems == [
        'intents/quote.yaml:5: the quote opened in <a href="https://www.hertscommissioner.org'
        '/IBAG> is never closed; end the address with " before the >, as in '
        '<a href="https://...">'
    ]


# -- facts' sources


@pytest.mark.parametrize(
    ("source", "problem"),
    [
        ("'public: content brief'", "does not give the official page's address"),
        ("'public: www.crimestoppers-uk.org'", "does not give the official page's address"),
        ("'public: ftp://example.org/x'", "does not give the official page's address"),
        ("'the press release'", "is neither a seed document nor a public page"),
        ("'public'", "is neither a seed document nor a public page"),
    ],
)
def test_a_source_is_a_seed_document_or_a_public_url(content_dir, source, problem):
    content_dir.write(
        "knowledge/new.yaml",
        f"new:\n  name: New\n  phone: '0123'\n  source: {source}\n  checked: 2026-12-05\n",
    )
    (found,) = [p for p in content_dir.problems() if p.startswith("knowledge/new.yaml")]
    assert found.startswith("knowledge/new.yaml:4: source ") and problem in found


def test_a_public_url_is_a_source_and_still_needs_its_check_date(content_dir):
    content_dir.write(
        "knowledge/new.yaml",
        "new:\n  name: New\n  phone: '0123'\n  source: 'public: https://www.gov.uk/x'\n",
    )
    assert [p for p in content_dir.problems() if p.startswith("knowledge/new.yaml")] == [
        "knowledge/new.yaml:1: fact 'new' has no 'checked:' date (YYYY-MM-DD)"
    ]


# -- plain English


def test_reading_age_and_sentence_length_are_measured_without_markup_or_facts():
    plain = readability.measure("<b>Call</b> {beacon.phone}.\nWe can help.")
    assert plain.words_per_sentence == 2.0  # "Call" and "We can help": a line is a sentence
    assert plain.reading_age <= 9
    hard = readability.measure(
        "Residents experiencing victimisation may alternatively communicate "
        "confidentially with specialist organisations, irrespective of whether the "
        "constabulary was previously notified regarding the circumstances."
    )
    assert hard.reading_age > 11 and hard.words_per_sentence > 20


def test_acronyms_must_be_written_out_once_in_the_answer():
    assert readability.measure("Ask your SNT or the OPCC. IBAG can help.").unexplained == (
        "SNT",
        "OPCC",
        "IBAG",
    )
    explained = (
        "Your Safer Neighbourhood Team (SNT) can help. The Office of the Police and Crime "
        "Commissioner (OPCC) funds it. PCSOs (Police Community Support Officers) patrol."
    )
    assert readability.measure(explained).unexplained == ()
    well_known = "The NHS and the UK. Text by SMS, OK? Your PIN. See GOV.UK or <b>CCTV</b>."
    assert readability.measure(well_known).unexplained == ("CCTV",)


def test_reading_needs_no_network(monkeypatch):
    def refuse(*args, **kwargs):
        raise AssertionError("the reading check tried to use the network")

    monkeypatch.setattr(socket, "socket", refuse)
    monkeypatch.setattr(socket, "create_connection", refuse)
    assert readability.measure("Call us today. We can help.").reading_age < 11


HARD = (
    "Residents experiencing victimisation may alternatively communicate confidentially "
    "with specialist organisations, irrespective of whether the constabulary was "
    "previously notified regarding the circumstances."
)


def test_hard_answers_are_warnings_on_their_answer_line(content_dir):
    content_dir.write("intents/hard.yaml", intent("hard", answer=HARD.replace("constabulary", "OPCC")))
    problems = [p for p in content_dir.problems(plain_english=True) if p.startswith("intents/hard.yaml")]
    assert len(problems) == 3 and all(p.startswith("intents/hard.yaml:3: warning: ") for p in problems)
    text = "\n".join(problems)
    assert "the answer needs a reading age of about " in text and "(aim for 11 or under)" in text
    assert "the answer's sentences average 21 words (aim for 20 or fewer)" in text
    assert "'OPCC' is never explained in the answer; write it out once" in text


def test_many_hard_answers_are_one_line_each_kind_and_exit_0(content_dir, capsys):
    for name in ("hard_a", "hard_b", "hard_c"):
        examples = "".join(f"  - {name} phrasing {n}\n" for n in range(10))
        content_dir.write(
            f"intents/{name}.yaml",
            f"id: {name}\ntitle: {name}\nanswer: {HARD}\nexamples:\n{examples}menu: false\n",
        )
    assert validate(content_dir) == 0
    out = capsys.readouterr().out.splitlines()
    (ages,) = [line for line in out if "answers need a reading age over 11:" in line]
    assert "hard_a (" in ages and "hard_c (" in ages and ages.endswith("(validate --verbose lists each)")
    (lengths,) = [line for line in out if "answers average over 20 words a sentence:" in line]
    assert "hard_b (" in lengths
    assert not [line for line in out if "needs a reading age of about" in line]
    assert validate(content_dir, "--verbose") == 0
    verbose = capsys.readouterr().out.splitlines()
    assert "intents/hard_a.yaml:3: warning: the answer needs a reading age of about" in "\n".join(verbose)
    # and each answer's reading level, the easy ones too
    assert [line for line in verbose if line.startswith("intents/greeting.yaml:") and ": note: reading age " in line]

