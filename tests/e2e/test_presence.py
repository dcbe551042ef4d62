"""Presence end to end, on the room `nova gen ws-handler room --presence` writes:
`nova run --workers 2` on a real redis-server, and two chromium pages."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Browser, Page
from websockets.exceptions import ConnectionClosed
from websockets.sync.client import ClientConnection, connect

from nova_cli.pubsub.backends.redis import EXPIRY, HEARTBEAT
from tests.support.redis import redis_server
from tests.support.servers import Server, nova, uvicorn_app
from tests.support.waiting import quiet_env, wait_for

# What docs/presence.md promises for a worker that dies without a word.
GONE_WITHIN = EXPIRY + HEARTBEAT


@pytest.fixture(scope="module")
def room_app(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A new app with the generated presence room."""
    where = tmp_path_factory.mktemp("presence")
    for args, cwd in [
        (["new", "lobbyapp"], where),
        (["gen", "ws-handler", "room", "--presence"], where / "lobbyapp"),
    ]:
        done = subprocess.run(
            [sys.executable, "-m", "nova_cli.cli.main", *args],
            cwd=cwd,
            env=quiet_env(),
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert done.returncode == 0, done.stdout + done.stderr
    return where / "lobbyapp"


class Client:
    """A socket on the room that folds what it receives into its list of who is online."""

    def __init__(self, conn: ClientConnection, name: str) -> None:
        self.name = name
        self.conn = conn
        self.online: dict[str, dict[str, dict[str, Any]]] = {}  # name: {nova_ref: meta}
        self.lock = threading.Lock()
        self.reader = threading.Thread(target=self._read, daemon=True)
        self.reader.start()

    def _read(self) -> None:
        with contextlib.suppress(ConnectionClosed):
            for frame in self.conn:
                message = json.loads(frame)
                with self.lock:
                    if "presence_state" in message:
                        self.online = {}
                        self._add(message["presence_state"])
                    elif "presence_diff" in message:
                        self._remove(message["presence_diff"]["leaves"])
                        self._add(message["presence_diff"]["joins"])

    def _add(self, joins: dict[str, list[dict[str, Any]]]) -> None:
        for name, metas in joins.items():
            for meta in metas:
                self.online.setdefault(name, {})[meta["nova_ref"]] = meta

    def _remove(self, leaves: dict[str, list[dict[str, Any]]]) -> None:
        for name, metas in leaves.items():
            for meta in metas:
                self.online.get(name, {}).pop(meta["nova_ref"], None)
            if not self.online.get(name, True):
                del self.online[name]

    def names(self) -> list[str]:
        with self.lock:
            return sorted(self.online)

    def worker(self) -> int:
        """The OS pid of the worker serving this socket, from its own entry's ref."""
        wait_for(lambda: self.name in self.names(), timeout=15)
        with self.lock:
            (ref,) = self.online[self.name]
        return int(ref.rsplit("/", 1)[0].rsplit("@", 1)[1])  # node/id, node = hex@pid


def test_workers_share_the_list_and_a_killed_workers_users_leave(room_app: Path) -> None:
    with (
        redis_server() as redis,
        nova("run", room_app, "--workers", "2", env={"NOVA_PUBSUB_URL": redis.url}) as server,
        contextlib.ExitStack() as stack,
    ):
        clients = []
        for n in range(40):  # 20, or more until both workers have some
            name = f"user{n:02d}"
            url = f"{server.ws_url}/room?name={name}"
            clients.append(Client(stack.enter_context(connect(url, open_timeout=15)), name))
            if n >= 19 and len({c.worker() for c in clients}) == 2:
                break
        by_worker: dict[int, list[Client]] = {}
        for client in clients:
            by_worker.setdefault(client.worker(), []).append(client)
        assert len(by_worker) == 2, "every connection landed on one worker"
        everyone = sorted(c.name for c in clients)
        for client in clients:
            wait_for(lambda c=client: c.names() == everyone, timeout=20)  # type: ignore[misc]

        victim, survivor = sorted(by_worker, key=lambda w: -len(by_worker[w]))
        os.kill(victim, signal.SIGKILL)
        killed = time.monotonic()
        left = sorted(c.name for c in by_worker[survivor])
        for client in by_worker[survivor]:
            wait_for(lambda c=client: c.names() == left, timeout=GONE_WITHIN + 10)  # type: ignore[misc]
        took = time.monotonic() - killed
        assert took < GONE_WITHIN + 1, f"the killed worker's users left after {took:.1f} s"


@pytest.fixture(scope="module")
def room_server(room_app: Path) -> Iterator[Server]:
    with uvicorn_app(room_app) as server:
        yield server


def online_names(page: Page) -> list[str]:
    return sorted(
        page.locator("#online li").evaluate_all("items => items.map(i => i.dataset.name)")
    )


@pytest.mark.browser
def test_two_pages_see_each_other_online_and_a_closed_one_leaves(
    browser: Browser, room_server: Server
) -> None:
    alice, bob = browser.new_page(), browser.new_page()
    alice.goto(f"{room_server.url}/room/page?name=alice")
    bob.goto(f"{room_server.url}/room/page?name=bob")
    for page in (alice, bob):
        wait_for(lambda p=page: online_names(p) == ["alice", "bob"], timeout=15)  # type: ignore[misc]
    assert alice.locator("#count").inner_text() == "2"
    bob.close()
    wait_for(lambda: online_names(alice) == ["alice"], timeout=15)
    assert alice.locator("#online li").inner_text() == "alice (you)"
    alice.close()
