"""Validate a Nova route table (`router.routes(environment)`) into `Route` objects.

This is the Python form of `nova_router:compile/1`: every group and route
tuple is checked once, at start-up, and the first bad entry stops everything
with a `RouteTableError` that names its group index and the entry.  Nothing
here knows about HTTP; `route_tree.py` turns the routes into a lookup tree, and
`route_table.py` builds the whole table of an app.
"""

from __future__ import annotations

import keyword
import re
import types
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from nova_cli.core.errors import RouteTableError
from nova_cli.runtime.static import STATIC_OPTION_KEYS, StaticOptions, static_options

GROUP_KEYS = ("prefix", "host", "security", "plugins", "routes")
ROUTE_OPTION_KEYS = (
    "methods",
    "protocol",
    "extra_state",
    "sync_callbacks",
    "json_schema",
    *STATIC_OPTION_KEYS,
)
SYNC_CALLBACKS = ("inline", "thread")  # where a ws handler's plain `def` callbacks run
METHODS = ("GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS", "CONNECT", "TRACE")
_BINDING = re.compile(r"^:([A-Za-z_][A-Za-z0-9_]*)$")
_HOST = re.compile(r"^[a-z0-9]([a-z0-9-]*[a-z0-9])?(\.[a-z0-9]([a-z0-9-]*[a-z0-9])?)*$")
WILDCARD = "[...]"


@dataclass(frozen=True, eq=False)
class Group:
    """A route group's shared settings (prefix, security, plugins)."""

    index: int
    prefix: str
    security: Callable[..., Any] | None
    plugins: list[Any] | None  # None: the global plugin list applies
    host: str | None = None  # the only host the group answers; None: any host
    app: str | None = None  # the sub-app whose router lists the group; None: the main app

    @property
    def label(self) -> str:
        """How messages name the group: `group 2`, or `app 'blog' group 0` for a sub-app's."""
        return _group_label(self.index, self.app)


def _group_label(index: int, app: str | None) -> str:
    return f"group {index}" if app is None else f"app {app!r} group {index}"


@dataclass(frozen=True)
class Mount:
    """Where a sub-app's groups go: its name, a prefix before theirs, a security for all."""

    app: str
    prefix: str = ""  # normalised: "" or "/x", no trailing slash
    security: Any = None  # None: each group keeps its own; False: none; a callable: every group's


@dataclass(frozen=True, eq=False)
class Route:
    """One compiled route: what to call for a path, a method set and a protocol."""

    path: str  # with the group prefix, normalised
    protocol: str  # "http" | "ws" | "static" | "status"
    target: Any  # callable, ws handler module, static Path, or status controller
    group: Group
    methods: frozenset[str] = frozenset()  # empty: every method
    extra_state: Any = None
    status_code: int | None = None
    segments: tuple[str, ...] = ()
    bindings: tuple[tuple[int, str], ...] = ()  # (segment index, binding name)
    wildcard_at: int | None = None  # index of the `[...]` segment, if any
    entry: str = ""  # how the user wrote it, for messages
    sync_callbacks: str = "inline"  # ws routes: "thread" runs plain `def` callbacks in threads
    json_schema: Path | None = None  # http routes: the JSON Schema their request body must meet
    static: StaticOptions | None = None  # static routes: content type, index files, listing

    def allows(self, method: str) -> bool:
        return not self.methods or method in self.methods


def describe(obj: Any) -> str:
    """A short, stable name for a route target: `pkg.module.function`."""
    if isinstance(obj, types.ModuleType):
        return obj.__name__
    module = getattr(obj, "__module__", None)
    name = getattr(obj, "__qualname__", None) or getattr(obj, "__name__", None)
    if module and name:
        return f"{module}.{name}"
    return repr(obj)


def _entry_repr(entry: Any) -> str:
    if isinstance(entry, tuple):
        parts = [
            describe(p) if callable(p) or isinstance(p, types.ModuleType) else repr(p)
            for p in entry
        ]
        text = "(" + ", ".join(parts) + ("," if len(parts) == 1 else "") + ")"
    else:
        text = repr(entry)
    return text if len(text) <= 120 else text[:117] + "..."


def split_path(path: str) -> list[str]:
    """Split a request or route path into segments; empty segments collapse."""
    return [s for s in path.split("/") if s]


def compile_routes(
    groups: Any,
    *,
    app_dir: Path | None = None,
    plugin_loader: Callable[[Any], Any] | None = None,
    existing: list[Route] | None = None,
    mount: Mount | None = None,
) -> list[Route]:
    """Validate the value returned by `routes(environment)` and return its routes.

    With `existing` (the routes of a table being extended, or of the apps
    compiled before), the groups are numbered after that app's groups, and
    a route that clashes with any of them is a duplicate too.  `mount` puts
    the groups in a sub-app (see `subapps.py`).
    """
    if not isinstance(groups, list | tuple):
        raise RouteTableError(
            f"routes() must return a list of groups (dicts), got {type(groups).__name__}"
        )
    existing = existing or []
    app = mount.app if mount is not None else None
    first = 1 + max((r.group.index for r in existing if r.group.app == app), default=-1)
    compiled: list[Route] = []
    for gi, group in enumerate(groups, start=first):
        compiled.extend(_compile_group(gi, group, app_dir, plugin_loader, mount))
    _check_duplicates([*existing, *compiled])
    return compiled


def _compile_group(
    gi: int,
    group: Any,
    app_dir: Path | None,
    plugin_loader: Callable[[Any], Any] | None,
    mount: Mount | None,
) -> Iterable[Route]:
    app = mount.app if mount is not None else None
    label = _group_label(gi, app)

    def fail(msg: str) -> RouteTableError:
        return RouteTableError(f"{label}: {msg}")

    if not isinstance(group, dict):
        raise fail(f"a group must be a dict with keys {', '.join(GROUP_KEYS)}; got {group!r:.80}")
    for key in group:
        if key not in GROUP_KEYS:
            raise fail(f"unknown key {key!r} (allowed: {', '.join(GROUP_KEYS)})")
    prefix = group.get("prefix", "")
    if not isinstance(prefix, str) or (prefix and not prefix.startswith("/")):
        raise fail(f"prefix must be a string starting with '/' or empty, got {prefix!r}")
    security = group.get("security", False)
    if security in (False, None):
        security = None
    elif not callable(security):
        raise fail(f"security must be False or a callable(req), got {security!r:.80}")
    plugins = group.get("plugins")
    if plugins is not None:
        if plugin_loader is None:
            raise fail("plugins are not supported here")
        try:
            plugins = plugin_loader(plugins)
        except (ValueError, TypeError, ImportError) as exc:
            raise fail(f"plugins: {exc}") from None
    routes = group.get("routes", [])
    if not isinstance(routes, list | tuple):
        raise fail(f"routes must be a list of tuples, got {type(routes).__name__}")
    host = _host(group.get("host"), fail)
    if mount is not None:
        prefix = mount.prefix + prefix
        if mount.security is not None:  # Nova's `secure`: the app's security replaces the group's
            security = mount.security or None
    info = Group(
        index=gi,
        prefix=prefix.rstrip("/"),
        security=security,
        plugins=plugins,
        host=host,
        app=app,
    )
    for ri, entry in enumerate(routes):
        try:
            yield _compile_route(entry, info, app_dir)
        except RouteTableError as exc:
            raise RouteTableError(f"{label}, route {ri} {_entry_repr(entry)}: {exc}") from None


def _host(value: Any, fail: Callable[[str], RouteTableError]) -> str | None:
    """A group's `host`: a host name (matched without the port), or None / "_" for any."""
    if value is None or value == "_":
        return None
    if not isinstance(value, str) or not _HOST.match(value.lower()):
        raise fail(f"host must be a host name such as 'api.example.com' (or '_'), got {value!r}")
    return value.lower()


def _compile_route(entry: Any, group: Group, app_dir: Path | None) -> Route:
    if not isinstance(entry, tuple) or len(entry) not in (2, 3):
        raise RouteTableError("a route must be a tuple (path, target) or (path, target, options)")
    path, target = entry[0], entry[1]
    options = entry[2] if len(entry) == 3 else {}
    if not isinstance(options, dict):
        raise RouteTableError(f"options must be a dict, got {type(options).__name__}")
    for key in options:
        if key not in ROUTE_OPTION_KEYS:
            raise RouteTableError(
                f"unknown option {key!r} (allowed: {', '.join(ROUTE_OPTION_KEYS)})"
            )
    methods = _methods(options.get("methods"))
    extra_state = options.get("extra_state")
    label = _entry_repr(entry)
    sync_callbacks = options.get("sync_callbacks", "inline")
    if "sync_callbacks" in options and options.get("protocol") != "ws":
        raise RouteTableError("sync_callbacks is an option of ws routes only")
    if sync_callbacks not in SYNC_CALLBACKS:
        raise RouteTableError(
            f"sync_callbacks must be one of {', '.join(map(repr, SYNC_CALLBACKS))}, "
            f"got {sync_callbacks!r}"
        )

    if isinstance(path, int) and not isinstance(path, bool):
        if not 100 <= path <= 599:
            raise RouteTableError(f"status code {path} is not between 100 and 599")
        if not callable(target) or isinstance(target, types.ModuleType):
            raise RouteTableError("a status-code route needs a callable controller")
        return Route(
            path=str(path),
            protocol="status",
            target=target,
            group=group,
            status_code=path,
            extra_state=extra_state,
            entry=label,
        )
    if not isinstance(path, str):
        raise RouteTableError(f"path must be a string or a status code, got {path!r}")
    full = _join(group.prefix, path)
    segments, bindings, wildcard_at = _parse_path(full)

    protocol = options.get("protocol", "http")
    static = None
    if isinstance(target, str):
        if "protocol" in options:
            raise RouteTableError("a static route takes no protocol")
        protocol, target = "static", _static_target(target, app_dir)
        static = static_options(options)
    elif any(key in options for key in STATIC_OPTION_KEYS):
        used = ", ".join(key for key in STATIC_OPTION_KEYS if key in options)
        raise RouteTableError(f"{used}: options of static routes only")
    elif protocol == "ws":
        if "methods" in options:
            raise RouteTableError("a ws route takes no methods")
        handle = getattr(target, "websocket_handle", None)
        if not callable(handle):
            raise RouteTableError(
                f"{describe(target)} is not a WebSocket handler: it has no websocket_handle"
            )
    elif protocol == "http":
        if isinstance(target, types.ModuleType):
            raise RouteTableError(
                f"target {target.__name__} is a module; a WebSocket handler needs "
                "{'protocol': 'ws'}, an HTTP route a function"
            )
        if not callable(target):
            raise RouteTableError(f"target {target!r:.60} is not callable")
    else:
        raise RouteTableError(f"unknown protocol {protocol!r} (allowed: 'http', 'ws')")
    json_schema = _json_schema(options, extra_state, app_dir)
    if json_schema is not None and protocol != "http":
        raise RouteTableError("json_schema is an option of http routes only")
    return Route(
        path=full,
        protocol=protocol,
        target=target,
        group=group,
        methods=methods,
        extra_state=extra_state,
        segments=tuple(segments),
        bindings=tuple(bindings),
        wildcard_at=wildcard_at,
        entry=label,
        sync_callbacks=sync_callbacks,
        json_schema=json_schema,
        static=static,
    )


def _json_schema(options: dict[str, Any], extra_state: Any, app_dir: Path | None) -> Path | None:
    """The schema file of a route: the `json_schema` option, or Nova's form in extra_state."""
    named = options.get("json_schema")
    nova_form = extra_state.get("json_schema") if isinstance(extra_state, dict) else None
    if named is not None and nova_form is not None and named != nova_form:
        raise RouteTableError("json_schema is given twice, as an option and in extra_state")
    local = named if named is not None else nova_form
    if local is None:
        return None
    if not isinstance(local, str | Path):
        raise RouteTableError(f"json_schema must be a path to a .json file, got {local!r:.60}")
    path = Path(local)
    if not path.is_absolute():
        if app_dir is None:
            raise RouteTableError("a relative json_schema path needs an app package")
        path = app_dir / path
    if not path.is_file():
        raise RouteTableError(f"json_schema {str(path)!r} does not exist")
    return path.resolve()


def _methods(value: Any) -> frozenset[str]:
    if value is None:
        return frozenset()
    if isinstance(value, str) or not isinstance(value, list | tuple | set | frozenset):
        raise RouteTableError(f"methods must be a list such as ['get', 'post'], got {value!r}")
    if not value:
        # An empty list would otherwise read as "every method", the opposite of what it says.
        raise RouteTableError("methods is empty; leave it out (or use ['_']) for every method")
    result: set[str] = set()
    for m in value:
        name = str(m).upper()
        if name == "_":  # Nova's "any method"
            return frozenset()
        if name not in METHODS:
            raise RouteTableError(f"unknown method {m!r} (allowed: {', '.join(METHODS).lower()})")
        result.add(name)
    if "GET" in result:
        result.add("HEAD")  # as Starlette does: a GET route answers HEAD
    return frozenset(result)


def _join(prefix: str, path: str) -> str:
    if not path.startswith("/"):
        raise RouteTableError(f"path {path!r} must start with '/'")
    return "/" + "/".join(split_path(prefix + path))


def _parse_path(path: str) -> tuple[list[str], list[tuple[int, str]], int | None]:
    segments = split_path(path)
    bindings: list[tuple[int, str]] = []
    wildcard_at = None
    for i, seg in enumerate(segments):
        if seg == WILDCARD:
            if i != len(segments) - 1:
                raise RouteTableError("'[...]' must be the last segment of a path")
            wildcard_at = i
        elif seg.startswith(":"):
            match = _BINDING.match(seg)
            if not match or keyword.iskeyword(match.group(1)):
                raise RouteTableError(f"binding {seg!r} must be ':' and an identifier")
            name = match.group(1)
            if any(name == n for _, n in bindings):
                raise RouteTableError(f"binding ':{name}' appears twice")
            bindings.append((i, name))
        elif "[" in seg or "]" in seg:
            raise RouteTableError(f"segment {seg!r}: '[...]' must be a whole segment")
    return segments, bindings, wildcard_at


def _static_target(local: str, app_dir: Path | None) -> Path:
    base = Path(local)
    if not base.is_absolute():
        if app_dir is None:
            raise RouteTableError("a relative static path needs an app package")
        base = app_dir / base
    if not base.exists():
        raise RouteTableError(f"static path {str(base)!r} does not exist")
    return base.resolve()


def _shape(route: Route) -> str:
    # Bindings with other names still collide: /u/:id and /u/:uid are one path.
    return "/" + "/".join(":" if s.startswith(":") else s for s in route.segments)


def _check_duplicates(routes: list[Route]) -> None:
    by_path: dict[tuple[str, str, str], list[Route]] = {}
    for route in routes:
        kind = route.protocol if route.protocol in ("status", "ws") else "http"
        # One path may have a route per host: a host's own routes come first for it.
        host = route.group.host if kind != "status" else None
        key = (kind, host or "", route.path if kind == "status" else _shape(route))
        for other in by_path.get(key, []):
            clash = _clash(route, other) if kind == "http" else kind.upper()
            if clash:
                raise RouteTableError(
                    f"{route.group.label}, route {route.entry}: duplicate route "
                    f"{clash} {route.path}, already defined in {other.group.label} "
                    f"by {other.entry}"
                )
        by_path.setdefault(key, []).append(route)


def _clash(a: Route, b: Route) -> str:
    """The methods two routes on one path both take ('' if none)."""
    if not a.methods or not b.methods:
        return "(every method)"
    return ", ".join(sorted((a.methods & b.methods) - {"HEAD"}))
