"""Sub-apps under a prefix (`[tool.nova] apps`), through the ASGI app."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from starlette.testclient import TestClient

from nova_cli.cli.middleware import describe_chain
from nova_cli.core.errors import ConfigError, RouteTableError
from nova_cli.runtime.session_use import uses_sessions
from tests.runtime.conftest import Apps, purge, write_files
from tests.support.cli import run_nova

MAIN = {
    "router.py": """
        from mainsite.controllers import pages_controller as pages


        def routes(environment):
            return [
                {
                    "routes": [
                        ("/", pages.home, {"methods": ["get"]}),
                        ("/page", pages.page, {"methods": ["get"]}),
                        ("/assets/[...]", "static"),
                    ]
                }
            ]
    """,
    "controllers/__init__.py": "",
    "controllers/pages_controller.py": """
        def home(req):
            return ("json", {"app": "main"})


        def page(req):
            return ("ok", {"who": "main"})
    """,
    "views/pages.html": "main view: {{ who }}",
    "static/hello.txt": "main static",
}

BLOG = {
    "subblog/__init__.py": "",
    "subblog/router.py": """
        from subblog.controllers import pages_controller as pages


        def routes(environment):
            return [
                {"routes": [("/", pages.index, {"methods": ["get"]})]},
                {
                    "prefix": "/posts",
                    "routes": [
                        ("/:id", pages.show, {"methods": ["get"]}),
                        ("/:id/page", pages.page, {"methods": ["get"]}),
                    ],
                },
                {"routes": [("/assets/[...]", "static")]},
            ]
    """,
    "subblog/controllers/__init__.py": "",
    # The same module name as the main app's: the view is found by app, not by name.
    "subblog/controllers/pages_controller.py": """
        def index(req):
            return ("json", {"app": "blog"})


        def show(req):
            return ("json", {"post": req.bindings["id"]})


        def page(req):
            return ("ok", {"who": req.bindings["id"]})
    """,
    "subblog/views/pages.html": "blog view: {{ who }}",
    "subblog/static/hello.txt": "blog static",
}

ADMIN = {
    "subadmin/__init__.py": "",
    "subadmin/auth.py": """
        def require_admin(req):
            return req.headers.get("x-admin") == "yes"


        def never(req):
            return False
    """,
    "subadmin/router.py": """
        from subadmin import auth


        def stats(req):
            return ("json", {"stats": True})


        def routes(environment):
            return [
                {"routes": [("/stats", stats, {"methods": ["get"]})]},
                {"security": auth.never, "routes": [("/locked", stats, {"methods": ["get"]})]},
            ]
    """,
}

SUBPACKAGES = ("subblog", "subadmin", "subother")


def project(
    apps: Apps, tool_nova: str, *extra: dict[str, str], main: dict[str, str] = MAIN
) -> Path:
    """The main app `mainsite` with the sub-app packages `extra` beside it."""
    root = apps.write(main, package="mainsite", tool_nova=tool_nova)
    for files in extra:
        write_files(root, files)
    return root


def client(apps: Apps, root: Path, **settings: object) -> TestClient:
    for package in SUBPACKAGES:  # a sub-app is imported afresh, like the main app
        purge(package)
        apps.packages.add(package)
    return apps.client(root, **settings)


BLOG_AT = 'apps = [{app = "subblog", prefix = "/blog"}]\n'


def test_the_prefix_goes_before_every_group_of_the_sub_app(apps: Apps) -> None:
    http = client(apps, project(apps, BLOG_AT, BLOG))
    assert http.get("/").json() == {"app": "main"}
    assert http.get("/blog").json() == {"app": "blog"}
    assert http.get("/blog/posts/7").json() == {"post": "7"}
    assert http.get("/posts/7").status_code == 404


def test_a_plain_name_mounts_at_the_root(apps: Apps) -> None:
    router = MAIN["router.py"].replace('"/", pages.home', '"/home", pages.home')
    main = {**MAIN, "router.py": router.replace('"/assets/[...]"', '"/files/[...]"')}
    http = client(apps, project(apps, 'apps = ["subblog"]\n', BLOG, main=main))
    assert http.get("/").json() == {"app": "blog"}
    assert http.get("/posts/3").json() == {"post": "3"}
    assert http.get("/home").json() == {"app": "main"}


def test_static_paths_and_views_are_the_sub_apps_own(apps: Apps) -> None:
    http = client(apps, project(apps, BLOG_AT, BLOG))
    assert http.get("/assets/hello.txt").text == "main static"
    assert http.get("/blog/assets/hello.txt").text == "blog static"
    assert http.get("/page").text == "main view: main"
    assert http.get("/blog/posts/9/page").text == "blog view: 9"


def test_the_entry_security_replaces_every_group_security(apps: Apps) -> None:
    tool = (
        'apps = [{app = "subadmin", prefix = "/admin", security = "subadmin.auth:require_admin"}]\n'
    )
    http = client(apps, project(apps, tool, ADMIN))
    assert http.get("/admin/stats").status_code == 401
    assert http.get("/admin/stats", headers={"x-admin": "yes"}).json() == {"stats": True}
    # The group's own `never` is replaced, not added to.
    assert http.get("/admin/locked", headers={"x-admin": "yes"}).status_code == 200
    assert http.get("/").status_code == 200  # the main app's routes keep theirs (none)


def test_security_false_opens_every_group(apps: Apps) -> None:
    tool = 'apps = [{app = "subadmin", prefix = "/admin", security = false}]\n'
    http = client(apps, project(apps, tool, ADMIN))
    assert http.get("/admin/locked").json() == {"stats": True}


def test_without_security_each_group_keeps_its_own(apps: Apps) -> None:
    tool = 'apps = [{app = "subadmin", prefix = "/admin"}]\n'
    http = client(apps, project(apps, tool, ADMIN))
    assert http.get("/admin/stats").status_code == 200
    assert http.get("/admin/locked").status_code == 401


STATUS_APP = {
    "subother/__init__.py": "",
    "subother/router.py": """
        def missing(req):
            return ("ok", {"path": req.path})


        def routes(environment):
            return [{"prefix": "/ignored", "routes": [(404, missing, {})]}]
    """,
    "subother/views/router.html": "other's 404 for {{ path }}",
}


def test_a_sub_apps_status_route_answers_for_every_path_with_its_own_view(apps: Apps) -> None:
    tool = 'apps = [{app = "subother", prefix = "/other"}]\n'
    http = client(apps, project(apps, tool, STATUS_APP))
    for path in ("/nowhere", "/other/nowhere"):
        response = http.get(path)
        assert (response.status_code, response.text) == (404, f"other's 404 for {path}")


def test_a_sub_app_route_that_clashes_with_the_main_apps_names_both(apps: Apps) -> None:
    router = MAIN["router.py"].replace('"/page", pages.page', '"/blog/posts/:n", pages.page')
    with pytest.raises(RouteTableError) as caught:
        client(apps, project(apps, BLOG_AT, BLOG, main={**MAIN, "router.py": router}))
    assert str(caught.value) == (
        "app 'subblog' group 1, route ('/:id', subblog.controllers.pages_controller.show, "
        "{'methods': ['get']}): duplicate route GET /blog/posts/:id, already defined in group 0 "
        "by ('/blog/posts/:n', mainsite.controllers.pages_controller.page, {'methods': ['get']})"
    )


def test_two_status_routes_for_one_code_in_two_apps_clash(apps: Apps) -> None:
    main = {
        **MAIN,
        "router.py": MAIN["router.py"].replace(
            '("/", pages.home, {"methods": ["get"]}),', '("/", pages.home), (404, pages.home, {}),'
        ),
    }
    with pytest.raises(
        RouteTableError,
        match=r"^app 'subother' group 0, route \(404, .*"
        r"duplicate route STATUS 404, already defined in group 0 by \(404, ",
    ):
        client(apps, project(apps, 'apps = ["subother"]\n', STATUS_APP, main=main))


def test_a_bad_route_names_the_sub_app_and_its_group(apps: Apps) -> None:
    bad = {**BLOG, "subblog/router.py": BLOG["subblog/router.py"].replace('"/:id/page"', '"x"')}
    with pytest.raises(
        RouteTableError,
        match=r"^app 'subblog' group 1, route 1 \('x', .*"
        r"path 'x' must start with '/'$",
    ):
        client(apps, project(apps, BLOG_AT, bad))


NO_ROUTER = {"subother/__init__.py": ""}
NO_SECURITY_MODULE = 'apps = [{app = "subadmin", security = "subadmin.nothere:f"}]\n'


@pytest.mark.parametrize(
    ("tool", "files", "message"),
    [
        (
            'apps = ["nosuchpackage"]\n',
            {},
            "[tool.nova] apps entry 0 ('nosuchpackage'): no package 'nosuchpackage' in ",
        ),
        (
            'apps = ["subother"]\n',
            NO_ROUTER,
            "[tool.nova] apps entry 0 ('subother'): app 'subother' has no router.py",
        ),
        (
            'apps = ["mainsite"]\n',
            {},
            "[tool.nova] apps entry 0 ('mainsite'): 'mainsite' is the main app; "
            "list only the other apps",
        ),
        (
            NO_SECURITY_MODULE,
            ADMIN,
            "[tool.nova] apps entry 0 ('subadmin'): security 'subadmin.nothere:f': "
            "no module 'subadmin.nothere'",
        ),
        (
            'apps = [{app = "subadmin", security = "subadmin.auth:nope"}]\n',
            ADMIN,
            "[tool.nova] apps entry 0 ('subadmin'): security 'subadmin.auth:nope': "
            "subadmin.auth has no callable nope",
        ),
    ],
)
def test_an_entry_that_cannot_load_is_one_line(
    apps: Apps, tool: str, files: dict[str, str], message: str
) -> None:
    with pytest.raises(ConfigError) as caught:
        client(apps, project(apps, tool, files))
    assert str(caught.value).startswith(message)
    assert "\n" not in str(caught.value)


@pytest.mark.parametrize(
    ("tool", "message"),
    [
        (
            'apps = [{app = "subblog", prefix = "blog"}]',
            "entry 0 ('subblog'): prefix must be \"\" ",
        ),
        ('apps = [{app = "subblog", security = true}]', "entry 0 ('subblog'): security must be"),
        ('apps = [{app = "subblog", security = "nocolon"}]', "entry 0 ('subblog'): security must"),
        ('apps = [{app = "subblog", secure = false}]', "entry 0 ('subblog'): unknown key 'secure'"),
        ('apps = ["subblog", {app = "subblog"}]', "entry 1 ('subblog'): 'subblog' is listed twice"),
        ('apps = ["sub-blog"]', 'entry 0: app must be a package name such as "blog"'),
        ("apps = [3]", "entry 0: expected a package name or"),
        ('apps = "subblog"', "expected list, got 'subblog'"),
    ],
)
def test_a_malformed_entry_is_a_settings_error(apps: Apps, tool: str, message: str) -> None:
    with pytest.raises(ConfigError) as caught:
        client(apps, project(apps, tool + "\n", BLOG))
    assert str(caught.value).startswith("[tool.nova].apps in ")
    assert message in str(caught.value)


def test_add_routes_still_numbers_the_main_apps_groups(apps: Apps) -> None:
    from nova_cli.router import add_routes

    app = client(apps, project(apps, BLOG_AT, BLOG)).app
    table = add_routes(app, [{"routes": [("/added", lambda req: ("json", {}))]}])
    assert [r.group.index for r in table.routes if r.path == "/added"] == [1]
    with pytest.raises(RouteTableError, match=r"already defined in app 'subblog' group 0"):
        add_routes(app, [{"routes": [("/blog", lambda req: ("json", {}))]}])


def test_the_middleware_listing_keeps_each_apps_groups_apart(apps: Apps) -> None:
    app = client(apps, project(apps, BLOG_AT, BLOG)).app
    groups = describe_chain(app.router.table)["groups"]  # type: ignore[attr-defined]
    assert [(g.get("app"), g["index"], g["prefix"]) for g in groups] == [
        (None, 0, "/"),
        ("subblog", 0, "/blog"),
        ("subblog", 1, "/blog/posts"),
        ("subblog", 2, "/blog"),
    ]


def test_a_sub_app_that_reads_sessions_counts(apps: Apps) -> None:
    root = project(apps, BLOG_AT, BLOG)
    plain = client(apps, root).app
    assert not uses_sessions(plain.router.table)  # type: ignore[attr-defined]
    write_files(root, {"subblog/account.py": "def f(req):\n    return req.session\n"})
    reads = client(apps, root).app
    assert uses_sessions(reads.router.table)  # type: ignore[attr-defined]


def test_nova_routes_shows_the_app_of_each_route(apps: Apps) -> None:
    root = project(apps, BLOG_AT, BLOG)
    result = run_nova("routes", "--json", cwd=root)
    assert result.returncode == 0, result.stderr
    rows = json.loads(result.stdout)
    assert [(row["app"], row["path"], row["target"]) for row in rows] == [
        ("mainsite", "/", "mainsite.controllers.pages_controller.home"),
        ("mainsite", "/page", "mainsite.controllers.pages_controller.page"),
        ("mainsite", "/assets/[...]", "static"),
        ("subblog", "/blog", "subblog.controllers.pages_controller.index"),
        ("subblog", "/blog/posts/:id", "subblog.controllers.pages_controller.show"),
        ("subblog", "/blog/posts/:id/page", "subblog.controllers.pages_controller.page"),
        ("subblog", "/blog/assets/[...]", "static"),
    ]
    table = run_nova("routes", cwd=root)
    assert table.returncode == 0, table.stderr
    lines = table.stdout.splitlines()
    assert lines[0].split() == ["METHOD", "APP", "PATH", "TARGET", "PROTOCOL", "SECURITY"]
    assert lines[4].split()[:3] == ["GET", "subblog", "/blog"]


def test_nova_routes_has_no_app_column_without_sub_apps(apps: Apps) -> None:
    root = project(apps, "")
    rows = json.loads(run_nova("routes", "--json", cwd=root).stdout)
    assert all("app" not in row for row in rows)
    assert "APP" not in run_nova("routes", cwd=root).stdout


def test_a_code_change_in_a_sub_app_under_the_root_is_reloaded(apps: Apps) -> None:
    from nova_cli.core.config import load_config
    from nova_cli.devserver.reloader import Reloader
    from nova_cli.devserver.watcher import WatchScope
    from nova_cli.runtime.route_table import build_table

    root = project(apps, BLOG_AT, BLOG)
    http = client(apps, root)
    assert http.get("/blog").json() == {"app": "blog"}
    config = load_config(root)
    router = http.app.router  # type: ignore[attr-defined]
    reloader = Reloader(
        router,
        lambda: build_table(config),
        root=root,
        app_dir=root / "mainsite",
        is_project_file=WatchScope(root).is_project_file,
    )
    changed = root / "subblog/controllers/pages_controller.py"
    changed.write_text(changed.read_text().replace('{"app": "blog"}', '{"app": "blog v2"}'))
    assert reloader.apply([changed]).status == "ok"
    assert http.get("/blog").json() == {"app": "blog v2"}


SCHEMA_BLOG = {
    "subblog/__init__.py": "",
    "subblog/router.py": """
        def create(req):
            return ("json", 201, {}, req.json)


        def routes(environment):
            post = {"methods": ["post"], "json_schema": "schemas/post.json"}
            return [{"routes": [("/posts", create, post)]}]
    """,
    "subblog/schemas/post.json": '{"type": "object", "required": ["title"]}',
}


def test_a_sub_apps_schemas_are_its_own_components_and_check_its_bodies(apps: Apps) -> None:
    from openapi_spec_validator import OpenAPIV31SpecValidator

    from nova_cli.runtime.openapi import document

    main = {**MAIN, "schemas/post.json": '{"type": "string"}'}
    http = client(apps, project(apps, BLOG_AT, SCHEMA_BLOG, main=main))
    assert http.post("/blog/posts", json={"title": "t"}).status_code == 201
    assert http.post("/blog/posts", json={}).status_code == 400  # the sub-app's own schema
    doc = document(http.app.router.table)  # type: ignore[attr-defined]
    OpenAPIV31SpecValidator(doc).validate()
    schemas = doc["components"]["schemas"]
    assert (schemas["post"]["type"], schemas["subblog.post"]["type"]) == ("string", "object")
    body = doc["paths"]["/blog/posts"]["post"]["requestBody"]["content"]["application/json"]
    assert body["schema"] == {"$ref": "#/components/schemas/subblog.post"}
