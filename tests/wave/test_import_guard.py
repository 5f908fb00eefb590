"""The wave's guard before commit: a rewrite that would leave a first-party import unresolved
(a module-level definition dropped in one file while another file still imports it) fails its
project, naming the import, and nothing is committed or pushed."""

from __future__ import annotations

import json
import os

from meta_flows.demo import make_remote
from tests.wave.conftest import refs, write_registry

SHARED = 'from prefect import Parameter\n\nDAY = Parameter("day", default="2024-01-01")\n'
FLOW = """\
from prefect import Flow, task

from flows.shared import DAY


@task
def show(day):
    return day


with Flow("shows-the-day") as flow:
    show(DAY)
"""


def test_a_rewrite_that_breaks_an_import_is_not_committed(prefect_api, legacy_cache, tmp_path):
    from meta_flows.flows.wave import migrate_wave

    os.environ["META_FLOWS_CACHE"] = str(legacy_cache)
    source = tmp_path / "src"
    (source / "flows").mkdir(parents=True)
    (source / "flows" / "__init__.py").write_text("")
    (source / "flows" / "shared.py").write_text(SHARED)
    (source / "flows" / "day.py").write_text(FLOW)
    (source / "requirements.txt").write_text("prefect==1.4.1\n")
    remote = make_remote(source, tmp_path / "remotes", "dangling")
    before = refs(remote)
    registry = write_registry(
        tmp_path / "registry.yaml", [{"name": "dangling", "git_url": str(remote)}]
    )
    report = tmp_path / "report.json"
    migrate_wave(
        wave="demo",
        registry=str(registry),
        workspace=str(tmp_path / "ws"),
        report=str(report),
        return_state=True,
    )
    [project] = json.loads(report.read_text())["projects"]
    assert project["state"] == "failed"
    assert project["reason"].startswith("rewrite: imports the rewrite would break")
    assert "flows/day.py:3: imports 'DAY' from flows.shared" in project["reason"]
    assert refs(remote) == before
