"""A generated JSON resource behind a real uvicorn: a bad POST is refused, never stored.

Before, `{"title": NaN}` was stored and every `GET /books` after it was a 500
(the encoder refuses NaN), until the server restarted.
"""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.support.servers import Server, uvicorn_app

BAD_BODIES = [
    b'{"title": NaN}',
    b'{"title": Infinity}',
    b'{"title": -Infinity}',
    b'{"title": 1e999}',
    b'{"title": "\\ud800"}',
    b'{"\\udfff": "a lone surrogate as a key"}',
    b'{"title": ' * 1000 + b"1" + b"}" * 1000,
]


@pytest.fixture
def books_server(demo_root: Path) -> Iterator[Server]:
    """The demo app with `nova gen resource books` added, under plain uvicorn."""
    subprocess.run(
        [sys.executable, "-m", "nova_cli.cli.main", "gen", "resource", "books"],
        cwd=demo_root / "demo",
        check=True,
        capture_output=True,
        timeout=60,
    )
    with uvicorn_app(demo_root) as server:
        yield server


def test_bad_json_posts_are_400_and_the_resource_keeps_working(books_server: Server) -> None:
    with httpx.Client(base_url=books_server.url, timeout=10) as c:
        created = c.post("/books", json={"title": "Dune"})
        assert created.status_code == 201
        for body in BAD_BODIES:
            r = c.post("/books", content=body, headers={"content-type": "application/json"})
            assert r.status_code == 400, (body[:40], r.text)
            assert r.json()["error"] == "bad_request"
            listed = c.get("/books")
            assert listed.status_code == 200, (body[:40], listed.text)
            assert listed.json() == [created.json()]
    assert "Traceback" not in books_server.output()
