"""The chat WebSocket handler: a room on pub/sub channel "{{ cookiecutter.channel }}", for logged-in users.

Routed in router.py behind auth.require_authenticated, so an upgrade without
a login is refused with 401 and `init` finds the user in `state["auth_data"]`.
A text frame from a client goes to every member as JSON text naming its
sender: {"from": "alice@example.com", "text": "Hello!"}.
"""

import json

from nova_cli import pubsub


def init(state):
    """A logged-in user connects: join the channel and accept."""
    state["name"] = state["auth_data"]["email"]
    pubsub.join("{{ cookiecutter.channel }}")
    return ("ok", state)


def websocket_handle(frame, state):
    """A frame from the client: broadcast its text, with the sender's name."""
    match frame:
        case ("text", text):
            message = {"from": state["name"], "text": text}
            pubsub.broadcast("{{ cookiecutter.channel }}", "message", message)
    return ("ok", state)


def websocket_info(info, state):
    """A message for this connection: forward the channel's messages to the client."""
    match info:
        case ("nova_pubsub", "{{ cookiecutter.channel }}", _sender, "message", message):
            return ("reply", ("text", json.dumps(message)), state)
    return ("ok", state)
