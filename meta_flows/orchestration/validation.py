"""Validate a whole repository: every flow and case, old and new side by side (issue 4).

:func:`validate_repo` is a plain function (no Prefect 2 runtime of its own):

1. inventory the legacy repository (:func:`meta_flows.sandbox.inventory.inventory_repo`) for its
   flows, their files, parameters and the ``@flow`` function the codemod wrote for each;
2. plan the cases (:mod:`meta_flows.core.validation.cases`: a cases file, else each flow's defaults);
3. run every runnable case under Prefect 1 in ONE interpreter
   (:func:`~meta_flows.sandbox.legacy_run.run_legacy`) and, at the same time, under Prefect 2 in
   one child process (:func:`~meta_flows.sandbox.migrated_run.run_migrated_many`), the migrated
   module being the file at the same relative path in the migrated repository;
4. compare each pair (:func:`~meta_flows.core.validation.compare.compare_runs`).

:func:`run_cases` does steps 3-4 for any subset of planned cases (the Prefect flow layer calls
it once per flow).
"""

from __future__ import annotations

from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from meta_flows.core.validation.cases import ValidationCase, load_cases, plan_cases
from meta_flows.core.validation.compare import compare_runs, skipped_verdict
from meta_flows.core.validation.model import CaseVerdict
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
            [RunSpec(c.flow.file, c.flow.name, c.case, c.parameters) for c in chosen],
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
    for index, case, old, fresh in zip(runnable, chosen, legacy, new, strict=True):
        try:
            verdicts[index] = compare_runs(old, fresh, case.options)
        except ValueError as exc:  # a user comparator that cannot be imported
            verdicts[index] = skipped_verdict(case.flow.name, case.case, f"cannot compare: {exc}")
    return _in_order(verdicts, cases)


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
