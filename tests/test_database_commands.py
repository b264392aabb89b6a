"""``python -m bot migrate`` and ``status`` on either store."""

from __future__ import annotations

import re

from bot.entry import main
from bot.storage.postgres import SCHEMA_VERSION as PG_SCHEMA_VERSION
from tests.stores import Database


def environment(database) -> dict[str, str]:
    if database.url is None:
        return {"DATABASE_PATH": str(database.path)}
    return {"DATABASE_URL": database.url, "HASH_SECRET": "h" * 32}


def test_migrate_brings_the_schema_up_once_and_status_reports_it(database, capsys):
    env = environment(database)
    assert main(["migrate"], env=env) == 0
    first = capsys.readouterr().out
    assert re.search(r": schema migrated from version 0 to \d+\n$", first)
    assert main(["migrate"], env=env) == 0
    assert re.search(r": schema already at version \d+\n$", capsys.readouterr().out)
    assert main(["status"], env=env) == 0
    status = capsys.readouterr().out.splitlines()
    version = first.split()[-1]
    assert f"schema: version {version} of {version}" in status
    assert "inbox: 0 updates received and not answered yet" in status
    assert "question log: 0 messages in the last 24 hours" in status


def test_status_of_a_database_never_migrated_says_what_to_do(postgres, capsys):
    env = {"DATABASE_URL": postgres.create_database(), "HASH_SECRET": "h" * 32}
    assert main(["status"], env=env) == 1
    out = capsys.readouterr().out
    expected = f"schema: version 0 of {PG_SCHEMA_VERSION} (run './run migrate', or start"
    assert expected in out
    assert "active instance: none (no bot is serving Telegram)" in out


def test_status_of_an_unreachable_server_fails_with_the_reason(postgres, tmp_path, capsys):
    database = Database("postgresql", tmp_path, postgres)
    with database.outage():
        assert main(["status"], env=environment(database)) == 1
    database.close()
    assert capsys.readouterr().err.startswith("error: cannot read the database: ")
