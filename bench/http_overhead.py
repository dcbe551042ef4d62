"""HTTP overhead: a Nova controller against the same endpoint as a bare Starlette route.

Both apps answer `GET /` with `{"message": "Hello world!"}` from an `async def`:

- nova:      `("json", {"message": "Hello world!"})` through `create_app` (prod environment);
- starlette: `JSONResponse({"message": "Hello world!"})` on a plain `Route`.

Three servers run side by side, each in its own subprocess:

- `factory`:   the Nova app under `uvicorn --factory`, with the Starlette peer's flags;
- `run`:       the Nova app under `nova run` exactly as shipped (its defaults:
               NovaHttpProtocol, its logging, no access log in prod);
- `starlette`: the peer under uvicorn (1 worker, httptools, `--log-level warning`,
               no access log).

`--session` measures, instead, what a session read costs: two factory
servers of the app, one answering `/` (no cookie) and the other `/session`, a
route that reads `session.get(req, "message")` for requests carrying a live
session's cookie (memory backend), swapped every round, with the median of
the rounds' CPU ratios (target: <= 1.10).

`--baseline DIR` adds `factory@base` and `run@base`: the same two servers
importing the nova_cli of another checkout (a worktree of an older commit), so
that before and after are measured in the same rounds.  The same load client
hits every server in rotating rounds: `wrk` if it is installed, else a small
asyncio client.  The script prints every round, the median req/s of each and
each Nova server's ratio to Starlette (target: >= 1.05).

    python bench/http_overhead.py                  # 30 rounds of 1 s per server
    python bench/http_overhead.py --rounds 7 --duration 10 --connections 64
    python bench/http_overhead.py --baseline /tmp/before   # also the older build
    python bench/http_overhead.py --client python  # without wrk
    python bench/http_overhead.py --session        # a session read against none
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
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent

NOVA_FILES = {
    "pyproject.toml": """
        [project]
        name = "benchapp"
        version = "0.0.0"

        [tool.nova]
        app = "benchapp"
        environment = "prod"
    """,
    "benchapp/__init__.py": "",
    "benchapp/router.py": """
        from benchapp import controller


        def routes(environment):
            return [
                {
                    "prefix": "",
                    "routes": [
                        ("/", controller.hello, {"methods": ["get"]}),
                        ("/session", controller.from_session, {"methods": ["get"]}),
                        ("/login", controller.login, {"methods": ["get"]}),
                    ],
                }
            ]
    """,
    "benchapp/controller.py": """
        from nova_cli import session


        async def hello(req):
            return ("json", {"message": "Hello world!"})


        async def from_session(req):
            return ("json", {"message": session.get(req, "message")})


        async def login(req):
            session.set(req, "message", "Hello world!")
            return ("status", 204)
    """,
}

STARLETTE_FILE = """
    from starlette.applications import Starlette
    from starlette.responses import JSONResponse
    from starlette.routing import Route


    async def hello(request):
        return JSONResponse({"message": "Hello world!"})


    app = Starlette(routes=[Route("/", hello, methods=["GET"])])
"""

UVICORN_SETTINGS = ["--workers", "1", "--http", "httptools", "--log-level", "warning"]
UVICORN_SETTINGS += ["--no-access-log"]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def write_apps(folder: Path) -> tuple[Path, Path]:
    nova_root = folder / "nova"
    for name, text in NOVA_FILES.items():
        path = nova_root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(text).lstrip())
    bare_root = folder / "bare"
    bare_root.mkdir()
    (bare_root / "bare_app.py").write_text(textwrap.dedent(STARLETTE_FILE).lstrip())
    return nova_root, bare_root


@dataclass(frozen=True)
class Server:
    """How to start one server kind: its command line (with {port}), environment and folder."""

    name: str
    args: list[str]
    env: dict[str, str]
    # `python -m` puts the working directory first on sys.path: it decides
    # which checkout's nova_cli the server imports.
    cwd: Path = REPO
    path: str = "/"
    session: bool = False  # requests carry a live session's cookie


def session_servers(nova_root: Path) -> list[Server]:
    """Two identical factory servers of the app, each with a live session's cookie.

    Each round one answers `/` and the other `/session`, swapped every round:
    two processes of one app differ by a few percent in CPU per request (an
    A/A run showed 1.02), and the swap cancels that from the median ratio.
    """
    uvicorn = [sys.executable, "-m", "uvicorn", "--host", "127.0.0.1", "--port", "{port}"]
    factory = [*uvicorn, "--factory", "nova_cli.runtime.app:from_environment", *UVICORN_SETTINGS]
    env = {"NOVA_ROOT": str(nova_root), "PYTHONPATH": str(REPO)}
    return [Server(name, factory, env, session=True) for name in ("a", "b")]


def session_round(running: dict[str, tuple[Target, int]], i: int) -> dict[str, tuple[Target, int]]:
    """Round `i`'s targets: `plain` on one server, `session` on the other, swapped each round."""
    first, second = ("a", "b") if i % 2 == 0 else ("b", "a")
    (plain, plain_pid), (reads, reads_pid) = running[first], running[second]
    base = reads.url.rsplit("/", 1)[0]
    return {
        "plain": (Target(plain.url.rsplit("/", 1)[0] + "/"), plain_pid),
        "session": (Target(base + "/session", reads.cookie), reads_pid),
    }


def servers(nova_root: Path, bare_root: Path, baseline: Path | None) -> list[Server]:
    """The servers to compare; with `baseline`, the Nova ones once more on that build."""
    uvicorn = [sys.executable, "-m", "uvicorn", "--host", "127.0.0.1", "--port", "{port}"]
    factory = [*uvicorn, "--factory", "nova_cli.runtime.app:from_environment", *UVICORN_SETTINGS]
    # `nova run` with nothing but the address: what a user gets.
    run = [sys.executable, "-m", "nova_cli.cli.main", "run", "--port", "{port}"]
    run += ["--directory", str(nova_root)]
    builds = {"": REPO} if baseline is None else {"": REPO, "@base": baseline}
    kinds = []
    for suffix, build in builds.items():
        env = {"NOVA_ROOT": str(nova_root), "PYTHONPATH": str(build)}
        kinds += [
            Server("factory" + suffix, factory, env, build),
            Server("run" + suffix, run, env, build),
        ]
    bare = [*uvicorn, "--app-dir", str(bare_root), "bare_app:app", *UVICORN_SETTINGS]
    return [*kinds, Server("starlette", bare, {})]


@contextlib.contextmanager
def serve(server: Server, cpu: int | None) -> Iterator[tuple[str, int]]:
    port = free_port()
    args = [arg.replace("{port}", str(port)) for arg in server.args]
    if cpu is not None:
        args = ["taskset", "-c", str(cpu), *args]
    # The servers' own lines (`nova run`'s banner, start and stop) would bury the
    # figures: they go to a file, shown only when the server fails to start.
    with tempfile.TemporaryFile() as output:
        process = subprocess.Popen(
            args,
            env={**os.environ, **server.env},
            cwd=server.cwd,
            start_new_session=True,
            stdout=output,
            stderr=subprocess.STDOUT,
        )
        try:
            wait_listening(server.name, process, port, output)
            cookie = login(port) if server.session else ""
            # taskset execs: the same pid
            yield Target(f"http://127.0.0.1:{port}{server.path}", cookie), process.pid
        finally:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGTERM)
            process.wait(10)


@dataclass(frozen=True)
class Target:
    """Where the load goes: a URL, and the cookie header its requests carry (or "")."""

    url: str
    cookie: str = ""

    @property
    def port(self) -> int:
        return int(self.url.split(":")[2].split("/")[0])

    @property
    def path(self) -> str:
        return "/" + self.url.split("/", 3)[3]


def login(port: int) -> str:
    """A live session's cookie from the app's /login."""
    with socket.create_connection(("127.0.0.1", port)) as s:
        s.sendall(b"GET /login HTTP/1.1\r\nhost: bench\r\nconnection: close\r\n\r\n")
        data = b""
        while chunk := s.recv(65536):
            data += chunk
    found = re.search(rb"set-cookie: (session_id=[^;]+)", data, re.I)
    if not found:
        raise SystemExit(f"/login set no session cookie: {data!r}")
    return found.group(1).decode()


def wait_listening(name: str, process: subprocess.Popen[bytes], port: int, output: Any) -> None:
    deadline = time.monotonic() + 30
    while True:
        if process.poll() is not None:
            output.seek(0)
            sys.stderr.write(output.read().decode(errors="replace"))
            raise SystemExit(f"{name} server exited with {process.returncode}")
        with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), 0.2):
            return
        if time.monotonic() > deadline:
            raise SystemExit(f"{name} server did not start")
        time.sleep(0.05)


def request_head(target: Target, *, close: bool = False) -> bytes:
    lines = [f"GET {target.path} HTTP/1.1", "host: bench"]
    if target.cookie:
        lines.append(f"cookie: {target.cookie}")
    if close:
        lines.append("connection: close")
    return ("\r\n".join(lines) + "\r\n\r\n").encode()


def check(target: Target) -> None:
    with socket.create_connection(("127.0.0.1", target.port)) as s:
        s.sendall(request_head(target, close=True))
        data = b""
        while chunk := s.recv(65536):
            data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    if not head.startswith(b"HTTP/1.1 200") or body != b'{"message":"Hello world!"}':
        raise SystemExit(f"{target.url} answered {data!r}")


def cpu_seconds(pid: int) -> float:
    """User + system CPU time the process `pid` has used so far."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def run_wrk(
    target: Target, duration: float, connections: int, threads: int, cpu: int | None
) -> tuple[float, int]:
    args = ["wrk", f"-t{threads}", f"-c{connections}", f"-d{max(1, round(duration))}s"]
    if target.cookie:
        args += ["-H", f"cookie: {target.cookie}"]
    args.append(target.url)
    if cpu is not None:
        args = ["taskset", "-c", str(cpu), *args]
    out = subprocess.run(args, capture_output=True, text=True, check=True).stdout
    match = re.search(r"Requests/sec:\s+([\d.]+)", out)
    total = re.search(r"(\d+) requests in", out)
    if not match or not total or "Non-2xx" in out or "Socket errors" in out:
        raise SystemExit(f"wrk failed or saw errors:\n{out}")
    return float(match.group(1)), int(total.group(1))


async def _python_load(target: Target, duration: float, connections: int) -> tuple[float, int]:
    port = target.port
    request = request_head(target)
    stop_at = time.monotonic() + duration
    counts = [0] * connections

    async def worker(index: int) -> None:
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        while time.monotonic() < stop_at:
            writer.write(request)
            head = await reader.readuntil(b"\r\n\r\n")
            length = int(re.search(rb"content-length: (\d+)", head, re.I).group(1))  # type: ignore[union-attr]
            await reader.readexactly(length)
            if not head.startswith(b"HTTP/1.1 200"):
                raise SystemExit(f"bad answer: {head!r}")
            counts[index] += 1
        writer.close()

    started = time.monotonic()
    await asyncio.gather(*(worker(i) for i in range(connections)))
    return sum(counts) / (time.monotonic() - started), sum(counts)


def run_python(
    target: Target, duration: float, connections: int, threads: int, cpu: int | None
) -> tuple[float, int]:
    return asyncio.run(_python_load(target, duration, connections))


def asgi_cost(nova_root: Path, bare_root: Path, number: int) -> tuple[float, float]:
    """Microseconds per request of each ASGI app called in-process, no server, no client.

    This isolates what the framework itself costs per request (routing, the
    request object, the return handler, the response), without the noise of
    sockets and a load generator sharing two cores.
    """
    sys.path.insert(0, str(bare_root))
    os.environ["NOVA_ROOT"] = str(nova_root)
    import bare_app

    from nova_cli.runtime.app import from_environment

    apps = {"nova": from_environment(), "starlette": bare_app.app}
    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "GET",
        "scheme": "http",
        "path": "/",
        "raw_path": b"/",
        "root_path": "",
        "query_string": b"",
        "headers": [(b"host", b"bench"), (b"user-agent", b"bench")],
        "server": ("127.0.0.1", 8000),
        "client": ("127.0.0.1", 50000),
    }
    last: dict[str, Any] = {}

    async def receive() -> dict[str, Any]:
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message: Any) -> None:
        last.update(message)  # keep nothing that would grow the heap

    async def measure(app: Any) -> float:
        for _ in range(1000):
            await app(dict(scope), receive, send)
        started = time.perf_counter()
        for _ in range(number):
            await app(dict(scope), receive, send)
        return (time.perf_counter() - started) / number * 1e6

    async def run() -> tuple[float, float]:
        results: dict[str, list[float]] = {"nova": [], "starlette": []}
        for _ in range(5):
            for name, app in apps.items():
                results[name].append(await measure(app))
        assert last["body"] == b'{"message":"Hello world!"}'
        # Noise only ever adds time: the fastest run is the closest to the real cost.
        return min(results["nova"]), min(results["starlette"])

    try:
        import uvloop

        return uvloop.run(run())
    except ImportError:
        return asyncio.run(run())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=30, help="rotating rounds per server")
    parser.add_argument("--duration", type=float, default=1.0, help="seconds per round")
    parser.add_argument("--connections", type=int, default=50)
    parser.add_argument("--threads", type=int, default=1, help="wrk threads")
    parser.add_argument("--client", choices=("auto", "wrk", "python"), default="auto")
    parser.add_argument(
        "--asgi-only", action="store_true", help="only the in-process ASGI cost, no servers"
    )
    parser.add_argument(
        "--baseline",
        type=Path,
        help="also serve the Nova app from the nova_cli of this checkout (before/after)",
    )
    parser.add_argument(
        "--session",
        action="store_true",
        help="a route reading a session against the same app's route without one",
    )
    parser.add_argument(
        "--pin",
        action="store_true",
        help="pin the servers to CPU 0 and the client to CPU 1 (taskset)",
    )
    opts = parser.parse_args()

    use_wrk = opts.client == "wrk" or (opts.client == "auto" and shutil.which("wrk"))
    load = run_wrk if use_wrk else run_python
    server_cpu, client_cpu = (0, 1) if opts.pin else (None, None)
    print(
        f"client: {'wrk' if use_wrk else 'python asyncio'}, {opts.connections} connections, "
        f"{opts.rounds} rounds x {opts.duration:g} s per server, "
        f"uvicorn {' '.join(UVICORN_SETTINGS)}"
    )

    with tempfile.TemporaryDirectory(prefix="nova-bench-") as tmp:
        nova_root, bare_root = write_apps(Path(tmp))
        if opts.asgi_only:
            report_asgi(nova_root, bare_root)
            return
        if opts.session:
            kinds = session_servers(nova_root)
        else:
            kinds = servers(nova_root, bare_root, opts.baseline)
        names = ["plain", "session"] if opts.session else [kind.name for kind in kinds]
        with contextlib.ExitStack() as stack:
            running = {kind.name: stack.enter_context(serve(kind, server_cpu)) for kind in kinds}
            targets = [t for i in range(2) for t, _ in session_round(running, i).values()]
            for target in targets if opts.session else [t for t, _ in running.values()]:
                check(target)  # and warm up each
                load(target, 1.0, opts.connections, opts.threads, client_cpu)
            rates: dict[str, list[float]] = {name: [] for name in names}
            cpu: dict[str, list[float]] = {name: [] for name in names}
            for i in range(opts.rounds):
                # Rotate which one goes first so drift in machine load hits all of them.
                order = names[i % len(names) :] + names[: i % len(names)]
                current = session_round(running, i) if opts.session else running
                for name in order:
                    target, pid = current[name]
                    before = cpu_seconds(pid)
                    rate, total = load(
                        target, opts.duration, opts.connections, opts.threads, client_cpu
                    )
                    rates[name].append(rate)
                    cpu[name].append((cpu_seconds(pid) - before) / total * 1e6)
                figures = "   ".join(
                    f"{name} {rates[name][-1]:6.0f} req/s {cpu[name][-1]:5.1f} us" for name in names
                )
                print(f"round {i + 1:2}: {figures}", flush=True)
        if opts.session:
            summarise_session(rates, cpu)
            return
        summarise(names, rates, cpu)
        report_asgi(nova_root, bare_root)


def summarise(names: list[str], rates: dict[str, list[float]], cpu: dict[str, list[float]]) -> None:
    """Each server's medians, and each Nova server's ratios to Starlette."""
    bare_rate = statistics.median(rates["starlette"])
    bare_cpu = statistics.median(cpu["starlette"])
    for name in names:
        print(
            f"median {name:13} {statistics.median(rates[name]):7.0f} req/s, "
            f"server CPU {statistics.median(cpu[name]):5.1f} us/req"
        )
    for name in names[:-1]:
        # Each round's servers ran back to back, under the same machine load.
        paired = [n / s for n, s in zip(rates[name], rates["starlette"], strict=True)]
        print(
            f"{name + '/starlette':23} median of the rounds' ratios {statistics.median(paired):.3f}"
            f", medians of the rates {statistics.median(rates[name]) / bare_rate:.3f}"
            # CPU time per request hardly depends on what else the machine runs:
            # its inverse ratio is the throughput ratio of two saturated cores.
            f", CPU starlette/{name} {bare_cpu / statistics.median(cpu[name]):.3f}"
        )
    print("target: every Nova server >= 1.05 x starlette")


def summarise_session(rates: dict[str, list[float]], cpu: dict[str, list[float]]) -> None:
    """What a session read costs: the CPU per request of the two servers, and their ratio."""
    for name in ("plain", "session"):
        print(
            f"median {name:8} {statistics.median(rates[name]):7.0f} req/s, "
            f"server CPU {statistics.median(cpu[name]):5.1f} us/req"
        )
    paired = [s / p for s, p in zip(cpu["session"], cpu["plain"], strict=True)]
    print(
        f"session/plain server CPU per request: median of the rounds' ratios "
        f"{statistics.median(paired):.3f} (target: <= 1.10 with the memory backend)"
    )


def report_asgi(nova_root: Path, bare_root: Path) -> None:
    nova_us, bare_us = asgi_cost(nova_root, bare_root, 20000)
    print(
        f"in-process ASGI cost per request: nova {nova_us:.1f} us, starlette {bare_us:.1f} us "
        f"({nova_us - bare_us:+.1f} us)"
    )


if __name__ == "__main__":
    main()
