"""A user's first session, for real: a fresh virtualenv with nova-web installed from
this checkout, `nova new myapp`, every `nova gen` kind, the app's own tests, then
`nova serve` with real HTTP and WebSocket clients.
"""

from __future__ import annotations

import json
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest
from websockets.sync.client import connect

from tests.support import venvs
from tests.support.generators import GENERATORS
from tests.support.servers import free_port, spawn

REPO = Path(__file__).resolve().parents[2]

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def venv(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A new virtualenv with nova-web (editable, from this checkout), pytest and httpx2,
    and what `nova gen auth` makes the app depend on."""
    root = venvs.create(tmp_path_factory.mktemp("venv") / "venv")
    venvs.pip_install(root, "--quiet", "-e", str(REPO))
    venvs.pip_install(root, "--quiet", "pytest", "httpx2", "sqlalchemy>=2", "argon2-cffi>=23")
    return root


@pytest.fixture(scope="module")
def app(venv: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """`nova new myapp` and every generator, run with the venv's `nova`."""
    home = tmp_path_factory.mktemp("project")
    nova = str(venv / "bin" / "nova")
    out = venvs.run(venv, [nova, "new", "myapp"], home)
    assert "Next steps" in out
    root = home / "myapp"
    for args in GENERATORS:
        venvs.run(venv, [nova, "gen", *args], root / "myapp")  # from inside the app
    return root


@pytest.fixture(scope="module")
def server(venv: Path, app: Path) -> Iterator[str]:
    port = free_port()
    args = [str(venv / "bin" / "nova"), "serve", "--no-reload", "--port", str(port)]
    with spawn(
        args, port=port, cwd=app, env=venvs.env(venv), inherit_env=False, timeout=60
    ) as running:
        yield running.url


def test_nova_is_the_venv_one(venv: Path, app: Path):
    out = venvs.run(
        venv, [str(venv / "bin" / "python"), "-c", "import nova_cli; print(nova_cli.__file__)"], app
    )
    assert out.strip() == str(REPO / "nova_cli" / "__init__.py")


def test_the_generated_tests_pass(venv: Path, app: Path):
    out = venvs.run(venv, [str(venv / "bin" / "python"), "-m", "pytest", "-q"], app)
    assert "37 passed" in out, out


def test_routes_lists_the_generated_routes(venv: Path, app: Path):
    rows = json.loads(venvs.run(venv, [str(venv / "bin" / "nova"), "routes", "--json"], app))
    found = {(",".join(r["methods"]), r["path"], r["target"], r["protocol"]) for r in rows}
    assert {
        ("GET", "/", "myapp.controllers.main_controller.index", "http"),
        ("GET", "/users", "myapp.controllers.users_controller.index", "http"),
        ("GET", "/users/:id", "myapp.controllers.users_controller.show", "http"),
        ("GET", "/users/stats", "myapp.controllers.users_controller.stats", "http"),
        ("", "/chat", "myapp.controllers.chat_ws_handler", "ws"),
        ("", "/room", "myapp.controllers.room_ws_handler", "ws"),
        ("GET", "/books", "myapp.controllers.books_controller.list", "http"),
        ("POST", "/books", "myapp.controllers.books_controller.create", "http"),
        ("GET", "/books/:id", "myapp.controllers.books_controller.show", "http"),
        ("PUT", "/books/:id", "myapp.controllers.books_controller.update", "http"),
        ("DELETE", "/books/:id", "myapp.controllers.books_controller.delete", "http"),
    } <= found


def _get(url: str) -> tuple[int, str]:
    with urllib.request.urlopen(url, timeout=10) as response:
        return response.status, response.read().decode()


def test_home_page_and_heartbeat(server: str):
    status, body = _get(server + "/")
    assert status == 200 and "Hello world!" in body
    assert _get(server + "/heartbeat")[0] == 200
    assert _get(server + "/assets/app.css")[0] == 200


def test_generated_http_routes(server: str):
    assert json.loads(_get(server + "/users/7")[1]) == {"action": "show", "id": "7"}
    request = urllib.request.Request(
        server + "/books",
        data=b'{"title": "Dune"}',
        headers={"content-type": "application/json"},
        method="POST",
    )
    with urllib.request.urlopen(request, timeout=10) as response:
        assert response.status == 201
        book = json.loads(response.read())
    assert book["title"] == "Dune"
    assert json.loads(_get(f"{server}/books/{book['id']}")[1]) == book


def test_the_ws_handler_echoes(server: str):
    with connect(server.replace("http", "ws") + "/chat", open_timeout=10) as ws:
        ws.send("Hello Nova!")
        assert ws.recv(timeout=10) == "Echo: Hello Nova!"


def test_the_pubsub_ws_handler_is_a_chat_room(server: str):
    url = server.replace("http", "ws") + "/room"
    with connect(url, open_timeout=10) as alice, connect(url, open_timeout=10) as bob:
        # init (which joins) runs before the upgrade is accepted: both are members now
        alice.send("hi everyone")
        assert alice.recv(timeout=10) == "hi everyone"  # the sender is a member too
        assert bob.recv(timeout=10) == "hi everyone"
