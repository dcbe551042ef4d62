"""`nova run` serving a main app and a sub-app mounted under a prefix, over real sockets."""

from __future__ import annotations

import textwrap
from pathlib import Path

import httpx
from websockets.sync.client import connect

from tests.support.servers import nova

FILES = {
    "pyproject.toml": """
        [project]
        name = "shopfront"

        [tool.nova]
        app = "shopfront"
        apps = [{app = "backoffice", prefix = "/admin", security = "backoffice.auth:staff"}]
    """,
    "shopfront/__init__.py": "",
    "shopfront/router.py": """
        def home(req):
            return ("json", {"app": "shopfront"})


        def routes(environment):
            return [{"routes": [("/", home, {"methods": ["get"]})]}]
    """,
    "backoffice/__init__.py": "",
    "backoffice/auth.py": """
        def staff(req):
            return req.headers.get("x-staff") == "yes"
    """,
    "backoffice/router.py": """
        from backoffice.controllers import orders_controller, echo_ws_handler


        def routes(environment):
            return [
                {
                    "prefix": "/orders",
                    "routes": [("/:id", orders_controller.show, {"methods": ["get"]})],
                },
                {"routes": [("/ws", echo_ws_handler, {"protocol": "ws"})]},
                {"routes": [("/assets/[...]", "static")]},
            ]
    """,
    "backoffice/controllers/__init__.py": "",
    "backoffice/controllers/orders_controller.py": """
        def show(req):
            return ("ok", {"id": req.bindings["id"]})
    """,
    "backoffice/controllers/echo_ws_handler.py": """
        def init(state):
            return ("ok", state)


        def websocket_handle(frame, state):
            return ("reply", ("text", "backoffice: " + frame[1]), state)
    """,
    "backoffice/views/orders.html": "<p>order {{ id }}</p>",
    "backoffice/static/admin.css": "body { color: red; }",
}


def test_nova_run_serves_the_main_app_and_the_sub_app_under_its_prefix(tmp_path: Path) -> None:
    root = tmp_path / "shopfront_project"
    for name, text in FILES.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(text).lstrip("\n"))
    staff = {"x-staff": "yes"}
    with nova("run", root) as server, httpx.Client(base_url=server.url) as http:
        assert http.get("/").json() == {"app": "shopfront"}
        assert http.get("/admin/orders/12").status_code == 401
        page = http.get("/admin/orders/12", headers=staff)
        assert (page.status_code, page.text) == (200, "<p>order 12</p>")
        css = http.get("/admin/assets/admin.css", headers=staff)
        assert (css.status_code, css.text) == (200, "body { color: red; }")
        assert http.get("/orders/12", headers=staff).status_code == 404
        with connect(f"{server.ws_url}/admin/ws", additional_headers=staff) as ws:
            ws.send("hello")
            assert ws.recv(timeout=10) == "backoffice: hello"
