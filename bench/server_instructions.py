"""Instructions per request in a whole server process, Twisted and Daphne included (a script,
not a test): docs/performance.md has the figures.

``bench/request_cost.py`` counts what Haven's ASGI application executes; this runs a real
``python -m haven_site.serve`` under ``valgrind --tool=callgrind`` (instrumentation off until
the warm-up is done) and counts every instruction the process executes, in all its threads, for
``--requests`` requests of each route sent one after the other by one client: the HTTP parsing,
the access log, the gateway's frame handling and the kernel's share aside (valgrind counts user
space only). Instructions do not depend on the machine's load, so a change of a few per cent,
which the CPU-time benchmarks cannot see through their noise, shows here.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/haven_bench \\
    REDIS_URL=redis://127.0.0.1:6379/14 \\
        .venv/bin/python bench/server_instructions.py [--routes rest-send,ws-send,history,servers]

About five minutes (the server starts under valgrind). It uses the database ``<DATABASE_URL
name>_live`` and the Redis DB eight away from REDIS_URL's, like the other benchmarks (wiped and
migrated first); rate limits on, as in send_path.py.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import re
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from send_path import cost_route, make_fixture, rate_limit_env  # noqa: E402

from tests.processes import (  # noqa: E402
    HavenProcess,
    live_database_url,
    live_env,
    live_redis_url,
    prepare_database,
)


def callgrind(pid: int, *args: str) -> None:
    subprocess.run(["callgrind_control", *args, str(pid)], check=True, capture_output=True)


def instructions_of(dump: Path) -> int:
    """The ``totals`` line of a callgrind dump: instructions executed (its ``summary`` line
    stays 0 after ``--zero``)."""
    text = dump.read_text(errors="replace")
    found = re.search(r"^totals: (\d+)", text, re.MULTILINE)
    if found is None:
        raise RuntimeError(f"no totals in {dump}")
    return int(found.group(1))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--routes", default="rest-send,ws-send,history,servers")
    parser.add_argument("--requests", type=int, default=100)
    args = parser.parse_args()
    out = Path(tempfile.mkdtemp(prefix="haven-callgrind-"))
    env = live_env(
        live_database_url(os.environ["DATABASE_URL"]),
        live_redis_url(os.environ["REDIS_URL"]),
        LOG_LEVEL="WARNING",
        **rate_limit_env(True),
    )
    prepare_database(env)
    wrapper = [
        "valgrind", "--tool=callgrind", "--instr-atstart=no", "--trace-children=no",
        f"--callgrind-out-file={out}/server.%p",
    ]  # fmt: skip
    server = HavenProcess(Path(env["HAVEN_VAR_DIR"]), env, name="callgrind", wrapper=wrapper)
    server.start(timeout=900)
    assert server.process is not None
    pid = server.process.pid
    try:
        fixture = make_fixture(server, receivers=0, senders=0)
        print("| request | instructions per request |\n|---|---|")
        for route in args.routes.split(","):
            asyncio.run(cost_route(route, fixture, 1, 20))  # warm-up
            callgrind(pid, "--zero")
            callgrind(pid, "--instr=on")
            asyncio.run(cost_route(route, fixture, 1, args.requests))
            callgrind(pid, "--instr=off")
            callgrind(pid, f"--dump={route}")
            dumps = sorted(out.glob(f"server.{pid}.*"), key=lambda p: p.stat().st_mtime)
            per_request = instructions_of(dumps[-1]) / args.requests
            print(f"| {route} | {per_request / 1e6:.2f} M |", flush=True)
    finally:
        server.stop(timeout=120)


if __name__ == "__main__":
    main()
