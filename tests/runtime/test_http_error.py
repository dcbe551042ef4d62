"""`HTTPError(status, reason)`: Nova's throw({Status, Reason}), answered with the app's page."""

from __future__ import annotations

import pytest
from starlette.testclient import TestClient

from nova_cli import HTTPError
from tests.runtime.conftest import Apps

ROUTER = """
from nova_cli import HTTPError


def teapot(req):
    raise HTTPError(418, "no coffee here", {"x-brew": "tea"})


def bare(req):
    raise HTTPError(404)


def unavailable(req):
    raise HTTPError(503, "maintenance until noon")


async def gone(req):
    raise HTTPError(410, {"id": req.bindings["id"]})


def guard(req):
    if req.headers.get("authorization") != "Bearer ok":
        raise HTTPError(401, "who are you?", {"www-authenticate": "Bearer"})
    return True


def pre_request(req, options):
    if "block" in req.query:
        raise HTTPError(429, "slow down", {"retry-after": "30"})


def cors(req, response, options):
    response.headers["x-post"] = "ran"


def page_410(req):
    info = req.crash_info
    return ("json", 410, {}, {"reason": info["reason"], "class": info["class"]})


def websocket_handle(frame, state):
    return ("ok", state)


def routes(environment):
    get = {"methods": ["get"]}
    return [
        {"routes": [("/teapot", teapot, get), ("/bare", bare, get),
                    ("/unavailable", unavailable, get), ("/gone/:id", gone, get)]},
        {"prefix": "/admin", "security": guard,
         "plugins": [("pre_request", "tinyapp.router", {}),
                     ("post_request", "tinyapp.router:Post", {})],
         "routes": [("/", lambda req: ("json", {"admin": True}), get)]},
        {"routes": [(410, page_410)]},
        {"prefix": "/ws", "security": guard, "routes": [("/", Handler, {"protocol": "ws"})]},
    ]


class Handler:
    websocket_handle = staticmethod(websocket_handle)


class Post:
    post_request = staticmethod(cors)
"""

HTML = "text/html,application/xhtml+xml,*/*;q=0.8"


@pytest.fixture
def client(apps: Apps) -> TestClient:
    return apps.client(apps.write({"router.py": ROUTER}), environment="prod")


def test_the_status_with_the_json_error_shape(client: TestClient) -> None:
    response = client.get("/teapot")
    assert response.status_code == 418
    assert response.headers["x-brew"] == "tea"
    assert response.json() == {"status": 418, "error": "im_a_teapot", "message": "no coffee here"}
    assert client.get("/bare").json() == {
        "status": 404,
        "error": "not_found",
        "message": "Not Found",
    }


def test_a_browser_gets_the_html_page(client: TestClient) -> None:
    response = client.get("/teapot", headers={"accept": HTML})
    assert response.status_code == 418
    assert response.headers["content-type"].startswith("text/html")
    assert "data-nova-error='418'" in response.text
    assert "<p>no coffee here</p>" in response.text


def test_a_5xx_reason_is_not_shown_in_prod_but_is_in_dev(apps: Apps, client: TestClient) -> None:
    assert client.get("/unavailable").json()["message"] == (
        "The server could not handle this request."
    )
    dev = apps.client(apps.write({"router.py": ROUTER}, folder="dev"), environment="dev")
    response = dev.get("/unavailable")
    assert response.status_code == 503
    assert response.json()["message"] == "maintenance until noon"
    assert "traceback" not in response.json()


def test_the_apps_status_route_gets_the_reason_as_crash_info(client: TestClient) -> None:
    response = client.get("/gone/7")
    assert response.status_code == 410
    assert response.json() == {"reason": {"id": "7"}, "class": "HTTPError"}


def test_from_a_security_callable_and_a_plugin_with_post_plugins_run(client: TestClient) -> None:
    refused = client.get("/admin/")
    assert refused.status_code == 401
    assert refused.headers["www-authenticate"] == "Bearer"
    assert refused.headers["x-post"] == "ran"
    assert refused.json()["message"] == "who are you?"
    blocked = client.get("/admin/?block", headers={"authorization": "Bearer ok"})
    assert (blocked.status_code, blocked.headers["retry-after"]) == (429, "30")
    assert blocked.headers["x-post"] == "ran"
    assert client.get("/admin/", headers={"authorization": "Bearer ok"}).json() == {"admin": True}


@pytest.mark.parametrize("status", [200, 302, 600, "404", True])
def test_only_error_statuses(status: object) -> None:
    with pytest.raises(ValueError, match="HTTPError status must be an int from 400 to 599"):
        HTTPError(status)  # type: ignore[arg-type]


def test_from_a_websocket_upgrades_security(client: TestClient) -> None:
    from starlette.testclient import WebSocketDenialResponse

    with pytest.raises(WebSocketDenialResponse) as denied, client.websocket_connect("/ws/"):
        pass
    assert denied.value.status_code == 401
    assert denied.value.headers["www-authenticate"] == "Bearer"
    assert denied.value.json()["message"] == "who are you?"
