"""Peak resident memory and CPU time of the processes one CLI command starts, by role, sampled
with psutil.

The CLI (`pulumi`), its Python language host, the program and the dynamic-provider host are
separate processes; a user sizing a machine for a 6,000-resource stack needs each one's peak,
and the CPU each one spends says where a command's time goes. `ProcessSampler` polls the
benchmark's descendants while a command runs and keeps the largest resident set seen per role
(sampling can miss a short spike: a lower bound) and each process's last CPU time (what it
spent after its last sample is missed: a lower bound too).
"""

from __future__ import annotations

import threading
from collections.abc import Iterable
from typing import Self

import psutil

from plume_emulator.testing import Service

__all__ = ["ROLES", "ProcessSampler", "machine_busy_seconds", "role_of", "tree_cpu_seconds"]

ROLES = ("cli", "language host", "program", "provider host")
INTERVAL_SECONDS = 0.25


def role_of(cmdline: list[str]) -> str | None:
    """Which of `ROLES` a process with this command line plays, or None (not the CLI's)."""
    text = " ".join(cmdline)
    if "pulumi.dynamic" in text or "pulumi-resource-pulumi-python" in text:
        return "provider host"
    if "pulumi-language-python-exec" in text:
        return "program"
    if "pulumi-language-python" in text:
        return "language host"
    if cmdline and cmdline[0].endswith("/pulumi"):
        return "cli"
    return None


class ProcessSampler(Service):
    """Peak RSS in MiB per role over this process's descendants, except `ignore` (pids)."""

    def __init__(self, ignore: Iterable[int] = ()) -> None:
        self.ignore = set(ignore)
        self.peaks: dict[str, float] = {}
        self._cpu: dict[int, tuple[str, float]] = {}
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="process-sampler", daemon=True)

    def start(self) -> Self:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        self._thread.join()

    def _run(self) -> None:
        me = psutil.Process()
        while not self._stop.wait(INTERVAL_SECONDS):
            self.sample(me.children(recursive=True))

    def sample(self, processes: Iterable[psutil.Process]) -> None:
        for process in processes:
            if process.pid in self.ignore:
                continue
            try:
                role = role_of(process.cmdline())
                rss = process.memory_info().rss / 2**20
                times = process.cpu_times()
            except (psutil.NoSuchProcess, psutil.AccessDenied, psutil.ZombieProcess):
                continue
            if role is None:
                continue
            self.peaks[role] = max(rss, self.peaks.get(role, 0.0))
            self._cpu[process.pid] = (role, times.user + times.system)

    @property
    def cpu_seconds(self) -> dict[str, float]:
        """CPU seconds (user + system) per role, summed over its processes."""
        total: dict[str, float] = {}
        for role, seconds in self._cpu.values():
            total[role] = total.get(role, 0.0) + seconds
        return total


def tree_cpu_seconds(pid: int | None) -> float:
    """CPU seconds (user + system) of a process and its descendants, the exited ones included
    (a PostgreSQL server's backends come and go with each CLI's connection)."""
    if pid is None:
        return 0.0
    try:
        root = psutil.Process(pid)
        tree = [root, *root.children(recursive=True)]
    except psutil.Error:
        return 0.0
    total = 0.0
    for process in tree:
        try:
            times = process.cpu_times()
        except psutil.Error:
            continue
        total += times.user + times.system + times.children_user + times.children_system
    return total


def machine_busy_seconds() -> float:
    """CPU seconds every core of the machine spent busy since boot (not idle, not waiting)."""
    times = psutil.cpu_times()
    return float(sum(times) - times.idle - getattr(times, "iowait", 0.0))
