"""`nova gen KIND NAME`: add a controller, WebSocket handler, fallback, handler, resource
or test; `nova gen auth`: accounts.

Every generator writes its module and a passing test, and adds its routes to
`router.py`; it shows its plan first (`create`, `identical`, `conflict`,
`inject`), stops on a conflict unless `--force`, and with `--dry-run` writes
nothing.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from nova_cli.cli.output import CliError, echo, style, warn
from nova_cli.cli.usage import Command

if TYPE_CHECKING:
    from nova_cli.scaffold import Plan

gen_app = typer.Typer(
    name="gen",
    help="Generate code into the app: controller, ws-handler, fallback, handler, resource, "
    "test, auth.",
    short_help="Generate code: controller, ws-handler, fallback, handler, resource, test, auth.",
    no_args_is_help=True,
    rich_markup_mode=None,
)

DryRun = Annotated[
    bool, typer.Option("--dry-run", "-n", help="Show what would be written; write nothing.")
]
Force = Annotated[bool, typer.Option("--force", "-f", help="Overwrite conflicting files.")]
NoRoute = Annotated[
    bool, typer.Option("--no-route", help="Print the routes instead of editing router.py.")
]
Directory = Annotated[
    Path | None,
    typer.Option("--directory", "-C", help="The app's directory (default: found from here)."),
]


def register(app: typer.Typer) -> None:
    app.add_typer(gen_app, name="gen")


@gen_app.command(
    "controller", cls=Command, short_help="A controller, its test, and a GET route per action."
)
def controller(
    name: Annotated[
        str, typer.Argument(metavar="NAME", help="e.g. users → controllers/users_controller.py")
    ],
    actions: Annotated[
        str, typer.Option("--actions", "-a", help="Comma-separated actions, e.g. index,show.")
    ] = "index",
    dry_run: DryRun = False,
    force: Force = False,
    no_route: NoRoute = False,
    directory: Directory = None,
) -> None:
    """A controller with one JSON action per name, its test, and a GET route per action.

    index → /NAME, show → /NAME/:id, any other action → /NAME/ACTION.
    """
    _generate("controller", name, directory, dry_run, force, no_route, actions=actions.split(","))


@gen_app.command(
    "ws-handler",
    cls=Command,
    short_help="A WebSocket handler (echo, or a chat room), its test, its route.",
)
def ws_handler(
    name: Annotated[
        str, typer.Argument(metavar="NAME", help="e.g. chat → controllers/chat_ws_handler.py")
    ],
    pubsub: Annotated[
        str | None,
        typer.Option("--pubsub", metavar="CHANNEL", help="A chat room on this pub/sub channel."),
    ] = None,
    presence: Annotated[
        bool,
        typer.Option(
            "--presence",
            help="A room that shows who is online, and its page /NAME/page "
            "(channel: NAME unless --pubsub).",
        ),
    ] = False,
    dry_run: DryRun = False,
    force: Force = False,
    no_route: NoRoute = False,
    directory: Directory = None,
) -> None:
    """A WebSocket handler (echo, a chat room with --pubsub, or a room that shows who is
    online with --presence), its test, and route /NAME (and /NAME/page with --presence)."""
    _generate(
        "ws-handler", name, directory, dry_run, force, no_route, channel=pubsub, presence=presence
    )


@gen_app.command("fallback", cls=Command, short_help="A fallback controller and its test.")
def fallback(
    name: Annotated[
        str, typer.Argument(metavar="NAME", help="e.g. oops → controllers/oops_fallback.py")
    ],
    dry_run: DryRun = False,
    force: Force = False,
    directory: Directory = None,
) -> None:
    """A fallback controller, resolve(req, invalid_return), and its test. No route."""
    _generate("fallback", name, directory, dry_run, force, no_route=False)


@gen_app.command(
    "handler",
    cls=Command,
    short_help="A custom return handler, registered by the app, and its test.",
)
def handler(
    name: Annotated[
        str, typer.Argument(metavar="NAME", help='e.g. xml → controllers may return ("xml", ...)')
    ],
    dry_run: DryRun = False,
    force: Force = False,
    directory: Directory = None,
) -> None:
    """A custom return handler in handlers/, registered by the app package, and its test."""
    _generate("handler", name, directory, dry_run, force, no_route=False)


@gen_app.command(
    "resource", cls=Command, short_help="A JSON CRUD controller, its tests and its 5 routes."
)
def resource(
    name: Annotated[str, typer.Argument(metavar="NAME", help="e.g. books → /books and /books/:id")],
    dry_run: DryRun = False,
    force: Force = False,
    no_route: NoRoute = False,
    directory: Directory = None,
) -> None:
    """A JSON CRUD controller (list, create, show, update, delete), its tests and 5 routes."""
    _generate("resource", name, directory, dry_run, force, no_route)


@gen_app.command("test", cls=Command, short_help="A test of an existing controller's routes.")
def test(
    name: Annotated[
        str, typer.Argument(metavar="NAME", help="e.g. users → tests/test_users_controller.py")
    ],
    dry_run: DryRun = False,
    force: Force = False,
    directory: Directory = None,
) -> None:
    """A test calling each route of controllers/NAME_controller.py, with the testing kit."""
    _generate("test", name, directory, dry_run, force, no_route=False)


@gen_app.command(
    "auth",
    cls=Command,
    short_help="Accounts: register, log in and out, change password; their views, tests, routes.",
)
def auth(
    chat: Annotated[
        bool,
        typer.Option("--chat", help="Also a chat room for logged-in users, naming each sender."),
    ] = False,
    dry_run: DryRun = False,
    force: Force = False,
    no_route: NoRoute = False,
    directory: Directory = None,
) -> None:
    """Email and password accounts (SQLAlchemy, argon2): registration, login, logout, a password
    change, auth.require_authenticated for the private routes; their views, tests and routes.
    """
    _generate("auth", "auth", directory, dry_run, force, no_route, chat=chat)


def _generate(
    kind: str,
    name: str,
    directory: Path | None,
    dry_run: bool,
    force: bool,
    no_route: bool,
    *,
    actions: list[str] | None = None,
    channel: str | None = None,
    chat: bool = False,
    presence: bool = False,
) -> None:
    from nova_cli.scaffold import find_project, plan_generator

    def build() -> Plan:
        return plan_generator(
            kind,
            name,
            find_project(directory),
            actions=actions or (),
            channel=channel,
            chat=chat,
            presence=presence,
            force=force,
            route=not no_route,
        )

    run_plan(build, dry_run=dry_run, done="Next steps:")


def run_plan(build: Callable[[], Plan], *, dry_run: bool, done: str) -> None:
    """Plan, show, then apply (unless a dry run or a conflict), and print what is left to do."""
    from nova_cli.core.config import ConfigError
    from nova_cli.core.discover import AppNotFound
    from nova_cli.scaffold import ScaffoldError, apply, show

    try:
        plan = build()
    except (ScaffoldError, AppNotFound, ConfigError) as exc:
        raise CliError(str(exc)) from exc
    show(plan, echo, style)
    for text in plan.warnings:
        warn(text)
    if plan.conflicts:
        count = len(plan.conflicts)
        paths = ", ".join(sorted({str(s.path) for s in plan.conflicts}))
        raise CliError(
            f"{count} conflict{'s' if count != 1 else ''} ({paths}); nothing written. "
            "Use --force to overwrite"
        )
    if plan.snippet:
        echo("\nAdd this yourself:\n")
        echo("\n".join(f"    {line}" if line else "" for line in plan.snippet.splitlines()))
    if dry_run:
        echo(style("\ndry run: nothing written", "yellow"))
        return
    try:
        apply(plan)
    except ScaffoldError as exc:
        raise CliError(str(exc)) from exc
    if plan.next_steps:
        echo(f"\n{done}")
        for line in plan.next_steps:
            echo(f"  {line}")
