"""Static routes: files below a directory, never anything outside it.

These go through `static.serve` and the ASGI app.  The same attacks with raw
request lines against a real uvicorn server are in tests/e2e/test_http_server.py.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest
from starlette.responses import HTMLResponse
from starlette.testclient import TestClient

from nova_cli.core.errors import RouteTableError
from nova_cli.runtime import static
from tests.runtime.conftest import Apps


@pytest.fixture
def tree(tmp_path: Path) -> Path:
    """public/ (the static dir) next to secret.txt, which must never be served."""
    public = tmp_path / "public"
    (public / "css").mkdir(parents=True)
    (public / "docs").mkdir()
    (public / "empty").mkdir()
    (public / "hello.txt").write_text("hello")
    (public / "css" / "app.css").write_text("body{}")
    (public / "docs" / "index.html").write_text("<p>docs</p>")
    (tmp_path / "secret.txt").write_text("secret")
    (tmp_path / "public-evil").mkdir()
    (tmp_path / "public-evil" / "x.txt").write_text("sibling with a common prefix")
    os.symlink(tmp_path / "secret.txt", public / "escape.txt")
    os.symlink(tmp_path, public / "up")
    os.symlink(public / "hello.txt", public / "alias.txt")  # stays inside: fine
    return public.resolve()


def body(base: Path, parts: list[str] | None) -> bytes | None:
    response = static.serve(base, parts)
    if isinstance(response, int):
        return None
    return Path(response.path).read_bytes()  # type: ignore[attr-defined]


def test_files_below_the_directory(tree: Path) -> None:
    assert body(tree, ["hello.txt"]) == b"hello"
    assert body(tree, ["css", "app.css"]) == b"body{}"
    assert body(tree, ["docs"]) == b"<p>docs</p>"  # index.html
    assert body(tree, ["alias.txt"]) == b"hello"


@pytest.mark.parametrize(
    "parts",
    [
        ["..", "secret.txt"],
        ["css", "..", "..", "secret.txt"],
        ["..", "public-evil", "x.txt"],
        [".", "hello.txt"],
        ["escape.txt"],  # a symlink pointing out of the directory
        ["up", "secret.txt"],  # a directory symlink pointing out
        ["..\\secret.txt"],
        ["hello.txt\x00.png"],
        [str(Path("/etc/passwd"))],
        ["missing.txt"],
    ],
)
def test_nothing_outside_and_nothing_missing(tree: Path, parts: list[str] | None) -> None:
    assert static.serve(tree, parts) == 404


@pytest.mark.parametrize("parts", [["empty"], [], None])
def test_a_directory_without_an_index_is_forbidden_as_in_nova(
    tree: Path, parts: list[str] | None
) -> None:
    assert static.serve(tree, parts) == 403


def test_a_single_file_route(tree: Path) -> None:
    response = static.serve(tree / "hello.txt", None)
    assert not isinstance(response, int)
    assert static.serve(tree / "hello.txt", ["x"]) == 404


def test_mimetype_overrides_the_extension(tree: Path) -> None:
    options = static.static_options({"mimetype": "text/x-nova"})
    response = static.serve(tree, ["hello.txt"], options)
    assert not isinstance(response, int)
    assert response.media_type == "text/x-nova"


def test_index_files_are_tried_in_order(tree: Path) -> None:
    (tree / "docs" / "default.htm").write_text("default")
    first = static.static_options({"index_files": ["default.htm", "index.html"]})
    assert static.serve(tree, ["docs"], first).path.name == "default.htm"  # type: ignore[union-attr]
    none = static.static_options({"index_files": []})
    assert static.serve(tree, ["docs"], none) == 403


def test_list_dir_lists_what_it_would_serve_and_nothing_else(tree: Path) -> None:
    (tree / "<b>.txt").write_text("x")
    response = static.serve(tree, [], static.static_options({"list_dir": True}))
    assert isinstance(response, HTMLResponse)
    page = bytes(response.body).decode()
    assert "<a href='css/'>css/</a>" in page and "<a href='hello.txt'>hello.txt</a>" in page
    assert "<a href='alias.txt'>" in page  # a symlink that stays inside
    assert "escape.txt" not in page and "up/" not in page  # symlinks that leave are not shown
    assert "&lt;b&gt;.txt" in page and "<b>" not in page.replace("<b>.txt", "")
    assert page.index("css/") < page.index("hello.txt")  # folders first
    assert "../" not in page  # the top of the route has no parent
    inner = static.serve(tree, ["empty"], static.static_options({"list_dir": True}))
    assert "<a href='../'>../</a>" in bytes(inner.body).decode()  # type: ignore[union-attr]


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"mimetype": "text"}, "mimetype must be a content type such as 'text/plain', got 'text'"),
        ({"index_files": "index.html"}, "index_files must be a list of file names"),
        ({"index_files": ["../x.html"]}, "index_files must be a list of file names"),
        ({"list_dir": "yes"}, "list_dir must be True or False, got 'yes'"),
    ],
)
def test_bad_static_options_are_one_line(options: dict, message: str) -> None:
    with pytest.raises(RouteTableError, match=re.escape(message)):
        static.static_options(options)


STATIC_APP = {
    "router.py": """
        def routes(environment):
            return [{"routes": [
                ("/assets/[...]", "static"),
                ("/robots.txt", "static/robots.txt"),
                ("/[...]", lambda req: ("json", {"catch_all": req.pathinfo})),
            ]}]
    """,
    "static/robots.txt": "User-agent: *",
    "static/css/app.css": "body { color: red; }",
    "static/big.bin": "0123456789" * 10,
    "secret.py": "TOKEN = 'do not serve'",
}


@pytest.fixture
def client(apps: Apps) -> TestClient:
    root = apps.write(STATIC_APP, package="staticapp")
    os.symlink(root / "staticapp" / "secret.py", root / "staticapp" / "static" / "link.py")
    return apps.client(root)


def test_static_files_through_the_app(client: TestClient) -> None:
    r = client.get("/assets/css/app.css")
    assert (r.status_code, r.text) == (200, "body { color: red; }")
    assert r.headers["content-type"].startswith("text/css")
    assert "last-modified" in r.headers and "etag" in r.headers
    assert client.get("/robots.txt").text == "User-agent: *"


def test_head_and_range(client: TestClient) -> None:
    r = client.head("/assets/big.bin")
    assert (r.status_code, r.headers["content-length"], r.content) == (200, "100", b"")
    r = client.get("/assets/big.bin", headers={"range": "bytes=5-14"})
    assert (r.status_code, r.content) == (206, b"5678901234")
    assert r.headers["content-range"] == "bytes 5-14/100"


def test_a_directory_without_an_index_is_403_with_the_apps_page(client: TestClient) -> None:
    r = client.get("/assets/css", headers={"accept": "application/json"})
    assert r.status_code == 403
    assert r.json()["error"] == "forbidden"


def test_static_options_through_the_router(apps: Apps) -> None:
    root = apps.write(
        {
            "router.py": """
                def routes(environment):
                    return [{"routes": [
                        ("/files/[...]", "static", {"list_dir": True}),
                        ("/raw/[...]", "static", {"mimetype": "text/plain", "index_files": []}),
                    ]}]
            """,
            "static/css/app.css": "body {}",
        },
        package="listing",
    )
    client = apps.client(root)
    listing = client.get("/files/css/")
    assert listing.status_code == 200 and "<a href='app.css'>app.css</a>" in listing.text
    raw = client.get("/raw/css/app.css")
    assert raw.headers["content-type"].startswith("text/plain")
    assert client.get("/raw/css").status_code == 403


@pytest.mark.parametrize(
    ("route", "message"),
    [
        ('("/x", lambda req: ("ok", {}), {"list_dir": True})', "list_dir: options of static"),
        ('("/s/[...]", "static", {"mimetype": 1})', "mimetype must be a content type"),
    ],
)
def test_static_options_are_checked_at_start(apps: Apps, route: str, message: str) -> None:
    root = apps.write(
        {
            "router.py": f"""
                def routes(environment):
                    return [{{"routes": [{route}]}}]
            """,
            "static/a.txt": "a",
        },
        package="badstatic",
    )
    with pytest.raises(RouteTableError, match=message):
        apps.client(root)


@pytest.mark.parametrize(
    "path",
    [
        "/assets/%2e%2e/secret.py",
        "/assets/%2E%2E/%2E%2E/pyproject.toml",
        "/assets/..%2fsecret.py",
        "/assets/css%2f..%2f..%2fsecret.py",
        "/assets/%2fetc%2fpasswd",
        "/assets//etc/passwd",
        "/assets/link.py",
        "/assets/missing.css",
    ],
)
def test_escapes_are_404_through_the_app(client: TestClient, path: str) -> None:
    r = client.get(path)
    assert r.status_code == 404
    assert "do not serve" not in r.text and "root:" not in r.text


def test_a_missing_file_uses_the_404_page(apps: Apps) -> None:
    root = apps.write(
        {
            "router.py": """
                def routes(environment):
                    return [{"routes": [("/s/[...]", "static"),
                                        (404, lambda req: ("status", 404, {}, "my 404"))]}]
            """,
            "static/a.txt": "a",
        },
        package="static404",
    )
    client = apps.client(root)
    assert client.get("/s/a.txt").text == "a"
    assert (client.get("/s/b.txt").status_code, client.get("/s/b.txt").text) == (404, "my 404")
