"""docs/openapi.md: its app served, its curl sessions replayed, its `nova openapi` output."""

from __future__ import annotations

import json
import re
import shlex
from pathlib import Path

import httpx

from tests.docs.conftest import DOCS, app_from_docs
from tests.support.cli import run_nova
from tests.support.servers import uvicorn_app

PAGE = (DOCS / "openapi.md").read_text()


def library(tmp_path: Path) -> Path:
    root = app_from_docs("openapi.md", tmp_path)
    schema = re.search(r"`library/schemas/book.json`:\n\n```json\n(.*?)```", PAGE, re.S)
    assert schema
    (root / "library" / "schemas").mkdir()
    (root / "library" / "schemas" / "book.json").write_text(schema.group(1))
    return root


def sessions(page: str) -> list[tuple[list[str], str]]:
    """Each `$ curl ...` line of the page's console blocks, with the line it printed."""
    found = re.findall(r"^\$ (curl .*)\n(.*)$", page, re.M)
    return [(shlex.split(command), output) for command, output in found]


def test_the_curl_sessions_answer_as_shown(tmp_path: Path) -> None:
    shown = sessions(PAGE)
    assert len(shown) == 4
    with uvicorn_app(library(tmp_path)) as server:
        for args, output in shown:
            method, url, body = args[args.index("-X") + 1], args[4], args[args.index("-d") + 1]
            # curl -d sends a form content-type: validation decodes the body as JSON anyway.
            response = httpx.request(
                method,
                server.url + url.removeprefix("localhost:8080"),
                content=body.encode(),
                headers={"content-type": "application/x-www-form-urlencoded"},
                timeout=10,
            )
            assert response.text == output, args
            assert response.is_success != ('"status":400' in output), response.status_code


def test_nova_openapi_writes_the_document_shown(tmp_path: Path) -> None:
    root = library(tmp_path)
    result = run_nova("openapi", "--title", "Library", "-o", "openapi.json", cwd=root)
    assert result.stdout.strip() == "wrote openapi.json (2 paths)", result.stderr
    document = json.loads((root / "openapi.json").read_text())
    excerpt = re.search(r'```json\n("/api/books": .*?)```', PAGE, re.S)
    assert excerpt
    assert json.loads("{" + excerpt.group(1) + "}")["/api/books"] == document["paths"]["/api/books"]
    assert document["info"] == {"title": "Library", "version": "0.1.0"}
    assert set(document["components"]["schemas"]) == {"book", "NovaError"}


def test_a_schema_that_does_not_compile_is_the_line_shown(tmp_path: Path) -> None:
    root = library(tmp_path)
    schema = root / "library" / "schemas" / "book.json"
    schema.write_text(schema.read_text().replace('{"type": "integer"}', '{"type": "text"}'))
    result = run_nova("routes", cwd=root)
    assert result.returncode == 1
    line = re.search(r"^\$ nova routes\n(error: json_schema .*)$", PAGE, re.M)
    assert line
    expected = line.group(1).replace("/srv/library", str(root.resolve()))
    assert result.stderr.strip() == expected
