"""The live-reload middleware: the script in HTML pages, the event stream."""

from __future__ import annotations

import asyncio
import gzip
from typing import Any

import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, Response, StreamingResponse
from starlette.routing import Route
from starlette.testclient import TestClient

from nova_cli.devserver.livereload import ENDPOINT, SCRIPT, LiveReload, LiveReloadHub, inject

PAGE = "<!doctype html><html><body><h1>Hi</h1></body></html>"


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        (b"<html><body>x</body></html>", b"<html><body>x" + SCRIPT.encode() + b"</body></html>"),
        (b"<BODY>a</body><p></BODY >", b"<BODY>a</body><p>" + SCRIPT.encode() + b"</BODY >"),
        (b"<html>no body</html>", b"<html>no body" + SCRIPT.encode() + b"</html>"),
        (b"<p>fragment</p>", b"<p>fragment</p>" + SCRIPT.encode()),
    ],
)
def test_inject_puts_the_script_before_the_last_body_end(body: bytes, expected: bytes) -> None:
    assert inject(body) == expected


def app() -> LiveReload:
    async def page(request: Request) -> Response:
        return HTMLResponse(PAGE)

    async def data(request: Request) -> Response:
        return JSONResponse({"html": "</body>"})

    async def chunks(request: Request) -> Response:
        async def parts() -> Any:
            for part in ("<html><body>", "streamed", "</body></html>"):
                yield part

        return StreamingResponse(parts(), media_type="text/html")

    async def zipped(request: Request) -> Response:
        return Response(
            gzip.compress(PAGE.encode()),
            headers={"content-encoding": "gzip"},
            media_type="text/html",
        )

    routes = [
        Route("/", page, methods=["GET", "HEAD"]),
        Route("/data", data),
        Route("/chunks", chunks),
        Route("/zipped", zipped),
    ]
    return LiveReload(Starlette(routes=routes), LiveReloadHub("boot1"))


def test_html_responses_get_the_script_once_with_a_right_length() -> None:
    with TestClient(app()) as client:
        r = client.get("/")
        assert r.text == PAGE.replace("</body>", SCRIPT + "</body>")
        assert int(r.headers["content-length"]) == len(r.content)
        streamed = client.get("/chunks").text
        assert streamed == "<html><body>streamed" + SCRIPT + "</body></html>"


def test_other_responses_pass_untouched() -> None:
    with TestClient(app()) as client:
        assert client.get("/data").json() == {"html": "</body>"}
        head = client.head("/")
        assert head.content == b"" and int(head.headers["content-length"]) == len(PAGE)
        zipped = client.get("/zipped")  # httpx decodes it: the page as the app sent it
        assert zipped.text == PAGE


class Stream:
    """Drives hub.stream as a server would, recording what it sends."""

    def __init__(self, hub: LiveReloadHub) -> None:
        self.hub = hub
        self.sent: list[dict[str, Any]] = []
        self.incoming: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
        self.incoming.put_nowait({"type": "http.request", "body": b"", "more_body": False})
        self.task: asyncio.Task[None] | None = None

    async def receive(self) -> dict[str, Any]:
        return await self.incoming.get()

    async def send(self, message: dict[str, Any]) -> None:
        self.sent.append(message)

    def start(self) -> None:
        scope = {"type": "http", "method": "GET", "path": ENDPOINT, "headers": []}
        self.task = asyncio.ensure_future(self.hub.stream(scope, self.receive, self.send))

    @property
    def text(self) -> str:
        return b"".join(m.get("body", b"") for m in self.sent[1:]).decode()

    async def until(self, text: str) -> None:
        for _ in range(200):
            if text in self.text:
                return
            await asyncio.sleep(0.01)
        raise AssertionError(f"{text!r} not in {self.text!r}")


async def test_the_stream_says_hello_then_relays_events_until_closed() -> None:
    hub = LiveReloadHub("boot1")
    stream = Stream(hub)
    stream.start()
    await stream.until("event: hello\ndata: boot1\n\n")
    assert stream.sent[0]["status"] == 200
    assert (b"content-type", b"text/event-stream; charset=utf-8") in stream.sent[0]["headers"]
    assert stream.text.startswith("retry: 300\n")
    assert hub.clients == 1

    hub.publish("css")
    await stream.until("event: css\ndata: \n\n")
    hub.publish("broken", '{"headline": "x"}')
    await stream.until('event: broken\ndata: {"headline": "x"}\n\n')

    hub.close()  # the worker stops: the page reconnects to the next one
    assert stream.task is not None
    await asyncio.wait_for(stream.task, 5)
    assert stream.sent[-1] == {"type": "http.response.body", "body": b"", "more_body": False}
    assert hub.clients == 0


async def test_a_page_that_connects_while_broken_hears_it_and_a_client_can_leave() -> None:
    hub = LiveReloadHub("boot2")
    hub.publish("broken", '{"headline": "y"}')
    stream = Stream(hub)
    stream.start()
    await stream.until('event: broken\ndata: {"headline": "y"}')
    stream.incoming.put_nowait({"type": "http.disconnect"})
    assert stream.task is not None
    await asyncio.wait_for(stream.task, 5)
    assert hub.clients == 0
    hub.publish("reload")  # fixed: later pages are not told about the old problem
    assert hub.last_problem is None
