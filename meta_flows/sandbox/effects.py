"""Stand-ins for the calls that would start runs of real deployments, in the Prefect 2 children.

A migrated parent flow starts its children with ``run_deployment(name="child/child", ...)``
(what the codemod makes of Prefect 1's ``create_flow_run`` and ``StartFlowRun``). Validated for
real, it would schedule runs of those deployments on the API the validation reports to: the
wave's shadow deployments, or live ones. In the children of validation and of the flow
descriptions (:mod:`~meta_flows.sandbox.migrated_child`,
:mod:`~meta_flows.sandbox.migrated_describe`), :func:`install` replaces:

- ``run_deployment`` wherever it is bound when the child starts (``prefect.deployments``,
  ``prefect.deployments.deployments``, any module that imported it) and for the flow modules
  imported after;
- ``PrefectClient.create_flow_run_from_deployment`` (a flow that uses the client directly).

Neither reaches the API. Each call is recorded in :data:`EFFECTS` as the call it was
(``run_deployment('child/child', {'day': '2024-01-01'})``; the client's method by its
deployment's name when the API knows it, else its id), and answered with a stand-in
``FlowRun`` in a ``Completed`` state, as if the child run had finished at once, without a
result. The parent's own logic after the call runs on and is compared with the original, rather
than stopping at the first child: a parent that reads the child's result gets Prefect's
``MissingResult``. ``read_flow_run`` of a stand-in's id answers the stand-in, so a parent that
polls its child (``wait_for_flow_run``) sees it Completed.

Which calls a run attempted becomes its capture's ``effects`` (see
:class:`~meta_flows.core.validation.model.RunCapture`).
"""

from __future__ import annotations

import sys
import threading
from typing import Any
from uuid import UUID, uuid4

from meta_flows.sandbox.legacy.run_probe import stable_repr

EFFECTS: list[str] = []  # what the code in this process attempted, in order
STAND_INS: dict[UUID, Any] = {}  # stand-in flow run id -> the FlowRun answered
_LOCK = threading.Lock()
_INSTALLED: list[bool] = []
LONGEST = 300  # characters of one recorded call


def record(function: str, target: Any, parameters: Any) -> str:
    """Record one attempted call; the text recorded."""
    call = f"{function}({str(target)!r}, {stable_repr(dict(parameters or {}))})"
    if len(call) > LONGEST:
        call = call[: LONGEST - 2] + "…)"
    with _LOCK:
        EFFECTS.append(call)
    return call


def take() -> list[str]:
    """The calls recorded since the last ``take``, in order; the record starts empty again."""
    with _LOCK:
        taken = list(EFFECTS)
        EFFECTS.clear()
    return taken


def stand_in(call: str, deployment_id: UUID | None, parameters, name, tags):
    """The ``FlowRun`` a stand-in answers: Completed, no result, an id no API knows."""
    from prefect.client.schemas.objects import FlowRun
    from prefect.states import Completed

    run_id = uuid4()
    state = Completed(message=f"meta-flows validation started no run for {call}")
    state.state_details.flow_run_id = run_id
    fields: dict[str, Any] = {
        "id": run_id,
        "flow_id": uuid4(),
        "deployment_id": deployment_id,
        "parameters": dict(parameters or {}),
        "tags": list(tags or []),
        "state": state,
    }
    if name:
        fields["name"] = name
    run = FlowRun(**fields)
    with _LOCK:
        STAND_INS[run_id] = run
    return run


def _deployment_id(name: Any) -> UUID | None:
    if isinstance(name, UUID):
        return name
    try:
        return UUID(str(name))
    except ValueError:
        return None


def install() -> None:
    """Replace the calls that start deployment runs in this process (once; see the module)."""
    if _INSTALLED:
        return
    _INSTALLED.append(True)
    import prefect.deployments.deployments as deployments
    from prefect.client.orchestration import PrefectClient, SyncPrefectClient
    from prefect.utilities.asyncutils import sync_compatible

    original = deployments.run_deployment

    @sync_compatible
    async def run_deployment(
        name,
        client=None,
        parameters=None,
        scheduled_time=None,
        flow_run_name=None,
        timeout=None,
        poll_interval=5,
        tags=None,
        idempotency_key=None,
        work_queue_name=None,
        as_subflow=True,
        infra_overrides=None,
        job_variables=None,
    ):
        if timeout is not None and timeout < 0:
            raise ValueError("`timeout` cannot be negative")
        call = record("run_deployment", name, parameters)
        return stand_in(call, _deployment_id(name), parameters, flow_run_name, tags)

    run_deployment.__doc__ = (
        "meta-flows validation's stand-in for prefect.deployments.run_deployment: records the "
        "call and starts no run."
    )
    for module in list(sys.modules.values()):
        try:
            if getattr(module, "run_deployment", None) is original:
                module.run_deployment = run_deployment
        except Exception:  # noqa: BLE001, S112 - a lazy module that refuses getattr
            continue

    async def create_flow_run_from_deployment(
        self, deployment_id, *, parameters=None, name=None, tags=None, **_ignored
    ):
        target: Any = deployment_id
        try:  # the deployment's name reads better than its id; a read changes nothing
            deployment = await self.read_deployment(deployment_id)
            flow = await self.read_flow(deployment.flow_id)
            target = f"{flow.name}/{deployment.name}"
        except Exception:  # noqa: BLE001, S110 - unknown to this API: its id, then
            pass
        call = record("create_flow_run_from_deployment", target, parameters)
        return stand_in(call, _deployment_id(deployment_id), parameters, name, tags)

    PrefectClient.create_flow_run_from_deployment = create_flow_run_from_deployment

    original_read = PrefectClient.read_flow_run
    original_sync_read = SyncPrefectClient.read_flow_run

    async def read_flow_run(self, flow_run_id):
        if flow_run_id in STAND_INS:
            return STAND_INS[flow_run_id]
        return await original_read(self, flow_run_id)

    def sync_read_flow_run(self, flow_run_id):
        if flow_run_id in STAND_INS:
            return STAND_INS[flow_run_id]
        return original_sync_read(self, flow_run_id)

    PrefectClient.read_flow_run = read_flow_run
    SyncPrefectClient.read_flow_run = sync_read_flow_run
