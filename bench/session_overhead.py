"""Session overhead: a route that reads the session against the same route without one.

One Nova app (prod environment, memory sessions unless `--redis URL`), two
`async def` controllers answering `("json", {...})`:

- plain:   no session, requests without a cookie;
- session: `session.get(req, "user")`, requests carrying a live session's cookie
           (loaded before the controller; read-only, so nothing is saved).

Both are called in-process as ASGI apps, no server and no client, in
alternating rounds; the script prints the CPU microseconds per request of
each (best round) and the ratio session/plain (target with memory: <= 1.10).

    python bench/session_overhead.py
    python bench/session_overhead.py --number 20000 --rounds 7
    python bench/session_overhead.py --redis redis://127.0.0.1:6379/0
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import tempfile
import textwrap
import time
from pathlib import Path
from typing import Any

ROUTER = """
from nova_cli import session


async def plain(req):
    return ("json", {"user": None})


async def reads(req):
    return ("json", {"user": session.get(req, "user")})


async def login(req):
    session.set(req, "user", "alice")
    return ("json", {"user": "alice"})


def routes(environment):
    get = {"methods": ["get"]}
    return [{"routes": [("/plain", plain, get), ("/session", reads, get), ("/login", login, get)]}]
"""


def make_app(folder: Path, redis: str | None) -> Any:
    (folder / "sessbench").mkdir()
    (folder / "sessbench" / "__init__.py").write_text("")
    (folder / "sessbench" / "router.py").write_text(textwrap.dedent(ROUTER).lstrip())
    (folder / "pyproject.toml").write_text('[tool.nova]\napp = "sessbench"\n')
    sys.path.insert(0, str(folder))
    from nova_cli.runtime import create_app

    settings: dict[str, Any] = {"environment": "prod"}
    if redis:
        settings["pubsub"] = redis
    return create_app(root=folder, **settings)


def scope(path: str, cookie: bytes | None) -> dict[str, Any]:
    headers = [(b"host", b"bench"), (b"user-agent", b"bench")]
    if cookie is not None:
        headers.append((b"cookie", cookie))
    return {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "GET",
        "scheme": "http",
        "path": path,
        "raw_path": path.encode(),
        "root_path": "",
        "query_string": b"",
        "headers": headers,
        "server": ("127.0.0.1", 8000),
        "client": ("127.0.0.1", 50000),
    }


async def bench(app: Any, number: int, rounds: int) -> tuple[float, float]:
    sent: list[Any] = []

    async def receive() -> dict[str, Any]:
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message: Any) -> None:
        sent.append(message)

    async def call(request: dict[str, Any]) -> None:
        sent.clear()
        await app(dict(request), receive, send)

    router = app.router
    await router.sessions.start()
    await call(scope("/login", None))
    start = sent[0]
    cookie = dict(start["headers"])[b"set-cookie"].split(b";")[0]
    requests = {"plain": scope("/plain", None), "session": scope("/session", cookie)}
    await call(requests["session"])
    if sent[1]["body"] != b'{"user":"alice"}' or any(
        k == b"set-cookie" for k, _ in sent[0]["headers"]
    ):
        raise SystemExit(f"the session route answered {sent!r}")

    async def measure(request: dict[str, Any]) -> float:
        for _ in range(500):
            await call(request)
        started = time.process_time()
        for _ in range(number):
            await call(request)
        return (time.process_time() - started) / number * 1e6

    best = {"plain": float("inf"), "session": float("inf")}
    for n in range(rounds):
        for name, request in requests.items():
            cost = await measure(request)
            best[name] = min(best[name], cost)
            print(f"round {n + 1}: {name:8} {cost:7.1f} us/request")
    await router.sessions.stop()
    return best["plain"], best["session"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--number", type=int, default=10000, help="requests per round and route")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--redis", help="a Redis URL: sessions (and pub/sub) there")
    opts = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="nova-session-bench-") as folder:
        app = make_app(Path(folder), opts.redis)
        try:
            import uvloop

            plain, session = uvloop.run(bench(app, opts.number, opts.rounds))
        except ImportError:
            plain, session = asyncio.run(bench(app, opts.number, opts.rounds))
    backend = "redis" if opts.redis else "memory"
    print(f"plain:   {plain:.1f} us CPU per request")
    print(f"session: {session:.1f} us CPU per request ({backend}, one read)")
    print(f"ratio session/plain: {session / plain:.3f} (target with memory: <= 1.10)")


if __name__ == "__main__":
    main()
