"""What the stack manages now: its customers and nodes as the backend's state holds them.

The removal guard (`fleet.removals`) compares this with what the fleet declares before the
program declares anything. It must be the state as it is, including what a failed or
interrupted update created, which the last update's outputs (a `StackReference`) do not show.
The program reads it with `pulumi stack export` through the CLI that runs it: same backend
(`PULUMI_BACKEND_URL` or the login in `PULUMI_HOME`), same project directory. Export takes no
lock, so it works while `pulumi up` holds the stack's; without `--show-secrets` it decrypts
nothing (the Automation API's `export_stack` always passes `--show-secrets`, hence the direct
call). Only resource names, `protect`, `customerId`, `nickname` and the stack's own outputs are
kept, with each resource's URN and dependencies (`plume-fleet reshard` moves a customer with
the nodes that depend on it) and the URNs of unfinished operations.

The CLI is the one running the program (found among the program's parent processes, on Linux),
else the `pulumi` on PATH: the engine double of the tests puts its own `pulumi` there.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Final

from plume_provider.client.errors import ConfigurationError

__all__ = [
    "CUSTOMER_PREFIX",
    "NODE_PREFIX",
    "ManagedCustomer",
    "ManagedNode",
    "StackState",
    "StackStateError",
    "backend_url",
    "cli_environment",
    "export_stack",
    "find_pulumi_cli",
    "read_stack_state",
    "stack_state_from_export",
]

CUSTOMER_PREFIX = "customer-"
NODE_PREFIX = "node-"
_STACK_TYPE = "pulumi:pulumi:Stack"
_EXPORT_TIMEOUT_S = 600


class StackStateError(ConfigurationError):
    """The stack's current state could not be read, so nothing was declared."""


@dataclass(frozen=True)
class ManagedCustomer:
    """A customer the stack's state holds (`customer-<accountId>`)."""

    account_id: str
    customer_id: str | None
    protect: bool
    urn: str = field(default="", compare=False)


@dataclass(frozen=True)
class ManagedNode:
    """A node the stack's state holds (`node-<serial>`), claimed at `customer_id`."""

    serial_number: str
    customer_id: str | None
    nickname: str | None
    protect: bool
    urn: str = field(default="", compare=False)
    dependencies: tuple[str, ...] = field(default=(), compare=False)


@dataclass(frozen=True)
class StackState:
    """The customers and nodes a stack manages, its stack outputs, and the URNs of what an
    interrupted update left unfinished (pending operations and pending deletes)."""

    customers: Mapping[str, ManagedCustomer] = field(default_factory=dict)
    nodes: Mapping[str, ManagedNode] = field(default_factory=dict)
    outputs: Mapping[str, Any] = field(default_factory=dict)
    pending: tuple[str, ...] = field(default=(), compare=False)


def _text(value: Any) -> str | None:
    return value if isinstance(value, str) else None  # a secret comes back as an envelope


def stack_state_from_export(document: Mapping[str, Any]) -> StackState:
    """The managed customers and nodes of a `pulumi stack export` document (pending deletes,
    which the engine deletes next anyway, are left out)."""
    deployment = document.get("deployment") or {}
    customers: dict[str, ManagedCustomer] = {}
    nodes: dict[str, ManagedNode] = {}
    outputs: Mapping[str, Any] = {}
    pending = [
        str((op.get("resource") or {}).get("urn", ""))
        for op in deployment.get("pending_operations") or []
    ]
    for resource in deployment.get("resources") or []:
        urn = str(resource.get("urn", ""))
        kind = resource.get("type")
        if kind == _STACK_TYPE:
            outputs = resource.get("outputs") or {}
            continue
        if resource.get("delete"):
            pending.append(urn)
        if resource.get("delete") or not str(kind).startswith("pulumi-python:dynamic"):
            continue
        name = urn.rsplit("::", 1)[-1]
        outs = resource.get("outputs") or {}
        protect = bool(resource.get("protect"))
        if name.startswith(CUSTOMER_PREFIX):
            account = name.removeprefix(CUSTOMER_PREFIX)
            customers[account] = ManagedCustomer(
                account, _text(outs.get("customerId")), protect, urn
            )
        elif name.startswith(NODE_PREFIX):
            serial = name.removeprefix(NODE_PREFIX)
            nodes[serial] = ManagedNode(
                serial,
                _text(outs.get("customerId")),
                _text(outs.get("nickname")),
                protect,
                urn,
                tuple(str(d) for d in resource.get("dependencies") or []),
            )
    return StackState(customers, nodes, outputs, tuple(pending))


def _ancestor_executables(limit: int = 6) -> list[Path]:
    """The executables of this process's parents, nearest first (Linux `/proc`; else none)."""
    found: list[Path] = []
    pid = os.getppid()
    for _ in range(limit):
        if pid <= 1:
            break
        proc = Path("/proc") / str(pid)
        try:
            found.append(Path(os.readlink(proc / "exe")))
            stat = (proc / "stat").read_text()
        except OSError:
            break
        pid = int(stat.rsplit(")", 1)[1].split()[1])
    return found


def find_pulumi_cli() -> Path | None:
    """The `pulumi` CLI running this program, else the one on PATH, else None."""
    for exe in _ancestor_executables():
        if exe.name == "pulumi":
            return exe
    on_path = shutil.which("pulumi")
    return Path(on_path) if on_path else None


def read_stack_state(stack: str, cwd: Path | None = None) -> StackState:
    """The state of `stack` (`org/project/stack`) through `pulumi stack export`; raise
    `StackStateError` naming what to do when it cannot be read."""
    return stack_state_from_export(export_stack(stack, cwd))


BACKEND_LIST_PARALLEL: Final = "PULUMI_DIY_BACKEND_PARALLEL"
BACKEND_COMPRESSIONS: Final = ("PULUMI_DIY_BACKEND_ZSTD", "PULUMI_DIY_BACKEND_GZIP")


def backend_url(env: Mapping[str, str]) -> str:
    """The backend a `pulumi` with this environment uses: `PULUMI_BACKEND_URL`, else the
    current login of its `PULUMI_HOME` (`pulumi login <url>`; default `~/.pulumi`); "" when
    neither says."""
    if env.get("PULUMI_BACKEND_URL"):
        return env["PULUMI_BACKEND_URL"]
    home = Path(env["PULUMI_HOME"]) if env.get("PULUMI_HOME") else Path.home() / ".pulumi"
    try:
        current = json.loads((home / "credentials.json").read_text(encoding="utf-8"))["current"]
    except (OSError, ValueError, KeyError, TypeError):
        return ""
    return current if isinstance(current, str) else ""


def cli_environment(base: Mapping[str, str] | None = None) -> dict[str, str]:
    """The environment for the `pulumi` commands plume-fleet runs over stacks (`rollout`,
    `reshard`): `base` (default: this process's), and on a PostgreSQL backend two settings the
    operator has not chosen otherwise:

    * the listing kept to one worker: on v3.274.1 the PostgreSQL backend's listing holds a
      connection per worker while it asks for another one, and its pool has 2 x GOMAXPROCS
      connections: with 4 stacks or more on a 2-core machine, `pulumi stack ls` waits forever
      (docs/upstream.md, "pulumi stack ls deadlocks on the PostgreSQL backend");
    * the state written zstd-compressed (`PULUMI_DIY_BACKEND_ZSTD`, CLI v3.224 and later): the
      backend stores each checkpoint base64-encoded in a JSON document the server parses, so
      every step of an update costs the server as much CPU as the CLI; compressed, the server's
      share almost vanishes and the CLI's halves (docs/performance.md, "The checkpoint tax").
      Every CLI reads every form, whichever settings wrote it.
    """
    env = dict(os.environ if base is None else base)
    if backend_url(env).startswith(("postgres://", "postgresql://")):
        env.setdefault(BACKEND_LIST_PARALLEL, "1")
        if not any(name in env for name in BACKEND_COMPRESSIONS):
            env[BACKEND_COMPRESSIONS[0]] = "true"
    return env


def export_stack(stack: str, cwd: Path | None = None) -> dict[str, Any]:
    """`pulumi stack export --stack <stack>` (secrets stay encrypted), as a JSON document; raise
    `StackStateError` naming what to do when it cannot be read."""
    cli = find_pulumi_cli()
    if cli is None:
        raise StackStateError(
            f"plume-fleet reads stack {stack}'s current state with `pulumi stack export` before "
            "it declares anything, and no `pulumi` CLI was found (neither running this program "
            "nor on PATH): put the pulumi CLI on PATH and run again; nothing was declared"
        )
    try:
        done = subprocess.run(
            [str(cli), "stack", "export", "--stack", stack, "--non-interactive"],
            cwd=cwd,
            capture_output=True,
            text=True,
            timeout=_EXPORT_TIMEOUT_S,
            check=False,
        )
    except (OSError, subprocess.TimeoutExpired) as err:
        raise StackStateError(
            f"`pulumi stack export --stack {stack}` did not answer ({type(err).__name__}); "
            "plume-fleet needs the stack's current state before it declares anything: check "
            "that the backend is reachable and run again; nothing was declared"
        ) from None
    if done.returncode != 0:
        last = (done.stderr.strip().splitlines() or ["(no message)"])[-1][:300]
        raise StackStateError(
            f"`pulumi stack export --stack {stack}` failed (exit {done.returncode}): {last}; "
            "plume-fleet needs the stack's current state before it declares anything: fix "
            "that and run again; nothing was declared"
        )
    try:
        document = json.loads(done.stdout)
    except ValueError:
        raise StackStateError(
            f"`pulumi stack export --stack {stack}` printed no JSON document; plume-fleet "
            "needs the stack's current state before it declares anything; nothing was declared"
        ) from None
    return document if isinstance(document, dict) else {}
