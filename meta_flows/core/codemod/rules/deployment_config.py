"""PF016 deployment_config: storage, run_config and schedule leave the code for prefect.yaml (§2.1, §13-16).

Runs second, before PF002. ``meta-flows deployments`` reads these settings from the ORIGINAL source
and writes prefect.yaml, so the code only loses them (an informational comment, not a TODO, marks
the flow).

Before::

    schedule = CronSchedule("0 6 * * *")
    with Flow("etl", schedule=schedule, storage=GitHub(repo="acme/etl")) as flow:
        ...
    flow.run_config = KubernetesRun(image="etl:1")
    flow.executor = LocalDaskExecutor()

After::

    # prefect2-migration: schedule moved to prefect.yaml
    # schedule = CronSchedule("0 6 * * *")
    # prefect2-migration: storage, run_config and schedule moved to prefect.yaml
    with Flow("etl", executor=LocalDaskExecutor()) as flow:
        ...

- One informational line per statement names every setting that left it (a second rule adding
  one merges into the same line); ``meta-flows deployments`` writes them to prefect.yaml.
- ``storage=``/``run_config=``/``schedule=``/``environment=`` kwargs of ``Flow(...)`` (the
  schedule also as Prefect 1's own ``Flow``'s second positional argument, ``Flow("etl",
  schedule)``; a wrapper's positional arguments are its own) and ``flow.<same> = ...`` assignments
  are removed (A).
- ``flow.executor = X`` moves into the ``Flow(...)`` call as ``executor=X`` for PF014 (A).
- Module-level variables that only held a Prefect 1 schedule/clock/storage/run-config object and are
  no longer used are commented out (also in a shared ``schedules.py`` that defines no flow) (A).
"""

from __future__ import annotations

import libcst as cst
from libcst.codemod import CodemodContext
from libcst.metadata import PositionProvider

from meta_flows.core.codemod.analysis.flows import DEPLOYMENT_KWARGS, FLOW, SCRATCH_UNBOUND
from meta_flows.core.codemod.analysis.scope import name_refs, raw_qualified_names
from meta_flows.core.codemod.base import Rule, moved_comment
from meta_flows.core.codemod.names import canonical
from meta_flows.core.codemod.sweep import drop_emptied_main_guard, sweep_block, sweep_module

_DEPLOYMENT_PREFIXES = {
    "prefect.schedules": "schedule",
    "prefect.storage": "storage",
    "prefect.run_configs": "run_config",
    "prefect.environments": "environment",
}


def _assigned_attr(stmt: cst.CSTNode) -> tuple[str, str, cst.BaseExpression] | None:
    """``var.attr = value`` as a single statement: (var, attr, value)."""
    if (
        isinstance(stmt, cst.SimpleStatementLine)
        and len(stmt.body) == 1
        and isinstance(stmt.body[0], cst.Assign)
        and len(stmt.body[0].targets) == 1
    ):
        target = stmt.body[0].targets[0].target
        if isinstance(target, cst.Attribute) and isinstance(target.value, cst.Name):
            return target.value.value, target.attr.value, stmt.body[0].value
    return None


class _Scan(cst.CSTVisitor):
    """Pre-scan (original nodes): flows by variable, and ``var.attr = ...`` statements."""

    def __init__(self, rule: DeploymentConfigRule) -> None:
        self.rule = rule
        self.stack: list[cst.CSTNode] = []
        # variable -> [(line, flow statement, flow call)]
        self.flows: dict[str, list[tuple[int, cst.CSTNode, cst.Call]]] = {}
        self.attrs: list[tuple[int, cst.SimpleStatementLine, str, str, cst.BaseExpression]] = []
        self.flow_calls = 0

    def line(self, node: cst.CSTNode) -> int:
        try:
            return self.rule.get_metadata(PositionProvider, node).start.line
        except KeyError:
            return 0

    def visit_With(self, node: cst.With) -> None:
        for item in node.items:
            if isinstance(item.item, cst.Call) and self.rule.is_prefect(item.item.func, FLOW):
                if item.asname is not None and isinstance(item.asname.name, cst.Name):
                    self.flows.setdefault(item.asname.name.value, []).append(
                        (self.line(node), node, item.item)
                    )

    def visit_Call(self, node: cst.Call) -> None:
        if self.rule.is_prefect(node.func, FLOW):
            self.flow_calls += 1

    def visit_SimpleStatementLine(self, node: cst.SimpleStatementLine) -> None:
        if len(node.body) == 1 and isinstance(node.body[0], cst.Assign):
            assign = node.body[0]
            value = assign.value
            if isinstance(value, cst.Call) and self.rule.is_prefect(value.func, FLOW):
                for t in assign.targets:
                    if isinstance(t.target, cst.Name):
                        self.flows.setdefault(t.target.value, []).append(
                            (self.line(node), node, value)
                        )
        found = _assigned_attr(node)
        if found is not None:
            self.attrs.append((self.line(node), node, *found))


class DeploymentConfigRule(Rule):
    """Storage, run_config and schedule leave the code for prefect.yaml (§2.1, §13-16)."""

    CODE = "PF016"
    NAME = "deployment-config"
    DESCRIPTION = "storage, run_config and schedule leave the code for prefect.yaml (§2.1, §13-16)"
    TRIGGERS = ("storage", "run_config", "schedule", "executor", "environment", "Clock")
    METADATA_DEPENDENCIES = (*Rule.METADATA_DEPENDENCIES, PositionProvider)

    def __init__(self, context: CodemodContext) -> None:
        super().__init__(context)
        self.comments: dict[int, list[str]] = {}  # id(flow statement) -> informational comments
        self.executors: dict[int, cst.BaseExpression] = {}  # id(Flow call) -> executor value
        self.remove: set[int] = set()  # id(statement) to remove
        self.keep_todo: dict[int, str] = {}
        self.deployment_vars: dict[str, str] = {}  # module-level name -> kind
        self.imports: dict[str, tuple[str, str | None]] = {}
        self.removed_values: list[cst.BaseExpression] = []
        self.has_flows = False
        self.emptied: set[int] = set()
        self.removed: set[int] = set()

    # ------------------------------------------------------------------ analysis

    def visit_Module(self, node: cst.Module) -> bool:
        super().visit_Module(node)
        scan = _Scan(self)
        node.visit(scan)
        self.has_flows = scan.flow_calls > 0
        for line, stmt, var, attr, value in scan.attrs:
            flows = [f for f in scan.flows.get(var, []) if f[0] < line] or scan.flows.get(var, [])
            if attr in DEPLOYMENT_KWARGS and var in scan.flows:
                self.remove.add(id(stmt))
                self.removed_values.append(value)
                self.comments.setdefault(id(flows[-1][1]), []).append(moved_comment(attr))
            elif attr == "executor" and var in scan.flows:
                call = flows[-1][2]
                self.executors[id(call)] = value
                self.remove.add(id(stmt))
        self._scan_module_level(node)
        return True

    def _kind(self, value: cst.BaseExpression) -> str | None:
        if isinstance(value, cst.Call):
            for prefix, kind in _DEPLOYMENT_PREFIXES.items():
                if self.resolves_under(value.func, prefix):
                    return kind
            return None
        if isinstance(value, (cst.List, cst.Tuple)) and value.elements:
            kinds = {self._kind(el.value) for el in value.elements}
            return kinds.pop() if len(kinds) == 1 else None
        if isinstance(value, cst.Name):
            return self.deployment_vars.get(value.value)
        return None

    def _scan_module_level(self, module: cst.Module) -> None:
        for stmt in module.body:
            if not isinstance(stmt, cst.SimpleStatementLine):
                continue
            for small in stmt.body:
                if isinstance(small, cst.ImportFrom) and not isinstance(
                    small.names, cst.ImportStar
                ):
                    if small.relative or small.module is None:
                        continue
                    mod = cst.Module(body=[]).code_for_node(small.module)
                    for alias in small.names:
                        if alias.asname is None:
                            self.imports[alias.name.value] = (mod, alias.name.value)
                elif isinstance(small, cst.Import):
                    for alias in small.names:
                        if alias.asname is None and isinstance(alias.name, cst.Name):
                            self.imports[alias.name.value] = (alias.name.value, None)
            if (
                len(stmt.body) == 1
                and isinstance(stmt.body[0], cst.Assign)
                and len(stmt.body[0].targets) == 1
                and isinstance(stmt.body[0].targets[0].target, cst.Name)
            ):
                kind = self._kind(stmt.body[0].value)
                if kind:
                    self.deployment_vars[stmt.body[0].targets[0].target.value] = kind

    # ------------------------------------------------------------------ rewriting

    def leave_Call(self, original_node: cst.Call, updated_node: cst.Call):
        if not self.is_prefect(original_node.func, FLOW):
            return updated_node
        executor = self.executors.get(id(original_node))
        changed = executor is not None
        args = []
        removed = []
        # Prefect 1's own Flow(name, schedule, ...): a second positional argument is the schedule
        # (a wrapper's positional arguments are its own)
        own_flow = any(
            canonical(q) == "prefect.Flow" for q in raw_qualified_names(self, original_node.func)
        )
        positional = 0
        for arg in updated_node.args:
            key = arg.keyword.value if arg.keyword is not None else None
            if key is None and not arg.star:
                positional += 1
                if positional == 2 and own_flow:
                    key = "schedule"
            if key in DEPLOYMENT_KWARGS:
                removed.append(key)
                self.removed_values.append(arg.value)
                continue
            if key == "executor" and executor is not None:
                arg = arg.with_changes(value=executor)
                executor = None
            args.append(arg)
        if executor is not None:
            eq = cst.AssignEqual(
                whitespace_before=cst.SimpleWhitespace(""),
                whitespace_after=cst.SimpleWhitespace(""),
            )
            if args and args[-1].comma is cst.MaybeSentinel.DEFAULT:
                args[-1] = args[-1].with_changes(
                    comma=cst.Comma(whitespace_after=cst.SimpleWhitespace(" "))
                )
            args.append(cst.Arg(keyword=cst.Name("executor"), value=executor, equal=eq))
        elif not removed and not changed:
            return updated_node
        if args and removed and updated_node.args:
            args[-1] = args[-1].with_changes(comma=updated_node.args[-1].comma)
        for key in removed:
            self._comment(moved_comment(key))
        self.mark_applied()
        return updated_node.with_changes(args=args)

    def _comment(self, text: str) -> None:
        """An informational comment above the innermost statement being visited."""
        if self._statement_stack:
            pending = self._pending.setdefault(id(self._statement_stack[-1]), [])
            if text not in pending:
                pending.append(text)

    def on_leave(self, original_node, updated_node):
        comments = self.comments.get(id(original_node))
        if comments:
            for text in comments:
                self._pending.setdefault(id(original_node), [])
                if text not in self._pending[id(original_node)]:
                    self._pending[id(original_node)].append(text)
        return super().on_leave(original_node, updated_node)

    def leave_SimpleStatementLine(self, original_node, updated_node):
        if id(original_node) in self.remove:
            self.mark_applied()
            self.removed.add(self.new_node_id(updated_node))
        return updated_node

    def leave_IndentedBlock(self, original_node, updated_node):
        return sweep_block(self, updated_node)

    def leave_If(self, original_node, updated_node):
        return drop_emptied_main_guard(self, original_node, updated_node)

    def leave_Module(self, original_node, updated_node):
        updated_node = sweep_module(self, updated_node)
        body = list(updated_node.body)
        footer = list(updated_node.footer)
        unbound = self.context.scratch.setdefault(SCRATCH_UNBOUND, set())
        commented = True
        while commented:
            commented = False
            for i, stmt in enumerate(body):
                if not (
                    isinstance(stmt, cst.SimpleStatementLine)
                    and len(stmt.body) == 1
                    and isinstance(stmt.body[0], cst.Assign)
                    and len(stmt.body[0].targets) == 1
                    and isinstance(stmt.body[0].targets[0].target, cst.Name)
                ):
                    continue
                name = stmt.body[0].targets[0].target.value
                kind = self.deployment_vars.get(name)
                if kind is None:
                    continue
                others = body[:i] + body[i + 1 :]
                if any(r.value == name for s in others for r in name_refs(s)):
                    continue
                imported = self.project.is_imported_elsewhere(self.context.full_module_name, name)
                if imported and self.has_flows:
                    continue
                self.removed_values.append(stmt.body[0].value)
                lines = self._commented(stmt, moved_comment(kind))
                if i + 1 < len(body):
                    body[i + 1] = body[i + 1].with_changes(
                        leading_lines=[*lines, *body[i + 1].leading_lines]
                    )
                else:
                    footer = [*lines, *footer]
                del body[i]
                unbound.add(name)
                self.mark_applied()
                commented = True
                break
        # Imports only the removed deployment settings used.
        still = {r.value for s in body for r in name_refs(s)}
        for value in self.removed_values:
            for ref in name_refs(value):
                if ref.value in self.imports and ref.value not in still:
                    module, name = self.imports[ref.value]
                    self.remove_import_if_unused(module, name)
                    unbound.add(ref.value)
        if body == list(updated_node.body) and footer == list(updated_node.footer):
            return updated_node
        return updated_node.with_changes(body=body, footer=footer)

    def _commented(self, stmt: cst.SimpleStatementLine, info: str) -> list[cst.EmptyLine]:
        code = cst.Module(body=[]).code_for_node(stmt.with_changes(leading_lines=[]))
        lines = [*stmt.leading_lines, cst.EmptyLine(comment=cst.Comment(info))]
        for text in code.rstrip("\n").splitlines():
            lines.append(cst.EmptyLine(comment=cst.Comment("# " + text if text.strip() else "#")))
        return lines


RULE = DeploymentConfigRule
