"""Logging in and out: GET /login shows the form, POST /login logs in, POST /logout out.

A failed login gets the same answer, in about the same time, whether or not
the email has an account. Too many failures (rate_limit.py) get 429.
"""

from {{ cookiecutter.app }} import accounts, auth, rate_limit

FAILED = "wrong email or password"


def new(req):
    """GET /login"""
    return _form()


def create(req):
    """POST /login: email, password (and the form's _csrf_token)."""
    email = accounts.normalize_email(req.params.get("email", ""))
    address = auth.client_address(req)
    wait = rate_limit.retry_after(email, address)
    if wait:
        return _form(email, rate_limit.message(wait), 429, {"retry-after": str(wait)})
    user = accounts.authenticate(email, req.params.get("password", ""))
    if user is None:
        rate_limit.failed(email, address)
        return _form(email, FAILED, 401)
    rate_limit.succeeded(email)
    auth.log_in(req, user)
    return ("redirect", auth.HOME)


def delete(req):
    """POST /logout"""
    auth.log_out(req)
    return ("redirect", auth.LOGIN_PAGE)


def _form(email="", error=None, status=200, headers=None):
    options = {"view": "login", "status_code": status, "headers": headers or {}}
    return ("ok", {"email": email, "error": error}, options)
