"""The session cookie: its flags in dev and in prod, and its settings."""

from __future__ import annotations

import pytest
from starlette.testclient import TestClient

from nova_cli.core.config import ConfigError
from tests.runtime.conftest import Apps
from tests.session.conftest import session_root


def cookie_of(apps: Apps, **settings: object) -> str:
    client = TestClient(apps.app(session_root(apps), **settings))
    (header,) = client.get("/put?user=alice").headers.get_list("set-cookie")
    return header


def attributes(header: str) -> set[str]:
    return {part.strip() for part in header.split(";")[1:]}


def test_in_dev_the_cookie_is_httponly_lax_and_not_secure(apps: Apps) -> None:
    header = cookie_of(apps, environment="dev")
    assert header.startswith("session_id=")
    assert len(header.split(";")[0]) == len("session_id=") + 43
    assert attributes(header) == {"HttpOnly", "SameSite=Lax", "Path=/", "Max-Age=1209600"}


def test_in_prod_the_cookie_is_secure_too(apps: Apps) -> None:
    header = cookie_of(apps, environment="prod")
    assert attributes(header) == {
        "HttpOnly",
        "SameSite=Lax",
        "Path=/",
        "Max-Age=1209600",
        "Secure",
    }


def test_the_settings_name_the_cookie_its_flag_and_its_lifetime(apps: Apps) -> None:
    header = cookie_of(
        apps,
        environment="prod",
        session_secure=False,
        session_cookie="sid",
        session_absolute_timeout=3600,
    )
    assert header.startswith("sid=")
    assert attributes(header) == {"HttpOnly", "SameSite=Lax", "Path=/", "Max-Age=3600"}


@pytest.mark.parametrize(
    ("settings", "message"),
    [
        ({"session_backend": "file"}, "expected one of memory, redis, got 'file'"),
        ({"session_cookie": "a b"}, "'a b' is not a cookie name"),
        ({"session_idle_timeout": 0}, "expected a positive number, got 0.0"),
        ({"session_backend": "redis"}, 'session_backend = "redis" keeps sessions in the Redis'),
    ],
)
def test_a_bad_session_setting_is_one_line_naming_it(
    apps: Apps, settings: dict[str, object], message: str
) -> None:
    with pytest.raises(ConfigError, match=message):
        apps.app(session_root(apps), **settings)
