"""Start real servers (uvicorn, `nova serve`, `nova run`) on free loopback ports.

Each server is a child process of the test; it is stopped by its PID when the
context exits, and its output is kept so a failing test can show it.
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

ASSETS = Path(__file__).resolve().parent.parent / "assets"
# Appended to a copy of the demo's router.py: /pid answers the serving process's pid.
PID_ROUTE = """

_original_routes = routes


def routes(environment):
    import os

    pid = ("/pid", lambda req: ("json", {"pid": os.getpid()}), {"methods": ["get"]})
    return _original_routes(environment) + [{"routes": [pid]}]
"""


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class Server:
    """A running server process and where to reach it."""

    process: subprocess.Popen[bytes]
    port: int
    log_path: Path

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def ws_url(self) -> str:
        return f"ws://127.0.0.1:{self.port}"

    def output(self) -> str:
        return self.log_path.read_text(errors="replace")


def wait_for_port(port: int, process: subprocess.Popen[bytes], timeout: float, log: Path) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"server exited with {process.returncode}:\n{log.read_text()}")
        with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), 0.2):
            return
        time.sleep(0.05)
    raise TimeoutError(f"server did not listen on {port} within {timeout}s:\n{log.read_text()}")


@contextlib.contextmanager
def spawn(
    args: Sequence[str],
    *,
    port: int,
    cwd: Path | None = None,
    env: dict[str, str] | None = None,
    inherit_env: bool = True,
    timeout: float = 30.0,
) -> Iterator[Server]:
    """Run `args` (which must listen on `port`), yield once it accepts connections.

    `env` is added to this process's environment, or with `inherit_env=False`
    is the whole environment (a virtualenv's, which PYTHONPATH must not reach).
    """
    base = os.environ if inherit_env else {}
    full_env = {**base, "PYTHONUNBUFFERED": "1", **(env or {})}
    with tempfile.NamedTemporaryFile(prefix="nova-server-", suffix=".log", delete=False) as log:
        log_path = Path(log.name)
    with log_path.open("wb") as out:
        process = subprocess.Popen(
            list(args),
            cwd=cwd,
            env=full_env,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    server = Server(process, port, log_path)
    try:
        wait_for_port(port, process, timeout, log_path)
        yield server
    finally:
        stop(process)
        log_path.unlink(missing_ok=True)


def stop(process: subprocess.Popen[bytes], timeout: float = 10.0) -> None:
    """Stop a server we started, by its PID (and its own process group)."""
    if process.poll() is not None:
        return
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGTERM)
    try:
        process.wait(timeout)
    except subprocess.TimeoutExpired:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)
        process.wait(timeout)


@contextlib.contextmanager
def uvicorn_app(root: Path, *, env: dict[str, str] | None = None, **kw: object) -> Iterator[Server]:
    """Serve the Nova project at `root` with plain uvicorn (the app factory)."""
    port = free_port()
    args = [
        sys.executable,
        "-m",
        "uvicorn",
        "--factory",
        "nova_cli.runtime.app:from_environment",
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        "--log-level",
        "warning",
    ]
    with spawn(args, port=port, env={"NOVA_ROOT": str(root), **(env or {})}) as server:
        yield server


@contextlib.contextmanager
def nova(
    command: str, root: Path, *extra: str, env: dict[str, str] | None = None, timeout: float = 30.0
) -> Iterator[Server]:
    """Run `nova serve|run` for the project at `root` on a free port."""
    port = free_port()
    args = [sys.executable, "-m", "nova_cli.cli.main", command, "--port", str(port), *extra]
    with spawn(args, port=port, cwd=root, env=env, timeout=timeout) as server:
        yield server


# The two ways a WebSocket reply reaches the socket, which the WebSocket suites
# both run: "asgi", plain uvicorn with its own protocol (every frame an ASGI
# send, as under any ASGI server); "prepared", `nova run` (Nova's protocol,
# which takes a broadcast's frame built once for all its members).
WS_PATHS = ("asgi", "prepared")


@contextlib.contextmanager
def ws_server(path: str, root: Path, *, env: dict[str, str] | None = None) -> Iterator[Server]:
    """Serve the project at `root` on the WebSocket write path `path` (one of WS_PATHS)."""
    if path == "asgi":
        with uvicorn_app(root, env=env) as server:
            yield server
    elif path == "prepared":
        with nova("run", root, env=env) as server:
            yield server
    else:
        raise ValueError(f"unknown WebSocket path {path!r}; expected one of {WS_PATHS}")


def alive(pid: int) -> bool:
    """True while process `pid` runs; a zombie (dead, not yet reaped) is not alive.

    A worker whose parent was killed is reaped by whoever adopts it, maybe
    late or never, so its exit shows as a zombie rather than a missing pid.
    """
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat.rpartition(")")[2].split()[0] not in ("Z", "X")


def wait_dead(pids: set[int], timeout: float) -> set[int]:
    """Wait up to `timeout` s for every process in `pids` to end; return those still alive."""
    deadline = time.monotonic() + timeout
    while (left := {pid for pid in pids if alive(pid)}) and time.monotonic() < deadline:
        time.sleep(0.05)
    return left


def kill(pids: set[int]) -> None:
    """SIGKILL the processes `pids` (started by a test, then orphaned) if they still run."""
    for pid in pids:
        if alive(pid):
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)


def children(pid: int) -> set[int]:
    """The pids of the child processes of `pid` (Linux /proc)."""
    found: set[int] = set()
    for stat in Path("/proc").glob("[0-9]*/stat"):
        with contextlib.suppress(OSError, IndexError, ValueError):
            if int(stat.read_text().rpartition(")")[2].split()[1]) == pid:
                found.add(int(stat.parent.name))
    return found


def connection_owner(pids: set[int], server_port: int, client_port: int) -> int | None:
    """Which of `pids` holds the server end of the IPv4 TCP connection from
    `client_port` to `server_port` (Linux /proc), i.e. the worker that serves it."""
    inode = None
    for line in Path("/proc/net/tcp").read_text().splitlines()[1:]:
        fields = line.split()
        local, remote = (int(address.split(":")[1], 16) for address in fields[1:3])
        if (local, remote) == (server_port, client_port):
            inode = fields[9]
    if inode is None:
        return None
    for pid in pids:
        with contextlib.suppress(OSError):
            for fd in Path(f"/proc/{pid}/fd").iterdir():
                with contextlib.suppress(OSError):
                    if os.readlink(fd) == f"socket:[{inode}]":
                        return pid
    return None


def worker_pids(server: Server, count: int, timeout: float = 30.0) -> set[int]:
    """The pids of `count` workers of `server` (serving PID_ROUTE), as they answer /pid."""
    import httpx

    pids: set[int] = set()
    deadline = time.monotonic() + timeout
    while len(pids) < count and time.monotonic() < deadline:
        # A new connection each time, so that any worker may accept it.
        r = httpx.get(server.url + "/pid", timeout=10, headers={"connection": "close"})
        pids.add(r.json()["pid"])
    assert len(pids) == count, pids
    return pids
