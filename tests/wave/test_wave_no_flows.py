"""A repository with no Prefect 1 flow in scope fails its project at inventory, saying so, and
nothing is committed or pushed (it used to get a pushed commit with ``deployments: []``)."""

from __future__ import annotations

import json
import os

from meta_flows.demo import make_remote
from tests.wave.conftest import refs, write_registry


def test_no_flows_fails_the_project_and_pushes_nothing(prefect_api, legacy_cache, tmp_path):
    from meta_flows.flows.wave import migrate_wave

    os.environ["META_FLOWS_CACHE"] = str(legacy_cache)
    source = tmp_path / "src"
    (source / "lib").mkdir(parents=True)
    (source / "lib" / "helpers.py").write_text("def add(a, b):\n    return a + b\n")
    (source / "requirements.txt").write_text("")
    remote = make_remote(source, tmp_path / "remotes", "no-flows")
    before = refs(remote)
    registry = write_registry(
        tmp_path / "registry.yaml", [{"name": "no-flows", "git_url": str(remote)}]
    )
    report = tmp_path / "report.json"
    state = migrate_wave(
        wave="demo",
        registry=str(registry),
        workspace=str(tmp_path / "ws"),
        report=str(report),
        return_state=True,
    )
    assert state.is_failed()
    [project] = json.loads(report.read_text())["projects"]
    assert project["state"] == "failed"
    assert project["reason"].startswith("inventory: no Prefect 1 flow found in the repository")
    assert refs(remote) == before  # no migration branch, no commit
