"""The supervisor's decisions: where a change goes, bursts, blue/green restarts."""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest

from nova_cli.devserver.problems import Problem
from nova_cli.devserver.supervisor import (
    BURST_WINDOW,
    QUIET,
    SERVICE_RESTART,
    DevOptions,
    Supervisor,
)
from nova_cli.devserver.watcher import Batch, WatchScope


class FakeWorker:
    def __init__(self, pid: int) -> None:
        self.pid = pid
        self.sent: list[dict[str, Any]] = []
        self.stopping = False
        self.ready = self.ok = False
        self.started = 0.0

    def send(self, message: dict[str, Any]) -> None:
        self.sent.append(message)


@pytest.fixture
def sup(tmp_path: Path) -> Supervisor:
    root = tmp_path / "proj"
    (root / "myapp" / "views").mkdir(parents=True)
    config = SimpleNamespace(root=root, host="127.0.0.1", port=0, environment="dev")
    supervisor = Supervisor(config, DevOptions(), root / "myapp")
    supervisor.watcher = SimpleNamespace(scope=WatchScope(root, root / "myapp"))
    supervisor.current = FakeWorker(1)
    supervisor.restarts = []
    supervisor.stopped = []
    supervisor._restart = supervisor.restarts.append
    supervisor._stop_worker = lambda w, code: supervisor.stopped.append((w.pid, code))
    return supervisor


def batch(root: Path, *paths: str) -> Batch:
    made = Batch()
    for path in paths:
        made.add(root / path, True)
    return made


def test_code_and_assets_go_to_the_worker(sup: Supervisor) -> None:
    root = sup.root
    sup._on_batch(
        batch(root, "myapp/router.py", "myapp/views/main.html", "myapp/app.css", "README.md")
    )
    assert sup.current.sent == [
        {
            "op": "changes",
            "code": [str(root / "myapp/router.py")],
            "css": [str(root / "myapp/app.css")],
            "assets": [str(root / "myapp/views/main.html")],
        }
    ]
    assert sup.restarts == []


def test_configuration_changes_restart_and_pending_restarts_take_code(sup: Supervisor) -> None:
    sup._on_batch(batch(sup.root, "pyproject.toml", "myapp/router.py"))
    assert sup.restarts == ["pyproject.toml changed"]
    assert sup.current.sent == []  # the new worker loads the code

    sup.restart_pending = True  # the last restart failed: the next code change retries it
    sup._on_batch(batch(sup.root, "myapp/router.py"))
    assert sup.restarts[-1] == "myapp/router.py changed"


def test_a_burst_is_held_until_it_is_quiet(
    sup: Supervisor, monkeypatch: pytest.MonkeyPatch
) -> None:
    clock = [100.0]
    monkeypatch.setattr("nova_cli.devserver.supervisor.time.monotonic", lambda: clock[0])
    sent = sup.current.sent
    sup._coalesce(batch(sup.root, "myapp/a.py"))
    assert len(sent) == 1  # a lone change goes at once
    for i in range(10):  # then a burst, a change every 20 ms
        clock[0] += 0.02
        sup._coalesce(batch(sup.root, f"myapp/m{i}.py"))
        sup._release(clock[0])
    assert len(sent) == 1
    sup._release(clock[0] + QUIET - 0.01)
    assert len(sent) == 1
    sup._release(clock[0] + QUIET)
    assert len(sent) == 2 and len(sent[1]["code"]) == 10
    clock[0] += BURST_WINDOW + QUIET
    sup._coalesce(batch(sup.root, "myapp/b.py"))
    assert len(sent) == 3


def test_blue_green_hands_over_to_a_good_worker_and_keeps_the_old_one_otherwise(
    sup: Supervisor,
) -> None:
    old, new = sup.current, FakeWorker(2)
    sup.next = new
    sup._on_message(new, {"op": "loaded", "ok": True, "problem": None})
    assert (sup.current, sup.next) == (new, None)
    assert sup.stopped == [(1, SERVICE_RESTART)]
    assert new.sent == []  # not before the old worker stopped accepting
    sup._on_message(old, {"op": "closed"})
    assert new.sent == [{"op": "serve"}]

    broken = FakeWorker(3)
    sup.next = broken
    problem = Problem("ConfigError", "unknown key", "pyproject.toml")
    sup._on_message(broken, {"op": "loaded", "ok": False, "problem": problem.to_dict()})
    assert sup.current is new and sup.next is None and sup.restart_pending
    assert sup.stopped[-1] == (3, SERVICE_RESTART)
    assert broken.sent == []  # it never serves
    assert new.sent[-1] == {"op": "problem", "problem": problem.to_dict()}


def test_a_handover_does_not_wait_forever_for_the_old_worker(sup: Supervisor) -> None:
    new = FakeWorker(2)
    sup.next = new
    sup._on_message(new, {"op": "loaded", "ok": True, "problem": None})
    assert sup._handover is not None
    deadline = sup._handover[2]
    sup._tick(deadline - 0.01)
    assert new.sent == []
    sup._tick(deadline)
    assert new.sent == [{"op": "serve"}] and sup._handover is None


def test_a_worker_that_resets_its_control_channel_is_an_exit_not_a_traceback(
    sup: Supervisor,
) -> None:
    import socket

    ours, theirs = socket.socketpair()
    ours.sendall(b'{"op": "stop"}\n')  # never read: closing now resets the channel
    theirs.close()
    worker = SimpleNamespace(control=ours)
    sup._read(worker)  # type: ignore[arg-type]  # raised ConnectionResetError in its thread
    assert sup.events.get_nowait() == ("exited", worker)
    ours.close()
