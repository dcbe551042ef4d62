"""WebSocket fan-out: the chapter's chat handler against a hand-written Starlette broadcast.

For each client count C (default 100 and 1,000) and each server, in the same run:

- nova:      the seed's chat handler (`tests/assets/chat`, route `/chat`):
             `pubsub.join("chat")` in init, `pubsub.broadcast` per frame,
             served by plain uvicorn (`--factory`): every frame an ASGI send;
- nova run:  the same app under `nova run` as shipped (its defaults, Nova's
             own protocols): a broadcast's frame built once for its members;
- starlette: a Starlette endpoint keeping a set of sockets and sending each
             message to them one by one (`await ws.send_text(msg)`).

uvicorn runs with the same settings for nova and starlette (1 worker,
websockets-sansio, no permessage-deflate, log level warning).  C clients
connect from client processes on this machine; one more client sends M
messages (default 200) I seconds apart (default 0.02), each carrying its send
time, and stays connected until every receiver has reported.  Every receiver
records the delivery latency.  Printed per run: p50 and p99 latency, loss,
deliveries per second, the server's RSS per idle connection and its user and
system CPU per delivery; then the ratios to starlette.

`--saturation` is 2,000 clients and a message every 10 ms, more than one
core can deliver: the server is pinned (taskset) to CPU 0 and every client
to CPU 1, and deliveries per second is the figure.  `--redis` adds nova run
on the Redis backend (a redis-server started for the run).
`--redis-throughput S` is another run: two `nova run` servers (two workers
of one app) on one Redis, a reader on each, and 1 KiB messages published
through the second for S seconds; printed: messages received per second by
each worker's reader, and loss.

    python bench/ws_fanout.py                       # 100 and 1,000 clients
    python bench/ws_fanout.py --clients 1000 --rounds 3
    python bench/ws_fanout.py --saturation --rounds 3
    python bench/ws_fanout.py --redis-throughput 60 --rate 20000
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import contextlib
import json
import multiprocessing
import os
import signal
import statistics
import struct
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

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


CHAT = REPO / "tests" / "assets" / "chat"
KINDS = ("nova", "nova run", "nova run+redis", "starlette")
SERVER_CPU, CLIENT_CPU = 0, 1  # --saturation: the server on one core, every client on the other


def server_command(kind: str, port: int, redis_url: str = "") -> tuple[list[str], dict[str, str]]:
    if kind not in KINDS:
        raise ValueError(f"unknown server kind {kind!r}; expected one of {', '.join(KINDS)}")
    base = [sys.executable, "-m", "uvicorn", "--port", str(port), *UVICORN_FLAGS]
    if kind == "nova":
        env = {"NOVA_ROOT": str(CHAT), "NOVA_ENVIRONMENT": "prod"}
        return [*base, "--factory", "nova_cli.runtime.app:from_environment"], env
    if kind in ("nova run", "nova run+redis"):
        env = {"NOVA_PUBSUB_URL": redis_url} if kind == "nova run+redis" else {}
        return [sys.executable, "-m", "nova_cli.cli.main", "run", "--port", str(port)], env
    return [*base, "bench.peers.starlette_chat:app"], {"PYTHONPATH": str(REPO)}


def cpu_seconds(pid: int) -> tuple[float, float]:
    """User and system CPU time the process has used so far."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    tick = os.sysconf("SC_CLK_TCK")
    return int(fields[11]) / tick, int(fields[12]) / tick


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
        buf = self.buf + data if self.buf else data
        if not self.upgraded:
            head, sep, buf = buf.partition(b"\r\n\r\n")
            if not sep:
                self.buf = head
                return
            self.upgraded = True
            self.ready.set_result(None)
        # Parsed in place: slicing off each frame would copy the rest of a
        # 64 KiB read once per frame, and make the client the bottleneck.
        pos, size = 0, len(buf)
        while size - pos >= 2:
            length, start = buf[pos + 1] & 0x7F, pos + 2
            if length == 126:
                if size - pos < 4:
                    break
                length, start = int.from_bytes(buf[pos + 2 : pos + 4], "big"), pos + 4
            end = start + length
            if end > size:
                break
            opcode = buf[pos] & 0x0F
            if opcode == 1:  # "...:send time"
                self.sink.append(now - float(buf[buf.rfind(b":", start, end) + 1 : end]))
                self.last = now
            elif opcode == 9:  # the server's keepalive ping: a client that never answers is cut
                self.transport.write(client_frame(0x8A, buf[start:end]))  # type: ignore[union-attr]
            pos = end
        self.buf = buf[pos:]

    last = 0.0  # when the latest message arrived


def client_main(
    port: int,
    path: str,
    count: int,
    ready: object,
    go: object,
    out: object,
    expected: int,
    timeout: float,
    cpu: int | None = None,
) -> None:
    if cpu is not None:
        os.sched_setaffinity(0, {cpu})
    try:
        import uvloop

        uvloop.install()
    except ImportError:
        pass
    asyncio.run(_clients(port, path, count, ready, go, out, expected, timeout))


async def _clients(port, path, count, ready, go, out, expected, timeout):  # type: ignore[no-untyped-def]
    loop = asyncio.get_running_loop()
    sink: list[float] = []
    receivers = []
    for _ in range(count):
        upgraded = loop.create_future()
        _, receiver = await loop.create_connection(
            lambda f=upgraded: Receiver(path, f, sink), "127.0.0.1", port
        )
        await upgraded
        receivers.append(receiver)
    ready.put(count)
    await loop.run_in_executor(None, go.wait)
    deadline = time.monotonic() + timeout
    while len(sink) < expected * count and time.monotonic() < deadline:
        await asyncio.sleep(0.05)
    last = max(r.last for r in receivers)
    out.put({"latencies": sink, "received": len(sink), "last": last, "port": port})
    for receiver in receivers:
        receiver.transport.close()


async def send_paced(
    url: str,
    messages: int,
    interval: float,
    size: int = 0,
    until: asyncio.Future[Any] | None = None,
) -> float:
    """Send `messages` messages `interval` seconds apart, each "i:[padding:]send time".

    Stays connected until `until` is done (every receiver has reported), or
    0.5 s without it: a sender that leaves earlier makes a server drop what
    it has not delivered yet.  Returns when the first message was sent.
    """
    from websockets.asyncio.client import connect

    pad = "x" * size + ":" if size else ""
    async with connect(url, compression=None, max_queue=None, ping_interval=None) as conn:
        drain = asyncio.create_task(_discard(conn))
        start = time.monotonic()
        for i in range(messages):
            # Pace on a fixed schedule, so a slow server does not slow the sender.
            await asyncio.sleep(max(0.0, start + i * interval - time.monotonic()))
            await conn.send(f"{i}:{pad}{time.monotonic()!r}")
        if until is not None:
            await until
        else:
            await asyncio.sleep(0.5)
        drain.cancel()
    return start


async def _discard(conn) -> None:  # type: ignore[no-untyped-def]
    async for _ in conn:
        pass


async def _send_and_collect(
    url: str, args: argparse.Namespace, out: Any, count: int
) -> tuple[float, list[dict[str, Any]]]:
    """Send the messages; the sender stays connected until all `count` results are in."""
    loop = asyncio.get_running_loop()
    collected = asyncio.ensure_future(
        asyncio.gather(
            *(loop.run_in_executor(None, out.get, True, args.timeout + 60) for _ in range(count))
        )
    )
    start = await send_paced(url, args.messages, args.interval, until=collected)
    return start, list(await collected)


def profile(pid: int, kind: str, clients: int, folder: str) -> subprocess.Popen[bytes] | None:
    """Sample the server with py-spy (native frames too) into `folder`, if given."""
    if not folder:
        return None
    name = f"{kind.replace(' ', '_')}-{clients}-{pid}.txt"
    command = ["py-spy", "record", "--pid", str(pid), "--format", "raw", "--native"]
    out = Path(folder) / name
    return subprocess.Popen([*command, "--rate", "250", "-o", str(out)], stdout=subprocess.DEVNULL)


def run_once(kind: str, clients: int, args: argparse.Namespace) -> dict[str, float]:
    port = free_port()
    cmd, env = server_command(kind.removesuffix("@base"), port, getattr(args, "redis_url", ""))
    if args.saturation:
        cmd = ["taskset", "-c", str(SERVER_CPU), *cmd]
    cwd = CHAT if kind.startswith("nova run") else REPO
    env = server_env(kind, env, args)
    with spawn(cmd, port=port, env=env, cwd=cwd) as server:
        url = f"ws://127.0.0.1:{port}/chat"
        time.sleep(0.3)
        before = rss_kb(server.process.pid)
        ctx = multiprocessing.get_context("spawn")
        ready, out, go = ctx.Queue(), ctx.Queue(), ctx.Event()
        shares = [
            clients // args.procs + (1 if i < clients % args.procs else 0)
            for i in range(args.procs)
        ]
        pin = CLIENT_CPU if args.saturation else None
        procs = [
            ctx.Process(
                target=client_main,
                args=(port, "/chat", n, ready, go, out, args.messages, args.timeout, pin),
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
        user_before, system_before = cpu_seconds(server.process.pid)
        profiler = profile(server.process.pid, kind, clients, args.profile)
        go.set()
        start, results = asyncio.run(_send_and_collect(url, args, out, len(procs)))
        if profiler is not None:
            profiler.send_signal(signal.SIGINT)  # py-spy writes what it sampled
            profiler.wait(30)
        user, system = cpu_seconds(server.process.pid)
        for p in procs:
            p.join(30)
    latencies = sorted(x for r in results for x in r["latencies"])
    expected = clients * args.messages
    received = sum(r["received"] for r in results)
    q = statistics.quantiles(latencies, n=100) if len(latencies) > 1 else [0.0] * 99
    per_delivery = 1e6 / max(1, received)
    return {
        "p50_ms": q[49] * 1000,
        "p99_ms": q[98] * 1000,
        "loss": expected - received,
        "deliveries_per_s": received / max(1e-9, max(r["last"] for r in results) - start),
        "kb_per_conn": (after - before) / clients,
        "user_us_per_delivery": (user - user_before) * per_delivery,
        "system_us_per_delivery": (system - system_before) * per_delivery,
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
        "--saturation",
        action="store_true",
        help="2,000 clients, a message every 10 ms; server on CPU 0, clients on CPU 1",
    )
    parser.add_argument(
        "--redis",
        action="store_true",
        help="also run nova run with the Redis backend (a redis-server started for the run)",
    )
    parser.add_argument(
        "--kinds",
        default="",
        help="servers to run, comma-separated (default: nova, nova run, starlette)",
    )
    parser.add_argument(
        "--base",
        default="",
        help="a checkout of another commit: adds 'nova run@base', served from its code",
    )
    parser.add_argument(
        "--redis-throughput",
        type=float,
        default=0.0,
        metavar="SECONDS",
        help="instead: two workers on one Redis, 1 KiB messages through the second",
    )
    parser.add_argument("--profile", default="", help="a folder for py-spy samples of each server")
    parser.add_argument(
        "--rate", type=int, default=20_000, help="messages/s for --redis-throughput"
    )
    args = parser.parse_args()
    if args.saturation:
        args.clients, args.interval = "2000", 0.01
        os.sched_setaffinity(0, {CLIENT_CPU})  # the sender too
    with contextlib.ExitStack() as stack:
        if args.redis or args.redis_throughput:
            from tests.support.redis import redis_server

            args.redis_url = stack.enter_context(redis_server()).url
        if args.redis_throughput:
            redis_throughput(args)
        else:
            run_all(args)


def server_env(kind: str, env: dict[str, str], args: argparse.Namespace) -> dict[str, str]:
    """`kind@base` runs the code of the checkout `--base`."""
    if kind.endswith("@base"):
        return {**env, "PYTHONPATH": args.base}
    return env


def run_all(args: argparse.Namespace) -> None:
    print(
        f"python {sys.version.split()[0]}, {os.cpu_count()} cpus; "
        f"{args.messages} messages every {args.interval * 1000:.0f} ms"
        + ("; server on CPU 0, clients on CPU 1" if args.saturation else "")
    )
    kinds = [k for k in args.kinds.split(",") if k] or ["nova", "nova run", "starlette"]
    if args.redis:
        kinds.insert(-1, "nova run+redis")
    if args.base:
        kinds.insert(-1, "nova run@base")
    for clients in [int(c) for c in args.clients.split(",")]:
        runs: dict[str, list[dict[str, float]]] = {kind: [] for kind in kinds}
        for _ in range(args.rounds):
            for kind in kinds:
                result = run_once(kind, clients, args)
                runs[kind].append(result)
                print(
                    f"{clients:>5} clients {kind:<15} p50 {result['p50_ms']:7.1f} ms  "
                    f"p99 {result['p99_ms']:7.1f} ms  loss {result['loss']:>5}  "
                    f"{result['deliveries_per_s']:8.0f} deliveries/s  "
                    f"rss/conn {result['kb_per_conn']:5.1f} KB  "
                    f"server cpu user {result['user_us_per_delivery']:5.2f} "
                    f"system {result['system_us_per_delivery']:5.2f} µs/delivery",
                    flush=True,
                )
        med = {k: {m: statistics.median(r[m] for r in v) for m in v[0]} for k, v in runs.items()}
        summary: dict[str, Any] = {"clients": clients, "medians": med}
        if "starlette" in med:
            peer = med["starlette"]
            summary["to_starlette"] = {
                kind: {
                    "deliveries_per_s": m["deliveries_per_s"] / peer["deliveries_per_s"],
                    "p99": m["p99_ms"] / peer["p99_ms"],
                }
                for kind, m in med.items()
                if kind != "starlette"
            }
        print(json.dumps(summary, indent=1))


# -- Redis throughput: two workers, 1 KiB messages ------------------------------
def redis_throughput(args: argparse.Namespace) -> None:
    """Two `nova run` servers on one Redis; a reader on each; messages sent through B."""
    ports = [free_port(), free_port()]
    # A reader descheduled for 50 ms on this shared machine is 1,000 messages
    # behind, the default bound of a mailbox: room for 10 s of them instead (and
    # 10 s to read), so that loss means the workers could not keep up, not that
    # a client process was paused.
    env = {
        "NOVA_PUBSUB_URL": args.redis_url,
        "NOVA_WS_QUEUE_MESSAGES": str(args.rate * 10),
        "NOVA_WS_QUEUE_BYTES": str(args.rate * 10 * 1100),
        "NOVA_WS_SEND_TIMEOUT": "10",
    }
    size, seconds = 1024, args.redis_throughput
    messages = int(args.rate * seconds)
    with contextlib.ExitStack() as stack:
        servers = [
            stack.enter_context(
                spawn(
                    server_command("nova run", port, args.redis_url)[0],
                    port=port,
                    env=env,
                    cwd=CHAT,
                )
            )
            for port in ports
        ]
        ctx = multiprocessing.get_context("spawn")
        ready, out, go = ctx.Queue(), ctx.Queue(), ctx.Event()
        timeout = seconds + args.timeout
        procs = [
            ctx.Process(target=client_main, args=(p, "/chat", 1, ready, go, out, messages, timeout))
            for p in ports
        ]
        for p in procs:
            p.start()
        for _ in procs:
            ready.get(timeout=120)
        time.sleep(2.5)  # a heartbeat: each node knows the other's members
        go.set()
        cpu_before = [cpu_seconds(s.process.pid) for s in servers]
        loop_args = (ports[1], messages, args.rate, size - 30)
        start, results = asyncio.run(_send_many(*loop_args, out, len(procs), timeout))
        cpu_after = [cpu_seconds(s.process.pid) for s in servers]
        for p in procs:
            p.join(30)
        for name, server in zip("AB", servers, strict=True):  # what the workers said of it
            for line in server.output().splitlines():
                if "WARNING" in line or "ERROR" in line or "pub/sub" in line:
                    print(f"worker {name} log: {line[:200]}")
    # The results come in any order: match them to the servers by port.
    print(
        f"{messages} messages of {size} B at {args.rate}/s for {seconds:.0f} s, "
        "sent through worker B"
    )
    for result in sorted(results, key=lambda r: r["port"]):
        name = "A" if result["port"] == ports[0] else "B"
        i = ports.index(result["port"])
        cpu_us = (sum(cpu_after[i]) - sum(cpu_before[i])) / max(1, result["received"]) * 1e6
        q = statistics.quantiles(result["latencies"], n=100)
        print(
            f"worker {name} ({'through Redis' if name == 'A' else 'local'}): "
            f"{result['received'] / max(1e-9, result['last'] - start):8.0f} messages/s received, "
            f"loss {messages - result['received']}, p50 {q[49] * 1000:.2f} ms, "
            f"p99 {q[98] * 1000:.2f} ms, server cpu {cpu_us:.1f} µs/message",
            flush=True,
        )


async def _send_many(
    port: int, messages: int, rate: int, size: int, out: Any, count: int, timeout: float
) -> tuple[float, list[dict[str, Any]]]:
    loop = asyncio.get_running_loop()
    collected = asyncio.ensure_future(
        asyncio.gather(
            *(loop.run_in_executor(None, out.get, True, timeout + 60) for _ in range(count))
        )
    )
    start = await send_raw(port, "/chat", messages, rate, size, until=collected)
    return start, list(await collected)


async def send_raw(
    port: int, path: str, messages: int, rate: int, size: int, until: asyncio.Future[Any]
) -> float:
    """Send `messages` text frames of ~`size` bytes at `rate` a second from a raw socket.

    A client library costs tens of µs a message, and the sender, a member of
    the chat, must also take its own copy of each: it reads them with a
    receiver, which also answers the server's pings.
    """
    loop = asyncio.get_running_loop()
    upgraded = loop.create_future()
    transport, _ = await loop.create_connection(
        lambda: Receiver(path, upgraded, []), "127.0.0.1", port
    )
    await upgraded
    pad = "x" * size + ":"
    start = time.monotonic()
    for i in range(messages):
        delay = start + i / rate - time.monotonic()
        if delay > 0.001:  # behind or on time: send; ahead: wait for the schedule
            await asyncio.sleep(delay)
        transport.write(client_frame(0x81, f"{i}:{pad}{time.monotonic()!r}".encode()))
        while transport.get_write_buffer_size() > 1 << 20:
            await asyncio.sleep(0.001)
    await until
    transport.close()
    return start


def client_frame(first: int, payload: bytes) -> bytes:
    """A client frame masked with a zero key (allowed, and free to apply)."""
    size = len(payload)
    if size < 126:
        return struct.pack("!BB4x", first, 0x80 | size) + payload
    return struct.pack("!BBH4x", first, 0x80 | 126, size) + payload


if __name__ == "__main__":
    main()
