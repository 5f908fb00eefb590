"""``meta-flows pools apply FILE``: create or update the planned work pools on a Prefect API.

Idempotent: a missing pool is created (with the file's base job template, or its worker type's
default when the file gives none); an existing pool of the same type gets the file's template when
it differs and is left alone otherwise; an existing pool of another type is an error for that pool
(Prefect cannot change a pool's type) while the others are still applied.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass
class PoolResult:
    name: str
    action: str  # created | updated | unchanged | error
    message: str = ""


async def apply_pools(pools: list[dict[str, Any]], client=None) -> list[PoolResult]:
    """Create/update each ``{name, type, base_job_template?}`` through ``client`` (or a new one)."""
    if client is None:
        from prefect.client.orchestration import get_client

        async with get_client() as new_client:
            return await apply_pools(pools, new_client)
    return [await _apply_one(pool, client) for pool in pools]


async def _apply_one(pool: dict[str, Any], client) -> PoolResult:
    from prefect.client.schemas.actions import WorkPoolCreate, WorkPoolUpdate
    from prefect.exceptions import ObjectNotFound
    from prefect.workers.utilities import get_default_base_job_template_for_infrastructure_type

    name, pool_type = pool["name"], pool["type"]
    template = pool.get("base_job_template")
    try:
        existing = await client.read_work_pool(name)
    except ObjectNotFound:
        existing = None
    try:
        if existing is None:
            if template is None:
                template = await get_default_base_job_template_for_infrastructure_type(pool_type)
            if template is None:
                return PoolResult(
                    name, "error", f"no default base job template known for type {pool_type!r}"
                )
            await client.create_work_pool(
                WorkPoolCreate(name=name, type=pool_type, base_job_template=template)
            )
            return PoolResult(name, "created", pool_type)
        if existing.type != pool_type:
            return PoolResult(
                name, "error", f"exists with type {existing.type!r}, not {pool_type!r}"
            )
        if template is None or existing.base_job_template == template:
            return PoolResult(name, "unchanged", pool_type)
        await client.update_work_pool(name, WorkPoolUpdate(base_job_template=template))
        return PoolResult(name, "updated", pool_type)
    except Exception as exc:  # an API refusal for one pool must not stop the others
        return PoolResult(name, "error", f"{type(exc).__name__}: {exc}")
