"""A WebSocket upgrade to a path with no WebSocket route: a 404 and one INFO line.

uvicorn logs three lines for it, the last an ERROR ("ASGI callable returned
without completing handshake"): under plain uvicorn with Nova's WebSocket
protocol, `nova run`, and `nova serve` (whose app is wrapped in the dev
server's middleware) alike.
"""

from __future__ import annotations

import contextlib
import sys
from collections.abc import Callable, Iterator

import pytest
from websockets.exceptions import InvalidStatus
from websockets.sync.client import connect

from tests.support.servers import ASSETS, Server, free_port, nova, spawn
from tests.support.waiting import quiet_env, wait_for

DEMO = ASSETS / "demo"


@contextlib.contextmanager
def plain_uvicorn_with_nova_protocols() -> Iterator[Server]:
    port = free_port()
    args = [
        *(sys.executable, "-m", "uvicorn", "--factory", "nova_cli.runtime.app:from_environment"),
        *("--port", str(port), "--ws", "nova_cli.runtime.ws_protocol:NovaWebSocketProtocol"),
    ]
    with spawn(args, port=port, env=quiet_env(NOVA_ROOT=str(DEMO))) as server:
        yield server


SERVERS: dict[str, Callable[[], contextlib.AbstractContextManager[Server]]] = {
    "uvicorn": plain_uvicorn_with_nova_protocols,
    "nova run": lambda: nova("run", DEMO, env=quiet_env()),
    "nova serve": lambda: nova("serve", DEMO, env=quiet_env()),
    "nova serve --no-reload": lambda: nova("serve", DEMO, "--no-reload", env=quiet_env()),
}


@pytest.mark.parametrize("name", list(SERVERS))
def test_a_websocket_with_no_route_is_a_404_and_one_info_line(name: str) -> None:
    with SERVERS[name]() as server:
        for path in ("/nope", "/nope/again"):
            with pytest.raises(InvalidStatus) as refused:
                connect(server.ws_url + path, open_timeout=10)
            assert refused.value.response.status_code == 404
        # The second refusal's line comes after anything the first one logs.
        wait_for(lambda: '"WebSocket /nope/again" 404' in server.output())
        output = server.output()
    lines = [line for line in output.splitlines() if "/nope" in line and "/again" not in line]
    assert len(lines) == 1 and lines[0].startswith("INFO:"), output
    assert "ERROR" not in output and "connection rejected" not in output, output
