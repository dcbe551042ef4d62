"""`nova serve` against a real server: hot reload, bad code, restarts, live reload.

Every test runs `nova serve` on a free port in a private copy of the demo app
(plus a counting WebSocket handler), edits files and watches what a client
gets.  Timings are never asserted here (they vary on a shared machine); they
live in bench/reload.py.  Waits are generous and poll.
"""

from __future__ import annotations

import contextlib
import os
import re
import signal
import socket
import sys
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from websockets.exceptions import ConnectionClosed, InvalidStatus
from websockets.sync.client import ClientConnection, connect

from tests.support.servers import Server, children, kill, nova, spawn, wait_dead

HTML = {"accept": "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"}
WAIT = 30.0

COUNTER_HANDLER = '''"""Counts the frames of one connection, in its state."""

import asyncio

PREFIX = "v1"


def init(state):
    state["count"] = 0
    return ("ok", state)


async def websocket_handle(frame, state):
    match frame:
        case ("text", "sleep"):
            await asyncio.sleep(60)  # a callback busy with something else than the socket
        case ("text", _):
            state["count"] += 1
            return ("reply", ("text", f"{PREFIX}:{state['count']}"), state)
    return ("ok", state)


class Counter:
    """The same, written as a class: one instance per connection."""

    def init(self, state):
        state["count"] = 0
        return ("ok", state)

    def websocket_handle(self, frame, state):
        state["count"] += 1
        return ("reply", ("text", f"class {PREFIX}:{state['count']}"), state)
'''

ROOM_HANDLER = '''"""Joins a pub/sub channel in init; relays what is broadcast to it."""

from nova_cli import pubsub

PREFIX = "v1"


def init(state):
    pubsub.join("room")
    return ("ok", state)


def websocket_handle(frame, state):
    return ("ok", state)


def websocket_info(info, state):
    match info:
        case ("nova_pubsub", "room", _sender, "message", text):
            return ("reply", ("text", f"{PREFIX} got {text}"), state)
    return ("ok", state)


def say(req):
    pubsub.broadcast("room", "message", req.bindings["text"])
    return ("json", {"members": len(pubsub.get_members("room"))})
'''

EXTRA_ROUTES = """

from demo.controllers import counter_ws, room_ws

_demo_routes = routes


def routes(environment):
    extra = {
        "routes": [
            ("/counter", counter_ws, {"protocol": "ws"}),
            ("/klass", counter_ws.Counter, {"protocol": "ws"}),
            ("/room", room_ws, {"protocol": "ws"}),
            ("/say/:text", room_ws.say, {"methods": ["get"]}),
        ]
    }
    return _demo_routes(environment) + [extra]
"""


@pytest.fixture
def app_root(demo_root: Path) -> Path:
    """The demo app plus a WebSocket counter at /counter and a virtualenv-looking dir."""
    (demo_root / "demo" / "controllers" / "counter_ws.py").write_text(COUNTER_HANDLER)
    (demo_root / "demo" / "controllers" / "room_ws.py").write_text(ROOM_HANDLER)
    with (demo_root / "demo" / "router.py").open("a") as router:
        router.write(EXTRA_ROUTES)
    venv = demo_root / ".venv" / "lib"
    venv.mkdir(parents=True)
    (demo_root / ".venv" / "pyvenv.cfg").write_text("home = /usr/bin\n")
    (demo_root / ".gitignore").write_text("generated/\n*.log\n")
    return demo_root


@contextlib.contextmanager
def dev_server(root: Path, *extra: str) -> Iterator[Server]:
    """`nova serve` for `root`, once its worker serves (so the watcher is running too)."""
    with nova("serve", root, *extra, env={"NO_COLOR": "1"}, timeout=60) as server:
        wait_until(lambda: "serving (started in" in server.output(), server)
        yield server


def wait_until(check: Callable[[], Any], server: Server, timeout: float = WAIT) -> Any:
    deadline = time.monotonic() + timeout
    while True:
        try:
            value = check()
        except (httpx.TransportError, ValueError):
            value = None
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"not met in {timeout}s; server output:\n{tail(server)}")
        time.sleep(0.05)


def tail(server: Server, lines: int = 60) -> str:
    return "\n".join(server.output().splitlines()[-lines:])


def get(server: Server, path: str, **kw: Any) -> httpx.Response:
    return httpx.get(server.url + path, timeout=15, **kw)


def edit(path: Path, old: str, new: str) -> None:
    text = path.read_text()
    assert old in text, f"{old!r} not in {path}"
    path.write_text(text.replace(old, new, 1))


def controller(root: Path) -> Path:
    return root / "demo" / "controllers" / "main_controller.py"


def shows(server: Server, path: str, expected: dict[str, Any]) -> bool:
    r = get(server, path)
    return r.status_code == 200 and r.json() == expected


# -- code changes ---------------------------------------------------------------


def test_a_controller_edit_is_served_without_a_restart(app_root: Path) -> None:
    with dev_server(app_root) as server:
        assert get(server, "/users/7").json() == {"id": "7", "method": "GET"}
        pid = server.output().count("serving (started in")
        edit(controller(app_root), '"method": req.method}', '"method": req.method, "v": 2}')
        expected = {"id": "7", "method": "GET", "v": 2}
        wait_until(lambda: shows(server, "/users/7", expected), server)
        out = server.output()
        assert re.search(r"nova: reloaded demo\.controllers\.main_controller\b", out), out
        assert out.count("serving (started in") == pid  # same worker: reloaded in place
        assert "starting a new worker" not in out


def test_a_router_edit_adds_the_route(app_root: Path) -> None:
    with dev_server(app_root) as server:
        assert get(server, "/brand-new").status_code == 404
        edit(
            app_root / "demo" / "router.py",
            '("/heartbeat",',
            '("/brand-new", lambda req: ("json", {"new": "route"}), {"methods": ["get"]}),\n'
            '                ("/heartbeat",',
        )
        wait_until(lambda: shows(server, "/brand-new", {"new": "route"}), server)
        assert get(server, "/users/1").json() == {"id": "1", "method": "GET"}


def test_an_open_websocket_keeps_its_state_and_runs_the_new_code(app_root: Path) -> None:
    handler = app_root / "demo" / "controllers" / "counter_ws.py"
    with (
        dev_server(app_root) as server,
        ws(server, "/counter") as conn,
        ws(server, "/klass") as klass,
    ):
        assert [ask(conn, "a"), ask(conn, "b")] == ["v1:1", "v1:2"]
        assert ask(klass, "a") == "class v1:1"
        reloads = server.output().count("nova: reloaded")
        edit(handler, 'PREFIX = "v1"', 'PREFIX = "v2"')
        edit(handler, "f\"{PREFIX}:{state['count']}\"", "f\"{PREFIX}|{state['count'] * 10}\"")
        wait_until(lambda: server.output().count("nova: reloaded") > reloads, server)
        # The same socket: the state it had (count 2) and the new code.
        assert ask(conn, "c") == "v2|30"
        assert ask(conn, "d") == "v2|40"
        assert ask(klass, "b") == "class v2:2"  # a class handler's open instance too
        with ws(server, "/counter") as fresh:
            assert ask(fresh, "x") == "v2|10"


def test_pubsub_membership_survives_a_reload(app_root: Path) -> None:
    handler = app_root / "demo" / "controllers" / "room_ws.py"
    with dev_server(app_root) as server, ws(server, "/room") as conn:
        wait_until(lambda: get(server, "/say/one").json() == {"members": 1}, server)
        assert conn.recv(timeout=15) == "v1 got one"
        reloads = server.output().count("nova: reloaded")
        edit(handler, 'PREFIX = "v1"', 'PREFIX = "v2"')
        wait_until(lambda: server.output().count("nova: reloaded") > reloads, server)
        # Still a member, and the broadcast is handled by the new websocket_info.
        assert get(server, "/say/two").json() == {"members": 1}
        assert conn.recv(timeout=15) == "v2 got two"


# -- bad code: last good code served, error shown, recovery ----------------------

BREAKAGES = {
    "syntax error": (
        "demo/controllers/main_controller.py",
        lambda text: text + "\n\ndef broken(req:\n    return 1\n",
        "SyntaxError",
        "was never closed",
    ),
    "raises on import": (
        "demo/controllers/main_controller.py",
        lambda text: text + '\n\nraise RuntimeError("no database here")\n',
        "RuntimeError",
        "no database here",
    ),
    "bad route table": (
        "demo/router.py",
        lambda text: text.replace(
            '("/heartbeat", lambda req: ("status", 200), {"methods": ["get"]}),',
            '("/heartbeat", lambda req: ("status", 200), {"methods": ["get"], "colour": 1}),',
        ),
        "RouteTableError",
        "unknown option &#x27;colour&#x27;",
    ),
}


@pytest.mark.parametrize("case", list(BREAKAGES))
def test_broken_code_keeps_the_last_good_code_and_shows_the_error(
    app_root: Path, case: str
) -> None:
    relative, breaks, kind, message = BREAKAGES[case]
    target = app_root / relative
    with dev_server(app_root) as server:
        edit(controller(app_root), '"method": req.method}', '"method": req.method, "v": 1}')
        wait_until(lambda: shows(server, "/users/1", {"id": "1", "method": "GET", "v": 1}), server)
        before = target.read_text()
        target.write_text(breaks(before))

        page = wait_until(lambda: _error_page(server), server)
        assert page.status_code == 500
        assert f"Reload failed: {kind}" in page.text and message in page.text
        line = _bad_line(target, kind)
        assert f"{relative}:{line}" in page.text, page.text
        assert "data-nova-live-reload" in page.text  # it reloads itself once fixed
        # JSON clients and WebSockets get the last good code meanwhile.
        assert get(server, "/users/1").json() == {"id": "1", "method": "GET", "v": 1}
        with ws(server, "/counter") as conn:
            assert ask(conn, "x") == "v1:1"
        out = wait_until(lambda: _has(server, f"reload failed: {relative}:{line}: {kind}"), server)
        assert "still serving the last good code" in out

        target.write_text(before)  # the fix
        wait_until(lambda: get(server, "/", headers=HTML).status_code == 200, server)
        assert "Hello world!" in get(server, "/", headers=HTML).text
        assert get(server, "/users/1").json() == {"id": "1", "method": "GET", "v": 1}
        edit(controller(app_root), '"v": 1}', '"v": 2}')  # and reloading goes on
        wait_until(lambda: shows(server, "/users/1", {"id": "1", "method": "GET", "v": 2}), server)


SHOW = """def show(req):
    return ("json", {"id": req.bindings["id"], "method": req.method})
"""
EMPTIED = {
    "saved empty": lambda text: "",
    "a function deleted": lambda text: text.replace(SHOW, ""),
}


@pytest.mark.parametrize("case", list(EMPTIED))
def test_an_emptied_controller_is_a_failed_reload_not_a_silent_one(
    app_root: Path, case: str
) -> None:
    path = controller(app_root)
    good = path.read_text()
    assert SHOW in good
    with dev_server(app_root) as server:
        reloads = server.output().count("nova: reloaded")
        path.write_text(EMPTIED[case](good))

        # The router points at functions that are gone: the new table does not build.
        page = wait_until(lambda: _error_page(server), server)
        assert "AttributeError" in page.text and "has no attribute" in page.text
        out = wait_until(lambda: _has(server, "still serving the last good code"), server)
        assert re.search(
            r"reload failed: demo/router\.py:\d+: AttributeError: module "
            r"'demo\.controllers\.main_controller' has no attribute",
            out,
        ), out
        assert out.count("nova: reloaded") == reloads  # never "reloaded"
        # As the terminal says: the old code serves, every route of it.
        assert get(server, "/users/1").json() == {"id": "1", "method": "GET"}
        assert get(server, "/users/new").json() == {"new": True}

        path.write_text(good.replace('"method": req.method}', '"method": req.method, "v": 2}'))
        wait_until(lambda: shows(server, "/users/1", {"id": "1", "method": "GET", "v": 2}), server)
        assert get(server, "/", headers=HTML).status_code == 200


def test_code_broken_at_start_is_served_as_the_error_until_fixed(app_root: Path) -> None:
    path = controller(app_root)
    good = path.read_text()
    path.write_text(good + "\n\ndef broken(req:\n    return 1\n")
    with dev_server(app_root) as server:
        page = wait_until(lambda: _error_page(server), server)
        assert "SyntaxError" in page.text and "main_controller.py" in page.text
        r = get(server, "/users/1")
        assert r.status_code == 500
        assert r.json()["message"].startswith("the app did not load: demo/controllers/")
        with pytest.raises(InvalidStatus):
            ws(server, "/counter").close()
        assert "the app did not load" in server.output()

        path.write_text(good)
        wait_until(lambda: shows(server, "/users/1", {"id": "1", "method": "GET"}), server)
        assert "starting a new worker" in server.output()
        with ws(server, "/counter") as conn:
            assert ask(conn, "x") == "v1:1"


def _error_page(server: Server) -> httpx.Response | None:
    r = get(server, "/", headers=HTML)
    return r if r.status_code == 500 and "<title>Reload failed" in r.text else None


def _has(server: Server, text: str) -> str | None:
    out = server.output()
    return out if text in out else None


def _bad_line(path: Path, kind: str) -> int:
    lines = path.read_text().splitlines()
    needle = {
        "SyntaxError": "def broken(",
        "RuntimeError": "raise RuntimeError",
        "RouteTableError": '"colour"',
    }[kind]
    return next(i for i, text in enumerate(lines, 1) if needle in text)


def test_an_unexpected_reload_error_is_reported_and_reloading_goes_on(app_root: Path) -> None:
    path = controller(app_root)
    good = path.read_text()
    with dev_server(app_root) as server:
        # Too deeply nested for Python's parser: RecursionError, which no reload expects.
        path.write_text(good + "\nTOTAL = " + " + ".join(["1"] * 20000) + "\n")
        page = wait_until(lambda: _error_page(server), server)
        assert "RecursionError" in page.text and "main_controller.py" in page.text
        out = wait_until(lambda: _has(server, "reload failed unexpectedly"), server)
        assert "RecursionError: maximum recursion depth exceeded" in out
        assert "Traceback (most recent call last)" in out  # all of it: this is a bug report
        assert get(server, "/users/1").json() == {"id": "1", "method": "GET"}

        path.write_text(good.replace('"method": req.method}', '"method": req.method, "v": 2}'))
        wait_until(lambda: shows(server, "/users/1", {"id": "1", "method": "GET", "v": 2}), server)
        assert get(server, "/", headers=HTML).status_code == 200  # the error page is gone
        assert "nova: reloaded demo.controllers.main_controller" in server.output()


def test_a_deleted_module_is_reported_and_restoring_it_recovers(app_root: Path) -> None:
    api = app_root / "demo" / "controllers" / "api_controller.py"
    source = api.read_text()
    unused = app_root / "demo" / "unused.py"
    unused.write_text("VALUE = 1\n")
    with dev_server(app_root) as server:
        unused.unlink()  # nothing imports it: nothing to report
        time.sleep(1.0)
        assert get(server, "/users/2").status_code == 200
        assert "reload failed" not in server.output()

        api.unlink()  # the router imports it
        page = wait_until(lambda: _error_page(server), server)
        assert "ImportError" in page.text and "api_controller" in page.text
        assert "demo/router.py" in page.text
        # The last good code still has the controller.
        assert get(server, "/async").json() == {"async": True}
        assert server.process.poll() is None

        api.write_text(source.replace('{"async": True}', '{"async": "back"}'))
        wait_until(lambda: shows(server, "/async", {"async": "back"}), server)
        assert get(server, "/", headers=HTML).status_code == 200


def test_fifty_saves_in_one_second_make_one_or_few_reloads(app_root: Path) -> None:
    path = controller(app_root)
    source = path.read_text()
    with dev_server(app_root) as server:
        before = server.output().count("nova: reloaded")
        started = time.monotonic()
        for i in range(50):
            path.write_text(
                source.replace('"method": req.method}', f'"method": req.method, "v": {i}}}')
            )
            time.sleep(max(0.0, started + (i + 1) * 0.02 - time.monotonic()))
        expected = {"id": "1", "method": "GET", "v": 49}
        wait_until(lambda: shows(server, "/users/1", expected), server)
        time.sleep(2.0)  # anything still queued would show up now
        reloads = server.output().count("nova: reloaded") - before
        assert 1 <= reloads <= 5, tail(server)
        assert server.process.poll() is None
        assert shows(server, "/users/1", expected)


def test_ignored_paths_do_not_reload(app_root: Path) -> None:
    with dev_server(app_root) as server:
        out = server.output()
        assert f"watching {app_root.resolve()}" in out
        assert ".venv/ (a virtualenv)" in out and "what .gitignore ignores" in out
        before = out.count("nova: reloaded")
        (app_root / "generated").mkdir()
        (app_root / "generated" / "models.py").write_text("X = 1\n")
        (app_root / ".venv" / "lib" / "site.py").write_text("X = 1\n")
        (app_root / "demo" / "server.log").write_text("noise\n")
        pycache = app_root / "demo" / "__pycache__"
        pycache.mkdir(exist_ok=True)
        (pycache / "x.cpython-311.pyc").write_bytes(b"\0")
        edit(controller(app_root), '"method": req.method}', '"method": req.method, "v": 1}')
        wait_until(lambda: shows(server, "/users/1", {"id": "1", "method": "GET", "v": 1}), server)
        time.sleep(1.0)
        assert server.output().count("nova: reloaded") == before + 1, tail(server)


# -- restarts -----------------------------------------------------------------------


def test_a_pyproject_change_restarts_the_worker_without_refusing_connections(
    app_root: Path,
) -> None:
    with dev_server(app_root) as server:
        assert get(server, "/env").json() == {"environment": "dev"}
        poller = Poller(server.port)
        poller.start()
        try:
            time.sleep(0.5)
            edit(app_root / "pyproject.toml", "port = 8080", 'port = 8080\nenvironment = "staging"')
            wait_until(lambda: shows(server, "/env", {"environment": "staging"}), server)
            time.sleep(0.5)
        finally:
            poller.stop()
        assert poller.refused == 0, poller.errors
        assert poller.ok > 10
        out = server.output()
        assert "pyproject.toml changed: starting a new worker" in out
        assert re.search(r"worker \d+ stopped in", out)


def test_a_restart_closes_websockets_with_1012_and_never_hangs(app_root: Path) -> None:
    with (
        dev_server(app_root) as server,
        ws(server, "/counter") as idle,
        ws(server, "/counter") as busy,
    ):
        assert ask(idle, "a") == "v1:1"
        busy.send("sleep")  # its callback is awaiting a 60 s sleep
        started = time.monotonic()
        with (app_root / "pyproject.toml").open("a") as f:
            f.write("\n# touched\n")
        assert closed_code(idle) == 1012
        assert closed_code(busy) == 1012
        assert time.monotonic() - started < 30
        wait_until(lambda: re.search(r"worker \d+ stopped in", server.output()), server)
        with ws(server, "/counter") as conn:
            assert ask(conn, "x") == "v1:1"


def test_a_new_worker_that_cannot_load_keeps_the_old_one(app_root: Path) -> None:
    with dev_server(app_root) as server:
        pyproject = app_root / "pyproject.toml"
        good = pyproject.read_text()
        pyproject.write_text(good.replace("port = 8080", "port = 8080\ncolour = 1"))
        page = wait_until(lambda: _error_page(server), server)
        assert "ConfigError" in page.text and "colour" in page.text
        assert get(server, "/users/1").json() == {"id": "1", "method": "GET"}
        assert "keeps serving" in server.output()
        pyproject.write_text(good.replace("port = 8080", 'port = 8080\nenvironment = "staging"'))
        wait_until(lambda: shows(server, "/env", {"environment": "staging"}), server)


def test_reload_mode_restart_restarts_for_a_code_change(app_root: Path) -> None:
    with dev_server(app_root, "--reload-mode", "restart") as server, ws(server, "/counter") as conn:
        assert ask(conn, "a") == "v1:1"
        edit(controller(app_root), '"method": req.method}', '"method": req.method, "v": 5}')
        wait_until(lambda: shows(server, "/users/3", {"id": "3", "method": "GET", "v": 5}), server)
        out = server.output()
        assert "main_controller.py changed: starting a new worker" in out
        assert "nova: reloaded" not in out
        assert closed_code(conn) == 1012


# -- a killed supervisor ------------------------------------------------------------


def test_a_killed_supervisor_takes_its_worker_along(app_root: Path) -> None:
    worker = 0
    try:
        with dev_server(app_root) as server, ws(server, "/counter") as conn:
            worker = int(re.findall(r"worker (\d+) serving", server.output())[-1])
            assert ask(conn, "a") == "v1:1"
            os.kill(server.process.pid, signal.SIGKILL)
            assert wait_dead({worker}, timeout=15) == set(), tail(server)
            assert closed_code(conn) == 1001  # going away: no new worker is coming
            port = server.port
        args = [sys.executable, "-m", "nova_cli.cli.main", "serve", "--port", str(port)]
        with spawn(args, port=port, cwd=app_root, timeout=60) as again:
            wait_until(lambda: shows(again, "/users/1", {"id": "1", "method": "GET"}), again)
    finally:
        kill({worker})


def test_a_worker_still_loading_the_app_exits_with_its_supervisor(app_root: Path) -> None:
    loading = app_root / "loading"
    (app_root / "demo" / "slow.py").write_text(
        f"import time\nfrom pathlib import Path\n\nPath({str(loading)!r}).touch()\n"
        "time.sleep(600)  # an import that never ends: a database that does not answer\n"
    )
    edit(
        app_root / "demo" / "router.py",
        "from demo import security",
        "from demo import security, slow",
    )
    workers: set[int] = set()
    try:
        with nova("serve", app_root, timeout=60) as server:
            wait_until(lambda: loading.exists(), server)
            workers = children(server.process.pid)
            assert workers, tail(server)
            os.kill(server.process.pid, signal.SIGKILL)
            assert wait_dead(workers, timeout=15) == set(), tail(server)
    finally:
        kill(workers)


# -- templates, static files and live reload --------------------------------------


def test_live_reload_events_for_templates_css_and_code(app_root: Path) -> None:
    views = app_root / "demo" / "views" / "main.html"
    with dev_server(app_root) as server, EventStream(server.port) as events:
        hello = events.next("hello")
        assert re.fullmatch(r"[0-9a-f]{12}", hello)
        reloads = server.output().count("nova: reloaded")

        edit(views, "<h1>{{ message }}</h1>", "<h1>Now: {{ message }}</h1>")
        assert events.next() == ("reload", "")
        r = get(server, "/", headers=HTML)  # templates are read fresh: no reload needed
        assert "<h1>Now: Hello world!</h1>" in r.text
        assert server.output().count("nova: reloaded") == reloads

        css = app_root / "demo" / "static" / "css" / "app.css"
        css.write_text("body { color: blue; }\n")
        assert events.next() == ("css", "")
        assert get(server, "/assets/css/app.css").text == "body { color: blue; }\n"

        edit(controller(app_root), '"method": req.method}', '"method": req.method, "v": 9}')
        assert events.next() == ("reload", "")
        assert shows(server, "/users/1", {"id": "1", "method": "GET", "v": 9})

        edit(controller(app_root), "def show(req):", "def show(req:")
        event, data = events.next()
        assert event == "broken" and "SyntaxError" in data


def test_html_pages_get_the_live_reload_script_and_json_does_not(app_root: Path) -> None:
    with dev_server(app_root) as server:
        page = get(server, "/", headers=HTML)
        assert page.text.count("data-nova-live-reload") == 1
        assert page.text.index("data-nova-live-reload") < page.text.index("</body>")
        assert int(page.headers["content-length"]) == len(page.content)
        assert "live-reload" not in get(server, "/users/1").text


def test_no_live_reload_leaves_pages_alone(app_root: Path) -> None:
    with dev_server(app_root, "--no-live-reload") as server:
        assert "data-nova-live-reload" not in get(server, "/", headers=HTML).text
        assert get(server, "/__nova/livereload").status_code == 404
        assert "live reload off" in server.output()


def test_no_reload_is_plain_uvicorn_without_dev_middleware(app_root: Path) -> None:
    with nova("serve", app_root, "--no-reload") as server:
        page = get(server, "/", headers=HTML)
        assert page.status_code == 200 and "data-nova-live-reload" not in page.text
        assert get(server, "/__nova/livereload").status_code == 404
        assert "watching" not in server.output()


# -- helpers ------------------------------------------------------------------------


def ws(server: Server, path: str) -> ClientConnection:
    return connect(server.ws_url + path, open_timeout=15)


def ask(conn: ClientConnection, text: str) -> str:
    conn.send(text)
    reply = conn.recv(timeout=15)
    assert isinstance(reply, str)
    return reply


def closed_code(conn: ClientConnection, timeout: float = 30.0) -> int | None:
    with contextlib.suppress(ConnectionClosed, TimeoutError):
        while True:
            conn.recv(timeout=timeout)
    return conn.close_code


class Poller(threading.Thread):
    """Opens a new connection every few ms and counts what happens to each."""

    def __init__(self, port: int) -> None:
        super().__init__(daemon=True)
        self.port = port
        self.ok = self.refused = 0
        self.errors: list[str] = []
        self._stop_event = threading.Event()

    def run(self) -> None:
        with httpx.Client(timeout=15, headers={"connection": "close"}) as client:
            while not self._stop_event.is_set():
                try:
                    client.get(f"http://127.0.0.1:{self.port}/heartbeat")
                    self.ok += 1
                except httpx.ConnectError as exc:
                    if isinstance(exc.__cause__, ConnectionRefusedError) or "refused" in str(exc):
                        self.refused += 1
                    self.errors.append(repr(exc))
                except httpx.TransportError as exc:
                    self.errors.append(repr(exc))
                time.sleep(0.005)

    def stop(self) -> None:
        self._stop_event.set()
        self.join(30)


class EventStream:
    """A raw server-sent events client for /__nova/livereload."""

    def __init__(self, port: int) -> None:
        self.port = port
        self.buffer = b""

    def __enter__(self) -> EventStream:
        self.sock = socket.create_connection(("127.0.0.1", self.port), timeout=WAIT)
        self.sock.sendall(
            b"GET /__nova/livereload HTTP/1.1\r\nhost: x\r\naccept: text/event-stream\r\n\r\n"
        )
        head = self._until(b"\r\n\r\n")
        assert b" 200 " in head.split(b"\r\n")[0] and b"text/event-stream" in head
        return self

    def __exit__(self, *exc: object) -> None:
        self.sock.close()

    def _until(self, marker: bytes) -> bytes:
        while marker not in self.buffer:
            chunk = self.sock.recv(65536)
            if not chunk:
                raise AssertionError("event stream closed")
            self.buffer += chunk
        found, _, self.buffer = self.buffer.partition(marker)
        return found

    def next(self, expect: str | None = None) -> Any:
        """The next event as (name, data), skipping comments; with `expect`, its data."""
        while True:
            block = self._until(b"\n\n").decode()
            if "\r\n" in block:  # chunked transfer framing: keep only the SSE lines
                block = "\n".join(
                    line for line in block.split("\r\n") if not re.fullmatch(r"[0-9a-fA-F]+", line)
                )
            name, data = "", []
            for line in block.splitlines():
                if line.startswith("event: "):
                    name = line[7:]
                elif line.startswith("data: "):
                    data.append(line[6:])
            if not name:
                continue
            if expect is not None:
                assert name == expect, (name, data)
                return "\n".join(data)
            return name, "\n".join(data)
