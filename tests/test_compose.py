"""docker-compose.yml (no Docker engine here to run it): PostgreSQL and two bot instances
that share one database and one hash key, each with its own volume and health check."""

from __future__ import annotations

import re
from pathlib import Path

import yaml

from bot.settings import VARIABLES

ROOT = Path(__file__).resolve().parents[1]


def services() -> dict:
    return yaml.safe_load((ROOT / "docker-compose.yml").read_text())["services"]


def test_two_bot_instances_share_the_database_and_the_hash_key():
    found = services()
    bots = {name: s for name, s in found.items() if s.get("build") == "."}
    assert len(bots) == 2 and "postgres" in found
    database = found["postgres"]["environment"]
    for bot in bots.values():
        env = bot["environment"]
        assert set(env) <= set(VARIABLES)  # every variable is one the bot reads
        url = re.fullmatch(r"postgresql://(\w+):\$\{POSTGRES_PASSWORD\}@postgres:5432/(\w+)",
                           env["DATABASE_URL"])  # fmt: skip
        assert url and url.groups() == (database["POSTGRES_USER"], database["POSTGRES_DB"])
        assert env["HASH_SECRET"].startswith("${HASH_SECRET:?")  # required, never a default
        assert env["TELEGRAM_BOT_TOKEN"].startswith("${TELEGRAM_BOT_TOKEN:?")
        assert bot["depends_on"] == {"postgres": {"condition": "service_healthy"}}
        assert bot["restart"] == "unless-stopped"  # exit 75 (lock lost) comes back as standby
        assert bot["healthcheck"]["test"] == ["CMD", "python", "-m", "bot", "health"]
    volumes = [bot["volumes"][0].split(":")[0] for bot in bots.values()]
    assert len(set(volumes)) == 2  # each instance its own /data
    assert all(v.split(":")[1].split()[0] == "/data" for b in bots.values() for v in b["volumes"])


def test_the_database_password_is_required_not_written_here():
    database = services()["postgres"]
    assert database["environment"]["POSTGRES_PASSWORD"].startswith("${POSTGRES_PASSWORD:?")
    assert "pg_isready" in " ".join(database["healthcheck"]["test"])


def test_both_instances_publish_the_web_chat_on_this_machine_only():
    bots = [s for s in services().values() if s.get("build") == "."]
    published = [bot["ports"] for bot in bots]
    assert published == [["127.0.0.1:8080:8080"], ["127.0.0.1:8081:8080"]]
    assert all(bot["environment"]["WEB_CHAT_PORT"] == "8080" for bot in bots)
    dockerfile = (ROOT / "Dockerfile").read_text()
    assert "WEB_CHAT_LISTEN=0.0.0.0" in dockerfile and "\nEXPOSE 8080\n" in dockerfile
