"""Fixtures shared by every suite."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.servers import ASSETS, Server, uvicorn_app


@pytest.fixture
def demo_root(tmp_path: Path) -> Path:
    """A private copy of tests/assets/demo, free to edit."""
    target = tmp_path / "demo"
    shutil.copytree(ASSETS / "demo", target, ignore=shutil.ignore_patterns("__pycache__"))
    return target


@pytest.fixture(scope="module")
def demo_server() -> Iterator[Server]:
    """The demo app served by a real uvicorn on a free loopback port, in dev (500 pages
    show the traceback)."""
    with uvicorn_app(ASSETS / "demo", env={"NOVA_ENVIRONMENT": "dev"}) as server:
        yield server
