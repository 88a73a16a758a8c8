"""``python -m plume_emulator``: serve a lab with uvicorn.

The socket is bound before uvicorn starts so ``--port 0`` can report the port
it got: the first stdout line (flushed) is
``plume-emulator listening on http://HOST:PORT``.

Start-up problems (a port out of range or taken, a bad database or inventory)
are one line on stderr saying what to change, and exit status 2. A ``--db``
whose directory does not exist is created, and start-up says so on stderr.
"""

from __future__ import annotations

import argparse
import errno
import socket
import sys
from collections.abc import Sequence
from pathlib import Path

import uvicorn

from plume_emulator.app import create_app
from plume_emulator.options import DEFAULT_DB, EmulatorOptions
from plume_emulator.seed import InventoryFileError

PORT_HINT = (
    "use another --port, or --port 0 for a free one (the first line printed says which); "
    "for make lab / make emulator set LAB_PORT=<port>"
)


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m plume_emulator", description="Run a local Plume Cloud emulator."
    )
    parser.add_argument("--host", default="127.0.0.1", help="address to bind (default 127.0.0.1)")
    parser.add_argument("--port", type=int, default=8765, help="port; 0 picks a free one")
    parser.add_argument("--db", type=Path, default=DEFAULT_DB, help="SQLite file of the lab")
    parser.add_argument("--reset", action="store_true", help="start from fresh seed data")
    parser.add_argument("--inventory", type=Path, help="extra partners/nodes (YAML or JSON)")
    parser.add_argument("--token-ttl", type=int, default=600, help="token lifetime in seconds")
    parser.add_argument(
        "--already-claimed-status",
        type=int,
        choices=(204, 200),
        default=204,
        help="answer to claiming a node already claimed at that location",
    )
    parser.add_argument("--pods-authorized", type=int, default=32, help="licenses per location")
    parser.add_argument("--waf-limit", type=int, default=2000, help="requests per window; 0 = off")
    parser.add_argument("--waf-window", type=float, default=300.0, help="WAF window in seconds")
    parser.add_argument("--latency-ms", type=float, default=0.0, help="added to each API call")
    parser.add_argument("--fault-seed", type=int, help="seed for probabilistic fault rules")
    parser.add_argument("--log-level", default="warning", help="uvicorn log level")
    return parser.parse_args(argv)


def options_from(args: argparse.Namespace) -> EmulatorOptions:
    """Map parsed flags onto :class:`EmulatorOptions`."""
    return EmulatorOptions(
        db_path=args.db,
        reset=args.reset,
        inventory=args.inventory,
        token_ttl=args.token_ttl,
        already_claimed_status=args.already_claimed_status,
        pods_authorized=args.pods_authorized,
        waf_limit=args.waf_limit,
        waf_window=args.waf_window,
        latency_ms=args.latency_ms,
        fault_seed=args.fault_seed,
    )


def bind(host: str, port: int) -> socket.socket:
    """A listening TCP socket (IPv6 when ``host`` contains a colon).

    ``proto=IPPROTO_TCP`` matters: asyncio only sets TCP_NODELAY on accepted
    sockets whose proto says TCP; without it every keep-alive response waits
    ~40 ms for a delayed ACK (Nagle).
    """
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((host, port))
        sock.listen(128)
    except BaseException:
        sock.close()
        raise
    return sock


def bind_problem(host: str, port: int, err: OSError) -> str:
    """One line saying why ``bind(host, port)`` failed and what to change."""
    where = f"cannot listen on {host}:{port}"
    if err.errno == errno.EADDRINUSE:
        return (
            f"{where}: the port is already in use (by another emulator? `make emulator-stop` "
            f"stops the one make lab started); {PORT_HINT}"
        )
    if err.errno == errno.EACCES:
        return f"{where}: permission denied (ports below 1024 need privileges); {PORT_HINT}"
    reason = err.strerror or str(err)
    return f"{where}: {reason}; check --host (default 127.0.0.1) and --port"


def _fail(message: str) -> int:
    print(f"plume-emulator: {message}", file=sys.stderr)
    return 2


def main(argv: Sequence[str] | None = None) -> int:
    """Run until interrupted; returns the exit status (2: could not start)."""
    args = parse_args(argv)
    if not 0 <= args.port <= 65535:
        return _fail(f"--port {args.port} is out of range (0-65535); {PORT_HINT}")
    # Listen first: a port problem must not touch the database (--reset deletes it).
    try:
        sock = bind(args.host, args.port)
    except OSError as err:
        return _fail(bind_problem(args.host, args.port, err))
    db_dir = args.db.parent
    new_dir = not db_dir.exists()
    try:
        app = create_app(options_from(args))
    except (InventoryFileError, ValueError, RuntimeError, OSError) as err:
        sock.close()
        return _fail(str(err))
    if new_dir:
        print(
            f"plume-emulator: created the directory {db_dir} for --db {args.db} (it did not exist)",
            file=sys.stderr,
            flush=True,
        )
    host, port = sock.getsockname()[:2]
    shown = f"[{host}]" if ":" in host else host
    print(f"plume-emulator listening on http://{shown}:{port}", flush=True)
    config = uvicorn.Config(
        app, log_level=args.log_level, access_log=False, lifespan="off", timeout_graceful_shutdown=5
    )
    try:
        uvicorn.Server(config).run(sockets=[sock])
    finally:
        app.close()
    return 0
