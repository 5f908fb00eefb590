"""A throwaway PostgreSQL on 127.0.0.1 for a Prefect server at scale (Debian's ``postgresql``).

Prefect's answer to a busy server is PostgreSQL instead of SQLite (one writer at a time, the
503s of a big wave). :func:`start_postgres` creates a cluster in a fresh directory with
``initdb`` (trust authentication, a ``prefect`` role and database), starts ``postgres`` on a free
port of 127.0.0.1 and returns the SQLAlchemy URL Prefect takes in
``PREFECT_API_DATABASE_CONNECTION_URL``. As root it runs as the ``postgres`` user (PostgreSQL
refuses to run as root). :func:`find_bindir` says where the server programs are, or None.
"""

from __future__ import annotations

import glob
import os
import pwd
import shutil
import signal
import subprocess
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from meta_flows.adapters.prefect2.local_server import free_port


class PostgresUnavailable(RuntimeError):
    """No PostgreSQL server programs here (install Debian's ``postgresql``)."""


def find_bindir() -> Path | None:
    """The directory holding ``initdb`` and ``postgres`` (Debian keeps them off PATH)."""
    candidates = sorted(glob.glob("/usr/lib/postgresql/*/bin"), reverse=True)
    on_path = shutil.which("initdb")
    if on_path:
        candidates.insert(0, str(Path(on_path).resolve().parent))
    for folder in candidates:
        if (Path(folder) / "initdb").exists() and (Path(folder) / "postgres").exists():
            return Path(folder)
    return None


def _psql(bindir: Path) -> Path:
    found = bindir / "psql"
    if found.exists():
        return found
    other = shutil.which("psql")
    if other is None:
        raise PostgresUnavailable("no psql found: apt-get install postgresql-client")
    return Path(other)


@dataclass
class LocalPostgres:
    url: str  # postgresql+asyncpg://prefect@127.0.0.1:<port>/prefect
    directory: Path
    process: subprocess.Popen

    def stop(self) -> None:
        """Fast shutdown (SIGINT to its process group: runuser does not pass signals on)."""
        if self.process.poll() is None:
            try:
                os.killpg(self.process.pid, signal.SIGINT)
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait()
            except ProcessLookupError:
                pass
        shutil.rmtree(self.directory, ignore_errors=True)


def _as_server_user(argv: list[str]) -> list[str]:
    if os.geteuid() != 0:
        return argv
    return ["runuser", "-u", "postgres", "--", *argv]


def start_postgres(timeout: float = 60) -> LocalPostgres:
    """A fresh cluster and server on 127.0.0.1 (see the module docstring)."""
    bindir = find_bindir()
    if bindir is None:
        raise PostgresUnavailable(
            "no PostgreSQL server programs found (initdb, postgres): apt-get install postgresql"
        )
    directory = Path(tempfile.mkdtemp(prefix="meta-flows-postgres-"))
    data, sockets = directory / "data", directory / "sockets"
    sockets.mkdir()
    if os.geteuid() == 0:  # the server runs as postgres: it owns its directories
        user = pwd.getpwnam("postgres")
        for path in (directory, sockets):
            os.chown(path, user.pw_uid, user.pw_gid)
    out = subprocess.run(
        _as_server_user(
            [str(bindir / "initdb"), "-D", str(data), "-U", "prefect", "--auth=trust", "-E", "UTF8"]
        ),
        capture_output=True,
        text=True,
    )
    if out.returncode != 0:
        shutil.rmtree(directory, ignore_errors=True)
        raise RuntimeError(f"initdb failed: {out.stderr.strip() or out.stdout.strip()}")
    port = free_port()
    log = open(directory / "postgres.log", "w")  # noqa: SIM115 - the server writes it
    process = subprocess.Popen(
        _as_server_user(
            [
                str(bindir / "postgres"),
                "-D",
                str(data),
                "-k",
                str(sockets),
                "-c",
                "listen_addresses=127.0.0.1",
                "-p",
                str(port),
                "-c",
                "max_connections=200",
                "-c",
                "fsync=off",  # a throwaway database: durability is not the point
            ]
        ),
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    log.close()
    server = LocalPostgres(
        f"postgresql+asyncpg://prefect@127.0.0.1:{port}/prefect", directory, process
    )
    psql = [str(_psql(bindir)), "-h", "127.0.0.1", "-p", str(port), "-U", "prefect"]
    deadline = time.monotonic() + timeout
    while True:
        ready = subprocess.run(
            [*psql, "-d", "postgres", "-Atc", "select 1"], capture_output=True, text=True
        )
        if ready.returncode == 0:
            break
        if process.poll() is not None or time.monotonic() > deadline:
            text = (directory / "postgres.log").read_text(errors="replace")
            server.stop()
            raise RuntimeError(f"postgres did not start on port {port}:\n{text[-2000:]}")
        time.sleep(0.3)
    created = subprocess.run(
        [*psql, "-d", "postgres", "-c", "CREATE DATABASE prefect"], capture_output=True, text=True
    )
    if created.returncode != 0:
        server.stop()
        raise RuntimeError(f"cannot create the prefect database: {created.stderr.strip()}")
    return server
