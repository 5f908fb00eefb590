"""Run migrated (Prefect 2) flows as real flow runs and capture what the API recorded.

``run_migrated(repo_dir, file, function_name, flow_name, parameters, case, timeout)`` runs one
case; ``run_migrated_many(repo_dir, runs, timeout)`` runs several cases of one repository in ONE
child process (:mod:`meta_flows.sandbox.migrated_child`: meta-flows' own interpreter, forked
from a warm one that has Prefect 2 imported, see :mod:`meta_flows.sandbox.zygote`), so Prefect 2 and the
flow modules are imported once. Isolation per case: a fresh empty working directory, a fresh flow run. Results
are persisted (``PREFECT_RESULTS_PERSIST_BY_DEFAULT=true``, local result storage in a temporary
directory that lives as long as the batch) and read back through the API after the run.

The flow runs against the current API (``PREFECT_API_URL`` from the environment or our settings;
without one the child's ephemeral API), in an environment that holds none of our credentials
(:func:`child_env`); the runs of deployments it would start are not started but recorded
(``effects``, :mod:`meta_flows.sandbox.effects`). A case that exceeds ``timeout`` seconds (from the flow call) is killed
with its process group and reported ``timed_out``; the cases after it run in a new child.

Each :class:`~meta_flows.core.validation.model.RunCapture` (side ``migrated``) holds the flow run's
final state name (``Completed``, ``Failed``, ``Crashed``, ...), one entry per task run (task
name; ``map_index`` for a mapped child; the persisted result for completed ones; ``attempts`` =
the run count), the files written under the working directory, the duration of the call and
the calls outside the run the child stopped (``effects``).
"""

from __future__ import annotations

import logging
import os
import sys
import tempfile
import time
import uuid
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from meta_flows.core.validation.model import RunCapture
from meta_flows.sandbox import environ, zygote
from meta_flows.sandbox.legacy_run import module_and_root
from meta_flows.sandbox.runner import run_batches

TIMEOUT = 300.0  # seconds one flow run may take
IMPORT_GRACE = 60.0  # seconds importing a flow module may take
CRASH_ATTEMPTS = 4  # passes marking a batch's abandoned runs Crashed


# Imported once by the warm Prefect 2 interpreter children are forked from (meta_flows.sandbox.zygote):
# Prefect, the engine, the child's own code and the installed collections (prefect-kubernetes...,
# which Prefect loads when it reads a block)
PRELOAD = (
    "prefect.engine",
    "meta_flows.sandbox.migrated_child",
    "prefect.plugins:load_prefect_collections",
)
PROGRAM = zygote.Program(sys.executable, "meta_flows.sandbox.migrated_child:main", PRELOAD)


def program_for(python: str) -> zygote.Program:
    """The child program in the interpreter ``python`` (a project's Prefect 2 environment,
    :mod:`meta_flows.sandbox.migrated_env`); meta-flows' own by default."""
    if python == sys.executable:
        return PROGRAM
    return zygote.Program(python, "meta_flows.sandbox.migrated_child:main", PRELOAD)


# Prefect 2 settings a child takes from ours, from our environment or else as our settings
# resolve them (a profile's): the API its runs report to, where Prefect keeps its files, how to
# trust the API's certificate. Never an API key, a database URL or a profile.
PREFECT_SETTINGS = (
    "PREFECT_API_URL",
    "PREFECT_HOME",
    "PREFECT_API_SSL_CERT_FILE",
    "PREFECT_API_TLS_INSECURE_SKIP_VERIFY",
    "PREFECT_API_REQUEST_TIMEOUT",
)
# ...and these when set in our environment (no credentials)
PREFECT_PASSED = ("PREFECT_SERVER_ANALYTICS_ENABLED", "PREFECT_API_BLOCKS_REGISTER_ON_START")
PREFECT_PASSED_PREFIXES = ("PREFECT_LOGGING_",)


def child_env() -> dict[str, str]:
    """The child's environment: an allow-list of ours (:func:`meta_flows.sandbox.environ.allowed`),
    the Prefect 2 settings it needs (:data:`PREFECT_SETTINGS`), results persisted by default, no
    events.

    Nothing else of ours reaches it: no ``PREFECT_API_KEY``, no Prefect 1 ``PREFECT__*``
    setting, no cloud, GitHub or other credentials, whatever their names; its ``HOME`` is not
    ours and no Prefect profile is read (``PREFECT_PROFILES_PATH`` is ``/dev/null``), so a key
    kept in a profile or in a home directory's files does not reach it either. What the flows
    would start elsewhere is stopped in the child itself (:mod:`meta_flows.sandbox.effects`).

    The flow's import roots and the result storage directory travel in the request: the
    environment stays the same for every project, so one warm interpreter serves them all.
    Validation runs are the harness's, judged by the gate: they emit no events (with events on,
    a flow run cost the server about twice the CPU, and no automation is meant to react to a
    shadow run); their flow runs, task runs, states and logs are all in the API as usual.
    """
    import prefect.settings

    env = environ.allowed(names=PREFECT_PASSED, prefixes=PREFECT_PASSED_PREFIXES)
    for name in PREFECT_SETTINGS:
        value = os.environ.get(name)
        if value is None:
            resolved = getattr(prefect.settings, name).value()
            value = None if resolved is None else str(resolved)
        if value is not None:
            env[name] = value
    env.update(
        PYTHONDONTWRITEBYTECODE="1",
        PREFECT_PROFILES_PATH=os.devnull,
        PREFECT_RESULTS_PERSIST_BY_DEFAULT="true",
        PREFECT_EXPERIMENTAL_EVENTS="false",
    )
    return env


def run_migrated_many(
    repo_dir: str | Path,
    runs: Iterable[dict[str, Any]],
    timeout: float = TIMEOUT,
    python: str | None = None,
) -> list[RunCapture]:
    """Run cases of one migrated repository; one capture per run, in order.

    ``python``: the interpreter of the project's Prefect 2 environment (default: meta-flows'
    own).

    Each run is a dict with ``file`` (relative to the repo), ``function_name`` (may be None:
    then the flow is found by name), ``flow_name``, and optional ``case`` and ``parameters``;
    with ``flow_run_id`` the run happened elsewhere (a worker ran a shadow deployment) and is
    only read back, in the same environment (results of the project's own types unpickle).
    """
    repo = Path(repo_dir).resolve()
    specs = list(runs)
    if not specs:
        return []
    requests, roots = [], []
    for index, spec in enumerate(specs):
        module, root = module_and_root(repo, spec["file"])
        roots.append(str(root))
        requests.append(
            {
                "id": index,
                "file": spec["file"],
                "module": module,
                "function": spec.get("function_name"),
                "flow": spec["flow_name"],
                "case": spec.get("case") or "default",
                "parameters": dict(spec.get("parameters") or {}),
            }
        )
        if spec.get("flow_run_id"):  # run elsewhere (a worker): only read back
            requests[-1]["flow_run_id"] = str(spec["flow_run_id"])
    roots = list(dict.fromkeys([*roots, str(repo)]))
    batch_tag = f"meta-flows-validation:{uuid.uuid4().hex[:12]}"
    for request in requests:
        request["batch_tag"] = batch_tag

    def blank(run: dict, error: str, timed_out: bool) -> RunCapture:
        return RunCapture(
            side="migrated",
            flow_name=run["flow"],
            case=run["case"],
            parameters=run["parameters"],
            error=error,
            timed_out=timed_out,
        )

    with tempfile.TemporaryDirectory(prefix="meta-flows-p2-results-") as storage:
        captures = run_batches(
            program_for(python or sys.executable),
            child_env(),
            {"roots": roots, "storage": storage},
            requests,
            blank,
            timeout=timeout,
            # importing may take as long as a run is allowed to (a slow module-level setup)
            import_grace=max(IMPORT_GRACE, timeout),
            what="the Prefect 2 interpreter",
        )
    # a child killed at its time limit, or an engine that lost an API call and started its run
    # again, leaves runs open in the API: one query finds them
    crash_abandoned(batch_tag)
    return [captures[i] for i in range(len(specs))]


def crash_abandoned(batch_tag: str) -> int:
    """Mark Crashed every flow run of a batch still in a non-final state (a child killed at its
    time limit, or that died, leaves its run Running in the API); the number marked. Task runs
    follow with their flow run in the UI; nothing here raises (a missing API is left alone)."""
    import asyncio

    async def mark() -> int:
        from prefect.client.orchestration import get_client
        from prefect.client.schemas.filters import (
            FlowRunFilter,
            FlowRunFilterState,
            FlowRunFilterStateType,
            FlowRunFilterTags,
        )
        from prefect.client.schemas.objects import StateType
        from prefect.states import Crashed

        open_states = [StateType.PENDING, StateType.RUNNING, StateType.SCHEDULED]
        async with get_client() as client:
            runs = await client.read_flow_runs(
                flow_run_filter=FlowRunFilter(
                    tags=FlowRunFilterTags(all_=[batch_tag]),
                    state=FlowRunFilterState(type=FlowRunFilterStateType(any_=open_states)),
                )
            )
            for run in runs:
                await client.set_flow_run_state(
                    run.id,
                    Crashed(message="meta-flows ended this validation run (time limit or exit)"),
                    force=True,
                )
            return len(runs)

    marked = 0
    for attempt in range(CRASH_ATTEMPTS):
        try:
            # marking then looking again: a run the API could not mark (a busy database
            # answering 503) is found open on the next pass
            found = asyncio.run(mark())
        except Exception as exc:  # noqa: BLE001 - best effort: validation's verdict stands
            if attempt == CRASH_ATTEMPTS - 1:
                logging.getLogger(__name__).warning(
                    "could not mark the open runs of %s Crashed: %s", batch_tag, exc
                )
                break
        else:
            if not found:
                break
            marked += found
        time.sleep(0.5 * 2**attempt)
    return marked


def run_migrated(
    repo_dir: str | Path,
    file: str,
    function_name: str | None,
    flow_name: str,
    parameters: dict[str, Any] | None = None,
    case: str = "default",
    timeout: float = TIMEOUT,
) -> RunCapture:
    """Run one case of a migrated flow (see the module docstring)."""
    return run_migrated_many(
        repo_dir,
        [
            {
                "file": file,
                "function_name": function_name,
                "flow_name": flow_name,
                "parameters": parameters or {},
                "case": case,
            }
        ],
        timeout,
    )[0]
