"""The Redis backend: keys that expire by themselves, and an outage that is a quick 503."""

from __future__ import annotations

import contextlib
import logging
import time

import pytest
from starlette.testclient import TestClient

from nova_cli.session.backends.redis import PREFIX, TIMEOUT
from tests.runtime.conftest import Apps
from tests.session.conftest import session_root
from tests.support.redis import RedisServer
from tests.support.waiting import wait_for


def test_a_session_key_expires_at_the_sooner_deadline(apps: Apps, redis: RedisServer) -> None:
    app = apps.app(
        session_root(apps),
        environment="dev",
        pubsub=redis.url,
        session_idle_timeout=30,
        session_absolute_timeout=20,
    )
    with TestClient(app) as client:
        sid = client.get("/put?user=alice").cookies["session_id"]
    with contextlib.closing(redis.client()) as raw:
        assert 19_000 < raw.pttl(PREFIX + sid) <= 20_000
        assert raw.keys(PREFIX + "*") == [(PREFIX + sid).encode()]


def test_a_dead_redis_is_a_quick_503_logged_once_then_it_recovers(
    apps: Apps, redis: RedisServer, caplog: pytest.LogCaptureFixture
) -> None:
    app = apps.app(session_root(apps), environment="prod", session_secure=False, pubsub=redis.url)
    with TestClient(app) as client:
        sid = client.get("/put?user=alice").cookies["session_id"]
        headers = {"cookie": f"session_id={sid}", "accept": "application/json"}
        client.cookies.clear()
        redis.crash()
        for _ in range(3):
            started = time.monotonic()
            response = client.get("/show", headers=headers)
            assert time.monotonic() - started < TIMEOUT + 1
            assert response.status_code == 503
            assert response.headers["retry-after"] == "1"
            assert response.json() == {
                "status": 503,
                "error": "service_unavailable",
                "message": "The server could not handle this request.",
            }
        # A request without a session does not need the store.
        assert client.get("/nothing").status_code == 200
        said = [r for r in caplog.records if r.name == "nova_cli.session"]
        unreachable = [r for r in said if "unreachable" in r.getMessage()]
        assert len(unreachable) == 1 and unreachable[0].levelno == logging.ERROR
        redis.start()  # the same port, empty: the session is gone, the store works again
        wait_for(lambda: client.get("/show", headers=headers).status_code == 200, timeout=15)
        assert client.get("/show", headers=headers).json() == {}
        assert "session store: Redis at" in caplog.text and "is back" in caplog.text


def test_a_hung_redis_is_a_503_within_the_timeout(apps: Apps, redis: RedisServer) -> None:
    app = apps.app(session_root(apps), environment="dev", pubsub=redis.url)
    with TestClient(app) as client:
        sid = client.get("/put?user=alice").cookies["session_id"]
        client.cookies.clear()
        redis.pause()
        try:
            started = time.monotonic()
            response = client.get("/show", headers={"cookie": f"session_id={sid}"})
            assert response.status_code == 503
            assert TIMEOUT - 0.5 < time.monotonic() - started < TIMEOUT + 2
        finally:
            redis.resume()
