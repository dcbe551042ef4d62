"""`exit_with_parent`: a worker gets SIGTERM when its parent dies, however it dies.

Each test runs a real three-generation family: the test starts a parent
process, which starts a child that calls `exit_with_parent`; the parent is
then SIGKILLed and the child must notice.  The child's SIGTERM handler writes
a file, so the test sees that it was asked to stop (not killed) and by what.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.servers import kill, wait_dead

CHILD = """
import signal, sys, time
from pathlib import Path
from nova_cli.runtime import parentdeath

out = Path(sys.argv[1])

def on_term(signum, frame):
    out.write_text("SIGTERM")
    sys.exit(0)

signal.signal(signal.SIGTERM, on_term)
if sys.argv[3] == "polling":  # as where prctl does not exist
    parentdeath._kernel_signals_parent_death = lambda signum: False
    parentdeath.POLL_SECONDS = 0.05
parentdeath.exit_with_parent(int(sys.argv[2]))
out.with_suffix(".ready").write_text("ready")
time.sleep(60)
"""

PARENT = """
import os, subprocess, sys, time
code, out, how = sys.argv[1:]
child = subprocess.Popen([sys.executable, "-c", code, out, str(os.getpid()), how])
print(child.pid, flush=True)
time.sleep(60)
"""


@pytest.fixture
def orphans() -> Iterator[set[int]]:
    """Pids of grandchildren to kill after the test if they outlived it."""
    pids: set[int] = set()
    yield pids
    kill(pids)


def wait_for(path: Path, timeout: float = 15.0) -> str:
    deadline = time.monotonic() + timeout
    while not path.exists():
        assert time.monotonic() < deadline, f"{path.name} never written"
        time.sleep(0.02)
    return path.read_text()


@pytest.mark.parametrize("how", ["kernel", "polling"])
def test_the_child_gets_sigterm_when_its_parent_is_killed(
    tmp_path: Path, orphans: set[int], how: str
) -> None:
    out = tmp_path / "child.out"
    parent = subprocess.Popen(
        [sys.executable, "-c", PARENT, CHILD, str(out), how], stdout=subprocess.PIPE
    )
    assert parent.stdout is not None
    try:
        child = int(parent.stdout.readline())
        orphans.add(child)
        wait_for(out.with_suffix(".ready"))
        assert not out.exists()  # nothing happens while the parent lives
        parent.kill()
        assert wait_for(out) == "SIGTERM"
        assert wait_dead({child}, timeout=15) == set()
    finally:
        parent.kill()
        parent.wait()
        parent.stdout.close()


def test_a_parent_that_died_before_the_call_is_noticed(tmp_path: Path) -> None:
    out = tmp_path / "child.out"
    not_the_parent = os.getppid()  # the child's parent is this process
    child = subprocess.run(
        [sys.executable, "-c", CHILD, str(out), str(not_the_parent), "kernel"], timeout=30
    )
    assert child.returncode == 0
    assert out.read_text() == "SIGTERM"
    assert not out.with_suffix(".ready").exists()  # it never went on to serve


def test_nothing_happens_while_the_parent_lives(tmp_path: Path) -> None:
    out = tmp_path / "child.out"
    child = subprocess.Popen([sys.executable, "-c", CHILD, str(out), str(os.getpid()), "kernel"])
    try:
        wait_for(out.with_suffix(".ready"))
        assert child.poll() is None and not out.exists()
    finally:
        child.send_signal(signal.SIGKILL)
        child.wait()
