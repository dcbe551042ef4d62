"""The dev server's worker process: the app, its reloader, uvicorn on the supervisor's socket.

The supervisor starts this module in a fresh interpreter with two inherited
sockets: the listening socket it bound once, and a control channel (JSON
lines) on which it sends changes (`changes`), a problem to show (`problem`,
a restart that failed) and `stop`; the worker answers `ready` once uvicorn
accepts connections, and `restart` when, in `--reload-mode restart`, a code
change calls for a new process.

Everything that touches the app runs on the event loop's thread, so a
reload happens between two callbacks, never in the middle of one.
"""

from __future__ import annotations

import asyncio
import json
import logging
import socket
import sys
import traceback
from dataclasses import replace
from pathlib import Path
from typing import Any

from nova_cli.core.closecodes import GOING_AWAY, SERVICE_RESTART
from nova_cli.devserver.apidocs import ApiDocs
from nova_cli.devserver.console import relative, say
from nova_cli.devserver.docs import Docs
from nova_cli.devserver.livereload import LiveReload, LiveReloadHub, QuietStream, problem_event
from nova_cli.devserver.overlay import ErrorOverlay
from nova_cli.devserver.problems import Problem, problem_from_exception, terminal_report
from nova_cli.devserver.reloader import Reloader
from nova_cli.devserver.watcher import WatchScope
from nova_cli.runtime.parentdeath import exit_with_parent

ACCEPT_DRAIN_SECONDS = 0.2


class DevWorker:
    """One worker: builds the app (or records why it cannot) and serves it."""

    def __init__(self, spec: dict[str, Any]) -> None:
        self.root = Path(spec["root"])
        self.overrides: dict[str, Any] = spec.get("overrides", {})
        self.live_reload: bool = spec.get("live_reload", True)
        self.mode: str = spec.get("mode", "auto")
        self.grace: float = float(spec.get("grace", 1.0))
        self.hub = LiveReloadHub(spec.get("boot", "0"))
        self.problem: Problem | None = None
        self.config: Any = None
        self.app: Any = None
        self.reloader: Reloader | None = None
        self.server: Any = None
        self._writer: asyncio.StreamWriter | None = None
        self._changes: asyncio.Queue[dict[str, Any]] = asyncio.Queue()

    # -- building -------------------------------------------------------
    def build(self) -> None:
        from nova_cli.core.config import load_config
        from nova_cli.runtime.app import create_app
        from nova_cli.runtime.route_table import build_table

        scope = WatchScope(self.root)
        try:
            self.config = load_config(
                self.root, default_environment="dev", default_access_log=True, **self.overrides
            )
            self.app = create_app(config=self.config)
        except Exception as exc:
            self.problem = problem_from_exception(
                exc,
                self.root,
                is_project_file=scope.is_project_file,
                fallback=(self.root / "pyproject.toml", None),
            )
            print(terminal_report(self.problem, what="the app did not load"), flush=True)
            return
        router = self.app.router
        config = self.config
        self.reloader = Reloader(
            router,
            lambda: build_table(config),
            root=self.root,
            app_dir=router.table.app_dir,
            is_project_file=scope.is_project_file,
        )

    def asgi(self) -> Any:
        app: Any = ErrorOverlay(self.app, lambda: self.problem)
        if self.live_reload:
            app = LiveReload(app, self.hub)
        app = ApiDocs(app, self.served_table)
        # Outside the overlay: the docs answer while the app's code is broken.
        return Docs(app)

    def served_table(self) -> Any:
        """The route table being served; None while the app's code does not load."""
        if self.app is None or self.problem is not None:
            return None
        return self.app.router.table

    # -- serving --------------------------------------------------------
    async def serve(self, listen: socket.socket, control: socket.socket) -> None:
        from nova_cli.core.config import NovaConfig
        from nova_cli.runtime.server import uvicorn_config

        settings = self.config or NovaConfig(root=self.root)
        config = uvicorn_config(settings, self.asgi(), timeout_graceful_shutdown=self.grace)
        logging.getLogger("uvicorn.access").addFilter(QuietStream())  # configured just above
        self.server = server = _dev_server_class()(config)
        reader, self._writer = await asyncio.open_connection(sock=control)
        tasks = [
            asyncio.ensure_future(self._control(reader)),
            asyncio.ensure_future(self._reload_loop()),
            asyncio.ensure_future(self._announce()),
        ]
        try:
            await server.serve(sockets=[listen])
        finally:
            for task in tasks:
                task.cancel()

    async def _announce(self) -> None:
        while not self.server.started:
            if self.server.should_exit:
                return
            await asyncio.sleep(0.01)
        problem = self.problem.to_dict() if self.problem else None
        await self._tell({"op": "ready", "ok": self.app is not None, "problem": problem})

    async def _tell(self, message: dict[str, Any]) -> None:
        if self._writer is None:
            return
        try:
            self._writer.write((json.dumps(message) + "\n").encode())
            await self._writer.drain()
        except (OSError, RuntimeError):
            pass

    async def _control(self, reader: asyncio.StreamReader) -> None:
        while True:
            line = await reader.readline()
            if not line:  # the supervisor is gone, and no worker will follow
                self.stop(GOING_AWAY)
                return
            message = json.loads(line)
            self.dispatch(message)
            if message.get("op") == "stop":
                await self._tell({"op": "closed"})

    def dispatch(self, message: dict[str, Any]) -> None:
        """Act on one message from the supervisor."""
        op = message.get("op")
        if op == "changes":
            self._changes.put_nowait(message)
        elif op == "problem":
            self.show_problem(Problem.from_dict(message["problem"]))
        elif op == "stop":
            self.stop(int(message.get("code", SERVICE_RESTART)))

    def stop(self, code: int) -> None:
        for listener in getattr(self.server, "servers", []):
            listener.close()  # stop accepting now: the next worker takes over
        self.server.close_code = code
        self.hub.close()
        self.server.should_exit = True

    def show_problem(self, problem: Problem) -> None:
        self.problem = problem
        self.hub.publish("broken", problem_event(problem))

    # -- reloading ------------------------------------------------------
    async def _reload_loop(self) -> None:
        while True:
            message = await self._changes.get()
            code, css, assets = set(message["code"]), set(message["css"]), set(message["assets"])
            while not self._changes.empty():  # saves that came in meanwhile: one reload
                more = self._changes.get_nowait()
                code.update(more["code"])
                css.update(more["css"])
                assets.update(more["assets"])
            paths = [Path(p) for p in code]
            try:
                await self.apply(paths, bool(css), bool(assets))
            except Exception as exc:
                # Not a failure the reloader knows how to report (that is an Outcome): a
                # limit or a bug of its own.  Unreported, it would end hot reload for the
                # rest of the session without a word.
                self.report_crash(exc, paths)

    def report_crash(self, exc: Exception, paths: list[Path]) -> None:
        """Report an exception that escaped a reload: terminal (all of it) and overlay."""
        names = ", ".join(sorted(relative(p, self.root) for p in paths)) or "a change"
        fallback = (paths[0], None) if len(paths) == 1 else None
        in_project = WatchScope(self.root).is_project_file
        problem = problem_from_exception(
            exc, self.root, is_project_file=in_project, fallback=fallback
        )
        full = "".join(traceback.format_exception(exc))
        print(
            terminal_report(replace(problem, traceback=full), what="reload failed unexpectedly"),
            flush=True,
        )
        say(f"hot reload goes on: the next change retries {names}")
        self.show_problem(problem)

    async def apply(self, code: list[Path], css: bool, assets: bool) -> None:
        reloaded = False
        if code and self.reloader is not None:
            if self.mode == "restart":
                if self.reloader.is_code(code):
                    names = ", ".join(sorted(relative(p, self.root) for p in code))
                    await self._tell({"op": "restart", "reason": f"{names} changed"})
                return
            outcome = self.reloader.apply(code)
            if outcome.status == "ok":
                self.problem = None
                say(outcome.summary())
                reloaded = True
            elif outcome.status == "failed" and outcome.problem is not None:
                print(terminal_report(outcome.problem), flush=True)
                say("still serving the last good code; save a fix to retry")
                self.show_problem(outcome.problem)
                return
        if reloaded or assets:
            self.hub.publish("reload")
        elif css:
            self.hub.publish("css")


def _read_line(control: socket.socket) -> dict[str, Any]:
    """One control message, read before the event loop runs (byte by byte, so
    that nothing after the newline is taken from the stream reader later)."""
    data = b""
    while not data.endswith(b"\n"):
        chunk = control.recv(1)
        if not chunk:
            return {}
        data += chunk
    return dict(json.loads(data))


def _dev_server_class() -> type:
    from nova_cli.runtime.server import NovaServer

    class DevServer(NovaServer):
        """NovaServer that lets just-accepted connections be served before it closes them.

        The listening socket is shared with the next worker: a connection this
        worker accepted a moment before it stopped accepting would otherwise be
        closed before its request is read, and the client would see a reset.
        """

        async def shutdown(self, sockets: list[socket.socket] | None = None) -> None:
            for server in self.servers:
                server.close()
            await asyncio.sleep(ACCEPT_DRAIN_SECONDS)
            await super().shutdown(sockets)

    return DevServer


def main() -> None:
    """Entry point: `python -c 'from nova_cli.devserver.worker import main; main()' JSON`.

    JSON is the worker's settings, as the supervisor writes them.
    """
    spec = json.loads(sys.argv[1])
    # The control channel tells a serving worker that the supervisor died; this
    # covers the time before it serves (an app whose import never returns).
    exit_with_parent(int(spec["supervisor_pid"]))
    listen = socket.socket(fileno=int(spec["listen_fd"]))
    control = socket.socket(fileno=int(spec["control_fd"]))
    worker = DevWorker(spec)
    worker.build()
    if spec.get("standby"):
        # A restart's new worker: say whether the app loaded, then wait for the
        # old worker to stop accepting.  One that cannot load never takes a
        # connection; the old worker goes on serving the last good code.
        problem = worker.problem.to_dict() if worker.problem else None
        message = {"op": "loaded", "ok": worker.app is not None, "problem": problem}
        control.sendall((json.dumps(message) + "\n").encode())
        if worker.app is None:
            return
        while (message := _read_line(control)).get("op") != "serve":
            if message.get("op") in (None, "stop"):
                return
            worker.dispatch(message)  # changes made meanwhile: applied once serving
    try:
        import uvicorn

        loop_factory = uvicorn.Config(app="nova_cli:__name__").get_loop_factory()
    except (AttributeError, ImportError):
        loop_factory = None
    with asyncio.Runner(loop_factory=loop_factory) as runner:
        runner.run(worker.serve(listen, control))
