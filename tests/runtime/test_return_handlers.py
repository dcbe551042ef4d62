"""Every return shape through the one normaliser, custom handlers, fallbacks."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from typing import Any

import pytest
from starlette.requests import HTTPConnection
from starlette.responses import Response
from starlette.testclient import TestClient

from nova_cli import handlers
from nova_cli.runtime.request import Request
from nova_cli.runtime.return_handlers import (
    RETURN_SHAPES,
    ReturnContext,
    UnsupportedReturn,
    to_response,
    view_name,
)
from tests.runtime.conftest import Apps

SHAPES_APP = {
    "router.py": """
        from shapes.controllers import items_controller as c

        def routes(environment):
            return [{"routes": [
                ("/json", c.json2, {}),
                ("/json4", c.json4, {}),
                ("/ok", c.ok, {}),
                ("/ok_opts", c.ok_opts, {}),
                ("/view", c.view, {}),
                ("/view_opts", c.view_opts, {}),
                ("/missing_view", c.missing_view, {}),
                ("/status/:code", c.status2, {}),
                ("/status3", c.status3, {}),
                ("/status4/:kind", c.status4, {}),
                ("/redirect", c.redirect, {}),
                ("/sendfile/:offset/:length", c.sendfile, {}),
                ("/sendfile_missing", c.sendfile_missing, {}),
                ("/response", c.response, {}),
                ("/async", c.async_json, {}),
                ("/sync_thread", c.sync_thread, {}),
                ("/async_loop", c.async_loop, {}),
                ("/custom2", c.custom2, {}),
                ("/custom4", c.custom4, {}),
                ("/custom3", c.custom3, {}),
                ("/bad/:which", c.bad, {}),
                ("/plain/:which", c.plain_bad, {}),
            ]}]
    """,
    "controllers/__init__.py": "",
    "controllers/items_controller.py": """
        import asyncio
        import pathlib
        import threading

        from starlette.responses import PlainTextResponse

        from shapes.controllers import items_fallback

        fallback_controller = items_fallback
        DATA = pathlib.Path(__file__).parent / "data.bin"

        def json2(req):
            return ("json", {"method": req.method, "list": [1, 2], "text": "é"})

        def json4(req):
            return ("json", 202, {"x-json": "yes", "content-type": "application/vnd.x+json"}, [1])

        def ok(req):
            return ("ok", {"name": "ok"})

        def ok_opts(req):
            return ("ok", {"name": "opts"}, {"view": "other", "status_code": 203,
                                              "headers": {"x-view": "1"}})

        def view(req):
            return ("view", {"name": "<b>view</b>"})

        def view_opts(req):
            return ("view", {"name": "v"}, {"view": "other.html", "status_code": 404})

        def missing_view(req):
            return ("ok", {}, {"view": "nowhere"})

        def status2(req):
            return ("status", int(req.bindings["code"]))

        def status3(req):
            return ("status", 204, {"x-a": "1"})

        def status4(req):
            kind = req.bindings["kind"]
            body = {"dict": {"a": 1}, "list": [1, 2], "str": "text é", "bytes": b"\\x00\\x01",
                    "typed": {"a": 1}}[kind]
            headers = {"content-type": "application/problem+json"} if kind == "typed" else {}
            return ("status", 409, headers, body)

        def redirect(req):
            return ("redirect", "/elsewhere?x=1")

        def sendfile(req):
            offset, length = int(req.bindings["offset"]), int(req.bindings["length"])
            return ("sendfile", 200, {"x-file": "1"}, (offset, length, str(DATA)),
                    "application/octet-stream")

        def sendfile_missing(req):
            return ("sendfile", 200, {}, (0, 1, str(DATA) + ".nope"), "text/plain")

        def response(req):
            return PlainTextResponse("raw", 203, headers={"x-raw": "1"})

        async def async_json(req):
            await asyncio.sleep(0)
            return ("json", {"async": True})

        def on_loop():
            try:
                asyncio.get_running_loop()  # only the event loop's thread has one
            except RuntimeError:
                return False
            return True

        def sync_thread(req):
            return ("json", {"on_loop": on_loop(), "main": threading.current_thread().name})

        async def async_loop(req):
            return ("json", {"on_loop": on_loop()})

        def custom2(req):
            return ("csv", [["a", "b"], ["1", "2"]])

        def custom4(req):
            return ("csv", 201, {"x-csv": "1"}, [["x"]])

        def custom3(req):
            return ("csv", 201, [["x"]])

        def bad(req):
            return {"none": None, "string": "a bare string", "tuple": ("teapot", 418),
                    "number": 42, "empty": (), "json3": ("json", 200, {}),
                    "status_bad": ("status", 999), "list": ["json", {}],
                    "resolve_bad": ("resolve_bad",), "resolve_raise": ("resolve_raise",)}[
                        req.bindings["which"]]

        def plain_bad(req):
            return bad(req)
    """,
    "controllers/items_fallback.py": """
        def resolve(req, invalid_return):
            if invalid_return == ("resolve_bad",):
                return "still not a response"
            if invalid_return == ("resolve_raise",):
                raise LookupError("fallback gave up")
            if isinstance(invalid_return, tuple) and invalid_return[:1] == ("teapot",):
                return ("status", 418, {}, {"resolved": repr(invalid_return)})
            return ("json", 200, {"x-fallback": "1"}, {"resolved": repr(invalid_return)})
    """,
    "views/items.html": "<p>{{ name }}</p>",
    "views/other.html": "<i>{{ name }}</i>",
    "controllers/data.bin": "0123456789",
}


@pytest.fixture
def csv_handler() -> Iterator[None]:
    def handle(status_code: int, extra_headers: dict[str, str], payload: Any) -> Response:
        text = "\n".join(",".join(row) for row in payload)
        return Response(text, status_code, {"content-type": "text/csv", **extra_headers})

    handlers.register_handler("csv", handle)
    yield
    handlers.unregister_handler("csv")


@pytest.fixture
def client(apps: Apps, csv_handler: None) -> TestClient:
    root = apps.write(SHAPES_APP, package="shapes")
    return apps.client(root, environment="dev")  # its 500 pages say what went wrong


def test_json_is_200_for_get_and_201_for_post(client: TestClient) -> None:
    r = client.get("/json")
    assert r.status_code == 200
    assert r.headers["content-type"] == "application/json"
    assert r.json() == {"method": "GET", "list": [1, 2], "text": "é"}
    assert r.content == '{"method":"GET","list":[1,2],"text":"é"}'.encode()  # compact UTF-8
    r = client.post("/json")
    assert (r.status_code, r.json()["method"]) == (201, "POST")
    assert client.put("/json").status_code == 200
    assert client.patch("/json").status_code == 200


def test_json_4_tuple_merges_headers_user_wins(client: TestClient) -> None:
    r = client.get("/json4")
    assert r.status_code == 202
    assert r.headers["x-json"] == "yes"
    assert r.headers["content-type"] == "application/vnd.x+json"
    assert r.json() == [1]
    assert client.post("/json4").status_code == 202  # an explicit status is kept on POST


def test_ok_renders_the_view_named_after_the_controller_module(client: TestClient) -> None:
    r = client.get("/ok")
    assert r.status_code == 200
    assert r.headers["content-type"] == "text/html; charset=utf-8"
    assert r.text == "<p>ok</p>"


def test_ok_opts_view_status_code_headers(client: TestClient) -> None:
    r = client.get("/ok_opts")
    assert (r.status_code, r.text, r.headers["x-view"]) == (203, "<i>opts</i>", "1")
    r = client.get("/view_opts")
    assert (r.status_code, r.text) == (404, "<i>v</i>")


def test_view_is_ok_and_autoescapes(client: TestClient) -> None:
    r = client.get("/view")
    assert (r.status_code, r.text) == (200, "<p>&lt;b&gt;view&lt;/b&gt;</p>")


def test_missing_view_is_a_500_that_names_it(client: TestClient) -> None:
    r = client.get("/missing_view")
    assert r.status_code == 500
    assert "view 'nowhere.html' not found" in r.json()["message"]


@pytest.mark.parametrize("code", [200, 204, 302, 404, 418, 503])
def test_status_2_tuple_has_an_empty_body(client: TestClient, code: int) -> None:
    r = client.get(f"/status/{code}")
    assert (r.status_code, r.content) == (code, b"")


def test_status_3_tuple_adds_headers(client: TestClient) -> None:
    r = client.get("/status3")
    assert (r.status_code, r.headers["x-a"], r.content) == (204, "1", b"")


@pytest.mark.parametrize(
    ("kind", "content_type", "body"),
    [
        ("dict", "application/json", b'{"a":1}'),
        ("list", "application/json", b"[1,2]"),
        ("str", None, "text é".encode()),
        ("bytes", None, b"\x00\x01"),
        ("typed", "application/problem+json", b'{"a":1}'),
    ],
)
def test_status_4_tuple_bodies(
    client: TestClient, kind: str, content_type: str | None, body: bytes
) -> None:
    r = client.get(f"/status4/{kind}")
    assert r.status_code == 409
    assert r.headers.get("content-type") == content_type
    assert r.content == body


def test_redirect_is_302_with_location(client: TestClient) -> None:
    r = client.get("/redirect")
    assert (r.status_code, r.headers["location"], r.content) == (302, "/elsewhere?x=1", b"")


@pytest.mark.parametrize(
    ("offset", "length", "body"),
    [(0, 10, b"0123456789"), (3, 4, b"3456"), (8, 100, b"89"), (10, 5, b""), (0, 0, b"")],
)
def test_sendfile_sends_the_slice(
    client: TestClient, offset: int, length: int, body: bytes
) -> None:
    r = client.get(f"/sendfile/{offset}/{length}")
    assert r.status_code == 200
    assert r.content == body
    assert r.headers["content-length"] == str(len(body))
    assert r.headers["content-type"] == "application/octet-stream"
    assert r.headers["x-file"] == "1"


def test_sendfile_of_a_missing_file_is_500(client: TestClient) -> None:
    assert client.get("/sendfile_missing").status_code == 500


def test_starlette_response_passes_through(client: TestClient) -> None:
    r = client.get("/response")
    assert (r.status_code, r.text, r.headers["x-raw"]) == (203, "raw", "1")


def test_sync_controllers_run_in_a_thread_async_ones_on_the_loop(client: TestClient) -> None:
    assert client.get("/async").json() == {"async": True}
    assert client.get("/async_loop").json() == {"on_loop": True}
    sync = client.get("/sync_thread").json()
    assert sync["on_loop"] is False  # a worker thread: blocking code does not stall the loop
    assert sync["main"] != "MainThread"


# -- custom handlers ---------------------------------------------------------


def test_custom_handler_2_tuple_gets_200_and_no_headers(client: TestClient) -> None:
    r = client.get("/custom2")
    assert (r.status_code, r.headers["content-type"], r.text) == (200, "text/csv", "a,b\n1,2")


def test_custom_handler_4_tuple_gets_status_and_headers(client: TestClient) -> None:
    r = client.get("/custom4")
    assert (r.status_code, r.headers["x-csv"], r.text) == (201, "1", "x")


def test_custom_handler_other_arity_goes_to_the_fallback(client: TestClient) -> None:
    r = client.get("/custom3")
    assert r.json() == {"resolved": "('csv', 201, [['x']])"}


def test_unregistered_handler_is_unsupported(client: TestClient) -> None:
    handlers.unregister_handler("csv")
    r = client.get("/custom2")
    assert r.headers["x-fallback"] == "1"
    assert "('csv'," in r.json()["resolved"]


def test_the_seed_xml_handler_of_the_demo_app(demo: Any) -> None:
    c = demo()
    r = c.get("/xml")
    assert (r.status_code, r.headers["content-type"]) == (200, "application/xml")
    assert r.text == "<user><name>Alice</name></user>"
    r = c.get("/xml4")
    assert (r.status_code, r.headers["x-h"], r.text) == (201, "1", "<ok/>")


def test_register_handler_rules(csv_handler: None) -> None:
    def other(status: int, headers: dict[str, str], payload: Any) -> Response:
        return Response(b"")

    with pytest.raises(ValueError, match="'json' is a built-in handler"):
        handlers.register_handler("json", other)
    with pytest.raises(ValueError, match="'csv' is already registered by .*handle"):
        handlers.register_handler("csv", other)
    with pytest.raises(TypeError, match="must be callable"):
        handlers.register_handler("x", "nope")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="non-empty string"):
        handlers.register_handler("", other)
    handlers.unregister_handler("csv")
    handlers.unregister_handler("never-registered")  # ignored
    handlers.register_handler("csv", other)
    assert handlers.get_handler("csv") is other


async def test_async_custom_handler_and_bad_handler_results() -> None:
    async def async_handler(status: int, headers: dict[str, str], payload: Any) -> Response:
        return Response(payload, status, headers)

    def bad_handler(status: int, headers: dict[str, str], payload: Any) -> Any:
        return payload

    def raising(status: int, headers: dict[str, str], payload: Any) -> Any:
        raise RuntimeError("handler broke")

    handlers.register_handler("t_async", async_handler)
    handlers.register_handler("t_bad", bad_handler)
    handlers.register_handler("t_raise", raising)
    try:
        response = await to_response(("t_async", 207, {"x": "1"}, "hi"), context())
        assert (response.status_code, response.body, response.headers["x"]) == (207, b"hi", "1")
        with pytest.raises(TypeError, match="'t_bad' .* returned 'oops', not a starlette Response"):
            await to_response(("t_bad", "oops"), context())
        with pytest.raises(RuntimeError, match="handler broke"):
            await to_response(("t_raise", "x"), context())
    finally:
        for name in ("t_async", "t_bad", "t_raise"):
            handlers.unregister_handler(name)


def test_a_raising_handler_is_a_logged_500_and_the_next_request_works(
    apps: Apps, caplog: pytest.LogCaptureFixture
) -> None:
    def raising(status: int, headers: dict[str, str], payload: Any) -> Any:
        raise RuntimeError("handler broke")

    root = apps.write(
        {
            "router.py": """
                def routes(environment):
                    return [{"routes": [("/x", lambda req: ("explode", 1)),
                                        ("/ok", lambda req: ("status", 200))]}]
            """
        },
        package="raiser",
    )
    handlers.register_handler("explode", raising)
    try:
        c = apps.client(root)
        with caplog.at_level(logging.ERROR, logger="nova_cli"):
            r = c.get("/x")
        assert r.status_code == 500
        assert "RuntimeError: handler broke" in caplog.text
        assert "Traceback" in caplog.text
        assert c.get("/ok").status_code == 200
    finally:
        handlers.unregister_handler("explode")


# -- fallback controllers ----------------------------------------------------


@pytest.mark.parametrize(
    ("which", "resolved"),
    [
        ("none", "None"),
        ("string", "'a bare string'"),
        ("tuple", None),
        ("number", "42"),
        ("empty", "()"),
        ("json3", "('json', 200, {})"),
        ("status_bad", "('status', 999)"),
        ("list", "['json', {}]"),
    ],
)
def test_fallback_resolves_any_unsupported_value(
    client: TestClient, which: str, resolved: str | None
) -> None:
    r = client.get(f"/bad/{which}")
    if resolved is None:  # ("teapot", 418): the fallback answers with its own status
        assert (r.status_code, r.json()) == (418, {"resolved": "('teapot', 418)"})
    else:
        assert (r.status_code, r.headers["x-fallback"]) == (200, "1")
        assert r.json() == {"resolved": resolved}


def test_fallback_returning_an_unsupported_value_is_500(
    client: TestClient, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.ERROR, logger="nova_cli"):
        r = client.get("/bad/resolve_bad")
    assert r.status_code == 500
    assert "controller returned 'still not a response'" in r.json()["message"]
    assert "/bad/resolve_bad failed" in caplog.text


def test_fallback_that_raises_is_500(client: TestClient) -> None:
    r = client.get("/bad/resolve_raise")
    assert r.status_code == 500
    assert r.json()["message"] == "LookupError: fallback gave up"


def test_without_a_fallback_the_500_page_says_what_was_returned(demo: Any) -> None:
    r = demo(environment="dev").get("/nofallback")
    assert r.status_code == 500
    message = r.json()["message"]
    assert message.startswith("controller returned ('nonsense', 1) (no handler named 'nonsense')")
    assert "expected one of:" in message and '("json", data)' in message


def test_without_a_fallback_a_none_return_is_500_and_named(apps: Apps) -> None:
    root = apps.write(
        {
            "router.py": """
                from nofb import controller
                def routes(environment):
                    return [{"routes": [("/none", controller.none), ("/str", controller.text)]}]
            """,
            "controller.py": """
                def none(req):
                    return None
                def text(req):
                    return "a bare string"
            """,
        },
        package="nofb",
    )
    c = apps.client(root, environment="dev")
    assert c.get("/none").json()["message"].startswith("controller returned None; expected")
    r = c.get("/str", headers={"accept": "text/html"})
    assert r.status_code == 500
    assert "controller returned &#x27;a bare string&#x27;" in r.text


def test_prod_500_for_an_unsupported_value_hides_it(demo: Any) -> None:
    r = demo(environment="prod").get("/nofallback")
    assert r.status_code == 500
    assert "nonsense" not in r.text
    assert r.json()["message"] == "The server could not handle this request."


def test_demo_fallbacks(demo: Any) -> None:
    c = demo(environment="dev")
    assert c.get("/unknown").json()["got"] == "('error', 'not_found')"
    assert c.get("/bare").json()["got"] == "'something unexpected'"
    r = c.get("/none")  # the demo's fallback refuses None by raising
    assert (r.status_code, r.json()["message"]) == (500, "TypeError: cannot resolve None")


# -- the normaliser itself ---------------------------------------------------


def context(method: str = "GET", default_status: int = 200) -> ReturnContext:
    scope = {"type": "http", "method": method, "path": "/", "headers": [], "query_string": b""}
    return ReturnContext(Request(HTTPConnection(scope), method=method), None, None, default_status)


@pytest.mark.parametrize(
    ("value", "reason"),
    [
        (("json",), "json takes (json, data) or (json, status, headers, data)"),
        (("json", "200", {}, {}), "'200' is not an HTTP status code"),
        (("json", True, {}, {}), "True is not an HTTP status code"),
        (("json", 200, "x", {}), "headers must be a dict"),
        (("status", 200, {}, 3.5), "body must be a dict, list, str or bytes"),
        (("status",), "status takes (status, code[, headers[, body]])"),
        (("redirect", 3), "redirect takes (redirect, url)"),
        (("redirect", "/a", {}), "redirect takes (redirect, url)"),
        (("sendfile", 200, {}, ("a", 1, "/x"), "t"), "offset and length must be non-negative"),
        (("sendfile", 200, {}, (-1, 1, "/x"), "t"), "offset and length must be non-negative"),
        (("sendfile", 200, {}, "/x", "t"), "sendfile takes (sendfile, status, headers,"),
        (("ok", {}, {"template": "x"}), "unknown opts ['template']"),
        (("ok", "text", {}), "vars must be a dict or a list of (name, value) pairs"),
        (("ok", [("a", 1, 2)]), "vars must be a dict or a list of (name, value) pairs"),
        (("ok", {}, []), "opts must be a dict"),
        (("ok",), "ok takes (ok, vars) or (ok, vars, opts)"),
        ((1, 2), ""),
        ("text", ""),
    ],
)
async def test_unsupported_shapes_say_why(value: Any, reason: str) -> None:
    with pytest.raises(UnsupportedReturn) as info:
        await to_response(value, context())
    assert info.value.value == value
    assert reason in str(info.value)
    assert str(info.value).endswith("; ".join(RETURN_SHAPES))


async def test_status_route_context_renders_with_its_code() -> None:
    response = await to_response(("json", {"a": 1}), context("POST", default_status=404))
    assert response.status_code == 404


async def test_headers_as_a_list_of_pairs() -> None:
    response = await to_response(("status", 200, [("x-a", "1"), ("x-b", 2)]), context())
    assert (response.headers["x-a"], response.headers["x-b"]) == ("1", "2")


async def test_json_rejects_nan_and_unserialisable_values() -> None:
    with pytest.raises(ValueError):
        await to_response(("json", {"x": float("nan")}), context())
    with pytest.raises(TypeError):
        await to_response(("json", {"x": object()}), context())


def test_view_name_follows_nova() -> None:
    def f() -> None: ...

    f.__module__ = "app.controllers.main_controller"
    assert view_name(f) == "main"
    f.__module__ = "app.controllers.pages"
    assert view_name(f) == "pages"


@pytest.mark.parametrize(
    "data",
    [
        {"message": "Hello world!"},
        [1, 2.5, None, True],
        "é ✓",
        {"a": {"b": []}},
        0,
        {"q": 'say "hi"\n\t\u2028', "f": [1e300, -0.0, 1e-7, 3.14159]},
        {1: "int key", None: "none key", 2.5: "float key", False: "bool key"},
        ("a", "tuple"),
    ],
)
def test_json_bytes_are_starlettes(data: Any) -> None:
    from starlette.responses import JSONResponse

    from nova_cli.runtime.return_handlers import encode_json

    assert encode_json(data) == JSONResponse(data).body


def _cycle() -> dict[str, Any]:
    data: dict[str, Any] = {}
    data["self"] = data
    return data


@pytest.mark.parametrize(
    ("data", "error"),
    [
        (float("nan"), ValueError),
        ({"when": object()}, TypeError),
        ({1j: "complex key"}, TypeError),
        (_cycle(), RecursionError),  # a 500, like any other value that cannot be encoded
    ],
)
def test_what_json_cannot_encode_raises(data: Any, error: type[Exception]) -> None:
    from nova_cli.runtime.return_handlers import encode_json

    with pytest.raises(error):
        encode_json(data)
