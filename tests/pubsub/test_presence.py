"""The presence contract, run against every backend (one node; several: test_presence_nodes)."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import AsyncIterator
from typing import Any

import pytest

from nova_cli import presence, process, pubsub
from nova_cli.presence import REF
from tests.pubsub.conftest import current
from tests.pubsub.test_pubsub import Member


@pytest.fixture(params=["memory", "redis"])
async def app_pubsub(
    request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch
) -> AsyncIterator[pubsub.PubSub]:
    """A fresh, started pub/sub, the current one for the test."""
    url = request.getfixturevalue("redis_url") if request.param == "redis" else ""
    chosen = current(monkeypatch, request.param, url)
    await pubsub.start(chosen)
    yield chosen
    await pubsub.stop(chosen)


class Watcher(Member):
    """A member of the channel that folds the presence diffs it receives into a list."""

    def __init__(self, channel: str) -> None:
        super().__init__()
        self.channel = channel
        self.diffs: list[dict[str, Any]] = []
        self.online: dict[Any, dict[str, dict[str, Any]]] = {}  # key: {ref: meta}
        pubsub.join(channel, self.pid)

    def apply(self, diff: dict[str, Any]) -> None:
        """As a client does: remove the leaves by their ref, then add the joins."""
        self.diffs.append(diff)
        for key, metas in diff["leaves"].items():
            for meta in metas:
                self.online.get(key, {}).pop(meta[REF], None)
                if not self.online.get(key, True):
                    del self.online[key]
        for key, metas in diff["joins"].items():
            for meta in metas:
                self.online.setdefault(key, {})[meta[REF]] = meta

    async def until(self, expected: dict[Any, list[dict[str, Any]]], timeout: float = 5) -> None:
        """Receive diffs until the folded list equals `expected` (metas without refs)."""
        deadline = asyncio.get_running_loop().time() + timeout
        while self.view() != _sorted(expected):
            left = deadline - asyncio.get_running_loop().time()
            assert left > 0, f"{self.view()} never became {_sorted(expected)}"
            kind, message = await asyncio.wait_for(self.receive(), left)
            match message:
                case ("nova_presence", self.channel, diff):
                    self.apply(diff)

    def view(self) -> dict[Any, list[dict[str, Any]]]:
        return _sorted({k: list(by_ref.values()) for k, by_ref in self.online.items()})


def _sorted(listed: dict[Any, list[dict[str, Any]]]) -> dict[Any, list[dict[str, Any]]]:
    """Metas without their refs, in a stable order, to compare lists."""
    return {
        key: sorted(({k: v for k, v in m.items() if k != REF} for m in metas), key=repr)
        for key, metas in listed.items()
    }


async def test_track_update_untrack_reach_list_and_members(app_pubsub: pubsub.PubSub) -> None:
    watcher = Watcher("room")
    alice, bob = Member(), Member()
    presence.track("room", "alice", {"device": "phone"}, alice.pid)
    presence.track("room", "bob", pid=bob.pid)
    assert _sorted(presence.list("room")) == {"alice": [{"device": "phone"}], "bob": [{}]}
    await watcher.until({"alice": [{"device": "phone"}], "bob": [{}]})

    presence.update("room", "alice", {"device": "laptop"}, alice.pid)
    await watcher.until({"alice": [{"device": "laptop"}], "bob": [{}]})
    assert watcher.diffs[-1] == {
        "joins": {"alice": [{"device": "laptop", REF: alice.pid.encode()}]},
        "leaves": {"alice": [{"device": "phone", REF: alice.pid.encode()}]},
    }
    assert presence.untrack("room", "bob", bob.pid) is True
    assert presence.untrack("room", "bob", bob.pid) is False
    await watcher.until({"alice": [{"device": "laptop"}]})
    assert presence.list("other room") == {}


async def test_one_key_several_processes_and_exit_untracks(app_pubsub: pubsub.PubSub) -> None:
    watcher = Watcher("room")
    tabs = [Member() for _ in range(3)]
    for n, tab in enumerate(tabs):
        presence.track("room", "alice", {"tab": n}, tab.pid)
    presence.track("lobby", "alice", {}, tabs[0].pid)
    assert _sorted(presence.list("room")) == {"alice": [{"tab": 0}, {"tab": 1}, {"tab": 2}]}
    await watcher.until({"alice": [{"tab": 0}, {"tab": 1}, {"tab": 2}]})
    tabs[0].exit()  # a connection that closes, for any reason
    await watcher.until({"alice": [{"tab": 1}, {"tab": 2}]})
    assert presence.list("lobby") == {}
    assert watcher.diffs[-1]["leaves"] == {"alice": [{"tab": 0, REF: tabs[0].pid.encode()}]}


async def test_diffs_are_batched_and_net(app_pubsub: pubsub.PubSub) -> None:
    app_pubsub.presence.interval = 0.3
    watcher = Watcher("room")
    members = [Member() for _ in range(200)]
    for n, member in enumerate(members):
        presence.track("room", n, {}, member.pid)
    flash = Member()
    presence.track("room", "flash", {}, flash.pid)  # in and out within one interval
    presence.untrack("room", "flash", flash.pid)
    await watcher.until({n: [{}] for n in range(200)})
    # 200 joins in one interval: one message (two if the interval ended midway).
    assert len(watcher.diffs) <= 2
    assert all("flash" not in d["joins"] and "flash" not in d["leaves"] for d in watcher.diffs)


async def test_tracking_twice_and_updating_the_untracked_are_errors(
    app_pubsub: pubsub.PubSub,
) -> None:
    a = Member()
    a.as_self()
    presence.track("room", "alice")
    with pytest.raises(ValueError, match="already tracks 'alice' in 'room'; use presence.update"):
        presence.track("room", "alice", {"again": True})
    with pytest.raises(ValueError, match="does not track 'bob' in 'room'; track it first"):
        presence.update("room", "bob", {})
    presence.track("room", "bob")  # another key of the same process is another entry
    assert sorted(presence.list("room")) == ["alice", "bob"]


async def test_what_cannot_cross_is_refused_at_the_call(app_pubsub: pubsub.PubSub) -> None:
    process.set_current(None)
    with pytest.raises(RuntimeError, match="not a live process of this worker"):
        presence.track("room", "alice")  # a controller's request is no process
    a = Member()
    a.as_self()
    with pytest.raises(TypeError, match="presence.track meta must be a dict, not list"):
        presence.track("room", "alice", [1])  # type: ignore[arg-type]
    with pytest.raises(TypeError, match=r"presence.track meta\['at'\] is of type set"):
        presence.track("room", "alice", {"at": {1}})
    with pytest.raises(TypeError, match="presence.track key is of type frozenset"):
        presence.track("room", frozenset({"alice"}))
    with pytest.raises(ValueError, match="may not hold 'nova_ref'"):
        presence.track("room", "alice", {REF: "mine"})
    assert presence.list("room") == {}


async def test_tracking_from_threads(app_pubsub: pubsub.PubSub) -> None:
    """Sync callbacks may run in the thread pool (`sync_callbacks = "thread"`)."""
    watcher = Watcher("room")
    members = [Member() for _ in range(20)]

    def track(some: list[Member]) -> None:
        for member in some:
            presence.track("room", member.pid.id, {}, member.pid)

    threads = [threading.Thread(target=track, args=(members[i::2],)) for i in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        await asyncio.to_thread(t.join)
    await watcher.until({m.pid.id: [{}] for m in members})


async def test_each_app_has_its_own_presence(app_pubsub: pubsub.PubSub) -> None:
    other = pubsub.PubSub()
    a = Member()
    presence.track("room", "alice", {}, a.pid)
    token = pubsub.activate(other)
    try:
        assert presence.list("room") == {}
    finally:
        pubsub.deactivate(token)
    assert list(presence.list("room")) == ["alice"]
