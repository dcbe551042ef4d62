"""Worker processes that stop when the process that started them dies.

A worker serves on a listening socket it shares with its parent.  If the
parent is killed outright (SIGKILL, the OOM killer), nothing tells the
worker: it goes on holding the port, and the next server cannot bind it.
A worker entry point calls `exit_with_parent` first thing; the worker then
gets SIGTERM when its parent dies and shuts down as if it had been asked
(uvicorn's handler: WebSockets closed, `terminate` callbacks run).
"""

from __future__ import annotations

import ctypes
import os
import signal
import sys
import threading
import time

PR_SET_PDEATHSIG = 1  # <linux/prctl.h>
POLL_SECONDS = 1.0


def exit_with_parent(parent_pid: int) -> None:
    """Have SIGTERM sent to this process when its parent, `parent_pid`, dies.

    On Linux the kernel sends it (`prctl(PR_SET_PDEATHSIG)`): at once, with no
    thread, and with nothing the parent has to hand down, so any way of
    starting workers (multiprocessing, subprocess, uvicorn's supervisor) can
    use it.  The kernel watches the parent *thread* that started this process,
    so parents start workers from their main thread.  Elsewhere a thread
    watches for the reparenting that follows the parent's death, every
    POLL_SECONDS (on Windows the parent pid never changes: nothing happens).
    A pipe from the parent would work everywhere, but every parent would have
    to make one and pass it on, which uvicorn's supervisor does not.
    """
    if not _kernel_signals_parent_death(signal.SIGTERM):
        threading.Thread(
            target=_poll_parent, args=(parent_pid,), name="nova-parent-watch", daemon=True
        ).start()
    # The parent may have died before the kernel was asked: then no signal comes.
    if os.getppid() != parent_pid:
        os.kill(os.getpid(), signal.SIGTERM)


def _kernel_signals_parent_death(signum: int) -> bool:
    """Ask Linux to send `signum` when the parent dies; False where it cannot."""
    if not sys.platform.startswith("linux"):
        return False
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        return bool(libc.prctl(PR_SET_PDEATHSIG, signum, 0, 0, 0) == 0)
    except (OSError, AttributeError):  # no libc to load, or no prctl in it
        return False


def _poll_parent(parent_pid: int) -> None:
    while os.getppid() == parent_pid:
        time.sleep(POLL_SECONDS)
    os.kill(os.getpid(), signal.SIGTERM)
