"""Shadow deployments on the Prefect 2 API: create them, then promote or roll back.

A Prefect API adapter (like :mod:`meta_flows.adapters.prefect2.work_pools`) used by the wave. The
deployments are the ones the migration branch's committed ``prefect.yaml`` declares
(:mod:`meta_flows.core.deployments.declared`), created with the fields ``prefect deploy`` sends for
them: the file's schedules are inactive and its tags include ``meta-flows-shadow`` while they
shadow the Prefect 1 flows.

- :func:`upsert_shadow_deployments` is idempotent: Prefect upserts a deployment by flow and name,
  so a re-run updates the same deployment (same id) instead of adding one.
- :func:`promote_deployments` makes each deployment what the promoted ``prefect.yaml`` says
  (schedules on, promoted tag, the default branch's pull step) and unpauses it.
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
from meta_flows.core.deployments.declared import Declared
from meta_flows.core.deployments.plan import PROMOTED_TAG, SHADOW_TAG
from meta_flows.core.deployments.storage import git_clone_step
from meta_flows.patches import prefect_client

__all__ = ["PROMOTED_TAG", "SHADOW_TAG"]


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
    entrypoint: str = ""  # <file>:<flow function>

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
    return [git_clone_step(git_url, branch)]


def schedule_of(entry: dict[str, Any]):
    """A ``prefect.yaml`` schedules entry as Prefect's schedule object (``active`` aside)."""
    from prefect.client.schemas.schedules import construct_schedule

    return construct_schedule(
        interval=entry.get("interval"),
        anchor_date=entry.get("anchor_date"),
        cron=entry.get("cron"),
        rrule=entry.get("rrule"),
        timezone=entry.get("timezone"),
    )


def _create_fields(declared: Declared) -> dict[str, Any]:
    """The create-deployment arguments a declared deployment gives (what ``prefect deploy``
    sends for these keys)."""
    from prefect.client.schemas.actions import DeploymentScheduleCreate

    return dict(
        name=declared.name,
        entrypoint=declared.entrypoint,
        parameters=declared.parameters,
        tags=declared.tags,
        schedules=[
            DeploymentScheduleCreate(schedule=schedule_of(entry), active=bool(entry["active"]))
            for entry in declared.schedules
        ],
        work_pool_name=declared.work_pool_name,
        job_variables=declared.job_variables,
        pull_steps=declared.pull_steps,
    )


class NotOwned(RuntimeError):
    """A deployment of the same name belongs to another project (or to no meta-flows project):
    meta-flows does not touch it."""


def owner_tag(tags: list[str]) -> str | None:
    """The ``project:<registry project>`` tag meta-flows puts on the deployments it owns."""
    found = [t for t in tags if t.startswith("project:")]
    return found[0] if found else None


async def _existing_owner(client, flow_name: str, name: str) -> tuple[bool, str | None]:
    """(exists, its owner tag) of the deployment ``flow_name/name``."""
    from prefect.exceptions import ObjectNotFound

    try:
        existing = await _retried(client.read_deployment_by_name, f"{flow_name}/{name}")
    except ObjectNotFound:
        return False, None
    return True, owner_tag(existing.tags)


async def upsert_shadow_deployments(
    declared: list[Declared],
    *,
    flow_names: dict[tuple[str, str], str],
    pools: list[dict[str, Any]],
    wave: str,
    schemas: dict[tuple[str, str], dict[str, Any]] | None = None,
    client=None,
) -> list[ShadowDeployment]:
    """Create or update one deployment per declared one (a committed ``prefect.yaml``: its
    schedules as the file says, inactive while shadowing); its work ``pools`` created first.

    ``flow_names``: :attr:`Declared.key` -> the Prefect 2 flow name; ``schemas``: the same key
    -> the parameter schema of its flow (the UI's run form).
    """
    if client is None:
        from prefect.client.orchestration import get_client

        async with get_client() as new_client:
            return await upsert_shadow_deployments(
                declared,
                flow_names=flow_names,
                pools=pools,
                wave=wave,
                schemas=schemas,
                client=new_client,
            )
    async with _POOLS_LOCK:
        results = await apply_pools(pools, client)
        if any(r.action == "error" and "AlreadyExists" in r.message for r in results):
            results = await apply_pools(pools, client)  # created meanwhile by another process
    for result in results:
        if result.action == "error":
            raise RuntimeError(f"work pool {result.name!r}: {result.message}")

    # Prefect creates a flow with one INSERT (no read before it, so no conflict with other
    # writers): every flow at once, outside the one-write-at-a-time lock the upserts need
    names = sorted({flow_names[d.key] for d in declared})
    flow_ids = dict(
        zip(
            names,
            await _each(names, lambda n: _retried(client.create_flow_from_name, n)),
            strict=True,
        )
    )

    async def one(deployment: Declared) -> ShadowDeployment:
        owner = owner_tag(deployment.tags)
        flow_name = flow_names[deployment.key]
        exists, current = await _existing_owner(client, flow_name, deployment.name)
        if exists and current != owner:
            raise NotOwned(
                f"deployment {flow_name}/{deployment.name} exists and belongs to "
                f"{current or 'no meta-flows project'}, not {owner}: not touched"
            )
        fields = _create_fields(deployment)
        if schemas and deployment.key in schemas:
            fields["parameter_openapi_schema"] = schemas[deployment.key]
        deployment_id = await _write(
            client.create_deployment,
            flow_id=flow_ids[flow_names[deployment.key]],
            description=f"Migrated from Prefect 1 by meta-flows (wave {wave}).",
            paused=False,
            **fields,
        )
        return ShadowDeployment(
            str(deployment_id),
            deployment.name,
            flow_names[deployment.key],
            len(deployment.schedules),
            deployment.entrypoint,
        )

    return await _each(declared, one)


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
    ids: list[str], declared: list[Declared], owner: str | None = None, client=None
) -> int:
    """Make the live deployments ``ids`` what ``declared`` (the promoted branch's committed
    ``prefect.yaml``) says, unpaused: its schedules on, its tags and pull steps. Returns the
    number of schedules switched on. With ``owner`` (a ``project:`` tag), a deployment another
    project owns raises :class:`NotOwned` untouched."""
    if client is None:
        from prefect.client.orchestration import get_client

        async with get_client() as new_client:
            return await promote_deployments(ids, declared, owner, client=new_client)

    deployments = await _read_all(client, ids)
    by_key = {d.key: d for d in declared}

    async def one(raw: str) -> int:
        deployment = deployments.get(UUID(raw))
        if deployment is None:
            raise LookupError(f"deployment {raw} not found: deleted since its shadow was made?")
        if owner is not None and owner_tag(deployment.tags) != owner:
            raise NotOwned(
                f"deployment {deployment.name} ({raw}) belongs to "
                f"{owner_tag(deployment.tags) or 'no meta-flows project'}, not {owner}: "
                "not promoted"
            )
        wanted = by_key.get((deployment.name, deployment.entrypoint))
        if wanted is None:
            raise LookupError(f"deployment {deployment.name!r} is not in the promoted prefect.yaml")
        # Prefect upserts by flow and name: the same deployment (id), schedules replaced
        await _write(
            client.create_deployment,
            flow_id=deployment.flow_id,
            description=deployment.description,
            parameter_openapi_schema=deployment.parameter_openapi_schema,
            paused=False,
            **_create_fields(wanted),
        )
        before = sum(1 for s in deployment.schedules if s.active)
        return sum(1 for s in wanted.schedules if s["active"]) - before

    # one at a time: promotion runs when several projects settle at once and the writes take
    # turns; reads queued ahead of them on the server would only delay the next write
    return sum(await _each(ids, one, at_once=1))


async def pause_deployments(ids: list[str], client=None, owner: str | None = None) -> int:
    """Deactivate every schedule and pause each deployment; returns schedules switched off.
    With ``owner`` (a ``project:`` tag), a deployment another project owns raises
    :class:`NotOwned` after the others are paused."""
    if client is None:
        from prefect.client.orchestration import get_client

        async with get_client() as new_client:
            return await pause_deployments(ids, new_client, owner)

    deployments = await _read_all(client, ids)
    foreign = [
        f"{d.name} ({d.id}, {owner_tag(d.tags) or 'no meta-flows project'})"
        for d in deployments.values()
        if owner is not None and owner_tag(d.tags) != owner
    ]

    async def one(raw: str) -> int:
        deployment_id = UUID(raw)
        deployment = deployments.get(deployment_id)
        if deployment is None:
            return 0  # deleted by a human: nothing left to pause
        if owner is not None and owner_tag(deployment.tags) != owner:
            return 0  # another project's: never paused here (said below)
        switched = await _set_schedules(client, deployment, False)
        if not deployment.paused:
            await _write(client.set_deployment_paused_state, deployment_id, True)
        return switched

    switched = sum(await _each(ids, one))
    if foreign:
        raise NotOwned(f"not paused, owned by another project: {', '.join(foreign)}")
    return switched


# ------------------------------------------------------------------------------ drift


def _schedule_json(schedule) -> dict[str, Any]:
    import json

    return json.loads(schedule.json())


def declared_state(declared: Declared) -> dict[str, Any]:
    """The fields ``wave verify`` compares, as a declared deployment gives them to the API."""
    state = declared.compared()
    state["schedules"] = [
        {"schedule": _schedule_json(schedule_of(entry)), "active": bool(entry["active"])}
        for entry in declared.schedules
    ]
    return state


def live_state(deployment) -> dict[str, Any]:
    """The same fields of a deployment read from the API."""
    return {
        "entrypoint": deployment.entrypoint,
        "parameters": deployment.parameters,
        "tags": sorted(deployment.tags),
        "work_pool_name": deployment.work_pool_name,
        "job_variables": deployment.job_variables or {},
        "pull_steps": deployment.pull_steps or [],
        "schedules": [
            {"schedule": _schedule_json(s.schedule), "active": s.active}
            for s in deployment.schedules
        ],
    }


async def read_deployments(ids: list[str], client=None) -> dict[str, Any]:
    """{id: deployment} of ``ids`` still on the API."""
    if client is None:
        from prefect.client.orchestration import get_client

        async with get_client() as new_client:
            return await read_deployments(ids, new_client)
    return {str(k): v for k, v in (await _read_all(client, ids)).items()}
