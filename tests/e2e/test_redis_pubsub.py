"""Pub/sub across workers and machines through a real redis-server."""

from __future__ import annotations

import contextlib
import json
import os
import pickle
import re
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from websockets.sync.client import ClientConnection, connect

from tests.support.redis import RedisServer, redis_server
from tests.support.servers import (
    ASSETS,
    Server,
    free_port,
    nova,
    spawn,
    uvicorn_app,
    wait_for_port,
)
from tests.support.waiting import wait_for

CHAT = ASSETS / "chat"
REPO = Path(__file__).resolve().parents[2]


@pytest.fixture
def redis() -> Iterator[RedisServer]:
    with redis_server() as server:
        yield server


def members(server: Server) -> list[str]:
    return httpx.get(server.url + "/members", timeout=10).json()["members"]


def greet(conn: ClientConnection) -> dict[str, str]:
    return json.loads(conn.recv(timeout=10))


def test_two_servers_share_broadcasts_members_and_sends(redis: RedisServer) -> None:
    env = {"NOVA_PUBSUB_URL": redis.url}
    with uvicorn_app(CHAT, env=env) as a, uvicorn_app(CHAT, env=env) as b:
        with connect(a.ws_url + "/chat") as on_a, connect(b.ws_url + "/chat") as on_b:
            # Each server lists both members: its own and the other machine's.
            wait_for(lambda: len(members(a)) == 2 and len(members(b)) == 2)
            on_a.send("from a")
            assert on_a.recv(timeout=10) == "from a"
            assert on_b.recv(timeout=10) == "from a"
            on_b.send("from b")
            assert on_a.recv(timeout=10) == "from b"
            assert on_b.recv(timeout=10) == "from b"
            # A controller on one machine reaches the sockets of both.
            assert httpx.post(b.url + "/announce", content=b"announced").status_code == 204
            assert on_a.recv(timeout=10) == on_b.recv(timeout=10) == "announced"
        wait_for(lambda: members(a) == [] and members(b) == [])
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


@contextlib.contextmanager
def two_nodes(
    redis: RedisServer,
) -> Iterator[tuple[Server, Server, ClientConnection, ClientConnection]]:
    """Two chat servers on one Redis, a client on each, each seeing both members."""
    env = {"NOVA_PUBSUB_URL": redis.url}
    with (
        uvicorn_app(CHAT, env=env) as a,
        uvicorn_app(CHAT, env=env) as b,
        connect(a.ws_url + "/chat") as on_a,
        connect(b.ws_url + "/chat") as on_b,
    ):
        wait_for(lambda: len(members(a)) == 2 and len(members(b)) == 2)
        yield a, b, on_a, on_b


def test_redis_dying_mid_run_keeps_local_chat_and_recovers(redis: RedisServer) -> None:
    with two_nodes(redis) as (a, b, on_a, on_b):
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


def crosses(sender: ClientConnection, receiver: ClientConnection, timeout: float = 20.0) -> None:
    """Chat from `sender` until `receiver` hears it: pub/sub spans the two servers."""
    deadline = time.monotonic() + timeout
    while True:
        sender.send("ping")
        assert sender.recv(timeout=10) == "ping"
        try:
            while receiver.recv(timeout=0.5) != "ping":
                pass
            return
        except TimeoutError:
            pass
        assert time.monotonic() < deadline, "pub/sub never spanned the servers again"


def drain(conn: ClientConnection) -> None:
    with contextlib.suppress(TimeoutError):
        while True:
            conn.recv(timeout=0.2)


def test_membership_converges_after_redis_hangs(redis: RedisServer) -> None:
    with two_nodes(redis) as (a, b, on_a, on_b):
        hung = time.monotonic()
        redis.pause()  # SIGSTOP: connections stay open, nothing answers
        try:
            # Each worker stops hearing the other and drops its members.
            wait_for(lambda: len(members(a)) == 1 and len(members(b)) == 1, timeout=15)
            assert "unreachable" in a.output() and "unreachable" in b.output()
            time.sleep(max(0.0, hung + 10 - time.monotonic()))  # hung for 10 s in all
        finally:
            redis.resume()
        wait_for(lambda: len(members(a)) == 2 and len(members(b)) == 2, timeout=15)
        crosses(on_a, on_b)
        crosses(on_b, on_a)
        wait_for(lambda: "is back" in a.output() and "is back" in b.output())


def test_a_crashed_redis_is_logged_each_time_and_membership_converges(
    redis: RedisServer,
) -> None:
    with two_nodes(redis) as (a, b, on_a, on_b):
        for outage in (1, 2):
            redis.crash()  # SIGKILL
            for server in (a, b):
                wait_for(lambda s=server, n=outage: s.output().count("unreachable") == n)
            time.sleep(2.5)  # down for more than a heartbeat: publishing fails too
            redis.start()  # the same port, empty: every pooled connection is stale
            for server in (a, b):
                wait_for(lambda s=server, n=outage: s.output().count("is back") == n, 15)
            wait_for(lambda: len(members(a)) == 2 and len(members(b)) == 2, timeout=15)
            crosses(on_a, on_b)
            crosses(on_b, on_a)
            drain(on_a)
            drain(on_b)
            for server in (a, b):
                # Up again for good: no stale connection failing after "back".
                assert server.output().count("unreachable") == outage, server.output()
                # What the other could not publish meanwhile shows as a gap here
                # (once or more: a first publish on a stale connection may add one).
                assert server.output().count("lost") >= outage, server.output()
                dropped = re.findall(
                    r"\((\d+) messages from this worker could not", server.output()
                )
                assert len(dropped) == outage and int(dropped[-1]) >= 1


def test_a_subscriber_cut_off_by_redis_resubscribes_and_resyncs(redis: RedisServer) -> None:
    with two_nodes(redis) as (a, b, on_a, on_b), contextlib.ExitStack() as later:
        os.kill(a.process.pid, signal.SIGSTOP)
        os.kill(b.process.pid, signal.SIGSTOP)
        try:
            # Neither reads: a flood passes Redis's output buffer limit for
            # subscribers, and Redis closes both subscriptions.
            redis.cut_subscribers("nova:pubsub")
            os.kill(b.process.pid, signal.SIGCONT)
            wait_for(lambda: len(redis.subscribers()) == 1)  # b is back
            # A member joins on b while a is still cut off: a misses it.
            later.enter_context(connect(b.ws_url + "/chat"))
            wait_for(lambda: len(members(b)) == 3)
        finally:
            os.kill(a.process.pid, signal.SIGCONT)
            os.kill(b.process.pid, signal.SIGCONT)
        wait_for(lambda: len(members(a)) == 3, timeout=15)
        crosses(on_b, on_a)
        crosses(on_a, on_b)
        assert "lost" in a.output() and "messages from pub/sub node" in a.output()
        # Whatever of the flood reached a is not this app's format: logged once at most.
        assert a.output().count("ignoring a message") <= 1


def test_a_pickle_on_the_channel_runs_nothing(redis: RedisServer, tmp_path: Path) -> None:
    target = tmp_path / "created-by-redis-message"

    class Touch:
        def __reduce__(self):  # type: ignore[no-untyped-def]
            return (Path.touch, (target,))

    env = {"NOVA_PUBSUB_URL": redis.url}
    with uvicorn_app(CHAT, env=env) as a, connect(a.ws_url + "/chat") as on_a:
        wait_for(lambda: len(members(a)) == 1)
        with contextlib.closing(redis.client()) as client:
            assert client.publish("nova:pubsub", pickle.dumps(Touch())) == 1
        wait_for(lambda: "ignoring" in a.output())
        assert not target.exists()
        on_a.send("still chatting")
        assert on_a.recv(timeout=10) == "still chatting"


def test_workers_forked_after_import_are_distinct_nodes(redis: RedisServer) -> None:
    """As under gunicorn --preload: the app is built, then the workers fork."""
    first, second = free_port(), free_port()
    args = [sys.executable, "-m", "tests.support.preforked", str(CHAT), str(first), str(second)]
    env = {"NOVA_PUBSUB_URL": redis.url}
    with spawn(args, port=first, cwd=REPO, env=env) as parent:
        wait_for_port(second, parent.process, 30, parent.log_path)
        parent_node = parent.output().split("parent node ", 1)[1].split()[0]
        with (
            connect(f"ws://127.0.0.1:{first}/state/room") as one,
            connect(f"ws://127.0.0.1:{second}/state/room") as two,
        ):
            nodes = {greet(conn)["wire"].rsplit("/", 1)[0] for conn in (one, two)}
            assert len(nodes) == 2 and parent_node not in nodes
            deadline = time.monotonic() + 20
            while True:  # until both workers have heard of each other
                one.send("say:hello")
                assert one.recv(timeout=10) == "said:hello"
                try:
                    if two.recv(timeout=0.5) == "said:hello":
                        break
                except TimeoutError:
                    pass
                assert time.monotonic() < deadline, "the forked workers never heard each other"
