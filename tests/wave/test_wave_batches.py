"""An all-or-nothing gate over a real wave: one refused project rolls back its whole batch, the
next batch is promoted, and a batch settles while the rest of the wave is still migrating."""

from __future__ import annotations

import asyncio
import os

import pytest

from meta_flows.demo import EXAMPLES, make_remote
from tests.wave.conftest import deployments_of, refs, write_registry


@pytest.fixture(scope="module")
def wave(prefect_api, legacy_cache, tmp_path_factory):
    from meta_flows.adapters.prefect2.work_pools import apply_pools
    from meta_flows.flows.wave import migrate_wave, wave_result

    asyncio.run(apply_pools([{"name": "meta-flows-test", "type": "process"}]))
    os.environ["META_FLOWS_CACHE"] = str(legacy_cache)
    tmp = tmp_path_factory.mktemp("wave-batches")
    remotes = {
        "first": make_remote(EXAMPLES / "acme-etl", tmp / "remotes", "first"),
        "differs": make_remote(EXAMPLES / "billing-reports", tmp / "remotes", "differs"),
        "last": make_remote(EXAMPLES / "acme-etl", tmp / "remotes", "last"),
    }
    before = {name: refs(bare) for name, bare in remotes.items()}
    registry = write_registry(
        tmp / "registry.yaml",
        [{"name": name, "git_url": str(bare)} for name, bare in remotes.items()],
        gate={"max_todos": 0, "batch_size": 2, "batch_policy": "all-or-nothing"},
    )
    state = migrate_wave(
        wave="demo",
        registry=str(registry),
        workspace=str(tmp / "ws"),
        max_parallel=1,
        return_state=True,
    )
    return {
        "state": state,
        "projects": {p["name"]: p for p in wave_result(state)["projects"]},
        "remotes": remotes,
        "before": before,
    }


def test_a_refused_project_rolls_back_its_whole_batch(wave):
    first, differs = wave["projects"]["first"], wave["projects"]["differs"]
    assert differs["state"] == "rolled-back"
    assert "invoice-export" in differs["reason"]
    assert first["state"] == "rolled-back"
    assert first["reason"] == "batch rolled back (all-or-nothing): differs refused"
    assert {f["verdict"] for f in first["flows"]} == {"equal"}  # it passed on its own
    for name in ("first", "differs"):
        assert refs(wave["remotes"][name])["main"] == wave["before"][name]["main"]


def test_the_next_batch_is_promoted(wave):
    last = wave["projects"]["last"]
    assert last["state"] == "promoted", last["reason"]
    assert refs(wave["remotes"]["last"])["main"] != wave["before"]["last"]["main"]  # merged
    promoted = [d for d, _ in deployments_of("meta-flows-promoted")]
    assert any("project:last" in d.tags for d in promoted)
    assert not any({"project:first", "project:differs"} & set(d.tags) for d in promoted)


def test_the_first_batch_settles_while_the_last_project_still_migrates(wave):
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import FlowRunFilter, FlowRunFilterId

    async def task_runs():
        async with get_client() as client:
            runs = await client.read_task_runs(
                flow_run_filter=FlowRunFilter(
                    id=FlowRunFilterId(any_=[wave["state"].state_details.flow_run_id])
                )
            )
            return {r.name: r for r in runs}

    runs = asyncio.run(task_runs())
    assert {"settle-first", "settle-differs", "settle-last", "migrate-last"} <= set(runs)
    # the first batch (first, differs) is settled as soon as "differs" has migrated
    assert runs["settle-first"].start_time > runs["migrate-differs"].end_time
    decided = runs["migrate-differs"].end_time
    # max_parallel 1: "last" is prepared while "differs" validates, and validates after it
    # unless "differs" was still being prepared: then the batch is decided last
    if runs["migrate-last"].end_time > decided:
        assert runs["settle-first"].start_time < runs["migrate-last"].end_time
    assert runs["settle-last"].start_time >= runs["migrate-last"].end_time
