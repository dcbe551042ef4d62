"""The plugins' own state, one per plugin per app: Nova's plugin `init/0` and `stop/1`.

A plugin module may define `init()`, `def` or `async def`, whose return
value is its state (a plugin without one has `{}`), and `stop(state)`,
called when the app shuts down.  The state belongs to the app: two apps in
one process each call `init` and keep their own, and nothing lives in the
plugin's module.  A phase function that takes it gets it as its last
argument (see `plugins.Plugin.args`).

States are started at the app's start-up (its lifespan) for every plugin of
its route table.  A table swapped in later (the dev server's reload,
`nova_cli.router.add_routes`) or an app served without a lifespan starts
the plugins it has not seen before its first request.  States are kept by
the plugin's dotted name, so a module the dev server reloads keeps its state.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

from nova_cli.runtime.invoke import call

if TYPE_CHECKING:
    from nova_cli.runtime.plugins import Plugin

log = logging.getLogger("nova_cli.plugins")


class PluginStates:
    """The state each plugin's `init()` returned, for one app."""

    def __init__(self) -> None:
        self._states: dict[str, Any] = {}
        self._modules: dict[str, Any] = {}  # name -> the module whose stop() ends it
        self._lock: asyncio.Lock | None = None
        self.table: Any = None  # the last route table whose plugins were all started

    def of(self, plugin: Plugin) -> Any:
        """The state of `plugin` in this app (None for a phase function that takes none)."""
        return self._states.get(plugin.name) if plugin.takes_state else None

    async def start(self, table: Any) -> None:
        """Call `init()` once for every plugin of `table` not started yet, in table order."""
        if self._lock is None:
            self._lock = asyncio.Lock()
        async with self._lock:
            for plugin in all_plugins(table):
                if plugin.name in self._states:
                    continue
                init = getattr(plugin.module, "init", None)
                state = await call(init) if callable(init) else {}
                self._states[plugin.name] = state
                self._modules[plugin.name] = plugin.module
            self.table = table

    async def stop(self) -> None:
        """Call every started plugin's `stop(state)`, the last started first."""
        for name in reversed(list(self._states)):
            state = self._states.pop(name)
            stop = getattr(self._modules.pop(name), "stop", None)
            if not callable(stop):
                continue
            try:
                await call(stop, state)
            except Exception:
                log.exception("plugin %s stop failed", name)
        self.table = None


def all_plugins(table: Any) -> Iterable[Plugin]:
    """The global plugins of `table`, then each group's own, every one once per name."""
    seen: set[str] = set()
    groups = {id(route.group): route.group for route in table.routes}
    for plugins in (table.plugins, *(g.plugins or [] for g in groups.values())):
        for plugin in plugins:
            if plugin.name not in seen:
                seen.add(plugin.name)
                yield plugin
