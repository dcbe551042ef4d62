"""The chat room of logged-in users (chat_ws_handler), through real sockets."""

import re
from pathlib import Path

import pytest
from nova_cli.testing import UpgradeRefused, app_client, assert_broadcast

from {{ cookiecutter.app }} import db

ROOT = Path(__file__).resolve().parents[1]
PASSWORD = "correct horse battery staple"


@pytest.fixture(scope="module")
def client(tmp_path_factory):
    """The whole app in process, on a database of its own."""
    db.use(f"sqlite:///{tmp_path_factory.mktemp('db') / 'test.db'}")
    # The session cookie is Secure outside dev, and the test client speaks http.
    with app_client(root=ROOT, session_secure=False) as client:
        yield client


def register(client, email):
    """A new user, logged in: the client holds their session cookie."""
    client.cookies.clear()
    page = client.get("/register").text
    token = re.search(r'name="_csrf_token" value="([^"]+)"', page)[1]
    form = {"_csrf_token": token, "email": email, "password": PASSWORD}
    assert client.post("/register", data=form).status_code == 302


def test_the_chat_needs_a_login(client):
    client.cookies.clear()
    with pytest.raises(UpgradeRefused) as refused:
        client.ws("/chat")
    assert refused.value.status == 401
    page = client.get("/chat", headers={"accept": "text/html"})
    assert page.headers["location"] == "/login"


def test_a_message_reaches_every_member_with_its_sender(client):
    register(client, "alice@example.com")
    with client.ws("/chat") as alice:  # the socket keeps the session it was opened with
        register(client, "bob@example.com")
        with client.ws("/chat") as bob:
            client.wait_for_members("{{ cookiecutter.channel }}", 2)
            alice.send_text("Hello Bob!")
            said = {"from": "alice@example.com", "text": "Hello Bob!"}
            assert_broadcast([alice, bob], said)
            bob.send_text("Hi Alice")
            said = {"from": "bob@example.com", "text": "Hi Alice"}
            assert_broadcast([alice, bob], said)


def test_the_chat_page_opens_the_socket(client):
    register(client, "carol@example.com")
    page = client.get("/chat")
    assert page.status_code == 200
    assert "carol@example.com" in page.text
    assert '"/chat"' in page.text
