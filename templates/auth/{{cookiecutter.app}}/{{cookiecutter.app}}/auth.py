"""Who is logged in; `require_authenticated`, the security of the private routes.

    {"prefix": "", "security": auth.require_authenticated, "routes": [...]}

The session holds the user's id and session stamp; the stamp changes with the
password, so changing it logs out every other session of that user. A
request from a logged-in user goes on with `req.auth_data`, {"id": ...,
"email": ...} (a WebSocket's `init` finds it in `state["auth_data"]`).
Otherwise a page asked for by a browser is redirected to the login page,
and JSON or a WebSocket gets 401.
"""

from nova_cli import session

from {{ cookiecutter.app }} import accounts

LOGIN_PAGE = "/login"
HOME = "{% if cookiecutter.chat %}/chat{% else %}/account{% endif %}"  # where a login leads
UNAUTHORIZED = {"status": 401, "error": "unauthorized", "message": "log in first"}


def require_authenticated(req):
    """Nova security: (True, auth_data) when logged in, else a redirect or a 401."""
    user = current_user(req)
    if user is not None:
        return (True, {"id": user.id, "email": user.email})
    if _wants_html(req):
        return ("redirect", LOGIN_PAGE)
    return (False, 401, {}, UNAUTHORIZED)


def current_user(req):
    """The user this request's session is logged in as, or None."""
    user_id = session.get(req, "user_id")
    if user_id is None:
        return None
    user = accounts.get_user(user_id)
    if user is None or user.session_stamp != session.get(req, "user_stamp"):
        return None
    return user


def log_in(req, user):
    """Make the session the user's, under a new id: an id seen before is worthless."""
    session.rotate(req)
    session.set(req, "user_id", user.id)
    session.set(req, "user_stamp", user.session_stamp)


def log_out(req):
    """Forget the session: its data, its id, and the client's cookie."""
    session.delete(req)


def client_address(req):
    """The client's IP address (behind a proxy, see `forwarded_allow_ips`)."""
    return req.client.host if req.client else "unknown"


def _wants_html(req):
    if req.scope["type"] == "websocket":
        return False
    return "text/html" in req.headers.get("accept", "")
