"""Test-wide settings and the real Prefect 2 API that flow-running tests use.

Every test process gets its own PREFECT_HOME. Tests that run flows take the ``prefect_api``
fixture: one real ``prefect server start`` on 127.0.0.1 (SQLite) per test process, started on
first use, which the in-process client and subprocesses (via ``prefect_env``) both talk to.
"""

import os
import tempfile
from pathlib import Path

import pytest

_home = tempfile.mkdtemp(prefix="meta-flows-test-prefect-")
os.environ["PREFECT_HOME"] = _home
os.environ.pop("PREFECT_API_URL", None)
os.environ.setdefault("PREFECT_LOGGING_LEVEL", "WARNING")
os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
os.environ.setdefault("PREFECT_API_BLOCKS_REGISTER_ON_START", "false")
# automations and the events they react to (client side too: flow-run events are emitted)
os.environ.setdefault("PREFECT_EXPERIMENTAL_EVENTS", "true")


@pytest.fixture(scope="session")
def prefect_server():
    """A real Prefect 2 server on 127.0.0.1 with its own SQLite database and events switched on
    (automations run); yields its API URL."""
    from meta_flows.local_server import start_server

    server = start_server(Path(tempfile.mkdtemp(prefix="meta-flows-test-server-")))
    try:
        yield server.url
    finally:
        server.stop()


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
