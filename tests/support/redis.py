"""Real redis-server processes for the Redis backend's tests (Debian's redis-server)."""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import subprocess
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING

from tests.support.servers import free_port, stop

if TYPE_CHECKING:
    import redis


@dataclass
class RedisServer:
    port: int
    process: subprocess.Popen[bytes] | None = None
    workdir: str = ""
    paused: bool = False

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        """Start (or restart, on the same port) a throwaway redis-server."""
        binary = shutil.which("redis-server")
        assert binary, "redis-server is missing: apt-get install redis-server"
        self.workdir = workdir = tempfile.mkdtemp(prefix="nova-redis-")
        self.process = subprocess.Popen(
            [
                binary,
                "--port",
                str(self.port),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                "--appendonly",
                "no",
                "--dir",
                workdir,
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,
        )
        deadline = time.monotonic() + 10
        while not self.ping():
            assert time.monotonic() < deadline, "redis-server did not start"
            time.sleep(0.05)

    def ping(self) -> bool:
        import redis

        client = redis.Redis(port=self.port, socket_connect_timeout=0.5)
        try:
            return bool(client.ping())
        except redis.RedisError:
            return False
        finally:
            client.close()

    def client(self) -> redis.Redis:
        import redis

        return redis.Redis(port=self.port, socket_timeout=10)

    def kill(self) -> None:
        """Stop it cleanly (SIGTERM), as an operator would."""
        if self.process is not None:
            self.resume()
            stop(self.process)
            self._gone()

    def crash(self) -> None:
        """SIGKILL: gone at once, no goodbye to its clients."""
        if self.process is not None:
            self.resume()
            self.process.kill()
            self.process.wait(10)
            self._gone()

    def _gone(self) -> None:
        self.process = None
        shutil.rmtree(self.workdir, ignore_errors=True)

    def pause(self) -> None:
        """SIGSTOP: it keeps its connections but answers nothing (a hung server)."""
        assert self.process is not None
        os.kill(self.process.pid, signal.SIGSTOP)
        self.paused = True

    def resume(self) -> None:
        """SIGCONT after `pause`."""
        if self.paused and self.process is not None:
            os.kill(self.process.pid, signal.SIGCONT)
        self.paused = False

    def subscribers(self) -> list[str]:
        """The ids of the clients subscribed to something."""
        with contextlib.closing(self.client()) as client:
            return [str(c["id"]) for c in client.client_list(_type="pubsub")]

    def cut_subscribers(self, channel: str, timeout: float = 20.0) -> None:
        """Make Redis drop every subscriber that does not read, as it drops one that
        falls behind: a small `client-output-buffer-limit pubsub`, then a flood."""
        with contextlib.closing(self.client()) as client:
            client.config_set("client-output-buffer-limit", "pubsub 64kb 32kb 1")
            deadline = time.monotonic() + timeout
            while client.client_list(_type="pubsub"):
                assert time.monotonic() < deadline, "Redis kept its subscribers"
                for _ in range(100):
                    client.publish(channel, b"flood " * 10_000)


@contextlib.contextmanager
def redis_server() -> Iterator[RedisServer]:
    server = RedisServer(free_port())
    server.start()
    try:
        yield server
    finally:
        server.kill()
