"""The Redis backend against a real redis-server: what crosses between nodes.

Another node is played by a plain Redis client that publishes and reads the
backend's wire messages on `nova:pubsub`, so one test process can be two nodes.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator
from typing import Any

import pytest
import redis.asyncio as aioredis

from nova_cli import process, pubsub, terms
from nova_cli.core.config import ConfigError
from nova_cli.process import Pid
from nova_cli.pubsub import _wire
from nova_cli.pubsub._hub import Hub
from nova_cli.pubsub.backends import redis as redis_backend
from nova_cli.pubsub.backends.redis import CHANNEL, RedisBackend
from tests.pubsub.conftest import current
from tests.pubsub.test_pubsub import Member
from tests.pubsub.test_terms import same
from tests.support.redis import RedisServer, redis_server

OTHER = "othernode@1"


@pytest.fixture
async def backend(
    server: RedisServer, monkeypatch: pytest.MonkeyPatch
) -> AsyncIterator[RedisBackend]:
    chosen = current(monkeypatch, "redis", server.url)
    started: RedisBackend = chosen.backend  # type: ignore[assignment]
    await started.start()
    yield started
    await started.stop()


class Other:
    """The other node: a raw client that reads and writes the backend's wire messages."""

    def __init__(self, url: str) -> None:
        self.client = aioredis.Redis.from_url(url)
        self.listener = self.client.pubsub(ignore_subscribe_messages=True)
        self.seq = 0

    async def publish(self, kind: str, *fields: Any, seq: int | None = None) -> None:
        """Publish a message of `kind` from OTHER, numbered after the last unless `seq`."""
        self.seq = self.seq + 1 if seq is None else seq
        await self.client.publish(CHANNEL, _wire.pack(kind, OTHER, self.seq, *fields))

    async def next(self, kind: str, timeout: float = 5.0) -> list[Any]:
        """The fields of the next message of `kind` the backend published."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while True:
            left = deadline - loop.time()
            assert left > 0, f"no {kind!r} message published"
            message = await self.listener.get_message(timeout=left)
            if message and message["type"] == "message":
                found = _wire.parse(message["data"])
                if found.kind == kind:
                    assert found.origin == process.node()
                    return found.fields


@pytest.fixture
async def other(server: RedisServer) -> AsyncIterator[Other]:
    played = Other(server.url)
    await played.listener.subscribe(CHANNEL)
    yield played
    await played.listener.aclose()
    await played.client.aclose()


async def eventually(check: Any, timeout: float = 5.0) -> None:
    deadline = asyncio.get_running_loop().time() + timeout
    while not check():
        assert asyncio.get_running_loop().time() < deadline, "condition not met in time"
        await asyncio.sleep(0.02)


SENDER = Pid(OTHER, 9)


def envelope(channel: str, topic: Any, payload: Any, sender: Pid = SENDER) -> tuple[Any, ...]:
    return ("nova_pubsub", channel, sender, topic, payload)


async def test_a_broadcast_is_one_publish_and_reaches_local_members_at_once(
    backend: RedisBackend, other: Other
) -> None:
    members = [Member() for _ in range(50)]
    for m in members:
        pubsub.join("chat", m.pid)
    members[0].as_self()
    pubsub.broadcast("chat", "message", "hi")
    for m in members:  # delivered locally without waiting for Redis
        assert len(m._mailbox) == 1
    ours = envelope("chat", "message", "hi", members[0].pid)
    assert await other.next(_wire.BROADCAST) == ["chat", ours]
    # Redis sends it back to this node too, before what the other publishes next:
    # by then it would be in the mailboxes, had the node not skipped its own.
    await other.publish(_wire.BROADCAST, "chat", envelope("chat", "t", "next"))
    for m in members:
        assert await m.collect(2) == [ours, envelope("chat", "t", "next")]


# Every kind of value that may cross, nested: it must come back identical, types included.
PAYLOAD = {
    "tuple": (1, (2, 3), [4, (5,)]),
    "list": [1, [2, 3], ()],
    "pid": Pid("n@1", 7),
    (1, "tuple key"): Pid("m@2", 8),
    Pid("k@3", 1): b"\x00bytes",
    "ints": [0, -1, 2**64 - 1, -(2**63), True, False],
    "floats": [0.5, -1e300, float("inf")],
    "strs": ["", "é", "\ud800 lone surrogate", "x" * 1000],
    None: None,
}


async def test_values_cross_exactly_both_ways(backend: RedisBackend, other: Other) -> None:
    member = Member()
    pubsub.join("chat", member.pid)
    member.as_self()
    pubsub.broadcast("chat", ("a", "tuple", "topic"), PAYLOAD)
    assert same((await other.next(_wire.BROADCAST))[1][4], PAYLOAD)
    await member.collect(1)
    await other.publish(_wire.BROADCAST, "chat", envelope("chat", "t", PAYLOAD))
    got = (await member.collect(1))[0]
    assert same(got, envelope("chat", "t", PAYLOAD))
    match got:  # what a handler's websocket_info does with it
        case ("nova_pubsub", "chat", Pid() as sender, "t", {"tuple": (1, (2, 3), [4, (5,)])}):
            assert sender == Pid(OTHER, 9)
        case _:
            pytest.fail(f"the envelope does not match as a tuple: {got!r}")


async def test_broadcasts_from_another_node_reach_local_members(
    backend: RedisBackend, other: Other
) -> None:
    member = Member()
    pubsub.join("chat", member.pid)
    for i in range(3):
        await other.publish(_wire.BROADCAST, "chat", envelope("chat", "t", i))
    assert await member.collect(3) == [envelope("chat", "t", i) for i in range(3)]


async def test_membership_is_replicated_from_other_nodes(
    backend: RedisBackend, other: Other
) -> None:
    local = Member()
    pubsub.join("room", local.pid)
    remote = Pid(OTHER, 4)
    await other.publish(_wire.JOIN, "room", remote)
    await eventually(lambda: remote in pubsub.get_members("room"))
    assert pubsub.get_local_members("room") == [local.pid]
    await other.publish(_wire.LEAVE, "room", remote)
    await eventually(lambda: remote not in pubsub.get_members("room"))
    await other.publish(_wire.JOIN, "room", remote)
    await eventually(lambda: remote in pubsub.get_members("room"))
    await other.publish(_wire.DOWN)
    await eventually(lambda: pubsub.get_members("room") == [local.pid])


async def test_a_newcomer_gets_the_full_membership(backend: RedisBackend, other: Other) -> None:
    local = Member()
    pubsub.join("a", local.pid)
    pubsub.join("b", local.pid)
    await other.publish(_wire.SYNC_REQUEST, None)
    assert await other.next(_wire.SYNC) == [{"a": {local.pid: 1}, "b": {local.pid: 1}}]


async def test_a_node_heard_for_the_first_time_is_asked_for_its_members(
    backend: RedisBackend, other: Other
) -> None:
    await other.publish(_wire.HEARTBEAT)
    assert await other.next(_wire.SYNC_REQUEST) == [OTHER]
    await other.publish(_wire.SYNC, {"room": {Pid(OTHER, 1): 2}})
    await eventually(lambda: pubsub.get_members("room") == [Pid(OTHER, 1)] * 2)


async def test_a_node_that_was_dropped_asks_to_be_told_again(
    backend: RedisBackend, other: Other
) -> None:
    """A peer expired this node (it missed heartbeats): when it hears from this
    node again, it asks, and this node re-announces all its members."""
    local = Member()
    pubsub.join("room", local.pid)
    await other.publish(_wire.SYNC_REQUEST, process.node())
    assert await other.next(_wire.SYNC) == [{"room": {local.pid: 1}}]
    await other.publish(_wire.SYNC_REQUEST, "a third node@3")  # not for this node
    await other.publish(_wire.SYNC_REQUEST, process.node())
    syncs = [await other.next(_wire.SYNC)]
    with contextlib.suppress(AssertionError):
        syncs.append(await other.next(_wire.SYNC, timeout=0.5))
    assert syncs == [[{"room": {local.pid: 1}}]]


async def test_a_silent_node_is_dropped_and_its_return_counted(
    backend: RedisBackend, other: Other, monkeypatch: pytest.MonkeyPatch, caplog: Any
) -> None:
    monkeypatch.setattr(redis_backend, "EXPIRY", 0.2)
    remote = Pid(OTHER, 1)
    await other.publish(_wire.JOIN, "room", remote)
    assert await other.next(_wire.SYNC_REQUEST) == [OTHER]  # a node it did not know
    assert remote in pubsub.get_members("room")
    await asyncio.sleep(0.3)
    backend._expire()
    assert pubsub.get_members("room") == []
    with caplog.at_level(logging.WARNING, logger="nova_cli.pubsub"):
        await other.publish(_wire.HEARTBEAT, seq=other.seq + 4)  # 3 lost while it was away
        assert await other.next(_wire.SYNC_REQUEST) == [OTHER]
    assert f"lost 3 messages from pub/sub node {OTHER}" in caplog.text


async def test_a_gap_is_logged_and_a_resent_message_ignored(
    backend: RedisBackend, other: Other, caplog: pytest.LogCaptureFixture
) -> None:
    member = Member()
    pubsub.join("chat", member.pid)
    with caplog.at_level(logging.WARNING, logger="nova_cli.pubsub"):
        await other.publish(_wire.BROADCAST, "chat", envelope("chat", "t", 1))
        assert (await member.collect(1))[0][4] == 1
        await other.publish(_wire.BROADCAST, "chat", envelope("chat", "t", 5), seq=5)
        assert (await member.collect(1))[0][4] == 5
        # A gap: its joins or leaves may be among the lost, so it is asked for all.
        assert await other.next(_wire.SYNC_REQUEST) == [OTHER]
        await other.publish(_wire.BROADCAST, "chat", envelope("chat", "t", "again"), seq=5)
        await other.publish(_wire.BROADCAST, "chat", envelope("chat", "t", 6), seq=6)
        assert (await member.collect(1))[0][4] == 6
    assert caplog.text.count("lost 3 messages from pub/sub node othernode@1") == 1


async def test_joins_leaves_and_exits_are_announced(backend: RedisBackend, other: Other) -> None:
    local = Member()
    pubsub.join("room", local.pid)
    assert await other.next(_wire.JOIN) == ["room", local.pid]
    pubsub.leave("room", local.pid)
    assert await other.next(_wire.LEAVE) == ["room", local.pid]
    pubsub.join("room", local.pid)
    local.exit()
    assert await other.next(_wire.EXIT) == [local.pid]


async def test_send_to_a_remote_pid_goes_through_redis(backend: RedisBackend, other: Other) -> None:
    process.send(Pid(OTHER, 3), ("hello", "there"))
    assert await other.next(_wire.SEND) == [Pid(OTHER, 3), ("hello", "there")]
    local = Member()
    await other.publish(_wire.SEND, local.pid, ["hello", "back"])
    assert await local.collect(1) == [["hello", "back"]]


async def test_what_is_not_a_message_is_logged_once_per_kind_and_skipped(
    backend: RedisBackend, other: Other, caplog: pytest.LogCaptureFixture
) -> None:
    member = Member()
    pubsub.join("chat", member.pid)
    bad = [
        b"not msgpack at all \xc1",
        terms.encode({"a": "dict"}),
        terms.encode([2, OTHER, _wire.BROADCAST, 1, "chat", envelope("chat", "t", 0)]),
        terms.encode([_wire.VERSION, OTHER, "gossip", 1]),
        terms.encode([_wire.VERSION, OTHER, _wire.BROADCAST, 1, "chat", "not an envelope"]),
        terms.encode([_wire.VERSION, OTHER, _wire.JOIN, 1, ["unhashable"], Pid(OTHER, 1)]),
        b"\xc7\x01\x07\x00",  # an extension type this codec does not have
    ]
    with caplog.at_level(logging.WARNING, logger="nova_cli.pubsub"):
        for _ in range(3):
            for data in bad:
                await other.client.publish(CHANNEL, data)
        await other.publish(_wire.BROADCAST, "chat", envelope("chat", "t", "after"))
        assert (await member.collect(1))[0][4] == "after"
    ignored = [r.getMessage() for r in caplog.records if "ignoring" in r.getMessage()]
    assert len(ignored) == 4, ignored  # undecodable, version, kind, fields: once each
    assert any("wire format version 2 (this node speaks 1)" in line for line in ignored)
    assert any("unknown message kind 'gossip'" in line for line in ignored)
    assert len(member._mailbox) == 0


async def test_a_pickle_runs_nothing(
    backend: RedisBackend, other: Other, caplog: pytest.LogCaptureFixture, tmp_path: Any
) -> None:
    import pickle
    from pathlib import Path

    target = tmp_path / "created"

    class Touch:
        def __reduce__(self) -> Any:
            return (Path.touch, (target,))

    with caplog.at_level(logging.WARNING, logger="nova_cli.pubsub"):
        await other.client.publish(CHANNEL, pickle.dumps(Touch()))
        await eventually(lambda: "ignoring" in caplog.text)
    assert not target.exists()


async def test_a_redis_that_comes_back_is_rejoined(
    backend: RedisBackend, server: RedisServer, caplog: pytest.LogCaptureFixture
) -> None:
    member = Member()
    pubsub.join("chat", member.pid)
    member.as_self()
    with caplog.at_level(logging.WARNING, logger="nova_cli.pubsub"):
        server.kill()
        pubsub.broadcast("chat", "t", "while down")  # local members still get it
        assert (await member.collect(1))[0][4] == "while down"
        await eventually(lambda: "unreachable" in caplog.text)
        server.start()  # the same port
        await eventually(lambda: "spans the workers again" in caplog.text, timeout=10)
    back = Other(server.url)
    await back.publish(_wire.BROADCAST, "chat", envelope("chat", "t", "after"))
    assert (await member.collect(1))[0][4] == "after"
    await back.client.aclose()


async def test_a_subscriber_cut_off_by_redis_resubscribes_and_resyncs(
    backend: RedisBackend, server: RedisServer, caplog: pytest.LogCaptureFixture
) -> None:
    member = Member()
    pubsub.join("chat", member.pid)
    other = Other(server.url)
    await other.publish(_wire.HEARTBEAT)
    await eventually(lambda: OTHER in backend._replica._seen)
    watching = server.client()
    watcher = watching.pubsub()
    with caplog.at_level(logging.WARNING, logger="nova_cli.pubsub"):
        # The event loop blocks, as a busy worker's does: the backend reads
        # nothing, and Redis cuts its subscription when the flood passes the limit.
        server.cut_subscribers(CHANNEL)
        with contextlib.closing(server.client()) as client:
            for seq in (2, 3, 4):  # published while this node is cut off
                client.publish(CHANNEL, _wire.pack(_wire.HEARTBEAT, OTHER, seq))
        watcher.subscribe(CHANNEL)
        await eventually(lambda: "spans the workers again" in caplog.text, timeout=10)
        assert "unreachable" in caplog.text and "Connection closed by server" in caplog.text
        # Resubscribed: it announces all its members and presence, and asks everyone for theirs.
        seen: dict[str, list[Any]] = {}
        deadline = asyncio.get_running_loop().time() + 5
        while len(seen) < 3:
            assert asyncio.get_running_loop().time() < deadline, f"only {sorted(seen)} published"
            message = await asyncio.to_thread(watcher.get_message, timeout=1)
            if message is not None and message["type"] == "message":
                found = _wire.parse(message["data"])
                seen.setdefault(found.kind, found.fields)
                seen.pop(_wire.HEARTBEAT, None)
        assert seen == {
            _wire.SYNC: [{"chat": {member.pid: 1}}],
            _wire.PRESENCE_SYNC: [[]],
            _wire.SYNC_REQUEST: [None],
        }
        await other.publish(_wire.HEARTBEAT, seq=5)
        await eventually(lambda: f"lost 3 messages from pub/sub node {OTHER}" in caplog.text)
    watcher.close()
    watching.close()
    await other.client.aclose()


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
    with pytest.raises(ConfigError, match="cannot reach Redis"):
        create_app(root=ASSETS / "chat", pubsub=url)
