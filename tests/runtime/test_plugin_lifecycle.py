"""A plugin's init / stop / plugin_info, and how its callbacks reach its per-app state."""

from __future__ import annotations

from typing import Any

import pytest
from starlette.testclient import TestClient

from nova_cli.core.errors import ConfigError, RouteTableError
from tests.runtime.conftest import Apps

COUNTER = """
EVENTS = []


def plugin_info():
    return {"title": "Counter", "version": "1.2.0", "url": "https://example.com/counter"}


def init():
    state = {"hits": 0}
    EVENTS.append(("init", id(state)))
    return state


def stop(state):
    EVENTS.append(("stop", state["hits"]))


def pre_request(req, options, state):
    state["hits"] += 1
    req.state["hits"] = state["hits"]


def post_request(req, response, options, state):
    response.headers["x-hits"] = str(state["hits"])
"""

ASYNC_PLUGIN = """
EVENTS = []


async def init():
    EVENTS.append("init")
    return ["ready"]


async def stop(state):
    EVENTS.append(("stop", state))


async def pre_request(req, options, state):
    req.state["async"] = state[0]
"""

STATELESS = """
def pre_request(req, options):
    req.state["plain"] = dict(options)
"""

LIFECYCLE_APP = {
    "counter.py": COUNTER,
    "asyncplugin.py": ASYNC_PLUGIN,
    "stateless.py": STATELESS,
    "router.py": """
        from tinyapp import asyncplugin, counter, stateless

        def show(req):
            return ("json", req.state)

        def routes(environment):
            return [
                {"routes": [("/", show)]},
                {"prefix": "/more", "plugins": [
                    ("pre_request", counter, {}),
                    ("pre_request", asyncplugin, {}),
                    ("pre_request", stateless, {"a": 1}),
                ], "routes": [("/", show)]},
            ]
    """,
}
GLOBAL = """
plugins = [
  ["pre_request", "tinyapp.counter", {}],
  ["post_request", "tinyapp.counter", {}],
]
"""


def events(module: str = "counter") -> list[Any]:
    import importlib

    return list(importlib.import_module(f"tinyapp.{module}").EVENTS)


def test_init_runs_once_at_start_up_and_stop_at_shutdown(apps: Apps) -> None:
    app = apps.app(apps.write(LIFECYCLE_APP, tool_nova=GLOBAL))
    assert events() == []
    with TestClient(app) as client:
        assert [e[0] for e in events()] == ["init"]  # before the first request
        assert events("asyncplugin") == ["init"]
        assert client.get("/").headers["x-hits"] == "1"
        assert client.get("/").headers["x-hits"] == "2"
        assert client.get("/more/").json() == {"hits": 3, "async": "ready", "plain": {"a": 1}}
        assert [e[0] for e in events()] == ["init"]  # one init, shared by every group
    assert events()[-1] == ("stop", 3)
    assert events("asyncplugin")[-1] == ("stop", ["ready"])


def test_each_app_has_its_own_state(apps: Apps) -> None:
    app = apps.app(apps.write(LIFECYCLE_APP, tool_nova=GLOBAL))
    other = apps.app(apps.write(LIFECYCLE_APP, tool_nova=GLOBAL, folder="other"), "tinyapp")
    # `other` re-imported the package: both apps now use one module, and still two states.
    with TestClient(app) as first, TestClient(other) as second:
        assert first.get("/").headers["x-hits"] == "1"
        assert first.get("/").headers["x-hits"] == "2"
        assert second.get("/").headers["x-hits"] == "1"
        assert first.get("/").headers["x-hits"] == "3"


def test_without_a_lifespan_init_runs_before_the_first_request(apps: Apps) -> None:
    client = apps.client(apps.write(LIFECYCLE_APP, tool_nova=GLOBAL))
    assert client.get("/").headers["x-hits"] == "1"
    assert client.get("/").headers["x-hits"] == "2"
    assert [e[0] for e in events()] == ["init"]


def test_a_plugin_without_init_has_an_empty_dict(apps: Apps) -> None:
    files = {
        **LIFECYCLE_APP,
        "bare.py": "def pre_request(req, options, state):\n    req.state['s'] = state\n",
    }
    root = apps.write(files, tool_nova='plugins = [["pre_request", "tinyapp.bare", {}]]\n')
    with apps.client(root) as client:
        assert client.get("/").json() == {"s": {}}


def test_an_init_that_raises_stops_the_start_up(apps: Apps) -> None:
    files = {**LIFECYCLE_APP, "counter.py": COUNTER.replace("state = {", "1 / 0\n    state = {")}
    app = apps.app(apps.write(files, tool_nova=GLOBAL))
    with pytest.raises(ZeroDivisionError), TestClient(app):
        pass


BAD_PLUGINS = [
    (
        "def plugin_info():\n    return {'title': 'x'}\n",
        "tinyapp.bad.plugin_info() must return a dict with string title and version, "
        "got {'title': 'x'}",
    ),
    (
        "def plugin_info():\n    return ('x', '1')\n",
        "tinyapp.bad.plugin_info() must return a dict with string title and version, "
        "got ('x', '1')",
    ),
    (
        "def plugin_info():\n    return {'title': 'x', 'version': '1', 'licence': 'MIT'}\n",
        "tinyapp.bad.plugin_info() has unknown keys ['licence'] (allowed: title, version, url, "
        "authors, description, options)",
    ),
    (
        "def pre_request(req, options, state, more):\n    pass\n",
        "tinyapp.bad.pre_request takes 4 arguments; expected (req, options) or "
        "(req, options, state)",
    ),
    (
        "def pre_request(req):\n    pass\n",
        "tinyapp.bad.pre_request takes 1 arguments; expected (req, options) or "
        "(req, options, state)",
    ),
]


@pytest.mark.parametrize(("source", "message"), BAD_PLUGINS)
def test_a_bad_plugin_is_one_line_at_start_up_in_a_group(
    apps: Apps, source: str, message: str
) -> None:
    if "pre_request" not in source:
        source += "\ndef pre_request(req, options):\n    pass\n"
    router = """
        from tinyapp import bad

        def routes(environment):
            return [{"plugins": [("pre_request", bad, {})], "routes": [("/", lambda r: "")]}]
    """
    root = apps.write({"bad.py": source, "router.py": router})
    with pytest.raises(RouteTableError) as caught:
        apps.app(root)
    assert str(caught.value) == f"group 0: plugins: plugin 0: {message}"


@pytest.mark.parametrize(("source", "message"), BAD_PLUGINS[:1])
def test_a_bad_plugin_is_one_line_at_start_up_in_tool_nova(
    apps: Apps, source: str, message: str
) -> None:
    source += "\ndef pre_request(req, options):\n    pass\n"
    router = "def routes(environment):\n    return [{'routes': [('/', lambda r: '')]}]\n"
    root = apps.write(
        {"bad.py": source, "router.py": router},
        tool_nova='plugins = [["pre_request", "tinyapp.bad", {}]]\n',
    )
    with pytest.raises(ConfigError) as caught:
        apps.app(root)
    assert str(caught.value) == f"[tool.nova] plugins: plugin 0: {message}"


def test_the_built_in_plugins_have_plugin_info() -> None:
    import nova_cli
    from nova_cli.runtime.plugins import plugin_info, resolve

    for name in ("request", "cors", "correlation", "csrf"):
        info = plugin_info(resolve(name))
        assert info is not None
        assert info["version"] == nova_cli.__version__
        assert info["title"].startswith("nova ")
