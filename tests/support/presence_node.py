"""Another node, in its own OS process: `python -m tests.support.presence_node REDIS_URL`.

Reads commands on stdin, one a line, and answers each on stdout:

    track CHANNEL KEY   a new process of this node tracks KEY      -> ok
    exit KEY            the processes tracking KEY end              -> ok
    list CHANNEL        presence.list(CHANNEL), keys sorted, JSON  -> {...}

It prints `ready NODE` once its backend is started, so that a test can kill it
(SIGKILL: no goodbye) or stop it (SIGTERM: it says `down` to the others).
"""

from __future__ import annotations

import asyncio
import json
import signal
import sys

from nova_cli import presence, process, pubsub
from nova_cli.pubsub.backends.redis import RedisBackend


class Tab(process.Process):
    """A connection that nothing reads: it only holds an entry."""


async def main(url: str) -> None:
    app = pubsub.PubSub(RedisBackend, url)
    pubsub.activate(app)
    await pubsub.start(app)
    loop = asyncio.get_running_loop()
    stopped = asyncio.Event()
    loop.add_signal_handler(signal.SIGTERM, stopped.set)
    tabs: dict[str, list[Tab]] = {}
    reader = asyncio.StreamReader()
    await loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(reader), sys.stdin)
    print("ready", process.node(), flush=True)
    lines = asyncio.ensure_future(reader.readline())
    stopping = asyncio.ensure_future(stopped.wait())
    while True:
        await asyncio.wait([lines, stopping], return_when=asyncio.FIRST_COMPLETED)
        if stopping.done() or not lines.result():
            break
        command, *args = lines.result().decode().split()
        lines = asyncio.ensure_future(reader.readline())
        if command == "track":
            tab = Tab()
            tab.register()
            presence.track(args[0], args[1], {"node": process.node()}, tab.pid)
            tabs.setdefault(args[1], []).append(tab)
            print("ok", flush=True)
        elif command == "exit":
            for tab in tabs.pop(args[0], []):
                tab.exit()
            print("ok", flush=True)
        elif command == "list":
            print(json.dumps(presence.list(args[0]), sort_keys=True), flush=True)
    lines.cancel()
    await pubsub.stop(app)


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1]))
