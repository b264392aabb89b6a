"""Settings from environment variables, an optional ``.env`` file and command-line flags.

Read once, by the command line's entry point, and passed to every command: the environment
wins over ``.env``, and flags win over both. Nothing reads the environment at import
time. Every problem is one line naming the variable; no command starts until all are fixed.
"""

from __future__ import annotations

import logging
import os
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from dotenv import dotenv_values

PROJECT_ROOT = Path(__file__).resolve().parents[1]
# Running from a source checkout (./run, ./test, pip install -e): the checkout's content
# folders and data/ are the defaults. Installed (pip install ., Docker): the content copy
# packed into the package (see setup.py), and a database in the user's data folder.
FROM_CHECKOUT = (PROJECT_ROOT / "pyproject.toml").is_file() and (PROJECT_ROOT / "intents").is_dir()
PACKAGED_CONTENT = Path(__file__).resolve().parent / "default_content"
CONTENT_ROOT = PROJECT_ROOT if FROM_CHECKOUT else PACKAGED_CONTENT

_TOKEN = re.compile(r"^\d{3,}:[A-Za-z0-9_-]{30,}$")
_SECRET = re.compile(r"^[A-Za-z0-9_-]{8,256}$")
DEFAULT_API_URL = "https://api.telegram.org"


@dataclass(frozen=True)
class Settings:
    token: str = ""
    admin_ids: frozenset[int] = frozenset()
    # Installed, load_settings puts it in the user's data folder: never in site-packages.
    database: Path = PROJECT_ROOT / "data" / "bot.sqlite3"
    # PostgreSQL instead of the SQLite file (shared by an active instance and standbys);
    # the fallback file of unwritten records then goes in the SQLite file's folder.
    database_url: str = ""
    intents: Path = CONTENT_ROOT / "intents"
    knowledge: Path = CONTENT_ROOT / "knowledge"
    # The source documents; when the folder exists, every fact's source must name one.
    seeds: Path | None = PROJECT_ROOT.parent / "shared" / "seeds" if FROM_CHECKOUT else None
    log_level: str = "INFO"
    api_url: str = DEFAULT_API_URL
    webhook_url: str = ""
    webhook_secret: str = ""
    webhook_listen: str = "0.0.0.0"
    webhook_port: int = 8443
    retention_days: int = 90
    hash_secret: str = ""  # keys the hash of Telegram ids; generated beside the database if unset
    flood_messages: int = 12  # more than this many messages ...
    flood_seconds: float = 10.0  # ... within this many seconds from one user: "please slow down"
    pace_chat_per_second: float = 1.0  # steady replies per second to one chat (bursts of 3)
    pace_total_per_second: float = 30.0  # replies per second over all chats
    watch_content: bool = True  # reload intents/ and knowledge/ when their files change
    # A reload (reading the files, training the models) taking longer is abandoned, the
    # last good content kept; an edit's reload took 20 s on 2 cores at load 2.
    reload_seconds: float = 120.0
    health_file: Path | None = None  # status line rewritten while the bot runs (health check)
    encoder: bool = True  # the sentence encoder beside TF-IDF (off: TF-IDF alone, less RAM)
    encoder_model: Path | None = None  # another copy of the pinned model.onnx (same SHA-256)
    cache_dir: Path | None = None  # example vectors and trained models, kept between starts
    missed_after_hours: float = 24.0  # questions unanswered at a restart and older: not answered
    shutdown_seconds: float = 10.0  # SIGTERM: replies and the question log get this long
    web_chat_port: int | None = None  # the web chat's port (`web`: 8080 when unset)
    web_chat_listen: str = "127.0.0.1"  # the web chat's address (0.0.0.0 in a container)
    web_chat_embed_origins: tuple[str, ...] = ()  # sites allowed to embed the chat (widget.js)
    web_chat_ip_messages: int = 120  # messages a minute from one address (offices share one)
    web_chat_proxies: str = "127.0.0.1"  # proxies whose X-Forwarded-For names the resident
    # "Talk to a person": the staff group (a supergroup, topics on) conversations are
    # handed to, who may answer there (ADMIN_IDS may too), when it is staffed (UK time,
    # closed on bank holidays; checked by bot.app.handover) and how long a resident waits
    # for a first reply before being given other routes.
    handover_chat_id: int | None = None
    staff_ids: frozenset[int] = frozenset()
    handover_hours: str = "Mon-Fri 09:00-17:00"
    handover_wait_minutes: float = 15.0

    @property
    def webhook(self) -> bool:
        return bool(self.webhook_url)


# -- how each variable's text is read: a parser returns the value, or raises ValueError
# with the rest of the problem's line (it follows the variable's name).


def _token(text: str) -> str:
    if not _TOKEN.match(text):
        raise ValueError(
            " does not look like a bot token (digits:letters); copy it again from @BotFather"
        )
    return text


def _admin_ids(text: str) -> frozenset[int]:
    items = [item.strip() for item in text.split(",") if item.strip()]
    for item in items:
        if not item.lstrip("-").isdigit():
            raise ValueError(
                f": '{item}' is not a numeric Telegram user id "
                "(use comma-separated numbers, e.g. 12345,67890)"
            )
    return frozenset(int(item) for item in items)


def _group_id(text: str) -> int:
    if not re.match(r"^-\d+$", text):
        raise ValueError(
            f": '{text}' is not a group's numeric id (a supergroup's starts -100, "
            "e.g. -1001234567890)"
        )
    return int(text)


def _postgres_url(text: str) -> str:
    if not text.startswith(("postgresql://", "postgres://")):
        raise ValueError(" must be a PostgreSQL address: postgresql://user:password@host/db")
    return text


def _log_level(text: str) -> str:
    level = text.upper()
    if level not in ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"):
        raise ValueError(f": '{level}' is not one of DEBUG, INFO, WARNING, ERROR")
    return level


def _api_url(text: str) -> str:
    url = text.rstrip("/")
    if not re.match(r"^https?://[^\s/]+", url):
        raise ValueError(f": '{url}' is not an http(s) address")
    return url


def _https(text: str) -> str:
    if not text.startswith("https://"):
        raise ValueError(" must start with https:// (Telegram only calls HTTPS)")
    return text


def _hash_secret(text: str) -> str:
    if len(text) < 16:
        raise ValueError(" must be at least 16 characters (or unset: one is generated)")
    return text


def _at_least(kind: type[int] | type[float], low: float) -> Callable[[str], float]:
    def parse(text: str) -> float:
        try:
            value = kind(text)
        except ValueError:
            value = low - 1
        if value < low:
            raise ValueError(f": '{text}' must be a number of at least {low}")
        return value

    return parse


def _switch(text: str) -> bool:
    """On unless 0, false, no or off (any case)."""
    return text.lower() not in ("0", "false", "no", "off")


_ORIGIN = re.compile(r"^https?://[A-Za-z0-9.-]+(:\d{1,5})?$")


def _origins(text: str) -> tuple[str, ...]:
    origins = tuple(o.rstrip("/") for o in re.split(r"[\s,]+", text) if o)
    for origin in origins:
        if not _ORIGIN.match(origin):
            raise ValueError(
                f": '{origin}' is not a site's origin (scheme and host, e.g. "
                "https://www.hertscommissioner.gov.uk)"
            )
    return origins


def _user_path(text: str) -> Path:
    return Path(text).expanduser()


# Every variable the settings read (environment or .env), declared once: its Settings
# field and its parser. An unset or empty variable keeps the field's default.
TABLE: tuple[tuple[str, str, Callable[[str], Any]], ...] = (
    ("TELEGRAM_BOT_TOKEN", "token", _token),
    ("ADMIN_IDS", "admin_ids", _admin_ids),
    ("DATABASE_PATH", "database", Path),
    ("DATABASE_URL", "database_url", _postgres_url),
    ("INTENTS_DIR", "intents", Path),
    ("KNOWLEDGE_DIR", "knowledge", Path),
    ("SEEDS_DIR", "seeds", Path),
    ("LOG_LEVEL", "log_level", _log_level),
    ("TELEGRAM_API_URL", "api_url", _api_url),
    ("WEBHOOK_URL", "webhook_url", _https),
    ("WEBHOOK_SECRET", "webhook_secret", str),
    ("WEBHOOK_LISTEN", "webhook_listen", str),
    ("WEBHOOK_PORT", "webhook_port", _at_least(int, 1)),
    ("RETENTION_DAYS", "retention_days", _at_least(int, 1)),
    ("HASH_SECRET", "hash_secret", _hash_secret),
    ("FLOOD_MESSAGES", "flood_messages", _at_least(int, 1)),
    ("FLOOD_SECONDS", "flood_seconds", _at_least(float, 0.1)),
    ("PACE_CHAT_PER_SECOND", "pace_chat_per_second", _at_least(float, 0)),
    ("PACE_TOTAL_PER_SECOND", "pace_total_per_second", _at_least(float, 0)),
    ("MISSED_AFTER_HOURS", "missed_after_hours", _at_least(float, 0)),
    ("SHUTDOWN_SECONDS", "shutdown_seconds", _at_least(float, 1)),
    ("WATCH_CONTENT", "watch_content", _switch),
    ("RELOAD_SECONDS", "reload_seconds", _at_least(float, 1)),
    ("HEALTH_FILE", "health_file", Path),
    ("ENCODER", "encoder", _switch),
    ("ENCODER_MODEL", "encoder_model", Path),
    ("CACHE_DIR", "cache_dir", _user_path),
    ("WEB_CHAT_PORT", "web_chat_port", _at_least(int, 1)),
    ("WEB_CHAT_LISTEN", "web_chat_listen", str),
    ("WEB_CHAT_EMBED_ORIGINS", "web_chat_embed_origins", _origins),
    ("WEB_CHAT_IP_MESSAGES", "web_chat_ip_messages", _at_least(int, 1)),
    ("WEB_CHAT_PROXIES", "web_chat_proxies", str),
    ("HANDOVER_CHAT_ID", "handover_chat_id", _group_id),
    ("STAFF_IDS", "staff_ids", _admin_ids),
    ("HANDOVER_HOURS", "handover_hours", str),
    ("HANDOVER_WAIT_MINUTES", "handover_wait_minutes", _at_least(float, 1)),
)
VARIABLES = tuple(name for name, _, _ in TABLE)


def read_environment(
    env: Mapping[str, str] | None = None, dotenv: Path | None = None
) -> dict[str, str]:
    """``env`` (the process environment when None) over the values of ``.env`` in the
    working directory (the environment wins)."""
    dotenv = dotenv if dotenv is not None else Path(".env")
    values: dict[str, str] = {}
    if dotenv.is_file():
        values = {k: v for k, v in dotenv_values(dotenv).items() if v is not None}
    values.update(os.environ if env is None else env)
    return values


def load_settings(
    env: Mapping[str, str], flags: Mapping[str, Any] | None = None
) -> tuple[Settings, list[str]]:
    """Settings and one line per problem (empty when all is well). ``flags`` are values from
    the command line (``intents``, ``knowledge``, ``database``); given ones win over ``env``."""
    problems: list[str] = []
    values: dict[str, Any] = {}
    if not FROM_CHECKOUT:  # installed: the database goes in the user's data folder
        values["database"] = _user_folder(env, "XDG_DATA_HOME", ".local/share") / "bot.sqlite3"
    values["cache_dir"] = _user_folder(env, "XDG_CACHE_HOME", ".cache")
    for name, field, parse in TABLE:
        text = env.get(name, "").strip()
        if not text:
            continue
        try:
            values[field] = parse(text)
        except ValueError as exc:
            problems.append(f"{name}{exc}")
    given = {key: Path(value) for key, value in (flags or {}).items() if value is not None}
    values.update(given)
    settings = Settings(**values)
    problems += _inconsistencies(settings, env, given)
    return settings, problems


def _inconsistencies(
    settings: Settings, env: Mapping[str, str], given: Mapping[str, Path]
) -> list[str]:
    """Problems between settings, or with the folders and files they name."""
    problems = []
    for key, name in (("intents", "INTENTS_DIR"), ("knowledge", "KNOWLEDGE_DIR")):
        folder = getattr(settings, key)
        # A folder named by a flag is checked by the content loader, whose message names it.
        if key not in given and not folder.is_dir():
            problems.append(f"{name}: folder '{folder}' does not exist")
    if settings.database.is_dir():
        name = "--database" if "database" in given else "DATABASE_PATH"
        problems.append(f"{name}: '{settings.database}' is a folder; give a file path")
    if settings.database_url and not settings.hash_secret:
        problems.append(
            "HASH_SECRET must be set with DATABASE_URL: every instance must hash "
            "Telegram ids with the same key (16 or more characters)"
        )
    if env.get("WEBHOOK_URL", "").strip() and not _SECRET.match(settings.webhook_secret):
        problems.append(
            "WEBHOOK_SECRET must be set with WEBHOOK_URL: 8-256 characters "
            "of A-Z, a-z, 0-9, _ and -"
        )
    return problems


def _user_folder(env: Mapping[str, str], xdg: str, under_home: str) -> Path:
    """This program's folder in the user's XDG data or cache folder."""
    home = env.get(xdg) or str(Path(env.get("HOME") or "~") / under_home)
    return Path(home).expanduser() / "herts-safety-bot"


def install_redaction(secrets: list[str]) -> None:
    """Replace secrets (the bot token) in every log record as it is created, so no handler,
    exception text or library logger (httpx, PTB's InvalidToken) can print them."""
    secrets = [s for s in secrets if s]
    if not secrets:
        return

    def redact(text: str) -> str:
        for secret in secrets:
            text = text.replace(secret, "[token]")
        return text

    rewrite_log_records(redact)


def rewrite_log_records(rewrite: Callable[[str], str]) -> None:
    """Apply ``rewrite`` to the message and exception text of every log record as it is
    created: before any handler, formatter or library logger can see the original."""
    previous = logging.getLogRecordFactory()

    def factory(*args: object, **kwargs: object) -> logging.LogRecord:
        record = previous(*args, **kwargs)
        try:
            message = record.getMessage()
        except (TypeError, ValueError):
            message = str(record.msg)
        record.msg, record.args = rewrite(message), None
        if record.exc_info:
            text = record.exc_text or logging.Formatter().formatException(record.exc_info)
            record.exc_text = rewrite(text)
        return record

    logging.setLogRecordFactory(factory)


# Loggers that print parameters at DEBUG: the database drivers their statements' (residents'
# text), python-telegram-bot's Bot every API call's (the texts sent, among them a
# resident's words relayed to staff). They stay at INFO or above whatever LOG_LEVEL says.
PARAMETER_LOGGERS = ("aiosqlite", "asyncpg", "telegram.Bot", "telegram.ext.ExtBot")


def configure_logging(settings: Settings) -> None:
    logging.basicConfig(format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    logging.getLogger().setLevel(settings.log_level)
    install_redaction([settings.token, settings.hash_secret])
    # httpx logs every request URL at INFO, and the URL holds the token.
    logging.getLogger("httpx").setLevel(logging.WARNING)
    logging.getLogger("httpcore").setLevel(logging.WARNING)
    logging.getLogger("apscheduler").setLevel(logging.WARNING)  # a line per job run otherwise
    for name in PARAMETER_LOGGERS:
        logging.getLogger(name).setLevel(max(logging.INFO, logging.getLogger().level))
