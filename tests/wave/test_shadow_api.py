"""meta_flows.adapters.prefect2.shadow against a real Prefect 2 API: shadow deployments, promotion, pause."""

from __future__ import annotations

import asyncio
import uuid

import pytest

from meta_flows.adapters.prefect2 import shadow
from meta_flows.core.deployments.declared import Declared

POOL = {"name": "meta-flows-shadow-test", "type": "process"}
SCHEDULE = {"cron": "0 6 * * *", "timezone": "UTC"}
CLONE = "prefect.deployments.steps.git_clone"


def _declared(tag: str, flows: list[str], *, promoted: bool = False) -> list[Declared]:
    """Deployments named d0, d1... of the flows ``flows`` (a name may repeat), as a committed
    prefect.yaml declares them (shadowing, or as promotion writes them)."""
    return [
        Declared(
            name=f"d{i}",
            entrypoint=f"flows/{flow}.py:{flow}",
            tags=[shadow.PROMOTED_TAG if promoted else shadow.SHADOW_TAG, f"project:{tag}"],
            schedules=[{**SCHEDULE, "active": promoted}],
            work_pool_name=POOL["name"],
            pull_steps=[
                {
                    CLONE: {
                        "repository": "file:///remote.git",
                        "branch": "main" if promoted else "prefect2/w",
                    }
                }
            ],
        )
        for i, flow in enumerate(flows)
    ]


def _shadows(tag: str, flows: list[str]) -> list[shadow.ShadowDeployment]:
    return asyncio.run(
        shadow.upsert_shadow_deployments(
            _declared(tag, flows),
            flow_names={
                (f"d{i}", f"flows/{flow}.py:{flow}"): f"{tag}-{flow}"
                for i, flow in enumerate(flows)
            },
            pools=[POOL],
            wave="w",
        )
    )


def _promote(tag: str, flows: list[str], ids: list[str]) -> int:
    return asyncio.run(shadow.promote_deployments(ids, _declared(tag, flows, promoted=True)))


async def _read(ids: list[str]) -> dict:
    from prefect.client.orchestration import get_client

    async with get_client() as client:
        return await shadow._read_all(client, ids)


async def _delete(deployment_id: str) -> None:
    from prefect.client.orchestration import get_client

    async with get_client() as client:
        await client.delete_deployment(uuid.UUID(deployment_id))


def test_one_flow_per_flow_name_and_every_deployment_inactive(prefect_api):
    tag = f"t{uuid.uuid4().hex[:8]}"
    made = _shadows(tag, ["a", "a", "b"])
    found = asyncio.run(_read([d.id for d in made]))
    assert [d.name for d in made] == ["d0", "d1", "d2"]
    by_name = {d.name: d for d in found.values()}
    # two deployments of one flow share it; the other flow is its own
    assert by_name["d0"].flow_id == by_name["d1"].flow_id != by_name["d2"].flow_id
    for deployment in found.values():
        assert shadow.SHADOW_TAG in deployment.tags
        assert [s.active for s in deployment.schedules] == [False]
    # a re-run updates the same deployments
    assert [d.id for d in _shadows(tag, ["a", "a", "b"])] == [d.id for d in made]


def test_reads_every_deployment_across_pages(prefect_api, monkeypatch):
    tag = f"t{uuid.uuid4().hex[:8]}"
    made = _shadows(tag, ["a", "b", "c"])
    monkeypatch.setattr(shadow, "READ_PAGE", 2)
    ids = [d.id for d in made]
    assert {str(k) for k in asyncio.run(_read(ids))} == set(ids)
    assert asyncio.run(_read([])) == {}


def test_promotion_makes_the_deployments_what_the_promoted_file_says(prefect_api):
    tag = f"t{uuid.uuid4().hex[:8]}"
    made = _shadows(tag, ["a", "b"])
    ids = [d.id for d in made]
    switched = _promote(tag, ["a", "b"], ids)
    assert switched == 2
    for deployment in asyncio.run(_read(ids)).values():
        assert shadow.PROMOTED_TAG in deployment.tags and shadow.SHADOW_TAG not in deployment.tags
        assert not deployment.paused and [s.active for s in deployment.schedules] == [True]
        step = deployment.pull_steps[0]["prefect.deployments.steps.git_clone"]
        assert step["branch"] == "main"

    asyncio.run(_delete(ids[0]))
    with pytest.raises(LookupError, match=ids[0]):
        _promote(tag, ["a", "b"], ids)
    # a live deployment the promoted file does not declare is named, not guessed
    with pytest.raises(LookupError, match="'d1' is not in the promoted prefect.yaml"):
        _promote(tag, ["a"], ids[1:])


def test_pause_skips_a_deleted_deployment_and_pauses_the_rest(prefect_api):
    tag = f"t{uuid.uuid4().hex[:8]}"
    made = _shadows(tag, ["a", "b"])
    ids = [d.id for d in made]
    _promote(tag, ["a", "b"], ids)
    asyncio.run(_delete(ids[0]))
    assert asyncio.run(shadow.pause_deployments(ids)) == 1  # the one schedule left
    (left,) = asyncio.run(_read(ids)).values()
    assert str(left.id) == ids[1]
    assert left.paused and [s.active for s in left.schedules] == [False]


def test_a_failed_promotion_pauses_what_it_switched_on(prefect_api, tmp_path):
    """A promotion that fails after activating the Prefect 2 schedules (e.g. Prefect 1's server
    cannot be reached to pause the old ones) leaves both running no longer: settle() pauses the
    project's deployments again and says so in the reason."""
    from meta_flows.core.registry import Prefect1Server, Project, Registry, Wave
    from meta_flows.orchestration.ledger import Ledger, ProjectState
    from meta_flows.orchestration.project import settle

    tag = f"t{uuid.uuid4().hex[:8]}"
    ids = [d.id for d in _shadows(tag, ["a"])]
    _promote(tag, ["a"], ids)  # what a half-done promotion leaves
    ledger = Ledger(str(tmp_path), "w")
    ledger.update(tag, state=ProjectState.VALIDATED, deployment_ids=ids)
    project = Project(
        name=tag,
        git_url=str(tmp_path / "no-such-remote.git"),  # the merge fails
        wave="w",
    )
    outcome = settle(
        project,
        Wave(name="w"),
        Registry(prefect1_server=Prefect1Server(url="http://127.0.0.1:9/graphql")),
        workspace=str(tmp_path),
        ledger_wave="w",
        promote_it=True,
        reason="gate passed",
        github_block=None,
        logger=__import__("logging").getLogger("test"),
    )
    assert outcome.state == "failed"
    assert outcome.reason.startswith("promotion: ")
    assert outcome.reason.endswith(
        "its Prefect 2 deployments were paused again (Prefect 1 keeps running)"
    )
    (deployment,) = asyncio.run(_read(ids)).values()
    assert deployment.paused and [s.active for s in deployment.schedules] == [False]


def test_a_deployment_another_project_owns_is_never_touched(prefect_api):
    """Two projects with a flow of the same name and a deployment of the same name: the second
    is refused, and the first's deployment is neither re-pointed, promoted nor paused by it."""
    tag = f"t{uuid.uuid4().hex[:8]}"
    ids = [d.id for d in _shadows(tag, ["a"])]
    other = [
        Declared(**{**vars(d), "tags": [shadow.SHADOW_TAG, "project:someone-else"]})
        for d in _declared(tag, ["a"])
    ]
    with pytest.raises(
        shadow.NotOwned, match=f"belongs to project:{tag}, not project:someone-else"
    ):
        asyncio.run(
            shadow.upsert_shadow_deployments(
                other, flow_names={("d0", "flows/a.py:a"): f"{tag}-a"}, pools=[POOL], wave="w"
            )
        )
    with pytest.raises(shadow.NotOwned, match="not promoted"):
        asyncio.run(shadow.promote_deployments(ids, other, "project:someone-else"))
    with pytest.raises(shadow.NotOwned, match="not paused, owned by another project"):
        asyncio.run(shadow.pause_deployments(ids, owner="project:someone-else"))
    (deployment,) = asyncio.run(_read(ids)).values()
    assert f"project:{tag}" in deployment.tags and not deployment.paused
    assert [s.active for s in deployment.schedules] == [False]
