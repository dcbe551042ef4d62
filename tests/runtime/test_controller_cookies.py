"""`req.set_cookie` / `req.delete_cookie`: on whatever response the return value becomes."""

from __future__ import annotations

import pytest
from starlette.testclient import TestClient

from nova_cli.handlers import unregister_handler
from tests.runtime.conftest import Apps

CONTROLLERS = """
from pathlib import Path

from starlette.responses import PlainTextResponse

from nova_cli import HTTPError
from nova_cli.handlers import register_handler
from tinyapp.controllers import page_fallback

fallback_controller = page_fallback
FILE = Path(__file__).with_name("file.txt")


def text_handler(status, headers, payload):
    return PlainTextResponse(payload, status, headers)


register_handler("cookie_text", text_handler)


def marked(fn):
    def controller(req):
        req.set_cookie("flavour", "oat", max_age=60)
        return fn(req)

    controller.__module__ = __name__
    return controller


json = marked(lambda req: ("json", {"ok": True}))
view = marked(lambda req: ("ok", {"title": "Hi"}))
status = marked(lambda req: ("status", 204))
redirect = marked(lambda req: ("redirect", "/elsewhere"))
sendfile = marked(lambda req: ("sendfile", 200, {}, (0, 4, str(FILE)), "text/plain"))
custom = marked(lambda req: ("cookie_text", "custom"))
fallback = marked(lambda req: ("nonsense",))
response = marked(lambda req: PlainTextResponse("raw"))


def http_error(req):
    req.set_cookie("flavour", "oat", max_age=60)
    raise HTTPError(409, "taken")


def crash(req):
    req.set_cookie("flavour", "oat", max_age=60)
    raise RuntimeError("boom")


def forget(req):
    req.delete_cookie("flavour")
    req.set_cookie("theme", "dark", secure=True, httponly=False, samesite="strict", path="/app")
    return ("status", 204)
"""

FALLBACK = """
def resolve(req, invalid):
    return ("status", 422)
"""

PLUGIN = """
def pre_request(req, options):
    req.set_cookie("flavour", "oat", max_age=60)
    if req.path == "/stopped":
        return ("stop", ("status", 429))
    return None
"""

ROUTER = """
from tinyapp.controllers import pages_controller as c


def deny(req):
    req.set_cookie("flavour", "oat", max_age=60)
    return (False, 403, {})


def routes(environment):
    get = {"methods": ["get"]}
    names = ["json", "view", "status", "redirect", "sendfile", "custom", "fallback", "response",
             "http_error", "crash", "forget"]
    plain = [(f"/{name}", getattr(c, name), get) for name in names]
    return [
        {"routes": plain},
        {"plugins": [("pre_request", "tinyapp.plugin", {})],
         "routes": [("/stopped", c.json, get)]},
        {"security": deny, "routes": [("/denied", c.json, get)]},
    ]
"""

EXPECTED = "flavour=oat; HttpOnly; Max-Age=60; Path=/; SameSite=Lax"


@pytest.fixture(scope="module")
def client(tmp_path_factory: pytest.TempPathFactory) -> TestClient:
    from tests.runtime.conftest import purge

    apps = Apps(tmp_path_factory.mktemp("cookies"))
    root = apps.write(
        {
            "controllers/__init__.py": "",
            "controllers/pages_controller.py": CONTROLLERS,
            "controllers/page_fallback.py": FALLBACK,
            "controllers/file.txt": "data and more",
            "plugin.py": PLUGIN,
            "views/pages.html": "<h1>{{ title }}</h1>",
            "router.py": ROUTER,
        }
    )
    yield TestClient(apps.app(root, environment="dev"), follow_redirects=False)
    unregister_handler("cookie_text")
    purge("tinyapp")


@pytest.mark.parametrize(
    ("path", "status"),
    [
        ("/json", 200),
        ("/view", 200),
        ("/status", 204),
        ("/redirect", 302),
        ("/sendfile", 200),
        ("/custom", 200),
        ("/fallback", 422),
        ("/response", 200),
        ("/http_error", 409),
        ("/stopped", 429),
        ("/denied", 403),
    ],
)
def test_the_cookie_reaches_every_kind_of_response(
    client: TestClient, path: str, status: int
) -> None:
    response = client.get(path)
    assert response.status_code == status
    assert response.headers.get_list("set-cookie") == [EXPECTED]


def test_a_request_that_fails_with_a_500_sets_no_cookie(client: TestClient) -> None:
    response = client.get("/crash")
    assert response.status_code == 500
    assert response.headers.get_list("set-cookie") == []


def test_delete_cookie_and_the_options(client: TestClient) -> None:
    response = client.get("/forget")
    assert response.headers.get_list("set-cookie") == [
        'flavour=""; expires=Thu, 01 Jan 1970 00:00:00 GMT; HttpOnly; Max-Age=0; Path=/; '
        "SameSite=Lax",
        "theme=dark; Path=/app; SameSite=Strict; Secure",
    ]


def test_secure_by_default_outside_dev(apps: Apps) -> None:
    root = apps.write(
        {
            "router.py": """
def set_it(req):
    req.set_cookie("a", "b")
    return ("status", 204)


def routes(environment):
    return [{"routes": [("/", set_it, {"methods": ["get"]})]}]
"""
        }
    )
    prod = TestClient(apps.app(root, environment="prod")).get("/")
    assert prod.headers["set-cookie"] == "a=b; HttpOnly; Path=/; SameSite=Lax; Secure"
    dev = TestClient(apps.app(root, environment="dev")).get("/")
    assert dev.headers["set-cookie"] == "a=b; HttpOnly; Path=/; SameSite=Lax"


@pytest.mark.parametrize(
    ("kwargs", "error"),
    [
        ({"name": "a b"}, "'a b' is not a valid cookie name"),
        ({"samesite": "loose"}, "samesite must be one of lax, strict, none or None, got 'loose'"),
        ({"samesite": "none", "secure": False}, "samesite='none' needs secure=True"),
        ({"value": 42}, "the value must be a str, got int"),
    ],
)
def test_a_bad_cookie_is_an_error_at_the_call(kwargs: dict[str, object], error: str) -> None:
    from starlette.requests import Request as StarletteRequest

    from nova_cli.runtime.request import Request

    req = Request(StarletteRequest({"type": "http", "path": "/", "headers": []}), method="GET")
    args: dict[str, object] = {"name": "a", "value": "b", **kwargs}
    name, value = args.pop("name"), args.pop("value")
    with pytest.raises((ValueError, TypeError), match=error):
        req.set_cookie(name, value, **args)  # type: ignore[arg-type]
