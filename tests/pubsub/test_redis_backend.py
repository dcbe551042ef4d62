"""The Redis backend against a real redis-server: what crosses between nodes.

Another node is played by a plain Redis client that publishes and reads the
backend's wire messages on `nova:pubsub`, so one test process can be two nodes.
"""

from __future__ import annotations

import asyncio
import logging
import pickle
from collections.abc import AsyncIterator, Iterator
from typing import Any

import pytest
import redis.asyncio as aioredis

from nova_cli import process, pubsub
from nova_cli.config import ConfigError
from nova_cli.process import NODE, Pid
from nova_cli.pubsub._hub import Hub
from nova_cli.pubsub.backends import redis as redis_backend
from nova_cli.pubsub.backends.redis import CHANNEL, RedisBackend
from tests.pubsub.test_pubsub import Member
from tests.support.redis import RedisServer, redis_server

OTHER = "othernode@1"


@pytest.fixture
def server() -> Iterator[RedisServer]:
    with redis_server() as running:
        yield running


@pytest.fixture
async def backend(
    server: RedisServer, monkeypatch: pytest.MonkeyPatch
) -> AsyncIterator[RedisBackend]:
    hub = Hub()
    started = RedisBackend(hub, server.url)
    monkeypatch.setattr(pubsub, "hub", hub)
    monkeypatch.setattr(pubsub, "backend", started)
    await started.start()
    yield started
    await started.stop()


@pytest.fixture
async def other(server: RedisServer) -> AsyncIterator[Any]:
    """The other node: a raw client subscribed to the backend's channel."""
    client = aioredis.Redis.from_url(server.url)
    listener = client.pubsub(ignore_subscribe_messages=True)
    await listener.subscribe(CHANNEL)
    client.listener = listener
    yield client
    await listener.aclose()
    await client.aclose()


async def publish(client: Any, item: tuple[Any, ...]) -> None:
    await client.publish(CHANNEL, pickle.dumps(item))


async def next_of_kind(client: Any, kind: str, timeout: float = 5.0) -> tuple[Any, ...]:
    """The next message of `kind` the backend published."""
    deadline = asyncio.get_running_loop().time() + timeout
    while True:
        left = deadline - asyncio.get_running_loop().time()
        assert left > 0, f"no {kind!r} message published"
        message = await client.listener.get_message(timeout=left)
        if message and message["type"] == "message":
            item = pickle.loads(message["data"])
            if item[0] == kind:
                return item


async def eventually(check: Any, timeout: float = 5.0) -> None:
    deadline = asyncio.get_running_loop().time() + timeout
    while not check():
        assert asyncio.get_running_loop().time() < deadline, "condition not met in time"
        await asyncio.sleep(0.02)


async def test_a_broadcast_is_one_publish_and_reaches_local_members_at_once(
    backend: RedisBackend, other: Any
) -> None:
    members = [Member() for _ in range(50)]
    for m in members:
        pubsub.join("chat", m.pid)
    pubsub.broadcast("chat", "message", "hi")
    for m in members:  # delivered locally without waiting for Redis
        assert len(m._mailbox) == 1
    item = await next_of_kind(other, "b")
    assert item[1] == NODE and item[2] == "chat" and item[3][4] == "hi"


async def test_broadcasts_from_another_node_reach_local_members(
    backend: RedisBackend, other: Any
) -> None:
    member = Member()
    pubsub.join("chat", member.pid)
    sender = Pid(OTHER, 9)
    for i in range(3):
        await publish(other, ("b", OTHER, "chat", ("nova_pubsub", "chat", sender, "t", i)))
    got = await member.collect(3)
    assert got == [("nova_pubsub", "chat", sender, "t", i) for i in range(3)]


async def test_membership_is_replicated_from_other_nodes(backend: RedisBackend, other: Any) -> None:
    local = Member()
    pubsub.join("room", local.pid)
    remote = Pid(OTHER, 4)
    await publish(other, ("j", OTHER, "room", remote))
    await eventually(lambda: remote in pubsub.get_members("room"))
    assert pubsub.get_local_members("room") == [local.pid]
    await publish(other, ("l", OTHER, "room", remote))
    await eventually(lambda: remote not in pubsub.get_members("room"))
    await publish(other, ("j", OTHER, "room", remote))
    await eventually(lambda: remote in pubsub.get_members("room"))
    await publish(other, ("down", OTHER))
    await eventually(lambda: pubsub.get_members("room") == [local.pid])


async def test_a_newcomer_gets_the_full_membership(backend: RedisBackend, other: Any) -> None:
    local = Member()
    pubsub.join("a", local.pid)
    pubsub.join("b", local.pid)
    await publish(other, ("sync?", OTHER))
    item = await next_of_kind(other, "sync")
    assert item[2] == {"a": {local.pid: 1}, "b": {local.pid: 1}}


async def test_joins_leaves_and_exits_are_announced(backend: RedisBackend, other: Any) -> None:
    local = Member()
    pubsub.join("room", local.pid)
    assert (await next_of_kind(other, "j"))[2:] == ("room", local.pid)
    pubsub.leave("room", local.pid)
    assert (await next_of_kind(other, "l"))[2:] == ("room", local.pid)
    pubsub.join("room", local.pid)
    local.exit()
    assert (await next_of_kind(other, "x"))[2] == local.pid


async def test_a_silent_node_is_dropped(
    backend: RedisBackend, other: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(redis_backend, "EXPIRY", 0.2)
    remote = Pid(OTHER, 1)
    await publish(other, ("j", OTHER, "room", remote))
    await eventually(lambda: remote in pubsub.get_members("room"))
    await asyncio.sleep(0.3)
    backend._expire()
    assert pubsub.get_members("room") == []


async def test_send_to_a_remote_pid_goes_through_redis(backend: RedisBackend, other: Any) -> None:
    process.send(Pid(OTHER, 3), "hello there")
    assert (await next_of_kind(other, "s"))[2:] == (Pid(OTHER, 3), "hello there")
    local = Member()
    await publish(other, ("s", OTHER, local.pid, "hello back"))
    assert await local.collect(1) == ["hello back"]


async def test_a_malformed_message_is_logged_and_skipped(
    backend: RedisBackend, other: Any, caplog: pytest.LogCaptureFixture
) -> None:
    member = Member()
    pubsub.join("chat", member.pid)
    with caplog.at_level(logging.WARNING, logger="nova_cli.pubsub"):
        await other.publish(CHANNEL, b"not a pickle")
        await publish(other, ("b", OTHER, "chat", ("nova_pubsub", "chat", Pid(OTHER, 1), "t", 1)))
        assert (await member.collect(1))[0][4] == 1
    assert "malformed message" in caplog.text


async def test_a_dead_redis_is_survived_and_rejoined(
    backend: RedisBackend, server: RedisServer, caplog: pytest.LogCaptureFixture
) -> None:
    member = Member()
    pubsub.join("chat", member.pid)
    with caplog.at_level(logging.WARNING, logger="nova_cli.pubsub"):
        server.kill()
        await asyncio.sleep(0.3)
        pubsub.broadcast("chat", "t", "while down")  # local members still get it
        assert (await member.collect(1))[0][4] == "while down"
        await eventually(lambda: "unreachable" in caplog.text)
        server.start()  # the same port
        await eventually(lambda: "spans the workers again" in caplog.text, timeout=10)
    client = aioredis.Redis.from_url(server.url)
    await publish(
        client, ("b", OTHER, "chat", ("nova_pubsub", "chat", Pid(OTHER, 1), "t", "after"))
    )
    assert (await member.collect(1))[0][4] == "after"
    await client.aclose()


def test_an_unreachable_redis_is_one_line_before_serving() -> None:
    with redis_server() as server:
        url = server.url
    with pytest.raises(ConnectionError, match=f"cannot reach Redis at {url}"):
        RedisBackend(Hub(), url).check()


def test_create_app_refuses_an_unreachable_redis(tmp_path: Any, monkeypatch: Any) -> None:
    from nova_cli.runtime import create_app
    from tests.support.servers import ASSETS

    with redis_server() as server:
        url = server.url
    monkeypatch.setattr(pubsub, "backend", pubsub.backend)
    with pytest.raises(ConfigError, match="cannot reach Redis"):
        create_app(root=ASSETS / "chat", pubsub=url)
