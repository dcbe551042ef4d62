"""`nova new`: the app layout getting-started shows, next steps, refusals that write nothing."""

from __future__ import annotations

import tomllib

import pytest

from nova_cli.cli.output import CliError
from tests.cli.conftest import snapshot


def test_new_creates_the_app_and_prints_next_steps(nova, tmp_path):
    result = nova("new", "myapp", cwd=tmp_path)
    assert result.exit_code == 0, result.output
    root = tmp_path / "myapp"
    assert set(snapshot(root)) == {
        ".gitignore",
        "README.md",
        "pyproject.toml",
        "myapp/__init__.py",
        "myapp/router.py",
        "myapp/controllers/__init__.py",
        "myapp/controllers/main_controller.py",
        "myapp/views/main.html",
        "myapp/static/app.css",
        "myapp/static/favicon.ico",
        "tests/test_main.py",
    }
    assert "    create  myapp/router.py" in result.output
    assert "  cd myapp\n" in result.output
    assert "nova serve" in result.output and "pytest" in result.output


def test_the_generated_project_is_configured_for_nova_and_pytest(nova, tmp_path):
    nova("new", "shop", cwd=tmp_path)
    root = tmp_path / "shop"
    pyproject = tomllib.loads((root / "pyproject.toml").read_text())
    assert pyproject["project"]["dependencies"] == ["nova-web"]
    assert pyproject["project"]["optional-dependencies"]["test"] == ["pytest>=8", "httpx2"]
    nova_table = pyproject["tool"]["nova"]
    assert nova_table["app"] == "shop" and nova_table["port"] == 8080
    assert nova_table["plugins"] == [
        ["pre_request", "request", {"decode_json_body": True, "read_urlencoded_body": True}]
    ]
    router = (root / "shop/router.py").read_text()
    assert '("/", main_controller.index, {"methods": ["get"]})' in router
    assert '("/heartbeat", lambda req: ("status", 200), {"methods": ["get"]})' in router
    assert '("/assets/[...]", "static")' in router
    controller = (root / "shop/controllers/main_controller.py").read_text()
    assert 'return ("ok", {"message": "Hello world!"})' in controller
    view = (root / "shop/views/main.html").read_text()
    assert "{{ message }}" in view and 'href="/assets/app.css"' in view


@pytest.mark.usefixtures("isolated_imports")
def test_the_generated_app_loads_in_the_runtime(nova, tmp_path):
    from starlette.testclient import TestClient

    from nova_cli.runtime import create_app

    nova("new", "landing", cwd=tmp_path)
    with TestClient(create_app(root=tmp_path / "landing")) as client:
        home = client.get("/")
        assert home.status_code == 200 and "<h1>Hello world!</h1>" in home.text
        assert client.get("/heartbeat").status_code == 200
        assert client.get("/assets/app.css").status_code == 200


def test_directory_and_settings(nova, tmp_path):
    result = nova(
        "new", "blog", "--directory", "sites/blog", "--set", "port=9000",
        "--set", "description=My blog", "--no-input", cwd=tmp_path,
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    pyproject = tomllib.loads((tmp_path / "sites/blog/pyproject.toml").read_text())
    assert pyproject["tool"]["nova"]["port"] == 9000
    assert pyproject["project"]["description"] == "My blog"
    assert "  cd sites/blog\n" in result.output


def test_an_empty_existing_directory_is_fine(nova, tmp_path):
    (tmp_path / "myapp").mkdir()
    assert nova("new", "myapp", cwd=tmp_path).exit_code == 0


def test_a_non_empty_target_is_refused_and_left_alone(nova, tmp_path):
    (tmp_path / "myapp").mkdir()
    (tmp_path / "myapp" / "notes.txt").write_text("mine")
    result = nova("new", "myapp", cwd=tmp_path)
    assert result.exit_code == 1
    assert isinstance(result.exception, CliError)
    assert "already exists and is not empty; nothing written" in str(result.exception)
    assert snapshot(tmp_path) == {"myapp/notes.txt": b"mine"}


@pytest.mark.parametrize(
    ("name", "why"),
    [
        ("my-app", "not a valid app name: use a Python identifier"),
        ("My-Shop", "did you mean 'my_shop'?"),
        ("for", "Python keyword"),
        ("email", "standard-library module"),
        ("nova_cli", "reserved"),
        ("tests", "reserved"),
    ],
)
def test_invalid_and_reserved_names_write_nothing(nova, tmp_path, name, why):
    result = nova("new", name, cwd=tmp_path)
    assert result.exit_code == 1
    assert why in str(result.exception)
    assert list(tmp_path.iterdir()) == []


def test_bad_set_values(nova, tmp_path):
    result = nova("new", "myapp", "--set", "port", cwd=tmp_path)
    assert "--set expects KEY=VALUE" in str(result.exception)
    result = nova("new", "myapp", "--set", "colour=red", cwd=tmp_path)
    assert "unknown --set key 'colour' (known: description, port)" in str(result.exception)
    assert list(tmp_path.iterdir()) == []


def test_dry_run_writes_nothing(nova, tmp_path):
    result = nova("new", "myapp", "--dry-run", cwd=tmp_path)
    assert result.exit_code == 0
    assert "    create  tests/test_main.py" in result.output
    assert "dry run: nothing written" in result.output
    assert list(tmp_path.iterdir()) == []


def test_port_sets_the_apps_port_and_the_next_steps(nova, tmp_path):
    result = nova("new", "blog", "--port", "9000", cwd=tmp_path)
    assert result.exit_code == 0, result.output
    pyproject = tomllib.loads((tmp_path / "blog/pyproject.toml").read_text())
    assert pyproject["tool"]["nova"]["port"] == 9000
    assert "  nova serve                            # http://127.0.0.1:9000\n" in result.output
    assert "8080" not in result.output


def test_the_generator_hints_use_the_apps_port(nova, tmp_path):
    nova("new", "blog", "--port", "9000", cwd=tmp_path)
    result = nova("gen", "controller", "posts", cwd=tmp_path / "blog")
    assert "  curl http://127.0.0.1:9000/posts    # after `nova serve`\n" in result.output


@pytest.mark.usefixtures("isolated_imports")
def test_the_welcome_page_links_the_docs_and_the_first_controller(nova, tmp_path):
    import re

    from starlette.responses import PlainTextResponse
    from starlette.testclient import TestClient

    from nova_cli.devserver.docs import Docs
    from nova_cli.runtime import create_app

    nova("new", "myapp", cwd=tmp_path)
    with TestClient(create_app(root=tmp_path / "myapp")) as app:
        welcome = app.get("/").text
    links = re.findall(r'href="(/__nova/docs/[^"]*)"', welcome)
    assert "/__nova/docs/" in links
    assert "/__nova/docs/getting-started.md#a-first-controller" in links
    docs = TestClient(Docs(PlainTextResponse("the app")))
    for link in links:
        path, _, anchor = link.partition("#")
        page = docs.get(path)
        assert page.status_code == 200, link
        assert not anchor or f'id="{anchor}"' in page.text, link


@pytest.mark.usefixtures("isolated_imports")
def test_the_favicon_is_served(nova, tmp_path):
    from starlette.testclient import TestClient

    from nova_cli.runtime import create_app

    nova("new", "myapp", cwd=tmp_path)
    with TestClient(create_app(root=tmp_path / "myapp")) as client:
        icon = client.get("/favicon.ico")
    assert icon.status_code == 200
    assert icon.content == (tmp_path / "myapp/myapp/static/favicon.ico").read_bytes()
    assert icon.content.startswith(b"\x00\x00\x01\x00")  # an ICO file, not a rendered text
