"""The pub/sub contract, run against every backend."""

from __future__ import annotations

import asyncio
import re
import subprocess
import sys
import threading
from collections.abc import AsyncIterator
from typing import Any

import pytest

from nova_cli import process, pubsub
from nova_cli.pubsub.backends.base import Backend
from nova_cli.pubsub.backends.memory import MemoryBackend
from nova_cli.pubsub.backends.redis import RedisBackend
from tests.pubsub.conftest import current


@pytest.fixture(params=["memory", "redis"])
async def backend(
    request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch
) -> AsyncIterator[Backend]:
    """A fresh pub/sub with a started backend, the current one for the test."""
    url = request.getfixturevalue("redis_url") if request.param == "redis" else ""
    chosen = current(monkeypatch, request.param, url)
    await chosen.backend.start()
    yield chosen.backend
    await chosen.backend.stop()


class Member(process.Process):
    """A test process: collects what it receives."""

    def __init__(self, **kw: int) -> None:
        super().__init__(**kw)
        self.register()
        self.overflows = 0

    def on_overflow(self, messages: int, size: int) -> None:
        self.overflows += 1

    async def collect(self, n: int) -> list[object]:
        return [(await asyncio.wait_for(self.receive(), 5))[1] for _ in range(n)]

    def as_self(self) -> None:
        process.set_current(self.pid)


async def test_members_receive_the_envelope_and_the_sender_its_own(backend: Backend) -> None:
    a, b = Member(), Member()
    pubsub.join("chat", a.pid)
    pubsub.join("chat", b.pid)
    a.as_self()
    pubsub.broadcast("chat", "message", "hi")
    assert await a.collect(1) == [("nova_pubsub", "chat", a.pid, "message", "hi")]
    assert await b.collect(1) == [("nova_pubsub", "chat", a.pid, "message", "hi")]
    assert sorted(pubsub.get_members("chat"), key=str) == sorted([a.pid, b.pid], key=str)
    assert pubsub.get_local_members("chat") == pubsub.get_members("chat")


async def test_join_is_for_live_processes_only(backend: Backend) -> None:
    process.set_current(None)
    with pytest.raises(RuntimeError, match="not a live process"):
        pubsub.join("chat")  # a controller's pid has no mailbox reader
    assert pubsub.get_members("chat") == []


async def test_joining_twice_is_listed_twice_and_leave_removes_one(backend: Backend) -> None:
    a = Member()
    a.as_self()
    pubsub.join("room")
    pubsub.join("room")
    assert pubsub.get_members("room") == [a.pid, a.pid]
    pubsub.broadcast("room", "t", 1)
    assert len(await a.collect(2)) == 2
    assert pubsub.leave("room") is True
    assert pubsub.get_members("room") == [a.pid]
    assert pubsub.leave("room") is True
    assert pubsub.leave("room") is False
    assert pubsub.get_members("room") == []


async def test_an_exiting_process_leaves_every_channel(backend: Backend) -> None:
    a, b = Member(), Member()
    for channel in ("x", "y", "z"):
        pubsub.join(channel, a.pid)
    pubsub.join("x", b.pid)
    a.exit()
    assert pubsub.get_members("x") == [b.pid]
    assert pubsub.get_members("y") == [] and pubsub.get_members("z") == []
    b.as_self()
    pubsub.broadcast("x", "t", "after")
    assert await b.collect(1) == [("nova_pubsub", "x", b.pid, "t", "after")]
    process.send(a.pid, "to the dead")  # sending to a dead pid does nothing


async def test_local_broadcast_and_other_channels(backend: Backend) -> None:
    a, b = Member(), Member()
    pubsub.join("one", a.pid)
    pubsub.join("two", b.pid)
    pubsub.local_broadcast("one", "topic", {"k": 1})
    assert await a.collect(1) == [("nova_pubsub", "one", process.self(), "topic", {"k": 1})]
    assert len(b._mailbox) == 0


async def test_order_is_kept_per_sender_even_from_threads(backend: Backend) -> None:
    a = Member()
    pubsub.join("c", a.pid)

    def sender(name: str) -> None:  # a sync controller in the thread pool
        for i in range(200):
            pubsub.broadcast("c", name, i)

    threads = [threading.Thread(target=sender, args=(n,)) for n in ("s1", "s2")]
    for t in threads:
        t.start()
    for t in threads:
        await asyncio.to_thread(t.join)
    got = await a.collect(400)
    for name in ("s1", "s2"):
        assert [m[4] for m in got if m[3] == name] == list(range(200))  # type: ignore[index]


async def test_a_full_mailbox_reports_overflow_instead_of_growing(backend: Backend) -> None:
    a = Member(max_messages=3, max_bytes=1000)
    pubsub.join("c", a.pid)
    for i in range(5):
        pubsub.broadcast("c", "t", i)
    assert a.overflows == 2
    assert len(a._mailbox) == 3
    pubsub.broadcast("c", "t", "x" * 2000)  # over the byte bound
    assert a.overflows == 3


@pytest.mark.parametrize(
    ("bad", "where", "what"),
    [
        ({1, 2}, "", "of type set"),
        ({"users": [1, {"a": object()}]}, "['users'][1]['a']", "of type object"),
        ((1, lambda: None), "[1]", "of type function"),
        (2**64, "", "an int of 65 bits"),
        (bytearray(b"x"), "", "of type bytearray"),
    ],
)
async def test_what_cannot_cross_is_a_type_error_at_the_call(
    backend: Backend, bad: Any, where: str, what: str
) -> None:
    """With every backend: an app that works in memory must not break on Redis."""
    a = Member()
    pubsub.join("chat", a.pid)
    a.as_self()
    for call, name in [
        (pubsub.broadcast, "broadcast"),
        (pubsub.local_broadcast, "local_broadcast"),
    ]:
        with pytest.raises(TypeError, match=re.escape(f"pubsub.{name} payload{where} is {what}")):
            call("chat", "t", bad)
        with pytest.raises(TypeError, match=re.escape(f"pubsub.{name} topic{where} is {what}")):
            call("chat", bad, "x")
    for pid in (a.pid, process.Pid("elsewhere@1", 1)):
        with pytest.raises(TypeError, match=re.escape(f"process.send message{where} is {what}")):
            process.send(pid, bad)
    with pytest.raises(TypeError, match="pubsub.broadcast channel is of type frozenset"):
        pubsub.broadcast(frozenset({"chat"}), "t", "x")
    with pytest.raises(TypeError, match="pubsub.join channel is of type frozenset"):
        pubsub.join(frozenset({"chat"}), a.pid)
    assert len(a._mailbox) == 0 and pubsub.get_members(frozenset({"chat"})) == []
    pubsub.broadcast("chat", ("t",), [b"ok", (1.5, None, a.pid), {("k", 1): True}])
    assert await a.collect(1) == [
        ("nova_pubsub", "chat", a.pid, ("t",), [b"ok", (1.5, None, a.pid), {("k", 1): True}])
    ]


async def test_send_and_self() -> None:
    a = Member()
    a.as_self()
    assert process.self() == a.pid
    process.send(a.pid, "hello")
    assert await a.collect(1) == ["hello"]
    await asyncio.to_thread(process.send, a.pid, "from a thread")
    assert await a.collect(1) == ["from a thread"]
    with pytest.raises(TypeError):
        process.send("not a pid", 1)  # type: ignore[arg-type]


def test_pids_are_opaque_hashable_printable_and_round_trip() -> None:
    pid = process.new_pid()
    assert str(pid).startswith("<") and str(pid).endswith(">")
    assert {pid: 1}[process.Pid.decode(pid.encode())] == 1
    assert pid.is_local and not process.Pid("elsewhere@1", 1).is_local


FORK = """
import os
from nova_cli import process

parent = process.self().node  # named before the fork, as at import
read, write = os.pipe()
child = os.fork()
if child == 0:
    os.write(write, f"{process.self().node} {process.new_pid().node}".encode())
    os._exit(0)
os.waitpid(child, 0)
print(parent, os.read(read, 1000).decode(), process.self().node)
"""


def test_a_forked_child_is_another_node() -> None:
    """As in a worker that gunicorn --preload forks after importing the app."""
    run = subprocess.run([sys.executable, "-c", FORK], capture_output=True, text=True, timeout=60)
    assert run.returncode == 0, run.stderr
    parent, child_self, child_new, parent_after = run.stdout.split()
    assert child_self == child_new != parent == parent_after


def test_the_node_is_fixed_for_the_serving_process(monkeypatch: pytest.MonkeyPatch) -> None:
    from nova_cli import pid

    name = process.node()
    monkeypatch.setattr(pid, "_name", name)  # restored after the test
    assert process.fix_node() == name == process.node()  # made here: kept
    monkeypatch.setattr(pid, "_owner", -1)  # made in another OS process (a fork from C)
    assert process.fix_node() != name
    assert process.node() == process.fix_node()


async def test_put_when_room_waits_instead_of_overflowing() -> None:
    a = Member(max_messages=2)
    await a.put_when_room(1, "f1")
    await a.put_when_room(1, "f2")
    third = asyncio.create_task(a.put_when_room(1, "f3"))
    await asyncio.sleep(0.01)
    assert not third.done() and a.overflows == 0
    assert await a.receive() == (1, "f1")
    await asyncio.wait_for(third, 5)
    assert [await a.receive(), await a.receive()] == [(1, "f2"), (1, "f3")]


def test_the_backend_comes_from_the_pubsub_url() -> None:
    assert isinstance(pubsub.PubSub.from_url(None).backend, MemoryBackend)
    assert isinstance(pubsub.PubSub.from_url("memory://").backend, MemoryBackend)
    assert isinstance(pubsub.PubSub.from_url("redis://127.0.0.1:1/0").backend, RedisBackend)
    with pytest.raises(ValueError, match="no pub/sub backend for 'nats'"):
        pubsub.PubSub.from_url("nats://127.0.0.1:4222")


def test_a_redis_url_without_the_client_is_one_clear_error(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import importlib.util

    real = importlib.util.find_spec
    monkeypatch.setattr(
        importlib.util, "find_spec", lambda name, *a: None if name == "redis" else real(name, *a)
    )
    with pytest.raises(ValueError, match=r"pip install 'nova-web\[redis\]'"):
        pubsub.PubSub.from_url("redis://127.0.0.1:6379/0")
