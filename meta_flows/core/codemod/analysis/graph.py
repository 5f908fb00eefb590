"""The dependency graph of a flow built with Prefect 1's imperative API.

``flow.add_task``, ``flow.add_edge``, ``flow.set_dependencies``, ``flow.chain`` and the task methods
``set_upstream``/``set_downstream``/``bind`` are read into a graph whose topological order is the
order the migrated ``@flow`` function calls its tasks in (``None`` when the edges are not static).
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field

import libcst as cst

from meta_flows.core.codemod.analysis.scope import (
    module_bound_names,
    string_value,
)
from meta_flows.core.codemod.analysis.uses import (
    FUNCTIONAL_METHODS,
    flow_uses,
    handled_use,
    method_call,
    simple_assign,
    unmapped_value,
)
from meta_flows.core.codemod.base import (
    get_arg,
)


@dataclass
class DependencyGraph:
    order: list[str] = field(default_factory=list)  # nodes in first-appearance order
    upstream: dict[str, list[str]] = field(default_factory=dict)
    keyword: dict[str, list[tuple[str, str]]] = field(default_factory=dict)
    mapped: set[str] = field(default_factory=set)  # nodes with a mapped edge: called with .map
    # (downstream, key or None, upstream) of the mapped edges: the other edges into a mapped node
    # are passed unmapped
    mapped_edges: set[tuple[str, str | None, object]] = field(default_factory=set)
    statements: list[int] = field(default_factory=list)  # module body indexes consumed

    def node(self, name: str) -> None:
        if name not in self.order:
            self.order.append(name)
            self.upstream[name] = []
            self.keyword[name] = []

    def edge(self, up: str, down: str, key: str | None, mapped: bool = False) -> None:
        self.node(up)
        self.node(down)
        if key is None:
            if up not in self.upstream[down]:
                self.upstream[down].append(up)
        else:
            self.keyword[down].append((key, up))
        if mapped:
            self.mapped.add(down)
            self.mapped_edges.add((down, key, up))

    def list_edge(self, ups: list[str], down: str, key: str, mapped: bool = False) -> None:
        """``down(key=[up1, up2])``: a keyword argument collecting several results."""
        for up in ups:
            self.node(up)
        self.node(down)
        self.keyword[down].append((key, tuple(ups)))
        if mapped:
            self.mapped.add(down)
            self.mapped_edges.add((down, key, tuple(ups)))

    def is_mapped(self, down: str, key: str | None, up: object) -> bool:
        """The edge ``up -> down`` (under ``key``) is mapped: ``down`` maps over ``up``."""
        return (down, key, up) in self.mapped_edges

    def deps(self, name: str) -> set[str]:
        out = set(self.upstream[name])
        for _, up in self.keyword[name]:
            out |= set(up) if isinstance(up, tuple) else {up}
        return out

    def topological(self) -> list[str] | None:
        done: list[str] = []
        remaining = list(self.order)
        while remaining:
            for name in remaining:
                if self.deps(name) <= set(done):
                    done.append(name)
                    remaining.remove(name)
                    break
            else:
                return None  # a cycle
        return done


def _name_list(node: cst.BaseExpression | None) -> list[str] | None:
    if node is None:
        return []
    if isinstance(node, cst.Name) and node.value == "None":
        return []
    if isinstance(node, (cst.List, cst.Tuple, cst.Set)):
        out = []
        for el in node.elements:
            if not isinstance(el.value, cst.Name):
                return None
            out.append(el.value.value)
        return out
    return None


def _keyword_dict(node: cst.BaseExpression | None) -> list[tuple[str, str]] | None:
    if node is None or (isinstance(node, cst.Name) and node.value == "None"):
        return []
    if isinstance(node, cst.Dict):
        out = []
        for el in node.elements:
            if not isinstance(el, cst.DictElement) or not isinstance(el.value, cst.Name):
                return None
            key = string_value(el.key)
            if key is None or not key.isidentifier():
                return None
            out.append((key, el.value.value))
        return out
    if isinstance(node, cst.Call) and isinstance(node.func, cst.Name) and node.func.value == "dict":
        out = []
        for arg in node.args:
            if arg.keyword is None or not isinstance(arg.value, cst.Name):
                return None
            out.append((arg.keyword.value, arg.value.value))
        return out
    return None


def _bool_literal(node: cst.BaseExpression | None) -> bool | None:
    if node is None:
        return False
    if isinstance(node, cst.Name) and node.value in ("True", "False"):
        return node.value == "True"
    return None


TASK_METHODS = ("set_upstream", "set_downstream", "bind")


def _task_method_call(
    stmt: cst.CSTNode, variable: str | None, in_body: bool = False
) -> tuple[str, str, cst.Call] | None:
    """``t.set_upstream(...)``/``t.set_downstream(...)``/``t.bind(...)`` with ``flow=variable``
    (``in_body``: in the body of ``with Flow(...) as variable``, whose flow they default to, also
    without ``flow=``) as a single expression statement: (task name, method, call)."""
    if not (
        isinstance(stmt, cst.SimpleStatementLine)
        and len(stmt.body) == 1
        and isinstance(stmt.body[0], cst.Expr)
        and isinstance(stmt.body[0].value, cst.Call)
    ):
        return None
    call = stmt.body[0].value
    func = call.func
    if not (
        isinstance(func, cst.Attribute)
        and isinstance(func.value, cst.Name)
        and func.attr.value in TASK_METHODS
    ):
        return None
    flow_arg = get_arg(call, "flow")
    if in_body and flow_arg is None:
        return func.value.value, func.attr.value, call
    if not (
        variable is not None
        and flow_arg is not None
        and isinstance(flow_arg.value, cst.Name)
        and flow_arg.value.value == variable
    ):
        return None
    return func.value.value, func.attr.value, call


def _apply_task_method(graph: DependencyGraph, task_name: str, method: str, call: cst.Call) -> bool:
    """Record ``task.set_upstream/set_downstream/bind(..., flow=f)``; False when not static."""
    if any(a.star for a in call.args):
        return False
    if method in ("set_upstream", "set_downstream"):
        known = {"task", "flow", "key", "mapped"}
        if any(a.keyword is not None and a.keyword.value not in known for a in call.args):
            return False
        other = get_arg(call, "task", 0)
        if other is None or not isinstance(other.value, cst.Name):
            return False
        key = get_arg(call, "key", 2)
        key_value = string_value(key.value) if key is not None else None
        if key is not None and not (key_value and key_value.isidentifier()):
            if not (isinstance(key.value, cst.Name) and key.value.value == "None"):
                return False
        mapped_arg = get_arg(call, "mapped", 3)
        mapped = _bool_literal(mapped_arg.value if mapped_arg else None)
        if mapped is None:
            return False
        up, down = (
            (other.value.value, task_name)
            if method == "set_upstream"
            else (task_name, other.value.value)
        )
        graph.edge(up, down, key_value, mapped)
        return True
    # bind(**kwargs, upstream_tasks=[...], mapped=..., flow=f): keyword arguments only
    mapped_arg = get_arg(call, "mapped")
    mapped = _bool_literal(mapped_arg.value if mapped_arg else None)
    if mapped is None:
        return False
    graph.node(task_name)
    for arg in call.args:
        if arg.keyword is None:
            return False  # positional arguments need the task's signature
        key = arg.keyword.value
        if key in ("flow", "mapped"):
            continue
        if key == "upstream_tasks":
            ups = _name_list(arg.value)
            if ups is None:
                return False
            for up in ups:
                graph.edge(up, task_name, None, mapped)
        elif isinstance(arg.value, cst.Name):
            graph.edge(arg.value.value, task_name, key, mapped)
        elif isinstance(inner := unmapped_value(arg.value), cst.Name):
            graph.edge(inner.value, task_name, key, False)  # bind(mapped=True, x=unmapped(c))
        else:
            ups = _name_list(arg.value) if isinstance(arg.value, cst.List) else None
            if not ups:
                return False
            graph.list_edge(ups, task_name, key, mapped)
    return True


def _apply_functional(graph: DependencyGraph, method: str, call: cst.Call) -> bool:
    """Record one functional-API call in ``graph``; False when it is not static."""
    if any(a.star for a in call.args):
        return False
    if method == "add_task":
        arg = get_arg(call, "task", 0)
        if arg is None or not isinstance(arg.value, cst.Name) or len(call.args) != 1:
            return False
        graph.node(arg.value.value)
        return True
    if method == "add_edge":
        up = get_arg(call, "upstream_task", 0)
        down = get_arg(call, "downstream_task", 1)
        key = get_arg(call, "key", 2)
        mapped = _bool_literal(
            get_arg(call, "mapped", 3).value if get_arg(call, "mapped", 3) else None
        )
        known = {"upstream_task", "downstream_task", "key", "mapped", "validate"}
        if any(a.keyword is not None and a.keyword.value not in known for a in call.args):
            return False
        if not (
            up and down and isinstance(up.value, cst.Name) and isinstance(down.value, cst.Name)
        ):
            return False
        key_value = string_value(key.value) if key is not None else None
        if key is not None and not (key_value and key_value.isidentifier()):
            if not (isinstance(key.value, cst.Name) and key.value.value == "None"):
                return False
        if mapped is None:
            return False
        graph.edge(up.value.value, down.value.value, key_value, mapped)
        return True
    if method == "set_dependencies":
        known = {
            "task",
            "upstream_tasks",
            "downstream_tasks",
            "keyword_tasks",
            "mapped",
            "validate",
        }
        if any(a.keyword is not None and a.keyword.value not in known for a in call.args):
            return False
        task_arg = get_arg(call, "task", 0)
        if task_arg is None or not isinstance(task_arg.value, cst.Name):
            return False
        task_name = task_arg.value.value
        ups = _name_list(
            get_arg(call, "upstream_tasks", 1).value if get_arg(call, "upstream_tasks", 1) else None
        )
        downs = _name_list(
            get_arg(call, "downstream_tasks", 2).value
            if get_arg(call, "downstream_tasks", 2)
            else None
        )
        kws = _keyword_dict(
            get_arg(call, "keyword_tasks", 3).value if get_arg(call, "keyword_tasks", 3) else None
        )
        mapped = _bool_literal(
            get_arg(call, "mapped", 4).value if get_arg(call, "mapped", 4) else None
        )
        if ups is None or downs is None or kws is None or mapped is None:
            return False
        graph.node(task_name)
        for up in ups:
            graph.edge(up, task_name, None, mapped)
        for down in downs:
            graph.edge(task_name, down, None)  # Prefect 1 maps the upstream edges only
        for key, up in kws:
            graph.edge(up, task_name, key, mapped)
        return True
    if method == "chain":
        names = []
        for arg in call.args:
            if arg.keyword is not None or not isinstance(arg.value, cst.Name):
                return False
            names.append(arg.value.value)
        for up, down in zip(names, names[1:], strict=False):
            graph.edge(up, down, None)
        for name in names:
            graph.node(name)
        return True
    return False


def statement_graph(stmt: cst.CSTNode, variable: str | None) -> DependencyGraph | None:
    """The edges one statement of the body of ``with Flow(...) as variable`` adds to its flow, when
    it is a static use of the imperative API (``variable.add_edge/set_dependencies/chain/add_task``,
    ``t.set_upstream/set_downstream/bind``, with ``flow=variable`` or none: the flow of the
    block); None otherwise. ``chain`` of fewer than two tasks adds nothing in Prefect 1: None."""
    graph = DependencyGraph()
    method = method_call(stmt, variable) if variable is not None else None
    if method is not None:
        if method[0] not in FUNCTIONAL_METHODS:
            return None
        if method[0] == "chain" and len(method[1].args) < 2:
            return None
        return graph if _apply_functional(graph, *method) and graph.order else None
    found = _task_method_call(stmt, variable, in_body=True)
    if found is None:
        return None
    return graph if _apply_task_method(graph, *found) and graph.order else None


class _AttributeStores(cst.CSTVisitor):
    """How often each ``name.attr`` is stored to (assigned, augmented, deleted, a loop target)."""

    def __init__(self) -> None:
        self.count: Counter[tuple[str, str]] = Counter()

    def _store(self, target: cst.CSTNode) -> None:
        if isinstance(target, cst.Attribute) and isinstance(target.value, cst.Name):
            self.count[(target.value.value, target.attr.value)] += 1
        elif isinstance(target, (cst.Tuple, cst.List)):
            for el in target.elements:
                self._store(el.value)

    def visit_AssignTarget(self, node: cst.AssignTarget) -> None:
        self._store(node.target)

    def visit_AugAssign(self, node: cst.AugAssign) -> None:
        self._store(node.target)

    def visit_AnnAssign(self, node: cst.AnnAssign) -> None:
        self._store(node.target)

    def visit_Del(self, node: cst.Del) -> None:
        self._store(node.target)

    def visit_For(self, node: cst.For) -> None:
        self._store(node.target)


def _attribute_task(stmt: cst.CSTNode, variable: str) -> tuple[str, cst.Call] | None:
    """``variable.x = Cls(...)`` as a single statement line -> (``x``, the call)."""
    if not (isinstance(stmt, cst.SimpleStatementLine) and len(stmt.body) == 1):
        return None
    small = stmt.body[0]
    if not (isinstance(small, cst.Assign) and len(small.targets) == 1):
        return None
    target, value = small.targets[0].target, small.value
    if (
        isinstance(target, cst.Attribute)
        and isinstance(target.value, cst.Name)
        and target.value.value == variable
        and isinstance(value, cst.Call)
        and isinstance(value.func, cst.Name)
    ):
        return target.attr.value, value
    return None


def flow_task_attributes(module: cst.Module, variable: str, task_classes: set[str]) -> set[str]:
    """The attributes ``x`` of a functional-API flow ``variable`` that keep its tasks
    (``flow.x = Cls(...)``, ``Cls`` a Task subclass of the module, at module level): PF006 makes
    each the module-level task ``x`` and ``flow.x`` names it. Only when ``variable.x`` is stored
    once in the module and ``x`` is no module-level name."""
    stores = _AttributeStores()
    module.visit(stores)
    bound = module_bound_names(module)
    found: list[str] = []
    for stmt in module.body:
        attr = _attribute_task(stmt, variable)
        if (
            attr is not None
            and attr[1].func.value in task_classes
            and stores.count[(variable, attr[0])] == 1
            and attr[0] not in bound
        ):
            found.append(attr[0])
    return {x for x in found if found.count(x) == 1}


class _AttributesToNames(cst.CSTTransformer):
    def __init__(self, variable: str, attrs: set[str]) -> None:
        self.variable, self.attrs = variable, attrs

    def leave_Attribute(self, original_node, updated_node):
        if (
            isinstance(updated_node.value, cst.Name)
            and updated_node.value.value == self.variable
            and updated_node.attr.value in self.attrs
        ):
            return cst.Name(updated_node.attr.value)
        return updated_node


def functional_graph(
    module: cst.Module,
    index: int,
    variable: str,
    call: cst.Call,
    task_classes: set[str] = frozenset(),
) -> DependencyGraph | None:
    """The static graph built on ``variable = Flow(...)`` at module body ``index``, else None.

    ``Flow(..., tasks=[a, b])`` adds nodes; ``add_task``/``add_edge``/``set_dependencies``/
    ``chain`` statements add nodes and edges; other uses of the flow object must be handled by a
    rule (``run``/``register``..., ``set_reference_tasks`` and ``.tasks`` reads -> TODO) or work
    on a Prefect 2 flow through the alias. The scan stops where the variable is bound again.
    Tasks kept as attributes of the flow (``flow.a = Cls(...)``, ``Cls`` one of
    ``task_classes``, see :func:`flow_task_attributes`) are the nodes ``a``.
    """
    graph = DependencyGraph()
    attrs = flow_task_attributes(module, variable, set(task_classes)) if task_classes else set()
    if get_arg(call, "edges") is not None:
        return None
    tasks_arg = get_arg(call, "tasks")
    if tasks_arg is not None:
        names = _name_list(tasks_arg.value)
        if names is None:
            return None
        for name in names:
            graph.node(name)
    for i, stmt in enumerate(module.body):
        if i <= index:
            continue
        if attrs:
            attr = _attribute_task(stmt, variable)
            if attr is not None and attr[0] in attrs:
                graph.node(attr[0])  # PF006 makes it the task function of that name
                continue
            stmt = stmt.visit(_AttributesToNames(variable, attrs))
        uses = flow_uses(stmt, variable)
        if not uses:
            continue
        method = method_call(stmt, variable)
        if method and method[0] in FUNCTIONAL_METHODS:
            if not _apply_functional(graph, method[0], method[1]):
                return None
            graph.statements.append(i)
            continue
        task_method = _task_method_call(stmt, variable)
        if task_method is not None:
            if not _apply_task_method(graph, *task_method):
                return None
            graph.statements.append(i)
            continue
        if any(kind == "bind" for kind, _ in uses):
            if len(uses) == 1 and simple_assign(stmt) is not None:
                break  # a new binding: what follows is about another object
            return None
        if not all(handled_use(kind, attr) for kind, attr in uses):
            return None  # any other use of the flow object: not static
    if graph.topological() is None:
        return None
    return graph
