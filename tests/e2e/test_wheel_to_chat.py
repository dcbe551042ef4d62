"""From a wheel of this checkout to a two-worker chat behind a real redis-server.

A wheel is built and installed by its path into a fresh virtualenv; that
venv's `nova` makes `nova new shop --docker --redis` and a pub/sub chat
handler; the app is installed with its test extra (nova-web resolved to the
wheel, never to the index) and its tests pass; then `nova run --workers 2`
serves it on Redis, and two WebSocket clients served by different workers see
each other's messages.
"""

from __future__ import annotations

import contextlib
import json
import re
import subprocess
import sys
import zipfile
from collections.abc import Iterator
from pathlib import Path

import pytest
from websockets.sync.client import ClientConnection, connect

from tests.support import venvs
from tests.support.redis import redis_server
from tests.support.servers import Server, children, connection_owner, free_port, spawn

REPO = Path(__file__).resolve().parents[2]

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """nova-web's wheel, built from this checkout by its build backend."""
    out = tmp_path_factory.mktemp("dist")
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps", "-w", str(out), str(REPO)],
        check=True,
        timeout=300,
    )
    (built,) = out.glob("nova_web-*-py3-none-any.whl")
    return built


def installed(report: str) -> dict[str, str]:
    """`pip install --report -` output → {name: where pip took it from}."""
    items = json.loads(report[report.index("{") :])["install"]
    return {item["metadata"]["name"]: item["download_info"]["url"] for item in items}


@pytest.fixture(scope="module")
def venv(wheel: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A fresh virtualenv with the wheel installed by its path, with the redis extra."""
    root = venvs.create(tmp_path_factory.mktemp("venv") / "venv")
    report = venvs.pip_install(root, "--quiet", "--report", "-", f"{wheel}[redis]")
    assert installed(report)["nova-web"] == wheel.as_uri()
    return root


@pytest.fixture(scope="module")
def shop(venv: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The generated app, with a chat handler, installed with its test extra."""
    home = tmp_path_factory.mktemp("project")
    nova = str(venv / "bin" / "nova")
    venvs.run(venv, [nova, "new", "shop", "--docker", "--redis"], home)
    root = home / "shop"
    venvs.run(venv, [nova, "gen", "ws-handler", "chat", "--pubsub", "chat"], root)
    report = venvs.pip_install(venv, "--quiet", "--report", "-", ".[test]", cwd=root)
    assert "nova-web" not in installed(report)  # already there, from the wheel
    assert {"shop", "pytest"} <= set(installed(report))
    return root


def test_the_wheel_ships_every_template(wheel: Path) -> None:
    with zipfile.ZipFile(wheel) as archive:
        shipped = {n for n in archive.namelist() if n.startswith("nova_cli/templates/")}
    templates = REPO / "templates"
    expected = {
        f"nova_cli/templates/{p.relative_to(templates).as_posix()}"
        for p in templates.rglob("*")
        if p.is_file() and "__pycache__" not in p.parts
    }
    assert "nova_cli/templates/docker/{{cookiecutter.app}}/.dockerignore" in expected
    assert shipped == expected


def test_the_wheel_ships_the_docs_that_nova_serve_serves(venv: Path, wheel: Path) -> None:
    with zipfile.ZipFile(wheel) as archive:
        shipped = {n for n in archive.namelist() if n.startswith("nova_cli/docs/")}
    assert shipped == {f"nova_cli/docs/{p.name}" for p in (REPO / "docs").glob("*.md")}
    code = "from nova_cli.devserver.docs import docs_dir; print(docs_dir())"
    found = venvs.run(venv, [venvs.python(venv), "-c", code], venv).strip()
    assert Path(found).is_relative_to(venv / "lib"), found


def test_nova_runs_from_the_wheel(venv: Path, wheel: Path, shop: Path) -> None:
    code = (
        "import importlib.metadata, json, nova_cli, nova_cli.scaffold as scaffold\n"
        "direct = importlib.metadata.distribution('nova-web').read_text('direct_url.json')\n"
        "print(json.dumps([nova_cli.__file__, str(scaffold.templates_dir()), direct]))"
    )
    out = venvs.run(venv, [venvs.python(venv), "-c", code], shop)
    module, templates, direct = json.loads(out)
    site = venv / "lib"
    assert Path(module).is_relative_to(site) and Path(templates).is_relative_to(site)
    assert json.loads(direct)["url"] == wheel.as_uri()


def test_the_generated_tests_pass(venv: Path, shop: Path) -> None:
    out = venvs.run(
        venv, [venvs.python(venv), "-m", "pytest", "-q", "-p", "no:cacheprovider"], shop
    )
    assert re.search(r"\b6 passed\b", out), out


@contextlib.contextmanager
def one_client_per_worker(server: Server, path: str) -> Iterator[list[ClientConnection]]:
    """Connect until two clients are served by different workers (the kernel chooses)."""
    with contextlib.ExitStack() as stack:
        by_worker: dict[int, ClientConnection] = {}
        for _ in range(40):
            conn = stack.enter_context(connect(server.ws_url + path, open_timeout=10))
            workers = children(server.process.pid)
            owner = connection_owner(workers, server.port, conn.local_address[1])
            assert owner is not None, f"none of the workers {workers} holds the connection"
            by_worker.setdefault(owner, conn)
            if len(by_worker) == 2:
                break
        assert len(by_worker) == 2, "every connection landed on one worker"
        yield list(by_worker.values())


def test_two_workers_share_the_chat_through_redis(venv: Path, shop: Path) -> None:
    port = free_port()
    nova = [str(venv / "bin" / "nova"), "run", "--workers", "2", "--port", str(port)]
    with redis_server() as redis:
        env = venvs.env(venv, {"NOVA_PUBSUB_URL": redis.url})
        with (
            spawn(nova, port=port, cwd=shop, env=env, inherit_env=False, timeout=60) as server,
            one_client_per_worker(server, "/chat") as (alice, bob),
        ):
            alice.send("hello from the first worker")
            assert alice.recv(timeout=10) == "hello from the first worker"
            assert bob.recv(timeout=10) == "hello from the first worker"
            bob.send("hello from the second")
            assert bob.recv(timeout=10) == "hello from the second"
            assert alice.recv(timeout=10) == "hello from the second"
