"""Validate a whole repository: every flow and case, old and new side by side (issue 4).

:func:`validate_repo` is a plain function (no Prefect 2 runtime of its own):

1. inventory the legacy repository (:func:`meta_flows.sandbox.inventory.inventory_repo`) for its
   flows, their files, parameters and the ``@flow`` function the codemod wrote for each;
2. plan the cases (:mod:`meta_flows.core.validation.cases`: a cases file, else each flow's defaults);
3. run every runnable case under Prefect 1 in ONE interpreter
   (:func:`~meta_flows.sandbox.legacy_run.run_legacy`) and, at the same time, under Prefect 2 in
   one child process (:func:`~meta_flows.sandbox.migrated_run.run_migrated_many`), the migrated
   module being the file at the same relative path in the migrated repository;
4. compare each pair (:func:`~meta_flows.core.validation.compare.compare_runs`); a pair found
   ``different`` runs once more under Prefect 1, and results that differ between the two legacy
   runs are not compared (the clock, randomness the seed does not reach).

:func:`run_cases` does steps 3-4 for any subset of planned cases (the Prefect flow layer calls
it once per flow).
"""

from __future__ import annotations

from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

from meta_flows.core.validation.cases import ValidationCase, load_cases, plan_cases
from meta_flows.core.validation.compare import compare_runs, skipped_verdict
from meta_flows.core.validation.model import CaseVerdict, CompareOptions, RunCapture
from meta_flows.sandbox.legacy_run import RunSpec, run_legacy
from meta_flows.sandbox.migrated_env import MigratedEnvError, migrated_env
from meta_flows.sandbox.migrated_run import run_migrated_many

TIMEOUT = 300.0  # seconds one flow run may take, on either side


def collect_cases(
    legacy_dir: str | Path, cases_file: str | Path | None = None, env_root: Path | None = None
) -> list[ValidationCase]:
    """Inventory the legacy repository and plan every case of every flow it defines."""
    from meta_flows.sandbox.inventory import inventory_repo

    cases = load_cases(cases_file) if cases_file is not None else None
    inventory = inventory_repo(Path(legacy_dir), env_root=env_root)
    return plan_cases(inventory.flows, cases)


def run_cases(
    legacy_dir: str | Path,
    migrated_dir: str | Path,
    cases: Sequence[ValidationCase],
    timeout: float = TIMEOUT,
    env_root: Path | None = None,
) -> list[CaseVerdict]:
    """Run the planned cases on both sides and compare them; one verdict per case, in order."""
    migrated = Path(migrated_dir)
    verdicts: dict[int, CaseVerdict] = {}
    runnable: list[int] = []
    for index, case in enumerate(cases):
        if case.skip_reason:
            verdicts[index] = skipped_verdict(case.flow.name, case.case, case.skip_reason)
        elif not (migrated / case.flow.file).is_file():
            verdicts[index] = CaseVerdict(
                flow_name=case.flow.name,
                case=case.case,
                verdict="migrated-error",
                reason=f"no migrated module {case.flow.file} in {migrated}",
            )
        else:
            runnable.append(index)
    chosen = [cases[i] for i in runnable]
    try:
        python = migrated_env(migrated, env_root).python if chosen else None
    except MigratedEnvError as exc:  # every flow's Prefect 2 side fails the same way
        for index in runnable:
            verdicts[index] = CaseVerdict(
                flow_name=cases[index].flow.name,
                case=cases[index].case,
                verdict="migrated-error",
                reason=f"the Prefect 2 environment of the migrated requirements: {exc}",
            )
        return _in_order(verdicts, cases)
    # both sides at once: the Prefect 1 runs need no API, the Prefect 2 ones mostly wait on it
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="meta-flows-legacy") as pool:
        legacy_future = pool.submit(
            run_legacy,
            legacy_dir,
            [_spec(c) for c in chosen],
            timeout=timeout,
            root=env_root,
        )
        new = run_migrated_many(
            migrated,
            [
                {
                    "file": c.flow.file,
                    "function_name": c.flow.function_name,
                    "flow_name": c.flow.name,
                    "case": c.case,
                    "parameters": c.parameters,
                }
                for c in chosen
            ],
            timeout=timeout,
            python=python,
        )
        legacy = legacy_future.result()
    pairs = [
        _Pair(index, case, old, fresh, case.options)
        for index, case, old, fresh in zip(runnable, chosen, legacy, new, strict=True)
    ]
    verdicts.update(_compare(pairs, legacy_dir, timeout, env_root))
    return _in_order(verdicts, cases)


@dataclass
class _Pair:
    index: int
    case: ValidationCase
    legacy: RunCapture
    migrated: RunCapture
    options: CompareOptions | None


def _spec(case: ValidationCase) -> RunSpec:
    return RunSpec(case.flow.file, case.flow.name, case.case, case.parameters, case.flow.line)


def _compare(
    pairs: Sequence[_Pair], legacy_dir: str | Path, timeout: float, env_root: Path | None
) -> dict[int, CaseVerdict]:
    """The verdict of each pair, by case index. A case found ``different`` runs once more under
    Prefect 1 and is compared again knowing what the flow itself does not reproduce (results
    that differ between its two legacy runs: the clock, randomness the seed does not reach; see
    :func:`~meta_flows.core.validation.compare.compare_runs`)."""

    def verdict(pair: _Pair, again: RunCapture | None = None) -> CaseVerdict:
        try:
            return compare_runs(pair.legacy, pair.migrated, pair.options, again)
        except ValueError as exc:  # a user comparator that cannot be imported
            flow = pair.case.flow.name
            return skipped_verdict(flow, pair.case.case, f"cannot compare: {exc}")

    verdicts = {pair.index: verdict(pair) for pair in pairs}
    doubtful = [pair for pair in pairs if verdicts[pair.index].verdict == "different"]
    if doubtful:
        again = run_legacy(
            legacy_dir,
            [_spec(pair.case) for pair in doubtful],
            timeout=timeout,
            root=env_root,
        )
        for pair, second in zip(doubtful, again, strict=True):
            verdicts[pair.index] = verdict(pair, second)
    return verdicts


def _deployment_of(case: ValidationCase, deployments: Sequence) -> object | None:
    """The shadow deployment whose entrypoint is the case's flow (``<file>:<function>``)."""
    for deployment in deployments:
        file, _, function = deployment.entrypoint.partition(":")
        if file == case.flow.file and (
            function == case.flow.function_name or not case.flow.function_name
        ):
            return deployment
    return None


def run_cases_on_deployments(
    legacy_dir: str | Path,
    migrated_dir: str | Path,
    cases: Sequence[ValidationCase],
    deployments: Sequence,
    *,
    parameters: dict | None = None,
    job_variables: dict | None = None,
    timeout: float = TIMEOUT,
    env_root: Path | None = None,
) -> list[CaseVerdict]:
    """Like :func:`run_cases`, the migrated side being each case's shadow deployment run by a
    worker of its pool (``parameters`` and ``job_variables`` over the deployment's), read back
    from the API; one verdict per case, in order."""
    import uuid

    from meta_flows.adapters.prefect2.validation_runs import run_deployments

    migrated = Path(migrated_dir)
    verdicts: dict[int, CaseVerdict] = {}
    runnable: list[tuple[int, object]] = []
    for index, case in enumerate(cases):
        deployment = _deployment_of(case, deployments)
        if case.skip_reason:
            verdicts[index] = skipped_verdict(case.flow.name, case.case, case.skip_reason)
        elif deployment is None:
            verdicts[index] = CaseVerdict(
                flow_name=case.flow.name,
                case=case.case,
                verdict="migrated-error",
                reason=f"no shadow deployment runs {case.flow.file}:"
                f"{case.flow.function_name or case.flow.name}",
            )
        else:
            runnable.append((index, deployment))
    chosen = [cases[i] for i, _ in runnable]
    if not chosen:
        return _in_order(verdicts, cases)
    try:  # the read-back unpickles results in the project's own environment
        python = migrated_env(migrated, env_root).python
    except MigratedEnvError as exc:
        python = None
        env_error = f"the Prefect 2 environment of the migrated requirements: {exc}"
    else:
        env_error = None
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="meta-flows-legacy") as pool:
        legacy_future = pool.submit(
            run_legacy,
            legacy_dir,
            [_spec(c) for c in chosen],
            timeout=timeout,
            root=env_root,
        )
        runs = run_deployments(
            [
                {
                    "deployment_id": deployment.id,
                    "parameters": {**case.parameters, **(parameters or {})},
                    "job_variables": job_variables or {},
                }
                for (_, deployment), case in zip(runnable, chosen, strict=True)
            ],
            timeout=timeout,
            tag=f"meta-flows-validation:{uuid.uuid4().hex[:12]}",
        )
        legacy = legacy_future.result()
    readable = [i for i, run in enumerate(runs) if run.state is not None and env_error is None]
    read = run_migrated_many(
        migrated,
        [
            {
                "file": chosen[i].flow.file,
                "function_name": chosen[i].flow.function_name,
                "flow_name": chosen[i].flow.name,
                "case": chosen[i].case,
                "parameters": {**chosen[i].parameters, **(parameters or {})},
                "flow_run_id": runs[i].flow_run_id,
            }
            for i in readable
        ],
        timeout=timeout,
        python=python,
    )
    captures = dict(zip(readable, read, strict=True))
    pairs: list[_Pair] = []
    for position, ((index, _), case, old, run) in enumerate(
        zip(runnable, chosen, legacy, runs, strict=True)
    ):
        fresh = captures.get(position)
        if fresh is None:
            fresh = RunCapture(
                side="migrated",
                flow_name=case.flow.name,
                case=case.case,
                parameters=case.parameters,
                error=env_error or run.error or "the run could not be read back",
                timed_out=bool(run.error and run.error.startswith("timed out")),
            )
        else:
            fresh.duration_s = run.duration_s
            fresh.timed_out = bool(run.error and run.error.startswith("timed out"))
            if run.error and not fresh.ok:  # what the worker's run logged says why
                fresh.message = run.error
        _assume_map_indices(old, fresh)
        # what a run wrote on the worker's machine is not seen here: files are not compared
        options = (case.options or CompareOptions()).model_copy(update={"compare_files": False})
        pairs.append(_Pair(index, case, old, fresh, options))
    verdicts.update(_compare(pairs, legacy_dir, timeout, env_root))
    return _in_order(verdicts, cases)


def _assume_map_indices(legacy, migrated) -> None:
    """A run read back from a worker has no map indices (only meta-flows' own children record
    them): where Prefect 1 mapped a task into N children and the run has N runs of that task,
    none indexed, they are its children in creation order (how Prefect creates them)."""
    mapped: dict[str, int] = {}
    for task in legacy.tasks:
        if task.map_index is not None:
            mapped[task.name] = mapped.get(task.name, 0) + 1
    for name, count in mapped.items():
        runs = [t for t in migrated.tasks if t.name == name]
        if len(runs) == count and all(t.map_index is None for t in runs):
            for index, task in enumerate(runs):
                task.map_index = index


def _in_order(verdicts: dict[int, CaseVerdict], cases) -> list[CaseVerdict]:
    """The verdicts in the cases' order, each naming the file its flow is defined in."""
    for index, case in enumerate(cases):
        verdicts[index].file = case.flow.file
    return [verdicts[i] for i in range(len(cases))]


def validate_repo(
    legacy_dir: str | Path,
    migrated_dir: str | Path,
    cases_file: str | Path | None = None,
    timeout: float = TIMEOUT,
    env_root: Path | None = None,
) -> list[CaseVerdict]:
    """Every flow and case of the legacy repository, validated against the migrated one.

    Raises :class:`~meta_flows.core.validation.cases.CasesFileError` for a malformed cases file and
    ValueError when it names a flow the repository does not define.
    """
    cases = collect_cases(legacy_dir, cases_file, env_root)
    return run_cases(legacy_dir, migrated_dir, cases, timeout, env_root)
