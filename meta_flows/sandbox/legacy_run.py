"""Run Prefect 1 flows in the managed Prefect 1 environment and capture what each run did.

``run_legacy(repo_dir, runs)`` starts :mod:`meta_flows.sandbox.legacy.run_probe` in the project's
Prefect 1 interpreter (:func:`meta_flows.sandbox.legacy.env.env_for_project`) ONCE for all the runs
(every flow and case of the project): Prefect 1 and the flow modules are imported once; each run
gets a fresh temporary working directory and a cold task cache. A run that exceeds ``timeout``
is interrupted inside the interpreter (``timed_out``); the interpreter then exits and a new one
takes the remaining runs. If the interpreter dies or hangs beyond ``timeout + GRACE`` (a
module whose import never returns, a flow that blocks signals), it is killed, the run in progress
is reported (``timed_out`` or ``error``) and the remaining runs continue in a new interpreter.

Each :class:`~meta_flows.core.validation.model.RunCapture` (side ``legacy``) holds the final state
(Prefect 1 state class name: ``Success``, ``Failed``, ...), every task's state, message and
result (mapped children by ``map_index``; implicit tasks flagged ``auto_generated``), the files
written under the working directory (relpath -> sha256), the duration of ``flow.run`` and the
flow's executor class.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from meta_flows.core.codemod.project import module_name_for
from meta_flows.core.validation.model import RunCapture
from meta_flows.sandbox.legacy.env import LegacyEnv, LegacyEnvError, env_for_project
from meta_flows.sandbox.runner import run_batches

RUN_PROBE = Path(__file__).resolve().parent / "legacy" / "run_probe.py"
TIMEOUT = 300.0  # seconds one flow run may take
GRACE = 30.0  # beyond the timeout: importing a module; a child whose alarm did not fire


@dataclass(frozen=True)
class RunSpec:
    """One flow run to make: the module file (relative to the repo), flow name, case; ``line``,
    where the module creates the flow, tells apart flows of one module with the same name."""

    file: str
    flow_name: str
    case: str = "default"
    parameters: dict[str, Any] = field(default_factory=dict)
    line: int | None = None

    @classmethod
    def of(cls, value: RunSpec | tuple | dict) -> RunSpec:
        if isinstance(value, RunSpec):
            return value
        if isinstance(value, dict):
            return cls(**value)
        return cls(*value)


def run_environ(env: LegacyEnv) -> dict[str, str]:
    """The environment of the interpreter running the flows: a Prefect 1 child's
    (:meth:`LegacyEnv.child_environ`, whose Prefect 1 logs only errors), with the flows' loggers
    at the level the Prefect 2 side logs at (``PREFECT_LOGGING_LEVEL``, Prefect 2's default
    ``INFO``): a task that adds a handler to its logger gets the same records on both sides. The
    run probe keeps Prefect 1's own console handler at ``ERROR``."""
    level = os.environ.get("PREFECT_LOGGING_LEVEL") or "INFO"
    return {**env.child_environ(), "PREFECT__LOGGING__LEVEL": level.upper()}


def module_and_root(repo: Path, file: str) -> tuple[str, Path]:
    """The dotted module name of ``file`` and the sys.path entry it imports from."""
    path = (repo / file).resolve()
    name = module_name_for(path)
    root = path.parent
    for _ in range(name.count(".") + (1 if path.name == "__init__.py" else 0)):
        root = root.parent
    return name, root


def _blank(spec: RunSpec, error: str, *, timed_out: bool = False) -> RunCapture:
    return RunCapture(
        side="legacy",
        flow_name=spec.flow_name,
        case=spec.case,
        parameters=dict(spec.parameters),
        error=error,
        timed_out=timed_out,
    )


def run_legacy(
    repo_dir: str | Path,
    flows_and_cases: Iterable[RunSpec | tuple | dict],
    env: LegacyEnv | None = None,
    timeout: float = TIMEOUT,
    root: Path | None = None,
) -> list[RunCapture]:
    """Run every (file, flow name, case, parameters) under Prefect 1; one capture per run, in order.

    ``env`` defaults to the project's environment (built on first use under ``root``, see
    :mod:`meta_flows.sandbox.legacy.env`); when it cannot be built every capture carries the error.
    """
    repo = Path(repo_dir).resolve()
    specs = [RunSpec.of(x) for x in flows_and_cases]
    if not specs:
        return []
    if env is None:
        try:
            env = env_for_project(repo, root)
        except LegacyEnvError as exc:
            return [_blank(s, f"Prefect 1 environment: {exc}") for s in specs]
    requests = []
    roots: list[str] = []
    for index, spec in enumerate(specs):
        module, module_root = module_and_root(repo, spec.file)
        roots.append(str(module_root))
        requests.append(
            {
                "id": index,
                "file": spec.file,
                "module": module,
                "flow": spec.flow_name,
                "line": spec.line,
                "case": spec.case,
                "parameters": spec.parameters,
            }
        )
    roots = list(dict.fromkeys([*roots, str(repo)]))

    def blank(run: dict, error: str, timed_out: bool) -> RunCapture:
        return _blank(specs[run["id"]], error, timed_out=timed_out)

    captures = run_batches(
        env.program(RUN_PROBE),
        run_environ(env),
        {"repo": str(repo), "roots": roots, "timeout": timeout},
        requests,
        blank,
        timeout=timeout,
        slack=GRACE,
        import_grace=GRACE,
        what="the Prefect 1 interpreter",
    )
    return [captures[i] for i in range(len(specs))]
