"""Tasks reading Prefect 1's ``prefect.context.map_index``, and how to pass the index instead.

Prefect 2 gives a mapped task run no index in its context. A module-level ``@task`` function that
reads it (``prefect.context.map_index``, ``prefect.context["map_index"]``,
``prefect.context.get("map_index")``) can take it as a parameter ``map_index=None`` (``None``:
what Prefect 1 gave a task run that was not mapped) when every ``.map(...)`` of it in the module
passes ``map_index=range(len(<a mapped argument>))``. That holds when the task is used only by
calls of this module (called, ``.map``-ed or ``.submit``-ted, not imported elsewhere), each of its
``.map`` calls has a mapped argument that is a plain name, attribute or literal (read twice: once
for the length) and no ``upstream_tasks=`` (which shortens the map), and the function does not
already use the name ``map_index``.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import libcst as cst

KEY = "map_index"
CONTEXT = "prefect.context"
_SIMPLE = (cst.Name, cst.Attribute, cst.List, cst.Tuple, cst.SimpleString)


@dataclass
class MapIndexPlan:
    tasks: set[str] = field(default_factory=set)  # task functions given a map_index parameter
    reads: set[int] = field(default_factory=set)  # ids of the context reads to replace
    lengths: dict[int, cst.BaseExpression] = field(default_factory=dict)  # id(.map call) -> arg


def _string(node: cst.CSTNode) -> str | None:
    return node.evaluated_value if isinstance(node, cst.SimpleString) else None


class _Reads(cst.CSTVisitor):
    def __init__(self, rule) -> None:
        self.rule = rule
        self.reads: list[cst.CSTNode] = []
        self.uses_name = False

    def _context(self, node: cst.CSTNode) -> bool:
        return self.rule.prefect_name(node) == CONTEXT

    def visit_Name(self, node: cst.Name) -> None:
        if node.value == KEY:
            self.uses_name = True

    def visit_Attribute(self, node: cst.Attribute) -> bool:
        if node.attr.value == KEY and self._context(node.value):
            self.reads.append(node)
            return False
        return True

    def visit_Subscript(self, node: cst.Subscript) -> bool:
        if self._context(node.value) and len(node.slice) == 1:
            index = node.slice[0].slice
            if isinstance(index, cst.Index) and _string(index.value) == KEY:
                self.reads.append(node)
                return False
        return True

    def visit_Call(self, node: cst.Call) -> bool:
        func = node.func
        if (
            isinstance(func, cst.Attribute)
            and func.attr.value == "get"
            and self._context(func.value)
            and node.args
            and not node.args[0].keyword
            and _string(node.args[0].value) == KEY
        ):
            # during a task run Prefect 1 always set the key: a default is never used
            self.reads.append(node)
            return False
        return True


def _length_source(rule, call: cst.Call) -> cst.BaseExpression | None:
    """The first mapped argument of a ``.map(...)`` call when it can be read twice, else None."""
    if any(a.star for a in call.args) or any(
        a.keyword is not None and a.keyword.value == "upstream_tasks" for a in call.args
    ):
        return None
    for arg in call.args:
        value = arg.value
        if isinstance(value, cst.Call) and rule.is_prefect(value.func, "prefect.unmapped"):
            continue
        if isinstance(value, _SIMPLE) and not rule.is_task(value):  # not a task given uncalled
            return value
        return None
    return None


def plan_map_index(rule, module: cst.Module, local_tasks: set[str]) -> MapIndexPlan:
    """Which module-level task functions of ``module`` take the index as a parameter."""
    plan = MapIndexPlan()
    candidates: dict[str, list[cst.CSTNode]] = {}
    for stmt in module.body:
        if isinstance(stmt, cst.FunctionDef) and stmt.name.value in local_tasks:
            reads = _Reads(rule)
            stmt.visit(reads)
            if reads.reads and not reads.uses_name:
                candidates[stmt.name.value] = reads.reads
    if not candidates:
        return plan
    module_name = rule.context.full_module_name
    for name in list(candidates):
        if rule.project.is_imported_elsewhere(module_name, name):
            del candidates[name]
    uses = _TaskUses(set(candidates))
    module.visit(uses)
    for name, reads in candidates.items():
        if name in uses.other:
            continue
        maps = uses.maps.get(name, [])
        lengths = {id(c): _length_source(rule, c) for c in maps}
        if any(v is None for v in lengths.values()):
            continue
        plan.tasks.add(name)
        plan.reads.update(id(r) for r in reads)
        plan.lengths.update(lengths)
    return plan


class _TaskUses(cst.CSTVisitor):
    """Each use of the candidate task names: ``.map`` calls, and names used any other way."""

    def __init__(self, names: set[str]) -> None:
        self.names = names
        self.maps: dict[str, list[cst.Call]] = {}
        self.other: set[str] = set()
        self._fine: set[int] = set()  # names called, .map-ed, .submit-ted or defined

    def visit_FunctionDef(self, node: cst.FunctionDef) -> None:
        self._fine.add(id(node.name))

    def visit_Call(self, node: cst.Call) -> None:
        func = node.func
        if isinstance(func, cst.Name):
            self._fine.add(id(func))  # a direct call: no index (None)
        elif (
            isinstance(func, cst.Attribute)
            and isinstance(func.value, cst.Name)
            and func.attr.value in ("map", "submit")
        ):
            self._fine.add(id(func.value))
            if func.attr.value == "map" and func.value.value in self.names:
                self.maps.setdefault(func.value.value, []).append(node)

    def visit_Name(self, node: cst.Name) -> None:
        if node.value in self.names and id(node) not in self._fine:
            self.other.add(node.value)
