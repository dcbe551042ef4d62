"""The HTTP runtime behind real servers: uvicorn, `nova serve --no-reload`, `nova run`.

Static-directory escapes are sent as raw request lines over a socket, because
HTTP clients (httpx included) normalise `..` away before anything is sent.
A `/raw/[...]` route added to the tmp copy of the demo app echoes the raw
path the server received, proving that the attack reached the app unchanged.
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from websockets.exceptions import ConnectionClosed
from websockets.sync.client import connect

from tests.support.servers import (
    ASSETS,
    PID_ROUTE,
    Server,
    free_port,
    kill,
    nova,
    spawn,
    uvicorn_app,
    wait_dead,
    worker_pids,
)

SECRET = b"TOP-SECRET-NOT-FOR-THE-WEB"


def raw_request(port: int, target: str, method: str = "GET", extra: str = "") -> tuple[int, bytes]:
    """Send one request line exactly as written; return (status, raw response)."""
    request = f"{method} {target} HTTP/1.1\r\nhost: 127.0.0.1\r\n{extra}connection: close\r\n\r\n"
    with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
        sock.sendall(request.encode("latin-1"))
        data = b""
        while chunk := sock.recv(65536):
            data += chunk
    status = int(data.split(b" ", 2)[1])
    return status, data


def body_of(response: bytes) -> bytes:
    return response.partition(b"\r\n\r\n")[2]


# -- the demo app under plain uvicorn ----------------------------------------


def test_return_shapes_over_http(demo_server: Server) -> None:
    with httpx.Client(base_url=demo_server.url, timeout=10, follow_redirects=False) as c:
        r = c.get("/")
        assert r.status_code == 200 and "<h1>Hello world!</h1>" in r.text
        assert c.get("/users/new").json() == {"new": True}
        assert c.get("/users/7").json() == {"id": "7", "method": "GET"}
        r = c.post("/echo", json={"a": 1})
        assert (r.status_code, r.json()["json"]) == (201, {"a": 1})
        r = c.get("/redirect")
        assert (r.status_code, r.headers["location"]) == (302, "/elsewhere")
        assert c.get("/sendfile").content == b"worl"
        assert c.get("/xml").headers["content-type"] == "application/xml"
        r = c.get("/view")
        assert (r.status_code, r.headers["x-a"], r.text) == (202, "b", "<p>other</p>")
        assert c.get("/assets/css/app.css").text == "body { color: red; }\n"
        assert c.get("/nowhere").text == "<p>custom 404 for /nowhere</p>"
        r = c.post("/")
        assert (r.status_code, r.headers["allow"]) == (405, "GET, HEAD")
        assert c.get("/admin", headers={"authorization": "Bearer good"}).json() == {
            "user": {"name": "alice"}
        }
        assert c.get("/admin", headers={"authorization": "Bearer raise"}).status_code == 500


def test_head_sends_headers_without_a_body(demo_server: Server) -> None:
    get_status, get = raw_request(demo_server.port, "/")
    head_status, head = raw_request(demo_server.port, "/", "HEAD")
    assert get_status == head_status == 200
    assert body_of(head) == b""
    length = [line for line in head.split(b"\r\n") if line.lower().startswith(b"content-length")]
    assert length == [f"content-length: {len(body_of(get))}".encode()]


def test_errors_then_the_server_goes_on(demo_server: Server) -> None:
    with httpx.Client(base_url=demo_server.url, timeout=10) as c:
        for path in ("/boom", "/none", "/nofallback"):
            r = c.get(path)
            assert r.status_code == 500
            assert c.get("/heartbeat").status_code == 200
        r = c.get("/boom", headers={"accept": "text/html"})
        assert "ValueError: kaboom" in r.text  # the demo runs in dev: traceback shown
        r = c.post("/echo", content=b"{nope", headers={"content-type": "application/json"})
        assert (r.status_code, r.json()["error"]) == (400, "bad_request")
    assert "ValueError: kaboom" in demo_server.output()  # logged with the traceback
    assert "Traceback (most recent call last)" in demo_server.output()


def test_plain_uvicorn_is_prod_unless_told_otherwise(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("NOVA_ENVIRONMENT", "NOVA_ENV"):
        monkeypatch.delenv(name, raising=False)
    with uvicorn_app(ASSETS / "demo") as server, httpx.Client(base_url=server.url) as c:
        assert c.get("/env").json() == {"environment": "prod"}
        for accept in ("text/html", "application/json"):
            r = c.get("/boom", headers={"accept": accept})
            assert r.status_code == 500
            assert r.headers["content-type"].startswith(accept)
            for leak in ("kaboom", "ValueError", "Traceback", "oops_controller"):
                assert leak not in r.text, (accept, r.text)
        assert "ValueError: kaboom" in server.output()  # the log has it, for the operator


def test_a_body_over_one_mib_is_413(demo_server: Server) -> None:
    with httpx.Client(base_url=demo_server.url, timeout=30) as c:
        r = c.post(
            "/echo", content=b"x" * (1024 * 1024 + 1), headers={"content-type": "text/plain"}
        )
        assert r.status_code == 413
        r = c.post("/echo", content=b"x" * (1024 * 1024), headers={"content-type": "text/plain"})
        assert r.status_code == 201


def test_a_chunked_body_over_the_limit_is_413(demo_server: Server) -> None:
    def chunks() -> Iterator[bytes]:
        for _ in range(20):
            yield b"y" * 65536

    with httpx.Client(base_url=demo_server.url, timeout=30) as c:
        r = c.post("/echo", content=chunks(), headers={"content-type": "text/plain"})
        assert r.status_code == 413


# -- static escapes, with raw request lines ----------------------------------

RAW_ROUTE = """

_original_routes = routes


def routes(environment):
    def raw(req):
        return ("json", {"raw_path": req.scope["raw_path"].decode("latin-1"),
                         "pathinfo": req.pathinfo})

    return _original_routes(environment) + [{"routes": [("/raw/[...]", raw)]}]
"""


@pytest.fixture(scope="module")
def static_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Server, Path]]:
    """A tmp copy of the demo with secrets around its static dir and escaping symlinks."""
    import shutil

    root = tmp_path_factory.mktemp("static") / "demo"
    shutil.copytree(ASSETS / "demo", root, ignore=shutil.ignore_patterns("__pycache__"))
    static = root / "demo" / "static"
    (root / "secret.txt").write_bytes(SECRET)
    (root / "demo" / "secret.txt").write_bytes(SECRET)
    os.symlink(root / "secret.txt", static / "escape.txt")
    os.symlink(root, static / "updir")
    os.symlink(static / "hello.txt", static / "inside.txt")
    with (root / "demo" / "router.py").open("a") as router:
        router.write(RAW_ROUTE)
    with uvicorn_app(root) as server:
        yield server, root


ATTACKS = [
    "../secret.txt",
    "../../secret.txt",
    "css/../../secret.txt",
    "%2e%2e/secret.txt",
    "%2e%2e/%2e%2e/secret.txt",
    "%2E%2E/%2E%2E/secret.txt",
    ".%2e/.%2e/secret.txt",
    "..%2fsecret.txt",
    "..%2f..%2fsecret.txt",
    "%2e%2e%2f%2e%2e%2fsecret.txt",
    "css%2f..%2f..%2f..%2fsecret.txt",
    "..%5c..%5csecret.txt",
    "..\\..\\secret.txt",
    "%2fetc/passwd",
    "/etc/passwd",
    "%2fetc%2fpasswd",
    "escape.txt",
    "updir/secret.txt",
    "updir/demo/secret.txt",
    "css/../hello.txt",  # resolves inside, but any `..` segment is refused
]


@pytest.mark.parametrize("attack", ATTACKS)
def test_static_escapes_are_404_on_a_real_server(
    static_server: tuple[Server, Path], attack: str
) -> None:
    server, _root = static_server
    # The server really receives the raw path: /raw/ echoes what reached the app.
    status, echoed = raw_request(server.port, "/raw/" + attack)
    assert status == 200
    assert f'"raw_path":"/raw/{attack}"'.replace("\\", "\\\\").encode() in echoed
    status, response = raw_request(server.port, "/assets/" + attack)
    assert status == 404, response
    assert SECRET not in response and b"root:" not in response


def test_pathinfo_keeps_the_dot_dot_segments(static_server: tuple[Server, Path]) -> None:
    server, _root = static_server
    _, echoed = raw_request(server.port, "/raw/%2e%2e/..%2fsecret.txt")
    assert b'"pathinfo":["..","..","secret.txt"]' in echoed


def test_absolute_form_request_target(static_server: tuple[Server, Path]) -> None:
    server, _root = static_server
    status, response = raw_request(
        server.port, f"http://127.0.0.1:{server.port}/assets/../../secret.txt"
    )
    assert status == 404 and SECRET not in response


def test_static_files_inside_are_served(static_server: tuple[Server, Path]) -> None:
    server, _root = static_server
    for path in ("/assets/hello.txt", "/assets/inside.txt", "/assets//hello.txt"):
        status, response = raw_request(server.port, path)
        assert (status, body_of(response)) == (200, b"hello world file\n")
    status, response = raw_request(server.port, "/assets/hello.txt", "GET", "range: bytes=0-4\r\n")
    assert (status, body_of(response)) == (206, b"hello")


# -- nova serve --no-reload, nova run --workers 2 ----------------------------


def test_nova_serve_no_reload_serves_the_demo() -> None:
    with nova("serve", ASSETS / "demo", "--no-reload") as server:
        r = httpx.get(server.url + "/", timeout=10)
        assert r.status_code == 200 and "Hello world!" in r.text
        assert httpx.get(server.url + "/env", timeout=10).json() == {"environment": "dev"}
        assert httpx.get(server.url + "/users/new", timeout=10).json() == {"new": True}
        assert f"nova: demo (dev) on http://127.0.0.1:{server.port}" in server.output()


def test_nova_run_with_two_workers_serves_the_demo_in_prod(demo_root: Path) -> None:
    with (demo_root / "demo" / "router.py").open("a") as router:
        router.write(PID_ROUTE)
    with nova("run", demo_root, "--workers", "2", timeout=60) as server:
        pids = worker_pids(server, 2)
        assert server.process.pid not in pids  # the supervisor serves nothing itself
        assert httpx.get(server.url + "/env", timeout=10).json() == {"environment": "prod"}
        r = httpx.get(server.url + "/boom", timeout=10, headers={"accept": "text/html"})
        assert r.status_code == 500
        assert "kaboom" not in r.text and "Traceback" not in r.text
        assert "2 workers" in server.output()


BYE_HANDLER = """
import os
from pathlib import Path


def websocket_handle(frame, state):
    return ("reply", ("text", str(os.getpid())), state)


def terminate(reason, req, state):
    # The project root: a file per worker says its terminate callbacks ran.
    Path(__file__).parents[2].joinpath(f"terminated-{os.getpid()}").write_text(repr(reason))
"""

BYE_ROUTE = """

from demo.controllers import bye_ws

_pid_routes = routes


def routes(environment):
    return _pid_routes(environment) + [{"routes": [("/bye", bye_ws, {"protocol": "ws"})]}]
"""


def test_nova_run_workers_exit_when_the_supervisor_is_killed(demo_root: Path) -> None:
    (demo_root / "demo" / "controllers" / "bye_ws.py").write_text(BYE_HANDLER)
    with (demo_root / "demo" / "router.py").open("a") as router:
        router.write(PID_ROUTE + BYE_ROUTE)
    pids: set[int] = set()
    try:
        with contextlib.ExitStack() as stack:
            # /bye is a WebSocket route: the workers' channels are their own.
            args = ("--workers", "2", "--pubsub-per-worker")
            server = stack.enter_context(nova("run", demo_root, *args, timeout=60))
            pids = worker_pids(server, 2)
            sockets = {}  # a WebSocket open on each worker
            deadline = time.monotonic() + 30
            while len(sockets) < 2 and time.monotonic() < deadline:
                conn = stack.enter_context(connect(server.ws_url + "/bye", open_timeout=15))
                conn.send("pid?")
                sockets.setdefault(int(conn.recv(timeout=15)), conn)
            assert set(sockets) == pids

            os.kill(server.process.pid, signal.SIGKILL)
            assert wait_dead(pids, timeout=15) == set(), "workers outlived their supervisor"
            for pid, conn in sockets.items():
                with pytest.raises(ConnectionClosed):
                    conn.recv(timeout=15)
                assert conn.close_code == 1001, pid
                assert (demo_root / f"terminated-{pid}").read_text() == "'shutdown'", pid

            # The port is free again: a new server binds it.
            port = server.port
            args = [sys.executable, "-m", "nova_cli.cli.main", "run", "--port", str(port)]
            with spawn(args, port=port, cwd=demo_root) as again:
                assert httpx.get(again.url + "/heartbeat", timeout=10).status_code == 200
    finally:
        kill(pids)


# -- a bad route table: one line, exit 1, nothing served ---------------------

BAD_TABLES = {
    "unknown group key": (
        '{"prefix": "", "secure": False, "routes": []}',
        "group 1: unknown key 'secure' (allowed: prefix, host, security, plugins, routes)",
    ),
    "non-callable target": (
        '{"routes": [("/ok", lambda req: ("status", 200)), ("/x", 42, {})]}',
        "group 1, route 1 ('/x', 42, {}): target 42 is not callable",
    ),
    "no leading slash": (
        '{"routes": [("users", main_controller.index, {})]}',
        "group 1, route 0 ('users', demo.controllers.main_controller.index, {}): "
        "path 'users' must start with '/'",
    ),
    "duplicate route": (
        '{"routes": [("/users/:uid", main_controller.show, {"methods": ["get"]})]}',
        "group 1, route ('/users/:uid', demo.controllers.main_controller.show, "
        "{'methods': ['get']}): duplicate route GET /users/:uid, already defined in group 0 "
        "by ('/users/:id', demo.controllers.main_controller.show, {'methods': ['get', 'delete']})",
    ),
    "ws route without websocket_handle": (
        '{"routes": [("/ws", api_controller, {"protocol": "ws"})]}',
        "group 1, route 0 ('/ws', demo.controllers.api_controller, {'protocol': 'ws'}): "
        "demo.controllers.api_controller is not a WebSocket handler: it has no websocket_handle",
    ),
}

BAD_ROUTER = """
from demo.controllers import api_controller, main_controller


def routes(environment):
    return [
        {"routes": [("/users/:id", main_controller.show, {"methods": ["get", "delete"]})]},
        {bad},
    ]
"""


@pytest.mark.parametrize("command", [("serve", "--no-reload"), ("run",)], ids=["serve", "run"])
@pytest.mark.parametrize("case", list(BAD_TABLES))
def test_a_bad_route_table_fails_in_one_line(
    demo_root: Path, case: str, command: tuple[str, ...]
) -> None:
    group, expected = BAD_TABLES[case]
    (demo_root / "demo" / "router.py").write_text(BAD_ROUTER.replace("{bad}", group))
    port = free_port()
    result = subprocess.run(
        [sys.executable, "-m", "nova_cli.cli.main", *command, "--port", str(port)],
        cwd=demo_root,
        capture_output=True,
        text=True,
        timeout=60,
        env={**os.environ, "NO_COLOR": "1"},
    )
    assert result.returncode == 1, result
    assert result.stderr == f"error: {expected}\n"
    assert "Traceback" not in result.stdout
    with pytest.raises(OSError):
        socket.create_connection(("127.0.0.1", port), timeout=1).close()


# -- a client that leaves mid-body -------------------------------------------

RECORD_ROUTE = """

_original_routes = routes
CALLS = []


def routes(environment):
    async def record(req):
        CALLS.append(len(req.body))
        return ("status", 204)

    async def calls(req):
        return ("json", CALLS)

    extra = [("/record", record, {"methods": ["post"]}), ("/calls", calls, {"methods": ["get"]})]
    return _original_routes(environment) + [{"plugins": [], "routes": extra}]
"""


def test_a_body_cut_short_is_never_dispatched(demo_root: Path) -> None:
    with (demo_root / "demo" / "router.py").open("a") as router:
        router.write(RECORD_ROUTE)
    with uvicorn_app(demo_root) as server:
        with socket.create_connection(("127.0.0.1", server.port), timeout=10) as sock:
            sock.sendall(
                b"POST /record HTTP/1.1\r\nhost: 127.0.0.1\r\ncontent-length: 1000\r\n\r\n"
                b"0123456789"
            )
            sock.shutdown(socket.SHUT_WR)  # gone after 10 of the 1,000 bytes
            # The server closing its side means it has seen the client go.
            assert sock.recv(65536) == b""
        # (record and calls run on the event loop: by the time /calls is read, a
        # dispatch of the cut request would have been recorded.)
        with httpx.Client(base_url=server.url, timeout=10) as c:
            assert c.get("/calls").json() == []
            assert c.post("/record", content=b"0123456789").status_code == 204
            assert c.get("/calls").json() == [10]


# -- a response that fails while it is sent -----------------------------------

FAILING_RESPONSES = """

_original_routes = routes


def routes(environment):
    from starlette.responses import FileResponse, StreamingResponse

    def gone(req):
        return FileResponse("/nonexistent/nova-test-file")

    def half(req):
        def chunks():
            yield b"first part "
            raise RuntimeError("second part failed")
        return StreamingResponse(chunks())

    return _original_routes(environment) + [{"routes": [("/gone", gone), ("/half", half)]}]
"""


def test_a_response_that_fails_is_a_500_or_a_closed_connection(demo_root: Path) -> None:
    with (demo_root / "demo" / "router.py").open("a") as router:
        router.write(FAILING_RESPONSES)
    with uvicorn_app(demo_root) as server:
        # Before its first byte: Nova's negotiated 500, and the connection goes on.
        with httpx.Client(base_url=server.url, timeout=10) as c:
            r = c.get("/gone")
            assert (r.status_code, r.json()["error"]) == (500, "internal_server_error")
            assert "nonexistent" not in r.text  # plain uvicorn: prod
            assert c.get("/heartbeat").status_code == 200
        # After it: the server closes the connection on half a response.
        status, data = raw_request(server.port, "/half")
        assert status == 200
        assert b"first part" in data and not data.endswith(b"0\r\n\r\n")
        assert "File at path /nonexistent/nova-test-file does not exist" in server.output()
        assert "second part failed" in server.output()
