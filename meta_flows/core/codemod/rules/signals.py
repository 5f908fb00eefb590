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
  ``return Completed(message="skipped: msg")`` + TODO: Prefect 2 has no skip propagation (H).
- ``ENDRUN``, ``PAUSE``, ``LOOP``, ``SUCCESS``/``SKIP`` outside a task, and any other use of a
  signal the rule cannot map: the statement is commented out under a TODO saying what to write
  instead (``pause_flow_run()``, a ``while`` loop, a Prefect 2 state) (H).

The output never references ``prefect.engine.signals`` except in commented-out code.
"""

from __future__ import annotations

import libcst as cst
from libcst.metadata import ParentNodeProvider

from meta_flows.core.codemod.base import Rule, get_arg

FAIL_FAMILY = frozenset({"FAIL", "TRIGGERFAIL", "VALIDATIONFAIL"})
_SIGNAL_MODULES = ("prefect.engine.signals.", "prefect.signals.")

_H_MESSAGES = {
    "ENDRUN": "signals.ENDRUN(state) has no Prefect 2 equivalent: return a Prefect 2 state "
    "(prefect.states.Completed/Failed/Cancelled) from the task instead; P1 state objects differ",
    "PAUSE": "signals.PAUSE: call prefect.pause_flow_run() in the flow before this task instead",
    "LOOP": "signals.LOOP: rewrite the task body as a while loop carrying the loop result "
    "(prefect.context task_loop_result does not exist in Prefect 2)",
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


def completed_return(message: cst.BaseExpression | None) -> cst.Return:
    args = [] if message is None else [cst.Arg(message, keyword=cst.Name("message"), equal=_EQ)]
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

    def visit_FunctionDef(self, node: cst.FunctionDef) -> None:
        self._functions.append(self._task_info(node))

    def leave_FunctionDef(self, original_node, updated_node):
        self._functions.pop()
        return updated_node

    def visit_Lambda(self, node: cst.Lambda) -> None:
        self._functions.append((False, False))

    def leave_Lambda(self, original_node, updated_node):
        self._functions.pop()
        return updated_node

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
            if kind == "SKIP":
                self.add_todo(
                    "signals.SKIP became a Completed state: Prefect 2 has no Skipped state and "
                    "downstream tasks still run; guard them if they relied on skip propagation"
                )
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
            if kind == "SKIP":
                message = skipped_message(message)
            extra = [
                a.keyword.value
                for a in (call.args if call else ())
                if a.keyword is not None and a.keyword.value != "message"
            ]
            if extra:
                self.add_todo(f"signals.{kind}: {', '.join(extra)}= not carried over")
            self.add_import("prefect.states", "Completed")
            return completed_return(message)
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
