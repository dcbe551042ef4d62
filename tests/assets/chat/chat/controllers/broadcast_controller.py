import asyncio
import threading

from nova_cli import process, pubsub


def announce(req):
    pubsub.broadcast("chat", "message", req.body.decode())
    return ("status", 204)


async def announce_async(req):
    pubsub.broadcast("chat", "message", req.body.decode())
    return ("status", 204)


def members(req):
    return ("json", {"members": [str(p) for p in pubsub.get_members("chat")]})


_background: set[asyncio.Task[None]] = set()


async def announce_later(req):
    """Broadcast from a background task, after the response is sent."""
    text = req.body.decode()

    async def later() -> None:
        await asyncio.sleep(0.05)
        pubsub.broadcast("chat", "message", text)

    task = asyncio.create_task(later())
    _background.add(task)
    task.add_done_callback(_background.discard)
    return ("status", 202)


def announce_from_thread(req):
    """Broadcast from a thread the controller starts."""
    thread = threading.Thread(target=pubsub.broadcast, args=("chat", "message", req.body.decode()))
    thread.start()
    thread.join()
    return ("status", 202)


def send(req):
    """process.send to the pid given in the query (its wire form), on any worker."""
    pid = process.Pid.decode(req.query["pid"])
    process.send(pid, ("direct", req.query["text"]))
    return ("status", 202)
