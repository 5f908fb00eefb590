"""Shadow deployments on the Prefect 2 API: create them inactive, then promote or roll back.

A Prefect API adapter (like :mod:`meta_flows.adapters.prefect2.work_pools`) used by the wave. A translated
:class:`~meta_flows.core.deployments.translate.DeploymentPlan` becomes a deployment that pulls the
migration branch (a ``git_clone`` pull step), with every schedule **inactive** and the tags
``meta-flows-shadow`` and ``wave:<wave>``: it shadows the Prefect 1 flow until promotion.

- :func:`upsert_shadow_deployments` is idempotent: Prefect upserts a deployment by flow and name,
  so a re-run updates the same deployment (same id) instead of adding one.
- :func:`promote_deployments` activates every schedule, unpauses the deployment and, when the
  migration branch was merged, points the pull step at the default branch.
- :func:`pause_deployments` deactivates every schedule and pauses the deployment (rollback); the
  deployment itself stays for humans to inspect.
"""

from __future__ import annotations

import asyncio
import random
import threading
import time
from dataclasses import dataclass
from typing import Any
from uuid import UUID

from meta_flows.adapters.prefect2.work_pools import apply_pools
from meta_flows.core.deployments.plan import DeploymentPlan, Plan
from meta_flows.patches import prefect_client

SHADOW_TAG = "meta-flows-shadow"
PROMOTED_TAG = "meta-flows-promoted"


class _ThreadSafeLock:
    """An async context manager over a threading lock (projects deploy from several threads,
    each with its own event loop)."""

    def __init__(self, poll: float = 0.05) -> None:
        self._lock = threading.Lock()
        self._poll = poll

    async def __aenter__(self) -> None:
        while not self._lock.acquire(blocking=False):
            await asyncio.sleep(self._poll)

    async def __aexit__(self, *exc) -> None:
        self._lock.release()


_POOLS_LOCK = _ThreadSafeLock()
# One deployment write at a time in this process: Prefect's create-deployment handler reads before
# it writes in one SQLite transaction, which fails ("database is locked", a 503) when another
# write commits in between; our own concurrent writes were most of those (a 50-project wave
# writing 4 at a time: 609 conflicts for 900 writes)
_WRITE_LOCK = _ThreadSafeLock(poll=0.005)
# How long one write keeps retrying a busy API before its project fails. While validation runs
# write, about one upsert in two meets another write between its read and its write (a 503),
# sometimes a dozen times in a row: patience is measured in time, not attempts.
WRITE_PATIENCE = 180.0


async def _write(call, *args, **kwargs):
    """One idempotent API write (an upsert, a state set), one at a time in this process; a
    ``503`` (on SQLite: another writer held the database) or a dropped connection is retried at
    once.

    Prefect's client retries those after 2, 4, 8... seconds; a wave writes while its validation
    runs write too, so such conflicts are routine and brief: we retry after 50 ms, doubling up to
    1 s (with jitter), for up to ``WRITE_PATIENCE`` seconds, and let any other error through.
    """
    return await _retried(call, *args, lock=_WRITE_LOCK, **kwargs)


async def _retried(call, *args, lock=None, **kwargs):
    """``await call(...)`` (a method of a Prefect client; holding ``lock`` if given) with
    :func:`_write`'s retries, each request sent once (see :func:`meta_flows.patches.prefect_client.send_once`)."""
    import contextlib

    import httpx

    owner = getattr(getattr(call, "__self__", None), "_client", None)
    if owner is not None:
        prefect_client.send_once(owner)
    deadline = time.monotonic() + WRITE_PATIENCE
    attempt = 0
    while True:
        token = prefect_client.ONCE.set(True)
        try:
            async with lock or contextlib.nullcontext():
                return await call(*args, **kwargs)
        except httpx.HTTPStatusError as exc:
            if exc.response.status_code != 503 or time.monotonic() >= deadline:
                raise
        except httpx.TransportError:  # what Prefect's client retries: reset, timeout, protocol
            if time.monotonic() >= deadline:
                raise
        finally:
            prefect_client.ONCE.reset(token)
        await asyncio.sleep(min(0.05 * 2 ** min(attempt, 5), 1.0) * (0.5 + random.random()))
        attempt += 1


@dataclass
class ShadowDeployment:
    id: str
    name: str  # deployment name
    flow_name: str  # the Prefect 2 flow name
    schedules: int

    @property
    def full_name(self) -> str:
        return f"{self.flow_name}/{self.name}"


READ_PAGE = 200  # the API's largest page (PREFECT_API_DEFAULT_LIMIT)
CONCURRENT_CALLS = 4  # deployments handled at once: their reads overlap (writes take turns)


async def _each(items, call, at_once: int = CONCURRENT_CALLS) -> list:
    """``await call(item)`` for every item, ``at_once`` at a time; results in the items' order."""
    limit = asyncio.Semaphore(at_once)

    async def bounded(item):
        async with limit:
            return await call(item)

    return list(await asyncio.gather(*(bounded(item) for item in items)))


def git_pull_steps(git_url: str, branch: str) -> list[dict[str, Any]]:
    """Clone ``branch`` of ``git_url`` at run time (the working directory becomes the clone)."""
    return [{"prefect.deployments.steps.git_clone": {"repository": git_url, "branch": branch}}]


def _schedule(entry: dict[str, Any]):
    from prefect.client.schemas.schedules import construct_schedule

    return construct_schedule(
        interval=entry.get("interval"),
        anchor_date=entry.get("anchor_date"),
        cron=entry.get("cron"),
        rrule=entry.get("rrule"),
        timezone=entry.get("timezone"),
    )


def target_pool(
    deployment: DeploymentPlan, pool: tuple[str, str] | None
) -> tuple[str, str | None, dict[str, Any]]:
    """(pool name, pool type or None when planned, job variables) for one deployment."""
    planned = deployment.work_pool or {}
    if pool is None:
        return planned.get("name", "default"), None, dict(planned.get("job_variables") or {})
    return pool[0], pool[1], {}


async def upsert_shadow_deployments(
    plan: Plan,
    *,
    git_url: str,
    branch: str,
    wave: str,
    project: str,
    pool: tuple[str, str] | None = None,
    client=None,
) -> list[ShadowDeployment]:
    """Create or update one inactive deployment per planned deployment; pools created first.

    ``pool`` = (name, type) sends every deployment to that work pool (the registry's target
    pool; job variables planned for another pool type are dropped); without it each deployment
    goes to its planned pool.
    """
    if client is None:
        from prefect.client.orchestration import get_client

        async with get_client() as new_client:
            return await upsert_shadow_deployments(
                plan,
                git_url=git_url,
                branch=branch,
                wave=wave,
                project=project,
                pool=pool,
                client=new_client,
            )
    from prefect.client.schemas.actions import DeploymentScheduleCreate

    if pool is not None:
        pools = [{"name": pool[0], "type": pool[1]}]
    else:
        pools = [p.to_dict() for p in plan.pools]
    async with _POOLS_LOCK:
        results = await apply_pools(pools, client)
        if any(r.action == "error" and "AlreadyExists" in r.message for r in results):
            results = await apply_pools(pools, client)  # created meanwhile by another process
    for result in results:
        if result.action == "error":
            raise RuntimeError(f"work pool {result.name!r}: {result.message}")

    # Prefect creates a flow with one INSERT (no read before it, so no conflict with other
    # writers): every flow at once, outside the one-write-at-a-time lock the upserts need
    names = sorted({d.flow_name for d in plan.deployments})
    flow_ids = dict(
        zip(
            names,
            await _each(names, lambda n: _retried(client.create_flow_from_name, n)),
            strict=True,
        )
    )

    async def one(deployment: DeploymentPlan) -> ShadowDeployment:
        pool_name, _, job_variables = target_pool(deployment, pool)
        flow_id = flow_ids[deployment.flow_name]
        schedules = [
            DeploymentScheduleCreate(schedule=_schedule(entry), active=False)
            for entry in deployment.schedules
        ]
        tags = sorted(
            {
                # the registry's project name (the rollback automation matches it); a
                # Prefect 1 project name the translator tagged stays as prefect1-project:
                *(f"prefect1-{t}" if t.startswith("project:") else t for t in deployment.tags),
                SHADOW_TAG,
                f"wave:{wave}",
                f"project:{project}",
            }
        )
        deployment_id = await _write(
            client.create_deployment,
            flow_id=flow_id,
            name=deployment.name,
            entrypoint=deployment.entrypoint,
            parameters=deployment.parameters,
            tags=tags,
            schedules=schedules,
            work_pool_name=pool_name,
            job_variables=job_variables,
            pull_steps=git_pull_steps(git_url, branch),
            description=f"Migrated from Prefect 1 by meta-flows (wave {wave}); shadow until "
            f"promoted.",
        )
        return ShadowDeployment(
            str(deployment_id), deployment.name, deployment.flow_name, len(schedules)
        )

    return await _each(plan.deployments, one)


async def _read_all(client, ids: list[str]) -> dict:
    """{id: deployment} for ``ids``, read with one request per page of ``READ_PAGE`` (each carries
    its schedules); ids no longer found are left out."""
    from prefect.client.schemas.filters import DeploymentFilter, DeploymentFilterId

    found = {}
    for start in range(0, len(ids), READ_PAGE):
        page = [UUID(i) for i in ids[start : start + READ_PAGE]]
        for d in await client.read_deployments(
            deployment_filter=DeploymentFilter(id=DeploymentFilterId(any_=page)), limit=len(page)
        ):
            found[d.id] = d
    return found


async def _set_schedules(client, deployment, active: bool) -> int:
    """Switch the schedules of ``deployment`` (as read: it carries them) on or off."""
    changed = 0
    deployment_id = deployment.id
    for schedule in deployment.schedules:
        if schedule.active != active:
            await _write(
                client.update_deployment_schedule, deployment_id, schedule.id, active=active
            )
            changed += 1
    return changed


async def promote_deployments(
    ids: list[str], *, git_url: str | None = None, branch: str | None = None, client=None
) -> int:
    """Activate every schedule, unpause, tag promoted; with ``git_url``/``branch`` the pull step
    clones that branch from now on. Returns the number of schedules switched on."""
    if client is None:
        from prefect.client.orchestration import get_client

        async with get_client() as new_client:
            return await promote_deployments(ids, git_url=git_url, branch=branch, client=new_client)
    from prefect.client.schemas.actions import DeploymentScheduleCreate

    deployments = await _read_all(client, ids)

    async def one(raw: str) -> int:
        deployment = deployments.get(UUID(raw))
        if deployment is None:
            raise LookupError(f"deployment {raw} not found: deleted since its shadow was made?")
        schedules = deployment.schedules
        tags = sorted({*(set(deployment.tags) - {SHADOW_TAG}), PROMOTED_TAG})
        pull_steps = (
            git_pull_steps(git_url, branch) if git_url and branch else deployment.pull_steps
        )
        # Prefect upserts by flow and name: the same deployment (id), schedules replaced
        await _write(
            client.create_deployment,
            flow_id=deployment.flow_id,
            name=deployment.name,
            entrypoint=deployment.entrypoint,
            parameters=deployment.parameters,
            tags=tags,
            schedules=[
                DeploymentScheduleCreate(schedule=s.schedule, active=True) for s in schedules
            ],
            work_pool_name=deployment.work_pool_name,
            job_variables=deployment.job_variables,
            pull_steps=pull_steps,
            description=deployment.description,
            paused=False,
        )
        return sum(1 for s in schedules if not s.active)

    # one at a time: promotion runs when several projects settle at once and the writes take
    # turns; reads queued ahead of them on the server would only delay the next write
    return sum(await _each(ids, one, at_once=1))


async def pause_deployments(ids: list[str], client=None) -> int:
    """Deactivate every schedule and pause each deployment; returns schedules switched off."""
    if client is None:
        from prefect.client.orchestration import get_client

        async with get_client() as new_client:
            return await pause_deployments(ids, new_client)

    deployments = await _read_all(client, ids)

    async def one(raw: str) -> int:
        deployment_id = UUID(raw)
        deployment = deployments.get(deployment_id)
        if deployment is None:
            return 0  # deleted by a human: nothing left to pause
        switched = await _set_schedules(client, deployment, False)
        if not deployment.paused:
            await _write(client.set_deployment_paused_state, deployment_id, True)
        return switched

    return sum(await _each(ids, one))
