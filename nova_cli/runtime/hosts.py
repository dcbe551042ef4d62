"""Routing by host: the route groups that name a `host` answer only requests for it.

Nova puts each host's routes in a tree of their own, and a request for a
host that has one is looked up there only: an any-host route never answers
it, even when the host's own routes have nothing for its path.  Here a
request for such a host is looked up in its host's routes first and then,
when nothing there matches the path, in the any-host routes, which is what
people expect from a "shared" route such as `/health` or `/assets/[...]`.
A host's route shadows an any-host route on the same path and method.

The host is the request's `host` header without its port, lower-cased (for
HTTP/2, uvicorn gives `:authority` as `host`).  Apps whose groups name no
host never come here.
"""

from __future__ import annotations

from starlette.types import Scope

from nova_cli.runtime.route_compiler import Route
from nova_cli.runtime.route_tree import Match, RouteTree


def trees(routes: list[Route]) -> dict[str, RouteTree]:
    """A lookup tree per host named by a group: {host: its routes' tree}."""
    by_host: dict[str, list[Route]] = {}
    for route in routes:
        if route.group.host is not None:
            by_host.setdefault(route.group.host, []).append(route)
    return {host: RouteTree(found) for host, found in by_host.items()}


def request_host(scope: Scope) -> str:
    """The host a request is for: its `host` header, without the port, lower-cased."""
    for key, value in scope["headers"]:
        if key == b"host":
            host = value.decode("latin-1").lower()
            if host.startswith("["):  # an IPv6 literal: [::1]:8080
                return host.partition("]")[0] + "]"
            return host.partition(":")[0]
    return ""


def match(
    by_host: dict[str, RouteTree], any_host: RouteTree, scope: Scope, method: str
) -> tuple[Match | None, set[str]]:
    """The host's own route for the request, else an any-host route; as RouteTree.match."""
    own = by_host.get(request_host(scope))
    if own is None:
        return any_host.match(scope["path"], method)
    found, allowed = own.match(scope["path"], method)
    if found is not None:
        return found, allowed
    found, also = any_host.match(scope["path"], method)
    return found, (allowed | also) if found is None else also
