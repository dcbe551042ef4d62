"""The seed's echo handler, in Python."""


def init(state):
    return ("ok", state)


def websocket_handle(frame, state):
    match frame:
        case ("text", msg):
            return ("reply", ("text", "Echo: " + msg), state)
        case _:
            return ("ok", state)


def websocket_info(info, state):
    return ("ok", state)
