"""Waiting on a condition with a deadline, and a clean environment for servers."""

from __future__ import annotations

import os
import time
from collections.abc import Callable


def wait_for(condition: Callable[[], object], timeout: float = 30.0) -> float:
    """Poll `condition` until it is true; return how long it took (fails at the deadline)."""
    started = time.monotonic()
    while not condition():
        if time.monotonic() - started > timeout:
            raise AssertionError(f"condition not met within {timeout} s")
        time.sleep(0.05)
    return time.monotonic() - started


def quiet_env(**extra: str) -> dict[str, str]:
    """The test's environment without the NOVA_* and colour variables it may carry."""
    drop = ("NOVA_", "NO_COLOR", "FORCE_COLOR")
    env = {k: v for k, v in os.environ.items() if not k.startswith(drop)}
    return {**env, **extra}
