"""Presence across nodes on a real redis-server: this test process is one node, and
`tests/support/presence_node.py`, in an OS process of its own, is another."""

from __future__ import annotations

import asyncio
import json
import os
import sys
import time
from collections.abc import AsyncIterator
from typing import Any

import pytest

from nova_cli import presence, pubsub
from nova_cli.pubsub.backends.redis import EXPIRY, HEARTBEAT
from tests.pubsub.conftest import current
from tests.pubsub.test_presence import Watcher, _sorted
from tests.pubsub.test_pubsub import Member
from tests.support.redis import RedisServer

# A node not heard from for EXPIRY is dropped at the next check, HEARTBEAT later at most.
GONE_WITHIN = EXPIRY + HEARTBEAT


@pytest.fixture
async def here(server: RedisServer, monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[str]:
    """This test process as a node on `server`; yields its node name."""
    chosen = current(monkeypatch, "redis", server.url)
    await pubsub.start(chosen)
    yield chosen.backend.node  # type: ignore[attr-defined]
    await pubsub.stop(chosen)


class Node:
    """The other node's OS process, driven through its stdin."""

    def __init__(self, proc: asyncio.subprocess.Process, name: str) -> None:
        self.proc = proc
        self.name = name

    @classmethod
    async def start(cls, url: str) -> Node:
        proc = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "tests.support.presence_node",
            url,
            stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.PIPE,
            env={**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)},
        )
        ready = await cls._line(proc)
        assert ready.startswith("ready "), ready
        return cls(proc, ready.split()[1])

    @staticmethod
    async def _line(proc: asyncio.subprocess.Process) -> str:
        assert proc.stdout is not None
        return (await asyncio.wait_for(proc.stdout.readline(), 30)).decode().strip()

    async def ask(self, command: str) -> str:
        assert self.proc.stdin is not None
        self.proc.stdin.write(f"{command}\n".encode())
        await self.proc.stdin.drain()
        return await self._line(self.proc)

    async def listed(self, channel: str) -> dict[str, list[dict[str, Any]]]:
        return _sorted(json.loads(await self.ask(f"list {channel}")))

    async def until_listed(self, channel: str, expected: dict[str, Any], timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while (seen := await self.listed(channel)) != expected:
            assert time.monotonic() < deadline, f"node {self.name} lists {seen}, not {expected}"
            await asyncio.sleep(0.1)

    async def end(self) -> None:
        if self.proc.returncode is None:
            self.proc.kill()
        await self.proc.wait()


@pytest.fixture
async def other(server: RedisServer) -> AsyncIterator[Node]:
    node = await Node.start(server.url)
    yield node
    await node.end()


async def test_entries_cross_both_ways_and_a_newcomer_gets_them(
    server: RedisServer, here: str
) -> None:
    watcher = Watcher("room")
    alice = Member()
    presence.track("room", "alice", {"node": here}, alice.pid)
    other = await Node.start(server.url)  # after alice: it learns her from a sync
    try:
        await other.until_listed("room", {"alice": [{"node": here}]}, timeout=10)
        assert await other.ask("track room bob") == "ok"
        both = {"alice": [{"node": here}], "bob": [{"node": other.name}]}
        await watcher.until(both)
        assert _sorted(presence.list("room")) == both
        assert await other.ask("exit bob") == "ok"
        await watcher.until({"alice": [{"node": here}]})
        await other.until_listed("room", {"alice": [{"node": here}]}, timeout=10)
    finally:
        await other.end()


async def test_a_killed_node_leaves_everywhere_within_the_heartbeat_timeout(
    here: str, other: Node
) -> None:
    watcher = Watcher("room")
    keys = [f"user{n}" for n in range(5)]
    for key in keys:
        assert await other.ask(f"track room {key}") == "ok"
    await watcher.until({key: [{"node": other.name}] for key in keys})
    other.proc.kill()  # SIGKILL: no goodbye
    killed = time.monotonic()
    await watcher.until({}, timeout=GONE_WITHIN + 5)
    took = time.monotonic() - killed
    assert took < GONE_WITHIN + 1, f"the killed node's users left after {took:.1f} s"
    assert presence.list("room") == {}


async def test_a_stopped_node_leaves_at_once(here: str, other: Node) -> None:
    watcher = Watcher("room")
    assert await other.ask("track room carol") == "ok"
    await watcher.until({"carol": [{"node": other.name}]})
    other.proc.terminate()  # a clean shutdown says "down": no wait for the heartbeats
    await watcher.until({}, timeout=EXPIRY - 1)


async def test_after_a_redis_restart_nobody_is_lost_or_duplicated(
    server: RedisServer, here: str, other: Node
) -> None:
    watcher = Watcher("room")
    mine = [Member() for _ in range(3)]
    for n, member in enumerate(mine):
        presence.track("room", f"here{n}", {"node": here}, member.pid)
    for n in range(3):
        assert await other.ask(f"track room there{n}") == "ok"
    before = {
        **{f"here{n}": [{"node": here}] for n in range(3)},
        **{f"there{n}": [{"node": other.name}] for n in range(3)},
    }
    await watcher.until(before)

    server.crash()
    # Meanwhile each side changes, and stays apart long enough to drop the other.
    mine[0].exit()
    assert await other.ask("track room there3") == "ok"
    alone = {f"here{n}": [{"node": here}] for n in (1, 2)}
    await watcher.until(alone, timeout=GONE_WITHIN + 5)
    server.start()

    after = {**alone, **{f"there{n}": [{"node": other.name}] for n in range(4)}}
    await watcher.until(after, timeout=20)
    await other.until_listed("room", after, timeout=20)
    assert _sorted(presence.list("room")) == after  # each entry once
