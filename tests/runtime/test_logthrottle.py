"""ThrottledLog: one line per interval, the held-back ones counted in the next."""

from __future__ import annotations

import logging

import pytest

from nova_cli.runtime.logthrottle import ThrottledLog


def test_one_line_per_interval_and_the_count_of_the_others(
    caplog: pytest.LogCaptureFixture,
) -> None:
    now = [100.0]
    log = ThrottledLog(logging.getLogger("test.throttle"), interval=5.0, clock=lambda: now[0])
    with caplog.at_level(logging.INFO, "test.throttle"):
        assert log.log(logging.WARNING, "dropped %s", "a")
        for step in (1.0, 2.0, 4.9):
            now[0] = 100.0 + step
            assert not log.log(logging.WARNING, "dropped %s", "b")
        now[0] = 106.0
        assert log.log(logging.INFO, "dropped %s", "c")
        now[0] = 112.0
        assert log.log(logging.INFO, "dropped %s", "d")
    assert [(r.levelno, r.getMessage()) for r in caplog.records] == [
        (logging.WARNING, "dropped a"),
        (logging.INFO, "dropped c (and 3 more like it in the last 6 s)"),
        (logging.INFO, "dropped d"),
    ]
