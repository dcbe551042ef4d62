"""The dev server's parent process: holds the socket, watches files, runs the worker.

The supervisor binds the listening socket once and hands it to each worker
process, so a worker restart never refuses a connection: clients queue in
the backlog for a moment instead.  It never imports the app.

Changes from the watcher go three ways:

- Python files: to the worker, which reloads them in place (or, with
  `--reload-mode restart`, asks for a restart);
- templates, stylesheets and other assets: to the worker, for live reload
  only (they are read fresh on every request anyway);
- `pyproject.toml`, `.env`, lock files and requirements: a new worker.

A restart is blue/green: the new worker starts on the same socket while
the old one serves; once the new one is ready the old one is stopped with
a bounded shutdown (WebSockets closed with 1012, then SIGTERM, then
SIGKILL).  If the new worker cannot load the app, it is stopped instead,
the old one shows the error, and the next change tries again.
"""

from __future__ import annotations

import json
import os
import queue
import signal
import socket
import subprocess
import sys
import threading
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from nova_cli.core.closecodes import GOING_AWAY, SERVICE_RESTART
from nova_cli.devserver.console import relative, say
from nova_cli.devserver.problems import Problem
from nova_cli.devserver.watcher import ASSET, CODE, CSS, RESTART, Batch, Watcher, WatchScope

# A change is applied at once, unless it follows another within BURST_WINDOW:
# then it waits until QUIET passes without one, so a burst (a formatter, a
# branch switch, fifty saves in a second) costs one reload, not fifty.
# watchfiles alone cannot do this: it ends a batch as soon as a step brings
# no *new* path, and repeated saves of one file are the same path.
BURST_WINDOW = 0.3
QUIET = 0.15
HANDOVER_SECONDS = 2.0  # how long a new worker waits for the old one to stop accepting


@dataclass(frozen=True)
class DevOptions:
    """How `nova serve` reloads."""

    live_reload: bool = True
    reload_mode: str = "auto"  # "auto": in place when possible; "restart": always a new worker
    grace: float = 1.0  # seconds a stopping worker gets for open connections
    overrides: dict[str, Any] = field(default_factory=dict)  # CLI settings, for each worker


@dataclass(eq=False)
class WorkerHandle:
    """A worker process and its control channel."""

    process: subprocess.Popen[bytes]
    control: socket.socket
    started: float
    ready: bool = False
    ok: bool = False
    stopping: bool = False
    lock: threading.Lock = field(default_factory=threading.Lock)

    @property
    def pid(self) -> int:
        return self.process.pid

    def send(self, message: dict[str, Any]) -> None:
        data = (json.dumps(message) + "\n").encode()
        with self.lock:
            try:
                self.control.sendall(data)
            except OSError:
                pass  # it exited; the reader thread reports that


class ListenError(Exception):
    """The listening socket could not be made: the address and the system's reason."""


def bind(host: str, port: int) -> socket.socket:
    """The listening socket, bound and listening before any worker exists."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = None
    try:
        sock = socket.socket(family, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((host, port))
        sock.listen(2048)
    except OSError as exc:
        if sock is not None:
            sock.close()
        raise ListenError(f"cannot listen on {host}:{port}: {exc.strerror or exc}") from None
    sock.set_inheritable(True)
    return sock


class Supervisor:
    """Runs `nova serve`: socket, watcher, worker lifecycle; returns when stopped."""

    def __init__(self, config: Any, options: DevOptions, app_dir: Path) -> None:
        self.config = config
        self.options = options
        self.root = Path(config.root).resolve()
        self.app_dir = app_dir
        self.events: queue.Queue[tuple[Any, ...]] = queue.Queue()
        self.current: WorkerHandle | None = None
        self.next: WorkerHandle | None = None  # a restart in progress
        self.restart_pending = False  # the last restart failed, or the app never loaded
        self._stop = threading.Event()
        self._stoppers: list[threading.Thread] = []
        self.listen: socket.socket | None = None
        self.watcher: Watcher | None = None
        self._held: Batch | None = None  # changes of a burst, waiting for quiet
        self._release_at = 0.0
        self._last_batch = float("-inf")
        # (old, new, deadline): the new worker serves once the old one stopped accepting.
        self._handover: tuple[WorkerHandle, WorkerHandle, float] | None = None

    # -- running --------------------------------------------------------
    def run(self) -> None:
        self.listen = bind(self.config.host, self.config.port)
        scope = WatchScope(self.root, self.app_dir)
        self.watcher = Watcher(scope, lambda batch: self.events.put(("batch", batch)))
        previous = {
            sig: signal.signal(sig, self._on_signal) for sig in (signal.SIGINT, signal.SIGTERM)
        }
        try:
            self._banner(scope)
            self.watcher.start()
            self.current = self._spawn()
            while not self._stop.is_set():
                timeout = 0.25
                if self._held is not None:
                    timeout = max(0.0, min(timeout, self._release_at - time.monotonic()))
                try:
                    event = self.events.get(timeout=timeout)
                except queue.Empty:
                    event = None
                if event is not None:
                    self._handle(event)
                self._tick(time.monotonic())
        finally:
            self._shutdown()
            for sig, handler in previous.items():
                signal.signal(sig, handler)

    def _on_signal(self, signum: int, frame: Any) -> None:
        self._stop.set()

    def _banner(self, scope: WatchScope) -> None:
        url = f"http://{self.config.host}:{self.config.port}"
        mode = "in place" if self.options.reload_mode == "auto" else "by restarting the worker"
        live = "on" if self.options.live_reload else "off"
        say(f"{self.app_dir.name} ({self.config.environment}) on {url}")
        say(f"hot reload {mode}; live reload {live}; Ctrl+C to stop")
        for line in scope.describe():
            say(line)

    def _shutdown(self) -> None:
        if self.watcher is not None:
            self.watcher.stop()
        for worker in (self.next, self.current):
            if worker is not None:
                self._stop_worker(worker, GOING_AWAY)
        for thread in self._stoppers:
            thread.join()
        if self.listen is not None:
            self.listen.close()

    # -- events ---------------------------------------------------------
    def _handle(self, event: tuple[Any, ...]) -> None:
        kind = event[0]
        if kind == "batch":
            self._coalesce(event[1])
        elif kind == "message":
            self._on_message(event[1], event[2])
        elif kind == "exited":
            self._on_exit(event[1])

    def _coalesce(self, batch: Batch) -> None:
        now = time.monotonic()
        burst = now - self._last_batch < BURST_WINDOW
        self._last_batch = now
        if self._held is not None:
            self._held.merge(batch)
        elif burst:
            self._held = batch
        else:
            self._on_batch(batch)
            return
        self._release_at = now + QUIET

    def _tick(self, now: float) -> None:
        """What is due by `now`: a burst's held changes, an overdue handover."""
        self._release(now)
        if self._handover is not None and now >= self._handover[2]:
            self._hand_over()  # the old worker did not say it stopped accepting: go on

    def _release(self, now: float) -> None:
        """Apply the held changes of a burst once it has been quiet long enough."""
        if self._held is not None and now >= self._release_at:
            held, self._held = self._held, None
            self._on_batch(held)

    def _on_batch(self, batch: Batch) -> None:
        assert self.watcher is not None
        scope = self.watcher.scope
        groups: dict[str, list[Path]] = {RESTART: [], CODE: [], CSS: [], ASSET: []}
        for path in sorted(batch.paths):
            kind = scope.classify(path)
            if kind in groups:
                groups[kind].append(path)
        if groups[RESTART]:
            names = ", ".join(p.name for p in groups[RESTART])
            self._restart(f"{names} changed")
        elif groups[CODE] and (self.restart_pending or self.current is None):
            names = ", ".join(relative(p, self.root) for p in groups[CODE])
            self._restart(f"{names} changed")
        message = {
            "op": "changes",
            "code": [str(p) for p in groups[CODE]] if not groups[RESTART] else [],
            "css": [str(p) for p in groups[CSS]],
            "assets": [str(p) for p in groups[ASSET]],
        }
        if self.restart_pending and not groups[RESTART]:
            message["code"] = []  # the new worker loads them fresh
        if message["code"] or message["css"] or message["assets"]:
            for worker in (self.current, self.next):
                if worker is not None and not worker.stopping:
                    worker.send(message)

    def _on_message(self, worker: WorkerHandle, message: dict[str, Any]) -> None:
        op = message.get("op")
        if op == "loaded":  # a restart's new worker built the app, or could not
            problem = message.get("problem")
            found = Problem.from_dict(problem) if problem else None
            self._on_loaded(worker, bool(message.get("ok")), found)
        elif op == "closed":  # a stopping worker no longer accepts connections
            if self._handover is not None and self._handover[0] is worker:
                self._hand_over()
        elif op == "ready":
            worker.ready, worker.ok = True, bool(message.get("ok"))
            if worker is self.current:
                self.restart_pending = not worker.ok
                took = time.monotonic() - worker.started
                say(f"worker {worker.pid} serving (started in {took:.2f} s)")
        elif op == "restart":
            self._restart(str(message.get("reason", "code changed")))

    def _on_loaded(self, worker: WorkerHandle, ok: bool, problem: Problem | None) -> None:
        """Blue/green: a new worker that loaded takes over; one that did not, never serves."""
        if worker is not self.next:
            return
        old, self.next = self.current, None
        if not ok:
            self.restart_pending = True
            self._stop_worker(worker, SERVICE_RESTART)  # it is exiting by itself
            if old is None:
                self.current = self._spawn()  # someone must answer, if only with the error
            else:
                if problem is not None:
                    old.send({"op": "problem", "problem": problem.to_dict()})
                say(f"the new worker could not load the app; worker {old.pid} keeps serving")
            return
        self.current, self.restart_pending = worker, False
        if old is None:
            worker.send({"op": "serve"})
            return
        # The old worker stops accepting first, then the new one starts: never both
        # at once (connections wait in the backlog for that moment), so a client
        # that saw the new code never reaches the old one again.
        self._handover = (old, worker, time.monotonic() + HANDOVER_SECONDS)
        self._stop_worker(old, SERVICE_RESTART)

    def _hand_over(self) -> None:
        if self._handover is not None:
            _old, new, _deadline = self._handover
            self._handover = None
            new.send({"op": "serve"})

    def _on_exit(self, worker: WorkerHandle) -> None:
        code = worker.process.wait()
        if worker.stopping:
            if self._handover is not None and self._handover[0] is worker:
                self._hand_over()
            return
        if worker is self.next:
            self.next = None
            self.restart_pending = True
            say(f"the new worker {worker.pid} exited with {code} before it was ready")
        elif worker is self.current:
            self.current = None
            self.restart_pending = True
            say(f"worker {worker.pid} exited with {code}; starting another")
            if time.monotonic() - worker.started > 2.0:
                self.current = self._spawn()
            else:
                say("it exited right after starting: waiting for a change before trying again")

    # -- workers --------------------------------------------------------
    def _restart(self, reason: str) -> None:
        say(f"{reason}: starting a new worker")
        if self.next is not None:
            self._stop_worker(self.next, SERVICE_RESTART)
        if self.current is None:
            self.current = self._spawn()
            self.next = None
        else:
            self.next = self._spawn(standby=True)

    def _spawn(self, standby: bool = False) -> WorkerHandle:
        """Start a worker; with `standby`, one that exits rather than serve an error."""
        assert self.listen is not None
        ours, theirs = socket.socketpair()
        spec = {
            "root": str(self.root),
            "overrides": self.options.overrides,
            "live_reload": self.options.live_reload,
            "mode": self.options.reload_mode,
            "grace": self.options.grace,
            "boot": uuid.uuid4().hex[:12],
            "standby": standby,
            "supervisor_pid": os.getpid(),
            "listen_fd": self.listen.fileno(),
            "control_fd": theirs.fileno(),
        }
        env = dict(os.environ)
        package_parent = str(Path(__file__).resolve().parents[2])
        env["PYTHONPATH"] = os.pathsep.join(
            p for p in (env.get("PYTHONPATH", ""), package_parent) if p
        )
        process = subprocess.Popen(
            [
                sys.executable,
                "-c",
                "from nova_cli.devserver.worker import main; main()",
                json.dumps(spec),
            ],
            cwd=self.root,
            env=env,
            pass_fds=(self.listen.fileno(), theirs.fileno()),
        )
        theirs.close()
        worker = WorkerHandle(process, ours, time.monotonic())
        threading.Thread(
            target=self._read, args=(worker,), name=f"nova-worker-{process.pid}", daemon=True
        ).start()
        return worker

    def _read(self, worker: WorkerHandle) -> None:
        try:
            with worker.control.makefile("rb") as lines:
                for line in lines:
                    try:
                        self.events.put(("message", worker, json.loads(line)))
                    except ValueError:
                        continue
        except OSError:
            # A worker that dies with our messages unread resets the channel
            # (one that could not load the app): an exit like any other.
            pass
        self.events.put(("exited", worker))

    def _stop_worker(self, worker: WorkerHandle, code: int) -> None:
        """Stop `worker` in the background: ask, then SIGTERM, then SIGKILL, all bounded."""
        if worker.stopping:
            return
        worker.stopping = True
        grace = self.options.grace

        def stop() -> None:
            started = time.monotonic()
            worker.send({"op": "stop", "code": code})
            for action, wait in (("ask", grace + 3.0), ("terminate", 3.0), ("kill", 3.0)):
                if action == "terminate":
                    worker.process.terminate()
                elif action == "kill":
                    worker.process.kill()
                try:
                    worker.process.wait(wait)
                    break
                except subprocess.TimeoutExpired:
                    continue
            worker.control.close()
            took = time.monotonic() - started
            say(f"worker {worker.pid} stopped in {took:.2f} s")

        thread = threading.Thread(target=stop, name=f"nova-stop-{worker.pid}", daemon=True)
        self._stoppers.append(thread)
        thread.start()
