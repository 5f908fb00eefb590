"""PF001 imports: Prefect imports end up valid for Prefect 2 (MIGRATION_RULES.md §1).

Runs last, after every other rule has rewritten what it can:

- Prefect 1 import paths of objects that Prefect 2 still has move to their Prefect 2 home
  (A)::

      from prefect.utilities.edges import unmapped      ->  from prefect import unmapped
      from prefect.utilities.tasks import task          ->  from prefect import task

- A Prefect import that nothing uses any more is removed (A), ``import prefect`` included: a
  Prefect 1-only one always (it would break the import), a Prefect 2-valid one only when the
  original source used it (its uses were rewritten away); a user's own unused import stays.
- A Prefect 1-only import that is still used cannot stay (the module would not import under
  Prefect 2): it is commented out under a TODO, and every statement still using the name gets a
  TODO too (H).
- Safety net for options: ``@flow(...)`` keywords that Prefect 2's ``flow()`` does not accept
  (e.g. ``executor=`` when PF014 is disabled) are removed with a TODO quoting them.
"""

from __future__ import annotations

import ast

import libcst as cst
from libcst.codemod import CodemodContext
from libcst.codemod.visitors import RemoveImportsVisitor
from libcst.metadata import ParentNodeProvider

from meta_flows.codemod.base import SCRATCH_ORIGINAL, Rule, dotted_name
from meta_flows.codemod.names import PREFECT2_TOP_LEVEL, is_prefect1_only_module

# (Prefect 1 module, name) -> Prefect 2 module for the same object.
MOVED = {
    ("prefect.utilities.edges", "unmapped"): "prefect",
    ("prefect.utilities.tasks", "task"): "prefect",
    ("prefect.utilities.tasks", "tags"): "prefect",
    ("prefect.core", "Task"): "prefect",
}

# Keywords accepted by prefect.flow() in Prefect 2.20.
FLOW_OPTIONS = frozenset(
    {
        "name",
        "version",
        "flow_run_name",
        "retries",
        "retry_delay_seconds",
        "task_runner",
        "description",
        "timeout_seconds",
        "validate_parameters",
        "persist_result",
        "result_storage",
        "result_serializer",
        "cache_result_in_memory",
        "log_prints",
        "on_completion",
        "on_failure",
        "on_cancellation",
        "on_crashed",
        "on_running",
    }
)


def _used_names(source: str) -> set[str]:
    """Names the source reads (``x`` in ``x(...)``, ``x.y``), ignoring the imports themselves."""
    try:
        tree = ast.parse(source)
    except (SyntaxError, ValueError):
        return set()
    return {n.id for n in ast.walk(tree) if isinstance(n, ast.Name)}


def _is_prefect_module(module: str) -> bool:
    return module == "prefect" or module.startswith("prefect.")


def _import_module_name(node: cst.ImportFrom) -> str | None:
    if node.relative or node.module is None:
        return None
    return dotted_name(node.module)


def _p1_only(module: str, name: str) -> bool:
    if is_prefect1_only_module(module):
        return True
    return module == "prefect" and name not in PREFECT2_TOP_LEVEL


class ImportsRule(Rule):
    """Prefect imports: new paths, unused ones removed, Prefect 1-only ones flagged (§1)."""

    CODE = "PF001"
    NAME = "imports"
    DESCRIPTION = "Prefect imports: new paths, unused ones removed, Prefect 1-only ones flagged"
    TRIGGERS = ("prefect",)

    def transform_module(self, tree: cst.Module) -> cst.Module:
        original = self.context.scratch.get(SCRATCH_ORIGINAL)
        self._originally_used = _used_names(original) if original else _used_names(tree.code)
        tree = super().transform_module(tree)  # moves, plus removal of unused imports
        return _FlagLeftovers(self.context).transform_module(tree)

    def leave_ImportFrom(self, original_node: cst.ImportFrom, updated_node: cst.ImportFrom):
        module = _import_module_name(updated_node)
        if module is None or not _is_prefect_module(module):
            return updated_node
        if isinstance(updated_node.names, cst.ImportStar):
            return updated_node
        for alias in updated_node.names:
            name = dotted_name(alias.name)
            asname = alias.asname.name.value if alias.asname else None
            if name is None:
                continue
            target = MOVED.get((module, name))
            if target is not None:
                self.add_import(target, name, asname)
                self.context.scratch.setdefault("PF001.moved", set()).add((module, name, asname))
            if _p1_only(module, name) or (asname or name) in self._originally_used:
                RemoveImportsVisitor.remove_unused_import(self.context, module, name, asname)
        return updated_node

    def leave_Import(self, original_node: cst.Import, updated_node: cst.Import):
        for alias in updated_node.names:
            name = dotted_name(alias.name)
            if name and _is_prefect_module(name) and alias.asname is None:
                if is_prefect1_only_module(name) or name.split(".")[0] in self._originally_used:
                    self.remove_import_if_unused(name)
        return updated_node


class _FlagLeftovers(Rule):
    """Second pass of PF001: what is still Prefect 1-only after every rule ran."""

    CODE = "PF001"
    NAME = "imports"

    def __init__(self, context: CodemodContext) -> None:
        super().__init__(context)
        self.flagged_names: dict[str, str] = {}

    def leave_SimpleStatementLine(self, original_node, updated_node):
        stmt = updated_node.body[0] if len(updated_node.body) == 1 else None
        if isinstance(stmt, cst.ImportFrom):
            replaced = self._import_from(updated_node, stmt)
            if replaced is not None:
                return replaced
        return updated_node

    def _import_from(self, line: cst.SimpleStatementLine, node: cst.ImportFrom):
        module = _import_module_name(node)
        if module is None or not _is_prefect_module(module):
            return None
        moved = self.context.scratch.get("PF001.moved", set())
        if isinstance(node.names, cst.ImportStar):
            if is_prefect1_only_module(module) or module == "prefect":
                return self.comment_out(
                    line,
                    f"`from {module} import *` binds Prefect 1 names; import the Prefect 2 "
                    "names this module uses explicitly",
                )
            return None
        keep, drop = [], []
        for alias in node.names:
            name = dotted_name(alias.name) or ""
            asname = alias.asname.name.value if alias.asname else None
            if (module, name, asname) in moved:
                drop.append((alias, name, asname, True))
            elif _p1_only(module, name):
                drop.append((alias, name, asname, False))
            else:
                keep.append(alias)
        if not drop:
            return None
        leftover = [d for d in drop if not d[3]]
        if not leftover:
            if not keep:
                return cst.RemovalSentinel.REMOVE
            return line.with_changes(body=[node.with_changes(names=_fix_commas(keep))])
        names = ", ".join(f"`{n}`" for _, n, _, _ in leftover)
        for _, name, asname, _ in leftover:
            self.flagged_names[asname or name] = f"{module}.{name}"
        removed = node.with_changes(names=_fix_commas([a for a, *_ in leftover]))
        commented = self.comment_out(
            line.with_changes(body=[removed]),
            f"{names} from `{module}` is Prefect 1 API with no automatic Prefect 2 "
            "equivalent: rewrite its uses by hand (see MIGRATION_RULES.md)",
        )
        if not keep:
            return commented
        kept_line = line.with_changes(body=[node.with_changes(names=_fix_commas(keep))])
        return cst.FlattenSentinel([kept_line, commented])

    def visit_Name(self, node: cst.Name) -> None:
        if node.value in self.flagged_names and self._statement_stack:
            parent = self.get_metadata_parent(node)
            if isinstance(parent, (cst.ImportAlias, cst.Attribute)) and not (
                isinstance(parent, cst.Attribute) and parent.value is node
            ):
                return
            self.add_todo(
                f"uses Prefect 1 `{self.flagged_names[node.value]}` (its import is commented "
                "out): rewrite for Prefect 2"
            )

    def get_metadata_parent(self, node: cst.CSTNode):
        return self.get_metadata(ParentNodeProvider, node, None)

    def leave_Decorator(self, original_node: cst.Decorator, updated_node: cst.Decorator):
        call = updated_node.decorator
        if not isinstance(call, cst.Call) or not self.is_prefect(original_node, "prefect.flow"):
            return updated_node
        bad = [
            a for a in call.args if a.keyword is not None and a.keyword.value not in FLOW_OPTIONS
        ]
        if not bad:
            return updated_node
        quoted = ", ".join(f"`{self.code_for(a).strip().rstrip(',')}`" for a in bad)
        self.add_todo(
            f"removed Prefect 1 flow option(s) {quoted}: no automatic Prefect 2 equivalent"
        )
        args = [a for a in call.args if a not in bad]
        return updated_node.with_changes(decorator=call.with_changes(args=_fix_commas(args)))


def _fix_commas(items: list) -> list:
    """Re-join import aliases or call args so the last one has no trailing comma."""
    if not items:
        return items
    fixed = list(items)
    last = fixed[-1]
    if isinstance(last, (cst.ImportAlias, cst.Arg)) and last.comma is not cst.MaybeSentinel.DEFAULT:
        fixed[-1] = last.with_changes(comma=cst.MaybeSentinel.DEFAULT)
    return fixed


RULE = ImportsRule
