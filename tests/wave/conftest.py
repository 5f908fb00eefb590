"""Helpers for the wave tests: demo remotes, registries, a webhook receiver, API reads."""

from __future__ import annotations

import asyncio
import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import git
import pytest
import yaml

from meta_flows.demo import DEMO_PROJECTS, EXAMPLES, make_remote
from tests.legacy.conftest import base, legacy_cache, legacy_root  # noqa: F401


class Receiver:
    """A local HTTP endpoint that records every POST body (the webhook of a notification)."""

    def __init__(self) -> None:
        bodies = self.bodies = []

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):  # noqa: N802 - http.server's naming
                length = int(self.headers.get("Content-Length") or 0)
                bodies.append(self.rfile.read(length).decode("utf-8", "replace"))
                self.send_response(200)
                self.end_headers()
                self.wfile.write(b"ok")

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hook"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()


@pytest.fixture(scope="module")
def receiver():
    r = Receiver()
    yield r
    r.close()


def demo_remotes(root: Path) -> dict[str, Path]:
    return {name: make_remote(EXAMPLES / name, root, name) for name in DEMO_PROJECTS}


def write_registry(
    path: Path, projects: list[dict], *, webhook: str | None = None, gate=None, extra=None
):
    data: dict = {"waves": [{"name": "demo", "order": 1, "gate": gate or {"max_todos": 0}}]}
    data["projects"] = [
        {"wave": "demo", "work_pool": {"name": "meta-flows-test", "type": "process"}, **p}
        for p in projects
    ]
    if webhook:
        data["notifications"] = {"webhook_url": webhook}
    data.update(extra or {})
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    return path


def run_project_wave(tmp_path: Path, project: dict, *, gate=None) -> dict:
    """Run the ``demo`` wave of a registry holding only ``project`` (workspace and report under
    ``tmp_path``); that project's entry of the report."""
    from meta_flows.flows.wave import migrate_wave

    registry = write_registry(tmp_path / "registry.yaml", [project], gate=gate)
    report = tmp_path / "report.json"
    migrate_wave(
        wave="demo",
        registry=str(registry),
        workspace=str(tmp_path / "ws"),
        report=str(report),
        return_state=True,
    )
    [result] = json.loads(report.read_text())["projects"]
    return result


def refs(bare: Path) -> dict[str, str]:
    repo = git.Repo(bare)
    return {h.name: h.commit.hexsha for h in repo.heads}


def deployments_of(tag: str) -> list:
    """Every deployment carrying ``tag``, with its schedules: [(deployment, schedules)]."""
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import DeploymentFilter, DeploymentFilterTags

    async def read():
        async with get_client() as client:
            found = await client.read_deployments(
                deployment_filter=DeploymentFilter(tags=DeploymentFilterTags(all_=[tag]))
            )
            return [(d, await client.read_deployment_schedules(d.id)) for d in found]

    return asyncio.run(read())


def load_json(path: Path) -> dict:
    return json.loads(path.read_text())


@pytest.fixture()
def own_api(legacy_cache):  # noqa: F811 - the fixture imported above
    """A Prefect server of this test's own (its flow runs, pools and limits seen by no other
    test), which this process and the workers and children it starts talk to; yields its URL."""
    import os
    import tempfile

    from prefect.settings import PREFECT_API_URL, temporary_settings

    from meta_flows.adapters.prefect2.local_server import start_server

    server = start_server(Path(tempfile.mkdtemp(prefix="meta-flows-own-server-")), events=False)
    saved = {k: os.environ.get(k) for k in ("PREFECT_API_URL", "META_FLOWS_CACHE")}
    os.environ["PREFECT_API_URL"] = server.url
    os.environ["META_FLOWS_CACHE"] = str(legacy_cache)
    try:
        with temporary_settings(updates={PREFECT_API_URL: server.url}):
            yield server.url
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value
        server.stop()
