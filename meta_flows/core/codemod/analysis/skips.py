"""What Prefect 1 skipped when a task raised ``SKIP`` (PF011, docs/spec.md §10.1).

Prefect 1 gave a task that raised ``signals.SKIP`` a ``Skipped`` state and skipped every task
downstream of it, transitively (unless a task set ``skip_on_upstream_skip=False``), and the flow
run still ended successfully. Prefect 2 has no such propagation: the rewritten task returns a
``Completed`` state named ``Skipped`` and the flow must not run the downstream calls itself.

:func:`analyse` reads the ``@flow`` functions of a module (after PF002 converted them) and decides,
per task raising SKIP, whether the skip can be guarded in the flow bodies: every use of the task
in the module is a direct call at the top level of a flow body (``x = t(...)``, ``t(...)``,
``return t(...)``), no other module imports it, and each statement reading its result --
directly or through names assigned from it -- is a simple statement. It also lists, per task,
the calls downstream of it in each flow, for the TODO written when the skip cannot be guarded.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field

import libcst as cst

from meta_flows.core.codemod.analysis.scope import name_refs, stored_names
from meta_flows.core.codemod.base import SCRATCH_ORIGINAL, Rule

SKIPPED_NAME = "Skipped"  # the name of the Completed state a skipping task returns


@dataclass
class FlowGuards:
    """The rewrite of one ``@flow`` function body."""

    # id(statement ``x = t(...)``) -> (x, the name its state gets)
    calls: dict[int, tuple[str, str]] = field(default_factory=dict)
    # id(statement downstream of skipping calls) -> the state names it depends on, in order
    guards: dict[int, tuple[str, ...]] = field(default_factory=dict)
    # state name -> the skipping task whose call it holds
    tasks: dict[str, str] = field(default_factory=dict)


@dataclass
class SkipAnalysis:
    tasks: set[str] = field(default_factory=set)  # module-level @task functions raising SKIP
    guarded: set[str] = field(default_factory=set)  # ... whose skip the flows can test
    flows: dict[int, FlowGuards] = field(default_factory=dict)  # id(FunctionDef) -> its guards
    # task -> [(flow function, the names of the calls downstream of the task in it)]
    downstream: dict[str, list[tuple[str, list[str]]]] = field(default_factory=dict)


def raises_in_body(func: cst.FunctionDef, is_skip: Callable[[cst.Raise], bool]) -> bool:
    """Whether ``func`` itself (not a function nested in it) has a ``raise`` ``is_skip`` accepts."""
    found: list[cst.Raise] = []

    class _Raises(cst.CSTVisitor):
        def visit_FunctionDef(self, node: cst.FunctionDef) -> bool:
            return False

        def visit_Lambda(self, node: cst.Lambda) -> bool:
            return False

        def visit_ClassDef(self, node: cst.ClassDef) -> bool:
            return False

        def visit_Raise(self, node: cst.Raise) -> None:
            if is_skip(node):
                found.append(node)

    func.body.visit(_Raises())
    return bool(found)


def _decorated(rule: Rule, func: cst.FunctionDef, name: str) -> bool:
    return any(rule.is_prefect(d, name) for d in func.decorators)


def _callee(expr: cst.BaseExpression | None) -> str | None:
    """``t`` for ``t(...)`` and ``t.map(...)``."""
    if not isinstance(expr, cst.Call):
        return None
    func = expr.func
    if isinstance(func, cst.Attribute) and func.attr.value == "map":
        func = func.value
    return func.value if isinstance(func, cst.Name) else None


def _skip_call(stmt: cst.CSTNode, tasks: set[str]) -> tuple[str | None, str] | None:
    """``(x, t)`` for ``x = t(...)``, ``(None, t)`` for ``t(...)`` / ``return t(...)`` where ``t``
    is in ``tasks``, called directly (not ``.map``, not with ``return_state``) and read nowhere
    else in the statement; None otherwise."""
    if not isinstance(stmt, cst.SimpleStatementLine) or len(stmt.body) != 1:
        return None
    small = stmt.body[0]
    target: str | None = None
    if isinstance(small, cst.Assign):
        if len(small.targets) != 1 or not isinstance(small.targets[0].target, cst.Name):
            return None
        target, value = small.targets[0].target.value, small.value
    elif isinstance(small, (cst.Expr, cst.Return)):
        value = small.value
    else:
        return None
    if not isinstance(value, cst.Call) or not isinstance(value.func, cst.Name):
        return None
    task = value.func.value
    if task not in tasks or any(
        a.keyword is not None and a.keyword.value == "return_state" for a in value.args
    ):
        return None
    if any(r.value in tasks for a in value.args for r in name_refs(a)):
        return None
    return target, task


def _unique(base: str, taken: set[str]) -> str:
    name, n = base, 2
    while name in taken:
        name, n = f"{base}{n}", n + 1
    taken.add(name)
    return name


def analyse(rule: Rule, module: cst.Module, is_skip: Callable[[cst.Raise], bool]) -> SkipAnalysis:
    out = SkipAnalysis()
    for stmt in module.body:
        if (
            isinstance(stmt, cst.FunctionDef)
            and _decorated(rule, stmt, "prefect.task")
            and raises_in_body(stmt, is_skip)
        ):
            out.tasks.add(stmt.name.value)
    if not out.tasks:
        return out
    blocked = {
        t for t in out.tasks if rule.project.is_imported_elsewhere(rule.context.full_module_name, t)
    }
    called: set[str] = set()
    taken = {n.value for n in name_refs(module)} | set(stored_names(module))
    for stmt in module.body:
        refs = {r.value for r in name_refs(stmt)} & out.tasks
        if isinstance(stmt, cst.FunctionDef) and stmt.name.value in out.tasks:
            continue  # the task's own definition (recursion is a reference too, below)
        if isinstance(stmt, cst.FunctionDef) and _decorated(rule, stmt, "prefect.flow"):
            guards, uses, bad = _flow(stmt, out.tasks, set(taken))
            called |= uses
            blocked |= bad
            out.flows[id(stmt)] = guards
            for state, task in guards.tasks.items():
                names = [
                    c
                    for s in stmt.body.body
                    if state in guards.guards.get(id(s), ())
                    for c in _calls_in(s)
                ]
                if names:
                    out.downstream.setdefault(task, []).append(
                        (stmt.name.value, list(dict.fromkeys(names)))
                    )
        else:
            blocked |= refs
    if "skip_on_upstream_skip" in (rule.context.scratch.get(SCRATCH_ORIGINAL) or ""):
        blocked |= out.tasks  # a downstream task that ran anyway is not told apart here
    out.guarded = (out.tasks & called) - blocked
    for key, guards in list(out.flows.items()):
        if set(guards.tasks.values()) - out.guarded:
            del out.flows[key]  # some skip it calls cannot be guarded: no change to this flow
    return out


def _calls_in(stmt: cst.CSTNode) -> list[str]:
    """The names of the functions ``stmt`` calls (``t(...)``, ``t.map(...)``), in order."""
    names: list[str] = []

    class _Calls(cst.CSTVisitor):
        def visit_Call(self, node: cst.Call) -> None:
            name = _callee(node)
            if name is not None:
                names.append(name)

    stmt.visit(_Calls())
    return names


def _flow(
    func: cst.FunctionDef, tasks: set[str], taken: set[str]
) -> tuple[FlowGuards, set[str], set[str]]:
    """The guards of one flow body, the skipping tasks it calls and those it cannot guard."""
    guards = FlowGuards()
    called: set[str] = set()
    bad: set[str] = set()
    taint: dict[str, tuple[str, ...]] = {}  # name -> the states it depends on
    body = func.body.body if isinstance(func.body, cst.IndentedBlock) else ()
    for stmt in body:
        refs = [r.value for r in name_refs(stmt)]
        sources = tuple(dict.fromkeys(s for n in refs if n in taint for s in taint[n]))
        call = _skip_call(stmt, tasks)
        if call is None and set(refs) & tasks:
            bad |= set(refs) & tasks  # used in another way (nested, .map, passed on...)
        if sources:
            guards.guards[id(stmt)] = sources
            if not isinstance(stmt, cst.SimpleStatementLine):
                bad |= {guards.tasks[s] for s in sources}
        stores = stored_names(stmt)
        for name in stores:
            if sources:
                taint[name] = tuple(dict.fromkeys((*taint.get(name, ()), *sources)))
            else:
                taint.pop(name, None)
        if call is not None:
            target, task = call
            called.add(task)
            if target is not None:
                state = _unique(f"{target}_state", taken)
                guards.calls[id(stmt)] = (target, state)
                guards.tasks[state] = task
                taint[target] = (*sources, state)
    tested = {state for states in guards.guards.values() for state in states}
    guards.calls = {k: call for k, call in guards.calls.items() if call[1] in tested}
    stores = Counter(stored_names(func.body))
    for target, state in guards.calls.values():
        if stores[target] > 1:  # the result's name is reassigned: not followed here
            bad.add(guards.tasks[state])
    return guards, called, bad
