"""The Redis backend: broadcasts, membership and `process.send` across workers and machines.

Every worker (a node, `process.NODE`) subscribes to one Redis channel,
`nova:pubsub`, and publishes everything there, as Phoenix.PubSub's Redis
adapter does: a broadcast is one PUBLISH whatever the number of members,
and each worker fans it out to its own members through the hub.

- A broadcast reaches this worker's members at once, and the other workers
  through Redis; the publisher skips its own node on the way back.
- Membership is replicated like Erlang's `pg`: each worker announces the
  first join and the last leave of each of its processes, answers a newcomer's
  sync request with its full membership, and says it is alive every few
  seconds.  A worker that stops saying so is dropped, members and all.
  `get_members` reads this replica: eventually consistent, as in Erlang.
- `process.send` to a pid of another node travels the same way.

Everything is published by one task through one connection, so what one
process sends arrives in order.  Delivery is at-most-once: what is published
while Redis is down is lost, and the backend reconnects by itself, resyncs
membership, and logs the outage once.

Messages are pickled, as Erlang distribution passes any term: whoever can
publish on this Redis can run code in the workers.  Keep it private.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import pickle
import threading
import time
from collections import deque
from collections.abc import Hashable
from typing import Any

from nova_cli import process
from nova_cli.process import NODE, Pid
from nova_cli.pubsub._hub import Hub, payload_size
from nova_cli.pubsub.backends.base import Backend

log = logging.getLogger("nova_cli.pubsub")

CHANNEL = "nova:pubsub"
HEARTBEAT = 2.0  # seconds between "alive" messages
EXPIRY = 3 * HEARTBEAT  # a node not heard from for this long is gone
RETRY = (0.1, 0.2, 0.5, 1.0, 2.0)  # reconnect back-off, seconds
OUTBOX_LIMIT = 100_000  # messages waiting for Redis; more are dropped


class RedisBackend(Backend):
    """Pub/sub over a Redis server shared by every worker."""

    def __init__(self, hub: Hub, url: str, client: Any = None) -> None:
        super().__init__(hub)
        self.url = url
        self._client = client  # injectable (tests); else made from the URL at start
        self._outbox: deque[tuple[Any, ...]] = deque()
        self._wake: asyncio.Event | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._tasks: list[asyncio.Task[None]] = []
        self._lock = threading.Lock()
        self._remote: dict[str, dict[Hashable, dict[Pid, int]]] = {}  # node -> channel -> pids
        self._seen: dict[str, float] = {}
        self._down = False
        self._closing = False
        self._thread = 0

    # -- lifecycle ------------------------------------------------------
    def check(self) -> None:
        """Fail at once, in one line, when Redis cannot be reached (before serving)."""
        import redis

        client = redis.Redis.from_url(self.url, socket_connect_timeout=3, socket_timeout=3)
        try:
            client.ping()
        except redis.RedisError as exc:
            raise ConnectionError(f"cannot reach Redis at {self.url}: {exc}") from None
        finally:
            client.close()

    async def start(self) -> None:
        import redis.asyncio as aioredis

        if self._client is None:
            self._client = aioredis.Redis.from_url(self.url)
        self._loop = asyncio.get_running_loop()
        self._thread = threading.get_ident()
        self._wake = asyncio.Event()
        subscribed = asyncio.Event()
        self._tasks = [
            asyncio.create_task(self._listen(subscribed)),
            asyncio.create_task(self._publish_loop()),
            asyncio.create_task(self._heartbeat()),
        ]
        await asyncio.wait_for(subscribed.wait(), 10)
        process.remote_send = self.send_remote

    async def stop(self) -> None:
        if process.remote_send == self.send_remote:
            process.remote_send = None
        with contextlib.suppress(Exception):
            await asyncio.wait_for(self._client.publish(CHANNEL, _encode(("down", NODE))), 1)
        self._closing = True
        for task in self._tasks:
            task.cancel()
        # Bounded: a client call that does not honour cancellation must not hang shutdown.
        if self._tasks:
            await asyncio.wait(self._tasks, timeout=2)
        self._tasks = []
        with contextlib.suppress(Exception):
            await asyncio.wait_for(self._client.aclose(), 2)

    # -- the Backend interface -----------------------------------------
    def publish(self, channel: Hashable, envelope: tuple[Any, ...], size: int) -> None:
        self.hub.deliver(channel, envelope, size)
        self._send(("b", NODE, channel, envelope))

    def members(self, channel: Hashable) -> list[Pid]:
        found = self.hub.members(channel)
        with self._lock:
            for channels in self._remote.values():
                for pid, count in channels.get(channel, {}).items():
                    found.extend([pid] * count)
        return found

    def joined(self, channel: Hashable, pid: Pid) -> None:
        self._send(("j", NODE, channel, pid))

    def left(self, channel: Hashable, pid: Pid) -> None:
        self._send(("l", NODE, channel, pid))

    def exited(self, pid: Pid) -> None:
        self._send(("x", NODE, pid))

    def send_remote(self, pid: Pid, message: Any) -> None:
        """`process.send` to a pid on another node."""
        self._send(("s", NODE, pid, message))

    # -- publishing -----------------------------------------------------
    def _send(self, item: tuple[Any, ...]) -> None:
        loop = self._loop
        if loop is None:
            return  # not started (no server running): nothing to carry
        if threading.get_ident() == self._thread:
            self._queue(item)
        else:
            loop.call_soon_threadsafe(self._queue, item)

    def _queue(self, item: tuple[Any, ...]) -> None:
        if len(self._outbox) >= OUTBOX_LIMIT:  # Redis too slow or gone: shed, at-most-once
            self._report_down(RuntimeError(f"{OUTBOX_LIMIT} messages waiting to be published"))
            return
        self._outbox.append(item)
        if self._wake is not None:
            self._wake.set()

    async def _publish_loop(self) -> None:
        assert self._wake is not None
        while True:
            await self._wake.wait()
            self._wake.clear()
            batch = list(self._outbox)
            self._outbox.clear()
            if not batch:
                continue
            try:
                async with self._client.pipeline(transaction=False) as pipe:
                    for item in batch:
                        pipe.publish(CHANNEL, _encode(item))
                    await pipe.execute()
            except Exception as exc:  # Redis is down: at-most-once, these are lost
                self._report_down(exc)

    async def _heartbeat(self) -> None:
        while True:
            self._queue(("hb", NODE))
            self._expire()
            await asyncio.sleep(HEARTBEAT)

    # -- receiving ------------------------------------------------------
    async def _listen(self, subscribed: asyncio.Event) -> None:
        attempt = 0
        while not self._closing:
            pubsub = self._client.pubsub()
            try:
                await pubsub.subscribe(CHANNEL)
                while not self._closing:
                    # Polled with a timeout rather than `listen()`, so that stop()
                    # never waits on a read that ignores cancellation.
                    message = await pubsub.get_message(timeout=1.0)
                    if message is None:
                        continue
                    if message.get("type") == "subscribe":
                        # Only now does Redis deliver to us: ready, or back.
                        attempt = 0
                        self._subscribed()
                        subscribed.set()
                    elif message.get("type") == "message":
                        self._receive_raw(message["data"])
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                self._report_down(exc)
                await asyncio.sleep(RETRY[min(attempt, len(RETRY) - 1)])
                attempt += 1
            finally:
                with contextlib.suppress(Exception):
                    await asyncio.wait_for(pubsub.aclose(), 2)

    def _subscribed(self) -> None:
        if self._down:
            log.warning("Redis at %s is back; pub/sub spans the workers again", self.url)
            self._down = False
        self._queue(("sync?", NODE))

    def _receive_raw(self, data: bytes) -> None:
        try:
            item = pickle.loads(data)
            self._receive(item)
        except Exception as exc:  # someone else's message on our channel, or a bug
            log.warning("ignoring a malformed message on Redis channel %s: %s", CHANNEL, exc)

    def _receive(self, item: tuple[Any, ...]) -> None:
        kind, origin = item[0], item[1]
        if origin == NODE:
            return
        self._seen[origin] = time.monotonic()
        if kind == "b":
            _, _, channel, envelope = item
            self.hub.deliver(channel, envelope, payload_size(envelope[4]))
        elif kind == "s":
            pid, message = item[2], item[3]
            if pid.node == NODE:
                process.send(pid, message)
        elif kind in ("j", "l"):
            self._member(origin, item[2], item[3], 1 if kind == "j" else -1)
        elif kind == "x":
            self._exit(origin, item[2])
        elif kind == "sync?":
            self._queue(("sync", NODE, self._local_membership()))
        elif kind == "sync":
            with self._lock:
                self._remote[origin] = item[2]
        elif kind == "down":
            self._forget(origin)

    def _member(self, node: str, channel: Hashable, pid: Pid, delta: int) -> None:
        with self._lock:
            channels = self._remote.setdefault(node, {})
            pids = channels.setdefault(channel, {})
            count = pids.get(pid, 0) + delta
            if count > 0:
                pids[pid] = count
            else:
                pids.pop(pid, None)
                if not pids:
                    del channels[channel]

    def _exit(self, node: str, pid: Pid) -> None:
        with self._lock:
            channels = self._remote.get(node, {})
            for channel in [c for c, pids in channels.items() if pid in pids]:
                del channels[channel][pid]
                if not channels[channel]:
                    del channels[channel]

    def _local_membership(self) -> dict[Hashable, dict[Pid, int]]:
        table: dict[Hashable, dict[Pid, int]] = {}
        for channel in self.hub.channels():
            pids: dict[Pid, int] = {}
            for pid in self.hub.members(channel):
                pids[pid] = pids.get(pid, 0) + 1
            table[channel] = pids
        return table

    def _expire(self) -> None:
        now = time.monotonic()
        for node, seen in list(self._seen.items()):
            if now - seen > EXPIRY:
                log.info("pub/sub node %s went silent; dropping its members", node)
                self._forget(node)

    def _forget(self, node: str) -> None:
        self._seen.pop(node, None)
        with self._lock:
            self._remote.pop(node, None)

    def _report_down(self, exc: BaseException) -> None:
        if not self._down:
            self._down = True
            log.warning(
                "Redis at %s is unreachable (%s); until it answers again, broadcasts "
                "reach this worker's members only",
                self.url,
                exc,
            )


def _encode(item: tuple[Any, ...]) -> bytes:
    return pickle.dumps(item, protocol=pickle.HIGHEST_PROTOCOL)
