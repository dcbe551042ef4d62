"""The WebSocket plugin phases: Nova's `pre_ws_request`, `post_ws_request`, `post_ws_connection`.

They are listed in the same plugin lists as the HTTP phases.  Each phase
function is `phase(state, options)` (or `phase(state, options,
plugin_state)`, see `plugin_states.py`), where `state` is the handler's
state, and returns:

- None or `("ok", state)`: go on (with that state);
- `("break", state)`: skip the phase's remaining plugins;
- `("stop", state)`: before `init`, refuse the upgrade (403); after a
  `websocket_handle`, close the connection (1000); after the connection,
  nothing more to do;
- `("error", reason)`: like `stop`, but logged as an error, a refused
  upgrade is a 500 and a closed connection a 1011.

Nova's signature is `Mod:Phase(ControllerState, State, Options) -> {ok,
ControllerState, State} | {break, State} | {stop, State} | {error, Reason}`;
at Nova's own HEAD any ws plugin closes the socket, so this builds what
Nova's documentation describes.  `pre_ws_request` runs once, before `init`;
`post_ws_request` after each `websocket_handle`; `post_ws_connection` once,
after `terminate`.  The functions run where the handler's callbacks run, in
the connection's process (a plain `def` inline unless the route says
`sync_callbacks: "thread"`).
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import Any

from nova_cli.runtime.plugin_states import PluginStates
from nova_cli.runtime.plugins import Plugin

log = logging.getLogger("nova_cli.websocket")

WS_PHASES = ("pre_ws_request", "post_ws_request", "post_ws_connection")
RESULTS = "None, ('ok', state), ('break', state), ('stop', state) or ('error', reason)"

Invoke = Callable[..., Awaitable[Any]]


class WsPluginError(Exception):
    """A ws plugin returned `("error", reason)` or a value it may not return."""


class WsPlugins:
    """The ws-phase plugins of one route's chain, with the app's plugin states."""

    def __init__(self, chain: list[Plugin], states: PluginStates) -> None:
        self.chain = chain
        self.states = states

    async def run(self, phase: str, state: Any, invoke: Invoke) -> tuple[bool, Any]:
        """Run `phase` over the handler `state`: (go on?, the state they leave).

        `invoke(fn, *args)` calls a plugin function where the connection runs
        its callbacks.  Raises WsPluginError for `("error", reason)` and for
        a value outside the contract.
        """
        for plugin in self.chain:
            if plugin.phase != phase:
                continue
            result = await invoke(plugin.fn, *plugin.args(self.states.of(plugin), state))
            if result is None:
                continue
            if type(result) is tuple and len(result) == 2:
                tag, value = result
                if tag == "ok":
                    state = value
                    continue
                if tag == "break":
                    return True, value
                if tag == "stop":
                    return False, value
                if tag == "error":
                    raise WsPluginError(f"plugin {plugin.name} {phase} failed: {value!r:.200}")
            raise WsPluginError(
                f"plugin {plugin.name} {phase} returned {result!r:.80}; expected {RESULTS}"
            )
        return True, state


def for_route(chain: list[Plugin], states: PluginStates) -> WsPlugins | None:
    """The ws phases of `chain`, or None when it has none (the connection then skips them)."""
    found = [plugin for plugin in chain if plugin.phase in WS_PHASES]
    return WsPlugins(found, states) if found else None
