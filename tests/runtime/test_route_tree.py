"""The segment tree (`routing.RouteTree`): precedence, backtracking, 405 sets."""

from __future__ import annotations

from typing import Any

import pytest

from nova_cli.runtime.route_compiler import compile_routes
from nova_cli.runtime.route_tree import RouteTree


def ctrl(name: str) -> Any:
    def controller(req: Any) -> Any:
        return ("json", {"route": name})

    controller.__qualname__ = name
    return controller


def tree(*routes: tuple[Any, ...]) -> RouteTree:
    table = [{"prefix": "", "routes": [(path, ctrl(name), *opts) for path, name, *opts in routes]}]
    return RouteTree(compile_routes(table))


def hit(t: RouteTree, path: str, method: str = "GET") -> Any:
    found, allowed = t.match(path, method)
    if found is None:
        return ("405", sorted(allowed)) if allowed else "404"
    return found.route.target.__qualname__, found.bindings, found.pathinfo


# Written in the "wrong" order on purpose: wildcard first, then binding, then
# static.  Erlang Nova lets the last inserted sibling win (its issue #408).
WRONG_ORDER = (
    ("/notes/[...]", "wild"),
    ("/notes/:id", "show"),
    ("/notes/new", "new"),
)


@pytest.mark.parametrize("order", [WRONG_ORDER, WRONG_ORDER[::-1]], ids=["wrong", "right"])
def test_static_beats_binding_beats_wildcard_whatever_the_order(order: Any) -> None:
    t = tree(*order)
    assert hit(t, "/notes/new") == ("new", {}, None)
    assert hit(t, "/notes/42") == ("show", {"id": "42"}, None)
    assert hit(t, "/notes/42/edit") == ("wild", {}, ["42", "edit"])
    assert hit(t, "/notes") == ("wild", {}, [])


def test_backtracking_from_a_static_dead_end_to_a_binding() -> None:
    # Erlang Nova answers 404 here: it never leaves the static branch.
    t = tree(("/a/b/c", "abc"), ("/a/:id/edit", "edit"))
    assert hit(t, "/a/b/edit") == ("edit", {"id": "b"}, None)
    assert hit(t, "/a/b/c") == ("abc", {}, None)
    assert hit(t, "/a/b") == "404"


def test_backtracking_from_a_binding_to_a_wildcard() -> None:
    t = tree(("/p/:id", "one"), ("/p/[...]", "many"))
    assert hit(t, "/p/1") == ("one", {"id": "1"}, None)
    assert hit(t, "/p/1/2") == ("many", {}, ["1", "2"])


def test_backtracking_when_the_static_branch_lacks_the_method() -> None:
    t = tree(("/items/special", "special", {"methods": ["post"]}), ("/items/:id", "item"))
    assert hit(t, "/items/special", "GET") == ("item", {"id": "special"}, None)
    assert hit(t, "/items/special", "POST") == ("special", {}, None)


def test_wildcard_at_a_shallower_level_catches_what_deeper_routes_miss() -> None:
    t = tree(("/[...]", "catch_all"), ("/", "root"), ("/api/:v/items", "items"))
    assert hit(t, "/") == ("root", {}, None)
    assert hit(t, "/api/v1/items") == ("items", {"v": "v1"}, None)
    assert hit(t, "/api/v1/other") == ("catch_all", {}, ["api", "v1", "other"])


def test_405_collects_the_allowed_methods_of_the_path() -> None:
    t = tree(
        ("/users/:id", "show", {"methods": ["get", "delete"]}),
        ("/users/:id", "update", {"methods": ["put"]}),
    )
    assert hit(t, "/users/1", "POST") == ("405", ["DELETE", "GET", "HEAD", "PUT"])
    assert hit(t, "/users/1", "PUT") == ("update", {"id": "1"}, None)
    assert hit(t, "/nope", "POST") == "404"


def test_head_is_answered_by_a_get_route() -> None:
    t = tree(("/page", "page", {"methods": ["get"]}), ("/form", "form", {"methods": ["post"]}))
    assert hit(t, "/page", "HEAD")[0] == "page"
    assert hit(t, "/form", "HEAD") == ("405", ["POST"])


def test_no_methods_means_every_method() -> None:
    t = tree(("/any", "any"))
    for method in ("GET", "POST", "PATCH", "OPTIONS", "CUSTOM"):
        assert hit(t, "/any", method)[0] == "any"


def test_trailing_and_double_slashes_are_tolerated() -> None:
    t = tree(("/x/:id", "x"), ("/", "root"))
    assert hit(t, "/x/1/") == ("x", {"id": "1"}, None)
    assert hit(t, "//x//1") == ("x", {"id": "1"}, None)
    assert hit(t, "") == ("root", {}, None)


def test_bindings_capture_whole_segments() -> None:
    t = tree(("/f/:name", "file"), ("/u/:uid/posts/:pid", "post"))
    assert hit(t, "/f/a.json") == ("file", {"name": "a.json"}, None)
    assert hit(t, "/u/7/posts/9") == ("post", {"uid": "7", "pid": "9"}, None)


def test_binding_names_differ_between_sibling_routes() -> None:
    t = tree(
        ("/u/:id", "show", {"methods": ["get"]}), ("/u/:uid/edit", "edit", {"methods": ["get"]})
    )
    assert hit(t, "/u/3") == ("show", {"id": "3"}, None)
    assert hit(t, "/u/3/edit") == ("edit", {"uid": "3"}, None)


def test_a_tree_of_1000_routes_answers_like_a_small_one() -> None:
    routes = [(f"/r{i}/:id", f"r{i}") for i in range(1000)]
    t = tree(*routes, ("/r5/new", "new"))
    assert hit(t, "/r999/7") == ("r999", {"id": "7"}, None)
    assert hit(t, "/r5/new") == ("new", {}, None)
    assert hit(t, "/r1000/7") == "404"
