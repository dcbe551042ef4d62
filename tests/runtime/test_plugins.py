"""Plugins: the pre/post chain, global vs group lists, and the built-in plugins."""

from __future__ import annotations

import logging
import uuid
from typing import Any

import pytest
from starlette.testclient import TestClient

from nova_cli.core.names import BUILTIN_PLUGINS
from nova_cli.runtime.plugins import load_plugins, resolve
from tests.runtime.conftest import Apps

PLUGGED_APP = {
    "router.py": """
        from plugged import tracer
        from plugged.controller import show, form, echo

        def routes(environment):
            return [
                # No plugins key: the global list from [tool.nova] applies.
                {"prefix": "/global", "routes": [("/", show)]},
                # A group list replaces the global one entirely.
                {"prefix": "/group", "plugins": [
                    ("pre_request", tracer, {"name": "g1"}),
                    ("post_request", tracer, {"name": "g-post"}),
                    ("pre_request", "plugged.tracer", {"name": "g2"}),
                ], "routes": [("/", show)]},
                {"prefix": "/none", "plugins": [], "routes": [("/", show)]},
                {"prefix": "/break", "plugins": [
                    ("pre_request", tracer, {"name": "b1"}),
                    ("pre_request", tracer, {"name": "b2", "do": "break"}),
                    ("pre_request", tracer, {"name": "b3"}),
                ], "routes": [("/", show)]},
                {"prefix": "/stop", "security": tracer.deny, "plugins": [
                    ("pre_request", tracer, {"name": "s1", "do": "stop"}),
                    ("pre_request", tracer, {"name": "s2"}),
                    ("post_request", tracer, {"name": "s-post"}),
                ], "routes": [("/", show)]},
                {"prefix": "/replace", "plugins": [
                    ("post_request", tracer, {"name": "r", "do": "replace"}),
                ], "routes": [("/", show)]},
                {"prefix": "/ok", "plugins": [
                    ("pre_request", tracer, {"name": "o", "do": "ok"}),
                ], "routes": [("/", show)]},
                {"prefix": "/bad", "plugins": [
                    ("pre_request", tracer, {"name": "x", "do": "garbage"}),
                ], "routes": [("/", show)]},
                {"prefix": "/raise", "plugins": [
                    ("pre_request", tracer, {"name": "x", "do": "raise"}),
                ], "routes": [("/", show)]},
                {"prefix": "/sync", "plugins": [
                    ("pre_request", "plugged.tracer:SyncPlugin", {"name": "sync"}),
                ], "routes": [("/", show)]},
                {"prefix": "/req", "plugins": [
                    ("pre_request", "request", {"decode_json_body": True,
                                                 "read_urlencoded_body": True,
                                                 "parse_qs": True}),
                ], "routes": [("/echo", echo), ("/form", form, {"methods": ["post"]})]},
                {"prefix": "/qslist", "plugins": [
                    ("pre_request", "nova_request_plugin", {"parse_qs": "list"}),
                ], "routes": [("/echo", echo)]},
                {"prefix": "/cors", "plugins": [
                    ("pre_request", "cors", {"allow_origins": "*"}),
                ], "routes": [
                    ("/any", show),
                    ("/get", show, {"methods": ["get"]}),
                    ("/preflight", show, {"methods": ["get", "options"]}),
                ]},
                {"prefix": "/cors-list", "plugins": [
                    ("pre_request", "nova_cors_plugin", {
                        "allow_origins": ["https://a.example", "https://b.example"],
                        "allow_methods": "GET, POST", "allow_headers": "content-type"}),
                ], "routes": [("/", show)]},
                {"prefix": "/corr", "plugins": [
                    ("pre_request", "correlation", {}),
                ], "routes": [("/", show)]},
                {"prefix": "/corr-header", "plugins": [
                    ("pre_request", "nova_correlation_plugin",
                     {"request_correlation_header": "X-Request-ID"}),
                ], "routes": [("/", show), ("/boom", echo)]},
            ]
    """,
    "controller.py": """
        def show(req):
            trace = req.state.setdefault("trace", [])
            trace.append("controller")
            return ("json", 200, {"x-controller": "1"},
                    {"trace": trace, "correlation_id": req.correlation_id})

        def form(req):
            return ("json", 200, {}, {"params": req.params, "json": req.json})

        def echo(req):
            if req.path.endswith("/boom"):
                raise RuntimeError("boom")
            return ("json", 200, {}, {"json": req.json, "qs": req.parsed_qs,
                                      "body": req.body.decode(), "params": req.params})
    """,
    "tracer.py": """
        from starlette.responses import PlainTextResponse

        def pre_request(req, options):
            req.state.setdefault("trace", []).append(options["name"])
            do = options.get("do")
            if do == "break":
                return ("break", req)
            if do == "stop":
                return ("stop", ("status", 418, {"x-stopped": options["name"]}, "stopped"))
            if do == "ok":
                return ("ok", req)
            if do == "garbage":
                return 42
            if do == "raise":
                raise ValueError("plugin exploded")
            return None

        async def post_request(req, response, options):
            req.state["trace"].append(options["name"])
            if options.get("do") == "replace":
                return PlainTextResponse("replaced after " + ",".join(req.state["trace"]), 299)
            response.headers["x-post"] = ",".join(req.state["trace"])
            return None

        def deny(req):
            req.state.setdefault("trace", []).append("security")
            return False

        class SyncPlugin:
            @staticmethod
            def pre_request(req, options):
                import threading
                req.state.setdefault("trace", []).append(
                    "thread" if threading.current_thread().name != "MainThread" else "main")
    """,
}

GLOBAL_PLUGINS = """
plugins = [
  ["pre_request", "plugged.tracer", { name = "global-pre" }],
  ["post_request", "plugged.tracer", { name = "global-post" }],
]
"""


@pytest.fixture
def client(apps: Apps) -> TestClient:
    root = apps.write(PLUGGED_APP, package="plugged", tool_nova=GLOBAL_PLUGINS)
    return apps.client(root, environment="dev")  # its 500 pages say what went wrong


def test_global_plugins_from_tool_nova_apply_to_groups_without_a_list(client: TestClient) -> None:
    r = client.get("/global")
    assert r.json()["trace"] == ["global-pre", "controller"]
    assert r.headers["x-post"] == "global-pre,controller,global-post"


def test_a_group_list_replaces_the_global_one_in_list_order(client: TestClient) -> None:
    r = client.get("/group")
    assert r.json()["trace"] == ["g1", "g2", "controller"]
    assert r.headers["x-post"] == "g1,g2,controller,g-post"


def test_an_empty_group_list_means_no_plugins(client: TestClient) -> None:
    r = client.get("/none")
    assert r.json()["trace"] == ["controller"]
    assert "x-post" not in r.headers


def test_break_skips_the_remaining_pre_plugins_and_goes_to_the_controller(
    client: TestClient,
) -> None:
    assert client.get("/break").json()["trace"] == ["b1", "b2", "controller"]


def test_stop_answers_at_once_skipping_security_and_controller(client: TestClient) -> None:
    r = client.get("/stop")
    assert (r.status_code, r.text, r.headers["x-stopped"]) == (418, "stopped", "s1")
    # Post-request plugins still see the reply (they may log or decorate it).
    assert r.headers["x-post"] == "s1,s-post"


def test_post_request_may_replace_the_response(client: TestClient) -> None:
    r = client.get("/replace")
    assert (r.status_code, r.text) == (299, "replaced after controller,r")


def test_ok_tuple_goes_on(client: TestClient) -> None:
    assert client.get("/ok").json()["trace"] == ["o", "controller"]


def test_sync_plugins_run_in_the_thread_pool(client: TestClient) -> None:
    assert client.get("/sync").json()["trace"] == ["thread", "controller"]


def test_a_plugin_returning_garbage_is_a_500_naming_it(client: TestClient) -> None:
    r = client.get("/bad")
    assert r.status_code == 500
    assert "plugin plugged.tracer pre_request returned 42" in r.json()["message"]


def test_a_raising_plugin_is_a_logged_500_and_the_next_request_works(
    client: TestClient, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.ERROR, logger="nova_cli"):
        r = client.get("/raise")
    assert r.status_code == 500
    assert "ValueError: plugin exploded" in caplog.text
    assert client.get("/global").status_code == 200


# -- the request plugin ------------------------------------------------------


def test_decode_json_body(client: TestClient) -> None:
    r = client.post("/req/echo", json={"a": [1, 2]})
    assert r.json()["json"] == {"a": [1, 2]}
    r = client.put(
        "/req/echo", content=b'["x"]', headers={"content-type": "application/vnd.api+json"}
    )
    assert r.json()["json"] == ["x"]


@pytest.mark.parametrize(
    ("body", "message"), [(b'{"a": ', "malformed JSON body"), (b"", "empty JSON body")]
)
def test_malformed_or_empty_json_is_400_with_a_json_error(
    client: TestClient, body: bytes, message: str
) -> None:
    r = client.post(
        "/req/echo", content=body, headers={"content-type": "application/json; charset=utf-8"}
    )
    assert r.status_code == 400
    assert r.headers["content-type"] == "application/json"
    assert r.json()["error"] == "bad_request"
    assert r.json()["message"].startswith(message)


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (b'{"title": NaN}', "JSON body cannot be accepted: NaN is not a JSON number"),
        (b'{"title": Infinity}', "JSON body cannot be accepted: Infinity is not a JSON number"),
        (b'{"title": -Infinity}', "JSON body cannot be accepted: -Infinity is not a JSON number"),
        (b'{"title": 1e999}', "JSON body cannot be accepted: 1e999 is too large for a float"),
        (b'{"title": "\\ud800"}', "JSON body cannot be accepted: lone surrogate '\\ud800'"),
        (b'{"\\uDC00": "key"}', "JSON body cannot be accepted: lone surrogate '\\udc00'"),
    ],
)
def test_json_the_encoder_cannot_write_is_400(
    client: TestClient, body: bytes, message: str
) -> None:
    r = client.post("/req/echo", content=body, headers={"content-type": "application/json"})
    expected = {"status": 400, "error": "bad_request", "message": message}
    assert (r.status_code, r.json()) == (400, expected)


def test_json_nested_1000_deep_is_400_with_nothing_logged(
    client: TestClient, caplog: pytest.LogCaptureFixture
) -> None:
    body = b'{"a": ' * 1000 + b"1" + b"}" * 1000
    with caplog.at_level(logging.DEBUG):
        r = client.post("/req/echo", content=body, headers={"content-type": "application/json"})
    assert r.status_code == 400
    assert r.json()["message"] == "JSON body nested deeper than 512 levels"
    assert [rec for rec in caplog.records if rec.levelno >= logging.WARNING] == []


def test_json_is_not_decoded_for_get_or_other_content_types(client: TestClient) -> None:
    r = client.request(
        "GET", "/req/echo", content=b"{bad", headers={"content-type": "application/json"}
    )
    assert (r.status_code, r.json()["json"]) == (200, None)
    r = client.post("/req/echo", content=b"{bad", headers={"content-type": "text/plain"})
    assert (r.status_code, r.json()["json"], r.json()["body"]) == (200, None, "{bad")


def test_read_urlencoded_body(client: TestClient) -> None:
    r = client.post("/req/form", data={"name": "Ada", "empty": ""})
    assert r.json() == {"params": {"name": "Ada", "empty": ""}, "json": None}
    r = client.post(
        "/req/form",
        content=b"a=1&a=2&b=%C3%A9",
        headers={"content-type": "application/x-www-form-urlencoded"},
    )
    assert r.json()["params"] == {"a": "2", "b": "é"}  # the last duplicate wins, as in Nova


def test_a_non_utf8_form_is_400(client: TestClient) -> None:
    r = client.post(
        "/req/form",
        content=b"a=\xff",
        headers={"content-type": "application/x-www-form-urlencoded"},
    )
    assert (r.status_code, r.json()["message"]) == (400, "form body is not UTF-8")


def test_parse_qs_as_dict_and_as_list(client: TestClient) -> None:
    assert client.get("/req/echo?a=1&b=2&a=3").json()["qs"] == {"a": "3", "b": "2"}
    assert client.get("/qslist/echo?a=1&b=2&a=3").json()["qs"] == [
        ["a", "1"],
        ["b", "2"],
        ["a", "3"],
    ]
    assert client.get("/req/echo").json()["qs"] == {}


def test_without_the_request_plugin_nothing_is_decoded(client: TestClient) -> None:
    r = client.post("/none", json={"a": 1})
    assert r.json()["trace"] == ["controller"]


def test_the_demo_app_uses_the_request_plugin_globally(demo: Any) -> None:
    c = demo()
    r = c.post("/echo?x=1", json={"a": 1})
    assert (r.status_code, r.json()) == (
        201,
        {"json": {"a": 1}, "qs": {"x": "1"}, "body": '{"a":1}'},
    )
    r = c.post("/echo", content=b"{", headers={"content-type": "application/json"})
    assert r.status_code == 400
    assert c.post("/form", data={"k": "v"}).json() == {"params": {"k": "v"}}
    # /plain has its own list (correlation only): no JSON decoding there.
    r = c.post("/plain/echo", json={"a": 1})
    assert r.json()["json"] is None and "x-correlation-id" in r.headers


# -- CORS --------------------------------------------------------------------


def test_cors_headers_on_every_response(client: TestClient) -> None:
    r = client.get("/cors/any", headers={"origin": "https://x.example"})
    assert r.headers["access-control-allow-origin"] == "*"
    assert r.headers["access-control-allow-headers"] == "*"
    assert r.headers["access-control-allow-methods"] == "*"
    assert "vary" not in r.headers


def test_cors_preflight_is_answered_by_the_plugin(client: TestClient) -> None:
    r = client.options("/cors/any", headers={"origin": "https://x.example"})
    assert (r.status_code, r.content) == (200, b"")
    assert r.headers["access-control-allow-origin"] == "*"
    assert "x-controller" not in r.headers
    assert client.options("/cors/preflight").status_code == 200


def test_cors_preflight_to_a_get_only_route_is_405_as_in_nova(client: TestClient) -> None:
    r = client.options("/cors/get")
    assert (r.status_code, r.headers["allow"]) == (405, "GET, HEAD")


def test_cors_with_a_list_of_origins(client: TestClient) -> None:
    r = client.get("/cors-list", headers={"origin": "https://b.example"})
    assert r.headers["access-control-allow-origin"] == "https://b.example"
    assert r.headers["access-control-allow-methods"] == "GET, POST"
    assert r.headers["access-control-allow-headers"] == "content-type"
    assert r.headers["vary"] == "Origin"
    r = client.get("/cors-list", headers={"origin": "https://evil.example"})
    assert "access-control-allow-origin" not in r.headers
    assert r.status_code == 200


# -- correlation id ----------------------------------------------------------


def test_correlation_id_is_generated(client: TestClient) -> None:
    r = client.get("/corr")
    cid = r.headers["x-correlation-id"]
    assert uuid.UUID(cid).version == 4
    assert r.json()["correlation_id"] == cid
    assert client.get("/corr").headers["x-correlation-id"] != cid


def test_correlation_id_is_read_from_the_configured_header(client: TestClient) -> None:
    r = client.get("/corr-header", headers={"x-request-id": "abc-123"})
    assert r.headers["x-correlation-id"] == "abc-123"
    assert r.json()["correlation_id"] == "abc-123"
    assert uuid.UUID(client.get("/corr-header").headers["x-correlation-id"])


def test_response_headers_from_plugins_do_not_override_the_controllers(apps: Apps) -> None:
    root = apps.write(
        {
            "router.py": """
                def ctrl(req):
                    return ("status", 200, {"x-correlation-id": "mine"})
                def routes(environment):
                    return [{"plugins": [("pre_request", "correlation", {})],
                             "routes": [("/", ctrl)]}]
            """
        },
        package="corrwin",
    )
    assert apps.client(root).get("/").headers["x-correlation-id"] == "mine"


# -- loading -----------------------------------------------------------------


@pytest.mark.parametrize(
    ("entries", "message"),
    [
        ("cors", "plugins must be a list of (phase, plugin, options)"),
        ([("pre_request",)], "plugin 0: expected (phase, plugin, options)"),
        ([("around", "cors", {})], "plugin 0: phase 'around' must be one of pre_request, post_"),
        ([("pre_request", "cors", [])], "plugin 0: options must be a dict"),
        ([("pre_request", "cors", {})], "cors plugin needs allow_origins"),
        ([("pre_request", "request", {"decode": True})], "request plugin: unknown options"),
        ([("pre_request", "correlation", {"x": 1})], "correlation plugin: unknown options"),
        ([("post_request", "cors", {"allow_origins": "*"})], "has no post_request function"),
        ([("pre_request", "no.such.module", {})], "plugin 'no.such.module' cannot be imported"),
        ([("pre_request", "json:nothing", {})], "plugin 'json:nothing': json has no 'nothing'"),
        ([{"phase": "pre_request", "plugin": "cors", "opts": {}}], "unknown keys ['opts']"),
    ],
)
def test_bad_plugin_entries(entries: Any, message: str) -> None:
    with pytest.raises((ValueError, TypeError, ImportError), match=None) as info:
        load_plugins(entries)
    assert message in str(info.value)


def test_plugin_entries_as_tables_and_short_names() -> None:
    (a, b) = load_plugins(
        [
            {"phase": "pre_request", "plugin": "cors", "options": {"allow_origins": "*"}},
            ["pre_request", "nova_request_plugin"],
        ]
    )
    assert (a.name, a.options) == ("nova_cli.runtime.plugins.cors", {"allow_origins": "*"})
    assert (b.name, b.options) == ("nova_cli.runtime.plugins.request", {})
    assert set(BUILTIN_PLUGINS) >= {"request", "cors", "correlation"}
    assert resolve(a) is a  # objects pass through


def test_a_bad_global_plugin_list_fails_at_start_up(apps: Apps) -> None:
    from nova_cli.core.config import ConfigError

    root = apps.write(
        {"router.py": "def routes(environment):\n    return []\n"},
        package="badglobal",
        tool_nova='plugins = [["pre_request", "cors", {}]]\n',
    )
    with pytest.raises(
        ConfigError, match=r"\[tool.nova\] plugins: cors plugin needs allow_origins"
    ):
        apps.app(root)


def test_a_bad_group_plugin_list_names_the_group(apps: Apps) -> None:
    from nova_cli.runtime import RouteTableError

    root = apps.write(
        {
            "router.py": """
                def routes(environment):
                    bad = [("pre_request", "cors", {})]
                    return [{"routes": []}, {"plugins": bad, "routes": []}]
            """
        },
        package="badgroup",
    )
    with pytest.raises(
        RouteTableError, match=r"^group 1: plugins: cors plugin needs allow_origins"
    ):
        apps.app(root)
