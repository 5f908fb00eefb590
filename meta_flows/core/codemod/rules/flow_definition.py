"""PF002 flow_definition: `with Flow(...)` blocks and the functional API become @flow functions (§2.1).

Before::

    with Flow("ETL Flow", executor=LocalDaskExecutor()) as flow:
        data = extract()
        load(data)

After::

    @flow(name="ETL Flow", executor=LocalDaskExecutor())
    def etl_flow():
        data = extract()
        return load(data)

- The flow name is kept verbatim (``name=``), except that the characters Prefect 2 rejects
  (``/ % & > <``: InvalidNameError at decoration time) become ``-`` with a TODO naming the old
  name (:func:`meta_flows.core.naming.prefect2_flow_name`, shared with the deployment translator) (C).
- The other keyword arguments pass through for later rules (``executor=`` -> PF014,
  ``state_handlers=`` -> PF012); ``storage=``/``run_config=``/``schedule=``/``environment=`` leave
  the code (deployment config, see PF016); ``validate=`` is dropped; ``reference_tasks=``,
  ``terminal_state_handler=``, ``tasks=`` (of a ``with`` block), ``edges=`` and non-trivial
  ``result=`` are removed with a TODO (H): nothing Prefect 2's ``flow()`` rejects reaches it.
- The function name comes from :func:`plan_flow_functions`, the single source of truth shared with
  PF015 and the deployment translator (``meta_flows.core.naming.flow_function_name`` of the original
  name; the renamed name gives the same function name).
- The flow returns its single terminal task call (``.map`` terminals return the list of results);
  with several terminal tasks it returns nothing.
- ``v = etl_flow`` keeps the old variable when it is still referenced (at the end of the module when
  the variable is called ``flow``, which would shadow the decorator).
- A flow built in a zero-argument function (a factory ``def create_flow(): with Flow(...) as f:
  ...; return f``, or ``def main(): with Flow(...) as f: ...; f.run()``) moves to module level
  when its body needs none of the function's locals: ``return f`` returns the @flow function,
  ``f.run()`` was already rewritten by PF015, other uses keep a local alias. Otherwise H.
- The functional API (``f = Flow("x", tasks=[...])``, ``f.add_task``, ``f.add_edge``,
  ``f.set_dependencies``, ``f.chain``, and ``t.set_upstream/set_downstream/bind(..., flow=f)``)
  with static edges becomes task calls in topological order (C); a flow without tasks becomes a
  function with ``pass``.
- ``f.set_reference_tasks(...)`` and reads of ``f.tasks``/``f.edges``/``f.storage``... on a
  converted flow are commented out with a TODO (H): they fail under Prefect 2.
- A module-level flow left for a human (dynamic functional API, the flow object handed to other
  code, ``with Flow(...) as f, other():``) is commented out under its TODO together with the
  statements using it outside functions, since ``Flow(...)`` fails at import under Prefect 2 (H).
- Build-time statements doing I/O now run at every flow run: flagged (C).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import libcst as cst
from libcst.codemod import CodemodContext
from libcst.metadata import PositionProvider, QualifiedNameProvider, QualifiedNameSource

from meta_flows.core.codemod.base import (
    SCRATCH_PROJECT,
    Rule,
    dotted_name,
    get_arg,
    literal_value,
    with_leading_comments,
    with_todo,
)
from meta_flows.core.codemod.project import ProjectIndex, scan_sources
from meta_flows.core.naming import (
    BANNED_FLOW_NAME_CHARACTERS,
    FLOW_NAME_REPLACEMENT,
    flow_function_name,
    prefect2_flow_name,
)

FLOW = "prefect.Flow"
# Scratch key: module-level names other rules unbound before PF002 ran (commented out, removed), so
# that PF002 names flows exactly as plan_flow_functions does on the original source.
SCRATCH_UNBOUND = "meta_flows.unbound_names"
DEPLOYMENT_KWARGS = ("storage", "run_config", "schedule", "environment")
INFO_PREFIX = "# prefect2-migration:"
HUMAN_WITH = (
    "this Flow is built inside a function with arguments or other code (or together with other "
    "context managers): rewrite it by hand as a module-level @flow function (arguments become "
    "flow parameters)"
)
HUMAN_WITH_MODULE = (
    "this Flow is entered together with other context managers: rewrite it by hand as a "
    "module-level @flow function (the Prefect 1 code is kept below as comments)"
)
HUMAN_FUNCTIONAL = (
    "Flow built with the functional API but its edges are not static (or it uses edges=, or "
    "the flow object is handed to other code): rewrite it by hand as an @flow function calling "
    "the tasks in order"
)


def moved_comment(what: str) -> str:
    """The informational (non-TODO) comment left where deployment config left the code."""
    return f"{INFO_PREFIX} {what} moved to prefect.yaml (meta-flows deployments)"


@dataclass(frozen=True)
class FlowPlan:
    """How one Prefect 1 flow of a module is named once migrated."""

    variable: str | None
    flow_name: str | None
    function_name: str
    line: int
    kind: str = "with"  # "with" | "functional"
    factory: str | None = None  # the zero-argument factory function that builds the flow

    @property
    def prefect2_name(self) -> str | None:
        """The name written in ``@flow(name=...)`` (see :func:`prefect2_flow_name`)."""
        return prefect2_flow_name(self.flow_name) if self.flow_name is not None else None


# --------------------------------------------------------------------------------------- helpers


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


class _Names(cst.CSTVisitor):
    """Counts the Name nodes that are real references (not attribute or keyword names)."""

    def __init__(self) -> None:
        self.names: list[cst.Name] = []

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

    def visit_Name(self, node: cst.Name) -> None:
        self.names.append(node)


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


def _target_names(target: cst.BaseExpression) -> list[str]:
    if isinstance(target, cst.Name):
        return [target.value]
    if isinstance(target, (cst.Tuple, cst.List)):
        out = []
        for el in target.elements:
            out += _target_names(el.value)
        return out
    if isinstance(target, cst.StarredElement):
        return _target_names(target.value)
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
                            names.update(_target_names(t.target))
                    elif isinstance(small, (cst.AnnAssign, cst.AugAssign)):
                        names.update(_target_names(small.target))
                    elif isinstance(small, cst.Import):
                        for alias in small.names:
                            if alias.asname is not None:
                                names.update(_target_names(alias.asname.name))
                            else:
                                names.add(dotted_name(alias.name).split(".")[0])
                    elif isinstance(small, cst.ImportFrom) and not isinstance(
                        small.names, cst.ImportStar
                    ):
                        for alias in small.names:
                            if alias.asname is not None:
                                names.update(_target_names(alias.asname.name))
                            else:
                                names.add(alias.name.value)
            elif isinstance(stmt, cst.BaseCompoundStatement):
                if isinstance(stmt, cst.For):
                    names.update(_target_names(stmt.target))
                if isinstance(stmt, cst.With) and id(stmt) not in exclude_with_targets:
                    for item in stmt.items:
                        if item.asname is not None:
                            names.update(_target_names(item.asname.name))
                for block in _blocks(stmt):
                    walk(block)

    walk(stmts)
    return names


def _blocks(stmt: cst.BaseCompoundStatement):
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


def renamed_flow_name(
    node: cst.BaseExpression,
) -> tuple[cst.SimpleString, str, str] | None:
    """For a flow name literal Prefect 2 rejects: (the new literal, old name, new name)."""
    if not isinstance(node, cst.SimpleString):
        return None
    old = node.evaluated_value
    if not isinstance(old, str):
        return None
    new = prefect2_flow_name(old)
    if new == old:
        return None
    raw = node.value
    head = len(node.prefix) + len(node.quote)
    inner = raw[head : len(raw) - len(node.quote)]
    for char in BANNED_FLOW_NAME_CHARACTERS:
        inner = inner.replace(char, FLOW_NAME_REPLACEMENT)
    return node.with_changes(value=raw[:head] + inner + node.quote), old, new


def _flow_call_of_with(rule: Rule, node: cst.With) -> cst.Call | None:
    if len(node.items) != 1:
        for item in node.items:
            if isinstance(item.item, cst.Call) and rule.is_prefect(item.item.func, FLOW):
                return None
        return None
    item = node.items[0].item
    if isinstance(item, cst.Call) and rule.is_prefect(item.func, FLOW):
        return item
    return None


def _with_variable(node: cst.With) -> str | None:
    asname = node.items[0].asname
    if asname is not None and isinstance(asname.name, cst.Name):
        return asname.name.value
    return None


def _simple_assign(stmt: cst.CSTNode) -> tuple[str, cst.BaseExpression] | None:
    """``name = value`` as a single statement line."""
    if (
        isinstance(stmt, cst.SimpleStatementLine)
        and len(stmt.body) == 1
        and isinstance(stmt.body[0], cst.Assign)
        and len(stmt.body[0].targets) == 1
        and isinstance(stmt.body[0].targets[0].target, cst.Name)
    ):
        return stmt.body[0].targets[0].target.value, stmt.body[0].value
    return None


def _method_call(stmt: cst.CSTNode, variable: str) -> tuple[str, cst.Call] | None:
    """``variable.method(...)`` as a single expression statement."""
    if (
        isinstance(stmt, cst.SimpleStatementLine)
        and len(stmt.body) == 1
        and isinstance(stmt.body[0], cst.Expr)
        and isinstance(stmt.body[0].value, cst.Call)
    ):
        func = stmt.body[0].value.func
        if (
            isinstance(func, cst.Attribute)
            and isinstance(func.value, cst.Name)
            and func.value.value == variable
        ):
            return func.attr.value, stmt.body[0].value
    return None


def _attr_assign(stmt: cst.CSTNode, variable: str) -> str | None:
    """``variable.attr = ...`` as a single statement line: the attribute name."""
    if (
        isinstance(stmt, cst.SimpleStatementLine)
        and len(stmt.body) == 1
        and isinstance(stmt.body[0], cst.Assign)
        and len(stmt.body[0].targets) == 1
    ):
        target = stmt.body[0].targets[0].target
        if (
            isinstance(target, cst.Attribute)
            and isinstance(target.value, cst.Name)
            and target.value.value == variable
        ):
            return target.attr.value
    return None


def _is_docstring(stmt: cst.CSTNode) -> bool:
    return (
        isinstance(stmt, cst.SimpleStatementLine)
        and len(stmt.body) == 1
        and isinstance(stmt.body[0], cst.Expr)
        and isinstance(stmt.body[0].value, (cst.SimpleString, cst.ConcatenatedString))
    )


# Statements about the flow object that PF015/PF016 remove before PF002 runs.
_REMOVED_LATER_METHODS = {"run", "register", "visualize", "serialize", "run_agent"}
_REMOVED_LATER_ATTRS = {"storage", "run_config", "schedule", "environment", "executor"}


def _removed_by_earlier_rules(stmt: cst.CSTNode, variable: str) -> bool:
    method = _method_call(stmt, variable)
    if method and method[0] in _REMOVED_LATER_METHODS:
        return True
    return _attr_assign(stmt, variable) in _REMOVED_LATER_ATTRS


# Flow-object API that PF002 comments out wherever it is used (it cannot stay under Prefect 2).
OBSOLETE_METHODS = {"set_reference_tasks"}
OBSOLETE_ATTRS = {"tasks", "edges", "reference_tasks"}
# Reads of deployment settings (``flow.storage.build()``): they moved to prefect.yaml.
DEPLOYMENT_ATTRS = {"storage", "run_config", "schedule", "environment", "executor"}
# The functional API PF002 turns into task calls.
FUNCTIONAL_METHODS = ("add_task", "add_edge", "set_dependencies", "chain")


class _Uses(cst.CSTVisitor):
    """Classifies each reference to ``variable``: ("call", method), ("set", attr), ("get", attr)
    or ("bare", None)."""

    def __init__(self, variable: str) -> None:
        self.variable = variable
        self.uses: list[tuple[str, str | None]] = []

    def _is_var(self, node: cst.BaseExpression) -> bool:
        return isinstance(node, cst.Name) and node.value == self.variable

    def visit_Call(self, node: cst.Call) -> bool:
        func = node.func
        if isinstance(func, cst.Attribute) and self._is_var(func.value):
            self.uses.append(("call", func.attr.value))
            for arg in node.args:
                arg.visit(self)
            return False
        return True

    def visit_AssignTarget(self, node: cst.AssignTarget) -> bool:
        target = node.target
        if isinstance(target, cst.Attribute) and self._is_var(target.value):
            self.uses.append(("set", target.attr.value))
            return False
        if self.variable in _target_names(target):
            self.uses.append(("bind", None))
            return False
        return True

    def visit_Attribute(self, node: cst.Attribute) -> bool:
        if self._is_var(node.value):
            self.uses.append(("get", node.attr.value))
            return False
        node.value.visit(self)
        return False

    def visit_Arg(self, node: cst.Arg) -> bool:
        if self._is_var(node.value):
            self.uses.append(("arg", None))  # handed to other code, which may change it
            return False
        node.value.visit(self)
        return False

    def visit_Param(self, node: cst.Param) -> bool:
        if node.default is not None:
            node.default.visit(self)
        return False

    def visit_Import(self, node: cst.Import) -> bool:
        return False

    def visit_ImportFrom(self, node: cst.ImportFrom) -> bool:
        return False

    def visit_Name(self, node: cst.Name) -> None:
        if node.value == self.variable:
            self.uses.append(("bare", None))


def flow_uses(node: cst.CSTNode, variable: str) -> list[tuple[str, str | None]]:
    """How ``node`` uses the flow object ``variable`` (see :class:`_Uses`)."""
    visitor = _Uses(variable)
    node.visit(visitor)
    return visitor.uses


def _handled_use(kind: str, attr: str | None) -> bool:
    """A use of a flow object that some rule takes care of (or that works on a Prefect 2 flow)."""
    if kind == "call":
        return attr in _REMOVED_LATER_METHODS or attr in OBSOLETE_METHODS
    if kind == "set":
        return attr in _REMOVED_LATER_ATTRS
    return kind not in (
        "bind",
        "arg",
    )  # reads (`flow.name`, `flow.tasks` -> TODO) and bare references (alias)


def obsolete_use(stmt: cst.CSTNode, variable: str) -> str | None:
    """The TODO message for a statement using Flow API that cannot stay, else None."""
    uses = flow_uses(stmt, variable)
    calls = sorted({a for k, a in uses if k == "call" and a in OBSOLETE_METHODS})
    reads = sorted({a for k, a in uses if k == "get" and a in OBSOLETE_ATTRS})
    if calls:
        return (
            f"`{variable}.set_reference_tasks(...)`: Prefect 2 has no reference tasks; the "
            f"flow's final state comes from its return value (return the results of those tasks "
            f"from the flow) or from its first unhandled exception"
        )
    settings = sorted({a for k, a in uses if k == "get" and a in DEPLOYMENT_ATTRS})
    if settings:
        attrs = ", ".join(f"`{variable}.{a}`" for a in settings)
        return (
            f"{attrs}: a Prefect 2 flow has no deployment settings (storage, run config, "
            f"schedule... moved to prefect.yaml, see `meta-flows deployments`): rewrite this"
        )
    if reads:
        attrs = ", ".join(f"`{variable}.{a}`" for a in reads)
        return (
            f"{attrs}: a Prefect 2 flow has no static task graph (tasks run as the function "
            f"calls them): rewrite this check, e.g. against the flow's return value"
        )
    return None


# ------------------------------------------------------------------------ functional API graph


@dataclass
class _Graph:
    order: list[str] = field(default_factory=list)  # nodes in first-appearance order
    upstream: dict[str, list[str]] = field(default_factory=dict)
    keyword: dict[str, list[tuple[str, str]]] = field(default_factory=dict)
    mapped: set[str] = field(default_factory=set)
    statements: list[int] = field(default_factory=list)  # module body indexes consumed

    def node(self, name: str) -> None:
        if name not in self.order:
            self.order.append(name)
            self.upstream[name] = []
            self.keyword[name] = []

    def edge(self, up: str, down: str, key: str | None) -> None:
        self.node(up)
        self.node(down)
        if key is None:
            if up not in self.upstream[down]:
                self.upstream[down].append(up)
        else:
            self.keyword[down].append((key, up))

    def list_edge(self, ups: list[str], down: str, key: str) -> None:
        """``down(key=[up1, up2])``: a keyword argument collecting several results."""
        for up in ups:
            self.node(up)
        self.node(down)
        self.keyword[down].append((key, tuple(ups)))

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


def _task_method_call(stmt: cst.CSTNode, variable: str) -> tuple[str, str, cst.Call] | None:
    """``t.set_upstream(...)``/``t.set_downstream(...)``/``t.bind(...)`` with ``flow=variable``
    as a single expression statement: (task name, method, call)."""
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
    if not (
        flow_arg is not None
        and isinstance(flow_arg.value, cst.Name)
        and flow_arg.value.value == variable
    ):
        return None
    return func.value.value, func.attr.value, call


def _apply_task_method(graph: _Graph, task_name: str, method: str, call: cst.Call) -> bool:
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
        graph.edge(up, down, key_value)
        if mapped:
            graph.mapped.add(down)
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
                graph.edge(up, task_name, None)
        elif isinstance(arg.value, cst.Name):
            graph.edge(arg.value.value, task_name, key)
        else:
            ups = _name_list(arg.value) if isinstance(arg.value, cst.List) else None
            if not ups:
                return False
            graph.list_edge(ups, task_name, key)
    if mapped:
        graph.mapped.add(task_name)
    return True


def _apply_functional(graph: _Graph, method: str, call: cst.Call) -> bool:
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
        graph.edge(up.value.value, down.value.value, key_value)
        if mapped:
            graph.mapped.add(down.value.value)
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
            graph.edge(up, task_name, None)
        for down in downs:
            graph.edge(task_name, down, None)
        for key, up in kws:
            graph.edge(up, task_name, key)
        if mapped:
            graph.mapped.add(task_name)
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


def _functional_graph(
    module: cst.Module, index: int, variable: str, call: cst.Call
) -> _Graph | None:
    """The static graph built on ``variable = Flow(...)`` at module body ``index``, else None.

    ``Flow(..., tasks=[a, b])`` adds nodes; ``add_task``/``add_edge``/``set_dependencies``/
    ``chain`` statements add nodes and edges; other uses of the flow object must be handled by a
    rule (``run``/``register``..., ``set_reference_tasks`` and ``.tasks`` reads -> TODO) or work
    on a Prefect 2 flow through the alias. The scan stops where the variable is bound again.
    """
    graph = _Graph()
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
        uses = flow_uses(stmt, variable)
        if not uses:
            continue
        method = _method_call(stmt, variable)
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
            if len(uses) == 1 and _simple_assign(stmt) is not None:
                break  # a new binding: what follows is about another object
            return None
        if not all(_handled_use(kind, attr) for kind, attr in uses):
            return None  # any other use of the flow object: not static
    if graph.topological() is None:
        return None
    return graph


# ------------------------------------------------------------------------------------ planning


@dataclass
class _Site:
    kind: str  # "with" | "functional" | "factory"
    index: int  # position in module.body
    call: cst.Call
    variable: str | None
    flow_name: str | None
    line: int
    with_node: cst.With | None = None
    factory: cst.FunctionDef | None = None
    graph: _Graph | None = None
    function_name: str = ""


def _factory_with(rule: Rule, func: cst.FunctionDef) -> tuple[cst.With, cst.Call] | None:
    """The ``with Flow`` of a zero-argument factory whose other statements we can handle."""
    if not isinstance(func.body, cst.IndentedBlock):
        return None
    found = None
    for stmt in func.body.body:
        if isinstance(stmt, cst.With):
            call = _flow_call_of_with(rule, stmt)
            if call is not None:
                if found is not None:
                    return None
                found = (stmt, call)
    if found is None:
        return None
    p = func.params
    if (
        p.params
        or p.posonly_params
        or p.kwonly_params
        or p.star_arg
        not in (
            None,
            cst.MaybeSentinel.DEFAULT,
        )
        or p.star_kwarg is not None
    ):
        return None
    with_stmt = found[0]
    variable = _with_variable(with_stmt)
    others = [stmt for stmt in func.body.body if stmt is not with_stmt]
    if variable is not None:
        for stmt in others:
            if not all(_handled_use(kind, attr) for kind, attr in flow_uses(stmt, variable)):
                return None
    # The flow body moves to module level: it must not need the function's local names, and the
    # function must not need the names the body binds.
    local = bound_names(others)
    if isinstance(with_stmt.body, cst.IndentedBlock):
        inner = with_stmt.body.body
        if {r.value for r in name_refs(with_stmt.body)} & local:
            return None
        used_after = {r.value for r in name_refs(cst.Module(body=others))}
        if (bound_names(inner) - {variable}) & used_after:
            return None
    if any(isinstance(n, (cst.Global, cst.Nonlocal)) for n in _small_statements(func.body.body)):
        return None
    return found


def _small_statements(stmts):
    for stmt in stmts:
        if isinstance(stmt, cst.SimpleStatementLine):
            yield from stmt.body
        elif isinstance(stmt, cst.BaseCompoundStatement):
            for block in _blocks(stmt):
                yield from _small_statements(block)


def collect_sites(rule: Rule, module: cst.Module) -> list[_Site]:
    """Every flow of ``module`` that PF002 converts, in source order (needs metadata)."""
    sites: list[_Site] = []

    def line(node: cst.CSTNode) -> int:
        try:
            return rule.get_metadata(PositionProvider, node).start.line
        except KeyError:
            return 0

    for i, stmt in enumerate(module.body):
        if isinstance(stmt, cst.With):
            call = _flow_call_of_with(rule, stmt)
            if call is not None:
                name_arg = get_arg(call, "name", 0)
                sites.append(
                    _Site(
                        "with",
                        i,
                        call,
                        _with_variable(stmt),
                        string_value(name_arg.value) if name_arg else None,
                        line(stmt),
                        with_node=stmt,
                    )
                )
        elif isinstance(stmt, cst.FunctionDef):
            found = _factory_with(rule, stmt)
            if found is not None:
                name_arg = get_arg(found[1], "name", 0)
                sites.append(
                    _Site(
                        "factory",
                        i,
                        found[1],
                        _with_variable(found[0]),
                        string_value(name_arg.value) if name_arg else None,
                        line(found[0]),
                        with_node=found[0],
                        factory=stmt,
                    )
                )
        else:
            assign = _simple_assign(stmt)
            if assign and isinstance(assign[1], cst.Call) and rule.is_prefect(assign[1].func, FLOW):
                call = assign[1]
                graph = _functional_graph(module, i, assign[0], call)
                if graph is not None:
                    name_arg = get_arg(call, "name", 0)
                    sites.append(
                        _Site(
                            "functional",
                            i,
                            call,
                            assign[0],
                            string_value(name_arg.value) if name_arg else None,
                            line(stmt),
                            graph=graph,
                        )
                    )
    taken = module_bound_names(
        module, exclude_with_targets={id(s.with_node) for s in sites if s.kind == "with"}
    )
    taken -= {s.variable for s in sites if s.variable and s.kind != "factory"}
    taken |= set(rule.context.scratch.get(SCRATCH_UNBOUND, ()))
    for site in sites:
        site.function_name = flow_function_name(site.flow_name, site.variable, taken)
        taken.add(site.function_name)
    return sites


def _plan(site: _Site) -> FlowPlan:
    return FlowPlan(
        variable=site.variable,
        flow_name=site.flow_name,
        function_name=site.function_name,
        line=site.line,
        kind="functional" if site.kind == "functional" else "with",
        factory=site.factory.name.value if site.factory is not None else None,
    )


class _Planner(Rule):
    CODE = "PF002"
    METADATA_DEPENDENCIES = (*Rule.METADATA_DEPENDENCIES, PositionProvider)

    def __init__(self, context: CodemodContext) -> None:
        super().__init__(context)
        self.plans: list[FlowPlan] = []

    def visit_Module(self, node: cst.Module) -> bool:
        super().visit_Module(node)
        self.plans = [_plan(s) for s in collect_sites(self, node)]
        return False


def plan_flow_functions(
    module: cst.Module | str,
    module_name: str | None = None,
    project: ProjectIndex | None = None,
    unbound: set[str] | frozenset[str] = frozenset(),
) -> list[FlowPlan]:
    """The flows of ``module`` PF002 converts and the function name each gets, in source order.

    The one source of the names: PF002 writes them, PF015 calls them, the deployment translator
    uses them as entrypoints. ``unbound`` lists module-level names that earlier rules removed
    (pipeline-internal; leave empty on original source).
    """
    if isinstance(module, str):
        source = module
        module = cst.parse_module(module)
    else:
        source = module.code
    module_name = module_name or "__main__"
    context = CodemodContext(full_module_name=module_name)
    context.scratch[SCRATCH_PROJECT] = project or scan_sources([(module_name, source)])
    context.scratch[SCRATCH_UNBOUND] = set(unbound)
    planner = _Planner(context)
    planner.transform_module(module)
    return planner.plans


# ------------------------------------------------------------------------------------ the rule

_IO_CALLS = {
    "builtins.open": "open()",
    "os.putenv": "os.putenv()",
    "os.makedirs": "os.makedirs()",
    "os.mkdir": "os.mkdir()",
    "os.remove": "os.remove()",
    "os.unlink": "os.remove()",
    "os.rename": "os.rename()",
    "os.system": "os.system()",
    "os.environ.update": "os.environ writes",
    "os.environ.setdefault": "os.environ writes",
    "os.environ.pop": "os.environ writes",
    "json.dump": "json.dump()",
    "urllib.request.urlopen": "urlopen()",
}
_IO_PREFIXES = {
    "requests.": "requests",
    "httpx.": "httpx",
    "shutil.": "shutil",
    "subprocess.": "subprocess",
    "boto3.": "boto3",
    "sqlalchemy.create_engine": "a database connection",
    "psycopg2.connect": "a database connection",
    "sqlite3.connect": "a database connection",
    "socket.": "socket",
}
_PATH_IO_METHODS = {
    "write_text",
    "write_bytes",
    "mkdir",
    "touch",
    "unlink",
    "read_text",
    "read_bytes",
}


class _IOFinder(cst.CSTVisitor):
    def __init__(self, rule: Rule, tasks: TaskCalls) -> None:
        self.rule = rule
        self.tasks = tasks
        self.reasons: list[str] = []

    def visit_Call(self, node: cst.Call) -> None:
        if self.tasks.task_of_call(node)[0]:
            return
        for q in raw_qualified_names(self.rule, node.func):
            reason = _IO_CALLS.get(q)
            if reason is None:
                reason = next((r for p, r in _IO_PREFIXES.items() if q.startswith(p)), None)
            if (
                reason is None
                and q.startswith("pathlib.Path")
                and isinstance(node.func, cst.Attribute)
            ):
                reason = "pathlib" if node.func.attr.value in _PATH_IO_METHODS else None
            if reason and reason not in self.reasons:
                self.reasons.append(reason)

    def visit_AssignTarget(self, node: cst.AssignTarget) -> None:
        target = node.target
        if isinstance(target, cst.Subscript) and "os.environ" in raw_qualified_names(
            self.rule, target.value
        ):
            if "os.environ writes" not in self.reasons:
                self.reasons.append("os.environ writes")


def _terminal_return(body: list[cst.BaseStatement], tasks: TaskCalls):
    """(index to replace or None for append, the return statement) or None."""
    unreturnable = 0
    candidates: list[tuple[int, str | None, cst.Call, bool]] = []

    class _Collector(cst.CSTVisitor):
        def __init__(self) -> None:
            self.found: list[cst.Call] = []

        def visit_Call(self, node: cst.Call) -> None:
            if tasks.task_of_call(node)[0]:
                self.found.append(node)

    def task_calls_in(node: cst.CSTNode) -> list[cst.Call]:
        c = _Collector()
        node.visit(c)
        return c.found

    def used(name: str, own: cst.CSTNode) -> bool:
        n = 0
        for stmt in body:
            refs = name_refs(stmt)
            n += sum(1 for r in refs if r.value == name)
        # the assignment target itself counts once
        return n > 1

    for i, stmt in enumerate(body):
        if isinstance(stmt, cst.SimpleStatementLine) and len(stmt.body) == 1:
            small = stmt.body[0]
            top = None
            var = None
            if isinstance(small, cst.Expr) and isinstance(small.value, cst.Call):
                top = small.value
            elif (
                isinstance(small, cst.Assign)
                and len(small.targets) == 1
                and isinstance(small.value, cst.Call)
            ):
                top = small.value
                target = small.targets[0].target
                var = target.value if isinstance(target, cst.Name) else ""
            if top is not None and tasks.task_of_call(top)[0]:
                is_map = tasks.task_of_call(top)[1]
                if var is None:
                    candidates.append((i, None, top, is_map))
                elif var == "":
                    if not any(used(n, stmt) for n in _target_names(small.targets[0].target)):
                        unreturnable += 1
                elif not used(var, stmt):
                    candidates.append((i, var, top, is_map))
                continue
        elif isinstance(stmt, cst.BaseCompoundStatement):
            for block in _blocks(stmt):
                for inner in block:
                    if isinstance(inner, cst.SimpleStatementLine) and len(inner.body) == 1:
                        small = inner.body[0]
                        value = getattr(small, "value", None)
                        if isinstance(value, cst.Call) and tasks.task_of_call(value)[0]:
                            if isinstance(small, cst.Expr):
                                unreturnable += 1
                            elif isinstance(small, cst.Assign) and not any(
                                used(n, inner)
                                for t in small.targets
                                for n in _target_names(t.target)
                            ):
                                unreturnable += 1
                    elif isinstance(inner, cst.BaseCompoundStatement) and task_calls_in(inner):
                        unreturnable += 1
    if unreturnable or len(candidates) != 1:
        return None
    i, var, call, is_map = candidates[0]
    if var is None and i != len(body) - 1:
        return None
    value: cst.BaseExpression = cst.Name(var) if var is not None else call
    if is_map:
        value = cst.parse_expression("[future.result() for future in x]").with_changes()
        value = value.with_changes(
            for_in=value.for_in.with_changes(iter=cst.Name(var) if var is not None else call)
        )
    ret = cst.SimpleStatementLine(body=[cst.Return(value=value)])
    if var is None:
        return i, ret.with_changes(leading_lines=body[i].leading_lines)
    return None, ret


class FlowDefinitionRule(Rule):
    """`with Flow(...)` blocks and the functional API become @flow functions (§2.1)."""

    CODE = "PF002"
    NAME = "flow-definition"
    DESCRIPTION = "`with Flow(...)` blocks and the functional API become @flow functions (§2.1)"
    TRIGGERS = ("Flow",)
    METADATA_DEPENDENCIES = (*Rule.METADATA_DEPENDENCIES, PositionProvider)

    def __init__(self, context: CodemodContext) -> None:
        super().__init__(context)
        self.sites: dict[int, _Site] = {}  # id(module-level statement) -> site
        self.inner: dict[int, _Site] = {}  # id(with node inside a factory) -> site
        self.tasks: set[str] = set()
        self.mod: cst.Module | None = None
        self.flow_alias: str | None = None
        self.body_todos: dict[int, dict[int, list[str]]] = {}
        self.functional_statements: set[int] = set()
        # id(original statement) -> TODO message: statements commented out (Prefect 1 flow code
        # that cannot stay: flows left for a human at module level, obsolete Flow API).
        self.commented: dict[int, str] = {}
        self.functional_functions: set[str] = set()

    # -------------------------------------------------------------- analysis (original nodes)

    def visit_Module(self, node: cst.Module) -> bool:
        super().visit_Module(node)
        self.mod = node
        self.tasks = module_task_names(self, node)
        sites = collect_sites(self, node)
        for site in sites:
            self.sites[id(node.body[site.index])] = site
            if site.kind == "factory":
                self.inner[id(site.with_node)] = site
            if site.graph is not None:
                self.functional_statements.update(id(node.body[i]) for i in site.graph.statements)
        self._plan_human_flows(node)
        self._plan_obsolete(node, sites)
        return True

    def _is_flow_with(self, node: cst.With) -> bool:
        return any(
            isinstance(i.item, cst.Call) and self.is_prefect(i.item.func, FLOW) for i in node.items
        )

    def _plan_human_flows(self, module: cst.Module) -> None:
        """Module-level flows PF002 cannot convert: comment them out with everything that uses
        them (outside functions), since ``Flow(...)`` fails at import under Prefect 2."""
        for i, stmt in enumerate(module.body):
            if id(stmt) in self.sites:
                continue
            variables: list[str] = []
            if isinstance(stmt, cst.With) and self._is_flow_with(stmt):
                self.commented[id(stmt)] = HUMAN_WITH_MODULE
                variables = [
                    item.asname.name.value
                    for item in stmt.items
                    if item.asname is not None and isinstance(item.asname.name, cst.Name)
                ]
            else:
                assign = _simple_assign(stmt)
                if not (
                    assign
                    and isinstance(assign[1], cst.Call)
                    and self.is_prefect(assign[1].func, FLOW)
                ):
                    continue
                self.commented[id(stmt)] = HUMAN_FUNCTIONAL
                variables = [assign[0]]
            for variable in variables:
                self._comment_dependents(module.body[i + 1 :], variable)

    def _comment_dependents(self, stmts, variable: str) -> bool:
        """Mark the statements using ``variable`` (not inside functions or classes); False once
        the variable is bound again."""
        message = (
            f"uses the Prefect 1 flow `{variable}`, which was left for a human (see the PF002 "
            f"TODO on its definition): rewrite it for the @flow function"
        )
        for stmt in stmts:
            if isinstance(stmt, (cst.FunctionDef, cst.ClassDef)):
                continue
            if id(stmt) in self.sites or variable in bound_names([stmt]):
                if count_refs([stmt], variable) and id(stmt) not in self.commented:
                    if not any(k == "bind" for k, _ in flow_uses(stmt, variable)):
                        self.commented[id(stmt)] = message
                return False
            if not count_refs([stmt], variable):
                continue
            if isinstance(stmt, cst.SimpleStatementLine):
                self.commented.setdefault(id(stmt), message)
                continue
            blocks = _blocks(stmt)
            if count_refs([stmt], variable) > sum(count_refs(b, variable) for b in blocks):
                self.commented.setdefault(id(stmt), message)  # used in the statement's header
                continue
            for block in blocks:
                if not self._comment_dependents(block, variable):
                    return False
        return True

    def _plan_obsolete(self, module: cst.Module, sites: list[_Site]) -> None:
        """``flow.set_reference_tasks(...)`` and ``flow.tasks``/``.edges`` reads of converted
        flows, wherever they are: commented out with a TODO."""
        targets: dict[str, str] = {}  # qualified name of the flow variable -> variable
        for site in sites:
            if site.variable is None:
                continue
            if site.kind == "factory":
                targets[f"{site.factory.name.value}.<locals>.{site.variable}"] = site.variable
            else:
                targets[site.variable] = site.variable
        if not targets:
            return
        variables = set(targets.values())
        rule = self

        class _Scan(cst.CSTVisitor):
            def visit_SimpleStatementLine(self, node: cst.SimpleStatementLine) -> None:
                if id(node) in rule.commented:
                    return
                for ref in name_refs(node):
                    if ref.value not in variables:
                        continue
                    try:
                        qnames = rule.get_metadata(QualifiedNameProvider, ref, set())
                    except KeyError:
                        qnames = set()
                    if not any(targets.get(q.name) == ref.value for q in qnames):
                        continue
                    message = obsolete_use(node, ref.value)
                    if message is not None:
                        rule.commented[id(node)] = message
                        return

        module.visit(_Scan())

    def visit_With(self, node: cst.With) -> None:
        site = self.inner.get(id(node)) or self.sites.get(id(node))
        if site is not None:
            self.body_todos[id(node)] = self._body_todos(site, node.body)
            return
        if id(node) not in self.commented and self._is_flow_with(node):
            self.add_todo(HUMAN_WITH)

    def visit_SimpleStatementLine(self, node: cst.SimpleStatementLine) -> None:
        if id(node) in self.sites or id(node) in self.commented:
            return
        assign = _simple_assign(node)
        if assign and isinstance(assign[1], cst.Call) and self.is_prefect(assign[1].func, FLOW):
            self.add_todo(HUMAN_FUNCTIONAL)

    def _body_todos(self, site: _Site, body: cst.BaseSuite) -> dict[int, list[str]]:
        """TODOs for top-level body statements: I/O at build time, uses of the flow object."""
        out: dict[int, list[str]] = {}
        if not isinstance(body, cst.IndentedBlock):
            return out
        tasks = TaskCalls(self, self.tasks)
        tasks.learn_body(body.body)
        for i, stmt in enumerate(body.body):
            finder = _IOFinder(self, tasks)
            stmt.visit(finder)
            if finder.reasons:
                out.setdefault(i, []).append(
                    f"this statement ran once when the flow was built; it now runs at every "
                    f"flow run and does I/O ({', '.join(finder.reasons)}): move it out of the "
                    f"flow if it must run once"
                )
            if (
                site.variable
                and count_refs([stmt], site.variable)
                and id(stmt) not in self.commented
            ):
                out.setdefault(i, []).append(
                    f"`{site.variable}` was the Prefect 1 Flow object, which does not exist "
                    f"inside the @flow function: rewrite this statement (task calls, "
                    f"prefect.runtime.flow_run)"
                )
        return out

    # -------------------------------------------------------------------- rewriting

    def _commented_out(self, original_node, updated_node):
        message = self.commented.get(id(original_node))
        if message is None:
            return None
        return self.comment_out(updated_node, message)

    def leave_For(self, original_node, updated_node):
        return self._commented_out(original_node, updated_node) or updated_node

    def leave_While(self, original_node, updated_node):
        return self._commented_out(original_node, updated_node) or updated_node

    def leave_If(self, original_node, updated_node):
        return self._commented_out(original_node, updated_node) or updated_node

    def leave_Try(self, original_node, updated_node):
        return self._commented_out(original_node, updated_node) or updated_node

    def leave_With(self, original_node: cst.With, updated_node: cst.With):
        commented = self._commented_out(original_node, updated_node)
        if commented is not None:
            return commented
        site = self.sites.get(id(original_node))
        if site is None or site.kind != "with":
            return updated_node  # factory flows are rewritten with their factory
        func = self._function(site, updated_node.body, updated_node.leading_lines)
        return self._after(site, func)

    def _decorator(self, site: _Site) -> tuple[cst.Decorator, list[str]]:
        call = site.call
        todos: list[str] = []
        kept: list[cst.Arg] = []
        for pos, arg in enumerate(call.args):
            if arg.keyword is None and not arg.star and pos == 0:
                arg = arg.with_changes(
                    keyword=cst.Name("name"),
                    equal=cst.AssignEqual(
                        whitespace_before=cst.SimpleWhitespace(""),
                        whitespace_after=cst.SimpleWhitespace(""),
                    ),
                )
            key = arg.keyword.value if arg.keyword is not None else None
            if key == "name":
                renamed = renamed_flow_name(arg.value)
                if renamed is not None:
                    value, old, new = renamed
                    arg = arg.with_changes(value=value)
                    todos.append(
                        f'the flow was renamed from "{old}" to "{new}" (Prefect 2 rejects '
                        f"{' '.join(BANNED_FLOW_NAME_CHARACTERS)} in flow names): update the "
                        f"dashboards, automations and API calls keyed on the old name"
                    )
                kept.append(arg)
                continue
            if key in DEPLOYMENT_KWARGS or key == "validate":
                continue
            if key == "tasks" and site.kind == "functional":
                continue  # its tasks are called by the function
            if key in ("reference_tasks", "terminal_state_handler", "tasks", "edges"):
                todos.append(
                    f"Flow({key}={self.code_for(arg.value)}) has no Prefect 2 equivalent and was "
                    f"removed: "
                    + (
                        "the flow's final state now comes from its return value / first "
                        "unhandled exception; return or raise accordingly"
                        if key == "reference_tasks"
                        else "move its logic into on_completion/on_failure hooks"
                        if key == "terminal_state_handler"
                        else "call the tasks inside the flow function"
                    )
                )
                continue
            if key == "result":
                converted = self._result_kwargs(arg)
                if converted is None:
                    todos.append(
                        f"Flow(result={self.code_for(arg.value)}) was removed: configure "
                        f"persist_result=True and result_storage= (a storage block) on @flow"
                    )
                else:
                    kept.extend(converted)
                continue
            if key is None:
                todos.append(
                    f"unexpected positional Flow argument {self.code_for(arg.value)} removed"
                )
                continue
            kept.append(arg)
        if kept:
            last_comma = call.args[-1].comma if call.args else cst.MaybeSentinel.DEFAULT
            kept = [
                a if a.comma is not cst.MaybeSentinel.DEFAULT or i == len(kept) - 1 else a
                for i, a in enumerate(kept)
            ]
            for i, a in enumerate(kept[:-1]):
                if a.comma is cst.MaybeSentinel.DEFAULT:
                    kept[i] = a.with_changes(
                        comma=cst.Comma(whitespace_after=cst.SimpleWhitespace(" "))
                    )
            kept[-1] = kept[-1].with_changes(comma=last_comma)
        new_call = call.with_changes(func=cst.Name("flow"), args=kept)
        wrapper = self._wrapper_name(call.func)
        if wrapper:
            todos.append(
                f"`{wrapper}` is a project wrapper of Prefect 1's Flow: its extra behaviour "
                f"(constructor defaults, overridden methods) is not carried over to @flow; "
                f"re-apply it by hand"
            )
        return cst.Decorator(decorator=new_call), todos

    def _wrapper_name(self, func: cst.BaseExpression) -> str | None:
        raw = raw_qualified_names(self, func)
        if not raw:
            return None
        if any(q == "prefect" or q.startswith("prefect.") for q in raw):
            return None
        return self.code_for(func)

    def _result_kwargs(self, arg: cst.Arg) -> list[cst.Arg] | None:
        value = arg.value
        if not (
            isinstance(value, cst.Call)
            and self.is_prefect(value.func, "prefect.engine.results.LocalResult")
        ):
            return None
        extra = [a for a in value.args if not (a.keyword and a.keyword.value == "dir")]
        directory = get_arg(value, "dir", 0)
        if extra and not (directory is not None and len(value.args) == 1):
            return None
        eq = cst.AssignEqual(
            whitespace_before=cst.SimpleWhitespace(""), whitespace_after=cst.SimpleWhitespace("")
        )
        comma = cst.Comma(whitespace_after=cst.SimpleWhitespace(" "))
        out = [
            cst.Arg(
                keyword=cst.Name("persist_result"), value=cst.Name("True"), equal=eq, comma=comma
            )
        ]
        if directory is not None:
            self.add_import("prefect.filesystems", "LocalFileSystem")
            out.append(
                cst.Arg(
                    keyword=cst.Name("result_storage"),
                    value=cst.Call(
                        func=cst.Name("LocalFileSystem"),
                        args=[
                            cst.Arg(keyword=cst.Name("basepath"), value=directory.value, equal=eq)
                        ],
                    ),
                    equal=eq,
                    comma=comma,
                )
            )
        self._remove_imported(value.func)
        return out

    def _remove_imported(self, func: cst.BaseExpression) -> None:
        for q in raw_qualified_names(self, func):
            module, _, name = q.rpartition(".")
            if module and not q.startswith((self.context.full_module_name or "__main__") + "."):
                self.remove_import_if_unused(module, name)

    def _function(self, site: _Site, body: cst.BaseSuite, leading) -> cst.FunctionDef:
        decorator, todos = self._decorator(site)
        todo_map = self.body_todos.get(id(site.with_node), {}) if site.with_node else {}
        if isinstance(body, cst.IndentedBlock):
            stmts = list(body.body)
            for i, comments in todo_map.items():
                if i < len(stmts):
                    for c in comments:
                        stmts[i] = with_todo(stmts[i], self.CODE, c)
            tasks = TaskCalls(self, self.tasks)
            tasks.learn_body(stmts)
            ret = _terminal_return(stmts, tasks)
            if ret is not None:
                index, stmt = ret
                if index is None:
                    stmts.append(stmt)
                else:
                    stmts[index] = stmt
            body = body.with_changes(body=stmts)
        func = cst.FunctionDef(
            name=cst.Name(site.function_name),
            params=cst.Parameters(),
            body=body,
            decorators=[decorator],
            leading_lines=leading,
        )
        for todo in todos:
            func = with_todo(func, self.CODE, todo)
        if any(a.keyword and a.keyword.value in DEPLOYMENT_KWARGS for a in site.call.args):
            func = with_leading_comments(
                func,
                [
                    moved_comment(a.keyword.value)
                    for a in site.call.args
                    if a.keyword and a.keyword.value in DEPLOYMENT_KWARGS
                ],
            )
        self._remove_imported(site.call.func)
        self.add_import("prefect", "flow")
        self.mark_applied()
        return func

    def _needs_alias(self, site: _Site) -> bool:
        variable = site.variable
        if variable is None or self.mod is None:
            return False
        if self.project.is_imported_elsewhere(self.context.full_module_name, variable):
            return True
        others = [
            stmt
            for i, stmt in enumerate(self.mod.body)
            if i != site.index and not (site.graph and i in site.graph.statements)
        ]
        return live_refs(others, variable, set(self.commented)) > 0

    def _alias(self, variable: str, function_name: str) -> cst.SimpleStatementLine:
        return cst.SimpleStatementLine(
            body=[
                cst.Assign(
                    targets=[cst.AssignTarget(target=cst.Name(variable))],
                    value=cst.Name(function_name),
                )
            ]
        )

    def _after(self, site: _Site, func: cst.FunctionDef):
        nodes: list[cst.CSTNode] = [func]
        if self._needs_alias(site):
            if site.variable == "flow":
                self.flow_alias = site.function_name
            else:
                nodes.append(self._alias(site.variable, site.function_name))
        return cst.FlattenSentinel(nodes) if len(nodes) > 1 else func

    def leave_SimpleStatementLine(self, original_node, updated_node):
        site = self.sites.get(id(original_node))
        if site is not None and site.kind == "functional":
            return self._after(site, self._functional_function(site, updated_node))
        if id(original_node) in self.functional_statements:
            return cst.RemovalSentinel.REMOVE
        return self._commented_out(original_node, updated_node) or updated_node

    def _functional_function(self, site: _Site, stmt) -> cst.FunctionDef:
        graph = site.graph
        order = graph.topological() or []
        consumers: dict[str, int] = {n: 0 for n in order}
        for name in order:
            for up in graph.upstream[name]:
                consumers[up] += 1
            for _, up in graph.keyword[name]:
                for u in up if isinstance(up, tuple) else (up,):
                    consumers[u] += 1
        params = self._module_parameters()
        result_var: dict[str, str] = {}
        taken = set(order) | module_bound_names(self.mod)
        lines = []
        for name in order:
            if name in params:
                result_var[name] = name
                continue
            args = [
                f"{k}=[{', '.join(result_var[x] for x in u)}]"
                if isinstance(u, tuple)
                else f"{k}={result_var[u]}"
                for k, u in graph.keyword[name]
            ]
            ups = [result_var[u] for u in graph.upstream[name]]
            if ups:
                args.append(f"upstream_tasks=[{', '.join(ups)}]")
            callee = f"{name}.map" if name in graph.mapped else name
            expr = f"{callee}({', '.join(args)})"
            if consumers[name]:
                var = f"{name}_result"
                n = 2
                while var in taken:
                    var = f"{name}_result_{n}"
                    n += 1
                taken.add(var)
                result_var[name] = var
                lines.append(f"{var} = {expr}")
            else:
                lines.append(expr)
        if not lines:
            lines = ["pass"]
        body = cst.parse_statement("def _():\n" + "".join(f"    {ln}\n" for ln in lines)).body
        self.functional_functions.add(site.function_name)
        return self._function(site, body, stmt.leading_lines)

    def _module_parameters(self) -> set[str]:
        out = set()
        for stmt in self.mod.body:
            assign = _simple_assign(stmt)
            if (
                assign
                and isinstance(assign[1], cst.Call)
                and self.resolves_under(
                    assign[1].func,
                    "prefect.Parameter",
                    "prefect.DateTimeParameter",
                    "prefect.JSONParameter",
                )
            ):
                out.add(assign[0])
        return out

    def leave_FunctionDef(self, original_node, updated_node):
        site = self.sites.get(id(original_node))
        if site is None or site.kind != "factory":
            return updated_node
        with_original = site.with_node
        stmts = list(updated_node.body.body)
        index = list(original_node.body.body).index(with_original)
        with_updated = stmts[index]
        func = self._function(site, with_updated.body, with_updated.leading_lines)
        new_stmts = self._factory_rest(site, stmts, index) or [
            cst.SimpleStatementLine(body=[cst.Pass()])
        ]
        factory = updated_node.with_changes(body=updated_node.body.with_changes(body=new_stmts))
        blank = cst.EmptyLine()
        factory = factory.with_changes(leading_lines=[blank, blank])
        func = func.with_changes(leading_lines=[*updated_node.leading_lines, *func.leading_lines])
        return cst.FlattenSentinel([func, factory])

    def _factory_rest(self, site: _Site, stmts: list, index: int) -> list:
        """The factory's statements once its flow moved out (already rewritten by this rule):
        ``return f`` returns the @flow function; other uses of ``f`` keep an alias."""
        others = stmts[:index] + stmts[index + 1 :]
        variable = site.variable
        refs = count_refs(others, variable) if variable else 0
        if not refs:
            return others
        returns = [
            s
            for s in others
            if isinstance(s, cst.SimpleStatementLine)
            and len(s.body) == 1
            and isinstance(s.body[0], cst.Return)
            and isinstance(s.body[0].value, cst.Name)
            and s.body[0].value.value == variable
        ]
        if len(returns) == refs:
            return [
                s.with_changes(body=[cst.Return(value=cst.Name(site.function_name))])
                if s in returns
                else s
                for s in others
            ]
        alias = self._alias(variable, site.function_name)
        return [*stmts[:index], alias.with_changes(leading_lines=stmts[index].leading_lines)] + (
            stmts[index + 1 :]
        )

    def leave_Module(self, original_node, updated_node):
        return self._finish(updated_node)

    def _finish(self, module: cst.Module) -> cst.Module:
        body = list(module.body)
        # A function written in place of a one-line `f = Flow(...)`: keep a blank line after it.
        for i in range(1, len(body)):
            prev, stmt = body[i - 1], body[i]
            if (
                isinstance(prev, cst.FunctionDef)
                and prev.name.value in self.functional_functions
                and not any(line.comment is None for line in stmt.leading_lines[:1])
            ):
                body[i] = stmt.with_changes(leading_lines=[cst.EmptyLine(), *stmt.leading_lines])
        if self.flow_alias is not None:
            body.append(self._alias("flow", self.flow_alias))
        return module.with_changes(body=body) if body != list(module.body) else module


RULE = FlowDefinitionRule


def sweep_removed(body, removed: set[int]) -> tuple[list[cst.BaseStatement], list[cst.EmptyLine]]:
    """Drop the statements whose id is in ``removed``, moving their comments/blank lines onto the
    next statement; returns the new body and the lines left over at the end (comments only)."""
    out: list[cst.BaseStatement] = []
    carried: list[cst.EmptyLine] = []
    for stmt in body:
        if id(stmt) in removed:
            carried += list(getattr(stmt, "leading_lines", ()))
            continue
        if carried:
            stmt = stmt.with_changes(leading_lines=[*carried, *stmt.leading_lines])
            carried = []
        out.append(stmt)
    return out, [line for line in carried if line.comment is not None]
