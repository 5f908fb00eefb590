"""Names in LibCST trees: what a name refers to, where it is bound and used.

Shared by the rules and the inventory: which calls are task calls, which module-level names a
block binds, which names a node reads, how statements removed by a rule are swept away.
"""

from __future__ import annotations

import libcst as cst
from libcst.metadata import QualifiedNameProvider, QualifiedNameSource

from meta_flows.core.codemod.base import (
    Rule,
    dotted_name,
    literal_value,
)


def raw_qualified_names(rule: Rule, node: cst.CSTNode) -> set[str]:
    """Qualified names of ``node`` as written (local names prefixed with the module's name)."""
    try:
        qnames = rule.get_metadata(QualifiedNameProvider, node, set())
    except KeyError:
        return set()
    module = rule.context.full_module_name or "__main__"
    out = set()
    for q in qnames:
        if q.source == QualifiedNameSource.LOCAL:
            out.add(f"{module}.{q.name}")
        elif q.name.startswith("."):
            out.add(rule.project.absolute(rule.context.full_module_name, q.name))
        else:
            out.add(q.name)
    return out


def is_task_class(rule: Rule, func: cst.BaseExpression) -> bool:
    """``func`` is a Task subclass (Prefect's task library, ``prefect.Task`` or the project's)."""
    name = rule.prefect_name(func)
    if name and (name == "prefect.Task" or name.startswith("prefect.tasks.")):
        return name.rsplit(".", 1)[-1][:1].isupper()
    return bool(raw_qualified_names(rule, func) & rule.project.task_classes)


def task_defining_value(rule: Rule, value: cst.BaseExpression) -> bool:
    """``value`` (right-hand side of an assignment) creates a task: ``task(fn)``, ``MyTask()``."""
    if not isinstance(value, cst.Call):
        return False
    if rule.is_prefect(value.func, "prefect.task"):
        return bool(value.args)
    if isinstance(value.func, cst.Call) and rule.is_prefect(value.func.func, "prefect.task"):
        return True
    return is_task_class(rule, value.func)


def module_task_names(rule: Rule, module: cst.Module) -> set[str]:
    """Module-level names bound to tasks (``@task`` functions, ``x = task(fn)``, instances)."""
    names: set[str] = set()
    for stmt in module.body:
        if isinstance(stmt, cst.FunctionDef):
            if any(rule.is_prefect(d, "prefect.task") for d in stmt.decorators):
                names.add(stmt.name.value)
        elif isinstance(stmt, cst.SimpleStatementLine):
            for small in stmt.body:
                if isinstance(small, cst.Assign) and task_defining_value(rule, small.value):
                    names.update(
                        t.target.value for t in small.targets if isinstance(t.target, cst.Name)
                    )
    return names


class TaskCalls:
    """Tells which calls of a flow body call a task."""

    def __init__(self, rule: Rule, local: set[str]) -> None:
        self.rule = rule
        self.local = set(local)

    def is_task(self, func: cst.BaseExpression) -> bool:
        if isinstance(func, cst.Name) and func.value in self.local:
            return True
        if isinstance(func, cst.Call):  # MyTask()(x)
            return is_task_class(self.rule, func.func)
        if isinstance(func, (cst.Name, cst.Attribute)):
            return bool(raw_qualified_names(self.rule, func) & self.rule.project.tasks)
        return False

    def task_of_call(self, call: cst.Call) -> tuple[bool, bool]:
        """(is a task call, is a ``.map`` call)."""
        func = call.func
        if isinstance(func, cst.Attribute) and func.attr.value == "map":
            return self.is_task(func.value), True
        return self.is_task(func), False

    def learn_body(self, stmts) -> None:
        """Task instances created inside the body (``t = ShellTask()``)."""
        for stmt in stmts:
            if isinstance(stmt, cst.SimpleStatementLine):
                for small in stmt.body:
                    if isinstance(small, cst.Assign) and task_defining_value(
                        self.rule, small.value
                    ):
                        self.local.update(
                            t.target.value for t in small.targets if isinstance(t.target, cst.Name)
                        )


class References(cst.CSTVisitor):
    """Visits the Name nodes that are real references (not attribute or keyword names, not
    imported names); subclasses act on them in ``visit_Name``."""

    def visit_Attribute(self, node: cst.Attribute) -> bool:
        node.value.visit(self)
        return False

    def visit_Arg(self, node: cst.Arg) -> bool:
        node.value.visit(self)
        return False

    def visit_Param(self, node: cst.Param) -> bool:
        if node.default is not None:
            node.default.visit(self)
        return False

    def visit_ImportFrom(self, node: cst.ImportFrom) -> bool:
        return False

    def visit_Import(self, node: cst.Import) -> bool:
        return False


class _Names(References):
    """Collects the Name nodes that are real references."""

    def __init__(self) -> None:
        self.names: list[cst.Name] = []

    def visit_Name(self, node: cst.Name) -> None:
        self.names.append(node)


def stored_names(node: cst.CSTNode, *, walrus: bool = True) -> list[str]:
    """Every name ``node`` stores to, at any depth, one entry per store: assignment, augmented
    and annotated assignment, ``for`` and ``with ... as`` targets, and (``walrus``) ``:=``."""
    out: list[str] = []

    class _Stores(cst.CSTVisitor):
        def visit_AssignTarget(self, n: cst.AssignTarget) -> None:
            out.extend(target_names(n.target))

        def visit_AugAssign(self, n: cst.AugAssign) -> None:
            out.extend(target_names(n.target))

        def visit_AnnAssign(self, n: cst.AnnAssign) -> None:
            out.extend(target_names(n.target))

        def visit_For(self, n: cst.For) -> None:
            out.extend(target_names(n.target))

        def visit_WithItem(self, n: cst.WithItem) -> None:
            if n.asname is not None:
                out.extend(target_names(n.asname.name))

        def visit_NamedExpr(self, n: cst.NamedExpr) -> None:
            if walrus:
                out.extend(target_names(n.target))

    node.visit(_Stores())
    return out


def name_refs(node: cst.CSTNode) -> list[cst.Name]:
    visitor = _Names()
    node.visit(visitor)
    return visitor.names


def count_refs(nodes, name: str) -> int:
    return sum(1 for n in nodes for r in name_refs(n) if r.value == name)


def live_refs(nodes, name: str, skipped: set[int]) -> int:
    """Like :func:`count_refs`, not counting the statements whose id is in ``skipped``."""

    class _Skip(_Names):
        def visit_SimpleStatementLine(self, node: cst.SimpleStatementLine) -> bool:
            return id(node) not in skipped

        def on_visit(self, node: cst.CSTNode) -> bool:
            if isinstance(node, cst.BaseCompoundStatement) and id(node) in skipped:
                return False
            return super().on_visit(node)

    visitor = _Skip()
    for node in nodes:
        if id(node) not in skipped:
            node.visit(visitor)
    return sum(1 for r in visitor.names if r.value == name)


def target_names(target: cst.BaseExpression) -> list[str]:
    if isinstance(target, cst.Name):
        return [target.value]
    if isinstance(target, (cst.Tuple, cst.List)):
        out = []
        for el in target.elements:
            out += target_names(el.value)
        return out
    if isinstance(target, cst.StarredElement):
        return target_names(target.value)
    return []


def module_bound_names(
    module: cst.Module, exclude_with_targets: set[int] = frozenset()
) -> set[str]:
    """Names bound at module level (definitions, assignments, imports, loop/with targets)."""
    return bound_names(module.body, exclude_with_targets)


def bound_names(stmts, exclude_with_targets: set[int] = frozenset()) -> set[str]:
    """Names bound by ``stmts`` in their own scope (not inside nested functions or classes)."""
    names: set[str] = set()

    def walk(stmts) -> None:
        for stmt in stmts:
            if isinstance(stmt, (cst.FunctionDef, cst.ClassDef)):
                names.add(stmt.name.value)
            elif isinstance(stmt, cst.SimpleStatementLine):
                for small in stmt.body:
                    if isinstance(small, cst.Assign):
                        for t in small.targets:
                            names.update(target_names(t.target))
                    elif isinstance(small, (cst.AnnAssign, cst.AugAssign)):
                        names.update(target_names(small.target))
                    elif isinstance(small, cst.Import):
                        for alias in small.names:
                            if alias.asname is not None:
                                names.update(target_names(alias.asname.name))
                            else:
                                names.add(dotted_name(alias.name).split(".")[0])
                    elif isinstance(small, cst.ImportFrom) and not isinstance(
                        small.names, cst.ImportStar
                    ):
                        for alias in small.names:
                            if alias.asname is not None:
                                names.update(target_names(alias.asname.name))
                            else:
                                names.add(alias.name.value)
            elif isinstance(stmt, cst.BaseCompoundStatement):
                if isinstance(stmt, cst.For):
                    names.update(target_names(stmt.target))
                if isinstance(stmt, cst.With) and id(stmt) not in exclude_with_targets:
                    for item in stmt.items:
                        if item.asname is not None:
                            names.update(target_names(item.asname.name))
                for block in child_blocks(stmt):
                    walk(block)

    walk(stmts)
    return names


def child_blocks(stmt: cst.BaseCompoundStatement):
    """The statement lists of a compound statement (body, else, handlers...), no defs/classes."""
    out = []
    node = stmt
    while node is not None:
        body = getattr(node, "body", None)
        if isinstance(body, cst.IndentedBlock):
            out.append(body.body)
        for handler in getattr(node, "handlers", ()) or ():
            if isinstance(handler.body, cst.IndentedBlock):
                out.append(handler.body.body)
        for attr in ("finalbody",):
            extra = getattr(node, attr, None)
            if extra is not None and isinstance(extra.body, cst.IndentedBlock):
                out.append(extra.body.body)
        orelse = getattr(node, "orelse", None)
        if isinstance(orelse, cst.If):
            node = orelse
            continue
        if orelse is not None and isinstance(getattr(orelse, "body", None), cst.IndentedBlock):
            out.append(orelse.body.body)
        node = None
    return out


def string_value(node: cst.BaseExpression | None) -> str | None:
    try:
        value = literal_value(node)
    except Exception:
        return None
    return value if isinstance(value, str) else None


def is_docstring(node: cst.CSTNode) -> bool:
    """A string literal alone as a statement: a line ``"..."`` or its ``Expr``."""
    if isinstance(node, cst.SimpleStatementLine):
        if len(node.body) != 1:
            return False
        node = node.body[0]
    return isinstance(node, cst.Expr) and isinstance(
        node.value, (cst.SimpleString, cst.ConcatenatedString)
    )
