"""Each broken file gives one exact ``file:line: message`` line, and nothing crashes."""

from bot.content.loading import load_content
from bot.content.readability import SUMMARIES
from bot.entry import main
from tests.conftest import DEFAULTS

CARDS_SUMMARY = "{count} language cards await a fluent reviewer: {items}"

FILLER = "".join(f"  - filler phrasing number {n}\n" for n in range(10))


def intent(id_: str, answer: str = "A short answer.", extra: str = "") -> str:
    return f"id: {id_}\ntitle: {id_}\n{extra}answer: {answer}\nexamples:\n{FILLER}"


def test_the_project_content_is_valid(capsys):
    assert main(["validate"]) == 0
    assert capsys.readouterr().out.splitlines()[-1].startswith("0 errors, ")
    # The only warnings: language cards still waiting for a fluent speaker's review, and
    # answers to put in plainer English.
    _, problems = load_content(DEFAULTS.intents, DEFAULTS.knowledge, DEFAULTS.seeds)
    assert {p.summary for p in problems} <= {CARDS_SUMMARY, *SUMMARIES}


def test_yaml_syntax_error_names_line_and_column(content_dir):
    content_dir.write("intents/broken.yaml", "id: broken\ntitle: x\nexamples:\n  - one\n - two\n")
    assert content_dir.problems() == [
        "intents/broken.yaml:5: YAML syntax error at column 2: expected <block end>, but found "
        "'<block sequence start>'; check the indentation, colons and quotes on this line and "
        "the one before"
    ]


def test_duplicate_keys_are_reported(content_dir):
    content_dir.write("intents/dup.yaml", "id: dup\ntitle: A\ntitle: B\n" + intent("x")[6:])
    assert (
        "intents/dup.yaml:3: duplicate key 'title' (first given on line 2); YAML would "
        "silently keep only the last one, so remove one of them"
    ) in content_dir.problems()


def test_duplicate_intent_ids_are_reported(content_dir):
    content_dir.write("intents/another_greeting.yaml", intent("greeting"))
    assert (
        "intents/greeting.yaml:1: intent id 'greeting' is already used by "
        "intents/another_greeting.yaml:1; give this intent another id"
    ) in content_dir.problems()


def test_missing_and_empty_answers_are_reported(content_dir):
    content_dir.write("intents/empty.yaml", intent("empty", answer=""))
    content_dir.write(
        "intents/missing.yaml", intent("missing").replace("answer: A short answer.\n", "")
    )
    problems = content_dir.problems()
    assert "intents/empty.yaml:3: answer is empty; write the text after the colon" in problems
    assert (
        "intents/missing.yaml:1: missing 'answer:'; every intent needs id, title, answer, examples"
    ) in problems


def test_values_yaml_turns_into_numbers_or_booleans_must_be_quoted(content_dir):
    content_dir.write("intents/boolean.yaml", intent("boolean", answer="no"))
    content_dir.write(
        "knowledge/octal.yaml",
        "octal:\n  name: Octal\n  phone: 03000115555\n  source: 'public: x'\n  checked: 2026-01-01\n",
    )
    problems = content_dir.problems()
    assert (
        "intents/boolean.yaml:3: answer 'no' is read by YAML as true/false, not text; "
        'put it in quotes: "no"'
    ) in problems
    assert (
        "knowledge/octal.yaml:3: octal.phone '03000115555' is read by YAML as a number, not "
        'text; put it in quotes: "03000115555"'
    ) in problems


def test_references_to_missing_facts_are_reported(content_dir):
    content_dir.write(
        "intents/refs.yaml", intent("refs", answer="Call {beacon.fax} or {nobody.phone}.")
    )
    problems = content_dir.problems()
    assert (
        "intents/refs.yaml:3: fact 'beacon' has no field 'fax' (it has: email, phone, web)"
        in problems
    )
    assert (
        "intents/refs.yaml:3: {nobody.phone} refers to a fact 'nobody' that does not exist; "
        "add it under knowledge/ or fix the name"
    ) in problems


def test_the_same_example_under_two_intents_is_reported(content_dir):
    content_dir.write("intents/aa_first.yaml", intent("aa_first") + "  - Where's my stolen bike?\n")
    content_dir.write("intents/zz_copy.yaml", intent("zz_copy") + "  - where's my STOLEN bike\n")
    assert (
        "intents/zz_copy.yaml:15: example 'where's my STOLEN bike' is also an example of "
        "'aa_first' (intents/aa_first.yaml:15); keep it under one intent only"
    ) in content_dir.problems()


def test_unrecorded_numbers_emails_and_links_in_answers_are_errors(content_dir):
    content_dir.write(
        "intents/unsourced.yaml",
        intent(
            "unsourced",
            answer="|\n  Call us.\n  Ring 01234 567890, mail a@example.com or see "
            'www.example.org/page.\n  Or <a href="https://evil.example.com">here</a>.\n',
        ),
    )
    problems = content_dir.problems()
    hint = "add it under knowledge/ with its source and refer to it as"
    assert (
        "intents/unsourced.yaml:5: phone number '01234 567890' is not a recorded fact; add it "
        "under knowledge/ as a fact's phone: (with its source), then refer to it as "
        "{that_fact.phone}" in problems
    )
    assert (
        f"intents/unsourced.yaml:5: email address 'a@example.com' is not a recorded fact; {hint} {{fact.email}}"
        in problems
    )
    assert (
        f"intents/unsourced.yaml:5: link 'www.example.org/page' is not a recorded fact; {hint} {{fact.web}}"
        in problems
    )
    assert (
        f"intents/unsourced.yaml:6: link 'https://evil.example.com' is not a recorded fact; {hint} {{fact.web}}"
        in problems
    )


def test_recorded_numbers_typed_in_are_errors_naming_the_fact_to_use(content_dir):
    content_dir.write(
        "intents/literal.yaml", intent("literal", answer="Call 101 or ring 0300 011 55 55.")
    )
    assert [p for p in content_dir.problems() if "literal.yaml" in p] == [
        "intents/literal.yaml:3: phone number '0300 011 55 55' is typed in; write "
        "{beacon.phone} instead, so every number comes from its fact and changes with it",
        "intents/literal.yaml:3: phone number '101' is typed in; write "
        "{police.non_emergency_phone} instead, so every number comes from its fact and "
        "changes with it",
    ]


def test_html_telegram_cannot_show_is_reported(content_dir):
    content_dir.write("intents/html.yaml", intent("html", answer="'<div>Fish & chips</div>'"))
    problems = content_dir.problems()
    assert (
        "intents/html.yaml:3: a bare '&' makes Telegram reject the message; write 'and' or &amp;"
        in problems
    )
    assert any(
        p.startswith("intents/html.yaml:3: tag <div> is not shown by Telegram") for p in problems
    )


def test_facts_need_a_known_source_document(content_dir, tmp_path):
    seeds = tmp_path / "seeds"
    seeds.mkdir()
    (seeds / "001_a.txt").write_text("x")
    content_dir.write(
        "knowledge/new.yaml",
        "new:\n  name: New\n  phone: '0123'\n  source: 999_missing.txt\n  checked: 2026-11-01\n",
    )
    assert (
        "knowledge/new.yaml:4: source '999_missing.txt' is not a document in the seeds folder; "
        "use its file name, or 'public: https://...' for an official page"
    ) in content_dir.problems(seeds)


def test_old_check_dates_are_warnings_not_errors(content_dir):
    content_dir.write(
        "knowledge/old.yaml",
        "old:\n  name: Old\n  phone: '0123'\n  source: 'public: https://example.org/old'\n  checked: 2020-01-01\n",
    )
    problems = content_dir.problems()
    assert (
        "knowledge/old.yaml:1: warning: fact 'old' was last checked on 2020-01-01, over a year "
        "ago; check it against its source and update 'checked:'"
    ) in problems
    assert not [p for p in problems if ": warning:" not in p]


def test_validate_exits_non_zero_and_prints_one_line_per_problem(content_dir, capsys):
    content_dir.write("intents/boolean.yaml", intent("boolean", answer="yes"))
    code = main(
        [
            "validate",
            "--intents",
            str(content_dir.intents),
            "--knowledge",
            str(content_dir.knowledge),
        ]
    )
    out = capsys.readouterr().out.splitlines()
    assert code == 1
    assert out[0].startswith("intents/boolean.yaml:3: answer 'yes' is read by YAML as true/false")
    # The warnings: the plain-English ones some of the project's answers give.
    warnings = [p for p in content_dir.problems(plain_english=True) if ": warning: " in p]
    assert out[-1] == f"1 error, {len(warnings)} warning{'' if len(warnings) == 1 else 's'}"


def test_empty_and_binary_files_do_not_crash(content_dir):
    content_dir.write("intents/empty_file.yaml", "")
    (content_dir.intents / "binary.yaml").write_bytes(b"\xff\xfe\x00garbage")
    problems = content_dir.problems()
    assert (
        "intents/empty_file.yaml:1: the file is empty; an intent needs id, title, answer "
        "and examples"
    ) in problems
    assert any(p.startswith("intents/binary.yaml:1: file is not UTF-8 text") for p in problems)
