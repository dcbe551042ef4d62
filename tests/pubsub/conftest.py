"""Fixtures of the pub/sub suites: real redis-servers, and a pub/sub made the current one."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from nova_cli import pubsub
from nova_cli.pubsub.backends.redis import RedisBackend
from tests.support.redis import RedisServer, redis_server


@pytest.fixture(scope="module")
def redis_url() -> Iterator[str]:
    """One redis-server for the module's tests that only need its URL."""
    with redis_server() as server:
        yield server.url


@pytest.fixture
def server() -> Iterator[RedisServer]:
    """A redis-server of the test's own, to kill, pause or restart."""
    with redis_server() as running:
        yield running


def current(monkeypatch: pytest.MonkeyPatch, kind: str, url: str = "") -> pubsub.PubSub:
    """A fresh pub/sub (`memory`, or `redis` at `url`), made the one outside any app.

    Outside any app, the module's functions act on this fall-back.
    """
    chosen = pubsub.PubSub(RedisBackend, url) if kind == "redis" else pubsub.PubSub()
    monkeypatch.setattr(pubsub, "_default", chosen)
    monkeypatch.setattr(pubsub, "_latest", None)
    return chosen
