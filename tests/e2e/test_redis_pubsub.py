"""Pub/sub across workers and machines through a real redis-server (SPEC §7)."""

from __future__ import annotations

import contextlib
import json
import subprocess
import sys
import time
from collections.abc import Iterator

import httpx
import pytest
from websockets.sync.client import ClientConnection, connect

from tests.support.redis import RedisServer, redis_server
from tests.support.servers import ASSETS, Server, nova, uvicorn_app

CHAT = ASSETS / "chat"


@pytest.fixture
def redis() -> Iterator[RedisServer]:
    with redis_server() as server:
        yield server


def wait_until(check, timeout: float = 10.0) -> None:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    while not check():
        assert time.monotonic() < deadline, "condition not met in time"
        time.sleep(0.05)


def members(server: Server) -> list[str]:
    return httpx.get(server.url + "/members", timeout=10).json()["members"]


def greet(conn: ClientConnection) -> dict[str, str]:
    return json.loads(conn.recv(timeout=10))


def test_two_servers_share_broadcasts_members_and_sends(redis: RedisServer) -> None:
    env = {"NOVA_PUBSUB_URL": redis.url}
    with uvicorn_app(CHAT, env=env) as a, uvicorn_app(CHAT, env=env) as b:
        with connect(a.ws_url + "/chat") as on_a, connect(b.ws_url + "/chat") as on_b:
            # Each server lists both members: its own and the other machine's.
            wait_until(lambda: len(members(a)) == 2 and len(members(b)) == 2)
            on_a.send("from a")
            assert on_a.recv(timeout=10) == "from a"
            assert on_b.recv(timeout=10) == "from a"
            on_b.send("from b")
            assert on_a.recv(timeout=10) == "from b"
            assert on_b.recv(timeout=10) == "from b"
            # A controller on one machine reaches the sockets of both.
            assert httpx.post(b.url + "/announce", content=b"announced").status_code == 204
            assert on_a.recv(timeout=10) == on_b.recv(timeout=10) == "announced"
        wait_until(lambda: members(a) == [] and members(b) == [])
        with connect(a.ws_url + "/state/r") as target:
            wire = greet(target)["wire"]
            r = httpx.post(b.url + "/send", params={"pid": wire, "text": "across"})
            assert r.status_code == 202
            assert target.recv(timeout=10) == "direct:across"


def test_workers_of_nova_run_share_a_room(redis: RedisServer) -> None:
    env = {"NOVA_PUBSUB_URL": redis.url}
    with nova("run", CHAT, "--workers", "2", env=env) as server, contextlib.ExitStack() as stack:
        by_worker: dict[str, ClientConnection] = {}
        for _ in range(40):  # until two sockets sit on different workers
            conn = stack.enter_context(connect(server.ws_url + "/state/room"))
            node = greet(conn)["wire"].rsplit("/", 1)[0]
            by_worker.setdefault(node, conn)
            if len(by_worker) == 2:
                break
        assert len(by_worker) == 2, "every connection landed on one worker"
        first, second = by_worker.values()
        first.send("say:across workers")
        assert first.recv(timeout=10) == "said:across workers"
        assert second.recv(timeout=10) == "said:across workers"


def test_nova_run_with_a_dead_redis_is_one_line(redis: RedisServer) -> None:
    url = redis.url
    redis.kill()
    result = subprocess.run(
        [sys.executable, "-m", "nova_cli.cli.main", "run", "--port", "1"],
        cwd=CHAT,
        env={**__import__("os").environ, "NOVA_PUBSUB_URL": url},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 1
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and f"cannot reach Redis at {url}" in lines[0]
    assert "Traceback" not in result.stderr


def test_redis_dying_mid_run_keeps_local_chat_and_recovers(redis: RedisServer) -> None:
    env = {"NOVA_PUBSUB_URL": redis.url}
    with (
        uvicorn_app(CHAT, env=env) as a,
        uvicorn_app(CHAT, env=env) as b,
        connect(a.ws_url + "/chat") as on_a,
        connect(b.ws_url + "/chat") as on_b,
    ):
        wait_until(lambda: len(members(a)) == 2)
        redis.kill()
        on_a.send("while redis is down")
        assert on_a.recv(timeout=10) == "while redis is down"  # this worker goes on
        redis.start()
        # Once both have reconnected, messages cross again.
        deadline = time.monotonic() + 20
        while True:
            on_a.send("ping")
            assert on_a.recv(timeout=10) == "ping"
            try:
                if on_b.recv(timeout=0.5) == "ping":
                    break
            except TimeoutError:
                pass
            assert time.monotonic() < deadline, "pub/sub never spanned the servers again"
        assert "unreachable" in a.output() and "spans the workers again" in a.output()
