"""What YAML silently accepts (or reports far from the cause) is caught, cause first."""

from bot.entry import main
from tests.test_validation import intent


def test_a_list_item_indented_one_space_too_deep_is_not_folded_into_the_one_above(
    content_dir,
):
    path = content_dir.intents / "victim_support_beacon.yaml"
    path.write_text(path.read_text().replace("  - beacon\n  - victim care\n", "  - beacon\n   - victim care\n"))
    assert content_dir.problems() == [
        "intents/victim_support_beacon.yaml:6: '- victim care' is indented deeper than the "
        "'-' above, so YAML joins it to that item ('beacon - victim care'); line up the dashes"
    ]


def test_a_tab_in_the_indentation_is_named_on_its_line(content_dir):
    content_dir.write("intents/tabs.yaml", intent("tabs").replace("  - filler phrasing number 3", "\t- filler phrasing number 3"))
    assert content_dir.problems()[0] == (
        "intents/tabs.yaml:8: indented with a tab; YAML needs spaces: replace it"
    )


def test_a_key_indented_under_a_value_is_named(content_dir):
    content_dir.write("intents/deep.yaml", intent("deep", extra="  checked: 2026-11-22\n"))
    assert content_dir.problems() == [
        "intents/deep.yaml:3: 'checked:' is indented deeper than 'title:' on line 2, so YAML "
        "reads it as part of that value; give the two keys the same indentation"
    ]


def test_a_key_swallowed_by_a_block_answer_is_named(content_dir):
    text = "id: swallowed\ntitle: Swallowed\nanswer: |\n  A short answer.\n  examples:\n" + "".join(
        f"  - filler phrasing number {n}\n" for n in range(10)
    )
    content_dir.write("intents/swallowed.yaml", text)
    problems = content_dir.problems()
    assert (
        "intents/swallowed.yaml:5: 'examples:' is indented like the answer's text, so it is "
        "read as part of the answer; move it to the start of the line"
    ) in problems


def test_a_fact_field_outdented_from_its_fact_names_both_lines(content_dir):
    path = content_dir.knowledge / "support.yaml"
    path.write_text(path.read_text().replace("  web: hertfordshirebeacon.org\n", "web: hertfordshirebeacon.org\n", 1))
    assert content_dir.problems()[0] == (
        "knowledge/support.yaml:6: 'source:' is indented deeper than 'web:' on line 5, so YAML "
        "reads it as part of that value; give the two keys the same indentation"
    )


def test_a_threshold_outside_thresholds_says_where_it_belongs(content_dir):
    path = content_dir.intents / "_matching.yaml"
    text = path.read_text().replace("\n  part_crisis:", "\npart_crisis:", 1)
    path.write_text(text)
    line = next(n for n, s in enumerate(text.split("\n"), 1) if s.startswith("part_crisis:"))
    assert content_dir.problems() == [
        f"intents/_matching.yaml:{line}: 'part_crisis' belongs under 'thresholds:' "
        "(indented), not in the matching settings; check its indentation"
    ]


def test_an_urgent_threshold_outside_the_unsure_band_is_an_error(content_dir):
    content_dir.set_thresholds(danger_urgent=0.9)  # above 'danger': 'right now' would not count
    assert content_dir.problems() == [
        "intents/_matching.yaml:5: thresholds.danger_urgent must be from "
        "thresholds.danger_unsure to thresholds.danger"
    ]


def test_when_a_file_does_not_parse_its_error_comes_first(content_dir, capsys):
    # An unquoted ': ' in a fact loses the whole knowledge file, and with it every fact the
    # answers refer to: the cause must lead, not the follow-on errors.
    path = content_dir.knowledge / "support.yaml"
    text = path.read_text()
    path.write_text(text.replace("  name: Hertfordshire Beacon (victim care centre)", "  name: Beacon: victim care", 1))
    lines = content_dir.problems()
    assert len(lines) > 1
    assert lines[0] == (
        "knowledge/support.yaml:2: YAML syntax error at column 15: a ':' followed by a space "
        'inside a value; put the whole value in quotes ("...")'
    )
    assert main(["validate", "--intents", str(content_dir.intents), "--knowledge", str(content_dir.knowledge)]) == 1
    assert capsys.readouterr().out.splitlines()[0] == lines[0]


def test_an_unclosed_quote_is_named_where_the_value_starts_not_at_the_files_end(content_dir, capsys):
    # YAML reads to the end of the file for the closing quote and reported the file's last
    # line ("unexpected end of stream"), far from the cause.
    path = content_dir.intents / "victim_support_beacon.yaml"
    lines = path.read_text().splitlines(keepends=True)
    assert lines[1].startswith("title: Support")
    lines[1] = lines[1].replace("title: ", 'title: "', 1)
    path.write_text("".join(lines))
    expected = (
        "intents/victim_support_beacon.yaml:2: a quoted value starting here (column 8) is never "
        'closed; end it with " on this line, or remove the opening "'
    )
    assert content_dir.problems()[0] == expected
    flags = ["--intents", str(content_dir.intents), "--knowledge", str(content_dir.knowledge)]
    assert main(["validate", *flags]) == 1
    assert capsys.readouterr().out.splitlines()[0] == expected


def test_an_unclosed_single_quote_before_a_document_separator_is_named_where_it_starts(
    content_dir,
):
    content_dir.write("intents/quoted.yaml", intent("quoted", answer="'A short answer.") + "---\n")
    assert content_dir.problems()[0] == (
        "intents/quoted.yaml:3: a quoted value starting here (column 9) is never closed; end "
        "it with ' on this line, or remove the opening '"
    )
    # A closed quoted value's own error is still named where it is.
    content_dir.write("intents/quoted.yaml", intent("quoted", answer='"Call us\\q now"'))
    assert content_dir.problems()[0] == (
        "intents/quoted.yaml:3: YAML syntax error at column 18: found unknown escape character "
        "'q'; check the indentation, colons and quotes on this line and the one before"
    )


def test_a_quote_left_open_and_closed_by_a_later_quote_is_named_where_it_starts(content_dir):
    # The next '"', lines further on, closed it; YAML then reported that later line.
    path = content_dir.intents / "victim_support_beacon.yaml"
    lines = path.read_text().splitlines(keepends=True)
    lines[1] = lines[1].replace("title: ", 'title: "', 1)
    later = next(n for n, line in enumerate(lines) if line.startswith("  - ") and n > 4)
    lines[later] = lines[later].replace("  - ", '  - "', 1).rstrip("\n") + '"\n'
    path.write_text("".join(lines))
    assert content_dir.problems()[0] == (
        "intents/victim_support_beacon.yaml:2: a quoted value starting here (column 8) is not "
        f'closed on this line: the next " on line {later + 1} closes it, so YAML cannot read '
        'what follows there; end the value with " on this line'
    )
