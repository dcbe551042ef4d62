"""`nova gen auth --chat`, served by `nova run`: two users chat in headless chromium, and
the security of the accounts against a real server (cookie flags, session fixation,
rate limit, CSRF, no password in any log line).
"""

from __future__ import annotations

import re
import statistics
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from playwright.sync_api import Browser, Page, expect

from tests.support.servers import Server, nova

PASSWORD = "correct horse battery staple"
PAGE_TIMEOUT = 15_000  # ms


def _nova(*args: str, cwd: Path) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "nova_cli.cli.main", *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stdout + done.stderr


@pytest.fixture(scope="module")
def app(tmp_path_factory: pytest.TempPathFactory) -> Path:
    home = tmp_path_factory.mktemp("auth")
    _nova("new", "shop", cwd=home)
    _nova("gen", "auth", "--chat", cwd=home / "shop")
    return home / "shop"


@pytest.fixture(scope="module")
def server(app: Path) -> Iterator[Server]:
    """`nova run` (prod: Secure cookies) with its database in the project, logging at debug."""
    env = {"DATABASE_URL": f"sqlite:///{app / 'e2e.db'}"}
    with nova("run", app, "--log-level", "debug", "--access-log", env=env) as running:
        yield running


def form_token(client: httpx.Client, url: str) -> str:
    return re.search(r'name="_csrf_token" value="([^"]+)"', client.get(url).text)[1]


def post_form(client: httpx.Client, url: str, page: str, **fields: str) -> httpx.Response:
    return client.post(url, data={"_csrf_token": form_token(client, page), **fields})


def register(client: httpx.Client, server: Server, email: str) -> httpx.Response:
    return post_form(
        client, f"{server.url}/register", f"{server.url}/register", email=email, password=PASSWORD
    )


def log_in(client: httpx.Client, server: Server, email: str, password: str) -> httpx.Response:
    url = f"{server.url}/login"
    return post_form(client, url, url, email=email, password=password)


def browser_client() -> httpx.Client:
    """A client that keeps the session cookie as a browser does on loopback.

    The server runs in prod, so the cookie is Secure; browsers keep such a
    cookie from http://127.0.0.1 ("potentially trustworthy"), httpx does not.
    """
    client = httpx.Client(timeout=15, headers={"accept": "text/html"})

    def keep_session(response: httpx.Response) -> None:
        for header in response.headers.get_list("set-cookie"):
            found = re.match(r"session_id=([^;]*)", header)
            if found:  # one cookie of that name: httpx may have stored a Secure one too
                client.cookies.delete("session_id")
                client.cookies.set("session_id", found[1])

    client.event_hooks["response"] = [keep_session]
    return client


def session_cookie(response: httpx.Response) -> str:
    return next(h for h in response.headers.get_list("set-cookie") if "session_id=" in h)


# -- the browser ----------------------------------------------------------------------


def sign_up(page: Page, server: Server, email: str) -> None:
    page.goto(f"{server.url}/register")
    page.fill("input[name=email]", email)
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url(f"{server.url}/chat", timeout=PAGE_TIMEOUT)
    expect(page.locator("#status")).to_have_text("connected", timeout=PAGE_TIMEOUT)


@pytest.mark.browser
def test_two_users_chat_and_a_logout_closes_the_door(browser: Browser, server: Server) -> None:
    a_context, b_context = browser.new_context(), browser.new_context()
    a, b = a_context.new_page(), b_context.new_page()
    sign_up(a, server, "ann@example.com")
    sign_up(b, server, "ben@example.com")

    a.fill("#text", "Hello Ben!")
    a.click("#say button")
    line = b.locator("#messages li").last
    expect(line.locator(".from")).to_have_text("ann@example.com", timeout=PAGE_TIMEOUT)
    expect(line.locator(".text")).to_have_text("Hello Ben!")

    cookies = {c["name"]: c for c in a_context.cookies()}
    assert cookies["session_id"]["httpOnly"] is True
    assert cookies["session_id"]["sameSite"] == "Lax"

    a.click("form[action='/logout'] button")
    a.wait_for_url(f"{server.url}/login", timeout=PAGE_TIMEOUT)
    a.goto(f"{server.url}/chat")  # the page itself now leads to the login form
    assert a.url == f"{server.url}/login"
    opened = a.evaluate(
        """(url) => new Promise((done) => {
            const socket = new WebSocket(url);
            socket.onopen = () => done("open");
            socket.onerror = () => done("refused");
        })""",
        f"{server.ws_url}/chat",
    )
    assert opened == "refused"
    b.fill("#text", "still here")  # the other user's socket is unaffected
    b.click("#say button")
    expect(b.locator("#messages li .text").last).to_have_text("still here", timeout=PAGE_TIMEOUT)
    a_context.close()
    b_context.close()


# -- security against the real server -------------------------------------------------


def test_the_session_cookie_is_httponly_lax_and_secure(server: Server) -> None:
    with browser_client() as client:
        response = register(client, server, "cat@example.com")
        assert response.status_code == 302
        flags = [f.strip().lower() for f in session_cookie(response).split(";")]
        assert "httponly" in flags and "samesite=lax" in flags and "secure" in flags


def test_the_session_id_from_before_the_login_is_worthless_after_it(server: Server) -> None:
    with browser_client() as client:
        register(client, server, "dan@example.com")
    with browser_client() as client:
        login_page = client.get(f"{server.url}/login")  # a session, holding the CSRF token
        before = client.cookies["session_id"]
        token = re.search(r'name="_csrf_token" value="([^"]+)"', login_page.text)[1]
        fields = {"_csrf_token": token, "email": "dan@example.com", "password": PASSWORD}
        response = client.post(f"{server.url}/login", data=fields)
        assert response.status_code == 302
        after = client.cookies["session_id"]
        assert after != before
        json = {"accept": "application/json"}
        assert client.get(f"{server.url}/me", headers=json).json()["email"] == "dan@example.com"
        client.cookies.delete("session_id")
        client.cookies.set("session_id", before)
        assert client.get(f"{server.url}/me", headers=json).status_code == 401


def test_a_form_without_its_token_is_refused(server: Server) -> None:
    with browser_client() as client:
        client.get(f"{server.url}/login")
        fields = {"email": "eve@example.com", "password": PASSWORD}
        response = client.post(f"{server.url}/login", data=fields)
        assert response.status_code == 403
        assert response.text == "Forbidden - CSRF token invalid"


def test_failed_logins_are_limited_per_email_and_per_address(app: Path) -> None:
    # A server of its own: the address it closes is the one every test here comes from.
    env = {"DATABASE_URL": f"sqlite:///{app / 'e2e.db'}"}
    with nova("run", app, env=env) as server:
        _failed_logins_are_limited(server)


def _failed_logins_are_limited(server: Server) -> None:
    with browser_client() as client:
        register(client, server, "fred@example.com")
    with browser_client() as client:
        client.get(f"{server.url}/login")
        answers = [
            log_in(client, server, "fred@example.com", "wrong!").status_code for _ in range(5)
        ]
        assert answers == [401] * 5
        refused = log_in(client, server, "fred@example.com", PASSWORD)
        assert refused.status_code == 429
        assert 0 < int(refused.headers["retry-after"]) <= 15 * 60
        # 20 failures from one address, whatever the emails, close it to every email
        for n in range(15):
            assert log_in(client, server, f"guess{n}@example.com", "wrong!").status_code == 401
        assert log_in(client, server, "someone@example.com", "wrong!").status_code == 429


def test_an_unknown_email_takes_as_long_as_a_wrong_password(server: Server) -> None:
    with browser_client() as client:
        register(client, server, "gil@example.com")

    def median_time(email: str) -> float:
        times = []
        for _ in range(3):
            with browser_client() as client:
                client.get(f"{server.url}/login")
                started = time.perf_counter()
                assert log_in(client, server, email, "not it at all").status_code == 401
                times.append(time.perf_counter() - started)
        return statistics.median(times)

    known, unknown = median_time("gil@example.com"), median_time("nobody@example.com")
    # Without the dummy hash an unknown email answers ~50 times faster; a generous bound.
    assert unknown > known / 3, (known, unknown)


def test_no_password_reaches_the_servers_log(server: Server) -> None:
    with browser_client() as client:
        register(client, server, "hana@example.com")
        log_in(client, server, "hana@example.com", "a wrong password typed")
    log = server.output()
    assert "POST /login" in log  # the access log is on: the requests were logged
    for secret in (PASSWORD, "a wrong password typed", "correct+horse"):
        assert secret not in log
