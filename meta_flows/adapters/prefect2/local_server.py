"""Start a real local Prefect 2 API: ``prefect server start`` on 127.0.0.1 with its own SQLite.

Used by ``meta-flows demo`` (no server to set up by hand) and by the test suite. Events and
automations are switched on (``PREFECT_EXPERIMENTAL_EVENTS=true``: Prefect 2.20's open-source
server runs automations only with it), so the wave's notifications work against it.
"""

from __future__ import annotations

import os
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

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.process.kill()


def database_url(home: Path) -> str:
    return f"sqlite+aiosqlite:///{home}/prefect.db"


def start_server(
    home: Path,
    *,
    port: int | None = None,
    ui: bool = False,
    events: bool = True,
    timeout: float = 180,
) -> LocalServer:
    """Start the server and wait until ``/health`` answers; RuntimeError with its log if not.

    ``events``: run Prefect 2.20's experimental events and automations services (the demo and
    the automation tests need them; they cost CPU on every run otherwise)."""
    home.mkdir(parents=True, exist_ok=True)
    port = port or free_port()
    env = {
        **os.environ,
        "PREFECT_EXPERIMENTAL_EVENTS": "true" if events else "false",
        "PREFECT_HOME": str(home),
        "PREFECT_API_DATABASE_CONNECTION_URL": database_url(home),
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
                return LocalServer(url, home, proc)
        except httpx.HTTPError:
            pass
        if proc.poll() is not None or time.monotonic() > deadline:
            proc.kill()
            raise RuntimeError(
                f"prefect server did not start on port {port}:\n{(home / 'server.log').read_text()}"
            )
        time.sleep(0.5)
