"""Blocking work stays off the event loop: static files, sendfile, template renders.

The event loop runs in one thread; blocking calls made there stall every
request.  A call is on the loop when its thread has a running event loop,
so the spies below record that for every filesystem call under the test's
directory.  The render test needs no spy: a template that waits for another
request to be served can only finish if the loop is free to serve it.
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.runtime.conftest import Apps


def on_the_loop() -> bool:
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return False
    return True


@pytest.fixture
def fs_calls_on_loop(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[list[str]]:
    """Names of the filesystem calls on paths below tmp_path that ran on the event loop."""
    seen: list[str] = []

    def spy(name: str, real: Callable[..., Any]) -> Callable[..., Any]:
        def call(path: Any, *args: Any, **kwargs: Any) -> Any:
            if str(path).startswith(str(tmp_path)) and on_the_loop():
                seen.append(f"{name}({path})")
            return real(path, *args, **kwargs)

        return call

    for name in ("stat", "lstat"):
        monkeypatch.setattr(os, name, spy(name, getattr(os, name)))
    yield seen


FILES_APP = {
    "router.py": """
        from pathlib import Path

        HERE = Path(__file__).resolve().parent

        def sendfile(req):
            return ("sendfile", 200, {}, (0, 5, str(HERE / "static" / "a.txt")), "text/plain")

        def routes(environment):
            return [{"routes": [
                ("/static/[...]", "static"),
                ("/one", "static/a.txt"),
                ("/sendfile", sendfile),
            ]}]
    """,
    "static/a.txt": "hello static",
    "static/docs/index.html": "<p>docs</p>",
}


async def test_static_files_and_sendfile_touch_the_disk_off_the_loop(
    apps: Apps, fs_calls_on_loop: list[str]
) -> None:
    app = apps.app(apps.write(FILES_APP, package="filesapp"))
    fs_calls_on_loop.clear()  # building the app, at start-up, may read the disk
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://nova") as client:
        assert (await client.get("/static/a.txt")).text == "hello static"
        assert (await client.get("/static/docs")).text == "<p>docs</p>"
        assert (await client.get("/static/nope.txt")).status_code == 404
        assert (await client.get("/one")).text == "hello static"
        assert (await client.get("/sendfile")).text == "hello"
    assert fs_calls_on_loop == []


VIEWS_APP = {
    "router.py": """
        import threading

        from viewsapp import controller

        def routes(environment):
            return [{"routes": [
                ("/slow", controller.slow),
                ("/where_sync", controller.where_sync),
                ("/where_async", controller.where_async),
                ("/heartbeat", controller.heartbeat),
            ]}]
    """,
    "controller.py": """
        import asyncio
        import threading

        entered = threading.Event()
        served = threading.Event()

        def wait_for_heartbeat():
            # Blocks like a slow template function would, until /heartbeat was served.
            entered.set()
            return "served" if served.wait(5) else "never served"

        def on_the_loop():
            try:
                asyncio.get_running_loop()
            except RuntimeError:
                return "thread pool"
            return "event loop"

        def slow(req):
            return ("ok", {"wait": wait_for_heartbeat}, {"view": "slow"})

        def where_sync(req):
            return ("ok", {"where": on_the_loop}, {"view": "where"})

        async def where_async(req):
            return ("ok", {"where": on_the_loop}, {"view": "where"})

        async def heartbeat(req):
            served.set()
            return ("status", 200)
    """,
    "views/slow.html": "{{ wait() }}",
    "views/where.html": "{{ where() }}",
}


async def test_a_blocking_render_does_not_stall_other_requests(apps: Apps) -> None:
    app = apps.app(apps.write(VIEWS_APP, package="viewsapp"))
    transport = httpx.ASGITransport(app=app)
    from viewsapp import controller  # type: ignore[import-not-found]

    async with httpx.AsyncClient(transport=transport, base_url="http://nova") as client:
        slow = asyncio.ensure_future(client.get("/slow"))
        # Once the template is blocked in wait_for_heartbeat, it can only finish
        # if the loop, which it must not block, serves the heartbeat.
        while not controller.entered.is_set() and not slow.done():
            await asyncio.sleep(0.01)
        if not slow.done():
            assert (await client.get("/heartbeat")).status_code == 200
        assert (await slow).text == "served"


async def test_a_view_renders_where_its_controller_ran(apps: Apps) -> None:
    app = apps.app(apps.write(VIEWS_APP, package="viewsapp"))
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://nova") as client:
        assert (await client.get("/where_sync")).text == "thread pool"
        assert (await client.get("/where_async")).text == "event loop"


def test_templates_are_re_read_only_in_dev(apps: Apps) -> None:
    root = apps.write(VIEWS_APP, package="viewsapp")
    dev = apps.app(root, environment="dev").router.table.views  # type: ignore[attr-defined]
    prod = apps.app(root, environment="prod").router.table.views  # type: ignore[attr-defined]
    assert (dev.env.auto_reload, prod.env.auto_reload) == (True, False)
