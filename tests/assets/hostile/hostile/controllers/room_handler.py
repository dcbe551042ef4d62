"""Joins the room of its path in init; counts terminate calls in a file."""

import os

from nova_cli import pubsub


def init(state):
    pubsub.join(state["req"].bindings["room"])
    return ("ok", state)


def websocket_handle(frame, state):
    match frame:
        case ("text", msg):
            pubsub.broadcast(state["req"].bindings["room"], "message", msg)
    return ("ok", state)


def websocket_info(info, state):
    match info:
        case ("nova_pubsub", _room, _sender, "message", msg):
            return ("reply", ("text", msg), state)
    return ("ok", state)


def terminate(reason, req, state):
    log = os.environ.get("HOSTILE_TERMINATE_LOG")
    if log:
        with open(log, "a") as f:
            f.write(f"{req.bindings['room']} {reason!r}\n")
