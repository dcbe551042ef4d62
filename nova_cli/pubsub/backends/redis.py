"""The Redis backend: broadcasts, membership and `process.send` across workers and machines.

Every worker (a node, `process.node()`) subscribes to one Redis channel,
`nova:pubsub`, and publishes everything there, as Phoenix.PubSub's Redis
adapter does: a broadcast is one PUBLISH whatever the number of members,
and each worker fans it out to its own members through the hub.

- A broadcast reaches this worker's members at once, and the other workers
  through Redis; a node skips its own messages on the way back.
- Membership is replicated like Erlang's `pg` (`_replica.py`): each node
  announces its joins, leaves and exits, announces its full membership
  whenever it (re)subscribes or is asked, and says it is alive every
  `HEARTBEAT` seconds.  A node not heard from for `EXPIRY` is dropped,
  members and all.  A node that hears from a node it does not know (a
  newcomer, or one that dropped it or that it dropped), or that sees a gap
  in a node's messages, asks that node for its full membership: after any
  outage, every view converges back within a few heartbeats.
- `process.send` to a pid of another node travels the same way, and so
  does presence (`_tracker.py`): each node publishes its own entries'
  changes, its full table with every membership sync, and drops a node's
  entries with its members.
- Messages are `_wire.py`'s: msgpack of the values `nova_cli.terms` allows,
  decoded without running any code.  Anything else on the channel is ignored
  and logged once per kind of problem.

One task publishes everything, through one connection, so what one process
sends arrives in order.  Delivery is at-most-once: what cannot be published
while Redis is away is lost.

Outages.  Redis is "up" while both publishing and subscribing work.  The
subscription is PINGed every heartbeat: no answer within `TIMEOUT` (a hung
Redis) or a closed connection (Redis cuts a subscriber that falls behind its
`client-output-buffer-limit pubsub`) means reconnect, resubscribe, resync.
"unreachable" is logged once when Redis goes down, "back" once when both
work again, with how many messages this node could not publish meanwhile;
receivers log how many they missed from each node, from the gaps in its
sequence numbers.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import threading
import time
from collections import deque
from collections.abc import Hashable
from typing import Any

from nova_cli import process
from nova_cli.process import Pid
from nova_cli.pubsub import _wire
from nova_cli.pubsub._hub import Hub, payload_size
from nova_cli.pubsub._replica import Replica
from nova_cli.pubsub._tracker import Tracker
from nova_cli.pubsub.backends.base import Backend

log = logging.getLogger("nova_cli.pubsub")

CHANNEL = "nova:pubsub"
HEARTBEAT = 2.0  # seconds between "alive" messages, and between PINGs of the subscription
EXPIRY = 3 * HEARTBEAT  # a node not heard from for this long is gone
TIMEOUT = 3.0  # for Redis to connect or answer, before it counts as down
POLL = 0.5  # seconds a read of the subscription waits, so that stop() is never stuck in one
RETRY = (0.1, 0.2, 0.5, 1.0, 2.0)  # resubscribe back-off, seconds
OUTBOX_LIMIT = 100_000  # messages waiting for Redis; more are dropped


class Link:
    """Whether publishing and subscribing through Redis work; logs each change once."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.broken: set[str] = set()
        self.dropped = 0  # messages this node could not publish since Redis went down

    def failed(self, side: str, exc: BaseException, dropped: int = 0) -> None:
        """`side` ("publish" or "subscribe") failed, losing `dropped` messages."""
        self.dropped += dropped
        if not self.broken:
            log.warning(
                "Redis at %s is unreachable (%s: %s); broadcasts reach this worker's "
                "members only until it answers again",
                self.url,
                side,
                _reason(exc),
            )
        self.broken.add(side)

    def working(self, side: str) -> None:
        """`side` works (again)."""
        if side not in self.broken:
            return
        self.broken.discard(side)
        if not self.broken:
            log.warning(
                "Redis at %s is back; pub/sub spans the workers again "
                "(%d messages from this worker could not be published meanwhile)",
                self.url,
                self.dropped,
            )
            self.dropped = 0


def _reason(exc: BaseException) -> str:
    text = str(exc)
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__


class RedisBackend(Backend):
    """Pub/sub over a Redis server shared by every worker."""

    def __init__(self, hub: Hub, url: str) -> None:
        super().__init__(hub)
        self.url = url
        self.node = ""  # this worker's node name, fixed by start()
        self._own = b""  # how this node's messages start
        self.link = Link(url)
        self._replica = Replica()
        self._outbox: deque[bytes] = deque()
        self._seq = 0
        self._ignored: set[str] = set()  # kinds of bad message already logged
        self._attempt = 0
        self._wake: asyncio.Event | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread = 0
        self._tasks: list[asyncio.Task[None]] = []
        self._client: Any = None  # publishes
        self._subscriber: Any = None  # holds the subscription

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
        from redis.asyncio.retry import Retry
        from redis.backoff import NoBackoff

        self.node = process.node()
        self._own = _wire.own_prefix(self.node)
        options: dict[str, Any] = {
            "socket_timeout": TIMEOUT,
            "socket_connect_timeout": TIMEOUT,
            "client_name": f"nova:{self.node}",  # names this worker in CLIENT LIST
        }
        # Publishing retries once on a fresh connection: a pooled connection to a
        # Redis that has restarted fails once, and that is no outage.
        self._client = aioredis.Redis.from_url(self.url, retry=Retry(NoBackoff(), 1), **options)
        # The subscription is never retried by the client: every reconnection is
        # this backend's, so that it resyncs.
        self._subscriber = aioredis.Redis.from_url(self.url, retry=Retry(NoBackoff(), 0), **options)
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

    async def stop(self) -> None:
        self._seq += 1
        with contextlib.suppress(Exception):
            goodbye = _wire.pack(_wire.DOWN, self.node, self._seq)
            await asyncio.wait_for(self._client.publish(CHANNEL, goodbye), 1)
        self._loop = None
        for task in self._tasks:
            task.cancel()
        # Bounded: a client call that does not honour cancellation must not hang shutdown.
        if self._tasks:
            await asyncio.wait(self._tasks, timeout=2)
        self._tasks = []
        for client in (self._client, self._subscriber):
            with contextlib.suppress(Exception):
                await asyncio.wait_for(client.aclose(), 2)

    # -- the Backend interface -----------------------------------------
    def publish(self, channel: Hashable, envelope: tuple[Any, ...], size: int) -> None:
        self.hub.deliver(channel, envelope, size)
        self._send(_wire.BROADCAST, channel, envelope)

    def members(self, channel: Hashable) -> list[Pid]:
        return self.hub.members(channel) + self._replica.members(channel)

    def joined(self, channel: Hashable, pid: Pid) -> None:
        self._send(_wire.JOIN, channel, pid)

    def left(self, channel: Hashable, pid: Pid) -> None:
        self._send(_wire.LEAVE, channel, pid)

    def exited(self, pid: Pid) -> None:
        self._send(_wire.EXIT, pid)

    def send_remote(self, pid: Pid, message: Any) -> None:
        """`process.send` to a pid on another node."""
        self._send(_wire.SEND, pid, message)

    def attach(self, presence: Tracker) -> None:
        super().attach(presence)
        presence.publish = lambda changes: self._send(_wire.PRESENCE, changes)

    # -- publishing -----------------------------------------------------
    def _send(self, kind: str, *fields: Any) -> None:
        loop = self._loop
        if loop is None:
            return  # not started (no server running): nothing to carry
        if threading.get_ident() == self._thread:
            self._queue(kind, *fields)
        else:
            loop.call_soon_threadsafe(self._queue, kind, *fields)

    def _queue(self, kind: str, *fields: Any) -> None:
        # Numbered even when dropped: the gap tells the receivers.
        self._seq += 1
        if len(self._outbox) >= OUTBOX_LIMIT:  # Redis too slow or gone: shed, at-most-once
            busy = RuntimeError(f"{OUTBOX_LIMIT} messages waiting to be published")
            self.link.failed("publish", busy, dropped=1)
            return
        self._outbox.append(_wire.pack(kind, self.node, self._seq, *fields))
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
                    for data in batch:
                        pipe.publish(CHANNEL, data)
                    await pipe.execute()
            except Exception as exc:  # Redis is down: at-most-once, these are lost
                self.link.failed("publish", exc, dropped=len(batch))
            else:
                self.link.working("publish")

    async def _heartbeat(self) -> None:
        while True:
            self._queue(_wire.HEARTBEAT)
            self._expire()
            await asyncio.sleep(HEARTBEAT)

    def _expire(self) -> None:
        for node in self._replica.expire(time.monotonic(), EXPIRY):
            log.info("pub/sub node %s went silent; dropping its members", node)
            self._drop(node)

    def _drop(self, node: str) -> None:
        """`node` is gone: its presence entries leave too."""
        if self.presence is not None:
            self.presence.drop(node)

    # -- receiving ------------------------------------------------------
    async def _listen(self, subscribed: asyncio.Event) -> None:
        while True:
            pubsub = self._subscriber.pubsub()
            try:
                await asyncio.wait_for(pubsub.subscribe(CHANNEL), TIMEOUT)
                await self._read(pubsub, subscribed)
            except Exception as exc:
                self.link.failed("subscribe", exc)
            finally:
                with contextlib.suppress(Exception):
                    await asyncio.wait_for(pubsub.aclose(), 2)
            await asyncio.sleep(RETRY[min(self._attempt, len(RETRY) - 1)])
            self._attempt += 1

    async def _read(self, pubsub: Any, subscribed: asyncio.Event) -> None:
        """Handle what arrives on the subscription until it fails.

        A PING every heartbeat proves the subscription alive: a Redis that
        takes the PING and stays silent is hung, and so is the subscription.
        """
        pinged = time.monotonic()
        waiting: float | None = None  # when the oldest PING not answered yet went out
        while True:
            message = await pubsub.get_message(timeout=POLL)
            now = time.monotonic()
            if message is not None:
                waiting = None  # anything arriving proves the connection alive
                kind = message["type"]
                if kind == "message":
                    self._receive(message["data"])
                elif kind == "subscribe":
                    self._subscribed()
                    subscribed.set()
            elif waiting is not None and now - waiting > TIMEOUT:
                raise ConnectionError(f"no answer to a PING on the subscription in {TIMEOUT:g} s")
            if now - pinged >= HEARTBEAT:
                pinged = now
                if waiting is None:
                    waiting = now
                await asyncio.wait_for(pubsub.ping(), TIMEOUT)

    def _subscribed(self) -> None:
        """(Re)subscribed: Redis delivers to this node from now on."""
        self._attempt = 0
        self.link.working("subscribe")
        # Whoever dropped this node, or missed its messages while it was away,
        # gets its full membership; and it asks for everyone's.
        self._announce()
        self._queue(_wire.SYNC_REQUEST, None)

    def _announce(self) -> None:
        """Publish this node's full membership and presence."""
        self._queue(_wire.SYNC, self._local_membership())
        if self.presence is not None:
            self._queue(_wire.PRESENCE_SYNC, self.presence.local_table())

    def _receive(self, data: bytes) -> None:
        if data.startswith(self._own, 1):
            return  # this node's own message, back from Redis: not even decoded
        try:
            kind, origin, seq, fields = _wire.parse(data)
        except _wire.Malformed as problem:
            self._ignore(problem)
            return
        if origin == self.node:
            return  # encoded some other way than this node's own encoder does
        heard = self._replica.heard(origin, seq, time.monotonic())
        if heard.stale:
            return
        if heard.lost:
            log.warning("lost %d messages from pub/sub node %s", heard.lost, origin)
        if (heard.new or heard.lost) and kind not in (_wire.SYNC, _wire.DOWN):
            # Its members may be unknown here, or missed: ask for all of them.
            self._queue(_wire.SYNC_REQUEST, origin)
        if kind == _wire.BROADCAST:
            channel, envelope = fields
            self.hub.deliver(channel, envelope, payload_size(envelope[4]))
        elif kind == _wire.SEND:
            pid, message = fields
            target = process.lookup(pid) if pid.node == self.node else None
            if target is not None:
                target.deliver(message)
        elif kind == _wire.JOIN:
            self._replica.join(origin, fields[0], fields[1])
        elif kind == _wire.LEAVE:
            self._replica.leave(origin, fields[0], fields[1])
        elif kind == _wire.EXIT:
            self._replica.exit(origin, fields[0])
        elif kind == _wire.SYNC:
            self._replica.replace(origin, fields[0])
        elif kind == _wire.SYNC_REQUEST:
            if fields[0] is None or fields[0] == self.node:
                self._announce()
        elif kind == _wire.DOWN:
            self._replica.forget(origin)
            self._drop(origin)
        elif kind == _wire.PRESENCE and self.presence is not None:
            self.presence.apply(origin, fields[0])
        elif kind == _wire.PRESENCE_SYNC and self.presence is not None:
            self.presence.replace(origin, fields[0])

    def _ignore(self, problem: _wire.Malformed) -> None:
        if problem.category in self._ignored:
            return
        self._ignored.add(problem.category)
        log.warning(
            "ignoring a message on Redis channel %s: %s (more of this kind are ignored silently)",
            CHANNEL,
            problem,
        )

    def _local_membership(self) -> dict[Hashable, dict[Pid, int]]:
        table: dict[Hashable, dict[Pid, int]] = {}
        for channel in self.hub.channels():
            pids: dict[Pid, int] = {}
            for pid in self.hub.members(channel):
                pids[pid] = pids.get(pid, 0) + 1
            table[channel] = pids
        return table
