"""PF009 triggers: Prefect 1 task triggers become explicit state handling (docs/spec.md §8).

``@task(trigger=X)`` loses the option (Prefect 2's ``task()`` has none); each call site inside a
``@flow`` function gets the behaviour back where the rule can prove the shape::

    a = extract()                            a = extract(return_state=True)
    b = load()                               b = load(return_state=True)
    cleanup(a, upstream_tasks=[b])    ->     cleanup(allow_failure(a), wait_for=[allow_failure(b)])

- ``all_successful`` (the default): the option is dropped (A).
- ``all_finished`` / ``always_run``: as above (C): the upstream calls return their states and the
  task runs unconditionally (a failed upstream's argument is its exception, as in Prefect 1).
  Several trigger tasks may share an upstream. The upstream failure is *not* re-raised: a Prefect
  1 flow's state comes from its reference tasks, by default the terminal ones, and an upstream of
  a trigger task is never terminal, so Prefect 1.4.1 ends such a run Success ("All reference
  tasks succeeded") when the cleanup succeeds -- and so does the Prefect 2 flow, which holds the
  failed state without raising it. (docs/spec.md §8 says to re-raise; that only holds for a
  flow with explicit reference tasks, which PF002 flags.)
- ``any_failed`` / ``all_failed`` / ``any_successful``: the same, with the call guarded by
  ``if any(s.is_failed() for s in (a, b)):`` (``all(...)``, ``is_completed()``) (C); a result
  assigned to a name is only allowed when nothing else reads it. Not reproduced: when the guard
  is false Prefect 1 ended the task TriggerFailed, which failed the flow if it was terminal.
- ``not_all_skipped``: Prefect 2 has no skips: behaves like the default; dropped (C).
- ``manual_only``, ``some_failed(...)``/``some_successful(...)``, custom triggers: H (TODO).
- Call sites the rule cannot prove (upstream not a task call in the same flow body, upstream result
  used elsewhere, calls inside loops/branches, ``.map``): the code is kept and a TODO states the
  semantics to restore.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import libcst as cst
from libcst.metadata import ParentNodeProvider, QualifiedNameProvider

from meta_flows.core.codemod.base import SCRATCH_TRIGGERED, Rule, get_arg, with_todo

TRIGGERS_MODULE = "prefect.triggers."
ALWAYS = frozenset({"all_finished", "always_run"})
GUARDS = {
    "any_failed": ("any", "is_failed"),
    "all_failed": ("all", "is_failed"),
    "any_successful": ("any", "is_completed"),
}
DROP = frozenset({"all_successful", "not_all_skipped"})
TERMINAL_COMMENT = "# like Prefect 1, the run is judged by its terminal tasks, not the failure handled above (PF009)"
_EQ = cst.AssignEqual(
    whitespace_before=cst.SimpleWhitespace(""), whitespace_after=cst.SimpleWhitespace("")
)


@dataclass
class TriggerTask:
    name: str  # the @task function
    trigger: str  # short trigger name, or "" when unknown/custom
    call_sites: int = 0
    problems: list[str] = field(default_factory=list)


def semantics(trigger: str) -> str:
    if trigger in ALWAYS:
        return "it ran even when upstream tasks failed"
    if trigger in GUARDS:
        how, check = GUARDS[trigger]
        what = "failed" if check == "is_failed" else "succeeded"
        return f"it ran only when {how} of its upstream tasks {what}"
    return f"it ran according to trigger {trigger}"


def call_with(call: cst.Call, extra: cst.Arg) -> cst.Call:
    """``call`` with one more keyword argument at the end."""
    args = list(call.args)
    if args and args[-1].comma is cst.MaybeSentinel.DEFAULT:
        args[-1] = args[-1].with_changes(
            comma=cst.Comma(whitespace_after=cst.SimpleWhitespace(" "))
        )
    return call.with_changes(args=[*args, extra])


def allow(expr: cst.BaseExpression) -> cst.Call:
    return cst.Call(func=cst.Name("allow_failure"), args=[cst.Arg(expr)])


def guard(trigger: str, names: list[str], body: cst.BaseStatement) -> cst.If:
    how, check = GUARDS[trigger]
    test = cst.parse_expression(f"{how}(s.{check}() for s in ({', '.join(names)},))")
    return cst.If(test=test, body=cst.IndentedBlock(body=[body.with_changes(leading_lines=[])]))


class TriggersRule(Rule):
    """Task triggers become explicit state checks (§8)."""

    CODE = "PF009"
    NAME = "triggers"
    DESCRIPTION = "task triggers become explicit state checks (§8)"
    TRIGGERS = ("trigger",)

    def __init__(self, context) -> None:
        super().__init__(context)
        self._tasks: dict[str, TriggerTask] = {}  # module-level @task name -> trigger
        self._module_tasks: set[str] = set()  # every module-level @task function
        self._stripped: set[int] = set()  # ids of decorator calls that lost trigger=
        self._flow_depth = 0
        self._state_defs: set[int] = set()  # ids of upstream statements given return_state=True
        self._made: set[int] = set()  # ids of trigger call statements this rule wrote

    # ------------------------------------------------------------------ discovery

    def _trigger_of(self, value: cst.BaseExpression) -> str:
        """Short trigger name (``all_finished``) or ``""`` for calls/custom triggers."""
        name = self.prefect_name(value) if isinstance(value, (cst.Name, cst.Attribute)) else None
        if name and name.startswith(TRIGGERS_MODULE):
            return name[len(TRIGGERS_MODULE) :]
        return ""

    def visit_Module(self, node: cst.Module) -> bool:
        super().visit_Module(node)
        for stmt in node.body:
            if not isinstance(stmt, cst.FunctionDef):
                continue
            for dec in stmt.decorators:
                if not self.is_prefect(dec, "prefect.task"):
                    continue
                self._module_tasks.add(stmt.name.value)
                call = dec.decorator
                arg = get_arg(call, "trigger") if isinstance(call, cst.Call) else None
                if arg is not None:
                    trig = self._trigger_of(arg.value)
                    self._tasks[stmt.name.value] = TriggerTask(stmt.name.value, trig)
                    if trig not in DROP:
                        triggered = self.context.scratch.setdefault(SCRATCH_TRIGGERED, set())
                        triggered.add(stmt.name.value)
        # Count the call sites the rule rewrites, so a definition (which may come before the
        # flow) only gets a TODO when no call site in this module carries the semantics.
        for stmt in node.body:
            if isinstance(stmt, cst.FunctionDef) and isinstance(stmt.body, cst.IndentedBlock):
                if any(self.is_prefect(d, "prefect.flow") for d in stmt.decorators):
                    for inner in stmt.body.body:
                        call = self._trigger_call(inner)
                        if call is not None:
                            self._tasks[call.func.value].call_sites += 1
        return True

    def _is_prefect_trigger(self, value: cst.BaseExpression) -> bool:
        target = value.func if isinstance(value, cst.Call) else value
        return self.resolves_under(target, "prefect.triggers")

    # ------------------------------------------------------------------ option removal

    def leave_Call(self, original_node, updated_node):
        arg = get_arg(original_node, "trigger")
        if arg is None or not self._is_prefect_trigger(arg.value):
            return updated_node
        trig = self._trigger_of(arg.value)
        if trig == "manual_only":
            self.add_todo(
                "trigger=manual_only removed: call prefect.pause_flow_run() in the flow before "
                "this task so a human approves the run"
            )
        elif trig not in DROP | ALWAYS | set(GUARDS):
            code = self.code_for(arg.value)
            self.add_todo(
                f"trigger={code} removed (no Prefect 2 equivalent): call the upstream tasks with "
                f"return_state=True and only call this task when their states match the trigger"
            )
        args = [a for a in updated_node.args if not (a.keyword and a.keyword.value == "trigger")]
        if args:
            args[-1] = args[-1].with_changes(comma=cst.MaybeSentinel.DEFAULT)
        self.mark_applied()
        self._stripped.add(id(original_node))
        return updated_node.with_changes(args=args)

    def leave_Decorator(self, original_node, updated_node):
        dec = updated_node.decorator
        if (
            id(original_node.decorator) in self._stripped
            and isinstance(dec, cst.Call)
            and not dec.args
        ):
            return updated_node.with_changes(decorator=dec.func)
        return updated_node

    def leave_FunctionDef(self, original_node, updated_node):
        info = self._tasks.get(original_node.name.value)
        if (
            info is not None
            and info.trigger in ALWAYS | set(GUARDS)
            and info.call_sites == 0
            and self._is_module_level(original_node)
        ):
            return with_todo(
                updated_node,
                self.CODE,
                f"trigger={info.trigger} removed: {semantics(info.trigger)}; at each call site "
                f"call the upstream tasks with return_state=True and pass them as "
                f"allow_failure(...) (see docs/spec.md §8)",
            )
        return updated_node

    def _is_module_level(self, node: cst.CSTNode) -> bool:
        parent = self.get_metadata(ParentNodeProvider, node, None)
        return isinstance(parent, cst.Module)

    # ------------------------------------------------------------------ call sites

    def _trigger_call(self, stmt: cst.CSTNode) -> cst.Call | None:
        """The call of ``T(...)`` / ``x = T(...)`` where T is a module task with a trigger."""
        if not isinstance(stmt, cst.SimpleStatementLine) or len(stmt.body) != 1:
            return None
        small = stmt.body[0]
        call = small.value if isinstance(small, (cst.Expr, cst.Assign, cst.Return)) else None
        if not isinstance(call, cst.Call) or not isinstance(call.func, cst.Name):
            return None
        info = self._tasks.get(call.func.value)
        if info is None or info.trigger not in ALWAYS | set(GUARDS):
            return None
        if not self._is_module_name(call.func):
            return None
        if info.trigger in GUARDS and not isinstance(small, (cst.Expr, cst.Assign)):
            return None
        return call

    def _is_module_name(self, name: cst.Name) -> bool:
        try:
            qnames = self.get_metadata(QualifiedNameProvider, name, set())
        except KeyError:
            return False
        return any(q.name == name.value for q in qnames)

    def visit_Call(self, node: cst.Call) -> None:
        # Trigger tasks called anywhere but as a top-level statement of a flow: TODO.
        if not isinstance(node.func, cst.Name):
            return
        info = self._tasks.get(node.func.value)
        if info is None or info.trigger not in ALWAYS | set(GUARDS):
            return
        if not self._is_module_name(node.func) or not self._statement_stack:
            return
        stmt = self._statement_stack[-1]
        parent_fn = self._enclosing_function(stmt)
        if (
            parent_fn is not None
            and any(self.is_prefect(d, "prefect.flow") for d in parent_fn.decorators)
            and self._trigger_call(stmt) is node
            and stmt in parent_fn.body.body
        ):
            return  # handled when the flow is left
        if parent_fn is not None and any(
            self.is_prefect(d, "prefect.flow") for d in parent_fn.decorators
        ):
            self.add_todo(self._fallback_message(info))

    def _enclosing_function(self, node: cst.CSTNode) -> cst.FunctionDef | None:
        parent = self.get_metadata(ParentNodeProvider, node, None)
        while parent is not None and not isinstance(parent, cst.FunctionDef):
            parent = self.get_metadata(ParentNodeProvider, parent, None)
        return parent

    def _fallback_message(self, info: TriggerTask) -> str:
        return (
            f"{info.name} had trigger={info.trigger} in Prefect 1 ({semantics(info.trigger)}): "
            f"call its upstream tasks with return_state=True, pass them as allow_failure(...) / "
            f"wait_for=[allow_failure(...)] and call it (guarded when the trigger needs it)"
        )

    def leave_IndentedBlock(self, original_node, updated_node):
        parent = self.get_metadata(ParentNodeProvider, original_node, None)
        if not isinstance(parent, cst.FunctionDef) or not any(
            self.is_prefect(d, "prefect.flow") for d in parent.decorators
        ):
            return updated_node
        body = list(updated_node.body)
        originals = list(original_node.body)
        changed = rewritten = False
        i = 0
        while i < len(body):
            orig = originals[i] if i < len(originals) else None
            call = self._trigger_call(orig) if orig is not None else None
            if call is None:
                i += 1
                continue
            info = self._tasks[call.func.value]
            result = self._rewrite_site(body, originals, i, info)
            if result is None:
                body[i] = with_todo(body[i], self.CODE, self._fallback_message(info))
                i += 1
            else:
                body, originals, i = result
                rewritten = True
            changed = True
        if not changed:
            return updated_node
        if rewritten:
            body = self._judge_by_terminal_tasks(body)
        self.mark_applied()
        return updated_node.with_changes(body=body)

    def _judge_by_terminal_tasks(self, body: list[cst.BaseStatement]) -> list:
        """End the flow with a ``Completed`` state when it has no return of its own.

        A flow returning None is judged by *every* task run in Prefect 2, so the upstream failure
        the trigger task handled would fail it; Prefect 1 judged it by its terminal tasks, which
        raise here when they fail. Futures (``.map``/``.submit``) could fail without raising, so
        such flows keep Prefect 2's rule, with a TODO.
        """
        last = body[-1] if body else None
        if (
            isinstance(last, cst.SimpleStatementLine)
            and isinstance(last.body[-1], (cst.Return, cst.Raise))
        ) or not body:
            return body
        if any(_has_future_call(stmt) for stmt in body):
            body[-1] = with_todo(
                body[-1],
                self.CODE,
                "Prefect 1 judged this run by its terminal tasks only, so the upstream failure a "
                "trigger task handled did not fail it; Prefect 2 fails a flow returning None when "
                "any task run failed: return the terminal tasks' results to keep Prefect 1's state",
            )
            return body
        self.add_import("prefect.states", "Completed")
        ret = cst.SimpleStatementLine(
            body=[
                cst.Return(
                    cst.parse_expression('Completed(message="All reference tasks succeeded.")')
                )
            ],
            leading_lines=[cst.EmptyLine(comment=cst.Comment(TERMINAL_COMMENT))],
        )
        return [*body, ret]

    def _rewrite_site(self, body, originals, i, info: TriggerTask):
        stmt = body[i]
        small = stmt.body[0]
        call: cst.Call = small.value
        upstream: list[str] = []
        waits: set[str] = set()
        for arg in call.args:
            if arg.keyword is not None and arg.keyword.value in ("upstream_tasks", "wait_for"):
                if not isinstance(arg.value, (cst.List, cst.Tuple)):
                    return None
                for el in arg.value.elements:
                    if not isinstance(el.value, cst.Name):
                        return None
                    upstream.append(el.value.value)
                    waits.add(el.value.value)
            elif arg.star:
                return None
            elif isinstance(arg.value, cst.Name) and self._assigned_before(
                body, i, arg.value.value
            ):
                upstream.append(arg.value.value)
        if not upstream:
            return None
        if info.trigger in GUARDS and isinstance(small, cst.Assign):
            # guarded ``x = alert(...)``: only when nothing else reads ``x``
            targets = small.targets
            if len(targets) != 1 or not isinstance(targets[0].target, cst.Name):
                return None
            target = targets[0].target.value
            if any(_count_name(other, target) for k, other in enumerate(body) if k != i):
                return None
        upstream = list(dict.fromkeys(upstream))
        defs: dict[str, int] = {}
        kept: list[str] = []  # data arguments read elsewhere too: they stay values
        for name in upstream:
            k = self._upstream_def(body, originals, i, name)
            if k is not None:
                defs[name] = k
            elif name in waits or not self._assigned_before(body, i, name):
                return None
            else:
                kept.append(name)
        if not defs:
            return None
        upstream = [name for name in upstream if name in defs]
        # rewrite the upstream calls (once: another trigger task may share them)
        body = list(body)
        for k in defs.values():
            if id(body[k]) in self._state_defs:
                continue
            assign = body[k].body[0]
            new_call = call_with(
                assign.value, cst.Arg(cst.Name("True"), keyword=cst.Name("return_state"), equal=_EQ)
            )
            body[k] = body[k].with_changes(body=[assign.with_changes(value=new_call)])
            self._state_defs.add(self.new_node_id(body[k]))
        # rewrite the trigger call's arguments
        args = []
        for arg in call.args:
            if arg.keyword is not None and arg.keyword.value in ("upstream_tasks", "wait_for"):
                elements = [el.with_changes(value=allow(el.value)) for el in arg.value.elements]
                args.append(
                    arg.with_changes(
                        keyword=cst.Name("wait_for"),
                        value=arg.value.with_changes(elements=elements),
                    )
                )
            elif isinstance(arg.value, cst.Name) and arg.value.value in defs:
                args.append(arg.with_changes(value=allow(arg.value)))
            else:
                args.append(arg)
        new_call = call.with_changes(args=args)
        tail: list[cst.BaseStatement] = []
        if isinstance(small, cst.Return):  # ``return cleanup(a)``: re-raise before returning
            var = cst.Name(f"{info.name}_result")
            new_small = cst.Assign(targets=[cst.AssignTarget(var)], value=new_call)
            tail = [cst.SimpleStatementLine(body=[small.with_changes(value=var)])]
        else:
            new_small = small.with_changes(value=new_call)
        new_stmt = stmt.with_changes(body=[new_small])
        if info.trigger in GUARDS:
            new_stmt = guard(info.trigger, upstream, new_stmt).with_changes(
                leading_lines=stmt.leading_lines
            )
        if kept:
            names = ", ".join(f"`{name}`" for name in kept)
            new_stmt = with_todo(
                new_stmt,
                self.CODE,
                f"{info.name} (trigger={info.trigger}) still runs after failures of its other "
                f"upstream tasks, but not when the task producing {names} fails: Prefect 1 ran "
                f"it then too, Prefect 2 stops at that call; if that path matters, call it with "
                f"return_state=True and pass its state here",
            )
        self._made.add(self.new_node_id(new_stmt))
        self.add_import("prefect", "allow_failure")
        new = [new_stmt, *tail]
        body[i : i + 1] = new
        originals = [*originals[:i], *([None] * len(new)), *originals[i + 1 :]]
        return body, originals, i + len(new)

    def _other_trigger_site(self, orig) -> bool:
        """A statement (original) that is itself a trigger-task call this rule rewrites."""
        return orig is not None and self._trigger_call(orig) is not None

    @staticmethod
    def _assigned_before(body, i: int, name: str) -> bool:
        for stmt in body[:i]:
            if isinstance(stmt, cst.SimpleStatementLine):
                for small in stmt.body:
                    if isinstance(small, cst.Assign) and any(
                        isinstance(t.target, cst.Name) and t.target.value == name
                        for t in small.targets
                    ):
                        return True
        return False

    def _upstream_def(self, body, originals, i: int, name: str) -> int | None:
        """Index of ``name = task(...)`` before ``i``, when ``name`` is used nowhere else
        (but in other trigger-task calls, rewritten or still to rewrite)."""
        found = []
        for k, stmt in enumerate(body):
            uses = _count_name(stmt, name)
            if k == i:
                continue
            if uses == 0:
                continue
            if id(stmt) in self._made or (
                k > i and k < len(originals) and self._other_trigger_site(originals[k])
            ):
                continue
            if k > i or found:
                return None
            small = stmt.body[0] if isinstance(stmt, cst.SimpleStatementLine) else None
            if (
                not isinstance(small, cst.Assign)
                or len(stmt.body) != 1
                or len(small.targets) != 1
                or not isinstance(small.targets[0].target, cst.Name)
                or small.targets[0].target.value != name
                or uses != 1
                or not isinstance(small.value, cst.Call)
                or not isinstance(small.value.func, cst.Name)
                or small.value.func.value not in self._module_tasks
                or (
                    get_arg(small.value, "return_state") is not None
                    and id(stmt) not in self._state_defs
                )
            ):
                return None
            found.append(k)
        return found[0] if found else None

    def leave_Module(self, original_node, updated_node):
        for name in (*ALWAYS, *GUARDS, *DROP, "manual_only", "some_failed", "some_successful"):
            self.remove_import_if_unused("prefect.triggers", name)
        self.remove_import_if_unused("prefect", "triggers")
        return updated_node


def _has_future_call(node: cst.CSTNode) -> bool:
    found = False

    class V(cst.CSTVisitor):
        def visit_Call(self, n: cst.Call) -> None:
            nonlocal found
            if isinstance(n.func, cst.Attribute) and n.func.attr.value in ("map", "submit"):
                found = True

    node.visit(V())
    return found


def _count_name(node: cst.CSTNode, name: str) -> int:
    count = 0

    class V(cst.CSTVisitor):
        def visit_Name(self, n: cst.Name) -> None:
            nonlocal count
            if n.value == name:
                count += 1

    node.visit(V())
    return count


RULE = TriggersRule
