"""How a module uses a Prefect 1 flow variable: statement shapes and the uses rules handle.

``flow.run()``, ``flow.storage = ...``, ``flow.add_edge(...)``, ``f = flow`` ...: each use of the
variable is classified as handled by a rule (deployment config, run/register, the functional API)
or obsolete (nothing in Prefect 2 stands for it).
"""

from __future__ import annotations

import libcst as cst

from meta_flows.core.codemod.analysis.scope import (
    target_names,
)


def with_variable(node: cst.With) -> str | None:
    asname = node.items[0].asname
    if asname is not None and isinstance(asname.name, cst.Name):
        return asname.name.value
    return None


def simple_assign(stmt: cst.CSTNode) -> tuple[str, cst.BaseExpression] | None:
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


def unmapped_value(node: cst.BaseExpression) -> cst.BaseExpression | None:
    """``x`` of a call ``unmapped(x)`` (Prefect 1's marker of an input not mapped over), else
    None."""
    if (
        isinstance(node, cst.Call)
        and isinstance(node.func, cst.Name)
        and node.func.value == "unmapped"
        and len(node.args) == 1
        and node.args[0].keyword is None
        and not node.args[0].star
    ):
        return node.args[0].value
    return None


def dependency_call(stmt: cst.CSTNode) -> cst.Call | None:
    """The call of a statement ``x.set_upstream(...)`` / ``x.set_downstream(...)``, else None."""
    if not isinstance(stmt, cst.SimpleStatementLine) or len(stmt.body) != 1:
        return None
    expr = stmt.body[0]
    call = expr.value if isinstance(expr, cst.Expr) else None
    if (
        isinstance(call, cst.Call)
        and isinstance(call.func, cst.Attribute)
        and call.func.attr.value in ("set_upstream", "set_downstream")
    ):
        return call
    return None


def method_call(stmt: cst.CSTNode, variable: str) -> tuple[str, cst.Call] | None:
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


def attr_assignment(stmt: cst.CSTNode, variable: str) -> tuple[str, cst.BaseExpression] | None:
    """``variable.attr = value`` as a single statement line: (attribute name, value)."""
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
            return target.attr.value, stmt.body[0].value
    return None


# Statements about the flow object that PF015/PF016 remove before PF002 runs.
_REMOVED_LATER_METHODS = {"run", "register", "visualize", "serialize", "run_agent"}


_REMOVED_LATER_ATTRS = {"storage", "run_config", "schedule", "environment", "executor"}


# Flow-object API that PF002 comments out wherever it is used (it cannot stay under Prefect 2).
OBSOLETE_METHODS = {"set_reference_tasks"}


OBSOLETE_ATTRS = {"tasks", "edges", "reference_tasks"}


# Prefect 1 Flow methods and attributes a Prefect 2 flow does not have (it fails with
# AttributeError), each with what to use instead.
FLOW_API_GONE = {
    "copy": "a variant of the flow is `{v}.with_options(name=...)`; a copy with another "
    "schedule or run config is another deployment of the same flow in prefect.yaml",
    "parameters": "a Prefect 2 flow's parameters are its function's arguments "
    "(`{v}.parameters` is their schema)",
    "file_name": "the flow's module file is `inspect.getsourcefile({v}.fn)`",
    "get_tasks": "a Prefect 2 flow has no task graph to query",
    "sorted_tasks": "a Prefect 2 flow has no task graph to query",
    "root_tasks": "a Prefect 2 flow has no task graph to query",
    "terminal_tasks": "a Prefect 2 flow has no task graph to query",
    "upstream_tasks": "a Prefect 2 flow has no task graph to query",
    "downstream_tasks": "a Prefect 2 flow has no task graph to query",
    "edges_to": "a Prefect 2 flow has no task graph to query",
    "edges_from": "a Prefect 2 flow has no task graph to query",
    "update": "a Prefect 2 flow has no task graph to merge: call the other flow as a subflow",
    "replace": "a Prefect 2 flow has no task graph to edit",
    "validate": "a Prefect 2 flow has no task graph to validate",
    "slugs": "a Prefect 2 flow has no task slugs",
    "constants": "a Prefect 2 flow has no constants: they are the function's own values",
}


# Attributes set on a copy of a flow (``g = f.copy(); g.name = "x"``) that Prefect 2's
# ``Flow.with_options`` takes under the same keyword.
COPY_OPTIONS = ("name", "description")


# Attributes of a Prefect 2 flow that code may read off a copy made with ``with_options``.
FLOW2_READABLE = {"name", "description", "fn", "version"}


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
        if self.variable in target_names(target):
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


def handled_use(kind: str, attr: str | None) -> bool:
    """A use of a flow object that some rule takes care of (or that works on a Prefect 2 flow)."""
    if kind == "call":
        return attr in _REMOVED_LATER_METHODS or attr in OBSOLETE_METHODS
    if kind == "set":
        return attr in _REMOVED_LATER_ATTRS
    return kind not in (
        "bind",
        "arg",
    )  # reads (`flow.name`, `flow.tasks` -> TODO) and bare references (alias)


def functional_calls_of(uses: list[tuple[str, str | None]]) -> list[str]:
    return sorted({a for k, a in uses if k == "call" and a in FUNCTIONAL_METHODS})


def obsolete_use(stmt: cst.CSTNode, variable: str, functional: bool = False) -> str | None:
    """The TODO message for a statement using Flow API that cannot stay, else None
    (``functional``: the functional API too, on a flow that is a ``with Flow`` block)."""
    uses = flow_uses(stmt, variable)
    calls = sorted({a for k, a in uses if k == "call" and a in OBSOLETE_METHODS})
    functional_calls = functional and functional_calls_of(uses)
    if functional_calls and not calls:
        methods = ", ".join(f"`{variable}.{a}(...)`" for a in functional_calls)
        return (
            f"{methods} on a flow built with `with Flow(...)`: a Prefect 2 flow has no task "
            f"graph to edit; call the tasks in the @flow function in dependency order (an "
            f"upstream task's call before its downstream's, or wait_for=[...])"
        )
    reads = sorted({a for k, a in uses if k == "get" and a in OBSOLETE_ATTRS})
    gone = sorted({a for k, a in uses if k in ("call", "get") and a in FLOW_API_GONE})
    if gone and not calls:
        used = ", ".join(f"`{variable}.{a}`" for a in gone)
        advice = "; ".join(FLOW_API_GONE[a].format(v=variable) for a in gone)
        return f"{used}: Prefect 1 Flow API that a Prefect 2 flow does not have: {advice}"
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
