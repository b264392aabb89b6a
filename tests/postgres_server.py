"""A throwaway PostgreSQL server for the tests and the benchmark: a new cluster in a
temporary folder, listening on 127.0.0.1 at a free port, stopped and deleted at the end.

Debian's server binaries (``./scripts/ensure-postgresql`` installs them) refuse to run as
root, so under root the cluster belongs to the ``postgres`` user and its commands run
through ``runuser``. Durability is switched off (``fsync``): the data is thrown away.
"""

from __future__ import annotations

import contextlib
import glob
import os
import shutil
import socket
import subprocess
import tempfile
import time
from pathlib import Path

INSTALL_ADVICE = (
    "PostgreSQL's server is needed for the store tests and was not found: install Debian's "
    "'postgresql' package (./test does it when run as root), or put initdb on the PATH"
)


def server_binaries() -> Path | None:
    """The folder of initdb and postgres: Debian's newest, or the PATH's."""
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"), key=_version)
    if found:
        return Path(found[-1]).parent
    initdb = shutil.which("initdb")
    return Path(initdb).parent if initdb else None


def _version(path: str) -> int:
    part = Path(path).parts[-3]
    return int(part) if part.isdigit() else 0


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class PostgresServer:
    """Start with ``start()`` (raises RuntimeError with the reason when it cannot)."""

    def __init__(self, *, durable: bool = False) -> None:
        self.folder = Path(tempfile.mkdtemp(prefix="herts-pg-"))
        self.data = self.folder / "data"
        self.port = free_port()
        self.durable = durable  # fsync on: the benchmark measures what production does
        self._as_user: list[str] = []
        self._databases = 0

    @property
    def admin_url(self) -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/postgres"

    def url(self, database: str) -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/{database}"

    def start(self) -> PostgresServer:
        binaries = server_binaries()
        if binaries is None:
            raise RuntimeError(INSTALL_ADVICE)
        if os.geteuid() == 0:  # initdb and postgres refuse root
            shutil.chown(self.folder, "postgres")
            self._as_user = ["runuser", "-u", "postgres", "--"]
        self._run(
            binaries / "initdb", "-D", self.data, "-U", "postgres", "--auth=trust",
            "--encoding=UTF8", "--locale=C.UTF-8", "--no-sync",
        )  # fmt: skip
        options = [
            f"-c port={self.port}",
            "-c listen_addresses=127.0.0.1",
            f"-c unix_socket_directories={self.folder}",
            "-c max_connections=200",
            "-c shared_buffers=32MB",
        ]
        if not self.durable:
            options += ["-c fsync=off", "-c synchronous_commit=off", "-c full_page_writes=off"]
        self._run(
            binaries / "pg_ctl", "-D", self.data, "-l", self.folder / "server.log", "-w",
            "-t", "60", "-o", " ".join(options), "start",
        )  # fmt: skip
        self._wait_ready()
        return self

    def stop(self) -> None:
        binaries = server_binaries()
        if binaries is not None and (self.data / "postmaster.pid").exists():
            with contextlib.suppress(subprocess.SubprocessError, RuntimeError):
                self._run(binaries / "pg_ctl", "-D", self.data, "-m", "immediate", "-w", "stop")
        shutil.rmtree(self.folder, ignore_errors=True)

    def create_database(self) -> str:
        """A new, empty database; returns its URL."""
        self._databases += 1
        name = f"test_{os.getpid()}_{self._databases}"
        self.sql(f"CREATE DATABASE {name}")
        return self.url(name)

    def sql(self, statement: str, database: str = "postgres") -> str:
        """Run one statement with psql; its output, unaligned."""
        binaries = server_binaries()
        assert binaries is not None
        return self._run(
            binaries / "psql", "-h", "127.0.0.1", "-p", str(self.port), "-U", "postgres",
            "-d", database, "-At", "-v", "ON_ERROR_STOP=1", "-c", statement,
        )  # fmt: skip

    def _wait_ready(self) -> None:
        deadline = time.monotonic() + 30
        while True:
            with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", self.port)):
                return
            if time.monotonic() > deadline:
                raise RuntimeError(f"PostgreSQL did not start: {self.log()[-2000:]}")
            time.sleep(0.1)

    def log(self) -> str:
        path = self.folder / "server.log"
        return path.read_text(errors="replace") if path.exists() else ""

    def _run(self, *command: object) -> str:
        result = subprocess.run(
            [*self._as_user, *map(str, command)],
            capture_output=True,
            text=True,
            timeout=120,
            cwd=self.folder,
            check=False,
        )
        if result.returncode != 0:
            raise RuntimeError(
                f"{Path(str(command[0])).name} failed ({result.returncode}): "
                f"{(result.stderr or result.stdout).strip()[-2000:]}"
            )
        return result.stdout
