"""Test-wide settings and the real Prefect 2 API that flow-running tests use.

Every test process gets its own PREFECT_HOME. Tests that run flows take the ``prefect_api``
fixture: one real ``prefect server start`` on 127.0.0.1 (SQLite) per test process, started on
first use, which the in-process client and subprocesses (via ``prefect_env``) both talk to.
"""

import os
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pytest

_home = tempfile.mkdtemp(prefix="meta-flows-test-prefect-")
os.environ["PREFECT_HOME"] = _home
os.environ.pop("PREFECT_API_URL", None)
os.environ.setdefault("PREFECT_LOGGING_LEVEL", "WARNING")
os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
os.environ.setdefault("PREFECT_API_BLOCKS_REGISTER_ON_START", "false")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="session")
def prefect_server():
    """A real Prefect 2 server on 127.0.0.1 with its own SQLite database; yields its API URL."""
    port = _free_port()
    home = Path(tempfile.mkdtemp(prefix="meta-flows-test-server-"))
    env = {
        **os.environ,
        "PREFECT_HOME": str(home),
        "PREFECT_API_DATABASE_CONNECTION_URL": f"sqlite+aiosqlite:///{home}/prefect.db",
        "PREFECT_UI_ENABLED": "false",
    }
    log = open(home / "server.log", "w")
    exe = Path(sys.executable).with_name("prefect")
    proc = subprocess.Popen(
        [str(exe), "server", "start", "--host", "127.0.0.1", "--port", str(port)],
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    url = f"http://127.0.0.1:{port}/api"
    import httpx

    deadline = time.monotonic() + 180
    while True:
        try:
            if httpx.get(f"{url}/health", timeout=2).status_code == 200:
                break
        except httpx.HTTPError:
            pass
        if proc.poll() is not None or time.monotonic() > deadline:
            proc.kill()
            raise RuntimeError(
                f"prefect server did not start:\n{(home / 'server.log').read_text()}"
            )
        time.sleep(0.5)
    try:
        yield url
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
        log.close()


@pytest.fixture(scope="session")
def prefect_api(prefect_server):
    """Point this process's Prefect client at the test server for the whole session."""
    from prefect.settings import PREFECT_API_URL, temporary_settings

    with temporary_settings(updates={PREFECT_API_URL: prefect_server}):
        os.environ["PREFECT_API_URL"] = prefect_server
        try:
            yield prefect_server
        finally:
            os.environ.pop("PREFECT_API_URL", None)


@pytest.fixture()
def prefect_env(prefect_server) -> dict:
    """Environment for a subprocess that should use the test server."""
    return {**os.environ, "PREFECT_API_URL": prefect_server}
