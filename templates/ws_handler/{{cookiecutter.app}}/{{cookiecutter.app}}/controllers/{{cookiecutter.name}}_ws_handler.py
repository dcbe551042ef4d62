{%- if cookiecutter.presence -%}
"""The {{ cookiecutter.name }} WebSocket handler: a room on "{{ cookiecutter.channel }}" that knows who is online.

Routed in router.py as ("/{{ cookiecutter.name }}", {{ cookiecutter.name }}_ws_handler, {"protocol": "ws"}),
with its page, GET /{{ cookiecutter.name }}/page (views/{{ cookiecutter.name }}.html, by `page` below).
Every connection joins the channel and is tracked by nova_cli.presence under
its user's name: the client gets the whole list once, then each change as a
diff (remove the leaves by their nova_ref, then add the joins).  A text frame
is said to the room.  Every JSON frame to the client is one of:

    {"presence_state": {name: [meta, ...]}}
    {"presence_diff": {"joins": {name: [meta, ...]}, "leaves": {name: [meta, ...]}}}
    {"said": {"name": name, "text": text}}
"""

import json
import time

from nova_cli import presence, pubsub

CHANNEL = "{{ cookiecutter.channel }}"


def page(req):
    """GET /{{ cookiecutter.name }}/page: the room, live (views/{{ cookiecutter.name }}.html)."""
    return ("ok", {"socket": "/{{ cookiecutter.name }}"}, {"view": "{{ cookiecutter.name }}"})


def user(state):
    """Who connects: the route security's auth_data when it has some, else ?name=."""
    auth = state.get("auth_data")
    if isinstance(auth, dict):
        auth = auth.get("name") or auth.get("username") or auth.get("id")
    if auth is not None:
        return str(auth)
    return state["req"].query.get("name") or "anonymous"


def init(state):
    """A client connects: join the channel (for the diffs) and be tracked in it."""
    state["user"] = user(state)
    pubsub.join(CHANNEL)
    presence.track(CHANNEL, state["user"], {"online_at": int(time.time())})
    return ("ok", state)


def websocket_init(state):
    """Connected: send the whole list once; diffs follow in websocket_info."""
    return ("reply", _json({"presence_state": presence.list(CHANNEL)}), state)


def websocket_handle(frame, state):
    """A text frame from the client: say it to the room."""
    match frame:
        case ("text", text):
            pubsub.broadcast(CHANNEL, "said", {"name": state["user"], "text": text})
    return ("ok", state)


def websocket_info(info, state):
    """Presence diffs and what was said, forwarded to the client as JSON."""
    match info:
        case ("nova_presence", "{{ cookiecutter.channel }}", diff):
            return ("reply", _json({"presence_diff": diff}), state)
        case ("nova_pubsub", "{{ cookiecutter.channel }}", _sender, "said", said):
            return ("reply", _json({"said": said}), state)
    return ("ok", state)


def _json(value):
    return ("text", json.dumps(value))
{%- elif cookiecutter.channel -%}
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
