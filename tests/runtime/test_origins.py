"""Which browser origins may open a WebSocket."""

from __future__ import annotations

import pytest

from nova_cli.core.config import ConfigError, load_config
from nova_cli.runtime.origins import OriginPolicy


def allows(policy: OriginPolicy, origin: str | None, host: str = "shop.example:8080") -> bool:
    headers = {"host": host}
    if origin is not None:
        headers["origin"] = origin
    return policy.allows(headers)


@pytest.mark.parametrize(
    ("origin", "host"),
    [
        ("http://shop.example:8080", "shop.example:8080"),
        ("https://shop.example", "shop.example"),
        ("https://shop.example:443", "shop.example"),
        ("http://SHOP.example", "shop.example:80"),
    ],
)
def test_the_requests_own_host_is_allowed(origin: str, host: str) -> None:
    assert allows(OriginPolicy(), origin, host)


@pytest.mark.parametrize(
    "origin",
    [
        "http://evil.example",
        "http://shop.example",  # another port
        "https://shop.example:8080.evil.example",
        "null",
        "file://",
        "garbage",
        "http://localhost:3000",  # localhost only in dev
    ],
)
def test_other_origins_are_refused(origin: str) -> None:
    assert not allows(OriginPolicy(), origin)


def test_a_client_without_origin_is_not_a_browser_and_is_allowed() -> None:
    assert allows(OriginPolicy(), None)


def test_listed_origins_and_wildcards() -> None:
    policy = OriginPolicy(["https://app.example.com", "https://*.cdn.example"])
    assert allows(policy, "https://app.example.com")
    assert allows(policy, "https://a.b.cdn.example")
    assert not allows(policy, "http://app.example.com")  # scheme matters
    assert not allows(policy, "https://cdn.example")  # *. means a subdomain
    assert not allows(policy, "https://evilcdn.example")
    assert allows(OriginPolicy(["*"]), "http://anything.example")


def test_dev_allows_localhost_pages_on_any_port() -> None:
    policy = OriginPolicy(dev=True)
    assert allows(policy, "http://localhost:3000")
    assert allows(policy, "http://127.0.0.1:5173")
    assert not allows(policy, "http://evil.example")


def test_bad_entries_are_one_line_config_errors(tmp_path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    (tmp_path / "pyproject.toml").write_text('[tool.nova]\nws_allowed_origins = ["evil"]\n')
    with pytest.raises(ConfigError, match=r"ws_allowed_origins.*'evil' is not an origin"):
        load_config(tmp_path)
    monkeypatch.setenv("NOVA_WS_ALLOWED_ORIGINS", "https://a.example, https://*.b.example")
    (tmp_path / "pyproject.toml").write_text("[tool.nova]\n")
    config = load_config(tmp_path)
    assert config.ws_allowed_origins == ["https://a.example", "https://*.b.example"]
