"""Browser live reload: a script in every HTML page, and the endpoint it listens to.

`LiveReload` is ASGI middleware used only by `nova serve`.  It adds a small
script to `text/html` responses; the script opens an EventSource on
`/__nova/livereload` and

- reloads the page on `reload` (a template, script or Python change is live),
- swaps every stylesheet's URL on `css`, without reloading,
- shows an overlay on `broken` (a reload failed; the page reloads once fixed),
- reloads when it reconnects to a new worker (`hello` with another boot id),
  which is how a worker restart reaches open pages.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import re
from typing import Any

from starlette.types import ASGIApp, Message, Receive, Scope, Send

ENDPOINT = "/__nova/livereload"
KEEPALIVE_SECONDS = 15.0

SCRIPT = """<script data-nova-live-reload>(function () {
  if (window.__novaLiveReload || !window.EventSource) return;
  window.__novaLiveReload = true;
  var boot = null, root = document.documentElement;
  var source = new EventSource("__ENDPOINT__");
  function on(name, handle) {
    source.addEventListener(name, function (e) { handle(e); root.dataset.novaLiveReload = name; });
  }
  on("hello", function (e) {
    if (boot !== null && boot !== e.data) { location.reload(); return; }
    boot = e.data;
  });
  on("reload", function () { location.reload(); });
  on("css", function () {
    var links = document.querySelectorAll('link[rel~="stylesheet"]');
    for (var i = 0; i < links.length; i++) {
      var url = new URL(links[i].href, location.href);
      url.searchParams.set("nova_lr", String(Date.now()));
      links[i].href = url.toString();
    }
  });
  on("broken", function (e) {
    var p = JSON.parse(e.data), body = document.body || root;
    // An error page is never covered: the failed reload's own page already shows
    // this problem, and any other (a crash's 500, a 404) reloads into that page.
    var shown = body.getAttribute("data-nova-problem");
    if (shown === p.headline) return;
    if (shown !== null || body.hasAttribute("data-nova-error")) { location.reload(); return; }
    var box = document.getElementById("nova-error-overlay");
    if (!box) {
      box = document.createElement("div");
      box.id = "nova-error-overlay";
      body.appendChild(box);
    }
    // Every style inline and opaque: the page's own CSS must not reach the overlay.
    box.style.cssText = "position:fixed;inset:0;z-index:2147483647;overflow:auto;margin:0;" +
      "background:#1e1e1e;color:#eeeeee;font:14px/1.5 monospace;padding:2rem;text-align:left";
    box.textContent = "";
    var parts = [
      ["h2", "Reload failed: " + p.headline, "color:#ff8a80;font:bold 1.2rem/1.4 monospace"],
      ["pre", p.traceback, "white-space:pre-wrap;font:inherit;overflow:auto"],
      ["p", "Still serving the last good code; this page reloads once it is fixed.", "color:#bbb"]
    ];
    for (var i = 0; i < parts.length; i++) {
      var part = document.createElement(parts[i][0]);
      part.style.cssText = "margin:0 0 1rem;padding:0;border:0;background:transparent;" +
        "color:inherit;" + parts[i][2];
      part.textContent = parts[i][1];
      box.appendChild(part);
    }
  });
})();</script>""".replace("__ENDPOINT__", ENDPOINT)

_BODY_END = re.compile(rb"</body\s*>", re.IGNORECASE)
_HTML_END = re.compile(rb"</html\s*>", re.IGNORECASE)


class QuietStream(logging.Filter):
    """Keeps the live-reload stream out of the access log.

    Each open page holds one, and opens it again after every reload: a line
    for each would drown the requests the developer made.
    """

    def filter(self, record: logging.LogRecord) -> bool:
        args = record.args
        # uvicorn's access record: (client, method, path with query, http version, status)
        if isinstance(args, tuple) and len(args) == 5:
            return str(args[2]).split("?")[0] != ENDPOINT
        return True


class LiveReloadHub:
    """The open live-reload streams of this worker and what to tell them."""

    def __init__(self, boot_id: str) -> None:
        self.boot_id = boot_id
        self._clients: set[asyncio.Queue[tuple[str, str] | None]] = set()
        self.last_problem: str | None = None  # JSON of the current `broken` event

    @property
    def clients(self) -> int:
        return len(self._clients)

    def publish(self, event: str, data: str = "") -> None:
        """Send `event` to every open page (call on the event loop)."""
        if event == "broken":
            self.last_problem = data
        elif event == "reload":
            self.last_problem = None
        for queue in list(self._clients):
            queue.put_nowait((event, data))

    def close(self) -> None:
        """End every stream: the worker is stopping (pages reconnect to the next one)."""
        for queue in list(self._clients):
            queue.put_nowait(None)

    async def stream(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Serve one EventSource connection until the client or the worker goes away."""
        queue: asyncio.Queue[tuple[str, str] | None] = asyncio.Queue()
        self._clients.add(queue)
        try:
            await send(
                {
                    "type": "http.response.start",
                    "status": 200,
                    "headers": [
                        (b"content-type", b"text/event-stream; charset=utf-8"),
                        (b"cache-control", b"no-store"),
                        (b"x-accel-buffering", b"no"),
                    ],
                }
            )
            hello = f"retry: 300\nevent: hello\ndata: {self.boot_id}\n\n"
            if self.last_problem is not None:
                hello += _event("broken", self.last_problem)
            await _send_text(send, hello)
            gone = asyncio.ensure_future(_wait_disconnect(receive))
            try:
                while True:
                    getter = asyncio.ensure_future(queue.get())
                    done, _ = await asyncio.wait(
                        {getter, gone},
                        timeout=KEEPALIVE_SECONDS,
                        return_when=asyncio.FIRST_COMPLETED,
                    )
                    if gone in done:
                        getter.cancel()
                        return
                    if getter not in done:
                        getter.cancel()
                        await _send_text(send, ": keep-alive\n\n")
                        continue
                    item = getter.result()
                    if item is None:
                        break
                    await _send_text(send, _event(*item))
            finally:
                gone.cancel()
            with contextlib.suppress(OSError):
                await send({"type": "http.response.body", "body": b"", "more_body": False})
        except OSError:
            return  # the client went away mid-write
        finally:
            self._clients.discard(queue)


def _event(name: str, data: str) -> str:
    lines = "".join(f"data: {line}\n" for line in (data.splitlines() or [""]))
    return f"event: {name}\n{lines}\n"


async def _send_text(send: Send, text: str) -> None:
    await send({"type": "http.response.body", "body": text.encode(), "more_body": True})


async def _wait_disconnect(receive: Receive) -> None:
    while (await receive())["type"] != "http.disconnect":
        pass


class LiveReload:
    """ASGI middleware: the live-reload endpoint, and the script in HTML responses."""

    def __init__(self, app: ASGIApp, hub: LiveReloadHub) -> None:
        self.app = app
        self.hub = hub

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        if scope["path"] == ENDPOINT:
            await self.hub.stream(scope, receive, send)
            return
        if scope["method"] == "HEAD":  # no body to add to; keep its content-length
            await self.app(scope, receive, send)
            return
        await self.app(scope, receive, _Injector(send))


class _Injector:
    """Wraps `send`: buffers an HTML response's body and adds the script to it."""

    def __init__(self, send: Send) -> None:
        self.send = send
        self.start: Message | None = None
        self.chunks: list[bytes] = []
        self.passthrough = True

    async def __call__(self, message: Message) -> None:
        kind = message["type"]
        if kind == "http.response.start":
            headers = {k.lower(): v for k, v in message.get("headers", [])}
            html = headers.get(b"content-type", b"").split(b";")[0].strip() == b"text/html"
            if html and b"content-encoding" not in headers:
                self.passthrough = False
                self.start = message
                return
            await self.send(message)
            return
        if self.passthrough or kind != "http.response.body":
            await self._flush()
            await self.send(message)
            return
        self.chunks.append(message.get("body", b""))
        if not message.get("more_body", False):
            await self.send_injected()

    async def send_injected(self) -> None:
        assert self.start is not None
        body = inject(b"".join(self.chunks))
        headers = [
            (k, v) for k, v in self.start.get("headers", []) if k.lower() != b"content-length"
        ]
        headers.append((b"content-length", str(len(body)).encode()))
        await self.send({**self.start, "headers": headers})
        await self.send({"type": "http.response.body", "body": body, "more_body": False})
        self.start, self.chunks, self.passthrough = None, [], True

    async def _flush(self) -> None:
        # A message other than the body arrived mid-buffer: give up injecting.
        if self.start is not None:
            await self.send(self.start)
            if self.chunks:
                body = b"".join(self.chunks)
                await self.send({"type": "http.response.body", "body": body, "more_body": True})
            self.start, self.chunks, self.passthrough = None, [], True


def inject(body: bytes, script: str = SCRIPT) -> bytes:
    """`body` with the live-reload script before `</body>` (or at the end)."""
    tag = script.encode()
    for pattern in (_BODY_END, _HTML_END):
        found = list(pattern.finditer(body))
        if found:
            at = found[-1].start()
            return body[:at] + tag + body[at:]
    return body + tag


def problem_event(problem: Any) -> str:
    """The JSON payload of a `broken` event."""
    return json.dumps({"headline": problem.headline(), "traceback": problem.traceback})
