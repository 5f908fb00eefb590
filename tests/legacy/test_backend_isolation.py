"""Prefect 1 code that inventory and validation load and run never reaches a real Prefect 1
backend: not the one the operator's settings name, not the one ``~/.prefect`` names, and it
fails at once instead of retrying for a minute.

"Production" here is a local HTTP server that records every request; the operator's
environment and home directory point Prefect 1 at it, with an API key.
"""

from __future__ import annotations

import os
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from meta_flows.sandbox.inventory import inventory_repo
from meta_flows.sandbox.legacy.env import REFUSED_BACKEND
from meta_flows.sandbox.legacy_run import run_legacy


class Production(BaseHTTPRequestHandler):
    seen: list[str] = []

    def _answer(self) -> None:
        Production.seen.append(f"{self.command} {self.path}")
        body = b'{"data": {"set_key_value": {"id": "1"}}}'
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    do_GET = do_POST = _answer

    def log_message(self, *args) -> None:
        pass


@pytest.fixture
def production(monkeypatch, tmp_path):
    server = ThreadingHTTPServer(("127.0.0.1", 0), Production)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    url = f"http://127.0.0.1:{server.server_address[1]}"
    Production.seen = []
    # the operator's settings...
    monkeypatch.setenv("PREFECT__BACKEND", "cloud")
    monkeypatch.setenv("PREFECT__CLOUD__API", url)
    monkeypatch.setenv("PREFECT__CLOUD__API_KEY", "production-key")
    monkeypatch.setenv("PREFECT__SERVER__ENDPOINT", url)
    # ...and files
    home = tmp_path / "home"
    (home / ".prefect").mkdir(parents=True)
    (home / ".prefect" / "backend.toml").write_text('backend = "cloud"\n')
    (home / ".prefect" / "config.toml").write_text(f'[cloud]\napi = "{url}"\n')
    monkeypatch.setenv("HOME", str(home))
    yield url
    server.shutdown()
    server.server_close()


FLOW = """
import prefect
from prefect import Flow, task
from prefect.client import Client


@task
def ask_the_backend():
    return Client().graphql("query { flow { id } }")


with Flow("asks") as flow:
    ask_the_backend()
"""

AT_IMPORT = """
from prefect import Flow, task
from prefect.backend import set_key_value

set_key_value("last-run", "now")


@task
def t():
    return 1


with Flow("writes-at-import") as flow:
    t()
"""


def test_inventory_of_a_module_that_writes_to_the_backend_reaches_nothing(
    production, base, legacy_root, tmp_path
):
    repo = tmp_path / "repo"
    repo.mkdir()
    (repo / "writes.py").write_text(AT_IMPORT)
    started = time.monotonic()
    result = inventory_repo(repo, env_root=legacy_root)
    assert time.monotonic() - started < 60
    assert Production.seen == []
    [error] = result.errors
    assert (error.file, error.kind) == ("writes.py", "import")
    [flow] = result.flows
    assert (flow.name, flow.method) == ("writes-at-import", "static")


def test_a_legacy_run_that_calls_the_backend_fails_fast_and_reaches_nothing(
    production, base, tmp_path
):
    (tmp_path / "asks.py").write_text(FLOW)
    started = time.monotonic()
    [capture] = run_legacy(tmp_path, [("asks.py", "asks")], env=base, timeout=60)
    assert time.monotonic() - started < 30
    assert Production.seen == []
    [task] = capture.tasks
    assert task.state == "Failed"
    assert REFUSED_BACKEND in (task.message or "")


TELLS = """
import os

from prefect import Flow, task


@task
def environment():
    return {k: os.environ.get(k) for k in ("AWS_SECRET_ACCESS_KEY", "GITHUB_TOKEN", "HOME",
                                          "PREFECT_API_KEY", "PREFECT__CONTEXT__SECRETS__DB")}


with Flow("tells") as flow:
    environment()
"""


def test_a_legacy_run_sees_no_credentials_of_the_wave(monkeypatch, base, tmp_path):
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "aws-production-secret")
    monkeypatch.setenv("GITHUB_TOKEN", "ghp_production")
    monkeypatch.setenv("PREFECT_API_KEY", "pnu_production")
    # Prefect 1's local secrets are how its flows get theirs outside a backend: they pass
    monkeypatch.setenv("PREFECT__CONTEXT__SECRETS__DB", "local-db-secret")
    (tmp_path / "tells.py").write_text(TELLS)
    [capture] = run_legacy(tmp_path, [("tells.py", "tells")], env=base, timeout=60)
    [task] = capture.tasks
    assert task.state == "Success", task.message
    seen = task.result
    assert seen["AWS_SECRET_ACCESS_KEY"] is None
    assert seen["GITHUB_TOKEN"] is None
    assert seen["PREFECT_API_KEY"] is None
    assert seen["PREFECT__CONTEXT__SECRETS__DB"] == "local-db-secret"
    assert seen["HOME"] != os.environ["HOME"]


STARTS_CHILDREN = """
from prefect import Flow, Parameter, task
from prefect.tasks.prefect import StartFlowRun, create_flow_run, wait_for_flow_run

close = StartFlowRun(flow_name="ledger-close", project_name="finance", wait=True)
kick = StartFlowRun(flow_name="report", project_name="finance")


@task
def after(month, started):
    return f"{month}: {started}"


with Flow("starts-children") as flow:
    month = Parameter("month", default="2024-01")
    closed = close(parameters={"threshold": 3})
    started = kick()
    run_id = create_flow_run(flow_name="audit", parameters={"month": month})
    waited = wait_for_flow_run(run_id, raise_final_state=True)
    after(month, started, upstream_tasks=[closed, waited])
"""


def test_a_legacy_run_starts_no_other_flow_and_records_the_attempts(production, base, tmp_path):
    """StartFlowRun/create_flow_run start no run (stand-ins, as the Prefect 2 side's
    run_deployment): recorded as effects, answered as a child that succeeded at once; those
    tasks are not compared (the migrated flow calls run_deployment in its body)."""
    (tmp_path / "starts.py").write_text(STARTS_CHILDREN)
    [capture] = run_legacy(tmp_path, [("starts.py", "starts-children")], env=base, timeout=60)
    assert Production.seen == []
    assert (capture.error, capture.final_state, capture.ok) == (None, "Success", True)
    assert sorted(capture.effects) == [  # in the order the tasks ran
        "StartFlowRun('ledger-close', {'threshold': 3})",
        "StartFlowRun('report', {})",
        "create_flow_run('audit', {'month': '2024-01'})",
    ]
    compared = {t.name: t for t in capture.tasks if not t.auto_generated}
    assert list(compared) == ["after"]
    assert compared["after"].result.startswith("2024-01: meta-flows-stand-in-")
    assert all(t.ok for t in capture.tasks), capture.tasks
