"""PF011 signals: Prefect 1 signals become exceptions and states (docs/spec.md §10).

Before::

    @task
    def check(rows):
        if not rows:
            raise signals.FAIL("no rows")
        if len(rows) > 100:
            raise signals.SUCCESS("too many to check")
        return rows

After::

    @task
    def check(rows):
        if not rows:
            raise RuntimeError("no rows")
        if len(rows) > 100:
            return Completed(message="too many to check")
        return rows

- ``raise signals.FAIL("msg")`` (and ``TRIGGERFAIL``/``VALIDATIONFAIL``, any import form) ->
  ``raise RuntimeError("msg")`` (A); ``except signals.FAIL`` / ``isinstance(e, signals.FAIL)`` ->
  ``RuntimeError`` with a TODO, as it now also matches other RuntimeErrors (C).
- ``raise signals.RETRY("msg")`` -> ``raise RuntimeError("msg")``, plus a TODO to configure
  ``retries=`` when the task has none (C).
- ``raise signals.SUCCESS("msg")`` directly inside a ``@task`` -> ``return Completed(message="msg")``
  (``from prefect.states import Completed``) (C).
- ``raise signals.SKIP("msg")`` directly inside a ``@task`` ->
  ``return Completed(message="skipped: msg", name="Skipped")``, and the ``@flow`` functions of the
  module run what depended on the task's result only when it did not skip (spec §10.1,
  ``analysis/skips.py``): ``x = t(...)`` becomes ``x_state = t(..., return_state=True)`` and
  ``x = x_state.result()``, and each run of statements reading ``x`` (or names assigned from it)
  goes under ``if x_state.name != "Skipped":`` (C). When that cannot be proven (the task is used
  otherwise, imported by another module, or its result read in a compound statement), ONE TODO
  on the ``raise`` names the calls Prefect 1 would have skipped and their lines (H).
- ``ENDRUN``, ``PAUSE``, ``LOOP``, ``SUCCESS``/``SKIP`` outside a task, and any other use of a
  signal the rule cannot map: the statement is commented out under a TODO saying what to write
  instead (``pause_flow_run()``, a ``while`` loop, a Prefect 2 state) (H).

The output never references ``prefect.engine.signals`` except in commented-out code.
"""

from __future__ import annotations

import libcst as cst
from libcst.metadata import ParentNodeProvider

from meta_flows.core.codemod.analysis.skips import SKIPPED_NAME, SkipAnalysis, analyse
from meta_flows.core.codemod.base import INFO_PREFIX, Rule, get_arg
from meta_flows.core.codemod.stubs import lines_of

FAIL_FAMILY = frozenset({"FAIL", "TRIGGERFAIL", "VALIDATIONFAIL"})
_SIGNAL_MODULES = ("prefect.engine.signals.", "prefect.signals.")

_H_MESSAGES = {
    "ENDRUN": "signals.ENDRUN(state) has no Prefect 2 equivalent: return a Prefect 2 state "
    "(prefect.states.Completed/Failed/Cancelled) from the task instead; P1 state objects differ",
    "PAUSE": "signals.PAUSE: call prefect.pause_flow_run() in the flow before this task instead",
    "LOOP": "signals.LOOP: rewrite the task body as a while loop carrying the loop result "
    "(Prefect 2 has no LOOP: the task runs once, and its reads of the Prefect 1 context's "
    "task_loop_result / task_loop_count give their first run's values, the defaults)",
}


def signal_name(qualified: str | None) -> str | None:
    """``FAIL`` for ``prefect.engine.signals.FAIL`` or ``prefect.signals.FAIL``, else None."""
    if not qualified:
        return None
    for prefix in _SIGNAL_MODULES:
        if qualified.startswith(prefix):
            rest = qualified[len(prefix) :]
            return rest if rest and "." not in rest else None
    return None


def message_arg(call: cst.Call | None) -> cst.BaseExpression | None:
    """The message of a signal constructor call (first positional or ``message=``)."""
    if call is None:
        return None
    arg = get_arg(call, "message", 0)
    return arg.value if arg is not None else None


def skipped_message(message: cst.BaseExpression | None) -> cst.BaseExpression:
    """``"skipped: <msg>"`` built from the original message expression."""
    if message is None:
        return cst.SimpleString('"skipped"')
    if isinstance(message, cst.SimpleString):
        value = message.value
        quote_at = min(i for i in (value.find('"'), value.find("'")) if i >= 0)
        prefix = value[:quote_at]
        if "b" not in prefix.lower():
            quote = value[quote_at : quote_at + 3]
            if quote not in ('"""', "'''"):
                quote = value[quote_at]
            start = quote_at + len(quote)
            return message.with_changes(value=value[:start] + "skipped: " + value[start:])
    if isinstance(message, cst.FormattedString):
        return message.with_changes(parts=[cst.FormattedStringText("skipped: "), *message.parts])
    return cst.BinaryOperation(
        left=cst.SimpleString('"skipped: "'),
        operator=cst.Add(),
        right=cst.Call(func=cst.Name("str"), args=[cst.Arg(message)]),
    )


def completed_return(message: cst.BaseExpression | None, name: str | None = None) -> cst.Return:
    args = [] if message is None else [cst.Arg(message, keyword=cst.Name("message"), equal=_EQ)]
    if name is not None:
        if args:
            args[-1] = args[-1].with_changes(
                comma=cst.Comma(whitespace_after=cst.SimpleWhitespace(" "))
            )
        args.append(cst.Arg(cst.SimpleString(f'"{name}"'), keyword=cst.Name("name"), equal=_EQ))
    return cst.Return(value=cst.Call(func=cst.Name("Completed"), args=args))


_EQ = cst.AssignEqual(
    whitespace_before=cst.SimpleWhitespace(""), whitespace_after=cst.SimpleWhitespace("")
)


def runtime_error_args(call: cst.Call) -> tuple[list[cst.Arg], list[str]]:
    """Arguments for ``RuntimeError``: the message positional; other keywords are dropped."""
    args: list[cst.Arg] = []
    dropped: list[str] = []
    for arg in call.args:
        if arg.keyword is None:
            args.append(arg)
        elif arg.keyword.value == "message":
            args.insert(0, arg.with_changes(keyword=None, equal=cst.MaybeSentinel.DEFAULT))
        else:
            dropped.append(arg.keyword.value)
    if args:
        args[-1] = args[-1].with_changes(comma=cst.MaybeSentinel.DEFAULT)
    return args, dropped


class SignalsRule(Rule):
    """Signals become exceptions and states (§10)."""

    CODE = "PF011"
    NAME = "signals"
    DESCRIPTION = "signals become exceptions and states (§10)"
    TRIGGERS = ("signals", "FAIL", "SUCCESS", "SKIP", "ENDRUN", "RETRY", "LOOP", "PAUSE")

    def __init__(self, context) -> None:
        super().__init__(context)
        # (is a @task function, has retries configured) for each enclosing function/lambda.
        self._functions: list[tuple[bool, bool]] = []
        self._names: list[str] = []  # the enclosing functions' names ("" for a lambda)
        self._skips = SkipAnalysis()
        self._comment_out: dict[int, str] = {}
        self._handled_raise_exc: set[int] = set()
        self._changed = False

    # ------------------------------------------------------------------ helpers

    def _signal(self, node: cst.CSTNode | None) -> str | None:
        if isinstance(node, cst.Call):
            node = node.func
        if not isinstance(node, (cst.Name, cst.Attribute)):
            return None
        return signal_name(self.prefect_name(node))

    def _mark_comment_out(self, message: str) -> None:
        if self._statement_stack:
            self._comment_out.setdefault(id(self._statement_stack[-1]), message)

    def _task_info(self, node: cst.FunctionDef) -> tuple[bool, bool]:
        for dec in node.decorators:
            if self.is_prefect(dec, "prefect.task"):
                call = dec.decorator
                retries = isinstance(call, cst.Call) and any(
                    a.keyword is not None and a.keyword.value in ("retries", "max_retries")
                    for a in call.args
                )
                return True, retries
        return False, False

    # ------------------------------------------------------------------ visiting

    def visit_Import(self, node: cst.Import) -> bool:
        return False

    def visit_ImportFrom(self, node: cst.ImportFrom) -> bool:
        return False

    def visit_Module(self, node: cst.Module) -> bool:
        super().visit_Module(node)
        if "SKIP" in self.code_for(node):
            self._skips = analyse(self, node, lambda r: self._signal(r.exc) == "SKIP")
        return True

    def visit_FunctionDef(self, node: cst.FunctionDef) -> None:
        self._functions.append(self._task_info(node))
        self._names.append(node.name.value)

    def leave_FunctionDef(self, original_node, updated_node):
        self._functions.pop()
        self._names.pop()
        guards = self._skips.flows.get(id(original_node))
        if guards is not None and (guards.calls or guards.guards):
            updated_node = self._guard_flow(original_node, updated_node, guards)
        return updated_node

    def visit_Lambda(self, node: cst.Lambda) -> None:
        self._functions.append((False, False))
        self._names.append("")

    def leave_Lambda(self, original_node, updated_node):
        self._functions.pop()
        self._names.pop()
        return updated_node

    def _skip_todo(self, task: str) -> str:
        """The TODO on a SKIP whose downstream calls the rewrite could not guard."""
        lead = (
            f'signals.SKIP became a Completed state named "{SKIPPED_NAME}", but Prefect 2 runs '
            "what depends on this task anyway"
        )
        how = (
            "call the task with return_state=True and run those only when the state's name is "
            f'not "{SKIPPED_NAME}" (Prefect 1 skipped them and the flow run still succeeded)'
        )
        flows = self._skips.downstream.get(task)
        if not flows:
            return (
                f"{lead}: where a flow uses its result, {how}; Prefect 1 skipped every task "
                "downstream of it"
            )
        listed = "; ".join(
            f"in flow `{flow}`: "
            + ", ".join(f"`{name}` ({lines_of(name, flow)})" for name in names)
            for flow, names in flows
        )
        return f"{lead}. Prefect 1 skipped, when it skipped, {listed}: {how}"

    def _guard_flow(self, original: cst.FunctionDef, updated: cst.FunctionDef, guards):
        """The flow body with each skipping call's state kept and the calls downstream of it
        run only when it did not skip (contiguous statements with the same guard share one
        ``if``)."""
        body: list[cst.BaseStatement] = []
        run: list[cst.BaseStatement] = []
        run_key: tuple[str, ...] = ()

        def close() -> None:
            if not run:
                return
            blank = [line for line in run[0].leading_lines if line.comment is None]
            first = run[0].with_changes(
                leading_lines=[line for line in run[0].leading_lines if line.comment is not None]
            )
            tasks = ", ".join(dict.fromkeys(f"`{guards.tasks[s]}`" for s in run_key))
            test = " and ".join(f'{state}.name != "{SKIPPED_NAME}"' for state in run_key)
            guard = cst.parse_statement(f"if {test}:\n    pass\n")
            guard = guard.with_changes(
                body=guard.body.with_changes(body=[first, *run[1:]]),
                leading_lines=[
                    *blank,
                    cst.EmptyLine(
                        indent=True,
                        comment=cst.Comment(
                            f"{INFO_PREFIX} Prefect 1 skipped these calls when {tasks} raised SKIP"
                        ),
                    ),
                ],
            )
            body.append(guard)
            run.clear()

        for old, new in zip(original.body.body, updated.body.body, strict=True):
            key = guards.guards.get(id(old), ())
            if key != run_key:
                close()
                run_key = key
            made = [new]
            if id(old) in guards.calls:
                made = self._keep_state(new, *guards.calls[id(old)])
            (run if key else body).extend(made)
        close()
        self._changed = True
        return updated.with_changes(body=updated.body.with_changes(body=body))

    @staticmethod
    def _keep_state(stmt: cst.SimpleStatementLine, target: str, state: str) -> list:
        """``x = t(...)`` -> ``x_state = t(..., return_state=True)`` and ``x = x_state.result()``."""
        assign = stmt.body[0]
        call = assign.value
        args = list(call.args)
        if args:
            args[-1] = args[-1].with_changes(
                comma=cst.Comma(whitespace_after=cst.SimpleWhitespace(" "))
            )
        args.append(cst.Arg(cst.Name("True"), keyword=cst.Name("return_state"), equal=_EQ))
        first = stmt.with_changes(
            body=[
                assign.with_changes(
                    targets=[cst.AssignTarget(target=cst.Name(state))],
                    value=call.with_changes(args=args),
                )
            ]
        )
        second = cst.parse_statement(f"{target} = {state}.result()\n")
        return [first, second]

    def visit_Raise(self, node: cst.Raise) -> None:
        kind = self._signal(node.exc)
        if kind is None:
            return
        in_task = bool(self._functions) and self._functions[-1][0]
        if kind in FAIL_FAMILY or kind == "RETRY":
            self._handled_raise_exc.add(id(node.exc))
            if kind == "RETRY" and not (in_task and self._functions[-1][1]):
                self.add_todo(
                    "signals.RETRY became RuntimeError: configure retries= (and "
                    "retry_delay_seconds=) on the task so Prefect 2 retries it"
                )
        elif kind in ("SUCCESS", "SKIP") and in_task:
            self._handled_raise_exc.add(id(node.exc))
            task = self._names[-1] if self._names else ""
            if kind == "SKIP" and task not in self._skips.guarded:
                self.add_todo(self._skip_todo(task))
        elif kind in _H_MESSAGES:
            self._mark_comment_out(_H_MESSAGES[kind])
        elif kind in ("SUCCESS", "SKIP"):
            self._mark_comment_out(
                f"signals.{kind} raised outside a @task function: return "
                f"prefect.states.Completed(message=...) from the task instead"
            )
        else:
            self._mark_comment_out(f"signals.{kind} has no Prefect 2 equivalent")

    def visit_Attribute(self, node: cst.Attribute) -> bool:
        return self._visit_reference(node)

    def visit_Name(self, node: cst.Name) -> bool:
        return self._visit_reference(node)

    def _visit_reference(self, node: cst.Name | cst.Attribute) -> bool:
        kind = signal_name(self.prefect_name(node))
        if kind is None:
            return True
        if kind in FAIL_FAMILY or kind == "RETRY":
            if not self._is_raise_exc(node):
                self.add_todo(
                    f"signals.{kind} became RuntimeError here (as the rewritten raises): "
                    f"this now also matches other RuntimeErrors"
                )
        elif not self._is_raise_exc(node):
            self._mark_comment_out(
                f"signals.{kind} does not exist in Prefect 2: rewrite this without it"
            )
        return False

    def _is_raise_exc(self, node: cst.CSTNode) -> bool:
        parent = self.get_metadata(ParentNodeProvider, node, None)
        if isinstance(parent, cst.Call) and parent.func is node:
            parent = self.get_metadata(ParentNodeProvider, parent, None)
        return isinstance(parent, cst.Raise)

    # ------------------------------------------------------------------ rewriting

    def leave_Name(self, original_node, updated_node):
        return self._replace_reference(original_node, updated_node)

    def leave_Attribute(self, original_node, updated_node):
        return self._replace_reference(original_node, updated_node)

    def _replace_reference(self, original_node, updated_node):
        kind = signal_name(self.prefect_name(original_node))
        if kind in FAIL_FAMILY or kind == "RETRY":
            self._changed = True
            return cst.Name("RuntimeError")
        return updated_node

    def leave_Raise(self, original_node, updated_node):
        if id(original_node.exc) not in self._handled_raise_exc:
            return updated_node
        kind = self._signal(original_node.exc)
        self._changed = True
        if kind in ("SUCCESS", "SKIP"):
            call = original_node.exc if isinstance(original_node.exc, cst.Call) else None
            message = message_arg(call)
            name = None
            if kind == "SKIP":
                message, name = skipped_message(message), SKIPPED_NAME
            extra = [
                a.keyword.value
                for a in (call.args if call else ())
                if a.keyword is not None and a.keyword.value != "message"
            ]
            if extra:
                self.add_todo(f"signals.{kind}: {', '.join(extra)}= not carried over")
            self.add_import("prefect.states", "Completed")
            return completed_return(message, name)
        if isinstance(updated_node.exc, cst.Call):
            args, dropped = runtime_error_args(updated_node.exc)
            if dropped:
                self.add_todo(f"signals.{kind}: {', '.join(dropped)}= dropped (RuntimeError)")
            return updated_node.with_changes(exc=updated_node.exc.with_changes(args=args))
        return updated_node

    def on_leave(self, original_node, updated_node):  # type: ignore[override]
        message = self._comment_out.pop(id(original_node), None)
        if message is not None:
            updated_node = self.comment_out(updated_node, message)
            self._changed = True
        return super().on_leave(original_node, updated_node)

    def leave_Module(self, original_node, updated_node):
        if self._changed:
            self.mark_applied()
            for module, name in (
                ("prefect.engine", "signals"),
                ("prefect", "signals"),
                ("prefect.engine.signals", None),
                *(("prefect.engine.signals", n) for n in _ALL_SIGNALS),
            ):
                self.remove_import_if_unused(module, name)
        return updated_node


_ALL_SIGNALS = (
    "FAIL",
    "TRIGGERFAIL",
    "VALIDATIONFAIL",
    "SUCCESS",
    "SKIP",
    "RETRY",
    "LOOP",
    "PAUSE",
    "ENDRUN",
    "PrefectStateSignal",
)


RULE = SignalsRule
