"""A production-style estate on an in-house framework: a monorepo whose flows are built with the
company package's own ``Flow`` (a Prefect 1 ``Flow`` subclass with extra options), installed
from a wheel through the estate's requirements.txt.

The wrapper is recognised from the Prefect 1 oracle (the inventory loads the estate's modules
with the company package installed) and, declared in the registry, without it; each flow is
migrated to a ``@flow``: with no TODO when the oracle read the wrapper's source and found its
extra options only stored on the flow object (a note names them), with one TODO naming them when
the wrapper is only declared; each validates ``equal``.

``month-end`` starts ``ledger-close`` by name (``StartFlowRun(..., wait=True)``): it becomes
``run_deployment`` of the deployment the wave gives ``ledger-close`` (``ledger-close/estate``),
failing when the child run fails, with no TODO of its own. Validation starts no child run on
either side: each side's attempt is recorded (``effects``) and answered as a child that
succeeded, so the parent validates ``equal`` on its own logic.
"""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import git
import pytest
import yaml

from meta_flows.demo import make_remote
from tests.wave.conftest import run_project_wave
from tests.wheels import package_files, write_wheel

pytestmark = pytest.mark.prefect
HERE = Path(__file__).resolve().parent
WHEEL = "vendor/acme_platform-1.0-py3-none-any.whl"
FLOW_FILES = (
    "pipelines/sales/daily_orders.py",
    "pipelines/finance/ledger_close.py",
    "pipelines/finance/month_end.py",
)
PARENT = "pipelines/finance/month_end.py"
CHILD_CALL = (
    '_raise_unless_completed(run_deployment(name="ledger-close/estate", '
    'parameters={"threshold": threshold}))'
)


def estate_remote(tmp_path: Path) -> Path:
    source = tmp_path / "estate"
    shutil.copytree(HERE / "fixture", source)
    write_wheel(source / WHEEL, package_files(HERE / "acme_platform"))
    return make_remote(source, tmp_path / "remotes", "estate")


def run_wave(tmp_path: Path, remote: Path, **project) -> dict:
    return run_project_wave(
        tmp_path, {"name": "estate", "git_url": str(remote), **project}, gate={"max_todos": 3}
    )


def assert_migrated(tmp_path: Path, remote: Path, result: dict, source_read: bool) -> None:
    """``source_read``: the oracle read the wrapper's source (its options are only stored on
    the flow object: a note, no TODO); else one TODO per flow naming the wrapper's options."""
    assert {f["name"]: f["verdict"] for f in result["flows"]} == {
        "daily-orders": "equal",
        "ledger-close": "equal",
        "month-end": "equal",
    }, result
    # nothing else is left to a human (no TODO for the child flow run)
    assert result["todos"] == (0 if source_read else 3), result
    assert result["state"] == "promoted", result
    repo = git.Repo(remote)
    for name in FLOW_FILES:
        code = repo.git.show(f"main:{name}")
        assert "with Flow(" not in code and "@flow(" in code, code
        todos = [line for line in code.splitlines() if "TODO(prefect2-migration)" in line]
        notes = [line for line in code.splitlines() if "only stored" in line]
        if source_read:
            assert todos == [] and len(notes) == 1, code
            assert notes[0].startswith("# prefect2-migration: code_owners=[") and (
                "acme_platform" in notes[0]
            ), code
        else:
            assert len(todos) == 1 and "acme_platform" in todos[0] and "code_owners" in todos[0]
            assert notes == [], code
    # the parent runs the child's real deployment: the one prefect.yaml declares for ledger-close
    parent = repo.git.show(f"main:{PARENT}")
    assert CHILD_CALL in parent and "prefect.tasks" not in parent, parent
    declared = yaml.safe_load(repo.git.show("main:prefect.yaml"))["deployments"]
    entrypoints = {d["entrypoint"]: d["name"] for d in declared}
    assert entrypoints["pipelines/finance/ledger_close.py:ledger_close"] == "estate"
    # the verdict's reason names what each side attempted: the same child, the same parameters
    ledger = json.loads((tmp_path / "ws" / "ledger" / "demo.json").read_text())
    [month_end] = [f for f in ledger["projects"]["estate"]["flows"] if f["name"] == "month-end"]
    assert month_end["reason"] == (
        "attempted, stopped by the sandbox: "
        "legacy: StartFlowRun('ledger-close', {'threshold': 3}); "
        "migrated: run_deployment('ledger-close/estate', {'threshold': 3})"
    )


def test_the_wrapper_is_learnt_from_the_prefect1_oracle(prefect_api, legacy_cache, tmp_path):
    from meta_flows.sandbox.inventory import inventory_repo

    os.environ["META_FLOWS_CACHE"] = str(legacy_cache)
    remote = estate_remote(tmp_path)
    checkout = git.Repo.clone_from(remote, tmp_path / "checkout").working_tree_dir
    inventory = inventory_repo(Path(checkout))
    # every name the company's Flow is reachable by
    assert {"acme_platform.Flow", "acme_platform.flows.Flow"} <= set(
        inventory.wrappers.flow_classes
    )
    # its source read: code_owners and skip_if_running are only stored on the flow object
    assert inventory.wrappers.flow_metadata == {
        name: ["code_owners", "skip_if_running"] for name in inventory.wrappers.flow_classes
    }
    assert sorted(f.function_name for f in inventory.flows) == [
        "daily_orders",
        "ledger_close",
        "month_end",
    ]
    assert_migrated(tmp_path, remote, run_wave(tmp_path, remote), source_read=True)


def test_a_declared_wrapper_is_used_without_the_oracle(
    prefect_api, legacy_cache, tmp_path, monkeypatch
):
    import meta_flows.sandbox.inventory as inventory

    os.environ["META_FLOWS_CACHE"] = str(legacy_cache)
    learnt = inventory._learn_wrappers

    def registry_only(inv, index, reports):  # what the probe found is ignored
        return learnt(inv, index, [r for r in reports if "event" not in r])

    monkeypatch.setattr(inventory, "_learn_wrappers", registry_only)
    remote = estate_remote(tmp_path)
    wrappers = {"flow_classes": ["acme_platform.Flow", "acme_platform.flows.Flow"]}
    result = run_wave(tmp_path, remote, wrappers=wrappers)
    assert_migrated(tmp_path, remote, result, source_read=False)
