"""A bounded load test of the web chat: ``python -m bot web`` in its own process, and many
chat sessions calling its API at once, each message different (no reply or vector reuse).

Each session sends a question, waits for the reply, and sends its next at its share of
the offered rate; the figures are replies per second, time from request to reply (median,
99th percentile, worst), requests that failed or were refused, the CPU time the server and
the client used, and the server process's peak memory (VmHWM). Client and server share
this machine's cores:

    .venv/bin/python benchmarks/web_load.py --sessions 100 --rate 100 --seconds 30
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parents[1]
WARM_UP = 50  # questions answered before the clock starts, as a server that has run a while
sys.path.insert(0, str(ROOT))

from benchmarks.throughput import QUESTIONS  # noqa: E402 -- after the path is set
from tests.postgres_server import free_port  # noqa: E402


async def wait_until_serving(url: str, within: float = 600) -> None:
    async with httpx.AsyncClient(timeout=5) as http:
        deadline = time.monotonic() + within
        while time.monotonic() < deadline:
            try:
                if (await http.get(url + "/")).status_code == 200:
                    return
            except httpx.TransportError:
                pass
            await asyncio.sleep(0.5)
    raise SystemExit(f"the web chat did not start at {url}")


class Tab:
    """A resident's browser tab: one keep-alive HTTP/1.1 connection, spoken directly over
    asyncio streams (an HTTP client library costs more CPU a request than the server
    under test, and on one machine they share the cores)."""

    def __init__(self, host: str, port: int) -> None:
        self.host, self.port = host, port
        self.streams: tuple[asyncio.StreamReader, asyncio.StreamWriter] | None = None

    async def post(self, path: str, body: dict) -> tuple[int, dict]:
        data = json.dumps(body).encode()
        request = (
            f"POST {path} HTTP/1.1\r\nHost: {self.host}\r\nContent-Type: application/json\r\n"
            f"Content-Length: {len(data)}\r\n\r\n"
        ).encode() + data
        for attempt in (1, 2):  # the server may have closed an idle connection
            if self.streams is None:
                self.streams = await asyncio.open_connection(self.host, self.port)
            reader, writer = self.streams
            try:
                writer.write(request)
                await writer.drain()
                head = await reader.readuntil(b"\r\n\r\n")
                break
            except (ConnectionError, asyncio.IncompleteReadError):
                writer.close()
                self.streams = None
                if attempt == 2:
                    raise
        status = int(head.split(b" ", 2)[1])
        found = re.search(rb"(?i)\r\ncontent-length: *(\d+)", head)
        content = await reader.readexactly(int(found.group(1)) if found else 0)
        return status, json.loads(content or b"{}")

    def close(self) -> None:
        if self.streams is not None:
            self.streams[1].close()


async def session(
    tab: Tab, number: int, sessions: int, rate: float, until: float, out: dict
) -> None:
    """One resident: a question, its reply, then the next at this session's share."""
    chat_id = None
    every = sessions / rate
    next_at = time.perf_counter() + (number / rate)
    sent = 0
    while next_at < until:
        await asyncio.sleep(max(0.0, next_at - time.perf_counter()))
        text = f"{QUESTIONS[(number + sent) % len(QUESTIONS)]} {number}-{sent}"
        started = time.perf_counter()
        try:
            status, reply = await tab.post("/api/message", {"text": text, "session": chat_id})
            if status == 200:
                out["latencies"].append((time.perf_counter() - started) * 1000)
                chat_id = reply["session"]
            else:
                out["refused"] += 1
        except (OSError, asyncio.IncompleteReadError, ValueError):
            out["failed"] += 1
        sent += 1
        next_at += every


async def load(port: int, sessions: int, rate: float, seconds: float) -> dict:
    out: dict = {"latencies": [], "refused": 0, "failed": 0}
    tabs = [Tab("127.0.0.1", port) for _ in range(sessions)]
    for n in range(WARM_UP):  # first answers load what the engine loads lazily
        await tabs[0].post("/api/message", {"text": f"{QUESTIONS[n % len(QUESTIONS)]} warm {n}"})
    started = time.perf_counter()
    until = started + seconds
    try:
        await asyncio.gather(
            *(session(tab, n, sessions, rate, until, out) for n, tab in enumerate(tabs))
        )
    finally:
        for tab in tabs:
            tab.close()
    elapsed = time.perf_counter() - started
    latencies = sorted(out["latencies"])
    return {
        "sessions": sessions,
        "offered_per_second": rate,
        "seconds": seconds,
        "answered": len(latencies),
        "answered_per_second": round(len(latencies) / elapsed, 1),
        "refused": out["refused"],
        "failed": out["failed"],
        "median_ms": round(statistics.median(latencies), 1),
        "p99_ms": round(latencies[int(len(latencies) * 0.99) - 1], 1),
        "max_ms": round(latencies[-1], 1),
    }


def cpu_seconds(pid: int) -> float:
    """User and system CPU time the process has used so far."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def peak_memory_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return round(int(line.split()[1]) / 1024, 1)
    return 0.0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sessions", type=int, default=100)
    parser.add_argument("--rate", type=float, default=100, help="messages offered per second")
    parser.add_argument("--seconds", type=float, default=30)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args(argv)
    port = free_port()
    folder = tempfile.mkdtemp()
    env = {
        **os.environ,
        "PYTHONPATH": str(ROOT),
        "WEB_CHAT_PORT": str(port),
        "DATABASE_PATH": f"{folder}/bench.sqlite3",
        "FLOOD_MESSAGES": "1000000",
        "WEB_CHAT_IP_MESSAGES": "1000000",
        "WATCH_CONTENT": "0",
        "LOG_LEVEL": "WARNING",
    }
    server = subprocess.Popen([sys.executable, "-m", "bot", "web"], cwd=folder, env=env)
    try:
        url = f"http://127.0.0.1:{port}"
        asyncio.run(wait_until_serving(url))
        server_cpu, client_cpu = cpu_seconds(server.pid), time.process_time()
        result = asyncio.run(load(port, args.sessions, args.rate, args.seconds))
        result["server_cpu_seconds"] = round(cpu_seconds(server.pid) - server_cpu, 1)
        result["client_cpu_seconds"] = round(time.process_time() - client_cpu, 1)
        result["server_peak_memory_mb"] = peak_memory_mb(server.pid)
    finally:
        server.terminate()
        server.wait(timeout=60)
    if args.json:
        print(json.dumps(result))
    else:
        for key, value in result.items():
            print(f"{key:>22}: {value}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
