"""The topic groups of intents/_menu.yaml: each mistake one ``file:line: message``."""

from tests.conftest import ContentDir

MENU = "intents/_menu.yaml"


def edit_menu(content_dir: ContentDir, old: str, new: str) -> list[str]:
    """Replace ``old`` in the copy's menu file; the lines of the result."""
    path = content_dir.intents / "_menu.yaml"
    text = path.read_text(encoding="utf-8")
    assert old in text
    path.write_text(text.replace(old, new, 1), encoding="utf-8")
    return path.read_text(encoding="utf-8").splitlines()


def line(lines: list[str], text: str, start: int = 0) -> int:
    """The line number of ``text``, searching from line ``start + 1``."""
    return lines.index(text, start) + 1


def menu_problems(content_dir: ContentDir) -> list[str]:
    return [p for p in content_dir.problems() if p.startswith(MENU)]


def test_unknown_duplicate_and_non_menu_ids_are_named_on_their_lines(content_dir):
    edit_menu(content_dir, "      - job_scam\n", "      - job_scam\n      - jobs_scam\n")
    edit_menu(content_dir, "      - lost_pet\n", "      - lost_pet\n      - burglary\n")
    lines = edit_menu(content_dir, "      - sextortion\n", "      - sextortion\n      - greeting\n")
    first = line(lines, "      - burglary")
    assert menu_problems(content_dir) == [
        f"{MENU}:{line(lines, '      - jobs_scam')}: no topic has the id 'jobs_scam'; "
        "check the spelling",
        f"{MENU}:{line(lines, '      - burglary', first)}: 'burglary' is already in a group "
        f"(line {first}); keep one",
        f"{MENU}:{line(lines, '      - greeting')}: 'greeting' is not a menu topic "
        "('menu: false' or not an answer)",
    ]


def test_a_menu_topic_in_no_group_is_named_and_refuses_the_content(content_dir):
    lines = edit_menu(content_dir, "      - lost_pet\n", "")
    assert menu_problems(content_dir) == [
        f"{MENU}:{line(lines, 'groups:') + 1}: menu topic 'lost_pet' (intents/lost_pet.yaml) "
        "is in no group; add it under the topics of one group (or give it 'menu: false')"
    ]


def test_an_empty_group_and_a_group_without_title_are_errors(content_dir):
    lines = edit_menu(
        content_dir,
        "  - title: 🔎 Lost and found\n",
        "  - title: 🧺 Nothing here yet\n    topics: []\n  - topics:\n      - parking_problems\n"
        "  - title: 🔎 Lost and found\n",
    )
    empty = line(lines, "  - title: 🧺 Nothing here yet")
    problems = menu_problems(content_dir)
    assert f"{MENU}:{empty}: the group has no topics; list their ids under 'topics:'" in problems
    assert f"{MENU}:{empty + 2}: a group needs a 'title:'" in problems


def test_a_group_telegram_cannot_show_is_an_error_and_a_long_title_a_warning(content_dir):
    """All of today's 99 topics in one group: over the 98 a page of Telegram's 100 buttons
    holds beside "◀ All topics" and "Something else"."""
    path = content_dir.intents / "_menu.yaml"
    text = path.read_text(encoding="utf-8")
    head, _, groups = text.partition("groups:\n")
    topics = [x for x in groups.splitlines() if x.startswith("      - ")]
    title = "🗂️ Everything we can help you with today"
    path.write_text(f"{head}groups:\n  - title: {title}\n    topics:\n" + "\n".join(topics) + "\n")
    at = line(path.read_text(encoding="utf-8").splitlines(), f"  - title: {title}")
    assert menu_problems(content_dir) == [
        f"{MENU}:{at}: {len(topics)} topics; Telegram shows at most 98 in a group",
        f"{MENU}:{at}: warning: the title is {len(title)} characters; a phone's button shows "
        "about 32, so shorten it",
    ]


def test_without_the_menu_file_the_content_is_refused(content_dir):
    (content_dir.intents / "_menu.yaml").unlink()
    assert content_dir.problems() == [
        f"{MENU}:1: _menu.yaml not found; list the menu topics' groups there"
    ]
