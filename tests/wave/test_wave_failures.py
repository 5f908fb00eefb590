"""A malformed registry entry, an unreachable repository, a push the remote rejects, a flow
that hangs and a work-pool clash: each is a clear per-project outcome while the rest of the wave
completes. (A file the codemod cannot process: tests/wave/test_wave_codemod_crash.py.)"""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest

from meta_flows.demo import EXAMPLES, make_remote
from meta_flows.orchestration.ledger import Ledger
from tests.wave.conftest import refs, write_registry

HANGS = """
import time

from prefect import Flow, task


@task
def wait_for_a_file_that_never_comes():
    time.sleep(600)


with Flow("hangs") as flow:
    wait_for_a_file_that_never_comes()
"""


@pytest.fixture(scope="module")
def report(prefect_api, legacy_cache, tmp_path_factory):
    import asyncio

    from meta_flows.adapters.prefect2.work_pools import apply_pools
    from meta_flows.flows.wave import migrate_wave, wave_result

    asyncio.run(apply_pools([{"name": "meta-flows-test", "type": "process"}]))
    os.environ["META_FLOWS_CACHE"] = str(legacy_cache)
    tmp = tmp_path_factory.mktemp("wave-failures")
    remotes = tmp / "remotes"
    good = make_remote(EXAMPLES / "acme-etl", remotes, "good")
    rejecting = make_remote(EXAMPLES / "acme-etl", remotes, "rejecting")
    hook = rejecting / "hooks" / "pre-receive"
    hook.write_text("#!/bin/sh\necho 'pushes are frozen for the audit' >&2\nexit 1\n")
    hook.chmod(hook.stat().st_mode | stat.S_IEXEC)
    source = tmp / "hanging-src"
    (source / "flows").mkdir(parents=True)
    (source / "flows" / "hangs.py").write_text(HANGS)
    hanging = make_remote(source, remotes, "hanging")
    clash = make_remote(EXAMPLES / "acme-etl", remotes, "pool-clash")
    registry = write_registry(
        tmp / "registry.yaml",
        [
            {"name": "good", "git_url": str(good)},
            {"name": "broken-entry"},  # no git_url
            {"name": "unreachable", "git_url": "http://127.0.0.1:9/nobody/nothing.git"},
            {"name": "rejecting", "git_url": str(rejecting)},
            # cut after 6 s; the others have the wave run's 120 s (a loaded machine may
            # take more than 6 s for a flow run that does finish)
            {"name": "hanging", "git_url": str(hanging), "validation_timeout": 6},
            # its shadow deployments fail: the pool exists
            # with another type
            {
                "name": "pool-clash",
                "git_url": str(clash),
                "work_pool": {"name": "meta-flows-test", "type": "kubernetes"},
            },
        ],
    )
    before = refs(rejecting)
    state = migrate_wave(
        wave="demo",
        registry=str(registry),
        workspace=str(tmp / "ws"),
        timeout=120,
        max_parallel=3,
        return_state=True,
    )
    result = wave_result(state)
    return {
        "state": state,
        "projects": {p["name"]: p for p in result["projects"]},
        "registry": registry,
        "rejecting": (rejecting, before),
        "clash": clash,
        "workspace": tmp / "ws",
    }


def test_the_rest_of_the_wave_completes(report):
    good = report["projects"]["good"]
    assert good["state"] == "promoted", good
    assert report["state"].is_failed()


def test_malformed_entry_names_file_line_and_field(report):
    broken = report["projects"]["broken-entry"]
    assert broken["state"] == "failed"
    assert f"{report['registry'].name}:" in broken["reason"] and "git_url" in broken["reason"]


def test_unreachable_repository(report):
    gone = report["projects"]["unreachable"]
    assert gone["state"] == "failed"
    assert gone["reason"].startswith("clone:") and "127.0.0.1:9" in gone["reason"]


def test_rejected_push_keeps_the_remote_message(report):
    rejected = report["projects"]["rejecting"]
    assert rejected["state"] == "failed"
    assert rejected["reason"].startswith("push:") and "pushes are frozen" in rejected["reason"]
    bare, before = report["rejecting"]
    assert refs(bare) == before  # nothing landed


def test_hanging_flow_is_cut_and_refused(report):
    hanging = report["projects"]["hanging"]
    assert hanging["state"] == "rolled-back"
    assert "hangs" in hanging["reason"] and "timed out" in hanging["reason"]
    assert "longer than 6" in hanging["reason"]  # the project's own timeout, not the wave's
    line = HANGS.splitlines().index("    time.sleep(600)") + 1
    assert (
        f"stuck at flows/hangs.py:{line} in wait_for_a_file_that_never_comes" in (hanging["reason"])
    )
    assert [f["verdict"] for f in hanging["flows"]] in (["legacy-error"], ["migrated-error"])


def test_registry_path_errors_are_clear(tmp_path):
    from meta_flows.core.registry import RegistryFileError, load_registry

    with pytest.raises(RegistryFileError) as info:
        load_registry(tmp_path / "missing.yaml")
    assert "missing.yaml" in str(info.value)
    assert Path(tmp_path).exists()


def test_shadow_deployment_failure_fails_the_project(report):
    clash = report["projects"]["pool-clash"]
    assert clash["state"] == "failed"
    assert (
        clash["reason"].startswith("shadow deployments: ") and "exists with type" in clash["reason"]
    ), clash["reason"]
    assert clash["reason"].count("shadow deployments:") == 1  # the step is named once
    assert "prefect2/demo" in refs(report["clash"])  # its migration branch was pushed before
    ledger = Ledger(str(report["workspace"]), "demo").get("pool-clash")
    assert (ledger.state.value, ledger.deployment_ids) == ("failed", [])
