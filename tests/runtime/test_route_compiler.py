"""Route-table validation (`routes.compile_routes`): every rule, one-line errors."""

from __future__ import annotations

import types
from pathlib import Path
from typing import Any

import pytest

from nova_cli.runtime.plugins import load_plugins
from nova_cli.runtime.route_compiler import RouteTableError, compile_routes, describe


def index(req: Any) -> Any:
    return ("json", {})


def show(req: Any) -> Any:
    return ("json", {})


def ws_module(name: str = "chat_ws_handler", *, handle: bool = True) -> types.ModuleType:
    module = types.ModuleType(name)
    module.init = lambda state: ("ok", state)  # type: ignore[attr-defined]
    if handle:
        module.websocket_handle = lambda frame, state: ("ok", state)  # type: ignore[attr-defined]
    return module


def compile_one(*routes: Any, app_dir: Path | None = None, **group: Any) -> list[Any]:
    return compile_routes(
        [{"prefix": "", "routes": list(routes), **group}],
        app_dir=app_dir,
        plugin_loader=load_plugins,
    )


def error_of(groups: Any, app_dir: Path | None = None) -> str:
    with pytest.raises(RouteTableError) as info:
        compile_routes(groups, app_dir=app_dir, plugin_loader=load_plugins)
    message = str(info.value)
    assert "\n" not in message, message
    return message


OK_GROUP = {"prefix": "", "routes": [("/", index, {"methods": ["get"]})]}


@pytest.mark.parametrize(
    ("entry", "expected"),
    [
        # (route entry, text the one-line error must contain after "group 1, route 0 ")
        (("/x", "not callable", {"protocol": "http"}), "static route takes no protocol"),
        (("/x", 42, {}), "target 42 is not callable"),
        (("/x", None), "target None is not callable"),
        (("x", index, {}), "path 'x' must start with '/'"),
        (("/x", index, {"method": ["get"]}), "unknown option 'method'"),
        (("/x", index, {"methods": ["fetch"]}), "unknown method 'fetch'"),
        (("/x", index, {"methods": "get"}), "methods must be a list"),
        (("/x", index, {"methods": []}), "methods is empty"),
        (("/x/[...]/y", index, {}), "'[...]' must be the last segment"),
        (("/x/a[...]", index, {}), "'[...]' must be a whole segment"),
        (("/x/:1d", index, {}), "binding ':1d' must be ':' and an identifier"),
        (("/x/:id/:id", index, {}), "binding ':id' appears twice"),
        ((99, index, {}), "status code 99 is not between 100 and 599"),
        ((600, index, {}), "status code 600 is not between 100 and 599"),
        ((404, ws_module(), {}), "a status-code route needs a callable controller"),
        (("/ws", ws_module(handle=False), {"protocol": "ws"}), "has no websocket_handle"),
        (("/ws", ws_module(), {"protocol": "ws", "methods": ["get"]}), "ws route takes no methods"),
        (("/ws", ws_module(), {}), "is a module; a WebSocket handler needs"),
        (("/x", index, {"protocol": "grpc"}), "unknown protocol 'grpc'"),
        (("/x", index, {"sync_callbacks": "thread"}), "sync_callbacks is an option of ws routes"),
        (
            ("/ws", ws_module(), {"protocol": "ws", "sync_callbacks": "pool"}),
            "sync_callbacks must be one of 'inline', 'thread', got 'pool'",
        ),
        (("/x", index, "get"), "options must be a dict"),
        (("/x",), "a route must be a tuple"),
        (["/x", index], "a route must be a tuple"),
        ((1.5, index, {}), "path must be a string or a status code"),
    ],
)
def test_bad_route_entry_is_one_line_naming_group_and_entry(entry: Any, expected: str) -> None:
    message = error_of([OK_GROUP, {"prefix": "/g", "routes": [entry]}])
    assert message.startswith("group 1, route 0 "), message
    assert expected in message
    # The entry is shown as the user wrote it (functions and modules by name).
    first = entry[0] if isinstance(entry, tuple | list) else entry
    assert repr(first) in message


def test_error_names_the_target_by_dotted_name() -> None:
    message = error_of([{"routes": [("/x", index, {"methods": ["gte"]})]}])
    assert message.startswith(f"group 0, route 0 ('/x', {__name__}.index, ")


def test_error_counts_routes_inside_the_group() -> None:
    routes = [("/a", index), ("/b", index), ("c", index)]
    assert error_of([{"routes": routes}]).startswith("group 0, route 2 ('c', ")


def test_ws_route_without_websocket_handle_names_the_module() -> None:
    message = error_of(
        [{"routes": [("/ws", ws_module("broken_ws", handle=False), {"protocol": "ws"})]}]
    )
    assert message == (
        "group 0, route 0 ('/ws', broken_ws, {'protocol': 'ws'}): "
        "broken_ws is not a WebSocket handler: it has no websocket_handle"
    )


@pytest.mark.parametrize(
    ("group", "expected"),
    [
        ({"prefix": "", "route": []}, "group 1: unknown key 'route'"),
        ({"prefix": "api"}, "group 1: prefix must be a string starting with '/'"),
        ({"security": "yes"}, "group 1: security must be False or a callable"),
        ({"routes": ("/x", index)}, "group 1, route 0 '/x': a route must be a tuple"),
        ({"routes": {"/x": index}}, "group 1: routes must be a list of tuples, got dict"),
        ({"plugins": [("pre_request", "nova_cli.no_such_plugin", {})]}, "group 1: plugins: "),
        ({"plugins": [("during", "cors", {"allow_origins": "*"})]}, "group 1: plugins: "),
        ("not a dict", "group 1: a group must be a dict"),
    ],
)
def test_bad_group_is_one_line_naming_its_index(group: Any, expected: str) -> None:
    assert error_of([OK_GROUP, group]).startswith(expected)


def test_routes_must_return_a_list() -> None:
    assert "must return a list of groups" in error_of({"routes": []})
    assert "got NoneType" in error_of(None)


def test_duplicate_route_names_both_entries() -> None:
    message = error_of(
        [
            {"routes": [("/users/:id", index, {"methods": ["get"]})]},
            {"routes": [("/users/:id", show, {"methods": ["get", "post"]})]},
        ]
    )
    assert message.startswith("group 1, route ('/users/:id', ")
    assert f"{__name__}.show" in message
    assert (
        "duplicate route GET /users/:id, already defined in group 0 by ('/users/:id', " in message
    )


def test_duplicate_with_other_binding_names_is_the_same_route() -> None:
    message = error_of(
        [
            {
                "routes": [
                    ("/u/:id", index, {"methods": ["get"]}),
                    ("/u/:uid", show, {"methods": ["get"]}),
                ]
            }
        ]
    )
    assert "duplicate route GET /u/:uid" in message


def test_duplicate_through_prefix_and_trailing_slash() -> None:
    message = error_of(
        [
            {"prefix": "/api", "routes": [("/items/", index)]},
            {"routes": [("/api//items", show, {"methods": ["put"]})]},
        ]
    )
    assert "duplicate route (every method) /api/items" in message


def test_an_every_method_route_clashes_with_a_specific_one() -> None:
    # Nova lets the specific one win for its method and the other take the
    # rest, or silently drops one, depending on the order; here it is an error.
    message = error_of([{"routes": [("/m", index, {"methods": ["get"]}), ("/m", show)]}])
    assert "duplicate route (every method) /m" in message


def test_duplicate_status_route_and_ws_route() -> None:
    assert "duplicate route STATUS 404" in error_of([{"routes": [(404, index), (404, show)]}])
    ws = ws_module()
    assert "duplicate route WS /ws" in error_of(
        [{"routes": [("/ws", ws, {"protocol": "ws"}), ("/ws/", ws, {"protocol": "ws"})]}]
    )


def test_same_path_with_disjoint_methods_is_fine() -> None:
    routes = compile_one(
        ("/users/:id", index, {"methods": ["get"]}),
        ("/users/:uid", show, {"methods": ["delete", "put"]}),
        ("/users/:id", ws_module(), {"protocol": "ws"}),  # ws routes live apart
    )
    assert [r.protocol for r in routes] == ["http", "http", "ws"]


def test_missing_static_dir(tmp_path: Path) -> None:
    message = error_of([OK_GROUP, {"routes": [("/assets/[...]", "static")]}], app_dir=tmp_path)
    assert message.startswith("group 1, route 0 ('/assets/[...]', 'static'): static path ")
    assert "does not exist" in message


def test_relative_static_needs_an_app_dir() -> None:
    assert "needs an app package" in error_of([{"routes": [("/s/[...]", "static")]}])


def test_static_routes_resolve_against_the_app_dir(tmp_path: Path) -> None:
    (tmp_path / "static").mkdir()
    (tmp_path / "robots.txt").write_text("x")
    routes = compile_one(
        ("/assets/[...]", "static"), ("/robots.txt", "robots.txt"), app_dir=tmp_path
    )
    assert [(r.protocol, r.target) for r in routes] == [
        ("static", (tmp_path / "static").resolve()),
        ("static", (tmp_path / "robots.txt").resolve()),
    ]


def test_methods_are_upper_cased_and_get_brings_head() -> None:
    get, post, anything, star = compile_one(
        ("/a", index, {"methods": ["get", "Post"]}),
        ("/b", index, {"methods": ["post"]}),
        ("/c", index),
        ("/d", index, {"methods": ["_"]}),
    )
    assert get.methods == {"GET", "HEAD", "POST"}
    assert post.methods == {"POST"}
    assert anything.methods == frozenset() and anything.allows("PATCH")
    assert star.methods == frozenset()


def test_prefix_bindings_and_wildcard_are_parsed() -> None:
    (route,) = compile_one(("/users/:id/[...]", index), prefix="/api/")
    assert route.path == "/api/users/:id/[...]"
    assert route.segments == ("api", "users", ":id", "[...]")
    assert route.bindings == ((2, "id"),)
    assert route.wildcard_at == 3


def test_root_path_under_prefix() -> None:
    (route,) = compile_one(("/", index), prefix="/admin")
    assert route.path == "/admin"


def test_status_routes_ignore_the_prefix() -> None:
    (route,) = compile_one((500, index, {}), prefix="/api")
    assert (route.protocol, route.status_code, route.path) == ("status", 500, "500")


def test_extra_state_and_security_are_kept() -> None:
    def guard(req: Any) -> bool:
        return True

    (route,) = compile_one(("/x", index, {"extra_state": {"a": 1}}), security=guard)
    assert route.extra_state == {"a": 1}
    assert route.group.security is guard
    (open_route,) = compile_one(("/x", index), security=False)
    assert open_route.group.security is None


def test_group_plugins_are_loaded_and_none_means_global() -> None:
    (with_plugins,) = compile_one(("/x", index), plugins=[("pre_request", "correlation", {})])
    assert [p.name for p in with_plugins.group.plugins] == ["nova_cli.runtime.plugins.correlation"]
    (without,) = compile_one(("/x", index))
    assert without.group.plugins is None


def test_lambda_and_callable_object_targets() -> None:
    class Handler:
        def __call__(self, req: Any) -> Any:
            return ("status", 200)

    routes = compile_one(("/a", lambda req: ("status", 200)), ("/b", Handler()))
    assert len(routes) == 2


def test_describe() -> None:
    assert describe(index) == f"{__name__}.index"
    assert describe(ws_module("pkg.ws")) == "pkg.ws"
    assert describe(42) == "42"


def test_ws_sync_callbacks_option() -> None:
    (inline,) = compile_one(("/a", ws_module(), {"protocol": "ws"}))
    (threaded,) = compile_one(("/b", ws_module(), {"protocol": "ws", "sync_callbacks": "thread"}))
    assert (inline.sync_callbacks, threaded.sync_callbacks) == ("inline", "thread")


def test_json_schema_option_and_novas_extra_state_form(tmp_path: Path) -> None:
    (tmp_path / "schemas").mkdir()
    schema = tmp_path / "schemas" / "book.json"
    schema.write_text('{"type": "object"}')
    named, nova_form, both = compile_one(
        ("/a", index, {"methods": ["post"], "json_schema": "schemas/book.json"}),
        ("/b", index, {"methods": ["post"], "extra_state": {"json_schema": "schemas/book.json"}}),
        (
            "/c",
            index,
            {
                "json_schema": "schemas/book.json",
                "extra_state": {"json_schema": "schemas/book.json"},
            },
        ),
        app_dir=tmp_path,
    )
    assert named.json_schema == nova_form.json_schema == both.json_schema == schema.resolve()
    assert nova_form.extra_state == {"json_schema": "schemas/book.json"}  # still the controller's


@pytest.mark.parametrize(
    ("options", "message"),
    [
        (
            {"json_schema": "schemas/missing.json"},
            "json_schema '{dir}/schemas/missing.json' does not",
        ),
        ({"json_schema": 42}, "json_schema must be a path to a .json file, got 42"),
        (
            {"json_schema": "a.json", "extra_state": {"json_schema": "b.json"}},
            "json_schema is given twice",
        ),
    ],
)
def test_json_schema_errors_name_the_route(tmp_path: Path, options: Any, message: str) -> None:
    (tmp_path / "a.json").write_text("{}")
    (tmp_path / "b.json").write_text("{}")
    with pytest.raises(RouteTableError) as err:
        compile_one(("/x", index, options), app_dir=tmp_path)
    assert message.format(dir=tmp_path) in str(err.value)
    assert str(err.value).startswith("group 0, route 0 ('/x', ")


def test_json_schema_is_for_http_routes_only(tmp_path: Path) -> None:
    (tmp_path / "a.json").write_text("{}")
    with pytest.raises(RouteTableError, match="json_schema is an option of http routes only"):
        compile_one(
            ("/ws", ws_module(), {"protocol": "ws", "json_schema": "a.json"}), app_dir=tmp_path
        )
