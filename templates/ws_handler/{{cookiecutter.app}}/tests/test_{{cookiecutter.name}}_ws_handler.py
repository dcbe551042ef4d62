{%- if cookiecutter.presence -%}
"""{{ cookiecutter.app }}.controllers.{{ cookiecutter.name }}_ws_handler: who is online in "{{ cookiecutter.channel }}", through real sockets."""

from pathlib import Path

import pytest
from nova_cli import presence
from nova_cli.testing import app_client

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def client():
    """The whole app in process, lifespan included (see nova_cli.testing)."""
    with app_client(root=ROOT) as client:
        yield client


def names(socket):
    """The names in the next presence message the socket receives."""
    message = socket.receive_json()
    if "presence_state" in message:
        return sorted(message["presence_state"])
    diff = message["presence_diff"]
    return sorted(diff["joins"]), sorted(diff["leaves"])


def test_each_client_sees_who_comes_and_goes(client):
    with client.ws("/{{ cookiecutter.name }}?name=alice") as alice:
        assert names(alice) == ["alice"]
        assert names(alice) == (["alice"], [])  # her own join, as everyone sees it
        with client.ws("/{{ cookiecutter.name }}?name=bob") as bob:
            assert names(bob) == ["alice", "bob"]
            assert names(alice) == (["bob"], [])
        assert names(alice) == ([], ["bob"])
        assert sorted(presence.list("{{ cookiecutter.channel }}")) == ["alice"]


def test_what_is_said_reaches_the_room(client):
    with client.ws("/{{ cookiecutter.name }}?name=alice") as alice:
        alice.receive_json()  # the list
        alice.send_text("Hello Nova!")
        message = alice.receive_json()
        while "said" not in message:  # a presence diff may come first
            message = alice.receive_json()
        assert message == {"said": {"name": "alice", "text": "Hello Nova!"}}


def test_the_page_shows_the_room(client):
    response = client.get("/{{ cookiecutter.name }}/page")
    assert response.status_code == 200
    assert 'id="online"' in response.text and '"/{{ cookiecutter.name }}?name="' in response.text
{%- elif cookiecutter.channel -%}
"""{{ cookiecutter.app }}.controllers.{{ cookiecutter.name }}_ws_handler: a chat room on "{{ cookiecutter.channel }}", through real sockets."""

from pathlib import Path

import pytest
from nova_cli import pubsub
from nova_cli.testing import app_client, assert_broadcast

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def client():
    """The whole app in process, lifespan included (see nova_cli.testing)."""
    with app_client(root=ROOT) as client:
        yield client


def test_a_message_reaches_every_member(client):
    with client.sockets("/{{ cookiecutter.name }}", n=2) as (alice, bob):
        alice.send_text("Hello Nova!")
        assert_broadcast([alice, bob], "Hello Nova!")  # the sender is a member too


def test_a_broadcast_from_the_server_reaches_the_clients(client):
    with client.sockets("/{{ cookiecutter.name }}", n=2) as (alice, bob):
        pubsub.broadcast("{{ cookiecutter.channel }}", "message", "from the server")
        assert_broadcast([alice, bob], "from the server")


def test_other_topics_and_binary_frames_are_not_forwarded(client):
    with client.sockets("/{{ cookiecutter.name }}", n=2) as (alice, bob):
        pubsub.broadcast("{{ cookiecutter.channel }}", "another topic", "not for clients")
        bob.send_bytes(b"\x00")
        alice.send_text("after them")
        # messages arrive in order: a forwarded one would come before this one
        assert_broadcast([alice, bob], "after them")
{%- else -%}
"""{{ cookiecutter.app }}.controllers.{{ cookiecutter.name }}_ws_handler, through a real socket on /{{ cookiecutter.name }}."""

from pathlib import Path

import pytest
from nova_cli.testing import app_client

from {{ cookiecutter.app }}.controllers import {{ cookiecutter.name }}_ws_handler as handler

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def client():
    """The whole app in process, lifespan included (see nova_cli.testing)."""
    with app_client(root=ROOT) as client:
        yield client


def test_a_text_frame_is_echoed(client):
    with client.ws("/{{ cookiecutter.name }}") as ws:
        ws.send_text("Hello Nova!")
        assert ws.receive_text() == "Echo: Hello Nova!"


def test_other_frames_get_no_reply(client):
    with client.ws("/{{ cookiecutter.name }}") as ws:
        ws.send_bytes(b"\x00")
        ws.send_text("after it")
        # frames are handled in order: a reply to the binary one would come first
        assert ws.receive_text() == "Echo: after it"


def test_info_messages_are_ignored():
    # The callbacks are plain functions too: call one directly.
    state = {"req": None}
    assert handler.websocket_info("tick", state) == ("ok", state)
{%- endif %}
