"""Sessions over `nova run --workers 2`: shared through a real redis-server, or refused."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.support.redis import RedisServer, redis_server
from tests.support.servers import free_port, nova
from tests.support.waiting import quiet_env

APP = {
    "pyproject.toml": '[tool.nova]\napp = "shop"\n',
    "shop/__init__.py": "",
    "shop/router.py": """
        import os

        from nova_cli import session


        def put(req):
            session.set(req, "user", req.query["user"])
            return ("json", {"pid": os.getpid()})


        def show(req):
            return ("json", {"pid": os.getpid(), "user": session.get(req, "user")})


        def routes(environment):
            get = {"methods": ["get"]}
            return [{"routes": [("/put", put, get), ("/show", show, get)]}]
        """,
}


@pytest.fixture
def shop(tmp_path: Path) -> Path:
    for name, text in APP.items():
        path = tmp_path / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(text).lstrip("\n"))
    return tmp_path


@pytest.fixture
def redis() -> Iterator[RedisServer]:
    with redis_server() as server:
        yield server


def test_two_workers_share_a_session_through_redis(shop: Path, redis: RedisServer) -> None:
    env = {"NOVA_PUBSUB_URL": redis.url}
    with nova("run", shop, "--workers", "2", env=env, timeout=60) as server:
        written = httpx.get(server.url + "/put?user=alice", timeout=10)
        header = written.headers["set-cookie"]
        assert "Secure" in header  # prod: the client is told to send it over HTTPS only
        cookie = {"cookie": header.split(";")[0]}
        writer = written.json()["pid"]
        readers: set[int] = set()
        for _ in range(200):  # new connections until the kernel hands one to the other worker
            read = httpx.get(server.url + "/show", headers=cookie, timeout=10).json()
            assert read["user"] == "alice", read
            readers.add(read["pid"])
            if readers - {writer}:
                break
        assert readers - {writer}, "every request reached the worker that wrote"


def test_workers_with_sessions_in_memory_are_refused(shop: Path) -> None:
    port = free_port()
    result = subprocess.run(
        [sys.executable, "-m", "nova_cli.cli.main", "run", "--port", str(port), "--workers", "2"],
        cwd=shop,
        capture_output=True,
        text=True,
        timeout=60,
        env={**quiet_env(), "NO_COLOR": "1", "PYTHONPATH": os.environ.get("PYTHONPATH", "")},
    )
    assert result.returncode == 1, result
    lines = result.stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: shop uses sessions"), result.stderr
    assert "2 workers" in lines[0] and "NOVA_PUBSUB_URL" in lines[0]
    assert "--sessions-per-worker" in lines[0]


def test_sessions_per_worker_runs_them_and_the_banner_says_so(shop: Path) -> None:
    env = {k: v for k, v in quiet_env().items()}
    with nova("run", shop, "--workers", "2", "--sessions-per-worker", env=env) as server:
        assert httpx.get(server.url + "/show", timeout=10).status_code == 200
        assert "sessions in memory, per worker" in server.output()
