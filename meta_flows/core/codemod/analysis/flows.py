"""Where a module's Prefect 1 flows are, and what each is called once migrated.

:func:`collect_sites` finds every flow (``with Flow(...)`` blocks, the functional API, zero-argument
flow factories); :func:`plan_flow_functions` names the ``@flow`` function each becomes. The codemod's
rules and the inventory use the same answers, so a deployment's entrypoint always names the
function the rewrite wrote.
"""

from __future__ import annotations

from dataclasses import dataclass

import libcst as cst
from libcst.codemod import CodemodContext
from libcst.metadata import PositionProvider

from meta_flows.core.codemod.analysis.graph import (
    DependencyGraph,
    functional_graph,
)
from meta_flows.core.codemod.analysis.scope import (
    bound_names,
    child_blocks,
    module_bound_names,
    name_refs,
    string_value,
)
from meta_flows.core.codemod.analysis.uses import (
    flow_uses,
    handled_use,
    simple_assign,
    with_variable,
)
from meta_flows.core.codemod.base import (
    SCRATCH_PROJECT,
    Rule,
    get_arg,
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


def copied_flow(
    rule: Rule, value: cst.BaseExpression, variables: set[str] | dict
) -> cst.Name | None:
    """The module-level flow variable (one of ``variables``) that ``value`` copies:
    ``f.copy()``, ``copy.copy(f)`` or ``copy.deepcopy(f)``."""
    if not isinstance(value, cst.Call):
        return None
    func = value.func
    if isinstance(func, cst.Attribute) and func.attr.value == "copy" and not value.args:
        ref = func.value
    elif (
        len(value.args) == 1
        and value.args[0].keyword is None
        and not value.args[0].star
        and rule.qualified_names(func) & {"copy.copy", "copy.deepcopy"}
    ):
        ref = value.args[0].value
    else:
        return None
    if not isinstance(ref, cst.Name) or ref.value not in variables:
        return None
    return ref if rule.binds_at_module_level(ref, variables) else None


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


@dataclass
class FlowSite:
    kind: str  # "with" | "functional" | "factory"
    index: int  # position in module.body
    call: cst.Call
    variable: str | None
    flow_name: str | None
    line: int
    with_node: cst.With | None = None
    factory: cst.FunctionDef | None = None
    graph: DependencyGraph | None = None
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
    variable = with_variable(with_stmt)
    others = [stmt for stmt in func.body.body if stmt is not with_stmt]
    if variable is not None:
        for stmt in others:
            if not all(handled_use(kind, attr) for kind, attr in flow_uses(stmt, variable)):
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
            for block in child_blocks(stmt):
                yield from _small_statements(block)


def collect_sites(rule: Rule, module: cst.Module) -> list[FlowSite]:
    """Every flow of ``module`` that PF002 converts, in source order (needs metadata)."""
    sites: list[FlowSite] = []

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
                    FlowSite(
                        "with",
                        i,
                        call,
                        with_variable(stmt),
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
                    FlowSite(
                        "factory",
                        i,
                        found[1],
                        with_variable(found[0]),
                        string_value(name_arg.value) if name_arg else None,
                        line(found[0]),
                        with_node=found[0],
                        factory=stmt,
                    )
                )
        else:
            assign = simple_assign(stmt)
            if assign and isinstance(assign[1], cst.Call) and rule.is_prefect(assign[1].func, FLOW):
                call = assign[1]
                graph = functional_graph(module, i, assign[0], call, _task_classes(rule, module))
                if graph is not None:
                    name_arg = get_arg(call, "name", 0)
                    sites.append(
                        FlowSite(
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


def _task_classes(rule, module: cst.Module) -> set[str]:
    """The module's classes subclassing Prefect 1's Task directly."""
    return {
        stmt.name.value
        for stmt in module.body
        if isinstance(stmt, cst.ClassDef)
        and any(rule.is_prefect(b.value, "prefect.Task") for b in stmt.bases)
    }


def _plan(site: FlowSite) -> FlowPlan:
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
