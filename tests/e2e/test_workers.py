"""`nova run --workers N`: the supervisor, its workers, and the chat they must not split.

Every test runs a real `nova run` and reads its output; workers are found by
the pid they answer on /pid, and signalled by that pid.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest
from websockets.sync.client import connect

from tests.support.servers import (
    ASSETS,
    PID_ROUTE,
    Server,
    alive,
    free_port,
    nova,
    wait_dead,
    worker_pids,
)
from tests.support.waiting import wait_for

CHAT = ASSETS / "chat"


def lines_with(server: Server, text: str) -> list[str]:
    return [line for line in server.output().splitlines() if text in line]


def no_pubsub_env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("NOVA_PUBSUB")}
    return {**env, "NO_COLOR": "1"}


# -- a chat split over workers is refused ------------------------------------


def test_workers_with_websocket_routes_and_pubsub_in_memory_are_refused() -> None:
    port = free_port()
    result = subprocess.run(
        [sys.executable, "-m", "nova_cli.cli.main", "run", "--port", str(port), "--workers", "2"],
        cwd=CHAT,
        capture_output=True,
        text=True,
        timeout=60,
        env=no_pubsub_env(),
    )
    assert result.returncode == 1, result
    lines = result.stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), result.stderr
    # Why, and both ways out.
    assert "WebSocket routes" in lines[0] and "2 workers" in lines[0]
    assert 'pubsub = "redis://' in lines[0] and "NOVA_PUBSUB_URL" in lines[0]
    assert "--pubsub-per-worker" in lines[0]
    assert "Traceback" not in result.stdout + result.stderr
    with pytest.raises(OSError):  # no worker ever started
        socket.create_connection(("127.0.0.1", port), timeout=1).close()


def test_pubsub_per_worker_runs_the_workers_and_the_banner_says_so() -> None:
    with nova("run", CHAT, "--workers", "2", "--pubsub-per-worker", env=no_pubsub_env()) as server:
        with connect(server.ws_url + "/ws", open_timeout=15) as ws:
            ws.send("hi")
            assert ws.recv(timeout=10) == "Echo: hi"
        banner = lines_with(server, "pub/sub in memory, per worker")
        assert len(banner) == 1 and banner[0].startswith("nova: "), server.output()
        assert "nova: chat (prod, 2 workers)" in server.output()


# -- uvicorn's supervisor, Nova's workers -------------------------------------


@pytest.fixture
def pid_root(demo_root: Path) -> Path:
    """The demo (HTTP only: no WebSocket route) with /pid."""
    with (demo_root / "demo" / "router.py").open("a") as router:
        router.write(PID_ROUTE)
    return demo_root


def test_each_worker_start_and_stop_is_one_line_with_its_pid(pid_root: Path) -> None:
    with nova("run", pid_root, "--workers", "2", timeout=60) as server:
        pids = worker_pids(server, 2)
        for pid in pids:
            assert lines_with(server, f"worker {pid} started") != [], server.output()
        server.process.send_signal(signal.SIGTERM)
        assert server.process.wait(30) == 0
        for pid in pids:
            stopped = lines_with(server, f"worker {pid} stopped")
            assert len(stopped) == 1, server.output()
            # uvicorn's worker ends by raising the signal it shut down for.
            assert stopped[0].endswith(f"worker {pid} stopped (signal SIGTERM)"), stopped


def test_a_killed_worker_is_replaced(pid_root: Path) -> None:
    with nova("run", pid_root, "--workers", "2", timeout=60) as server:
        pids = worker_pids(server, 2)
        victim = min(pids)
        os.kill(victim, signal.SIGKILL)
        assert wait_dead({victim}, timeout=15) == set()
        # The next pids to answer: the survivor and the replacement.
        now = worker_pids(server, 2)
        assert victim not in now and len(now - pids) == 1
        (replacement,) = now - pids
        wait_for(lambda: lines_with(server, f"worker {victim} stopped") != [])
        assert lines_with(server, f"worker {victim} stopped")[0].endswith("(signal SIGKILL)")
        assert lines_with(server, f"worker {replacement} started") != []


def test_sigttin_adds_a_worker_and_sigttou_removes_one(pid_root: Path) -> None:
    with nova("run", pid_root, "--workers", "2", timeout=60) as server:
        pids = worker_pids(server, 2)
        os.kill(server.process.pid, signal.SIGTTIN)
        three = worker_pids(server, 3)
        assert pids < three
        os.kill(server.process.pid, signal.SIGTTOU)
        wait_for(lambda: len(lines_with(server, "stopped (signal SIGTERM)")) == 1)
        (line,) = lines_with(server, "stopped (signal SIGTERM)")
        removed = int(line.split("worker ")[1].split()[0])
        assert removed in three and wait_dead({removed}, timeout=15) == set()


def test_sighup_replaces_every_worker(pid_root: Path) -> None:
    with nova("run", pid_root, "--workers", "2", timeout=60) as server:
        old = worker_pids(server, 2)
        os.kill(server.process.pid, signal.SIGHUP)
        assert wait_dead(old, timeout=60) == set()
        new = worker_pids(server, 2)
        assert not new & old
        assert httpx.get(server.url + "/heartbeat", timeout=10).status_code == 200


# A sync controller that holds the GIL: a C call made through PyDLL keeps it
# (ctypes' CDLL would let it go). Neither the event loop nor any other thread
# of the worker runs meanwhile, not even the one that answers the
# supervisor's health check.
HOG_ROUTE = """

_pid_routes = routes


def routes(environment):
    import ctypes
    import os

    def hog(req):
        ctypes.PyDLL(None).sleep(int(req.query.get("seconds", "1")))
        return ("json", {"pid": os.getpid()})

    return _pid_routes(environment) + [{"plugins": [], "routes": [("/hog", hog, {})]}]
"""


def test_a_worker_holding_the_gil_for_8_s_is_not_killed_as_unhealthy(pid_root: Path) -> None:
    with (pid_root / "demo" / "router.py").open("a") as router:
        router.write(HOG_ROUTE)
    with nova("run", pid_root, "--workers", "2", timeout=60) as server:
        worker_pids(server, 2)
        r = httpx.get(server.url + "/hog?seconds=8", timeout=60)
        assert r.status_code == 200
        pid = r.json()["pid"]
        assert alive(pid) and lines_with(server, f"worker {pid} stopped") == [], server.output()


BLOCK_ROUTE = """

_pid_routes = routes


def routes(environment):
    import os
    import time

    async def block(req):
        time.sleep(60)  # on the event loop: the worker cannot shut down meanwhile
        return ("status", 204)

    return _pid_routes(environment) + [{"plugins": [], "routes": [("/block", block, {})]}]
"""


def test_a_worker_that_cannot_exit_is_killed_after_the_budget_and_the_margin(
    pid_root: Path,
) -> None:
    from nova_cli.runtime.workers import EXIT_MARGIN

    with (pid_root / "demo" / "router.py").open("a") as router:
        router.write(BLOCK_ROUTE)
    env = {"NOVA_SHUTDOWN_TIMEOUT": "1"}
    with nova("run", pid_root, "--workers", "2", env=env, timeout=60) as server:
        pids = worker_pids(server, 2)
        with socket.create_connection(("127.0.0.1", server.port), timeout=10) as sock:
            sock.sendall(b"GET /block HTTP/1.1\r\nhost: x\r\n\r\n")
            time.sleep(0.5)  # let a worker take it and block
            started = time.monotonic()
            server.process.send_signal(signal.SIGTERM)
            server.process.wait(60)
            took = time.monotonic() - started
        killed = [
            pid for pid in pids if lines_with(server, f"worker {pid} stopped (signal SIGKILL")
        ]
        assert len(killed) == 1, server.output()
        assert lines_with(server, f"worker {killed[0]} did not exit"), server.output()
    # Never before the budget and the margin; not long after them either.
    assert 1 + EXIT_MARGIN - 0.25 <= took < 1 + EXIT_MARGIN + 4, took
