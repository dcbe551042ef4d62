"""The logged-in user's account: the page, the password change, and /me in JSON.

Routed behind auth.require_authenticated, so `req.auth_data` is the user's
{"id": ..., "email": ...}.
"""

from nova_cli import session

from {{ cookiecutter.app }} import accounts, auth, rate_limit


def show(req):
    """GET /account"""
    return _page(req, notice=session.get(req, "flash"))


def update_password(req):
    """POST /account/password: current_password, password."""
    email, address = req.auth_data["email"], auth.client_address(req)
    wait = rate_limit.retry_after(email, address)
    if wait:
        return _page(req, rate_limit.message(wait), 429, {"retry-after": str(wait)})
    current = req.params.get("current_password", "")
    new = req.params.get("password", "")
    try:
        user = accounts.change_password(req.auth_data["id"], current, new)
    except accounts.WrongPassword as exc:
        rate_limit.failed(email, address)
        return _page(req, str(exc), 422)
    except accounts.AccountError as exc:
        return _page(req, str(exc), 422)
    # A new session id and stamp: every other session of the user is logged out.
    auth.log_in(req, user)
    session.set(req, "flash", "your password was changed")
    return ("redirect", "/account")


def me(req):
    """GET /me: the logged-in user, in JSON (401 for anyone else)."""
    return ("json", req.auth_data)


def _page(req, error=None, status=200, headers=None, notice=None):
    if notice is not None:
        session.delete(req, "flash")  # shown once
    variables = {"email": req.auth_data["email"], "error": error, "notice": notice}
    options = {"view": "account", "status_code": status, "headers": headers or {}}
    return ("ok", variables, options)
