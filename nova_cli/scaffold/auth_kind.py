"""`nova gen auth [--chat]`: what it writes into an app, Nova's `rebar3 nova gen_auth`.

Accounts with an email and an argon2 password hash in SQLAlchemy (SQLite by
default), registration, login, logout, a password change, and
`APP.auth.require_authenticated` as the security of the private routes; with
`--chat`, a chat room behind it whose messages name their sender. The
routes go into router.py as two groups (three with --chat), not into the
open group: the forms need the CSRF plugin, the private pages the security.
"""

from __future__ import annotations

from pathlib import PurePosixPath
from typing import TYPE_CHECKING

from nova_cli.scaffold.generators import Made, Project

if TYPE_CHECKING:
    from nova_cli.scaffold.router_edit import RouteGroup

CHANNEL = "lobby"
REQUIREMENTS = ["sqlalchemy>=2", "argon2-cffi>=23"]
# The request plugin decodes the form into req.params, where the CSRF plugin
# reads its _csrf_token field: it must come first.
FORM_PLUGINS = (
    '("pre_request", "request", {"read_urlencoded_body": True})',
    '("pre_request", "csrf", {})',
)
CHAT_FILES = ("controllers/chat_controller.py", "controllers/chat_ws_handler.py", "views/chat.html")


def made(project: Project, context: dict[str, str], *, chat: bool) -> Made:
    """The routes, imports, requirements and hints of `nova gen auth`."""
    from nova_cli.scaffold.router_edit import Import

    app = project.app
    context.update(chat="yes" if chat else "", channel=CHANNEL, layout=_layout(project))
    omit = [PurePosixPath("tests", "test_chat_ws_handler.py")] if not chat else []
    omit += [PurePosixPath(app, f) for f in CHAT_FILES if not chat]
    if context["layout"] != "auth_layout.html":
        omit.append(PurePosixPath(app, "views", "auth_layout.html"))
    modules = ["registration_controller", "session_controller", "user_controller"]
    if chat:
        modules += ["chat_controller", "chat_ws_handler"]
    imports = [Import(f"{app}.controllers", m) for m in modules] + [Import(app, "auth")]
    url = f"http://127.0.0.1:{project.port}"
    install = " ".join(f"'{req}'" for req in REQUIREMENTS)
    return Made(
        "auth",
        groups=groups(chat=chat),
        imports=imports,
        omit=omit,
        requirements=REQUIREMENTS,
        setup=[f"pip install {install}    # now in pyproject.toml's dependencies"],
        next_steps=[f"open {url}/register    # after `nova serve`"],
    )


def groups(*, chat: bool) -> list[RouteGroup]:
    """The route groups `nova gen auth` adds to router.py."""
    from nova_cli.scaffold.router_edit import RouteEntry, RouteGroup

    forms = RouteGroup(
        "False",
        (
            RouteEntry("/register", "registration_controller.new", ("get",)),
            RouteEntry("/register", "registration_controller.create", ("post",)),
            RouteEntry("/login", "session_controller.new", ("get",)),
            RouteEntry("/login", "session_controller.create", ("post",)),
            RouteEntry("/logout", "session_controller.delete", ("post",)),
        ),
        FORM_PLUGINS,
        (
            "nova gen auth: the account forms. The request plugin decodes a form",
            "before the CSRF plugin checks its _csrf_token field.",
        ),
    )
    private = [
        RouteEntry("/account", "user_controller.show", ("get",)),
        RouteEntry("/account/password", "user_controller.update_password", ("post",)),
        RouteEntry("/me", "user_controller.me", ("get",)),
    ]
    if chat:
        private += [
            RouteEntry("/chat", "chat_controller.index", ("get",)),
            RouteEntry("/chat", "chat_ws_handler", protocol="ws"),
        ]
    logged_in = RouteGroup(
        "auth.require_authenticated",
        tuple(private),
        FORM_PLUGINS,
        (
            "Logged-in users only (auth.py): a page redirects to /login,",
            "JSON and WebSockets get 401.",
        ),
    )
    return [forms, logged_in]


def _layout(project: Project) -> str:
    """The view the generated pages extend: the app's layout.html if it has a content block."""
    layout = project.root / project.app / "views" / "layout.html"
    try:
        text = layout.read_text("utf-8")
    except (OSError, UnicodeDecodeError):
        return "auth_layout.html"
    return "layout.html" if "{% block content %}" in text else "auth_layout.html"
