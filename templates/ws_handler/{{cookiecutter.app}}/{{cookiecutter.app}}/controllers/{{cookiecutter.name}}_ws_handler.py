{%- if cookiecutter.channel -%}
"""The {{ cookiecutter.name }} WebSocket handler: a chat room on the pub/sub channel "{{ cookiecutter.channel }}".

Routed in router.py as ("/{{ cookiecutter.name }}", {{ cookiecutter.name }}_ws_handler, {"protocol": "ws"}).
Every connection joins the channel; a text frame from one client is
broadcast to every member, and each member forwards it to its own client.
"""

from nova_cli import pubsub


def init(state):
    """A client connects: join the channel and accept."""
    pubsub.join("{{ cookiecutter.channel }}")
    return ("ok", state)


def websocket_handle(frame, state):
    """A frame from the client: broadcast its text to the channel."""
    match frame:
        case ("text", msg):
            pubsub.broadcast("{{ cookiecutter.channel }}", "message", msg)
    return ("ok", state)


def websocket_info(info, state):
    """A message for this connection: forward the channel's messages to the client."""
    match info:
        case ("nova_pubsub", "{{ cookiecutter.channel }}", _sender, "message", msg):
            return ("reply", ("text", msg), state)
    return ("ok", state)
{%- else -%}
"""The {{ cookiecutter.name }} WebSocket handler: echoes every text frame back to the client.

Routed in router.py as ("/{{ cookiecutter.name }}", {{ cookiecutter.name }}_ws_handler, {"protocol": "ws"}).
"""


def init(state):
    """A client connects; `state` is {"req": req}. Return ("ok", state) to accept."""
    return ("ok", state)


def websocket_handle(frame, state):
    """A frame from the client: ("text", str) or ("binary", bytes)."""
    match frame:
        case ("text", msg):
            return ("reply", ("text", "Echo: " + msg), state)
        case _:
            return ("ok", state)


def websocket_info(info, state):
    """Any message sent to this connection (nova_cli.process.send, pub/sub)."""
    return ("ok", state)
{%- endif %}
