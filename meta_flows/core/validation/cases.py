"""Validation cases: which parameter sets each flow is validated with (issue 4, item 1).

A cases file (YAML) maps a Prefect 1 flow name to its cases::

    case-merge:
      - case: big                 # the flow's defaults
      - case: small
        parameters: {n: 7}
        options: {ignore_files: ["logs/*"], rel_tol: 1e-9}   # CompareOptions fields

A flow the file does not mention gets one ``default`` case with its own defaults; a flow with
required parameters (no default) and no case runs with the values its module's own
``flow.run(parameters=...)`` passes (case ``flow.run``), else is ``skipped`` with the reason, and
so is a case that does not give every required parameter. A malformed file raises :class:`CasesFileError`
naming the file and the field.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ConfigDict, Field, RootModel, ValidationError

from meta_flows.core.errors import MetaFlowsError
from meta_flows.core.inventory.model import FlowInfo
from meta_flows.core.validation.model import CompareOptions

DEFAULT_CASE = "default"
RUN_CASE = "flow.run"  # the parameters the module's own flow.run(...) passes


class CaseSpec(BaseModel):
    model_config = ConfigDict(extra="forbid")

    case: str = Field(min_length=1, description="The case's name, unique within the flow.")
    parameters: dict[str, Any] = Field(default_factory=dict)
    options: CompareOptions = Field(default_factory=CompareOptions)


class CasesFile(RootModel[dict[str, list[CaseSpec]]]):
    """{flow name: [case, ...]}."""


class CasesFileError(MetaFlowsError, ValueError):
    """The cases file cannot be read or is malformed; the message names file and field."""


def _location(loc: tuple) -> str:
    out = ""
    for part in loc:
        out += f"[{part}]" if isinstance(part, int) else f".{part}" if out else str(part)
    return out or "(top level)"


def load_cases(path: str | Path) -> dict[str, list[CaseSpec]]:
    """Read a cases file; CasesFileError on YAML errors, bad fields or duplicate case names."""
    path = Path(path)
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise CasesFileError(f"{path}: cannot read: {exc}") from exc
    except yaml.YAMLError as exc:
        raise CasesFileError(f"{path}: not valid YAML: {exc}") from exc
    if data is None:
        return {}
    try:
        cases = CasesFile.model_validate(data).root
    except ValidationError as exc:
        problems = "; ".join(f"{_location(e['loc'])}: {e['msg']}" for e in exc.errors())
        raise CasesFileError(f"{path}: {problems}") from exc
    repeated = duplicate_case(cases)
    if repeated:
        flow_name, index, name = repeated
        raise CasesFileError(f"{path}: {flow_name}[{index}].case: duplicate case name {name!r}")
    return cases


def duplicate_case(cases: dict[str, list[CaseSpec]]) -> tuple[str, int, str] | None:
    """The first ``(flow, index, case name)`` repeating a case name within its flow, or None."""
    for flow_name, specs in cases.items():
        seen: set[str] = set()
        for index, spec in enumerate(specs):
            if spec.case in seen:
                return flow_name, index, spec.case
            seen.add(spec.case)
    return None


@dataclass
class ValidationCase:
    """One case of one flow to validate (``skip_reason`` set: not run, verdict ``skipped``)."""

    flow: FlowInfo
    case: str = DEFAULT_CASE
    parameters: dict[str, Any] = field(default_factory=dict)
    options: CompareOptions = field(default_factory=CompareOptions)
    skip_reason: str | None = None


def _missing(flow: FlowInfo, parameters: dict[str, Any]) -> list[str]:
    return [p.name for p in flow.parameters if p.required and p.name not in parameters]


def plan_cases(
    flows: Iterable[FlowInfo], cases: dict[str, list[CaseSpec]] | None = None
) -> list[ValidationCase]:
    """Every case of every flow, in flow order; ValueError if ``cases`` names an unknown flow."""
    flows = list(flows)
    cases = cases or {}
    unknown = sorted(set(cases) - {f.name for f in flows})
    if unknown:
        raise ValueError(f"cases given for unknown flow(s): {', '.join(map(repr, unknown))}")
    planned: list[ValidationCase] = []
    for flow in flows:
        specs = cases.get(flow.name)
        if not specs:
            missing = _missing(flow, {})
            given = flow.run_parameters or {}
            if missing and given and not _missing(flow, given):
                planned.append(ValidationCase(flow, RUN_CASE, dict(given)))
                continue
            reason = (
                f"required parameter(s) {', '.join(missing)} and no validation case"
                if missing
                else None
            )
            planned.append(ValidationCase(flow, skip_reason=reason))
            continue
        for spec in specs:
            missing = _missing(flow, spec.parameters)
            reason = spec.options.skip or (
                f"case does not give required parameter(s) {', '.join(missing)}"
                if missing
                else None
            )
            planned.append(
                ValidationCase(flow, spec.case, dict(spec.parameters), spec.options, reason)
            )
    return planned
