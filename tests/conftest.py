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


@pytest.fixture(scope="session")
def prefect_server():
    """A real Prefect 2 server on 127.0.0.1 with its own SQLite database; yields its API URL."""
    from meta_flows.adapters.prefect2.local_server import start_server

    server = start_server(Path(tempfile.mkdtemp(prefix="meta-flows-test-server-")), events=False)
    try:
        yield server.url
    finally:
        server.stop()


@pytest.fixture(scope="module")
def events_server():
    """Another real server, with Prefect 2.20's experimental events and automations switched on
    (``PREFECT_EXPERIMENTAL_EVENTS=true``), one per test module: automations are named
    deterministically, so two modules must not share one."""
    from meta_flows.adapters.prefect2.local_server import start_server

    server = start_server(Path(tempfile.mkdtemp(prefix="meta-flows-test-events-")), events=True)
    try:
        yield server.url
    finally:
        server.stop()


@pytest.fixture(scope="module")
def events_api(events_server):
    """Point this process's client at the events server, with client-side events on."""
    from prefect.events.worker import EventsWorker
    from prefect.settings import PREFECT_API_URL, PREFECT_EXPERIMENTAL_EVENTS, temporary_settings

    # Prefect keeps one events worker per client type, bound to the API URL it started with:
    # stop any earlier one so events go to this module's server
    EventsWorker.drain_all(timeout=10)
    saved = {k: os.environ.get(k) for k in ("PREFECT_API_URL", "PREFECT_EXPERIMENTAL_EVENTS")}
    with temporary_settings(
        updates={PREFECT_API_URL: events_server, PREFECT_EXPERIMENTAL_EVENTS: True}
    ):
        os.environ["PREFECT_API_URL"] = events_server
        os.environ["PREFECT_EXPERIMENTAL_EVENTS"] = "true"
        try:
            yield events_server
        finally:
            EventsWorker.drain_all(timeout=10)
            for key, value in saved.items():
                if value is None:
                    os.environ.pop(key, None)
                else:
                    os.environ[key] = value


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


# Tests that start a Prefect server, the managed Prefect 1 environment or other interpreters carry
# the ``prefect`` marker, so ``pytest -m "not prefect"`` runs the pure tests alone (in seconds).
# Whatever takes one of these fixtures is marked; modules that start interpreters on their own
# declare ``pytestmark = pytest.mark.prefect``.
_HEAVY_FIXTURES = frozenset(
    {
        "prefect_server",
        "events_server",
        "prefect_api",
        "events_api",
        "prefect_env",
        "legacy_cache",
        "legacy_root",
        "base",
    }
)


def pytest_configure(config):
    config.addinivalue_line(
        "markers",
        "prefect: starts a Prefect server, the Prefect 1 environment or child interpreters",
    )


def pytest_collection_modifyitems(config, items):
    for item in items:
        if _HEAVY_FIXTURES.intersection(getattr(item, "fixturenames", ())):
            item.add_marker(pytest.mark.prefect)
