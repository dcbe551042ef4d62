"""Hostile request heads: uvicorn's httptools protocol against Nova's (`NovaHttpProtocol`).

The same tiny Nova app runs behind `uvicorn --http httptools` and behind
`uvicorn --http nova_cli.runtime.http_protocol:NovaHttpProtocol` (what
`nova run` uses), one after the other, and each gets the same attacks, all
from this machine over loopback:

- headers: one request with `--headers` headers (default 1,000,000): how much
  the server's resident memory grows (peak), and what it answers;
- stall:   one request with a single `--line-mib` MiB header line (default 64),
  while a second client sends `GET /heartbeat` in a loop: the longest the
  second client waits for an answer, and how long the attacker takes to be
  answered or cut off;
- slow:    `--slow` connections (default 100) that send a request line, then one
  header byte every `--interval` seconds (default 5), and as many that send
  nothing: how long the server holds them (observed for at most `--hold`
  seconds, default 70);
- throughput: `--rounds` alternating rounds of `wrk` on `GET /` (when wrk is
  installed), to show what the limits cost a normal request, and the same
  cost without sockets: each protocol fed 20,000 requests in process, its
  microseconds per request (the fastest of 7 runs).

    python bench/http_heads.py
    python bench/http_heads.py --protocol nova --only stall,headers
    python bench/http_heads.py --hold 30 --rounds 0
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import re
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import textwrap
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
PROTOCOLS = {
    "httptools": "httptools",
    "nova": "nova_cli.runtime.http_protocol:NovaHttpProtocol",
}
APP = {
    "pyproject.toml": """
        [project]
        name = "headsapp"
        version = "0.0.0"

        [tool.nova]
        app = "headsapp"
        environment = "prod"
    """,
    "headsapp/__init__.py": "",
    "headsapp/router.py": """
        async def hello(req):
            return ("json", {"message": "Hello world!"})


        def routes(environment):
            return [{"routes": [("/", hello), ("/heartbeat", lambda req: ("status", 200))]}]
    """,
}


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextlib.contextmanager
def serve(protocol: str, root: Path) -> Iterator[tuple[int, int]]:
    """uvicorn with `protocol` for the app at `root`; yields (port, pid)."""
    port = free_port()
    args = [sys.executable, "-m", "uvicorn", "--factory", "nova_cli.runtime.app:from_environment"]
    args += ["--host", "127.0.0.1", "--port", str(port), "--http", PROTOCOLS[protocol]]
    args += ["--log-level", "error", "--no-access-log"]
    env = {**os.environ, "NOVA_ROOT": str(root), "PYTHONPATH": str(REPO)}
    process = subprocess.Popen(args, env=env, cwd=REPO, start_new_session=True)
    try:
        deadline = time.monotonic() + 30
        while True:
            if process.poll() is not None:
                raise SystemExit(f"{protocol} server exited with {process.returncode}")
            with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), 0.2):
                break
            if time.monotonic() > deadline:
                raise SystemExit(f"{protocol} server did not start")
            time.sleep(0.05)
        yield port, process.pid
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGTERM)
        process.wait(10)


def memory_kib(pid: int) -> dict[str, int]:
    """VmRSS and VmHWM (peak resident size) of `pid`, in KiB."""
    text = Path(f"/proc/{pid}/status").read_text()
    found = {k: re.search(rf"^{k}:\s+(\d+)", text, re.M) for k in ("VmRSS", "VmHWM")}
    return {k: int(match.group(1)) for k, match in found.items() if match}


def send_and_read(port: int, chunks: Iterator[bytes], timeout: float = 120.0) -> str:
    """Send `chunks` (stopping if the server stops reading), return the status line or error."""
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as sock:
        try:
            for chunk in chunks:
                sock.sendall(chunk)
        except OSError as exc:
            sent_error = f"{type(exc).__name__} while sending"
        else:
            sent_error = ""
        try:
            data = sock.recv(65536)
        except OSError as exc:
            return f"{sent_error}; {type(exc).__name__} on read".strip("; ")
    status = data.split(b"\r\n", 1)[0].decode("latin-1") if data else "closed, no response"
    return f"{status} ({sent_error})" if sent_error else status


def many_headers(port: int, pid: int, count: int) -> None:
    def chunks() -> Iterator[bytes]:
        yield b"GET / HTTP/1.1\r\nhost: bench\r\n"
        line = b"x-h: v\r\n"
        for _ in range(count // 10_000):
            yield line * 10_000
        yield b"\r\n"

    before = memory_kib(pid)
    start = time.monotonic()
    status = send_and_read(port, chunks())
    took = time.monotonic() - start
    after = memory_kib(pid)
    grew = (after["VmHWM"] - before["VmRSS"]) / 1024
    print(f"  headers: {count:,} headers -> {status!r} in {took:.2f} s; ", end="")
    rss = f"{before['VmRSS'] / 1024:.1f} -> {after['VmRSS'] / 1024:.1f} MiB"
    print(f"peak RSS +{grew:.1f} MiB (RSS {rss})")


def stall(port: int, line_mib: int) -> None:
    gaps: list[float] = []
    stop = threading.Event()

    def probe() -> None:
        with socket.create_connection(("127.0.0.1", port), timeout=60) as sock:
            while not stop.is_set():
                start = time.monotonic()
                sock.sendall(b"GET /heartbeat HTTP/1.1\r\nhost: bench\r\n\r\n")
                data = b""
                while b"\r\n\r\n" not in data:
                    data += sock.recv(4096)
                gaps.append(time.monotonic() - start)
                time.sleep(0.005)

    def chunks() -> Iterator[bytes]:
        yield b"GET / HTTP/1.1\r\nhost: bench\r\nx-big: "
        block = b"a" * (1024 * 1024)
        for _ in range(line_mib):
            yield block
        yield b"\r\n\r\n"

    thread = threading.Thread(target=probe, daemon=True)
    thread.start()
    time.sleep(0.5)
    baseline = len(gaps)
    start = time.monotonic()
    status = send_and_read(port, chunks())
    took = time.monotonic() - start
    time.sleep(0.5)
    stop.set()
    thread.join(60)
    during = gaps[baseline:] or [0.0]
    print(f"  stall:   {line_mib} MiB header line -> {status!r} after {took:.2f} s; ", end="")
    worst, median = max(during) * 1000, statistics.median(during) * 1000
    print(f"heartbeat max {worst:.0f} ms, median {median:.1f} ms")


async def held_for(port: int, interval: float | None, hold: float) -> float:
    """Seconds until the server closes a slow (or, with interval None, silent) connection."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    start = time.monotonic()
    try:
        if interval is not None:
            writer.write(b"GET / HTTP/1.1\r\nhost: bench\r\nx-slow: ")
        while time.monotonic() - start < hold:
            wait = interval if interval is not None else hold
            try:
                data = await asyncio.wait_for(reader.read(65536), wait)
            except TimeoutError:
                if interval is not None:
                    writer.write(b"a")
                continue
            if not data or b"\r\n\r\n" in data:  # closed, or answered (408)
                return time.monotonic() - start
        return hold
    except OSError:
        return time.monotonic() - start
    finally:
        writer.close()


async def slow_clients(port: int, count: int, interval: float, hold: float) -> None:
    slow = [held_for(port, interval, hold) for _ in range(count)]
    silent = [held_for(port, None, hold) for _ in range(count)]
    times = await asyncio.gather(*slow, *silent)
    for name, part in (("slow", times[:count]), ("silent", times[count:])):
        still = sum(1 for t in part if t >= hold)
        print(
            f"  {name + ':':8} {count} connections: median held {statistics.median(part):.1f} s, "
            f"max {max(part):.1f} s; {still} still open after {hold:.0f} s"
        )


def wrk(port: int, seconds: float) -> float:
    out = subprocess.run(
        ["wrk", "-t1", "-c32", f"-d{seconds:g}s", f"http://127.0.0.1:{port}/"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    return float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))  # type: ignore[union-attr]


async def in_process_us(protocol: str, count: int = 20_000) -> float:
    """Microseconds per request for the protocol alone: parse, run a tiny app, write."""
    from uvicorn.config import Config
    from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol
    from uvicorn.server import ServerState

    from nova_cli.runtime.http_protocol import NovaHttpProtocol

    async def app(scope: Any, receive: Any, send: Any) -> None:
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": b"ok"})

    class Transport(asyncio.Transport):
        def write(self, data: Any) -> None:
            pass

        def is_closing(self) -> bool:
            return False

        def close(self) -> None:  # the keep-alive timer may ring during a later run
            pass

        def get_extra_info(self, name: str, default: Any = None) -> Any:
            return {"sockname": ("127.0.0.1", 80), "peername": ("127.0.0.1", 1)}.get(name)

    config = Config(app=app, log_level="error", access_log=False)
    config.load()
    state = ServerState()
    cls = NovaHttpProtocol if protocol == "nova" else HttpToolsProtocol
    proto = cls(config=config, server_state=state, app_state={})  # type: ignore[arg-type]
    proto.connection_made(Transport())
    request = b"GET / HTTP/1.1\r\nhost: bench\r\nuser-agent: bench\r\naccept: */*\r\n\r\n"
    start = time.perf_counter()
    for _ in range(count):
        proto.data_received(request)
        await asyncio.gather(*state.tasks)
    return (time.perf_counter() - start) / count * 1e6


def in_process(protocols: list[str]) -> None:
    import uvloop

    async def runs() -> dict[str, float]:
        times: dict[str, list[float]] = {p: [] for p in protocols}
        for _ in range(7):
            for protocol in protocols:
                times[protocol].append(await in_process_us(protocol))
        return {p: min(values) for p, values in times.items()}

    for protocol, us in uvloop.run(runs()).items():
        print(f"{protocol}: in process, {us:.1f} us per request (fastest of 7 x 20,000)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--protocol", choices=[*PROTOCOLS, "both"], default="both")
    parser.add_argument("--only", default="headers,stall,slow,throughput")
    parser.add_argument("--headers", type=int, default=1_000_000)
    parser.add_argument("--line-mib", type=int, default=64)
    parser.add_argument("--slow", type=int, default=100)
    parser.add_argument("--interval", type=float, default=5.0)
    parser.add_argument("--hold", type=float, default=70.0)
    parser.add_argument("--rounds", type=int, default=6)
    parser.add_argument("--duration", type=float, default=3.0)
    args = parser.parse_args()
    only = set(args.only.split(","))
    protocols = list(PROTOCOLS) if args.protocol == "both" else [args.protocol]
    with tempfile.TemporaryDirectory() as folder:
        root = Path(folder)
        for name, text in APP.items():
            (root / name).parent.mkdir(parents=True, exist_ok=True)
            (root / name).write_text(textwrap.dedent(text).lstrip())
        for protocol in protocols:
            print(f"{protocol} ({PROTOCOLS[protocol]}):")
            if "headers" in only:
                with serve(protocol, root) as (port, pid):
                    many_headers(port, pid, args.headers)
            if "stall" in only:
                with serve(protocol, root) as (port, _pid):
                    stall(port, args.line_mib)
            if "slow" in only:
                with serve(protocol, root) as (port, _pid):
                    asyncio.run(slow_clients(port, args.slow, args.interval, args.hold))
        if "throughput" in only:
            in_process(protocols)
        if "throughput" in only and args.rounds and shutil.which("wrk"):
            rates: dict[str, list[float]] = {p: [] for p in protocols}
            with contextlib.ExitStack() as stack:
                ports = {p: stack.enter_context(serve(p, root))[0] for p in protocols}
                for i in range(args.rounds):
                    order = protocols if i % 2 == 0 else protocols[::-1]
                    for protocol in order:
                        rates[protocol].append(wrk(ports[protocol], args.duration))
            for protocol, values in rates.items():
                print(
                    f"{protocol}: GET / median {statistics.median(values):,.0f} req/s "
                    f"over {args.rounds} rounds of {args.duration:g} s (wrk -t1 -c32)"
                )


if __name__ == "__main__":
    main()
