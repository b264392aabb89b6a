from __future__ import annotations

import logging
import os
import re
import shutil
import textwrap
from collections.abc import Iterator
from pathlib import Path

import pytest

from bot.content.loading import Content, load_content
from bot.content.readability import SUMMARIES
from bot.matching.encoder import SentenceEncoder
from bot.matching.engine import Engine
from bot.settings import PARAMETER_LOGGERS, VARIABLES, Settings
from tests.postgres_server import PostgresServer
from tests.resident_data import RESIDENT_DATA, LeakCheck
from tests.stores import KINDS, Database

SHARED = Path(__file__).resolve().parents[2] / "shared"
DEFAULTS = Settings()  # the project's own content folders
# Example vectors and trained models kept between runs and shared by the test workers.
CACHE = Path(__file__).resolve().parents[1] / ".pytest_cache" / "herts-safety-bot"
NESTED_DEPTH = 1200  # past Python's recursion limit of 1,000, within Linux's 4,096-byte paths


def project_content() -> Content:
    content, problems = load_content(DEFAULTS.intents, DEFAULTS.knowledge, DEFAULTS.seeds)
    assert content is not None, "\n".join(map(str, problems))
    return content


def pytest_configure(config: pytest.Config) -> None:
    """Encode the content once, before the test workers start, so they share the vectors.
    Every log line of the run, DEBUG included, is checked for resident data; the database
    drivers and python-telegram-bot's Bot stay at INFO, as ``configure_logging`` keeps
    them in the bot."""
    if not hasattr(config, "workerinput"):
        Engine(project_content(), SentenceEncoder(cache_dir=CACHE), CACHE)
    logging.getLogger().addHandler(LeakCheck())
    for name in PARAMETER_LOGGERS:
        logging.getLogger(name).setLevel(logging.INFO)


# -- no resident data in any log line of the run (tests/resident_data.py)

_from_workers: list[str] = []  # pytest-xdist: leaks outside tests, reported by the workers


@pytest.fixture(autouse=True)
def no_resident_data_in_the_log(request: pytest.FixtureRequest) -> Iterator[None]:
    """Fails the test during which a log line (ours, PTB's, a bot process's) repeated
    resident data a fake had sent; the message names the logger and the kind of data."""
    root = logging.getLogger()
    if root.getEffectiveLevel() > logging.DEBUG:  # DEBUG lines must exist to be checked
        root.setLevel(logging.DEBUG)
    during = RESIDENT_DATA.when = f"during {request.node.nodeid}"
    yield
    found = RESIDENT_DATA.take_leaks(during)
    RESIDENT_DATA.when = f"after {request.node.nodeid}"
    if found:
        pytest.fail("resident data in the log:\n" + "\n".join(found), pytrace=False)


@pytest.hookimpl(optionalhook=True)
def pytest_testnodedown(node: object, error: object) -> None:
    """pytest-xdist: a worker's leaks from outside its tests come back to the controller."""
    _from_workers.extend(getattr(node, "workeroutput", {}).get("resident_leaks", []))


@pytest.hookimpl(tryfirst=True)
def pytest_sessionfinish(session: pytest.Session) -> None:
    """Lines written outside any test (a module's bot stopping, a fixture's teardown)
    are checked last; any leak fails the run as a test result of its own."""
    leaks = RESIDENT_DATA.take_leaks()
    workeroutput = getattr(session.config, "workeroutput", None)
    if workeroutput is not None:  # a pytest-xdist worker: the controller reports
        workeroutput["resident_leaks"] = leaks
        return
    leaks += _from_workers
    if not leaks:
        return
    report = pytest.TestReport(
        nodeid="tests/conftest.py::no resident data in the log",
        location=("tests/conftest.py", 0, "no resident data in the log"),
        keywords={},
        outcome="failed",
        longrepr="resident data in the log:\n" + "\n".join(dict.fromkeys(leaks)),
        when="call",
    )
    session.config.hook.pytest_runtest_logreport(report=report)
    session.exitstatus = pytest.ExitCode.TESTS_FAILED


@pytest.fixture(autouse=True)
def no_outside_settings(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Tests see neither the developer's environment nor a ``.env`` in the project."""
    for name in VARIABLES:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("CACHE_DIR", str(CACHE))
    monkeypatch.chdir(tmp_path)


@pytest.fixture(autouse=True)
def nothing_written_to_the_checkout() -> Iterator[None]:
    """Tests write only to temporary folders: a ``data/`` (the database and its hash key)
    appearing in the checkout during a test fails it."""
    data = DEFAULTS.database.parent
    existed = data.exists()
    yield
    assert existed or not data.exists(), f"this test wrote into {data}; use tmp_path"


@pytest.fixture(scope="session")
def encoder() -> SentenceEncoder:
    return SentenceEncoder(cache_dir=CACHE)


@pytest.fixture(scope="session")
def engine(encoder: SentenceEncoder) -> Engine:
    """The engine as the bot runs it: the project's content, with the sentence encoder."""
    return Engine(project_content(), encoder, CACHE)


class ContentDir:
    """A copy of the project's content in a temporary folder, to break on purpose."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.intents = root / "intents"
        self.knowledge = root / "knowledge"
        # Without the language cards, whose "not reviewed" warnings every test would see;
        # ``with_cards`` adds them.
        shutil.copytree(DEFAULTS.intents, self.intents, ignore=shutil.ignore_patterns("_languages"))
        shutil.copytree(DEFAULTS.knowledge, self.knowledge)

    def with_cards(self) -> ContentDir:
        shutil.copytree(DEFAULTS.intents / "_languages", self.intents / "_languages")
        return self

    def write(self, relative: str, text: str) -> Path:
        path = self.root / relative
        path.write_text(textwrap.dedent(text).lstrip("\n"), encoding="utf-8")
        return path

    def set_thresholds(self, **values: float) -> None:
        """Change thresholds in this copy's _matching.yaml, keeping the rest of the file."""
        path = self.intents / "_matching.yaml"
        text = path.read_text(encoding="utf-8")
        for name, value in values.items():
            text, found = re.subn(rf"(?m)^(\s+{name}:\s*)-?[\d.]+", rf"\g<1>{value}", text)
            assert found == 1, f"no threshold '{name}' in {path}"
        path.write_text(text, encoding="utf-8")

    def nest_folders(self, depth: int = NESTED_DEPTH) -> None:
        """Folders inside each other ``depth`` deep in intents/ (a sync tool's runaway
        copy): Python 3.11's recursive listing of the content files, one call per level,
        then fails with ``RecursionError``. No file is at fault, so none can be named. The
        content watcher's failure tests use it; a Python that lists them without
        recursing would need another fault there."""
        for level in range(1, depth + 1):
            (self.intents / "/".join(["d"] * level)).mkdir()

    def remove_nested_folders(self, depth: int = NESTED_DEPTH) -> None:
        """Undo ``nest_folders`` deepest first (``shutil.rmtree`` recurses per level too)."""
        for level in range(depth, 0, -1):
            folder = self.intents / "/".join(["d"] * level)
            if folder.is_dir():
                os.rmdir(folder)

    def problems(self, seeds: Path | None = None, *, plain_english: bool = False) -> list[str]:
        """Every problem; the plain-English warnings, which some of the project's answers
        give, only when asked for (every other test would see them)."""
        _, problems = load_content(self.intents, self.knowledge, seeds)
        return [str(p) for p in problems if plain_english or p.summary not in SUMMARIES]


@pytest.fixture
def content_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[ContentDir]:
    monkeypatch.chdir(tmp_path)  # problems name files relative to the working directory
    content = ContentDir(tmp_path)
    yield content
    content.remove_nested_folders()  # pytest's own clean-up could not: it recurses


@pytest.fixture(scope="session")
def postgres() -> Iterator[PostgresServer]:
    """A PostgreSQL server of the test run's own (one per test worker), never skipped."""
    server = PostgresServer()
    try:
        server.start()
    except RuntimeError as exc:
        server.stop()
        pytest.fail(f"cannot start PostgreSQL for the store tests: {exc}", pytrace=False)
    yield server
    server.stop()


@pytest.fixture(params=KINDS)
def database(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Database]:
    """An empty database of each kind in turn: the same test runs against both stores."""
    server = request.getfixturevalue("postgres") if request.param == "postgresql" else None
    db = Database(request.param, tmp_path, server)
    yield db
    db.close()
