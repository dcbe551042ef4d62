"""What `nova run` and `nova serve` write, read from real servers' output.

The access log, log levels and the JSON format; colours on a terminal (a
real pty); proxy headers; the open-file limit the banner reports; bad
settings, each one line.
"""

from __future__ import annotations

import contextlib
import json
import os
import pty
import re
import resource
import subprocess
import sys
import threading
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import pytest

from tests.support.servers import (
    ASSETS,
    PID_ROUTE,
    Server,
    free_port,
    nova,
    spawn,
    stop,
    worker_pids,
)
from tests.support.waiting import quiet_env, wait_for

DEMO = ASSETS / "demo"
ANSI = re.compile(r"\x1b\[[0-9;]*m")


def settled(server: Server) -> str:
    """The output once every earlier request is logged: a /boom's traceback comes after it."""
    httpx.get(server.url + "/boom", timeout=10)
    wait_for(lambda: "ValueError: kaboom" in server.output())
    return server.output()


# -- the access log -----------------------------------------------------------

ACCESS_CASES = {
    "run: off by default": (("run",), {}, False),
    "run --access-log": (("run", "--access-log"), {}, True),
    "run NOVA_ACCESS_LOG=1": (("run",), {"NOVA_ACCESS_LOG": "1"}, True),
    "serve: on by default": (("serve",), {}, True),
    "serve --no-access-log": (("serve", "--no-access-log"), {}, False),
    "serve --no-reload: on by default": (("serve", "--no-reload"), {}, True),
    "serve --no-reload NOVA_ACCESS_LOG=false": (
        ("serve", "--no-reload"),
        {"NOVA_ACCESS_LOG": "false"},
        False,
    ),
}


@pytest.mark.parametrize("case", list(ACCESS_CASES))
def test_the_access_log_follows_the_command_flag_and_variable(case: str) -> None:
    (command, *args), env, logged = ACCESS_CASES[case]
    with nova(command, DEMO, *args, env=quiet_env(**env)) as server:
        assert httpx.get(server.url + "/heartbeat", timeout=10).status_code == 200
        output = settled(server)
    assert ('"GET /heartbeat HTTP/1.1" 200' in output) is logged, output


def test_the_access_log_key_of_tool_nova(demo_root: Path) -> None:
    pyproject = demo_root / "pyproject.toml"
    pyproject.write_text(pyproject.read_text() + "access_log = true\n")
    with nova("run", demo_root, env=quiet_env()) as server:
        httpx.get(server.url + "/heartbeat", timeout=10)
        assert '"GET /heartbeat HTTP/1.1" 200' in settled(server)


@pytest.mark.parametrize("command", [("run",), ("serve",)], ids=["run", "serve"])
def test_log_level_warning_leaves_out_the_info_lines(command: tuple[str, ...]) -> None:
    with nova(*command, DEMO, "--log-level", "warning", "--access-log", env=quiet_env()) as server:
        httpx.get(server.url + "/heartbeat", timeout=10)
        output = settled(server)
    assert "ERROR:" in output  # the /boom, at error
    assert "INFO:" not in output, output


def test_json_logs_are_one_object_a_line_with_the_correlation_id() -> None:
    args = ("--workers", "2", "--log-format", "json", "--access-log")
    with nova("run", DEMO, *args, env=quiet_env(), timeout=60) as server:
        r = httpx.post(server.url + "/plain/echo", json={"a": 1}, timeout=10)
        correlation = r.headers["x-correlation-id"]
        assert httpx.get(server.url + "/heartbeat", timeout=10).status_code == 200
        wait_for(lambda: correlation in server.output() and "/heartbeat" in server.output())
        output = server.output()
    records = [json.loads(line) for line in output.splitlines()]  # every line parses
    assert all({"time", "level", "logger", "pid", "message"} <= set(r) for r in records)
    (echo,) = [r for r in records if r.get("path") == "/plain/echo"]
    assert echo["logger"] == "uvicorn.access" and echo["status"] == r.status_code
    assert echo["correlation_id"] == correlation and echo["method"] == "POST"
    (heartbeat,) = [r for r in records if r.get("path") == "/heartbeat"]
    assert "correlation_id" not in heartbeat  # no correlation plugin on that route
    banner = [r for r in records if "demo (prod, 2 workers)" in r["message"]]
    assert len(banner) == 1 and banner[0]["logger"] == "nova_cli.server"


# -- colours: NO_COLOR, FORCE_COLOR, a terminal --------------------------------


@contextlib.contextmanager
def on_a_terminal(args: list[str], port: int, env: dict[str, str]) -> Iterator[Callable[[], str]]:
    """Run `args` with stdout and stderr on a pty; yield a reader of what it wrote."""
    main, terminal = pty.openpty()
    process = subprocess.Popen(
        args,
        cwd=DEMO,
        env=env,
        stdin=subprocess.DEVNULL,
        stdout=terminal,
        stderr=terminal,
        start_new_session=True,
    )
    os.close(terminal)
    chunks: list[bytes] = []

    def read() -> None:
        with contextlib.suppress(OSError):  # EIO once the server is gone
            while data := os.read(main, 65536):
                chunks.append(data)

    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    try:
        wait_for(lambda: served(port))
        yield lambda: b"".join(chunks).decode(errors="replace")
    finally:
        stop(process)
        reader.join(10)
        os.close(main)


def served(port: int) -> bool:
    with contextlib.suppress(httpx.HTTPError):
        return httpx.get(f"http://127.0.0.1:{port}/heartbeat", timeout=1).is_success
    return False


@pytest.mark.parametrize(
    ("env", "coloured"),
    [({}, True), ({"NO_COLOR": "1"}, False), ({"NO_COLOR": "1", "FORCE_COLOR": "1"}, False)],
    ids=["terminal", "NO_COLOR", "NO_COLOR wins over FORCE_COLOR"],
)
def test_colours_on_a_terminal_follow_no_color(env: dict[str, str], coloured: bool) -> None:
    port = free_port()
    args = [sys.executable, "-m", "nova_cli.cli.main", "run", "--port", str(port), "--access-log"]
    with on_a_terminal(args, port, quiet_env(PYTHONUNBUFFERED="1", **env)) as output:
        wait_for(lambda: '"GET /heartbeat' in ANSI.sub("", output()))
        text = output()
    assert bool(ANSI.search(text)) is coloured, text
    assert "Uvicorn running on" in ANSI.sub("", text)


@pytest.mark.parametrize(
    ("env", "coloured"), [({}, False), ({"FORCE_COLOR": "1"}, True)], ids=["pipe", "FORCE_COLOR"]
)
def test_colours_off_a_terminal_only_when_forced(env: dict[str, str], coloured: bool) -> None:
    with nova("run", DEMO, "--access-log", env=quiet_env(**env)) as server:
        httpx.get(server.url + "/heartbeat", timeout=10)
        wait_for(lambda: '"GET /heartbeat' in ANSI.sub("", server.output()))
        output = server.output()
    assert bool(ANSI.search(output)) is coloured, output


# -- proxy headers ------------------------------------------------------------

WHOAMI_ROUTE = """

_original_routes = routes


def routes(environment):
    def whoami(req):
        return ("json", {"client": req.scope["client"][0], "scheme": req.scope["scheme"]})

    return _original_routes(environment) + [{"routes": [("/whoami", whoami, {})]}]
"""

FORWARDED = {"x-forwarded-for": "203.0.113.7", "x-forwarded-proto": "https"}
PROXY_CASES = {
    "run: from 127.0.0.1 by default": (("run",), {}, ("203.0.113.7", "https")),
    "run --no-proxy-headers": (("run", "--no-proxy-headers"), {}, ("127.0.0.1", "http")),
    "run --forwarded-allow-ips": (
        ("run", "--forwarded-allow-ips", "10.0.0.1,10.1.0.0/16"),
        {},
        ("127.0.0.1", "http"),
    ),
    "run NOVA_PROXY_HEADERS=0": (("run",), {"NOVA_PROXY_HEADERS": "0"}, ("127.0.0.1", "http")),
    "serve --no-proxy-headers": (("serve", "--no-proxy-headers"), {}, ("127.0.0.1", "http")),
    "serve --no-reload --forwarded-allow-ips": (
        ("serve", "--no-reload", "--forwarded-allow-ips", "10.0.0.1"),
        {},
        ("127.0.0.1", "http"),
    ),
}


@pytest.mark.parametrize("case", list(PROXY_CASES))
def test_proxy_headers_are_trusted_from_the_listed_proxies_only(demo_root: Path, case: str) -> None:
    (command, *args), env, expected = PROXY_CASES[case]
    with (demo_root / "demo" / "router.py").open("a") as router:
        router.write(WHOAMI_ROUTE)
    with nova(command, demo_root, *args, env=quiet_env(**env)) as server:
        seen = httpx.get(server.url + "/whoami", headers=FORWARDED, timeout=10).json()
    assert (seen["client"], seen["scheme"]) == expected


# -- the open-file limit --------------------------------------------------------


def test_workers_raise_their_open_file_limit_and_the_banner_says_what_it_allows(
    demo_root: Path,
) -> None:
    from nova_cli.runtime.descriptors import RESERVED

    with (demo_root / "demo" / "router.py").open("a") as router:
        router.write(PID_ROUTE)
    _soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    low = 256  # what `nova run` starts with here, well below any hard limit
    assert hard > low
    port = free_port()
    # A shell's `ulimit -Sn 256`, then `nova run`.
    start = (
        "import os, resource, sys; "
        f"resource.setrlimit(resource.RLIMIT_NOFILE, ({low}, {hard})); "
        "os.execv(sys.executable, [sys.executable, '-m', 'nova_cli.cli.main', *sys.argv[1:]])"
    )
    args = [sys.executable, "-c", start, "run", "--port", str(port), "--workers", "2"]
    with spawn(args, port=port, cwd=demo_root, env=quiet_env(NO_COLOR="1")) as server:
        for pid in worker_pids(server, 2):
            limits = Path(f"/proc/{pid}/limits").read_text()
            (line,) = [line for line in limits.splitlines() if line.startswith("Max open files")]
            assert line.split()[3:5] == [str(hard), str(hard)], line
        allowed = f"up to {hard - RESERVED:,} connections per worker"
        expected = f"nova: {allowed} (open-file limit {hard:,})"
        assert expected in server.output().splitlines(), server.output()


# -- bad settings: one line each --------------------------------------------------

BAD = {
    "NOVA_ACCESS_LOG": (
        ([], {"NOVA_ACCESS_LOG": "yes"}),
        "NOVA_ACCESS_LOG: expected true, false, 1 or 0, got 'yes'",
    ),
    "NOVA_PROXY_HEADERS": (
        ([], {"NOVA_PROXY_HEADERS": "on"}),
        "NOVA_PROXY_HEADERS: expected true, false, 1 or 0, got 'on'",
    ),
    "NOVA_LOG_LEVEL": (
        ([], {"NOVA_LOG_LEVEL": "loud"}),
        "NOVA_LOG_LEVEL: expected one of critical, error, warning, info, debug, trace, got 'loud'",
    ),
    "NOVA_LOG_FORMAT": (
        ([], {"NOVA_LOG_FORMAT": "xml"}),
        "NOVA_LOG_FORMAT: expected one of text, json, got 'xml'",
    ),
    "--forwarded-allow-ips": (
        (["--forwarded-allow-ips", "10.0.0.300"], {}),
        "setting forwarded_allow_ips: '10.0.0.300' is not an IP address or network; "
        'expected "*" or a comma-separated list such as "127.0.0.1,10.0.0.0/8"',
    ),
}


@pytest.mark.parametrize("command", ["run", "serve"])
@pytest.mark.parametrize("case", list(BAD))
def test_a_bad_log_or_proxy_setting_is_one_line(command: str, case: str) -> None:
    (args, env), message = BAD[case]
    result = subprocess.run(
        [sys.executable, "-m", "nova_cli.cli.main", command, "--port", str(free_port()), *args],
        cwd=DEMO,
        capture_output=True,
        text=True,
        timeout=60,
        env=quiet_env(NO_COLOR="1", **env),
    )
    assert (result.returncode, result.stderr) == (1, f"error: {message}\n"), result
