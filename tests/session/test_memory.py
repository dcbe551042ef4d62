"""The memory backend: dead sessions do not pile up, and each app has its own."""

from __future__ import annotations

import asyncio

from starlette.testclient import TestClient

from nova_cli.session.backends.memory import SWEEP, MemoryBackend
from tests.runtime.conftest import Apps
from tests.session.conftest import Clock, session_root


def test_saves_sweep_the_dead_sessions_so_memory_stays_bounded() -> None:
    clock = Clock()
    memory = MemoryBackend(clock)

    async def fill() -> None:
        for n in range(1000):
            await memory.save(f"old{n}", {"n": n}, ttl=60)
        clock.advance(61)  # all 1,000 are dead now
        for n in range(1000 // (SWEEP - 1) + 1):
            await memory.save(f"new{n}", {"n": n}, ttl=60)

    asyncio.run(fill())
    assert all(sid.startswith("new") for sid in memory.records)


def test_the_sweep_stops_at_the_first_live_session() -> None:
    clock = Clock()
    memory = MemoryBackend(clock)

    async def fill() -> None:
        await memory.save("a", {}, ttl=10)
        await memory.save("b", {}, ttl=100)
        clock.advance(50)
        await memory.save("c", {}, ttl=100)
        assert await memory.load("a") is None and await memory.load("b") == {}

    asyncio.run(fill())
    assert list(memory.records) == ["b", "c"]


def test_a_resaved_session_moves_to_the_end() -> None:
    memory = MemoryBackend(Clock())

    async def fill() -> None:
        await memory.save("a", {}, ttl=10)
        await memory.save("b", {}, ttl=10)
        await memory.save("a", {"again": True}, ttl=10)

    asyncio.run(fill())
    assert list(memory.records) == ["b", "a"]


def test_two_apps_share_no_session(apps: Apps) -> None:
    root = session_root(apps)
    one = TestClient(apps.app(root, environment="dev"))
    other = TestClient(apps.app(root, environment="dev"))
    response = one.get("/put?user=alice")
    sid = response.cookies["session_id"]
    headers = {"cookie": f"session_id={sid}"}
    one.cookies.clear()
    assert one.get("/show", headers=headers).json() == {"user": "alice"}
    assert other.get("/show", headers=headers).json() == {}
