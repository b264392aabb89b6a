"""People's names in residents' questions, replaced by "[name]" before the text is stored.

The staff who review questions need their wording, never who is in them. The names are the
first names and surnames that the pinned PyPI package ``faker`` ships for en_GB (the ONS's
tables of names in England and Wales: 364 first names, 500 surnames), plus the short forms
below that it lacks. Its file is read as data (parsed, never imported or run) and checked
against a pinned SHA-256, as the encoder's and the language model's files are; nothing is
fetched. A missing or altered file stops the question log from opening.

Names that are also everyday words ("will", "rob", "may", "rose", "long", "white") keep
the question's meaning: they count as names only where the wording shows a person: after
"my neighbour", "called", "Mrs" and the like when written with a capital (or in lower case
for the few that are rarely anything else there: "my friend grace"), or capitalised
mid-sentence beside another name ("I told Grace Smith"). After such words (or after a
name), a capitalised word that is in no list is a name too ("my neighbour Wojciech").
Capitals say nothing in text written all in capitals or With One On Every Word.

Names the content itself uses beside a word ("Clare's Law", "Herbert Protocol", the
Commissioner's name) are public and kept, unless the wording makes them someone's ("my
mate Charlie Hall"). ``benchmarks/redaction.py`` times it and lists the content's examples
it changes.
"""

from __future__ import annotations

import ast
import functools
import hashlib
import importlib.util
import re
from collections.abc import Iterable
from pathlib import Path

NAMES_PACKAGE = "faker"
NAMES_FILE = "providers/person/en_GB/__init__.py"
NAMES_SHA256 = "bf9f2e9160c0a7aa6981d39e8c56aec3a1ac262431b3e95d619a21bb0d62aabe"
_LISTS = ("first_names_male", "first_names_female", "last_names")


def _set(words: str) -> frozenset[str]:
    return frozenset(words.split())


# Everyday short forms the package's list of registered names lacks.
SHORT_FORMS = _set(
    "alf andy baz becky bert bob cathy chris dan dave debbie del fred gaz greg jeff jen "
    "jenny jim jimmy jo jon kath ken kev liz maggie matt mike muhammad nikki pete phil ron "
    "sid steve ted tim vicky"
)
# Names that are also everyday words: names only where the wording shows a person.
WORDS = _set(
    # first names and short forms
    "amber april art bill carol chase chelsea christian dawn drew faith frank grace guy hazel "
    "heather holly hope jack jade joy june mark max may nick pat penny ray rob robin rose "
    "rosemary ruby sue summer sunny will "
    # surnames
    "baker ball banks barber bell berry birch bird bishop black bolton bond booth brooks brown "
    "bull burns butcher butler carpenter chambers cook cooper cross day farmer field fisher "
    "ford foster fox french frost fry fuller grant green hall hardy hart heath hill holland "
    "hunt hunter kent king knight lamb lane law little long lord marsh mason miles mills moss "
    "noble north page parsons peacock pope porter potter power preston price read reed rice "
    "savage sharp shepherd short smart stanley stone storey summers sutton swift wade walker "
    "wall ward waters wells west white winter wood woods young"
)
# Of those, the ones that after "my friend", "called" or "Mrs" are a name even in lower case.
MOSTLY_NAMES = _set(
    "amber april carol chelsea dawn faith grace hazel heather holly jade joy max penny robin "
    "rose rosemary ruby"
)
# Titles ("Mr. Okafor" too), and with them relations and "called": after these a
# (capitalised) name-word is a person.
TITLES = _set(
    "mr mrs ms miss mx dr pc dc ds di dci sgt sergeant pcso insp inspector detective "
    "constable officer cllr councillor"
)
PERSON_BEFORE = TITLES | _set(
    "aunt auntie boss boyfriend brother carer child colleague cousin dad daughter ex father "
    "fiance fiancé flatmate friend girlfriend grandad granddaughter grandma grandson "
    "housemate husband kid landlady landlord lodger manager mate mother mum nan nephew niece "
    "neighbor neighbors neighbour neighbours partner sister son stepdad stepdaughter stepmum "
    "stepson teacher tenant uncle wife "
    "called named nicknamed"
)

# A word, with inner apostrophes (O'Brien, Dave's) and hyphens left as separators.
_WORD = re.compile(r"[^\W\d_]+(?:['’][^\W\d_]+)*")
_POSSESSIVE = re.compile(r"['’]s$", re.IGNORECASE)
_SENTENCE_END = re.compile(r"[.!?:;\n]\s*$")
_NAME = "[name]"


class NamesUnavailable(Exception):
    """The package's names file is missing or is not the pinned one."""


def read_names(path: Path) -> frozenset[str]:
    """The lower-case names in ``path``, the package's en_GB person file, once its digest is
    checked: the string constants of its first-name and surname lists."""
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise NamesUnavailable(f"cannot read {path} ({exc.strerror})") from exc
    if hashlib.sha256(data).hexdigest() != NAMES_SHA256:
        raise NamesUnavailable(f"{path} does not have the pinned SHA-256 digest")
    names: set[str] = set()
    for node in ast.walk(ast.parse(data)):
        if isinstance(node, ast.Assign) and any(
            isinstance(t, ast.Name) and t.id in _LISTS for t in node.targets
        ):
            names.update(
                c.value.casefold()
                for c in ast.walk(node.value)
                if isinstance(c, ast.Constant) and isinstance(c.value, str)
            )
    return frozenset(names)


@functools.cache
def packaged_names() -> frozenset[str]:
    """The names of the installed ``faker`` with the short forms, once per process."""
    spec = importlib.util.find_spec(NAMES_PACKAGE)
    folders = list(spec.submodule_search_locations or []) if spec else []
    if not folders:
        raise NamesUnavailable("the package faker is not installed")
    return read_names(Path(folders[0]) / NAMES_FILE) | SHORT_FORMS


class NameRedactor:
    """``redactor(text)`` -> the text with each run of people's names as "[name]"."""

    def __init__(self, names: frozenset[str], public: Iterable[str] = ()) -> None:
        """``public``: texts whose names are public, not residents' (the content's titles,
        examples and answers: "Clare's Law", "Herbert Protocol", the Commissioner's name).
        A name beside the word it has there is kept ("clares law"; "pc smith" is not)."""
        self._names = names - WORDS
        self._public: set[tuple[str, str]] = set()
        for text in public:
            words, keys, gaps = _words(text)
            for i, key in enumerate(keys):
                if key not in self._names or (i and keys[i - 1] in PERSON_BEFORE):
                    continue
                # The name with the word after it ("clare law"), and with a name or a
                # capitalised word before it ("David Lloyd", "Ash-Edwards").
                before = i > 0 and (keys[i - 1] in names or _capitalised(words[i - 1].group(0)))
                for j in (i, i + 1) if before else (i + 1,):
                    pair = (keys[j - 1], keys[j]) if 0 < j < len(keys) else None
                    if pair and gaps[j].strip() in ("", "-") and not PERSON_BEFORE & set(pair):
                        self._public.add(pair)

    def __call__(self, text: str) -> str:
        words, keys, gaps = _words(text)
        if not words:
            return text
        capitals = [_capitalised(w.group(0)) for w in words]
        # Text In Capitals On Every Word (or none) says nothing by its capitals.
        if sum(capitals) > 0.6 * len(words) and len(words) > 2:
            capitals = [False] * len(words)
        mid = [i > 0 and not _SENTENCE_END.search(gaps[i]) for i in range(len(words))]
        joined = [i > 0 and gaps[i].strip() in ("", "-") for i in range(len(words))]
        after_person = [
            joined[i] or (gaps[i].strip() == "." and keys[i - 1] in TITLES)
            for i in range(len(words))
        ]
        context = [
            i > 0 and after_person[i] and keys[i - 1] in PERSON_BEFORE for i in range(len(words))
        ]
        found = [False] * len(words)
        for i, key in enumerate(keys):
            if key in self._names:
                found[i] = True
            elif context[i] and key in WORDS:
                found[i] = capitals[i] or key in MOSTLY_NAMES
            elif context[i]:
                found[i] = capitals[i]
        # Beside a name: capitalised name-words, and one capitalised surname after it.
        first = found.copy()
        changed = True
        while changed:
            changed = False
            for i, key in enumerate(keys):
                if found[i] or not (capitals[i] and mid[i]):
                    continue
                before = joined[i] and found[i - 1]
                after = i + 1 < len(words) and joined[i + 1] and found[i + 1]
                if (key in WORDS and (before or after)) or (
                    before and first[i - 1] and key not in PERSON_BEFORE
                ):
                    found[i] = changed = True
        # A public name ("Clare's Law", "David Lloyd") is kept, unless it is someone's
        # ("my mate Charlie Hall"): the run of names it is in follows "my mate", "Mr" ….
        personal = False
        for i in range(len(words)):
            if not found[i]:
                continue
            if not (joined[i] and found[i - 1]):
                personal = context[i]
            if not personal and (
                (joined[i] and (keys[i - 1], keys[i]) in self._public)
                or (i + 1 < len(words) and joined[i + 1] and (keys[i], keys[i + 1]) in self._public)
            ):
                found[i] = False
        return self._replace(text, words, found, joined)

    @staticmethod
    def _replace(
        text: str, words: list[re.Match[str]], found: list[bool], joined: list[bool]
    ) -> str:
        out: list[str] = []
        end = 0
        for i, word in enumerate(words):
            if not found[i]:
                continue
            possessive = _POSSESSIVE.search(word.group(0))
            marker = _NAME + (possessive.group(0) if possessive else "")
            if i > 0 and found[i - 1] and joined[i]:  # "John Smith", "Smith-Jones": one name
                out[-1] = marker
            else:
                out += [text[end : word.start()], marker]
            end = word.end()
        out.append(text[end:])
        return "".join(out)


def _words(text: str) -> tuple[list[re.Match[str]], list[str], list[str]]:
    """The words of ``text``, their lower-case keys ("Dave's" -> "dave"), and the text
    before each."""
    words = list(_WORD.finditer(text))
    keys = [_POSSESSIVE.sub("", w.group(0)).casefold() for w in words]
    gaps = [text[(words[i - 1].end() if i else 0) : w.start()] for i, w in enumerate(words)]
    return words, keys, gaps


def _capitalised(word: str) -> bool:
    """Written with a capital and then lower case ("Grace", "O'Brien"), not "I" or "PC"."""
    return word[0].isupper() and any(c.islower() for c in word)
