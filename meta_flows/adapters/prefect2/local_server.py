"""Start a real local Prefect 2 API: ``prefect server start`` on 127.0.0.1 with its own SQLite.

Used by ``meta-flows demo`` (no server to set up by hand) and by the test suite. Events and
automations are switched on (``PREFECT_EXPERIMENTAL_EVENTS=true``: Prefect 2.20's open-source
server runs automations only with it), so the wave's notifications work against it.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import httpx

EVENTS = {"PREFECT_EXPERIMENTAL_EVENTS": "true"}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@dataclass
class LocalServer:
    url: str  # the API URL, http://127.0.0.1:<port>/api
    home: Path  # its PREFECT_HOME: database and server.log
    process: subprocess.Popen

    def stop(self, port_free_within: float = 0.0) -> None:
        """End the server and its uvicorn child (their process group). With
        ``port_free_within``, wait up to that many seconds for its port to be free again (a
        server started on that port at once could find it in use: connections it closed)."""
        if self.process.poll() is None:
            try:
                os.killpg(self.process.pid, signal.SIGTERM)
            except ProcessLookupError:
                pass
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait(timeout=20)
        port = int(self.url.rsplit(":", 1)[1].split("/")[0])
        deadline = time.monotonic() + port_free_within
        while time.monotonic() < deadline:
            with socket.socket() as probe:
                try:
                    probe.bind(("127.0.0.1", port))
                    return
                except OSError:
                    time.sleep(0.2)


def sqlite_url(home: Path) -> str:
    return f"sqlite+aiosqlite:///{home}/prefect.db"


def start_server(
    home: Path,
    *,
    port: int | None = None,
    ui: bool = False,
    events: bool = True,
    timeout: float = 180,
    database_url: str | None = None,
) -> LocalServer:
    """Start the server and wait until ``/health`` answers; RuntimeError with its log if not.

    ``events``: run Prefect 2.20's experimental events and automations services (the demo and
    the automation tests need them; they cost CPU on every run otherwise). ``database_url``:
    another database than the SQLite file in ``home`` (e.g. a PostgreSQL of
    :mod:`meta_flows.adapters.prefect2.postgres`)."""
    home.mkdir(parents=True, exist_ok=True)
    port = port or free_port()
    env = {
        **os.environ,
        "PREFECT_EXPERIMENTAL_EVENTS": "true" if events else "false",
        "PREFECT_HOME": str(home),
        "PREFECT_API_DATABASE_CONNECTION_URL": database_url or sqlite_url(home),
        "PREFECT_UI_ENABLED": "true" if ui else "false",
        "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
        # a debugging service that prints every event to the console (server.log), ~5 lines
        # per flow run; the events themselves are still stored and still trigger automations
        "PREFECT_API_SERVICES_EVENT_LOGGER_ENABLED": "false",
    }
    env.pop("PREFECT_API_URL", None)
    log = open(home / "server.log", "w")  # noqa: SIM115 - the server writes it while it runs
    exe = Path(sys.executable).with_name("prefect")
    proc = subprocess.Popen(
        [str(exe), "server", "start", "--host", "127.0.0.1", "--port", str(port)],
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    log.close()
    url = f"http://127.0.0.1:{port}/api"
    deadline = time.monotonic() + timeout
    while True:
        try:
            if httpx.get(f"{url}/health", timeout=2).status_code == 200:
                if env.get("PREFECT_API_BLOCKS_REGISTER_ON_START", "true").lower() not in (
                    "false",
                    "0",
                ):  # switched off: nothing is registered in the background to wait for
                    _await_block_registration(url, deadline)
                return LocalServer(url, home, proc)
        except httpx.HTTPError:
            pass
        if proc.poll() is not None or time.monotonic() > deadline:
            proc.kill()
            raise RuntimeError(
                f"prefect server did not start on port {port}:\n{(home / 'server.log').read_text()}"
            )
        time.sleep(0.5)


def _await_block_registration(url: str, deadline: float) -> None:
    """A fresh server registers Prefect's block types in the background after it answers
    ``/health``; a client that saves a block meanwhile (a flow run's result storage) can meet
    it half-way (read: not there; create: already exists, ``ObjectAlreadyExists``). Wait until
    the local file system block type has its schema and the number of block schemas stopped
    growing."""
    last, stable_since = -1, time.monotonic()
    while time.monotonic() < deadline:
        try:
            schemas = httpx.post(f"{url}/block_schemas/filter", json={}, timeout=5).json()
        except (httpx.HTTPError, ValueError):
            schemas = []
        count = len(schemas) if isinstance(schemas, list) else 0
        local = any(
            (s.get("block_type") or {}).get("slug") == "local-file-system"
            for s in schemas
            if isinstance(s, dict)
        )
        if count != last:
            last, stable_since = count, time.monotonic()
        elif local and time.monotonic() - stable_since >= 1.0:
            return
        time.sleep(0.25)
