"""A handler exercising every callback and return shape, for the tests."""

import asyncio
import json
import os

from nova_cli import process, pubsub

terminated = []


def init(state):
    state["count"] = 0
    state["room"] = state["req"].bindings.get("room")
    if state["room"] == "refuse":
        return ("stop", state)
    if state["room"]:
        pubsub.join(state["room"])
    return ("ok", state)


async def websocket_init(state):
    state["pid"] = str(process.self())
    hello = {"hello": state["pid"], "wire": process.self().encode(), "auth": state.get("auth_data")}
    return ("reply", ("text", json.dumps(hello)), state)


async def websocket_handle(frame, state):
    state["count"] += 1
    match frame:
        case ("text", "count"):
            return ("reply", ("text", str(state["count"])), state)
        case ("text", "many"):
            return ("reply", [("text", "one"), ("text", "two"), ("binary", b"three")], state)
        case ("text", "stop"):
            return ("stop", state)
        case ("text", "close"):
            return ("reply", [("text", "bye"), ("close", 4000, "custom")], state)
        case ("text", "crash"):
            raise RuntimeError("handler crashed on purpose")
        case ("text", "bad"):
            return ("what", state)
        case ("text", "slow"):
            await asyncio.sleep(0.2)
            return ("reply", ("text", "slow done"), state)
        case ("text", "self"):
            process.send(process.self(), "note to self")
            return ("ok", state)
        case ("text", "ping"):
            return ("reply", ("ping", b"x"), state)
        case ("text", msg) if msg.startswith("say:"):
            pubsub.broadcast(state["room"], "say", msg[4:])
            return ("ok", state)
        case ("text", "leave"):
            pubsub.leave(state["room"])
            return ("reply", ("text", "left"), state)
        case ("binary", data):
            return ("reply", ("binary", data[::-1]), state)
    return ("ok", state)


def websocket_info(info, state):
    match info:
        case ("nova_pubsub", _room, _sender, "say", msg):
            return ("reply", ("text", "said:" + msg), state)
        case "note to self":
            return ("reply", ("text", "got note"), state)
        case ("direct", text):
            return ("reply", ("text", "direct:" + text), state)
    return ("ok", state)


def terminate(reason, req, state):
    terminated.append(reason)
    # Tests read what terminate saw from a file, since the server is another process.
    log = os.environ.get("CHAT_TERMINATE_LOG")
    if log:
        with open(log, "a") as f:
            f.write(f"{state.get('room')} {reason!r}\n")
