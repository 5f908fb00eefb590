"""A wave against a Prefect server backed by a real PostgreSQL (Debian's ``postgresql``, started
here on 127.0.0.1): the demo projects end as they do on the embedded SQLite default."""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path

import pytest

from meta_flows.adapters.prefect2.postgres import find_bindir, start_postgres
from tests.wave.conftest import demo_remotes, write_registry

pytestmark = pytest.mark.prefect


@pytest.fixture(scope="module")
def postgres_api():
    from prefect.settings import PREFECT_API_URL, temporary_settings

    from meta_flows.adapters.prefect2.local_server import start_server

    if find_bindir() is None and not os.environ.get("CI"):
        pytest.skip("PostgreSQL is not installed here (.ci/run installs it)")
    database = start_postgres()
    server = None
    saved = os.environ.get("PREFECT_API_URL")
    try:
        server = start_server(
            Path(tempfile.mkdtemp(prefix="meta-flows-pg-server-")),
            events=False,
            database_url=database.url,
        )
        with temporary_settings(updates={PREFECT_API_URL: server.url}):
            os.environ["PREFECT_API_URL"] = server.url
            yield server.url, database
    finally:
        if saved is None:
            os.environ.pop("PREFECT_API_URL", None)
        else:
            os.environ["PREFECT_API_URL"] = saved
        if server is not None:
            server.stop()
        database.stop()


def test_the_demo_wave_on_postgresql(postgres_api, legacy_cache, tmp_path):
    import subprocess

    from meta_flows.demo import DEMO_PROJECTS
    from meta_flows.flows.wave import migrate_wave

    os.environ["META_FLOWS_CACHE"] = str(legacy_cache)
    remotes = demo_remotes(tmp_path / "remotes")
    registry = write_registry(
        tmp_path / "registry.yaml",
        [{"name": name, "git_url": str(remotes[name])} for name in DEMO_PROJECTS],
    )
    report = tmp_path / "report.json"
    migrate_wave(
        wave="demo",
        registry=str(registry),
        workspace=str(tmp_path / "ws"),
        report=str(report),
        return_state=True,
    )
    states = {p["name"]: p["state"] for p in json.loads(report.read_text())["projects"]}
    assert states == {
        "acme-etl": "promoted",
        "billing-reports": "rolled-back",
        "ops-housekeeping": "promoted",
    }
    # the wave's flow runs and deployments are rows of the PostgreSQL database
    _, database = postgres_api
    port = database.url.rsplit(":", 1)[1].split("/")[0]
    counts = subprocess.run(
        [
            "psql",
            "-h",
            "127.0.0.1",
            "-p",
            port,
            "-U",
            "prefect",
            "-d",
            "prefect",
            "-Atc",
            "select (select count(*) from flow_run), (select count(*) from deployment)",
        ],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    flow_runs, deployments = map(int, counts.split("|"))
    assert flow_runs >= 6 and deployments == 6
