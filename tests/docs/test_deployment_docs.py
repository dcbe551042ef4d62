"""docs/deployment.md: its nginx configuration in front of `nova run`, and its uvicorn command.

The nginx block is copied from the page as it stands, with only the ports
changed, and run with Debian's nginx; HTTP, a WebSocket chat and the origin
check are then exercised through it.
"""

from __future__ import annotations

import contextlib
import re
import shlex
import shutil
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import httpx
from websockets.exceptions import InvalidStatus
from websockets.sync.client import ClientConnection, connect

from tests.support.servers import ASSETS, Server, free_port, nova, spawn, stop, wait_for_port

PAGE = Path(__file__).resolve().parents[2] / "docs" / "deployment.md"


def blocks(language: str) -> list[str]:
    """The fenced blocks of `language` on the page."""
    found = re.findall(rf"```{language}\n(.*?)```", PAGE.read_text(), re.S)
    assert found, f"docs/deployment.md has no {language} block"
    return found


@contextlib.contextmanager
def nginx_in_front_of(app_port: int, tmp_path: Path) -> Iterator[int]:
    """Run the page's nginx configuration on a free port, proxying to `app_port`."""
    binary = shutil.which("nginx") or "/usr/sbin/nginx"
    assert Path(binary).exists(), "nginx is missing: apt-get install nginx"
    port = free_port()
    (site,) = blocks("nginx")
    site = site.replace("server 127.0.0.1:8080;", f"server 127.0.0.1:{app_port};")
    site = site.replace("listen 80;", f"listen 127.0.0.1:{port};")
    (tmp_path / "logs").mkdir()
    conf = tmp_path / "nginx.conf"
    conf.write_text(
        f"pid {tmp_path}/nginx.pid;\n"
        f"error_log {tmp_path}/logs/error.log;\n"
        "daemon off;\n"
        "events { worker_connections 256; }\n"
        "http {\n"
        f"  access_log {tmp_path}/logs/access.log;\n"
        f"  client_body_temp_path {tmp_path}/body;\n"
        f"  proxy_temp_path {tmp_path}/proxy;\n"
        f"{site}\n"
        "}\n"
    )
    process = subprocess.Popen(
        [binary, "-p", str(tmp_path), "-c", str(conf)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    try:
        wait_for_port(port, process, 15, tmp_path / "logs" / "error.log")
        yield port
    finally:
        stop(process)


def test_the_nginx_configuration_proxies_http_and_websockets(tmp_path: Path) -> None:
    with nova("run", ASSETS / "chat") as app, nginx_in_front_of(app.port, tmp_path) as port:
        site = f"shop.example.com:{port}"  # as a browser names the site, to nginx's port
        response = httpx.get(f"http://127.0.0.1:{port}/members", headers={"Host": site})
        assert response.status_code == 200 and response.json() == {"members": []}

        def browser(origin: str) -> ClientConnection:
            sock = socket.create_connection(("127.0.0.1", port), timeout=10)
            headers = {"Origin": origin}
            return connect(f"ws://{site}/chat", sock=sock, additional_headers=headers)

        # A page of the site: its Origin matches the Host nginx passes on.
        with browser(f"http://{site}") as a, browser(f"http://{site}") as b:
            _wait_members(app, 2)
            a.send("through nginx")
            assert b.recv(timeout=10) == "through nginx"
        # Another site's page is still refused through the proxy.
        try:
            browser("http://evil.example").close()
            raise AssertionError("a cross-site upgrade was accepted through nginx")
        except InvalidStatus as refused:
            assert refused.response.status_code == 403


def _wait_members(app: Server, count: int) -> None:
    import time

    deadline = time.monotonic() + 10
    while len(httpx.get(app.url + "/members", timeout=10).json()["members"]) < count:
        assert time.monotonic() < deadline, "the clients never joined"
        time.sleep(0.05)


def test_the_plain_uvicorn_command_uses_novas_protocols() -> None:
    """The page's command line, with the project and port of a test: heads are bounded."""
    (text,) = [b for b in blocks("console") if "uvicorn --factory" in b]
    words = shlex.split(text.removeprefix("$ ").replace("\\\n", " "))
    settings = dict(w.split("=", 1) for w in words[: words.index("uvicorn")])
    argv = words[words.index("uvicorn") :]
    assert "--http" in argv and "--ws" in argv
    port = free_port()
    env = {**settings, "NOVA_ROOT": str(ASSETS / "demo"), "NOVA_MAX_HEADER_COUNT": "10"}
    with spawn([sys.executable, "-m", *argv, "--port", str(port)], port=port, env=env):
        ok = httpx.get(f"http://127.0.0.1:{port}/heartbeat", timeout=10)
        assert ok.status_code == 200
        many = httpx.get(
            f"http://127.0.0.1:{port}/heartbeat",
            headers={f"x-{i}": "1" for i in range(10)},
            timeout=10,
        )
        assert many.status_code == 431  # NovaHttpProtocol, with the app's own setting
