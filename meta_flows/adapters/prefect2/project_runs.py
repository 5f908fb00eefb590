"""The ``migrate-project`` deployment a wave runs its projects through when they run on workers.

:func:`ensure_deployment` creates or updates the deployment on the wave's work pool (creating a
process pool of that name when there is none); :func:`start_run`, :func:`read_run` and
:func:`crash_run` are the flow-run calls the wave makes while it waits for each project.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from uuid import UUID

DEPLOYMENT_NAME = "meta-flows"


@dataclass
class RunState:
    """What the wave reads of one project's flow run."""

    id: str
    name: str
    state: str  # StateType value: SCHEDULED, PENDING, RUNNING, COMPLETED, FAILED, CRASHED...
    message: str
    worker: str | None  # "process <pid>" once a worker started it


def _run(coro):
    return asyncio.run(coro)


async def _ensure(flow_name, pool, entrypoint, path, schema, description) -> tuple[str, bool]:
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.actions import WorkPoolCreate
    from prefect.exceptions import ObjectAlreadyExists, ObjectNotFound
    from prefect.workers.utilities import get_default_base_job_template_for_infrastructure_type

    created = False
    async with get_client() as client:
        try:
            await client.read_work_pool(pool)
        except ObjectNotFound:
            template = await get_default_base_job_template_for_infrastructure_type("process")
            try:
                await client.create_work_pool(
                    WorkPoolCreate(name=pool, type="process", base_job_template=template)
                )
                created = True
            except ObjectAlreadyExists:  # a worker starting meanwhile created it
                pass
        flow_id = await client.create_flow_from_name(flow_name)
        deployment_id = await client.create_deployment(
            flow_id=flow_id,
            name=DEPLOYMENT_NAME,
            work_pool_name=pool,
            entrypoint=entrypoint,
            # run where meta-flows is installed: with no pull step, Prefect copies the whole
            # directory (its virtualenv too) into a temporary one for every flow run
            pull_steps=[pull_step(path)],
            parameter_openapi_schema=schema,
            description=description,
            enforce_parameter_schema=False,
        )
    return str(deployment_id), created


def pull_step(path: str) -> dict:
    """The deployment's one pull step: work in ``path`` (where ``meta_flows`` is)."""
    return {"prefect.deployments.steps.set_working_directory": {"directory": path}}


def ensure_deployment(
    flow_name: str, pool: str, *, entrypoint: str, path: str, schema: dict, description: str
) -> tuple[str, bool]:
    """Create or update ``<flow_name>/meta-flows`` on ``pool``: (its id, whether the pool was
    created, as a process pool)."""
    return _run(_ensure(flow_name, pool, entrypoint, path, schema, description))


async def _start(deployment_id, parameters, name, key) -> str:
    from prefect.client.orchestration import get_client

    async with get_client() as client:
        run = await client.create_flow_run_from_deployment(
            UUID(deployment_id), parameters=parameters, name=name, idempotency_key=key
        )
    return str(run.id)


def start_run(deployment_id: str, parameters: dict, *, name: str, key: str) -> str:
    """A flow run of the deployment (the same run again for the same ``key``); its id."""
    return _run(_start(deployment_id, parameters, name, key))


async def _read(run_id: str) -> RunState:
    from prefect.client.orchestration import get_client

    async with get_client() as client:
        run = await client.read_flow_run(UUID(run_id))
    state = run.state
    return RunState(
        id=run_id,
        name=run.name,
        state=state.type.value if state else "SCHEDULED",
        message=(state.message or "") if state else "",
        worker=f"process {run.infrastructure_pid}" if run.infrastructure_pid else None,
    )


def read_run(run_id: str) -> RunState:
    return _run(_read(run_id))


async def _crash(run_id: str, message: str) -> None:
    from prefect.client.orchestration import get_client
    from prefect.states import Crashed

    async with get_client() as client:
        await client.set_flow_run_state(UUID(run_id), Crashed(message=message), force=True)


def crash_run(run_id: str, message: str) -> None:
    """Mark a flow run whose process is gone Crashed, saying why."""
    _run(_crash(run_id, message))
