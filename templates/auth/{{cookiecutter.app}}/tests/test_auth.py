"""Accounts through the whole app: register, log in and out, passwords, the guards."""

import logging
import re
from pathlib import Path

import pytest
from nova_cli.testing import app_client

from {{ cookiecutter.app }} import db, rate_limit

ROOT = Path(__file__).resolve().parents[1]
PASSWORD = "correct horse battery staple"
NEW_PASSWORD = "a brand new passphrase"
HTML = {"accept": "text/html"}


@pytest.fixture(scope="module")
def app(tmp_path_factory):
    """The whole app in process, on a database of its own."""
    db.use(f"sqlite:///{tmp_path_factory.mktemp('db') / 'test.db'}")
    # The session cookie is Secure outside dev, and the test client speaks http.
    with app_client(root=ROOT, session_secure=False) as client:
        yield client


@pytest.fixture
def client(app):
    """A new visitor: no cookies, no failed logins counted."""
    app.cookies.clear()
    rate_limit.reset()
    return app


def csrf_token(client, page):
    """The form's hidden _csrf_token, as a browser would submit it."""
    return re.search(r'name="_csrf_token" value="([^"]+)"', client.get(page).text)[1]


def register(client, email, password=PASSWORD):
    token = csrf_token(client, "/register")
    form = {"_csrf_token": token, "email": email, "password": password}
    return client.post("/register", data=form)


def log_in(client, email, password=PASSWORD):
    token = csrf_token(client, "/login")
    form = {"_csrf_token": token, "email": email, "password": password}
    return client.post("/login", data=form)


def log_out(client):
    token = csrf_token(client, "/account")
    return client.post("/logout", data={"_csrf_token": token})


def test_register_logs_in(client):
    response = register(client, "ada@example.com")
    assert response.status_code == 302
    assert response.headers["location"] == "{% if cookiecutter.chat %}/chat{% else %}/account{% endif %}"
    assert client.get("/me").json()["email"] == "ada@example.com"
    assert "ada@example.com" in client.get("/account").text


def test_an_email_registers_once(client):
    assert register(client, "bea@example.com").status_code == 302
    client.cookies.clear()
    again = register(client, "BEA@example.com")
    assert again.status_code == 422
    assert "already registered" in again.text


def test_a_short_password_is_refused(client):
    response = register(client, "cy@example.com", "short")
    assert response.status_code == 422
    assert "12 to 1024 characters" in response.text


def test_log_in_and_out(client):
    register(client, "dee@example.com")
    client.cookies.clear()
    response = log_in(client, "dee@example.com")
    assert response.status_code == 302
    assert client.get("/account").status_code == 200
    assert log_out(client).headers["location"] == "/login"
    assert client.get("/account", headers=HTML).headers["location"] == "/login"


def test_login_gets_a_new_session_id(client):
    register(client, "eve@example.com")
    client.cookies.clear()
    csrf_token(client, "/login")
    before = client.cookies["session_id"]
    log_in(client, "eve@example.com")
    assert client.cookies["session_id"] != before
    client.cookies.clear()
    client.cookies["session_id"] = before  # the id from before the login: worthless
    assert client.get("/me").status_code == 401


def test_wrong_password_and_unknown_email_get_the_same_answer(client):
    register(client, "fay@example.com")
    client.cookies.clear()
    wrong = log_in(client, "fay@example.com", "not the password!")
    unknown = log_in(client, "nobody@example.com", "not the password!")
    assert wrong.status_code == unknown.status_code == 401
    assert "wrong email or password" in wrong.text
    assert wrong.text.replace("fay@", "nobody@") == unknown.text
    assert client.get("/me").status_code == 401


def test_change_password(client):
    register(client, "gus@example.com")
    form = {"_csrf_token": csrf_token(client, "/account"), "password": NEW_PASSWORD}
    wrong = client.post("/account/password", data={**form, "current_password": "nope"})
    assert wrong.status_code == 422
    assert "current password is wrong" in wrong.text
    form["current_password"] = PASSWORD
    changed = client.post("/account/password", data=form)
    assert changed.headers["location"] == "/account"
    assert "your password was changed" in client.get("/account").text
    client.cookies.clear()
    assert log_in(client, "gus@example.com").status_code == 401
    assert log_in(client, "gus@example.com", NEW_PASSWORD).status_code == 302


def test_a_password_change_logs_out_the_other_sessions(client):
    register(client, "hal@example.com")
    other = client.cookies["session_id"]
    client.cookies.clear()
    log_in(client, "hal@example.com")
    form = {"_csrf_token": csrf_token(client, "/account"), "current_password": PASSWORD}
    client.post("/account/password", data={**form, "password": NEW_PASSWORD})
    assert client.get("/me").status_code == 200
    client.cookies.clear()
    client.cookies["session_id"] = other
    assert client.get("/me").status_code == 401


def test_pages_redirect_to_the_login_page(client):
    response = client.get("/account", headers=HTML)
    assert response.status_code == 302
    assert response.headers["location"] == "/login"


def test_json_gets_401(client):
    response = client.get("/me", headers={"accept": "application/json"})
    assert response.status_code == 401
    assert response.json()["error"] == "unauthorized"


def test_a_form_without_its_csrf_token_is_refused(client):
    csrf_token(client, "/login")  # the session holds a token, the form does not send it
    form = {"email": "ivy@example.com", "password": PASSWORD}
    assert client.post("/login", data=form).status_code == 403
    assert client.post("/register", data=form).status_code == 403
    forged = {**form, "_csrf_token": "forged"}
    assert client.post("/login", data=forged).status_code == 403


def test_failed_logins_are_limited(client):
    register(client, "kim@example.com")
    client.cookies.clear()
    register(client, "jay@example.com")
    client.cookies.clear()
    for _ in range(rate_limit.LIMITS["email"]):
        assert log_in(client, "jay@example.com", "not the password!").status_code == 401
    refused = log_in(client, "jay@example.com")  # even the right password must wait
    assert refused.status_code == 429
    assert 0 < int(refused.headers["retry-after"]) <= rate_limit.WINDOW
    assert log_in(client, "kim@example.com").status_code == 302  # other emails may


def test_no_password_is_logged(client, caplog):
    caplog.set_level(logging.DEBUG)
    register(client, "lou@example.com")
    client.cookies.clear()
    log_in(client, "lou@example.com", "a wrong password typed")
    log_in(client, "lou@example.com")
    assert caplog.records  # the requests were logged (by the test client at least)
    for secret in (PASSWORD, "a wrong password typed"):
        assert secret not in caplog.text
