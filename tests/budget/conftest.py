"""A real `redis-server` on a free loopback port (skips, saying why, where none is installed),
and a helper that runs a few budget calls in another process, as another stack's provider host
would."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from plume_testkit.redis_server import RedisServer

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture
def redis_url() -> Iterator[str]:
    """`redis://127.0.0.1:<port>/0` of a redis-server started for this test, stopped after it."""
    try:
        server = RedisServer()
    except FileNotFoundError as missing:
        pytest.skip(str(missing))
    with server:
        yield server.url


def run_at_once(
    code: str,
    runs: list[tuple[Path, dict[str, Any]]],
    before_go: Callable[[], None] | None = None,
) -> list[Any]:
    """Run `code` in one new Python process per run, all at once: each is another stack's
    provider host (another machine when its cache directory differs). A run is (cache
    directory, values the code reads as the dict `args`). The code calls `ready()` once it is
    set up; when every process has, `before_go` runs and then they all go on together. What each
    prints last (JSON) is returned, in the order of `runs`."""
    prologue = (
        "import json, sys, time\n"
        "args = json.loads(sys.argv[1])\n"
        "def ready():\n"
        "    print('ready', flush=True)\n"
        "    sys.stdin.readline()\n"
    )
    processes = [
        subprocess.Popen(
            [sys.executable, "-c", prologue + code, json.dumps(values)],
            env={**os.environ, "XDG_CACHE_HOME": str(cache), "PYTHONPATH": str(REPO)},
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for cache, values in runs
    ]
    try:
        for process in processes:
            assert process.stdout is not None
            line = process.stdout.readline()
            assert line == "ready\n", f"{line!r}: {process.stderr.read() if process.stderr else ''}"
        if before_go is not None:
            before_go()
        for process in processes:
            assert process.stdin is not None
            process.stdin.write("go\n")
            process.stdin.flush()
        results = []
        for process in processes:
            out, err = process.communicate(timeout=60)
            assert process.returncode == 0, err
            results.append(json.loads(out.strip().splitlines()[-1]))
        return results
    finally:
        for process in processes:
            if process.poll() is None:
                process.kill()
                process.wait()
