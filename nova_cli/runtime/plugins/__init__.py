"""Plugins: Nova's `pre_request` / `post_request` chain.

A plugin is a module (or any object) with `pre_request(req, options)` and/or
`post_request(req, response, options)`, each `def` or `async def`.  A route
group's `plugins` list replaces the global list from `[tool.nova]`, as in
Nova.  Entries are `(phase, plugin, options)`; `plugin` is the module
itself, a dotted name (`"pkg.mod"` or `"pkg.mod:obj"`), or a built-in's
short name: `request`, `cors`, `correlation`, `csrf` (or Nova's
`nova_request_plugin`, `nova_cors_plugin`, `nova_correlation_plugin`,
`nova_csrf_plugin`).

pre_request returns None or `("ok", req)` to go on, `("break", req)` to skip
the remaining pre-request plugins and go to the controller, or
`("stop", reply)` to answer now with `reply` (any controller return value).
post_request returns None to keep the response, or a Response to replace it.
The WebSocket phases are run by `ws_plugins.py`.

A plugin may also define `init()` (its per-app state, see `plugin_states.py`),
`stop(state)` and `plugin_info()`.  A phase function that takes one more
argument than the phase gives (`pre_request(req, options, state)`) gets that
state as its last argument: decided here, once, when the list is loaded.
"""

from __future__ import annotations

import importlib
import inspect
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from starlette.responses import Response

from nova_cli.core.names import plugin_module
from nova_cli.runtime.invoke import call
from nova_cli.runtime.plugin_states import PluginStates
from nova_cli.runtime.request import Request
from nova_cli.runtime.route_compiler import describe

# Each phase and the arguments it gives, before the plugin's optional state.
ARGUMENTS = {
    "pre_request": ("req", "options"),
    "post_request": ("req", "response", "options"),
    "pre_ws_request": ("state", "options"),
    "post_ws_request": ("state", "options"),
    "post_ws_connection": ("state", "options"),
}
PHASES = tuple(ARGUMENTS)
INFO_KEYS = ("title", "version", "url", "authors", "description", "options")


@dataclass(frozen=True)
class Plugin:
    """One configured plugin call: a phase, the function for it and its options."""

    phase: str
    name: str
    fn: Any
    options: Mapping[str, Any]
    module: Any = None  # the plugin module or object: its init, stop and plugin_info
    takes_state: bool = False  # the phase function's last parameter is the plugin's state

    def args(self, state: Any, *given: Any) -> tuple[Any, ...]:
        """The phase function's arguments: `given`, the options, then the state if it takes it."""
        if self.takes_state:
            return (*given, self.options, state)
        return (*given, self.options)


def load_plugins(entries: Any) -> list[Plugin]:
    """Validate a plugin list (from a route group or `[tool.nova]`)."""
    if not isinstance(entries, list | tuple):
        raise ValueError(f"plugins must be a list of (phase, plugin, options), got {entries!r:.80}")
    return [_load_entry(i, entry) for i, entry in enumerate(entries)]


def _load_entry(index: int, entry: Any) -> Plugin:
    if isinstance(entry, Mapping):
        unknown = set(entry) - {"phase", "plugin", "module", "options"}
        if unknown:
            raise ValueError(f"plugin {index}: unknown keys {sorted(unknown)}")
        entry = (
            entry.get("phase"),
            entry.get("plugin") or entry.get("module"),
            entry.get("options", {}),
        )
    if not isinstance(entry, list | tuple) or len(entry) not in (2, 3):
        raise ValueError(f"plugin {index}: expected (phase, plugin, options), got {entry!r:.80}")
    phase, ref = entry[0], entry[1]
    options = entry[2] if len(entry) == 3 else {}
    if phase not in PHASES:
        raise ValueError(f"plugin {index}: phase {phase!r} must be one of {', '.join(PHASES)}")
    if not isinstance(options, Mapping):
        raise ValueError(f"plugin {index}: options must be a dict, got {options!r:.80}")
    plugin = resolve(ref)
    fn = getattr(plugin, phase, None)
    if not callable(fn):
        raise ValueError(f"plugin {index}: {describe(plugin)} has no {phase} function")
    takes_state = _takes_state(fn, phase, f"plugin {index}: {describe(plugin)}")
    plugin_info(plugin, f"plugin {index}")
    validate = getattr(plugin, "validate_options", None)
    if callable(validate):
        validate(options)
    return Plugin(phase, describe(plugin), fn, dict(options), plugin, takes_state)


def _takes_state(fn: Any, phase: str, where: str) -> bool:
    """Whether `fn` takes the plugin's state after the phase's own arguments."""
    given = ARGUMENTS[phase]
    try:
        params = list(inspect.signature(fn).parameters.values())
    except (TypeError, ValueError):  # a builtin without a signature: the phase's arguments
        return False
    if any(p.kind is p.VAR_POSITIONAL for p in params):
        return False
    positional = [p for p in params if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)]
    required = [p for p in positional if p.default is p.empty]
    if len(required) > len(given) + 1 or len(positional) < len(given):
        shown = ", ".join(given)
        raise ValueError(
            f"{where}.{phase} takes {len(positional)} arguments; "
            f"expected ({shown}) or ({shown}, state)"
        )
    return len(positional) > len(given)


def plugin_info(plugin: Any, where: str = "plugin") -> dict[str, Any] | None:
    """The plugin's checked `plugin_info()`, or None when it defines none."""
    info_fn = getattr(plugin, "plugin_info", None)
    if info_fn is None:
        return None
    name = describe(plugin)
    info = info_fn() if callable(info_fn) else info_fn
    if not isinstance(info, Mapping) or not all(
        isinstance(info.get(key), str) and info.get(key) for key in ("title", "version")
    ):
        raise ValueError(
            f"{where}: {name}.plugin_info() must return a dict with string title and version, "
            f"got {info!r:.80}"
        )
    unknown = set(info) - set(INFO_KEYS)
    if unknown:
        raise ValueError(
            f"{where}: {name}.plugin_info() has unknown keys {sorted(unknown)} "
            f"(allowed: {', '.join(INFO_KEYS)})"
        )
    return dict(info)


def resolve(ref: Any) -> Any:
    """A plugin module or object from itself, a dotted name or a built-in's short name."""
    if not isinstance(ref, str):
        return ref
    target = plugin_module(ref)
    module_name, _, attr = target.partition(":")
    try:
        module = importlib.import_module(module_name)
    except ImportError as exc:
        raise ImportError(f"plugin {ref!r} cannot be imported: {exc}") from None
    if not attr:
        return module
    try:
        return getattr(module, attr)
    except AttributeError:
        raise ImportError(f"plugin {ref!r}: {module_name} has no {attr!r}") from None


async def run_pre(plugins: list[Plugin], req: Request, states: PluginStates) -> tuple[Request, Any]:
    """Run the pre-request chain; returns the request and a reply when a plugin stopped."""
    for plugin in plugins:
        if plugin.phase != "pre_request":
            continue
        result = await call(plugin.fn, *plugin.args(states.of(plugin), req))
        if result is None:
            continue
        if isinstance(result, tuple) and len(result) == 2:
            tag, value = result
            if tag == "ok" and isinstance(value, Request):
                req = value
                continue
            if tag == "break" and isinstance(value, Request):
                return value, None
            if tag == "stop":
                return req, value
        raise TypeError(
            f"plugin {plugin.name} pre_request returned {result!r:.80}; expected None, "
            "('ok', req), ('break', req) or ('stop', reply)"
        )
    return req, None


async def run_post(
    plugins: list[Plugin], req: Request, response: Response, states: PluginStates
) -> Response:
    """Run the post-request chain; each plugin may replace the response."""
    for plugin in plugins:
        if plugin.phase != "post_request":
            continue
        result = await call(plugin.fn, *plugin.args(states.of(plugin), req, response))
        if result is None:
            continue
        if isinstance(result, tuple) and len(result) == 2 and result[0] == "ok":
            result = result[1]
        if not isinstance(result, Response):
            raise TypeError(
                f"plugin {plugin.name} post_request returned {result!r:.80}; "
                "expected None or a Response"
            )
        response = result
    return response
