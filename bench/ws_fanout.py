"""WebSocket fan-out: the chapter's chat handler against a hand-written Starlette broadcast.

For each client count C (default 100 and 1,000) and each server, in the same run:

- nova:      the seed's chat handler (`tests/assets/chat`, route `/chat`):
             `pubsub.join("chat")` in init, `pubsub.broadcast` per frame;
- starlette: a Starlette endpoint keeping a set of sockets and sending each
             message to them one by one (`await ws.send_text(msg)`).

Both run in their own uvicorn process with the same settings (1 worker,
websockets-sansio, no permessage-deflate, log level warning).  C clients
connect from client processes on this machine; one more client sends M
messages (default 200) I seconds apart (default 0.02), each carrying its send
time.  Every receiver records the delivery latency.  Printed per run: p50 and
p99 latency, loss, and the server's RSS per idle connection; then the ratio
of nova's p99 to starlette's.

    python bench/ws_fanout.py                       # 100 and 1,000 clients
    python bench/ws_fanout.py --clients 1000 --rounds 3
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import contextlib
import json
import multiprocessing
import os
import statistics
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from tests.support.servers import free_port, spawn  # noqa: E402

UVICORN_FLAGS = [
    "--host",
    "127.0.0.1",
    "--log-level",
    "warning",
    "--no-access-log",
    "--ws",
    "websockets-sansio",
    "--ws-per-message-deflate",
    "false",
]


def server_command(kind: str, port: int, redis_url: str = "") -> tuple[list[str], dict[str, str]]:
    base = [sys.executable, "-m", "uvicorn", "--port", str(port), *UVICORN_FLAGS]
    if kind in ("nova", "nova+redis"):
        env = {"NOVA_ROOT": str(REPO / "tests" / "assets" / "chat"), "NOVA_ENVIRONMENT": "prod"}
        if kind == "nova+redis":
            env["NOVA_PUBSUB_URL"] = redis_url
        return [*base, "--factory", "nova_cli.runtime.app:from_environment"], env
    return [*base, "bench.peers.starlette_chat:app"], {"PYTHONPATH": str(REPO)}


def cpu_seconds(pid: int) -> float:
    """User + system CPU time the process has used so far."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def rss_kb(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    raise RuntimeError("no VmRSS")


# -- client processes ---------------------------------------------------------
# The receivers are raw asyncio protocols that parse just enough of RFC 6455
# (server frames are unmasked) to time each message: a full client library
# costs ~30 µs a message, and with 1,000 receivers on the server's own two
# cores the clients, not the server, would set the latency.
class Receiver(asyncio.Protocol):
    def __init__(self, path: str, ready: asyncio.Future[None], sink: list[float]) -> None:
        self.path, self.ready, self.sink = path, ready, sink
        self.buf = b""
        self.upgraded = False
        self.transport: asyncio.Transport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]
        key = base64.b64encode(os.urandom(16)).decode()
        transport.write(  # type: ignore[attr-defined]
            f"GET {self.path} HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\n"
            f"Connection: Upgrade\r\nSec-WebSocket-Key: {key}\r\n"
            "Sec-WebSocket-Version: 13\r\n\r\n".encode()
        )

    def data_received(self, data: bytes) -> None:
        now = time.monotonic()
        buf = self.buf + data
        if not self.upgraded:
            head, sep, buf = buf.partition(b"\r\n\r\n")
            if not sep:
                self.buf = head
                return
            self.upgraded = True
            self.ready.set_result(None)
        while len(buf) >= 2:
            length, start = buf[1] & 0x7F, 2
            if length == 126:
                if len(buf) < 4:
                    break
                length, start = int.from_bytes(buf[2:4], "big"), 4
            if len(buf) < start + length:
                break
            payload, opcode = buf[start : start + length], buf[0] & 0x0F
            buf = buf[start + length :]
            if opcode == 1:
                self.sink.append(now - float(payload.rsplit(b":", 1)[1]))  # "...:send time"
        self.buf = buf


def client_main(
    port: int,
    path: str,
    count: int,
    ready: object,
    go: object,
    out: object,
    expected: int,
    timeout: float,
) -> None:
    try:
        import uvloop

        uvloop.install()
    except ImportError:
        pass
    asyncio.run(_clients(port, path, count, ready, go, out, expected, timeout))


async def _clients(port, path, count, ready, go, out, expected, timeout):  # type: ignore[no-untyped-def]
    loop = asyncio.get_running_loop()
    sink: list[float] = []
    transports = []
    for _ in range(count):
        upgraded = loop.create_future()
        transport, _ = await loop.create_connection(
            lambda f=upgraded: Receiver(path, f, sink), "127.0.0.1", port
        )
        await upgraded
        transports.append(transport)
    ready.put(count)
    await loop.run_in_executor(None, go.wait)
    deadline = time.monotonic() + timeout
    while len(sink) < expected * count and time.monotonic() < deadline:
        await asyncio.sleep(0.05)
    out.put({"latencies": sink, "received": len(sink)})
    for transport in transports:
        transport.close()


async def send_paced(url: str, messages: int, interval: float, size: int = 0) -> None:
    """Send `messages` messages `interval` seconds apart, each "i:[padding:]send time"."""
    from websockets.asyncio.client import connect

    pad = "x" * size + ":" if size else ""
    async with connect(url, compression=None, max_queue=None, ping_interval=None) as conn:
        drain = asyncio.create_task(_discard(conn))
        start = time.monotonic()
        for i in range(messages):
            # Pace on a fixed schedule, so a slow server does not slow the sender.
            await asyncio.sleep(max(0.0, start + i * interval - time.monotonic()))
            await conn.send(f"{i}:{pad}{time.monotonic()!r}")
        await asyncio.sleep(0.5)
        drain.cancel()


async def _discard(conn) -> None:  # type: ignore[no-untyped-def]
    async for _ in conn:
        pass


def run_once(kind: str, clients: int, args: argparse.Namespace) -> dict[str, float]:
    port = free_port()
    cmd, env = server_command(kind, port, getattr(args, "redis_url", ""))
    with spawn(cmd, port=port, env=env, cwd=REPO) as server:
        url = f"ws://127.0.0.1:{port}/chat"
        time.sleep(0.3)
        before = rss_kb(server.process.pid)
        ctx = multiprocessing.get_context("spawn")
        ready, out, go = ctx.Queue(), ctx.Queue(), ctx.Event()
        shares = [
            clients // args.procs + (1 if i < clients % args.procs else 0)
            for i in range(args.procs)
        ]
        procs = [
            ctx.Process(
                target=client_main,
                args=(port, "/chat", n, ready, go, out, args.messages, args.timeout),
            )
            for n in shares
            if n
        ]
        for p in procs:
            p.start()
        for _ in procs:
            ready.get(timeout=120)
        time.sleep(1.0)  # idle: let the server settle before reading its memory
        after = rss_kb(server.process.pid)
        cpu_before = cpu_seconds(server.process.pid)
        go.set()
        asyncio.run(send_paced(url, args.messages, args.interval))
        results = [out.get(timeout=args.timeout + 60) for _ in procs]
        cpu = cpu_seconds(server.process.pid) - cpu_before
        for p in procs:
            p.join(30)
    latencies = sorted(x for r in results for x in r["latencies"])
    expected = clients * args.messages
    received = sum(r["received"] for r in results)
    q = statistics.quantiles(latencies, n=100) if len(latencies) > 1 else [0.0] * 99
    return {
        "p50_ms": q[49] * 1000,
        "p99_ms": q[98] * 1000,
        "loss": expected - received,
        "kb_per_conn": (after - before) / clients,
        "cpu_us_per_delivery": cpu / max(1, received) * 1e6,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--clients", default="100,1000")
    parser.add_argument("--messages", type=int, default=200)
    parser.add_argument("--interval", type=float, default=0.02)
    parser.add_argument("--procs", type=int, default=2, help="client processes")
    parser.add_argument("--rounds", type=int, default=1)
    parser.add_argument("--timeout", type=float, default=30.0)
    parser.add_argument(
        "--redis",
        action="store_true",
        help="also run nova with the Redis backend (a redis-server started for the run)",
    )
    args = parser.parse_args()
    with contextlib.ExitStack() as stack:
        if args.redis:
            from tests.support.redis import redis_server

            args.redis_url = stack.enter_context(redis_server()).url
        run_all(args)


def run_all(args: argparse.Namespace) -> None:
    print(
        f"python {sys.version.split()[0]}, {os.cpu_count()} cpus; "
        f"{args.messages} messages every {args.interval * 1000:.0f} ms"
    )
    for clients in [int(c) for c in args.clients.split(",")]:
        kinds = ("nova", "nova+redis", "starlette") if args.redis else ("nova", "starlette")
        runs: dict[str, list[dict[str, float]]] = {kind: [] for kind in kinds}
        for _ in range(args.rounds):
            for kind in kinds:
                result = run_once(kind, clients, args)
                runs[kind].append(result)
                print(
                    f"{clients:>5} clients {kind:<10} p50 {result['p50_ms']:7.1f} ms  "
                    f"p99 {result['p99_ms']:7.1f} ms  loss {result['loss']:>4}  "
                    f"rss/conn {result['kb_per_conn']:5.1f} KB  "
                    f"server cpu {result['cpu_us_per_delivery']:5.1f} µs/delivery",
                    flush=True,
                )
        med = {k: {m: statistics.median(r[m] for r in v) for m in v[0]} for k, v in runs.items()}
        ratio = med["nova"]["p99_ms"] / med["starlette"]["p99_ms"]
        print(
            json.dumps(
                {
                    "clients": clients,
                    "nova": med["nova"],
                    "starlette": med["starlette"],
                    "p99_ratio_nova_to_starlette": ratio,
                }
            )
        )


if __name__ == "__main__":
    main()
