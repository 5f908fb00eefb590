"""Helpers for before/after tests of rules (the counterpart of LibCST's ``CodemodTest``)."""

from __future__ import annotations

from textwrap import dedent

import libcst as cst
from libcst.codemod import CodemodContext

from meta_flows.core.codemod.base import (
    SCRATCH_ORIGINAL,
    SCRATCH_PROJECT,
    Rule,
    apply_pending_removals,
)
from meta_flows.core.codemod.engine import ERROR, MigrationResult, migrate_source
from meta_flows.core.codemod.project import scan_sources
from meta_flows.core.codemod.stubs import resolve_line_marks
from meta_flows.core.codemod.sweep import drop_placeholder_passes

MODULE = "flows.example"


def apply_rule(
    rule: type[Rule],
    source: str,
    module_name: str = MODULE,
    *,
    deployments: dict[str, str] | None = None,
) -> str:
    """Run one rule (and the import fixes it schedules) over ``source``; return the new code
    (finished as the engine finishes it: placeholder ``pass`` statements dropped where their
    block has other statements, line lists in TODOs resolved). ``deployments``: the project's
    (``ProjectIndex.deployments``), as a wave gives them."""
    source = dedent(source)
    context = CodemodContext(filename="flows/example.py", full_module_name=module_name)
    project = scan_sources([(module_name, source)])
    project.deployments = deployments
    context.scratch[SCRATCH_PROJECT] = project
    context.scratch[SCRATCH_ORIGINAL] = source
    tree = rule(context).transform_module(cst.parse_module(source))
    tree = drop_placeholder_passes(apply_pending_removals(context, tree))
    return resolve_line_marks(tree.code)


def assert_rewrite(
    rule: type[Rule], before: str, after: str, *, deployments: dict[str, str] | None = None
) -> None:
    """``before`` becomes exactly ``after``, and running the rule again changes nothing."""
    got = apply_rule(rule, before, deployments=deployments)
    assert got == dedent(after), f"--- got ---\n{got}\n--- expected ---\n{dedent(after)}"
    again = apply_rule(rule, got, deployments=deployments)
    assert again == got, f"not idempotent:\n--- first ---\n{got}\n--- second ---\n{again}"


def assert_noop(
    rule: type[Rule], source: str, *, deployments: dict[str, str] | None = None
) -> None:
    """The rule leaves ``source`` byte for byte unchanged."""
    got = apply_rule(rule, source, deployments=deployments)
    assert got == dedent(source), f"expected no change, got:\n{got}"


def migrate(source: str, module_name: str = MODULE) -> MigrationResult:
    """The whole pipeline over ``source``; fails the test if a rule crashed."""
    result = migrate_source(dedent(source), "flows/example.py", module_name=module_name)
    assert result.status != ERROR, result.error
    return result
