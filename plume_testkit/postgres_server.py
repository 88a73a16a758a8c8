"""A real PostgreSQL server in a temporary directory on a free loopback port, with a database
and a password role for Pulumi's state (tests and the lab).

``initdb`` refuses to run as root, so as root the cluster is made and served by ``nobody``
(``runuser``) in a directory this process created and handed over; nothing is made outside it.
The superuser connects through a Unix socket in that directory (``trust``); TCP on 127.0.0.1
takes passwords only (``scram-sha-256``), so the Pulumi role's password is really checked.
"""

from __future__ import annotations

import glob
import os
import secrets
import shutil
import subprocess
import tempfile
from pathlib import Path
from typing import Self

from plume_emulator.testing import Service, wait_until

from .ports import free_port

__all__ = ["INSTALL_HINT", "PostgresServer", "find_postgres_bin"]

INSTALL_HINT = (
    "PostgreSQL's server is not installed (no initdb on PATH nor in /usr/lib/postgresql/*/bin): "
    "install it with `apt-get install -y postgresql` (Debian; .ci/run does this on a machine "
    "that lacks it) and run the tests again"
)
_SERVICE_USER = "nobody"
_SUPERUSER = "postgres"
_NOT_READY = "PostgreSQL did not accept connections on 127.0.0.1:{port}; its log: {log}"


def find_postgres_bin() -> Path | None:
    """The directory of ``initdb`` and its siblings (``postgres``, ``pg_ctl``, ``psql``): the one
    on PATH (its real location, since /usr/local/bin may hold links), else the newest Debian
    ``/usr/lib/postgresql/<version>/bin``; None when neither exists."""
    on_path = shutil.which("initdb")
    if on_path:
        return Path(on_path).resolve().parent
    debian = [Path(p).parent for p in glob.glob("/usr/lib/postgresql/*/bin/initdb")]
    versions = sorted((int(d.parent.name), d) for d in debian if d.parent.name.isdigit())
    return versions[-1][1] if versions else None


class PostgresServer(Service):
    """``with PostgresServer() as server: server.url`` ->
    ``postgres://pulumi:<password>@127.0.0.1:<port>/pulumi?sslmode=disable``.

    ``role``, ``password`` and ``database`` are those of the Pulumi role (the owner of its
    database); ``url_without_password`` is the same URL for a password given through
    ``PGPASSWORD``; ``sql()`` runs a statement as the superuser and returns its rows.
    """

    def __init__(self, role: str = "pulumi", database: str = "pulumi") -> None:
        bin_dir = find_postgres_bin()
        if bin_dir is None:
            raise FileNotFoundError(INSTALL_HINT)
        self.bin = bin_dir
        self.role = role
        self.database = database
        self.password = secrets.token_urlsafe(18)
        self.port = free_port()
        self._dir = tempfile.TemporaryDirectory(prefix="plume-postgres-")
        self.root = Path(self._dir.name)
        self.data = self.root / "data"
        self.log = self.root / "postgres.log"
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return (
            f"postgres://{self.role}:{self.password}@127.0.0.1:{self.port}/{self.database}"
            "?sslmode=disable"
        )

    @property
    def url_without_password(self) -> str:
        return f"postgres://{self.role}@127.0.0.1:{self.port}/{self.database}?sslmode=disable"

    def new_database(self, name: str) -> str:
        """A new empty database ``name`` owned by the Pulumi role; its URL (password included)."""
        self.sql(f"CREATE DATABASE {name} OWNER {self.role}")
        return self.url.replace(f"/{self.database}?", f"/{name}?")

    def _as_owner(self, *argv: str) -> list[str]:
        """``argv`` run as the cluster's owner: ``nobody`` when this process is root."""
        if os.geteuid() == 0:
            return ["runuser", "-u", _SERVICE_USER, "--", *argv]
        return list(argv)

    def _hand_over(self) -> None:
        if os.geteuid() == 0:
            shutil.chown(self.root, _SERVICE_USER)
        self.root.chmod(0o700)

    def start(self) -> Self:
        self._hand_over()
        subprocess.run(
            self._as_owner(
                str(self.bin / "initdb"),
                "-D",
                str(self.data),
                "-U",
                _SUPERUSER,
                "--auth-local=trust",
                "--auth-host=scram-sha-256",
                "--encoding=UTF8",
                "--no-instructions",
                "--no-sync",
            ),
            check=True,
            capture_output=True,
        )
        with self.log.open("wb") as log:
            self.process = subprocess.Popen(
                self._as_owner(
                    str(self.bin / "postgres"),
                    "-D",
                    str(self.data),
                    "-p",
                    str(self.port),
                    "-k",
                    str(self.root),
                    "-c",
                    "listen_addresses=127.0.0.1",
                    "-c",
                    "fsync=off",
                ),
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        process = self.process
        not_ready = _NOT_READY.format(port=self.port, log=self.log)
        try:
            wait_until(
                self._accepts,
                alive=lambda: process.poll() is None,
                timeout=30,
                exited=not_ready,
                timed_out=not_ready,
                interval=0.05,
            )
            self.sql(f"CREATE ROLE {self.role} LOGIN PASSWORD '{self.password}'")
            self.sql(f"CREATE DATABASE {self.database} OWNER {self.role}")
        except BaseException:
            self.stop()
            raise
        return self

    def _accepts(self) -> bool:
        ready = subprocess.run(
            [str(self.bin / "pg_isready"), "-q", "-h", "127.0.0.1", "-p", str(self.port)],
            check=False,
        )
        return ready.returncode == 0

    def sql(self, statement: str, database: str = "postgres") -> list[list[str]]:
        """Rows of ``statement`` run by the superuser over the Unix socket (fields as text)."""
        done = subprocess.run(
            [
                str(self.bin / "psql"),
                "-X",
                "-q",
                "-A",
                "-t",
                "-F",
                "\x1f",
                "-v",
                "ON_ERROR_STOP=1",
                "-h",
                str(self.root),
                "-p",
                str(self.port),
                "-U",
                _SUPERUSER,
                "-d",
                database,
                "-c",
                statement,
            ],
            capture_output=True,
            text=True,
            check=False,
        )
        if done.returncode != 0:
            raise RuntimeError(f"psql failed on {statement[:80]!r}: {done.stderr.strip()}")
        return [line.split("\x1f") for line in done.stdout.splitlines() if line]

    def stop(self) -> None:
        process = self.process
        if process is not None and process.poll() is None:
            pg_ctl = str(self.bin / "pg_ctl")
            subprocess.run(
                self._as_owner(pg_ctl, "stop", "-D", str(self.data), "-m", "fast"),
                capture_output=True,
                check=False,
            )
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
        self._dir.cleanup()
