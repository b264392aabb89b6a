"""Load and validate all staff content: intents, facts, matching settings, danger signals."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from pathlib import Path

from bot.content import answers, readability
from bot.content.cards import CardSet, load_cards
from bot.content.danger import DangerCheck, load_danger
from bot.content.facts import Fact, load_knowledge
from bot.content.intents import (
    SAFETY_OUTCOMES,
    Intent,
    IntentSource,
    Outcome,
    answer_line,
    read_intent_file,
)
from bot.content.matching_settings import MatchingConfig, load_matching
from bot.content.menu import Menu, load_menu
from bot.content.places import Places, load_places
from bot.content.problems import Problem, Severity, causes_first, has_errors
from bot.content.reading import MAX_TOTAL_BYTES, total_bytes
from bot.content.safety import SafetyCorpus, SafetyLabel, load_safety
from bot.content.yamlnodes import line_of
from bot.text import clean

STALE_AFTER = dt.timedelta(days=365)


@dataclass(frozen=True)
class Content:
    intents: dict[str, Intent]
    facts: dict[str, Fact]
    matching: MatchingConfig
    danger: DangerCheck
    safety: SafetyCorpus = field(default_factory=SafetyCorpus)
    cards: CardSet = field(default_factory=CardSet)
    places: Places = field(default_factory=Places)
    menu: Menu = field(default_factory=Menu)


def load_content(
    intents_dir: Path,
    knowledge_dir: Path,
    seeds_dir: Path | None = None,
    today: dt.date | None = None,
) -> tuple[Content | None, list[Problem]]:
    """All content, or None when any error was found; problems sorted by file and line,
    after those of files YAML could not read (whose loss may explain the others).
    ``seeds_dir``, when it exists, holds the documents facts must name as their source."""
    today = today or dt.date.today()  # noqa: DTZ011 -- staff date their checks locally
    size = total_bytes(intents_dir, knowledge_dir)
    if size > MAX_TOTAL_BYTES:  # refused before reading: files each under the cap add up
        message = (
            f"the content folders hold {size:,} bytes of YAML, over the {MAX_TOTAL_BYTES:,} "
            "allowed; remove the files that do not belong there"
        )
        return None, [Problem(str(intents_dir), 1, message)]
    facts, problems = load_knowledge(knowledge_dir, seeds_dir)
    matching, matching_problems = load_matching(intents_dir)
    danger, danger_problems = load_danger(intents_dir)
    safety, safety_problems = load_safety(intents_dir)
    cards, card_problems = load_cards(intents_dir, facts)
    places, place_problems = load_places(knowledge_dir, facts)
    problems += matching_problems + danger_problems + safety_problems + card_problems
    problems += place_problems
    sources: list[IntentSource] = []
    if not intents_dir.is_dir():
        problems.append(
            Problem(str(intents_dir), 1, "intents folder not found; pass --intents DIR")
        )
    else:
        for path in sorted(intents_dir.glob("*.y*ml")):
            if path.name.startswith("_"):
                continue
            source, file_problems = read_intent_file(path)
            problems += file_problems
            if source is not None:
                sources.append(source)
    intents = _cross_check(sources, facts, problems)
    _check_dates(intents, facts, today, problems)
    if intents_dir.is_dir() and not intents:
        problems.append(Problem(str(intents_dir), 1, "no intents found; add intent files (*.yaml)"))
    for outcome in (Outcome.EMERGENCY, Outcome.FALLBACK):
        if intents and not any(i.outcome is outcome for i in intents.values()):
            problems.append(
                Problem(
                    str(intents_dir),
                    1,
                    f"no intent has 'outcome: {outcome.value}'; one is needed for that reply",
                )
            )
    _check_safety(intents_dir, intents, safety, problems)
    problems = causes_first(problems)
    if has_errors(problems):
        return None, problems
    # The menu is checked once every topic loads: a broken topic file is not "unknown".
    menu, menu_problems = load_menu(intents_dir, intents)
    problems = causes_first(problems + menu_problems)
    if has_errors(menu_problems):
        return None, problems
    _check_local(intents, places, problems)
    return Content(intents, facts, matching, danger, safety, cards, places, menu), problems


def _check_local(intents: dict[str, Intent], places: Places, problems: list[Problem]) -> None:
    """An answer that depends on the resident's council needs the places to name it."""
    if places.councils:
        return
    problems.extend(
        Problem(
            intent.path,
            intent.line,
            f"'local: {intent.local}' needs the places file (knowledge/_places.yaml) "
            "to name the council",
        )
        for intent in intents.values()
        if intent.local
    )


def _check_safety(
    folder: Path, intents: dict[str, Intent], safety: SafetyCorpus, problems: list[Problem]
) -> None:
    """A danger or crisis message that is also a topic example would teach both answers."""
    topic_examples = {
        clean(text): intent.id
        for intent in intents.values()
        if intent.outcome not in SAFETY_OUTCOMES
        for text in intent.examples
    }
    for label in (SafetyLabel.DANGER_NOW, SafetyLabel.CRISIS):
        for text in safety.of(label):
            owner = topic_examples.get(clean(text))
            if owner:
                path, _, line = safety.places[clean(text)].rpartition(":")
                problems.append(
                    Problem(
                        path,
                        int(line),
                        f"'{text}' is labelled {label.value} here but is also an example of "
                        f"'{owner}'; keep it in one place",
                    )
                )
    if safety.of(SafetyLabel.CRISIS) and not any(
        i.outcome is Outcome.CRISIS for i in intents.values()
    ):
        problems.append(
            Problem(
                str(folder), 1, "crisis examples need an intent with 'outcome: crisis' to reply"
            )
        )


def _cross_check(
    sources: list[IntentSource], facts: dict[str, Fact], problems: list[Problem]
) -> dict[str, Intent]:
    intents: dict[str, Intent] = {}
    example_owner: dict[str, tuple[str, str, int]] = {}
    for source in sources:
        intent, doc = source.intent, source.doc
        if intent.id in intents:
            first = intents[intent.id]
            problems.append(
                Problem(
                    doc.name,
                    intent.line,
                    f"intent id '{intent.id}' is already used by {first.path}:{first.line}; "
                    "give this intent another id",
                )
            )
            continue
        for index, message in answers.check(intent.answer, facts):
            problems.append(Problem(doc.name, answer_line(source.answer_node, index), message))
        problems.extend(
            Problem(
                doc.name,
                intent.answer_line,
                advice.message,
                Severity.WARNING,
                summary=advice.summary,
                item=f"{intent.id}{advice.item}",
            )
            for advice in readability.check(intent.answer)
        )
        rendered = answers.render(intent.answer, facts, topics_html="x" * 400)
        if len(rendered) > answers.TELEGRAM_LIMIT:
            problems.append(
                Problem(
                    doc.name,
                    intent.answer_line,
                    "the answer is longer than Telegram's 4096 characters",
                )
            )
        elif len(rendered) > answers.PHONE_SCREEN_CHARS:
            problems.append(
                Problem(
                    doc.name,
                    intent.answer_line,
                    f"the answer is {len(rendered)} characters, long for a phone "
                    "screen; lead with what to do and cut the rest",
                    Severity.WARNING,
                )
            )
        for text, node in source.example_nodes:
            key = clean(text)
            owner = example_owner.get(key)
            if owner and owner[0] != intent.id:
                problems.append(
                    Problem(
                        doc.name,
                        line_of(node),
                        f"example '{text}' is also an example of '{owner[0]}' "
                        f"({owner[1]}:{owner[2]}); keep it under one intent only",
                    )
                )
            elif owner:
                problems.append(
                    Problem(
                        doc.name,
                        line_of(node),
                        f"example '{text}' is listed twice",
                        Severity.WARNING,
                    )
                )
            else:
                example_owner[key] = (intent.id, doc.name, line_of(node))
        intents[intent.id] = intent
    return intents


def _check_dates(
    intents: dict[str, Intent], facts: dict[str, Fact], today: dt.date, problems: list[Problem]
) -> None:
    dated = [
        (f"fact '{f.id}'", f.checked, f.path, f.line, "check it against its source")
        for f in facts.values()
    ]
    dated += [
        (f"answer '{i.id}'", i.checked, i.path, i.line, "review it") for i in intents.values()
    ]
    for what, checked, path, line, action in dated:
        if checked and today - checked > STALE_AFTER:
            problems.append(
                Problem(
                    path,
                    line,
                    f"{what} was last checked on {checked}, over a year ago; "
                    f"{action} and update 'checked:'",
                    Severity.WARNING,
                )
            )
