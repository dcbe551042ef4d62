"""A tiny app whose routes read and write the session, served in process over each backend."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from starlette.testclient import TestClient

from nova_cli.session.backends.memory import MemoryBackend
from tests.runtime.conftest import Apps, apps  # noqa: F401 - the fixture, for this suite too
from tests.support.redis import RedisServer, redis_server

CONTROLLERS = """
from nova_cli import session


def put(req):
    for key, value in req.query.items():
        session.set(req, key, value)
    return ("json", dict(req.session))


def show(req):
    return ("json", dict(req.session))


def read_your_writes(req):
    session.set(req, "seen", session.get(req, "seen", 0) + 1)
    return ("json", {"seen": session.get(req, "seen")})


def forget(req):
    session.delete(req, req.query["key"])
    return ("json", dict(req.session))


def logout(req):
    session.delete(req)
    return ("status", 204)


def login(req):
    session.rotate(req)
    session.set(req, "user", "alice")
    return ("status", 204)


def rotate(req):
    session.rotate(req)
    return ("status", 204)


def cart(req):
    req.session.setdefault("cart", []).append(req.query["item"])
    return ("status", 204)


def bad(req):
    req.session["tags"] = {"a", "b"}
    return ("status", 204)


def nothing(req):
    return ("json", {})
"""

ROUTER = """
from tinyapp.controllers import sess


def routes(environment):
    get = {"methods": ["get"]}
    return [
        {
            "routes": [
                ("/put", sess.put, get),
                ("/show", sess.show, get),
                ("/ryw", sess.read_your_writes, get),
                ("/forget", sess.forget, get),
                ("/logout", sess.logout, get),
                ("/login", sess.login, get),
                ("/rotate", sess.rotate, get),
                ("/cart", sess.cart, get),
                ("/bad", sess.bad, get),
                ("/nothing", sess.nothing, get),
            ]
        }
    ]
"""


class Clock:
    """A wall clock the test moves by hand."""

    def __init__(self) -> None:
        self.now = 1_800_000_000.0

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


def session_root(apps: Apps) -> Path:  # noqa: F811 - the fixture's type
    return apps.write(
        {"controllers/__init__.py": "", "controllers/sess.py": CONTROLLERS, "router.py": ROUTER}
    )


@pytest.fixture(scope="module")
def redis_url() -> Iterator[str]:
    with redis_server() as server:
        yield server.url


@pytest.fixture
def redis() -> Iterator[RedisServer]:
    """A redis-server of this test's own, free to kill."""
    with redis_server() as server:
        yield server


@pytest.fixture(params=["memory", "redis"])
def backend(request: pytest.FixtureRequest) -> dict[str, Any]:
    """The settings of each backend (Redis: a real redis-server, shared by the module)."""
    if request.param == "memory":
        return {}
    return {"pubsub": request.getfixturevalue("redis_url")}


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def client(apps: Apps, backend: dict[str, Any], clock: Clock) -> Iterator[TestClient]:  # noqa: F811
    """The session app in dev (cookies without Secure, over http), on a clock of the test's."""
    app = apps.app(session_root(apps), environment="dev", **backend)
    use_clock(app, clock)
    with TestClient(app, follow_redirects=False) as test_client:
        yield test_client


def use_clock(app: Any, clock: Clock) -> None:
    store = app.router.sessions
    store.clock = clock
    if isinstance(store.backend, MemoryBackend):
        store.backend.clock = clock
