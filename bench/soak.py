"""Soak: abandoned connections, clients that do not read, and shutdown, against `nova run`.

Three bounded runs on loopback, each against `nova run` as shipped (prod):

1. churn: C connect/close cycles (default 10,000) on a WebSocket route whose
   group has a sync security callable (`tests/assets/hostile`, `/guarded/:room`,
   which also joins a channel in `init`), spread over the abrupt ways a client
   can leave: FIN or RST before the 101, FIN or RST after it, and half a frame
   then FIN.  Printed: live processes and channel members left behind, and
   the server's RSS growth after a warm-up.  Target: 0 and 0, growth <= 5 MB.
2. non-readers: R reading clients (default 200) of the chapter's chat
   (`tests/assets/chat`, `/chat`) while one more client sends M messages a
   second (default 200, 1 KiB each) for S seconds, first alone, then with
   5 clients that never read.  Printed: p50/p99 delivery latency of the
   readers in both runs and their ratio, and how long after the first
   message the non-readers were closed (1013).  Target: p99 ratio <= 1.2,
   non-readers closed in <= 5 s.
3. shutdown: 5 non-readers whose buffers are full (the send timeout set high
   so that they are still open), then SIGTERM.  Printed: time to exit, against
   the shutdown budget (`shutdown_timeout`, 10 s).

    python bench/soak.py                  # all three
    python bench/soak.py --cycles 2000 --only churn
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import multiprocessing
import signal
import socket
import statistics
import struct
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from bench.ws_fanout import client_main, rss_kb, send_paced  # noqa: E402
from tests.support import rawws  # noqa: E402
from tests.support.servers import ASSETS, Server, nova  # noqa: E402

MODES = ("fin_before_101", "rst_before_101", "fin_after_101", "rst_after_101", "mid_frame")
LINGER_RST = struct.pack("ii", 1, 0)  # SO_LINGER on, 0 s: close() sends RST


def get_json(server: Server, path: str) -> dict[str, int]:
    import httpx

    return httpx.get(server.url + path, timeout=10).json()  # type: ignore[no-any-return]


# -- 1. churn -------------------------------------------------------------------
async def _cycle(port: int, mode: str, path: str) -> None:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    sock = writer.get_extra_info("socket")
    writer.write(rawws.upgrade_request(path, port))
    if mode.endswith("after_101") or mode == "mid_frame":
        with contextlib.suppress(Exception):
            await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), 10)
    if mode == "mid_frame":
        writer.write(rawws.frame(1, b"x" * 100)[:20])  # half a frame
        await writer.drain()
    if mode.startswith("rst"):
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, LINGER_RST)
    writer.close()
    with contextlib.suppress(Exception):
        await writer.wait_closed()


async def _churn(port: int, cycles: int, concurrency: int = 50) -> None:
    path = "/guarded/churn?guard_delay=0.002"
    queue: asyncio.Queue[str] = asyncio.Queue()
    for i in range(cycles):
        queue.put_nowait(MODES[i % len(MODES)])

    async def worker() -> None:
        while not queue.empty():
            await _cycle(port, queue.get_nowait(), path)

    await asyncio.gather(*(worker() for _ in range(concurrency)))


def churn(args: argparse.Namespace) -> dict[str, float]:
    log = Path(tempfile.mkdtemp(prefix="nova-soak-")) / "terminated.log"
    with nova("run", ASSETS / "hostile", env={"HOSTILE_TERMINATE_LOG": str(log)}) as server:
        pid = server.process.pid
        asyncio.run(_churn(server.port, 1000))  # warm-up: thread pool, allocator arenas
        _settle(server)
        before = rss_kb(pid)
        started = time.monotonic()
        asyncio.run(_churn(server.port, args.cycles))
        took = time.monotonic() - started
        left = _settle(server)
        growth = (rss_kb(pid) - before) / 1024
        members = get_json(server, "/members/churn")["members"]
        terminated = get_json(server, "/stats")["terminated"]
    result = {
        "cycles": args.cycles,
        "processes_started": terminated,  # each ran init, then terminate once
        "seconds": round(took, 1),
        "processes_left": left,
        "members_left": members,
        "rss_growth_mb": round(growth, 1),
    }
    ok = left == 0 and members == 0 and growth <= 5
    print(f"churn      {json.dumps(result)}  {'OK' if ok else 'MISSED'} (target 0, 0, <= 5 MB)")
    return result


def _settle(server: Server, timeout: float = 20.0) -> int:
    """Wait until no process is left (or the deadline); return how many are."""
    deadline = time.monotonic() + timeout
    while True:
        left = get_json(server, "/stats")["processes"]
        if left == 0 or time.monotonic() > deadline:
            return left
        time.sleep(0.1)


# -- 2. non-readers -------------------------------------------------------------
def readers_run(args: argparse.Namespace, stalled: int) -> dict[str, float]:
    """R readers (+ `stalled` non-readers) while one client broadcasts."""
    import threading

    with nova("run", ASSETS / "chat") as server:
        port = server.port
        ctx = multiprocessing.get_context("spawn")
        ready, out, go = ctx.Queue(), ctx.Queue(), ctx.Event()
        messages = int(args.rate * args.seconds)
        shares = [args.readers // 2, args.readers - args.readers // 2]
        procs = [
            ctx.Process(target=client_main, args=(port, "/chat", n, ready, go, out, messages, 60))
            for n in shares
        ]
        for p in procs:
            p.start()
        for _ in procs:
            ready.get(timeout=120)
        non_readers = [rawws.open_ws(port, "/chat") for _ in range(stalled)]
        closed_after: list[float] = []
        started = time.monotonic()
        done = threading.Event()

        def watch() -> None:  # when do the non-readers leave? (polled in both runs alike)
            while not done.is_set():
                closed = server.output().count("closing it with 1013")
                if stalled and closed >= stalled and not closed_after:
                    closed_after.append(time.monotonic() - started)
                time.sleep(0.1)

        watcher = threading.Thread(target=watch, daemon=True)
        watcher.start()
        time.sleep(0.5)
        go.set()
        started = time.monotonic()
        url = f"{server.ws_url}/chat"
        asyncio.run(send_paced(url, messages, 1 / args.rate, args.size))
        results = [out.get(timeout=120) for _ in procs]
        done.set()
        for p in procs:
            p.join(30)
        closes = server.output().count("closing it with 1013")
        for sock in non_readers:
            sock.close()
    latencies = sorted(x for r in results for x in r["latencies"])
    q = statistics.quantiles(latencies, n=100)
    return {
        "p50_ms": round(q[49] * 1000, 1),
        "p99_ms": round(q[98] * 1000, 1),
        "loss": args.readers * messages - sum(r["received"] for r in results),
        "non_readers_closed_1013": closes,
        "closed_after_s": round(closed_after[0], 1) if closed_after else -1,
    }


def non_readers(args: argparse.Namespace) -> dict[str, object]:
    alone = readers_run(args, 0)
    print(f"readers    alone            {json.dumps(alone)}", flush=True)
    mixed = readers_run(args, 5)
    print(f"readers    + 5 non-readers  {json.dumps(mixed)}", flush=True)
    ratio = mixed["p99_ms"] / alone["p99_ms"]
    ok = ratio <= 1.2 and 0 <= mixed["closed_after_s"] <= 5
    print(
        f"readers    p99 ratio (with / without non-readers) {ratio:.2f}; non-readers closed "
        f"after {mixed['closed_after_s']} s  {'OK' if ok else 'MISSED'} (target <= 1.2, <= 5 s)"
    )
    return {"alone": alone, "with_non_readers": mixed, "p99_ratio": ratio}


# -- 3. shutdown ----------------------------------------------------------------
def shutdown(args: argparse.Namespace) -> float:
    from websockets.sync.client import connect

    budget = 10.0
    env = {"NOVA_WS_SEND_TIMEOUT": "600", "NOVA_SHUTDOWN_TIMEOUT": str(budget)}
    with nova("run", ASSETS / "chat", env=env) as server:
        stalled = [rawws.open_ws(server.port, "/chat") for _ in range(5)]
        with connect(server.ws_url + "/chat", open_timeout=10) as conn:
            for _ in range(100):  # 6.4 MB each: their buffers are full
                conn.send("z" * 65536)
                conn.recv(timeout=30)
        started = time.monotonic()
        server.process.send_signal(signal.SIGTERM)
        server.process.wait(60)
        took = time.monotonic() - started
        for sock in stalled:
            sock.close()
    ok = took <= budget
    print(
        f"shutdown   with 5 non-readers: {took:.2f} s (budget {budget:.0f} s)  "
        f"{'OK' if ok else 'MISSED'}"
    )
    return took


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--cycles", type=int, default=10_000)
    parser.add_argument("--readers", type=int, default=200)
    parser.add_argument("--rate", type=int, default=200, help="messages a second")
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--size", type=int, default=1024, help="bytes of padding a message")
    parser.add_argument("--only", choices=("churn", "readers", "shutdown"))
    args = parser.parse_args()
    print(f"python {sys.version.split()[0]}; nova run (prod) as shipped", flush=True)
    if args.only in (None, "churn"):
        churn(args)
    if args.only in (None, "readers"):
        non_readers(args)
    if args.only in (None, "shutdown"):
        shutdown(args)


if __name__ == "__main__":
    main()
