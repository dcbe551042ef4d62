"""Reload latency and WebSocket survival: `nova serve` against `uvicorn --reload`.

Latency is the time from the write of an edited file to the first response
that shows the change, polled every 5 ms on 127.0.0.1, over N edits (30 by
default) spaced apart as a person saves (0.6 s after the previous change was
seen).  Both servers run the same app, in the same run:

- nova:    `nova serve` on a Nova app; the edit changes a constant that the
           controller of `GET /` returns, in the module that also holds the
           WebSocket handler (so an edit reloads the handler too);
- uvicorn: `uvicorn --reload` on the Starlette equivalent (one module with the
           same `GET /` and a WebSocket endpoint); the edit changes the same
           constant.

Survival holds 100 WebSockets open (each with a per-connection counter in its
state) across N more reloads.  After every reload each socket sends a frame;
it survives if it answers every time with the new code and its own state
(`<marker>:<count>`, count going 1, 2, 3, ... on the same socket).

Targets: nova p50 <= 100 ms and <= 0.25 x uvicorn's p50; 100 of 100 sockets.

    python bench/reload.py                 # 30 edits each, 100 sockets
    python bench/reload.py --edits 10 --sockets 20 --json bench/results/reload.json
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import textwrap
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import websockets

REPO = Path(__file__).resolve().parent.parent

HANDLER = """
    MARKER = {marker}


    def init(state):
        state["count"] = 0
        return ("ok", state)


    def websocket_handle(frame, state):
        state["count"] += 1
        return ("reply", ("text", f"{{MARKER}}:{{state['count']}}"), state)
"""

NOVA_FILES = {
    "pyproject.toml": """
        [project]
        name = "benchapp"
        version = "0.0.0"

        [tool.nova]
        app = "benchapp"
    """,
    "benchapp/__init__.py": "",
    "benchapp/controller.py": """
        from benchapp import live


        def index(req):
            return ("json", {"marker": live.MARKER})
    """,
    "benchapp/router.py": """
        from benchapp import controller, live


        def routes(environment):
            return [
                {
                    "prefix": "",
                    "routes": [
                        ("/", controller.index, {"methods": ["get"]}),
                        ("/ws", live, {"protocol": "ws"}),
                    ],
                }
            ]
    """,
}

STARLETTE = """
    from starlette.applications import Starlette
    from starlette.responses import JSONResponse
    from starlette.routing import Route, WebSocketRoute

    MARKER = {marker}


    async def index(request):
        return JSONResponse({{"marker": MARKER}})


    async def ws(websocket):
        await websocket.accept()
        count = 0
        async for _ in websocket.iter_text():
            count += 1
            await websocket.send_text(f"{{MARKER}}:{{count}}")


    app = Starlette(routes=[Route("/", index), WebSocketRoute("/ws", ws)])
"""


def write(path: Path, source: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(textwrap.dedent(source).lstrip())


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class Target:
    """One server under test: how to start it and which file an edit rewrites."""

    def __init__(self, name: str, root: Path) -> None:
        self.name = name
        self.root = root
        self.port = free_port()
        if name == "nova":
            for relative, source in NOVA_FILES.items():
                write(root / relative, source)
            self.edited = root / "benchapp" / "live.py"
            self.template = HANDLER
            self.args = [sys.executable, "-m", "nova_cli.cli.main", "serve", "--no-live-reload"]
            self.args += ["--port", str(self.port)]
        else:
            self.edited = root / "app.py"
            self.template = STARLETTE
            self.args = [sys.executable, "-m", "uvicorn", "app:app", "--reload"]
            self.args += ["--port", str(self.port), "--ws-per-message-deflate", "false"]
        self.set_marker(0)

    def set_marker(self, marker: int) -> None:
        write(self.edited, self.template.format(marker=marker))

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/"

    @contextlib.contextmanager
    def running(self, log: Path) -> Iterator[None]:
        with log.open("wb") as out:
            process = subprocess.Popen(
                self.args,
                cwd=self.root,
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,
                env={**os.environ, "PYTHONUNBUFFERED": "1", "NO_COLOR": "1"},
            )
        try:
            self.wait_for(0, timeout=60)
            time.sleep(1.0)  # the watcher is in place
            yield
        finally:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGTERM)
            try:
                process.wait(20)
            except subprocess.TimeoutExpired:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(process.pid, signal.SIGKILL)
                process.wait(10)

    def wait_for(self, marker: int, timeout: float = 30.0) -> float:
        """Poll until GET / shows `marker`; return when it did (perf_counter)."""
        deadline = time.perf_counter() + timeout
        with httpx.Client(timeout=2.0) as client:
            while True:
                now = time.perf_counter()
                if now > deadline:
                    raise TimeoutError(f"{self.name} never showed marker {marker}")
                try:
                    if client.get(self.url).json()["marker"] == marker:
                        return time.perf_counter()
                except (httpx.HTTPError, ValueError, KeyError):
                    pass
                time.sleep(0.005)

    def edit(self, marker: int) -> float:
        """Rewrite the file with `marker`; return the seconds until it is served."""
        started = time.perf_counter()
        self.set_marker(marker)
        return self.wait_for(marker) - started


def latencies(target: Target, edits: int, pause: float) -> list[float]:
    found = []
    for marker in range(1, edits + 1):
        found.append(target.edit(marker))
        time.sleep(pause)
    return found


async def survival(target: Target, sockets: int, reloads: int, pause: float) -> dict[str, Any]:
    """Hold `sockets` WebSockets across `reloads` edits; count those that kept going."""
    base = 1000
    await asyncio.to_thread(target.edit, base)
    await asyncio.sleep(pause)
    url = f"ws://127.0.0.1:{target.port}/ws"
    conns = [await websockets.connect(url, open_timeout=30) for _ in range(sockets)]
    alive = [True] * sockets
    counts = [0] * sockets
    closes: dict[str, int] = {}

    async def round_trip(i: int, marker: int) -> None:
        if not alive[i]:
            return
        try:
            await conns[i].send("x")
            reply = await asyncio.wait_for(conns[i].recv(), 10)
            counts[i] += 1
            if reply != f"{marker}:{counts[i]}":
                alive[i] = False
        except (websockets.ConnectionClosed, TimeoutError, OSError) as exc:
            alive[i] = False
            code = getattr(getattr(exc, "rcvd", None), "code", None)
            closes[str(code)] = closes.get(str(code), 0) + 1

    await asyncio.gather(*(round_trip(i, base) for i in range(sockets)))
    for n in range(1, reloads + 1):
        marker = base + n
        await asyncio.to_thread(target.edit, marker)
        await asyncio.gather(*(round_trip(i, marker) for i in range(sockets)))
        await asyncio.sleep(pause)
    for conn in conns:
        with contextlib.suppress(Exception):
            await conn.close()
    return {"survived": sum(alive), "of": sockets, "close_codes": closes}


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, round(q * (len(ordered) - 1))))
    return ordered[index]


def summary(values: list[float]) -> dict[str, float]:
    ms = [v * 1000 for v in values]
    return {
        "p50_ms": round(statistics.median(ms), 1),
        "p95_ms": round(percentile(ms, 0.95), 1),
        "min_ms": round(min(ms), 1),
        "max_ms": round(max(ms), 1),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--edits", type=int, default=30)
    parser.add_argument("--sockets", type=int, default=100)
    parser.add_argument("--pause", type=float, default=0.6, help="seconds between edits")
    parser.add_argument("--json", type=Path, help="also write the results here")
    args = parser.parse_args()

    results: dict[str, Any] = {"edits": args.edits, "sockets": args.sockets}
    with tempfile.TemporaryDirectory(prefix="nova-reload-bench-") as tmp:
        for name in ("nova", "uvicorn"):
            target = Target(name, Path(tmp) / name)
            log = Path(tmp) / f"{name}.log"
            with target.running(log):
                times = latencies(target, args.edits, args.pause)
                results[name] = summary(times)
                print(f"{name:8} reload latency over {args.edits} edits: {results[name]}")
                kept = asyncio.run(survival(target, args.sockets, args.edits, args.pause))
                results[name]["websockets"] = kept
                print(
                    f"{name:8} websockets that survived {args.edits} reloads: "
                    f"{kept['survived']} of {kept['of']} (closes by code: {kept['close_codes']})"
                )
    nova, uvicorn = results["nova"], results["uvicorn"]
    ratio = nova["p50_ms"] / uvicorn["p50_ms"]
    results["ratio_p50"] = round(ratio, 3)
    checks = {
        "nova p50 <= 100 ms": nova["p50_ms"] <= 100,
        "nova p50 <= 0.25 x uvicorn p50": ratio <= 0.25,
        "all sockets survive": nova["websockets"]["survived"] == args.sockets,
    }
    results["targets"] = checks
    print(f"ratio nova/uvicorn p50: {ratio:.3f}")
    for label, ok in checks.items():
        print(f"  {'ok  ' if ok else 'MISS'} {label}")
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(results, indent=2) + "\n")


if __name__ == "__main__":
    main()
