"""The code the generators write: its own tests pass, and it is ruff-clean.

The generated app runs in a child process, as a user runs it: its modules
(and its custom handlers, which register globally) never enter this one.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.cli.conftest import Invoke
from tests.support.generators import GENERATORS


@pytest.fixture
def full_app(nova: Invoke, tmp_path: Path) -> Path:
    """`nova new shop` plus every generator."""
    assert nova("new", "shop", cwd=tmp_path).exit_code == 0
    root = tmp_path / "shop"
    for args in GENERATORS:
        result = nova("gen", *args, cwd=root)
        assert result.exit_code == 0, result.output
    return root


def run(args: list[str], cwd: Path) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("NOVA_", "PYTEST_"))}
    return subprocess.run(args, cwd=cwd, env=env, capture_output=True, text=True, timeout=120)


def test_the_generated_tests_pass(full_app):
    done = run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider"], full_app)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "37 passed" in done.stdout, done.stdout


# A WebSocket handler broken in a way only a real socket shows: the generated test must fail.
BROKEN_WS_HANDLERS = [
    pytest.param(
        ["room", "--pubsub", "lobby"],
        "shop/controllers/room_ws_handler.py",
        ('pubsub.join("lobby")', "pass  # joins no channel"),
        id="a chat that joins no channel",
    ),
    pytest.param(
        ["hall", "--presence"],
        "shop/controllers/hall_ws_handler.py",
        ('presence.track(CHANNEL, state["user"], {"online_at": int(time.time())})', "time"),
        id="a presence room that tracks nobody",
    ),
    pytest.param(
        ["chat"],
        "shop/router.py",
        ('("/chat", chat_ws_handler, {"protocol": "ws"}),', ""),
        id="an echo handler left out of the router",
    ),
]


@pytest.mark.parametrize(("args", "path", "edit"), BROKEN_WS_HANDLERS)
def test_the_generated_ws_tests_catch_a_broken_handler(nova, tmp_path, args, path, edit):
    assert nova("new", "shop", cwd=tmp_path).exit_code == 0
    root = tmp_path / "shop"
    assert nova("gen", "ws-handler", *args, cwd=root).exit_code == 0
    test = f"tests/test_{args[0]}_ws_handler.py"
    pytest_args = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", test]
    done = run(pytest_args, root)
    assert done.returncode == 0, done.stdout + done.stderr
    source = (root / path).read_text()
    assert edit[0] in source
    (root / path).write_text(source.replace(edit[0], edit[1]))
    done = run(pytest_args, root)
    assert done.returncode == 1, done.stdout + done.stderr


def test_a_fresh_app_passes_its_tests(nova, tmp_path):
    nova("new", "blank", cwd=tmp_path)
    done = run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider"], tmp_path / "blank")
    assert done.returncode == 0, done.stdout + done.stderr
    assert "3 passed" in done.stdout


def test_the_generated_code_is_ruff_clean(full_app):
    ruff = [sys.executable, "-m", "ruff"]
    fmt = run([*ruff, "format", "--check", "--no-cache", "."], full_app)
    assert fmt.returncode == 0, fmt.stdout + fmt.stderr
    rules = "E,F,W,I,B,UP,SIM"
    lint = run(
        [*ruff, "check", "--no-cache", "--select", rules, "--output-format", "concise"], full_app
    )
    assert lint.returncode == 0, lint.stdout + lint.stderr


def test_the_generated_app_compiles_its_routes(full_app):
    done = run([sys.executable, "-m", "nova_cli.cli.main", "routes", "--json"], full_app)
    assert done.returncode == 0, done.stderr
    import json

    rows = {(tuple(r["methods"]), r["path"], r["protocol"]) for r in json.loads(done.stdout)}
    assert {
        (("GET",), "/users", "http"),
        (("GET",), "/users/:id", "http"),
        (("GET",), "/users/stats", "http"),
        ((), "/chat", "ws"),
        ((), "/room", "ws"),
        ((), "/hall", "ws"),
        (("GET",), "/hall/page", "http"),
        (("GET",), "/books", "http"),
        (("POST",), "/books", "http"),
        (("DELETE",), "/books/:id", "http"),
        (("POST",), "/login", "http"),
        (("GET",), "/account", "http"),
    } <= rows


def test_auth_chat_takes_over_the_echo_chat_and_its_tests_pass(nova, tmp_path):
    assert nova("new", "shop", cwd=tmp_path).exit_code == 0
    root = tmp_path / "shop"
    assert nova("gen", "ws-handler", "chat", cwd=root).exit_code == 0
    refused = nova("gen", "auth", "--chat", cwd=root)
    assert refused.exit_code == 1
    assert "  conflict  shop/controllers/chat_ws_handler.py\n" in refused.output
    result = nova("gen", "auth", "--chat", "--force", cwd=root)
    assert result.exit_code == 0, result.output
    assert "/chat moved behind its security" in result.output
    router = (root / "shop/router.py").read_text()
    assert router.count('("/chat", chat_ws_handler, {"protocol": "ws"}),') == 1
    done = run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider"], root)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "19 passed" in done.stdout, done.stdout
    ruff = [sys.executable, "-m", "ruff"]
    assert run([*ruff, "format", "--check", "--no-cache", "."], root).returncode == 0
    lint = [*ruff, "check", "--no-cache", "--select", "E,F,W,I,B,UP,SIM", "."]
    assert run(lint, root).returncode == 0
