"""Validation runs of shadow deployments: flow runs a worker of the deployment's pool executes.

A project validated on its deployments (``validation: deployment`` in the registry) has its
migrated side run where production would run it: :func:`run_deployments` creates one flow run
per case from the case's shadow deployment (with the project's validation overrides), waits for
each to end, cancels one that takes longer than the time limit, and says why a run that did not
complete ended so: its state's message and the errors it logged (a pull step that failed, a
requirement the worker's environment lacks).
"""

from __future__ import annotations

import asyncio
import re
import time
from dataclasses import dataclass, field
from uuid import UUID

POLL_SECONDS = 1.0
TERMINAL = {"COMPLETED", "FAILED", "CRASHED", "CANCELLED"}
ERROR_LINES = 3  # error log lines quoted for a run that did not complete


@dataclass
class DeploymentRun:
    """One case's run of a shadow deployment."""

    flow_run_id: str | None
    state: str | None = None  # the final StateType value
    error: str | None = None  # why it did not complete (or could not be created)
    duration_s: float | None = None
    logs: list[str] = field(default_factory=list)


PERSIST = {"PREFECT_RESULTS_PERSIST_BY_DEFAULT": "true"}  # results the read-back can read


def job_variables(deployment: dict | None, overrides: dict | None) -> dict:
    """A validation run's job variables: the deployment's, the overrides' over them (``env``
    merged key by key, as a run's variables replace the deployment's whole ``env``), and results
    persisted."""
    deployment, overrides = dict(deployment or {}), dict(overrides or {})
    env = {**(deployment.get("env") or {}), **(overrides.pop("env", None) or {}), **PERSIST}
    return {**deployment, **overrides, "env": env}


_SHORT = re.compile(r"^(?:[a-z_][\w]*\.)+(?=[A-Z])")
_EXCEPTION_LINE = re.compile(r"^[A-Za-z_][\w.]*(?:Error|Exception|Exit|Interrupt): .+")


async def _errors(client, flow_run_id: UUID) -> list[str]:
    """The exception lines of the tracebacks the run logged, the outermost first (each exception
    of a chain says something: the pull step, then what failed in it), without repeats."""
    from prefect.client.schemas.filters import LogFilter, LogFilterFlowRunId, LogFilterLevel

    logs = await client.read_logs(
        LogFilter(flow_run_id=LogFilterFlowRunId(any_=[flow_run_id]), level=LogFilterLevel(ge_=40)),
        limit=50,
    )
    found: list[str] = []
    for log in reversed(logs):  # the last error first, and of a chain the outermost first
        lines = [line.strip() for line in log.message.strip().splitlines()]
        exceptions = [line for line in lines if _EXCEPTION_LINE.match(line)]
        # a failed command's echo (its whole command line) says less than what raised from it
        told = [e for e in exceptions if not e.startswith("subprocess.CalledProcessError")]
        for line in reversed(told or exceptions or lines[-1:]):
            line = _SHORT.sub("", line)  # prefect.exceptions.ScriptError -> ScriptError
            if line and line not in found:
                found.append(line)
    return found[:ERROR_LINES]


async def _run_all(runs: list[dict], timeout: float, tag: str) -> list[DeploymentRun]:
    from prefect.client.orchestration import get_client
    from prefect.states import Cancelling

    async with get_client() as client:
        created: list[DeploymentRun] = []
        for run in runs:
            try:
                deployment = await client.read_deployment(UUID(run["deployment_id"]))
                flow_run = await client.create_flow_run_from_deployment(
                    deployment.id,
                    parameters=run["parameters"],
                    job_variables=job_variables(deployment.job_variables, run["job_variables"]),
                    tags=[tag],
                )
                created.append(DeploymentRun(str(flow_run.id)))
            except Exception as exc:  # noqa: BLE001 - this case's run, not the batch
                created.append(DeploymentRun(None, error=f"{type(exc).__name__}: {exc}"))
        started: dict[str, float] = {}
        waiting_since = time.monotonic()
        open_ = [r for r in created if r.flow_run_id]
        while open_:
            await asyncio.sleep(POLL_SECONDS)
            now = time.monotonic()
            for run in list(open_):
                flow_run = await client.read_flow_run(UUID(run.flow_run_id))
                kind = flow_run.state.type.value if flow_run.state else "SCHEDULED"
                if kind == "RUNNING":
                    started.setdefault(run.flow_run_id, now)
                if kind in TERMINAL:
                    open_.remove(run)
                    run.state = kind
                    if run.flow_run_id in started:
                        run.duration_s = now - started[run.flow_run_id]
                    if kind != "COMPLETED":
                        run.logs = await _errors(client, UUID(run.flow_run_id))
                        # what the run logged is the most precise: it comes first
                        said = flow_run.state.message or "no message"
                        run.error = f"{kind.lower()}: " + "; ".join(run.logs or [said])
                    continue
                since = started.get(run.flow_run_id, waiting_since)
                if now - since > timeout:
                    open_.remove(run)
                    await client.set_flow_run_state(
                        UUID(run.flow_run_id), Cancelling(message="validation time limit")
                    )
                    run.state = "CANCELLED"
                    run.error = f"timed out after {timeout:.0f} s " + (
                        "running" if run.flow_run_id in started else "waiting for a worker"
                    )
    return created


def run_deployments(runs: list[dict], *, timeout: float, tag: str) -> list[DeploymentRun]:
    """One flow run per ``{"deployment_id", "parameters", "job_variables"}``, tagged ``tag``,
    each waited for up to ``timeout`` seconds of running (and as long again for a worker to
    pick it up); in order."""
    return asyncio.run(_run_all(runs, timeout, tag))
