"""What each generator produces: `nova new` and the `nova gen` kinds (see docs/cli.md).

Each function validates its input, renders its template (`templates/<kind>`),
and returns a `scaffold.Plan`: the files to create, the route tuples to add
to `router.py` (or the snippet to paste), and the next steps to print.
Nothing is written here; `scaffold.apply` does that.
"""

from __future__ import annotations

import json
import mimetypes
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import TYPE_CHECKING, Any

from nova_cli.core.names import BUILTIN_HANDLERS, plugin_module
from nova_cli.scaffold.plan import (
    Plan,
    ScaffoldError,
    Step,
    plan_files,
    render,
    templates_dir,
    validate_app_name,
    validate_name,
)

if TYPE_CHECKING:  # imported when needed: libcst is not for `nova --help`
    from nova_cli.scaffold.import_edit import Import
    from nova_cli.scaffold.router_edit import RouteEntry, RouteGroup

_CHANNEL = re.compile(r"^[A-Za-z0-9_.:-]+$")
_UNSAFE = re.compile(r'["\\\x00-\x1f\x7f]')


@dataclass(frozen=True)
class Project:
    """The app a generator adds to: its root folder, package name and port."""

    root: Path
    app: str
    port: int = 8080


def find_project(start: Path | None = None) -> Project:
    """The Nova project at or above `start` (default: the current directory)."""
    from nova_cli.core.config import load_config
    from nova_cli.core.discover import find_project_root, guess_app_name

    root = find_project_root(start or Path.cwd())
    config = load_config(root)
    return Project(root, config.app or guess_app_name(root), config.port)


# -- nova new -------------------------------------------------------------------------


def app_settings() -> dict[str, str]:
    """The `--set` keys `nova new` takes, with their defaults."""
    data = json.loads((templates_dir() / "app" / "cookiecutter.json").read_text("utf-8"))
    # `_` keys are cookiecutter's own and `__` keys the flags (--docker ...): not --set keys.
    return {k: str(v) for k, v in data.items() if not k.startswith("_") and k != "app"}


def plan_app(
    name: str,
    target: Path,
    settings: Mapping[str, str] | None = None,
    *,
    docker: bool = False,
    redis: bool = False,
    ci: bool = False,
) -> Plan:
    """The plan of `nova new NAME`: a new app in `target`, which must be missing or empty.

    `docker` adds a Dockerfile and .dockerignore (and, with `redis`, a
    compose.yaml running Redis); `redis` makes the app depend on the redis
    extra; `ci` adds a GitHub Actions workflow that runs the app's tests.
    """
    validate_app_name(name)
    flags = {"__docker": docker, "__redis": redis, "__ci": ci}
    context = {
        "app": name,
        **_checked_settings(settings or {}),
        **{key: "yes" if on else "" for key, on in flags.items()},
    }
    if target.exists() and not target.is_dir():
        raise ScaffoldError(f"{target} exists and is not a directory; nothing written")
    if target.is_dir() and any(target.iterdir()):
        raise ScaffoldError(f"{target} already exists and is not empty; nothing written")
    files = render("app", context)
    for template in _deployment_templates(docker=docker, redis=redis, ci=ci):
        files.update(render(template, context))
    plan = plan_files(target, dict(sorted(files.items())))
    where = _relative(target)
    port, image = context["port"], name.lower()  # image names are lower-case
    plan.next_steps = [
        f"cd {where}" if where != "." else "",
        f"nova serve                            # http://127.0.0.1:{port}",
        "pip install pytest httpx2 && pytest   # the tests pass as generated",
    ]
    if docker and redis:
        plan.next_steps.append("docker compose up --build             # two workers and Redis")
    elif docker:
        plan.next_steps.append(f"docker build -t {image} . && docker run -p {port}:{port} {image}")
    elif redis:
        plan.next_steps.append("NOVA_PUBSUB_URL=redis://127.0.0.1:6379/0 nova run --workers 2")
    if ci:
        plan.next_steps.append("# pushed to GitHub, .github/workflows/test.yml runs the tests")
    plan.next_steps = [line for line in plan.next_steps if line]
    return plan


def _deployment_templates(*, docker: bool, redis: bool, ci: bool) -> list[str]:
    """The templates `nova new`'s flags add to the `app` one."""
    chosen = ["docker"] if docker else []
    if docker and redis:
        chosen.append("compose")
    if ci:
        chosen.append("ci")
    return chosen


def _checked_settings(settings: Mapping[str, str]) -> dict[str, str]:
    known = app_settings()
    checked = dict(known)
    for key, value in settings.items():
        if key == "app":
            raise ScaffoldError("the app name is the NAME argument, not a --set key")
        if key not in known:
            raise ScaffoldError(f"unknown --set key {key!r} (known: {', '.join(sorted(known))})")
        if _UNSAFE.search(value):
            raise ScaffoldError(
                f"--set {key}: quotes, backslashes and control characters are not allowed"
            )
        checked[key] = value
    port = checked.get("port", "8080")
    if not port.isdigit() or not 1 <= int(port) <= 65535:
        raise ScaffoldError(f"--set port: expected a port number (1-65535), got {port!r}")
    return checked


# -- nova gen ---------------------------------------------------------------------------


@dataclass
class Made:
    """What a generator kind adds to its rendered files: its module, routes, hints."""

    target: str  # the module it writes (`users_controller`)
    routes: list[RouteEntry] = field(default_factory=list)
    next_steps: list[str] = field(default_factory=list)
    keep: list[PurePosixPath] = field(default_factory=list)  # shared files never overwritten
    groups: list[RouteGroup] = field(default_factory=list)  # whole route groups to add
    imports: list[Import] = field(default_factory=list)  # for router.py; default: the target
    omit: list[PurePosixPath] = field(default_factory=list)  # rendered files not to write
    requirements: list[str] = field(default_factory=list)  # for the app's pyproject.toml
    setup: list[str] = field(default_factory=list)  # steps before the tests can run


def _controller(name: str, project: Project, context: dict[str, str], **opts: Any) -> Made:
    validate_name("controller", name, suffix="_controller")
    actions = _checked_actions(opts["actions"] or ["index"])
    context["actions"] = ",".join(actions)
    target = f"{name}_controller"
    routes = [_action_route(name, target, action) for action in actions]
    url = f"http://127.0.0.1:{project.port}"
    return Made(target, routes, [f"curl {url}{routes[0].path}    # after `nova serve`"])


def _ws_handler(name: str, project: Project, context: dict[str, str], **opts: Any) -> Made:
    validate_name("WebSocket handler", name, suffix="_ws_handler")
    channel = opts["channel"]
    if channel is not None and not _CHANNEL.match(channel):
        raise ScaffoldError(
            f"{channel!r} is not a valid channel name: use letters, digits and _ . : -"
        )
    with_presence = bool(opts["presence"])
    # A presence room needs a channel: its own name unless --pubsub names one.
    context["channel"] = channel or (name if with_presence else "")
    context["presence"] = "yes" if with_presence else ""
    from nova_cli.scaffold.router_edit import RouteEntry

    target = f"{name}_ws_handler"
    routes = [RouteEntry(f"/{name}", target, protocol="ws")]
    view = PurePosixPath(project.app, "views", f"{name}.html")
    if not with_presence:
        hint = f"connect to ws://127.0.0.1:{project.port}/{name} (after `nova serve`)"
        return Made(target, routes, [hint], omit=[view])
    routes.append(RouteEntry(f"/{name}/page", f"{target}.page", ("get",)))
    url = f"http://127.0.0.1:{project.port}/{name}/page"
    hint = f"open {url}?name=alice and {url}?name=bob (after `nova serve`)"
    return Made(target, routes, [hint])


def _fallback(name: str, project: Project, context: dict[str, str], **opts: Any) -> Made:
    validate_name("fallback", name, suffix="_fallback")
    target = f"{name}_fallback"
    hints = [
        "use it in a controller module:",
        f"    from {project.app}.controllers import {target}",
        f"    fallback_controller = {target}",
    ]
    return Made(target, next_steps=hints)


def _handler(name: str, project: Project, context: dict[str, str], **opts: Any) -> Made:
    validate_name("handler", name, suffix="_handler")
    if name in BUILTIN_HANDLERS:
        raise ScaffoldError(f"{name!r} is a built-in return handler and cannot be replaced")
    context["media_type"] = mimetypes.guess_type(f"x.{name}")[0] or "text/plain"
    return Made(
        f"{name}_handler",
        next_steps=[f'controllers may now return ("{name}", payload)'],
        keep=[PurePosixPath(project.app, "handlers", "__init__.py")],
    )


def _resource(name: str, project: Project, context: dict[str, str], **opts: Any) -> Made:
    validate_name("resource", name, suffix="_controller")
    from nova_cli.scaffold.router_edit import RouteEntry

    target = f"{name}_controller"
    context["singular"] = singular(name)
    schema = f"schemas/{context['singular']}.json"
    routes = [
        RouteEntry(f"/{name}", f"{target}.list", ("get",)),
        RouteEntry(f"/{name}", f"{target}.create", ("post",), json_schema=schema),
        RouteEntry(f"/{name}/:id", f"{target}.show", ("get",)),
        RouteEntry(f"/{name}/:id", f"{target}.update", ("put",), json_schema=schema),
        RouteEntry(f"/{name}/:id", f"{target}.delete", ("delete",)),
    ]
    url = f"http://127.0.0.1:{project.port}"
    body = '{"title": "Dune"}'
    hint = f"curl -X POST -H 'content-type: application/json' -d '{body}' {url}/{name}"
    return Made(target, routes, [hint])


def _test(name: str, project: Project, context: dict[str, str], **opts: Any) -> Made:
    validate_name("controller", name, suffix="_controller")
    from nova_cli.scaffold.router_edit import CannotEdit, http_routes_to

    module = f"{name}_controller"
    where = PurePosixPath(project.app, "controllers", f"{module}.py")
    if not (project.root / where).is_file():
        raise ScaffoldError(f"no controller {where}: nova gen test covers an existing controller")
    router = project.root / project.app / "router.py"
    try:
        routes = http_routes_to(router.read_text(encoding="utf-8"), module)
    except CannotEdit as exc:
        raise ScaffoldError(f"cannot read the routes of {module} in router.py: {exc}") from None
    if not routes:
        raise ScaffoldError(f"no route in {project.app}/router.py reaches {module}; add one first")
    context["cases"] = ";".join(_test_cases(routes))
    return Made(f"test_{module}")


def _test_cases(routes: list[tuple[str, frozenset[str] | None]]) -> list[str]:
    """`function method path` per route and method, a binding filled with 1."""
    cases, names = [], set()
    for path, methods in routes:
        concrete = "/".join("1" if part.startswith(":") else part for part in path.split("/"))
        for method in sorted(methods or {"GET"}):
            if method == "HEAD" and "GET" in (methods or ()):
                continue
            words = re.sub(r"[^a-z0-9]+", "_", f"{method} {path}".lower()).strip("_")
            function, n = f"test_{words}", 2
            while function in names:
                function, n = f"test_{words}_{n}", n + 1
            names.add(function)
            cases.append(f"{function} {method.lower()} {concrete or '/'}")
    return cases


def singular(name: str) -> str:
    """The name of one item of a resource: books → book, categories → category, boxes → box."""
    for plural, one in (("ies", "y"), ("sses", "ss"), ("xes", "x"), ("ches", "ch"), ("shes", "sh")):
        if name.endswith(plural) and len(name) > len(plural):
            return name[: -len(plural)] + one
    if name.endswith("s") and not name.endswith("ss") and len(name) > 1:
        return name[:-1]
    return name


def _auth(name: str, project: Project, context: dict[str, str], **opts: Any) -> Made:
    from nova_cli.scaffold import auth_kind

    return auth_kind.made(project, context, chat=opts["chat"])


# The generator of each `nova gen` kind; its template is templates/<kind with _>.
GENERATORS: dict[str, Callable[..., Made]] = {
    "controller": _controller,
    "ws-handler": _ws_handler,
    "fallback": _fallback,
    "handler": _handler,
    "resource": _resource,
    "test": _test,
    "auth": _auth,
}
KINDS = tuple(GENERATORS)


def plan_generator(
    kind: str,
    name: str,
    project: Project,
    *,
    actions: Sequence[str] = (),
    channel: str | None = None,
    chat: bool = False,
    presence: bool = False,
    force: bool = False,
    route: bool = True,
) -> Plan:
    """The plan of `nova gen KIND NAME` in `project` (`nova gen auth`: NAME is "auth")."""
    generator = GENERATORS.get(kind)
    if generator is None:
        raise ScaffoldError(f"unknown generator {kind!r} (known: {', '.join(KINDS)})")
    context: dict[str, str] = {"app": project.app, "name": name}
    made = generator(
        name, project, context, actions=actions, channel=channel, chat=chat, presence=presence
    )
    files = render(kind.replace("-", "_"), context)
    files = {path: file for path, file in files.items() if path not in made.omit}
    plan = plan_files(project.root, files, force=force, keep_existing=made.keep)
    if made.routes:
        from nova_cli.scaffold.router_edit import Import

        imports = [Import(f"{project.app}.controllers", made.target)]
        _plan_routes(plan, project, made.routes, imports, force=force, route=route)
    if made.groups:
        _plan_groups(plan, project, made.groups, made.imports, force=force, route=route)
    if made.requirements:
        _plan_requirements(plan, project, made.requirements)
    if kind == "handler":
        _plan_registration(plan, project, name)
    if kind == "resource" and not _decodes_json(project.root):
        plan.warnings.append(
            "the resource reads req.json: enable Nova's request plugin in [tool.nova], "
            'plugins = [["pre_request", "request", {decode_json_body = true}]]'
        )
    tests = [s.path for s in plan.steps if s.path.parts[0] == "tests" and s.path.suffix == ".py"]
    plan.next_steps = [*made.setup, *(f"pytest {t}" for t in tests), *made.next_steps]
    return plan


def _checked_actions(actions: Sequence[str]) -> list[str]:
    names = [a.strip() for item in actions for a in item.split(",") if a.strip()]
    for action in names:
        validate_name("action", action)
    duplicates = sorted({a for a in names if names.count(a) > 1})
    if duplicates:
        raise ScaffoldError(f"action {duplicates[0]!r} is given twice")
    if not names:
        raise ScaffoldError("--actions names no action")
    return names


def _action_route(name: str, module: str, action: str) -> Any:
    from nova_cli.scaffold.router_edit import RouteEntry

    path = {"index": f"/{name}", "show": f"/{name}/:id"}.get(action, f"/{name}/{action}")
    return RouteEntry(path, f"{module}.{action}", ("get",))


def _plan_routes(
    plan: Plan,
    project: Project,
    entries: list[Any],
    imports: list[Any],
    *,
    force: bool,
    route: bool,
) -> None:
    from nova_cli.scaffold.router_edit import add_routes, snippet

    edit = _edit_router(
        plan,
        project,
        lambda source: add_routes(source, entries, imports),
        snippet(entries, imports),
        route=route,
        what="routes",
        hint="add the routes below yourself",
    )
    if edit is None:
        return
    _plan_clashes(plan, project, edit.clashes, force)
    if edit.clashes and force:
        clashing = [entry for entry, _ in edit.clashes]
        plan.snippet = snippet(clashing, [])
    if edit.changed:
        count = len(edit.added)
        reason = f"{count} route{'s' if count != 1 else ''}"
        _plan_inject(plan, project, edit.source, reason)
    elif not edit.clashes:
        _plan_inject(plan, project, None, "routes already there")


def _plan_groups(
    plan: Plan,
    project: Project,
    groups: list[Any],
    imports: list[Any],
    *,
    force: bool,
    route: bool,
) -> None:
    from nova_cli.scaffold.router_edit import add_groups

    pasted = "\n".join([*(i.code() for i in imports), "", *(f"{g.code()}," for g in groups)])
    edit = _edit_router(
        plan,
        project,
        lambda source: add_groups(source, groups, imports),
        pasted,
        route=route,
        what="groups",
        hint="add the route groups below to the list routes() returns",
    )
    if edit is None:
        return
    _plan_clashes(plan, project, edit.clashes, force)
    if edit.changed:
        count, many = len(edit.added), edit.groups != 1
        reason = f"{edit.groups} route group{'s' if many else ''}, {count} routes"
        for entry in edit.moved:
            reason += f"; {entry.path} moved behind its security"
        _plan_inject(plan, project, edit.source, reason)
    elif not edit.clashes:
        _plan_inject(plan, project, None, "routes already there")


def _edit_router(
    plan: Plan,
    project: Project,
    edit: Callable[[str], Any],
    pasted: str,
    *,
    route: bool,
    what: str,
    hint: str,
) -> Any:
    """`edit` applied to router.py's source; None, with the text to paste, when it cannot be."""
    from nova_cli.scaffold.router_edit import CannotEdit

    path = PurePosixPath(project.app, "router.py")
    if not route:
        plan.steps.append(Step("skip", path, reason=f"--no-route: add the {what} below yourself"))
        plan.snippet = pasted
        return None
    router = project.root / path
    try:
        if not router.is_file():
            raise CannotEdit(f"{path} does not exist")
        return edit(_read(router))
    except CannotEdit as exc:
        plan.steps.append(Step("manual", path, reason="cannot edit it safely"))
        plan.warnings.append(f"{exc}; {hint}")
        plan.snippet = pasted
        return None


def _plan_clashes(
    plan: Plan, project: Project, clashes: list[tuple[Any, str]], force: bool
) -> None:
    """A path already routed elsewhere: a conflict, or with --force a warning and no route."""
    path = PurePosixPath(project.app, "router.py")
    for entry, existing in clashes:
        if not force:
            plan.steps.append(
                Step("conflict", path, reason=f"{entry.path} is already routed by {existing}")
            )
        else:
            plan.warnings.append(f"{entry.path} is already routed by {existing}; not added")


def _plan_inject(plan: Plan, project: Project, source: str | None, reason: str) -> None:
    """router.py's step: `inject` the edited source, or `identical` (source None)."""
    path = PurePosixPath(project.app, "router.py")
    if source is None:
        plan.steps.append(Step("identical", path, reason=reason))
    else:
        plan.steps.append(Step("inject", path, source.encode("utf-8"), reason=reason))


def _plan_requirements(plan: Plan, project: Project, requirements: list[str]) -> None:
    from nova_cli.scaffold.pyproject_edit import CannotEdit, add_dependencies

    path = PurePosixPath("pyproject.toml")
    try:
        source, added = add_dependencies(_read(project.root / path), requirements)
    except CannotEdit as exc:
        plan.steps.append(Step("manual", path, reason="cannot edit it safely"))
        plan.warnings.append(f"{exc}; add {', '.join(requirements)} to its dependencies")
        return
    if added:
        reason = f"dependencies: {', '.join(added)}"
        plan.steps.append(Step("inject", path, source.encode("utf-8"), reason=reason))
    else:
        plan.steps.append(Step("identical", path, reason="dependencies already there"))


def _plan_registration(plan: Plan, project: Project, name: str) -> None:
    from nova_cli.scaffold.router_edit import CannotEdit, add_handler_registration

    path = PurePosixPath(project.app, "__init__.py")
    init = project.root / path
    call = f'register_handler("{name}", {name}_handler.handle)'
    try:
        source = _read(init) if init.is_file() else ""
        edited = add_handler_registration(source, project.app, name)
    except CannotEdit as exc:
        plan.steps.append(Step("manual", path, reason="cannot edit it safely"))
        plan.warnings.append(f"{exc}; register the handler yourself")
        plan.snippet = (
            f"from {project.app}.handlers import {name}_handler\n"
            f"from nova_cli.handlers import register_handler\n\n{call}"
        )
        return
    if edited is None:
        plan.steps.append(Step("identical", path, reason="handler already registered"))
    else:
        action = "inject" if init.is_file() else "create"
        plan.steps.append(Step(action, path, edited.encode("utf-8"), 0o644, reason=call))


def _decodes_json(root: Path) -> bool:
    """Whether [tool.nova] plugins enable the request plugin's decode_json_body."""
    from nova_cli.core.config import ConfigError, load_config

    try:
        plugins = load_config(root).plugins
    except ConfigError:
        return False
    for entry in plugins:
        if isinstance(entry, Mapping):
            ref, options = entry.get("plugin") or entry.get("module"), entry.get("options", {})
        elif isinstance(entry, list | tuple) and len(entry) == 3:
            ref, options = entry[1], entry[2]
        else:
            continue
        is_request = isinstance(ref, str) and plugin_module(ref) == plugin_module("request")
        if is_request and isinstance(options, Mapping) and options.get("decode_json_body"):
            return True
    return False


def _read(path: Path) -> str:
    try:
        return path.read_text("utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise ScaffoldError(f"cannot read {path}: {exc}") from None


def _relative(path: Path) -> str:
    try:
        return str(path.resolve().relative_to(Path.cwd().resolve()))
    except ValueError:
        return str(path)
