"""Presence: C clients (default 1,000) join one room over J seconds (default 1).

The room is the one `nova gen ws-handler room --presence` writes, served by
uvicorn (1 worker; `--redis` puts its pub/sub on a throwaway redis-server).
Client processes open the sockets at evenly spread times, each folding the
diffs it receives into its list of who is online.  Printed, with targets:

- diff messages: how many presence diffs reached the clients in all, against
  C * (C - 1) / 2, what one message per join per member would be;
- join to everyone: per join, the time until the last member already there
  lists it; p50 and p99 over the joins;
- CPU per join: the server's CPU time (user + system) over the join phase
  and until every list is complete, divided by C.

    python bench/presence.py                     # 1,000 clients over 1 s
    python bench/presence.py --clients 300 --redis
"""

from __future__ import annotations

import argparse
import asyncio
import json
import multiprocessing
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from tests.support.redis import redis_server  # noqa: E402
from tests.support.servers import free_port, spawn  # noqa: E402

PROCESSES = 4  # client processes
SETTLE = 10.0  # seconds after the last join for every list to complete, at most
TARGETS = {"messages per member per joining second": 25.0, "p99 ms": 500.0, "cpu ms per join": 2.5}


def make_app(where: Path) -> Path:
    """`nova new lobby` plus `nova gen ws-handler room --presence`, in `where`."""
    for args, cwd in [
        (["new", "lobby"], where),
        (["gen", "ws-handler", "room", "--presence"], where / "lobby"),
    ]:
        subprocess.run(
            [sys.executable, "-m", "nova_cli.cli.main", *args],
            cwd=cwd,
            check=True,
            capture_output=True,
            env={**os.environ, "PYTHONPATH": str(REPO)},
        )
    return where / "lobby"


async def clients(
    port: int, names: list[str], starts: list[float], everyone: int
) -> dict[str, Any]:
    """Open a socket per name at its start time; return join times, first-seen times, counts."""
    from websockets.asyncio.client import connect

    joined: dict[str, float] = {}
    seen: dict[str, dict[str, float]] = {}  # member: {name: when it first listed it}
    diffs = 0
    complete = asyncio.Event()
    done = 0

    async def one(name: str, start: float) -> None:
        nonlocal diffs, done
        await asyncio.sleep(max(0.0, start - time.monotonic()))
        listed: dict[str, float] = {}
        seen[name] = listed
        async with connect(f"ws://127.0.0.1:{port}/room?name={name}", max_size=None) as ws:
            joined[name] = time.monotonic()
            full = False
            async for frame in ws:
                now = time.monotonic()
                message = json.loads(frame)
                diff = message.get("presence_diff")
                if diff is not None:
                    diffs += 1
                    batch = diff["joins"]
                else:
                    batch = message.get("presence_state", {})
                for who in batch:
                    listed.setdefault(who, now)
                if not full and len(listed) >= everyone:
                    full = True
                    done += 1
                    if done == len(names):
                        complete.set()
                if complete.is_set():
                    return

    tasks = [asyncio.create_task(one(n, s)) for n, s in zip(names, starts, strict=True)]
    try:
        await asyncio.wait_for(complete.wait(), max(starts) - time.monotonic() + SETTLE)
    except TimeoutError:
        pass
    for task in tasks:
        task.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)
    return {"joined": joined, "seen": seen, "diffs": diffs}


def client_process(args: tuple[int, list[str], list[float], int]) -> dict[str, Any]:
    return asyncio.run(clients(*args))


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def run(root: Path, count: int, spread: float, env: dict[str, str]) -> dict[str, float]:
    port = free_port()
    command = [
        sys.executable, "-m", "uvicorn", "--factory", "nova_cli.runtime.app:from_environment",
        "--host", "127.0.0.1", "--port", str(port), "--log-level", "warning",
        "--no-access-log", "--ws", "websockets-sansio", "--ws-per-message-deflate", "false",
    ]  # fmt: skip
    server_env = {"NOVA_ROOT": str(root), "PYTHONPATH": str(REPO), **env}
    with spawn(command, port=port, env=server_env) as server:
        names = [f"u{n:04d}" for n in range(count)]
        t0 = time.monotonic() + 1.0  # every client process is up by then
        starts = [t0 + spread * n / count for n in range(count)]
        jobs = [(port, names[i::PROCESSES], starts[i::PROCESSES], count) for i in range(PROCESSES)]
        cpu_before = cpu_seconds(server.process.pid)
        with multiprocessing.Pool(PROCESSES) as pool:
            results = pool.map(client_process, jobs)
        cpu = cpu_seconds(server.process.pid) - cpu_before
    joined = {k: v for r in results for k, v in r["joined"].items()}
    seen = {k: v for r in results for k, v in r["seen"].items()}
    latencies, missing = [], 0
    for name, at in joined.items():
        # The members there before this join: when did the last of them list it?
        members = [m for m, t in joined.items() if t < at]
        times = [seen[m].get(name) for m in members]
        missing += sum(1 for t in times if t is None)
        found = [t for t in times if t is not None]
        if found:
            latencies.append(max(found) - at)
    latencies.sort()
    diffs = sum(r["diffs"] for r in results)
    return {
        "joined": len(joined),
        "diffs": diffs,
        "naive": count * (count - 1) / 2,
        "per member per second": diffs / count / spread,
        "p50 ms": 1000 * statistics.median(latencies) if latencies else float("nan"),
        "p99 ms": 1000 * latencies[int(0.99 * (len(latencies) - 1))] if latencies else float("nan"),
        "missing": missing,
        "cpu ms per join": 1000 * cpu / count,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clients", type=int, default=1000)
    parser.add_argument("--spread", type=float, default=1.0, help="seconds the joins span")
    parser.add_argument("--redis", action="store_true", help="pub/sub on a redis-server")
    options = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="nova-presence-bench-") as tmp:
        root = make_app(Path(tmp))
        if options.redis:
            with redis_server() as redis:
                figures = run(root, options.clients, options.spread, {"NOVA_PUBSUB_URL": redis.url})
        else:
            figures = run(root, options.clients, options.spread, {})
    backend = "redis" if options.redis else "memory"
    print(
        f"presence: {options.clients} clients join one room over {options.spread:g} s ({backend})"
    )
    print(f"  joined                      {figures['joined']}")
    print(
        f"  diff messages               {figures['diffs']:.0f} "
        f"(one per join per member: {figures['naive']:.0f})"
    )
    print(
        f"  per member per joining s    {figures['per member per second']:.1f}  "
        f"target <= {TARGETS['messages per member per joining second']:g}"
    )
    print(f"  join to everyone, p50       {figures['p50 ms']:.0f} ms")
    p99, target = figures["p99 ms"], TARGETS["p99 ms"]
    print(f"  join to everyone, p99       {p99:.0f} ms  target <= {target:g} ms")
    print(f"  joins never listed          {figures['missing']}  target 0")
    print(
        f"  server CPU per join         {figures['cpu ms per join']:.2f} ms  "
        f"target <= {TARGETS['cpu ms per join']:g} ms"
    )


if __name__ == "__main__":
    main()
