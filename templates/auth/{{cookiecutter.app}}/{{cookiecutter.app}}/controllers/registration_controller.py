"""Registration: GET /register shows the form, POST /register makes an account."""

from {{ cookiecutter.app }} import accounts, auth


def new(req):
    """GET /register"""
    return _form()


def create(req):
    """POST /register: email, password (and the form's _csrf_token)."""
    email = req.params.get("email", "")
    try:
        user = accounts.register(email, req.params.get("password", ""))
    except accounts.AccountError as exc:
        return _form(email, str(exc), status=422)
    auth.log_in(req, user)
    return ("redirect", auth.HOME)


def _form(email="", error=None, status=200):
    variables = {"email": email, "error": error}
    return ("ok", variables, {"view": "register", "status_code": status})
