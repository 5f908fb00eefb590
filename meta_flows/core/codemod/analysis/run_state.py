"""A Prefect 1 flow-run State whose per-task results are read: ``state = flow.run()`` then
``state.result[task].result``.

Prefect 2's flow-run State has no per-task results; its ``result()`` is the flow's return value.
When a state is read only through such lookups, PF015 leaves them to PF002 (which knows what each
``@flow`` returns) and records the state here (``SCRATCH_STATE_LOOKUPS``); PF002 rewrites
``state.result[task].result`` to ``state.result(raise_on_failure=False)`` where ``task`` is what
the flow returns (Prefect 1's ``.result`` of a failed task was its exception: no raise), and
otherwise comments the lookup out under the one TODO of :func:`state_todo`.
"""

from __future__ import annotations

from collections.abc import Callable

import libcst as cst

from meta_flows.core.codemod.analysis.scope import name_refs

# flow-run State variable -> the @flow function it ran, for states read only as
# `state.result[task].result` (PF015 -> PF002, which knows what each flow returns)
SCRATCH_STATE_LOOKUPS = "meta_flows.state_lookups"


def state_todo(state_var: str) -> str:
    """The one TODO on a Prefect 1 flow-run State whose per-task results are read."""
    return (
        f"`{state_var}` was the Prefect 1 flow run State; the call now returns a Prefect 2 State "
        f"(return_state=True): `{state_var}.result()` is the flow's return value, "
        f"`.is_completed()` replaces `.is_successful()`, and per-task results "
        f"`{state_var}.result[task]` no longer exist: return what you need from the flow"
    )


def task_lookup(node: cst.CSTNode) -> tuple[str, str] | None:
    """``(state, task)`` for ``state.result[task].result`` (both plain names), else None."""
    if not (isinstance(node, cst.Attribute) and node.attr.value == "result"):
        return None
    sub = node.value
    if not (isinstance(sub, cst.Subscript) and len(sub.slice) == 1):
        return None
    index = sub.slice[0].slice
    inner = sub.value
    if (
        isinstance(index, cst.Index)
        and isinstance(index.value, cst.Name)
        and isinstance(inner, cst.Attribute)
        and inner.attr.value == "result"
        and isinstance(inner.value, cst.Name)
    ):
        return inner.value.value, index.value.value
    return None


def lookups_only(module: cst.Module) -> set[str]:
    """Names assigned exactly once, by a plain ``name = ...``, and read nowhere but in
    ``name.result[task].result`` lookups (or not read at all)."""

    class _Count(cst.CSTVisitor):
        def __init__(self) -> None:
            self.names: dict[str, int] = {}
            self.assigned: dict[str, int] = {}
            self.lookups: dict[str, int] = {}
            self.simple = 0  # inside a simple statement (a lookup elsewhere is not counted)

        def visit_SimpleStatementLine(self, node: cst.SimpleStatementLine) -> None:
            self.simple += 1

        def leave_SimpleStatementLine(self, original_node: cst.SimpleStatementLine) -> None:
            self.simple -= 1

        def visit_Name(self, node: cst.Name) -> None:
            self.names[node.value] = self.names.get(node.value, 0) + 1

        def visit_AssignTarget(self, node: cst.AssignTarget) -> None:
            for ref in name_refs(node.target):
                self.assigned[ref.value] = self.assigned.get(ref.value, 0) + 1

        def visit_Attribute(self, node: cst.Attribute) -> None:
            found = task_lookup(node)
            if found is not None and self.simple:
                self.lookups[found[0]] = self.lookups.get(found[0], 0) + 1

    count = _Count()
    module.visit(count)
    return {
        name
        for name, assigned in count.assigned.items()
        if assigned == 1 and count.names.get(name) == count.lookups.get(name, 0) + 1
    }


def returned_name(ret: cst.SimpleStatementLine) -> str | None:
    """The task variable a flow's ``return`` hands back whole: ``return x``, or the results of a
    ``.map``, ``return [future.result() for future in x]`` (Prefect 1's ``state.result[x]
    .result`` of a map: the list of its children's results)."""
    stmt = ret.body[0] if len(ret.body) == 1 else None
    value = stmt.value if isinstance(stmt, cst.Return) else None
    if isinstance(value, cst.Name):
        return value.value
    if (
        isinstance(value, cst.ListComp)
        and value.for_in.inner_for_in is None
        and not value.for_in.ifs
        and isinstance(value.for_in.iter, cst.Name)
        and isinstance(value.for_in.target, cst.Name)
        and isinstance(value.elt, cst.Call)
        and not value.elt.args
        and isinstance(value.elt.func, cst.Attribute)
        and value.elt.func.attr.value == "result"
        and isinstance(value.elt.func.value, cst.Name)
        and value.elt.func.value.value == value.for_in.target.value
    ):
        return value.for_in.iter.value
    return None


def rewrite_lookups(
    module: cst.Module,
    states: dict[str, str],
    returns: dict[str, str | None],
    comment_out: Callable[[cst.SimpleStatementLine, str | None, str | None], cst.BaseStatement],
) -> cst.Module:
    """``state.result[task].result`` -> ``state.result(raise_on_failure=False)`` in every statement whose lookups all
    read what the flow ``states[state]`` returns (``returns``: @flow function -> the task
    variable it returns); any other statement with a lookup is commented out, the first of each
    state under :func:`state_todo`, the others with a note pointing to it."""

    class _Rewrite(cst.CSTTransformer):
        def __init__(self) -> None:
            self.flagged: set[str] = set()

        def leave_SimpleStatementLine(self, original_node, updated_node):
            found: list[tuple[str, str]] = []

            class _Find(cst.CSTVisitor):
                def visit_Attribute(self, node: cst.Attribute) -> None:
                    hit = task_lookup(node)
                    if hit is not None and hit[0] in states:
                        found.append(hit)

            original_node.visit(_Find())
            if not found:
                return updated_node
            if all(returns.get(states[state]) == task for state, task in found):
                return updated_node.visit(_Replace())
            state = found[0][0]
            if state not in self.flagged:
                self.flagged.add(state)
                return comment_out(updated_node, state_todo(state), None)
            note = (
                f"reads per-task results of `{state}`, which Prefect 2 does not have (see the "
                f"PF015 TODO on `{state}`)"
            )
            return comment_out(updated_node, None, note)

    class _Replace(cst.CSTTransformer):
        def leave_Attribute(self, original_node, updated_node):
            hit = task_lookup(original_node)
            if hit is None or hit[0] not in states:
                return updated_node
            # Prefect 1's `.result` of a failed task was its exception, not a raise
            return cst.parse_expression(f"{hit[0]}.result(raise_on_failure=False)")

    return module.visit(_Rewrite())
