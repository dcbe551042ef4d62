"""Two apps in one process share no runtime state: channels, members, connections."""

from __future__ import annotations

from pathlib import Path

from starlette.testclient import TestClient

from tests.runtime.conftest import Apps

HANDLER = """
from nova_cli import pubsub

received = []


def init(state):
    pubsub.join("chat")
    return ("ok", state)


def websocket_handle(frame, state):
    pubsub.broadcast("chat", "message", frame[1])
    return ("ok", state)


def websocket_info(info, state):
    received.append(info[4])
    return ("reply", ("text", info[4]), state)
"""

ROUTER = """
from nova_cli import pubsub
from {package} import chat_handler


def members(req):
    return ("json", {{"members": len(pubsub.get_members("chat"))}})


def routes(environment):
    return [{{"prefix": "", "routes": [
        ("/chat", chat_handler, {{"protocol": "ws"}}),
        ("/members", members, {{"methods": ["get"]}}),
    ]}}]
"""


def chat_app(apps: Apps, package: str) -> Path:
    return apps.write(
        {"chat_handler.py": HANDLER, "router.py": ROUTER.format(package=package)},
        package=package,
    )


def test_two_apps_have_their_own_channels_and_connections(apps: Apps) -> None:
    first, second = chat_app(apps, "first_app"), chat_app(apps, "second_app")
    with TestClient(apps.app(second)) as two, two.websocket_connect("/chat") as b:
        with TestClient(apps.app(first)) as one, one.websocket_connect("/chat") as a:
            assert one.get("/members").json() == {"members": 1}
            assert two.get("/members").json() == {"members": 1}
            a.send_text("to the first app")
            assert a.receive_text() == "to the first app"
            b.send_text("to the second app")
            assert b.receive_text() == "to the second app"  # not the first app's message
        # The first app has shut down, closing its connections, and only its own.
        b.send_text("still here")
        assert b.receive_text() == "still here"
        assert two.get("/members").json() == {"members": 1}
    import first_app.chat_handler as first_handler
    import second_app.chat_handler as second_handler

    assert first_handler.received == ["to the first app"]
    assert second_handler.received == ["to the second app", "still here"]


FALLBACK_APP = {
    "router.py": """
        from tinyapp import pages


        def routes(environment):
            return [{"routes": [("/odd", pages.odd, {"methods": ["get"]})]}]
    """,
    "pages.py": """
        from tinyapp import rescue

        fallback_controller = rescue


        def odd(req):
            return ("nonsense",)
    """,
    "rescue.py": """
        def resolve(req, invalid_return):
            return ("status", 422, {}, {"rescued": list(invalid_return)})
    """,
}
PLAIN_APP = {
    "router.py": """
        from tinyapp import pages


        def routes(environment):
            return [{"routes": [("/odd", pages.odd, {"methods": ["get"]})]}]
    """,
    "pages.py": """
        def odd(req):
            return ("json", {"plain": True})
    """,
}


def test_a_fallback_is_the_one_of_its_own_app(tmp_path: Path) -> None:
    # Another app loaded under the same package name replaces the first one's
    # modules in sys.modules: the first app's fallback must not go with them.
    apps = Apps(tmp_path)
    first = apps.client(apps.write(FALLBACK_APP, folder="first"))
    second = apps.client(apps.write(PLAIN_APP, folder="second"))
    assert second.get("/odd").json() == {"plain": True}
    answer = first.get("/odd")
    assert (answer.status_code, answer.json()) == (422, {"rescued": ["nonsense"]})
