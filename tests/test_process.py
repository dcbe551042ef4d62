"""The process model: exit hooks, and pub/sub membership racing a process's exit."""

from __future__ import annotations

import asyncio
import threading

import pytest

from nova_cli import process, pubsub


class Idle(process.Process):
    """A process nobody reads: enough for registry and membership."""


async def test_a_failing_exit_hook_does_not_stop_the_others(
    caplog: pytest.LogCaptureFixture,
) -> None:
    proc = Idle()
    proc.register()
    seen: list[str] = []

    def bad(pid: process.Pid) -> None:
        raise RuntimeError("hook failed")

    proc.on_exit(bad)
    proc.on_exit(lambda pid: seen.append("second"))
    proc.exit()
    assert seen == ["second"]
    assert "hook failed" in caplog.text
    assert not process.is_alive(proc.pid)


async def test_a_hook_added_after_exit_runs_at_once() -> None:
    proc = Idle()
    proc.register()
    proc.exit()
    seen: list[process.Pid] = []
    proc.on_exit(seen.append)
    assert seen == [proc.pid]


async def test_a_join_that_races_the_exit_leaves_no_member(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The process exits between join's lookup and its record: as a thread would race it."""
    proc = Idle()
    proc.register()
    hub = pubsub.current().hub
    record = hub.join

    def exit_then_record(channel: object, pid: process.Pid) -> bool:
        proc.exit()  # the connection ends on its loop right now
        return record(channel, pid)

    monkeypatch.setattr(hub, "join", exit_then_record)
    pubsub.join("race", proc.pid)
    assert pubsub.get_local_members("race") == []


async def test_joins_from_threads_never_outlive_their_processes() -> None:
    procs = [Idle() for _ in range(200)]
    for proc in procs:
        proc.register()
    barrier = threading.Barrier(2)

    def joiner() -> None:
        barrier.wait()
        for proc in procs:
            try:
                pubsub.join("thread-race", proc.pid)
            except RuntimeError:
                pass  # already gone: a refused join is fine, a stale one is not

    thread = threading.Thread(target=joiner)
    thread.start()
    barrier.wait()
    for proc in procs:
        proc.exit()
        await asyncio.sleep(0)
    thread.join()
    assert pubsub.get_local_members("thread-race") == []
