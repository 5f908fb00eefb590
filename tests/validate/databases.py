"""Throwaway database servers on 127.0.0.1 for tests of the database library tasks.

PostgreSQL comes from :mod:`meta_flows.adapters.prefect2.postgres` (trust authentication, a
``prefect`` role and database). MariaDB (Debian's ``mariadb-server``; ``.ci/run`` installs it)
starts here: a fresh data directory, grant tables skipped so that any user name and password
connects, and one database created for the test.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from meta_flows.adapters.prefect2.local_server import free_port


def mariadb_server() -> str | None:
    """The MariaDB server program, or None when it is not installed."""
    return shutil.which("mariadbd") or next(
        (p for p in ("/usr/sbin/mariadbd", "/usr/sbin/mysqld") if Path(p).exists()), None
    )


@contextmanager
def mariadb(database: str, timeout: float = 60) -> Iterator[int]:
    """A MariaDB server holding an empty ``database``; yields its port on 127.0.0.1."""
    server = mariadb_server()
    if server is None:
        raise RuntimeError("no MariaDB server found: apt-get install mariadb-server")
    directory = Path(tempfile.mkdtemp(prefix="meta-flows-mariadb-"))
    user = ["--user=root"] if os.geteuid() == 0 else []
    install = subprocess.run(
        [
            "mariadb-install-db",
            "--no-defaults",
            f"--datadir={directory / 'data'}",
            "--auth-root-authentication-method=normal",
            "--skip-test-db",
            *user,
        ],
        capture_output=True,
        text=True,
    )
    if install.returncode != 0:
        shutil.rmtree(directory, ignore_errors=True)
        raise RuntimeError(f"mariadb-install-db failed: {install.stderr or install.stdout}")
    port = free_port()
    socket = directory / "mariadb.sock"
    process = subprocess.Popen(
        [
            server,
            "--no-defaults",
            f"--datadir={directory / 'data'}",
            f"--port={port}",
            "--bind-address=127.0.0.1",
            f"--socket={socket}",
            f"--pid-file={directory / 'mariadb.pid'}",
            f"--log-error={directory / 'error.log'}",
            "--skip-grant-tables",
            *user,
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    client = ["mariadb", "--no-defaults", f"--socket={socket}", "-uroot"]
    try:
        deadline = time.monotonic() + timeout
        while subprocess.run([*client, "-e", "select 1"], capture_output=True).returncode != 0:
            if process.poll() is not None or time.monotonic() > deadline:
                log = directory / "error.log"
                raise RuntimeError(
                    "MariaDB did not start: "
                    + (log.read_text(errors="replace")[-2000:] if log.exists() else "no log")
                )
            time.sleep(0.2)
        subprocess.run([*client, "-e", f"CREATE DATABASE {database}"], check=True)
        yield port
    finally:
        process.terminate()
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
        shutil.rmtree(directory, ignore_errors=True)
