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
VARIABLES = (  # every environment variable (or .env line) the settings read
    "TELEGRAM_BOT_TOKEN", "ADMIN_IDS", "DATABASE_PATH", "INTENTS_DIR", "KNOWLEDGE_DIR",
    "SEEDS_DIR", "LOG_LEVEL", "RETENTION_DAYS", "HASH_SECRET", "WEBHOOK_URL",
    "WEBHOOK_SECRET", "WEBHOOK_LISTEN", "WEBHOOK_PORT", "TELEGRAM_API_URL", "FLOOD_MESSAGES",
    "FLOOD_SECONDS", "PACE_CHAT_PER_SECOND", "PACE_TOTAL_PER_SECOND", "WATCH_CONTENT",
    "HEALTH_FILE", "ENCODER", "ENCODER_MODEL", "CACHE_DIR", "MISSED_AFTER_HOURS",
    "DATABASE_URL",
)  # fmt: skip


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
    health_file: Path | None = None  # status line rewritten while the bot runs (health check)
    encoder: bool = True  # the sentence encoder beside TF-IDF (off: TF-IDF alone, less RAM)
    encoder_model: Path | None = None  # another copy of the pinned model.onnx (same SHA-256)
    cache_dir: Path | None = None  # example vectors and trained models, kept between starts
    missed_after_hours: float = 24.0  # questions unanswered at a restart and older: not answered

    @property
    def webhook(self) -> bool:
        return bool(self.webhook_url)


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
    given = {key: value for key, value in (flags or {}).items() if value is not None}

    token = env.get("TELEGRAM_BOT_TOKEN", "").strip()
    if token and not _TOKEN.match(token):
        problems.append(
            "TELEGRAM_BOT_TOKEN does not look like a bot token (digits:letters); "
            "copy it again from @BotFather"
        )
    values["token"] = token

    admins: set[int] = set()
    for item in filter(None, (p.strip() for p in env.get("ADMIN_IDS", "").split(","))):
        if item.lstrip("-").isdigit():
            admins.add(int(item))
        else:
            problems.append(
                f"ADMIN_IDS: '{item}' is not a numeric Telegram user id "
                "(use comma-separated numbers, e.g. 12345,67890)"
            )
    values["admin_ids"] = frozenset(admins)

    for key, name in (("intents", "INTENTS_DIR"), ("knowledge", "KNOWLEDGE_DIR")):
        if env.get(name):
            values[key] = Path(env[name])
        folder = values.get(key, getattr(Settings, key))
        # A folder named by a flag is checked by the content loader, whose message names it.
        if key not in given and not Path(folder).is_dir():
            problems.append(f"{name}: folder '{folder}' does not exist")
    if env.get("SEEDS_DIR"):
        values["seeds"] = Path(env["SEEDS_DIR"])

    if env.get("DATABASE_PATH"):
        values["database"] = Path(env["DATABASE_PATH"])
    elif not FROM_CHECKOUT:
        values["database"] = _user_folder(env, "XDG_DATA_HOME", ".local/share") / "bot.sqlite3"
    database = Path(given.get("database", values.get("database", Settings.database)))
    if database.is_dir():
        name = "--database" if "database" in given else "DATABASE_PATH"
        problems.append(f"{name}: '{database}' is a folder; give a file path")

    database_url = env.get("DATABASE_URL", "").strip()
    if database_url:
        if not database_url.startswith(("postgresql://", "postgres://")):
            problems.append(
                "DATABASE_URL must be a PostgreSQL address: postgresql://user:password@host/db"
            )
        elif not env.get("HASH_SECRET"):
            problems.append(
                "HASH_SECRET must be set with DATABASE_URL: every instance must hash "
                "Telegram ids with the same key (16 or more characters)"
            )
        values["database_url"] = database_url

    level = env.get("LOG_LEVEL", "INFO").upper()
    if level not in ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"):
        problems.append(f"LOG_LEVEL: '{level}' is not one of DEBUG, INFO, WARNING, ERROR")
    values["log_level"] = level

    api_url = env.get("TELEGRAM_API_URL", DEFAULT_API_URL).rstrip("/")
    if not re.match(r"^https?://[^\s/]+", api_url):
        problems.append(f"TELEGRAM_API_URL: '{api_url}' is not an http(s) address")
    values["api_url"] = api_url

    webhook_url = env.get("WEBHOOK_URL", "").strip()
    if webhook_url:
        if not webhook_url.startswith("https://"):
            problems.append("WEBHOOK_URL must start with https:// (Telegram only calls HTTPS)")
        secret = env.get("WEBHOOK_SECRET", "")
        if not _SECRET.match(secret):
            problems.append(
                "WEBHOOK_SECRET must be set with WEBHOOK_URL: 8-256 characters "
                "of A-Z, a-z, 0-9, _ and -"
            )
        values["webhook_url"], values["webhook_secret"] = webhook_url, secret
        values["webhook_listen"] = env.get("WEBHOOK_LISTEN", "0.0.0.0")

    def number(name: str, key: str, kind: type[int] | type[float], low: float) -> None:
        if name not in env:
            return
        try:
            value = kind(env[name])
            if value < low:
                raise ValueError
            values[key] = value
        except ValueError:
            problems.append(f"{name}: '{env[name]}' must be a number of at least {low}")

    number("WEBHOOK_PORT", "webhook_port", int, 1)
    number("RETENTION_DAYS", "retention_days", int, 1)
    number("FLOOD_MESSAGES", "flood_messages", int, 1)
    number("FLOOD_SECONDS", "flood_seconds", float, 0.1)
    number("PACE_CHAT_PER_SECOND", "pace_chat_per_second", float, 0)
    number("PACE_TOTAL_PER_SECOND", "pace_total_per_second", float, 0)
    number("MISSED_AFTER_HOURS", "missed_after_hours", float, 0)

    secret = env.get("HASH_SECRET", "")
    if secret and len(secret) < 16:
        problems.append("HASH_SECRET must be at least 16 characters (or unset: one is generated)")
    values["hash_secret"] = secret
    values["watch_content"] = env.get("WATCH_CONTENT", "1").lower() not in ("0", "false", "no")
    if env.get("HEALTH_FILE"):
        values["health_file"] = Path(env["HEALTH_FILE"])
    values["encoder"] = env.get("ENCODER", "1").lower() not in ("0", "false", "no", "off")
    if env.get("ENCODER_MODEL"):
        values["encoder_model"] = Path(env["ENCODER_MODEL"])
    values["cache_dir"] = Path(
        env.get("CACHE_DIR") or _user_folder(env, "XDG_CACHE_HOME", ".cache")
    ).expanduser()
    values.update((key, Path(value)) for key, value in given.items())
    return Settings(**values), problems


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


def configure_logging(settings: Settings) -> None:
    logging.basicConfig(format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    logging.getLogger().setLevel(settings.log_level)
    install_redaction([settings.token, settings.hash_secret])
    # httpx logs every request URL at INFO, and the URL holds the token.
    logging.getLogger("httpx").setLevel(logging.WARNING)
    logging.getLogger("httpcore").setLevel(logging.WARNING)
    logging.getLogger("apscheduler").setLevel(logging.WARNING)  # a line per job run otherwise
    # Database drivers print statements with their parameters (residents' text) at DEBUG:
    # they stay at INFO or above whatever LOG_LEVEL says.
    for driver in ("aiosqlite", "asyncpg"):
        logging.getLogger(driver).setLevel(max(logging.INFO, logging.getLogger().level))
