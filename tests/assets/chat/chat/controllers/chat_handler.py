"""The seed's chat handler, in Python."""

from nova_cli import pubsub


def init(state):
    pubsub.join("chat")
    return ("ok", state)


def websocket_handle(frame, state):
    match frame:
        case ("text", msg):
            pubsub.broadcast("chat", "message", msg)
    return ("ok", state)


def websocket_info(info, state):
    match info:
        case ("nova_pubsub", "chat", _sender, "message", msg):
            return ("reply", ("text", msg), state)
    return ("ok", state)
