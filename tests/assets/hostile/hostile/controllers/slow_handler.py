"""A handler that can be told to hang in a callback, with a terminate that takes its time."""

import asyncio
import os


def init(state):
    return ("ok", state)


async def websocket_handle(frame, state):
    match frame:
        case ("text", "hang"):
            await asyncio.sleep(3600)  # busy until shutdown cancels it
        case ("text", msg):
            return ("reply", ("text", msg), state)
    return ("ok", state)


async def terminate(reason, req, state):
    await asyncio.sleep(float(os.environ.get("HOSTILE_TERMINATE_SECONDS", "0")))
    log = os.environ.get("HOSTILE_TERMINATE_LOG")
    if log:
        with open(log, "a") as f:
            f.write(f"slow {reason!r} {os.getpid()}\n")
