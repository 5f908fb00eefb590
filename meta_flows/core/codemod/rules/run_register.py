"""PF015 run_register: flow.run() / flow.register() / __main__ (docs/spec.md §17).

Runs first, on the original source, for variables bound to a Prefect 1 Flow (``with Flow(...) as
flow``, ``flow = Flow(...)``, the result of a zero-argument flow factory, or ``with Flow(...) as f``
inside a function whose flow PF002 moves to module level, e.g. ``def main(): with Flow("etl") as
f: ...; f.run()`` -> ``etl()``).

Before::

    flow.run(parameters={"n": 3})
    flow.register(project_name="etl")

After::

    if __name__ == "__main__":
        etl_flow(**{"n": 3})

- ``flow.run()``, ``flow.run(parameters={...})``, ``flow.run(x=1)`` call the @flow function that
  PF002 writes (name from ``plan_flow_functions``), guarded by ``if __name__ == "__main__":`` when
  the call was an unguarded module-level statement (A). ``executor=X`` becomes
  ``etl_flow.with_options(executor=X)(...)``, which PF014 turns into ``task_runner=`` (A); other
  runner options (``context=``, ``task_states=``...) are dropped with a TODO.
- A module-level ``with``/``for``/``if``/``try`` block running a flow (``with prefect.context(
  secrets=...): state = flow.run()``) goes under the same guard, whole: Prefect 1 ran it at
  import, and importing the migrated module (a deployment, the validation) must not -- unless the
  block defines a function, class or import, or binds a name the rest of the module reads (A).
- ``g.run()`` of a module-level copy of a flow (``g = flow.copy()``, ``copy.deepcopy(flow)``)
  becomes ``g()`` the same way: PF002 makes the copy a Prefect 2 flow (``with_options``) or a
  stand-in. The copy's ``g.register()`` stays for PF002, whose TODO asks for its deployment.
- ``flow.register(...)`` is removed: project and labels go to prefect.yaml, read from the original
  source by ``meta-flows deployments`` (A).
- ``flow.run(run_on_schedule=True)``, ``flow.run_agent()``, ``flow.visualize()``,
  ``flow.serialize()`` are removed; where their result was used the statement is commented out
  with a TODO (H).
- ``state = flow.run()`` with ``state`` never read: ``return_state=True``, no TODO.
- ``state = flow.run()`` then ``state.result[t].result`` (``state`` read no other way): the call
  returns a Prefect 2 State (``return_state=True``) and PF002, which knows what each ``@flow``
  returns, rewrites the lookup to ``state.result(raise_on_failure=False)`` (Prefect 1's
  ``.result`` of a failed task was its exception) where the flow returns ``t`` (``return t``,
  or the list of results of a ``.map`` it returns) (A); a statement looking up another task is
  commented out under one TODO (see :mod:`meta_flows.core.codemod.analysis.run_state`).
- ``state`` read otherwise (``state.is_successful()``, ``state.result[t]`` alone...): one TODO on
  the call asks to rewrite the per-task lookups (H); statements doing such a lookup are commented
  out (they would fail under Prefect 2, at import for module-level code) with a note pointing to
  that TODO, not a TODO of their own (one root cause).
"""

from __future__ import annotations

import libcst as cst
from libcst.codemod import CodemodContext
from libcst.metadata import PositionProvider, QualifiedNameProvider, QualifiedNameSource

from meta_flows.core.codemod.analysis.flows import SCRATCH_UNBOUND, collect_sites, copied_flow
from meta_flows.core.codemod.analysis.run_state import (
    SCRATCH_STATE_LOOKUPS,
    lookups_only,
    state_todo,
)
from meta_flows.core.codemod.analysis.scope import count_refs, name_refs, stored_names
from meta_flows.core.codemod.analysis.uses import simple_assign
from meta_flows.core.codemod.base import SCRATCH_DISABLED, Rule, get_arg
from meta_flows.core.codemod.sweep import (
    MAIN_GUARD,
    drop_emptied_main_guard,
    is_main_guard,
    sweep_block,
    sweep_module,
)

_REMOVED = {"register", "visualize", "serialize", "run_agent"}
_RUNNER_KWARGS = {
    "executor",
    "context",
    "runner_cls",
    "task_contexts",
    "task_states",
    "return_tasks",
    "flow_run_id",
}


class RunRegisterRule(Rule):
    """Flow.run() / flow.register() / __main__ (docs/spec.md §17)."""

    CODE = "PF015"
    NAME = "run-register"
    DESCRIPTION = "flow.run() / flow.register() / __main__ (§17)"
    TRIGGERS = ("run", "register", "visualize", "serialize")
    METADATA_DEPENDENCIES = (*Rule.METADATA_DEPENDENCIES, PositionProvider)

    def __init__(self, context: CodemodContext) -> None:
        super().__init__(context)
        # variable -> [(line of the definition, function name)], module-level flows
        self.flows: dict[str, list[tuple[int, str]]] = {}
        self.factories: set[str] = set()
        self.factory_vars: set[str] = set()
        self.local_flows: dict[str, str] = {}  # "factory.<locals>.f" -> function name
        self.state_vars: set[str] = set()  # names bound to `flow.run()` States
        self.calls: dict[int, tuple[str, cst.BaseExpression]] = {}  # id(call) -> (method, callee)
        self.guards: set[int] = set()
        self.emptied: set[int] = set()
        self.removed: set[int] = set()
        # module-level copies of a flow (`g = f.copy()`): `g.run()` calls `g`, the Prefect 2 flow
        # PF002 makes of it (or the stand-in of a copy it cannot rewrite)
        self.copies: set[str] = set()
        # names assigned once and read only as `name.result[task].result` (see lookups_only)
        self.lookup_only: set[str] = set()
        self._module: cst.Module | None = None

    # ------------------------------------------------------------------ analysis

    def visit_Module(self, node: cst.Module) -> bool:
        super().visit_Module(node)
        for site in collect_sites(self, node):
            if site.kind == "factory":
                self.factories.add(site.factory.name.value)
                if site.variable:
                    # `with Flow(...) as f` inside the function: `f.run()` there calls the
                    # module-level @flow function PF002 moves the flow to.
                    local = f"{site.factory.name.value}.<locals>.{site.variable}"
                    self.local_flows[local] = site.function_name
            elif site.variable:
                self.flows.setdefault(site.variable, []).append((site.line, site.function_name))
        self.lookup_only = lookups_only(node)
        self._module = node
        for stmt in node.body:
            assign = simple_assign(stmt)
            ref = assign and copied_flow(self, assign[1], self.flows)
            if ref is not None and assign[0] not in self.flows:
                try:
                    line = self.get_metadata(PositionProvider, stmt).start.line
                except KeyError:
                    continue
                if any(ln < line for ln, _ in self.flows[ref.value]):
                    self.copies.add(assign[0])
        return True

    def visit_Assign(self, node: cst.Assign) -> None:
        value = node.value
        if (
            isinstance(value, cst.Call)
            and isinstance(value.func, cst.Name)
            and value.func.value in self.factories
            and not value.args
        ):
            for target in node.targets:
                if isinstance(target.target, cst.Name):
                    self.factory_vars.add(target.target.value)

    def _callee(self, receiver: cst.BaseExpression, line: int, module_level: bool):
        """What replaces ``receiver.run``: the flow function's name (or the factory result)."""
        if isinstance(receiver, cst.Call):
            if (
                isinstance(receiver.func, cst.Name)
                and receiver.func.value in self.factories
                and not receiver.args
            ):
                return receiver
            return None
        if not isinstance(receiver, cst.Name):
            return None
        name = receiver.value
        try:
            qnames = self.get_metadata(QualifiedNameProvider, receiver, set())
        except KeyError:
            qnames = set()
        module_level_binding = any(
            q.name == name and q.source == QualifiedNameSource.LOCAL for q in qnames
        )
        for q in qnames:
            if q.source == QualifiedNameSource.LOCAL and q.name in self.local_flows:
                return cst.Name(self.local_flows[q.name])
        if name in self.flows and module_level_binding:
            defs = self.flows[name]
            if module_level:
                before = [fn for ln, fn in defs if ln < line]
                return cst.Name(before[-1]) if before else None
            return cst.Name(defs[-1][1])
        if name in self.factory_vars:
            return receiver
        return None

    def visit_Call(self, node: cst.Call) -> None:
        func = node.func
        if not isinstance(func, cst.Attribute):
            return
        method = func.attr.value
        if method != "run" and method not in _REMOVED:
            return
        try:
            line = self.get_metadata(PositionProvider, node).start.line
        except KeyError:
            line = 0
        callee = self._callee(func.value, line, self._at_module_level())
        if callee is None and method == "run" and self._is_copy(func.value):
            callee = func.value
        if callee is None:
            return
        if method == "run":
            schedule = get_arg(node, "run_on_schedule", 1)
            if schedule is not None and not (
                isinstance(schedule.value, cst.Name) and schedule.value.value == "False"
            ):
                method = "run_on_schedule"
        self.calls[id(node)] = (method, callee)

    def _is_copy(self, receiver: cst.BaseExpression) -> bool:
        """``receiver`` names a module-level copy of a flow (its ``register()`` is left alone:
        the copy needs a deployment of its own, PF002's TODO)."""
        return isinstance(receiver, cst.Name) and self.binds_at_module_level(receiver, self.copies)

    def _at_module_level(self) -> bool:
        """The statement being visited is a direct child of the module."""
        return len(self._statement_stack) <= 1

    # ------------------------------------------------------------------ rewriting

    def _new_call(self, call: cst.Call, callee: cst.BaseExpression) -> cst.Call:
        args: list[cst.Arg] = []
        dropped = []
        executor: cst.Arg | None = None
        for pos, arg in enumerate(call.args):
            key = arg.keyword.value if arg.keyword is not None else None
            if key == "executor":
                executor = arg.with_changes(comma=cst.MaybeSentinel.DEFAULT)
                continue
            if key == "parameters" or (key is None and pos == 0 and not arg.star):
                if isinstance(arg.value, cst.Dict) and not arg.value.elements:
                    continue
                args.append(
                    arg.with_changes(
                        keyword=None,
                        equal=cst.MaybeSentinel.DEFAULT,
                        star="**",
                        whitespace_after_star=cst.SimpleWhitespace(""),
                    )
                )
            elif key == "run_on_schedule":
                continue
            elif key in _RUNNER_KWARGS or (key is None and not arg.star):
                dropped.append(key or self.code_for(arg.value))
            else:
                args.append(arg)
        if args:
            args[-1] = args[-1].with_changes(comma=cst.MaybeSentinel.DEFAULT)
        if dropped:
            self.add_todo(
                f"flow.run() options {', '.join(dropped)} have no Prefect 2 equivalent on a flow "
                f"call and were dropped"
            )
        if executor is not None:
            # PF014 turns it into the task runner (or drops it, with its TODO when needed)
            callee = cst.Call(
                func=cst.Attribute(value=callee, attr=cst.Name("with_options")), args=[executor]
            )
        return cst.Call(func=callee, args=args)

    def leave_Call(self, original_node: cst.Call, updated_node: cst.Call):
        decision = self.calls.get(id(original_node))
        if decision is None or decision[0] != "run":
            return updated_node
        return self._new_call(updated_node, decision[1])

    def _statement_call(self, stmt: cst.SimpleStatementLine) -> tuple[str, bool] | None:
        """(method, used) for the flow-method call of a statement, if any."""
        found = self._flow_call(stmt)
        if found is None:
            return None
        used = not (
            len(stmt.body) == 1
            and isinstance(stmt.body[0], cst.Expr)
            and stmt.body[0].value is found
        )
        return self.calls[id(found)][0], used

    def _flow_call(self, node: cst.CSTNode) -> cst.Call | None:
        """The first flow-method call (``flow.run()``, ``flow.register()``...) inside ``node``."""
        return next((c for c in _calls_in(node) if id(c) in self.calls), None)

    def leave_SimpleStatementLine(self, original_node, updated_node):
        info = self._statement_call(original_node)
        if info is None:
            state_var = self._task_result_lookup(original_node)
            if state_var in self.context.scratch.get(SCRATCH_STATE_LOOKUPS, {}):
                return updated_node  # PF002 rewrites it, knowing what the flow returns
            if state_var is not None and state_var in self.state_vars:
                # the same root cause as `state_var`'s TODO, which says per-task results are gone
                return self.comment_out(
                    updated_node,
                    None,
                    note=f"reads per-task results of `{state_var}`, which Prefect 2 does not "
                    f"have (see the PF015 TODO on `{state_var}`)",
                )
            if state_var is not None:
                return self.comment_out(
                    updated_node,
                    f"`{state_var}.result[task]` (per-task results of a Prefect 1 flow run "
                    f"State) does not exist in Prefect 2: return the values you need from the "
                    f"flow and read `{state_var}.result()`",
                )
            return updated_node
        method, used = info
        module_level = self._at_module_level()
        self.mark_applied()
        if method == "run":
            if used:
                state_var = self._assigned_name(original_node)
                callee = self.calls[id(self._flow_call(original_node))][1]
                if (
                    state_var in self.lookup_only
                    and isinstance(callee, cst.Name)
                    and "PF002" not in self.context.scratch.get(SCRATCH_DISABLED, ())
                ):
                    # every read is `state.result[task].result`: PF002 makes it `state.result(...)`
                    # when `task` is what the flow returns, else it writes this TODO there
                    self.state_vars.add(state_var)
                    lookups = self.context.scratch.setdefault(SCRATCH_STATE_LOOKUPS, {})
                    lookups[state_var] = callee.value
                    return self._return_state(updated_node)
                if state_var is not None:
                    self.state_vars.add(state_var)
                    updated_node = self._return_state(updated_node)
                    self.add_todo(state_todo(state_var))
                else:
                    self.add_todo(
                        "flow.run() returned a Prefect 1 State; the flow call now returns the "
                        "flow's return value: check how the result is used"
                    )
                return updated_node
            if module_level:
                return self._main_guard(updated_node)
            return updated_node
        if not used:
            self.removed.add(self.new_node_id(updated_node))
            return updated_node
        what = (
            "flow.run(run_on_schedule=True)" if method == "run_on_schedule" else f"flow.{method}()"
        )
        for name in self._assigned_names(original_node) if module_level else ():
            self.context.scratch.setdefault(SCRATCH_UNBOUND, set()).add(name)
        return self.comment_out(
            updated_node,
            f"{what} does not exist in Prefect 2 (deployments are built with `meta-flows "
            f"deployments` / prefect.yaml and served by workers): rewrite the code that used its "
            f"result",
        )

    def _task_result_lookup(self, stmt: cst.SimpleStatementLine) -> str | None:
        """The flow-run State variable ``stmt`` subscripts as ``state.result[...]``, if any."""
        if not self.state_vars:
            return None
        found: list[str] = []

        class _Finder(cst.CSTVisitor):
            def visit_Subscript(inner, node: cst.Subscript) -> None:  # noqa: N805
                value = node.value
                if (
                    isinstance(value, cst.Attribute)
                    and value.attr.value == "result"
                    and isinstance(value.value, cst.Name)
                    and value.value.value in self.state_vars
                ):
                    found.append(value.value.value)

        stmt.visit(_Finder())
        return found[0] if found else None

    @staticmethod
    def _assigned_names(stmt: cst.SimpleStatementLine) -> list[str]:
        out = []
        for small in stmt.body:
            if isinstance(small, cst.Assign):
                for t in small.targets:
                    out += [n.value for n in name_refs(t.target)]
        return out

    @staticmethod
    def _assigned_name(stmt: cst.SimpleStatementLine) -> str | None:
        if len(stmt.body) == 1 and isinstance(stmt.body[0], cst.Assign):
            targets = stmt.body[0].targets
            if len(targets) == 1 and isinstance(targets[0].target, cst.Name):
                return targets[0].target.value
        return None

    @staticmethod
    def _return_state(stmt: cst.SimpleStatementLine) -> cst.SimpleStatementLine:
        assign = stmt.body[0]
        call = assign.value
        if not isinstance(call, cst.Call) or get_arg(call, "return_state"):
            return stmt
        eq = cst.AssignEqual(
            whitespace_before=cst.SimpleWhitespace(""), whitespace_after=cst.SimpleWhitespace("")
        )
        args = list(call.args)
        if args:
            args[-1] = args[-1].with_changes(
                comma=cst.Comma(whitespace_after=cst.SimpleWhitespace(" "))
            )
        args.append(cst.Arg(keyword=cst.Name("return_state"), value=cst.Name("True"), equal=eq))
        return stmt.with_changes(body=[assign.with_changes(value=call.with_changes(args=args))])

    def leave_IndentedBlock(self, original_node, updated_node):
        return sweep_block(self, updated_node)

    def leave_If(self, original_node, updated_node):
        dropped = drop_emptied_main_guard(self, original_node, updated_node)
        if is_main_guard(original_node) or dropped is not updated_node:
            return dropped
        return self._guarded(original_node, updated_node)

    def leave_With(self, original_node, updated_node):
        return self._guarded(original_node, updated_node)

    def leave_For(self, original_node, updated_node):
        return self._guarded(original_node, updated_node)

    def leave_Try(self, original_node, updated_node):
        return self._guarded(original_node, updated_node)

    def _guarded(self, original_node, updated_node):
        """A module-level block running a flow (``with prefect.context(...): flow.run()``, ``for
        n in ...: flow.run(n=n)``): under ``if __name__ == "__main__":`` like a plain
        ``flow.run()``, so importing the module (a deployment, the validation) runs nothing --
        unless it defines what the module uses elsewhere."""
        if not self._at_module_level() or self._module is None:
            return updated_node
        runs = [c for c in _calls_in(original_node) if self.calls.get(id(c), ("",))[0] == "run"]
        if not runs or self._defines_used_names(original_node):
            return updated_node
        return self._main_guard(updated_node)

    def _main_guard(self, stmt: cst.BaseStatement) -> cst.If:
        """``stmt`` under ``if __name__ == "__main__":`` (merged with an adjacent guard later)."""
        guard = cst.If(
            test=cst.parse_expression(MAIN_GUARD),
            body=cst.IndentedBlock(body=[stmt.with_changes(leading_lines=[])]),
            leading_lines=stmt.leading_lines,
        )
        self.guards.add(self.new_node_id(guard))
        return guard

    def _defines_used_names(self, block: cst.CSTNode) -> bool:
        """``block`` defines a function, class or import, or binds a name the rest of the
        module reads."""

        class _Defines(cst.CSTVisitor):
            found = False

            def visit_FunctionDef(inner, node) -> bool:  # noqa: N805
                inner.found = True
                return False

            def visit_ClassDef(inner, node) -> bool:  # noqa: N805
                inner.found = True
                return False

            def visit_Import(inner, node) -> None:  # noqa: N805
                inner.found = True

            def visit_ImportFrom(inner, node) -> None:  # noqa: N805
                inner.found = True

        finder = _Defines()
        block.visit(finder)
        if finder.found:
            return True
        others = [stmt for stmt in self._module.body if stmt is not block]
        return any(count_refs(others, name) for name in set(stored_names(block)))

    def leave_Module(self, original_node, updated_node):
        updated_node = sweep_module(self, updated_node)
        # Merge the guards this rule added with an adjacent `if __name__ == "__main__":`.
        body: list[cst.BaseStatement] = []
        changed = False
        for stmt in updated_node.body:
            prev = body[-1] if body else None
            is_new_guard = id(stmt) in self.guards
            if (
                is_new_guard
                and prev is not None
                and is_main_guard(prev)
                and prev.orelse is None
                and isinstance(prev.body, cst.IndentedBlock)
                and not any(line.comment for line in stmt.leading_lines)
            ):
                body[-1] = prev.with_changes(
                    body=prev.body.with_changes(body=[*prev.body.body, *stmt.body.body])
                )
                changed = True
                continue
            body.append(stmt)
        return updated_node.with_changes(body=body) if changed else updated_node


RULE = RunRegisterRule


def _calls_in(node: cst.CSTNode) -> list[cst.Call]:
    found: list[cst.Call] = []

    class _Calls(cst.CSTVisitor):
        def visit_Call(self, call: cst.Call) -> None:
            found.append(call)

    node.visit(_Calls())
    return found
