"""A real `redis-server` on a free loopback port, in a subprocess (tests and the benchmark)."""

from __future__ import annotations

import shutil
import subprocess
import tempfile
from typing import Self

import redis

from plume_emulator.testing import Service, wait_until

from .ports import free_port

__all__ = ["RedisServer"]

_NO_PING = "redis-server did not answer PING"


class RedisServer(Service):
    """`with RedisServer() as server: server.url` -> `redis://127.0.0.1:<port>/0`; no disk."""

    def __init__(self) -> None:
        found = shutil.which("redis-server")
        if found is None:
            raise FileNotFoundError("redis-server is not installed (apt-get install redis-server)")
        self.binary = found
        self.port = free_port()
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self._dir = tempfile.TemporaryDirectory(prefix="plume-redis-")
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> Self:
        process = self.process = subprocess.Popen(
            [
                self.binary,
                "--port",
                str(self.port),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                "--appendonly",
                "no",
                "--dir",
                self._dir.name,
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        client = redis.Redis.from_url(self.url, socket_connect_timeout=0.5)
        try:
            wait_until(
                lambda: bool(client.ping()),
                alive=lambda: process.poll() is None,
                timeout=10,
                exited=_NO_PING,
                timed_out=_NO_PING,
                transient=(redis.ConnectionError,),
                interval=0.05,
            )
        except (RuntimeError, redis.ConnectionError):
            self.stop()
            raise RuntimeError(_NO_PING) from None
        finally:
            client.close()
        return self

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            self.process.wait(timeout=10)
        self._dir.cleanup()
