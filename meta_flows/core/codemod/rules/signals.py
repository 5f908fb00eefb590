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
- ``raise signals.LOOP(message, result=x)`` directly in a ``@task`` function (spec §10.2): Prefect 1
  ran the task again at once, in the same task run, with ``x`` as the context's
  ``task_loop_result`` and the run's number (2, 3...) as ``task_loop_count`` (neither set in the
  first run), without limit; the task's result is that of the run that does not loop. The body
  runs in a ``while True:`` loop, the signal becomes ``Prefect1Loop``, a small class written once
  after the imports (a ``BaseException`` like Prefect 1's signals, so an ``except Exception`` in
  the body does not catch it; its ``result`` is the signal itself when none is given, as in
  Prefect 1), and the task's reads of the two keys (``.get(key[, d])``, ``[key]``, ``.key`` on
  ``prefect.context``, any import form; PF007 leaves them) read the loop's locals (C)::

      @task
      def pages():
          loop_count, loop_result = 1, None
          # prefect2-migration: Prefect 1's LOOP ran the task again: ...
          while True:
              try:
                  seen = loop_result if loop_count > 1 else []  # .get("task_loop_result", [])
                  seen = seen + fetch(len(seen))
                  if len(seen) < 10:
                      raise Prefect1Loop("more", result=seen)   # raise LOOP("more", result=seen)
                  return seen
              except Prefect1Loop as loop:
                  loop_count, loop_result = loop_count + 1, loop.result

  ``.get("task_loop_result", d)`` is ``loop_result`` alone when ``d`` is None or absent,
  ``.get("task_loop_count", 1)`` is ``loop_count``; a body that can end without ``return`` /
  ``raise`` gets ``else: break``; with no read, the handler is ``continue``. A task with
  ``retries`` that reads them resumes, on a retry, the iteration that failed with its loop count
  and result, as Prefect 1 did: ``except BaseException:`` stores them in
  ``Prefect1Loop.retried`` under the task run's id (``runtime.task_run.id``, the same across
  retries) and the loop starts from ``Prefect1Loop.retried.pop(runtime.task_run.id, (1, None))``. The locals avoid the
  names the function uses (``loop_count2``...). Other references to ``LOOP`` (``except LOOP``,
  ``isinstance``) name ``Prefect1Loop`` too (A). ONE TODO on the loop when the task has
  a timeout (Prefect 1's bounded each iteration), or reads a key by item or attribute inside a
  ``try`` (Prefect 1 raised there in the first iteration) (H). ``raise LOOP``
  elsewhere (a helper called by a task, a function nested in a task that does not raise it
  itself) becomes ``raise Prefect1Loop(...)`` under ONE TODO: it loops only when called from a
  looping task's body (H). Keywords other than ``message``/``result`` are dropped under a TODO.
- ``ENDRUN``, ``PAUSE``, ``SUCCESS``/``SKIP`` outside a task, and any other use of a signal the rule
  cannot map: the statement is commented out under a TODO saying what to write instead
  (``pause_flow_run()``, a Prefect 2 state) (H).

The output never references ``prefect.engine.signals`` except in commented-out code.
"""

from __future__ import annotations

from dataclasses import dataclass

import libcst as cst
from libcst.metadata import ParentNodeProvider

from meta_flows.core.codemod.analysis.scope import is_docstring
from meta_flows.core.codemod.analysis.skips import SKIPPED_NAME, SkipAnalysis, analyse
from meta_flows.core.codemod.base import (
    INFO_PREFIX,
    Rule,
    get_arg,
    insert_helper,
    literal_value,
    remove_p1_imports,
    todo_text,
    with_leading_comments,
)
from meta_flows.core.codemod.stubs import lines_of

FAIL_FAMILY = frozenset({"FAIL", "TRIGGERFAIL", "VALIDATIONFAIL"})
_SIGNAL_MODULES = ("prefect.engine.signals.", "prefect.signals.")

_H_MESSAGES = {
    "ENDRUN": "signals.ENDRUN(state) has no Prefect 2 equivalent: return a Prefect 2 state "
    "(prefect.states.Completed/Failed/Cancelled) from the task instead; P1 state objects differ",
    "PAUSE": "signals.PAUSE: call prefect.pause_flow_run() in the flow before this task instead",
}

# Prefect 1's LOOP signal (spec §10.2): the stand-in class, written once after the imports.
LOOP_CLASS = "Prefect1Loop"
LOOP_CLASS_CODE = f'''class {LOOP_CLASS}(BaseException):
    """Prefect 1's LOOP signal: the task that raises it runs its body again, in the same task run,
    with ``result`` as the loop result (the signal itself when none is given, as in Prefect 1).
    A BaseException like Prefect 1's signals: ``except Exception`` does not catch it.
    ``retried``: task run id -> the loop count and result of its iteration that failed, which its
    retry resumes (as Prefect 1's retries did)."""

    retried = {{}}

    def __init__(self, message=None, result=...):
        super().__init__(message)
        self.result = self if result is ... else result
'''
LOOP_KEYS = ("task_loop_result", "task_loop_count")
LOOP_INFO = f"{INFO_PREFIX} Prefect 1's LOOP ran the task again: raising {LOOP_CLASS} loops here"
LOOP_OUTSIDE = (
    f"signals.LOOP raised outside the body of a @task became {LOOP_CLASS}: it runs a task's body "
    f"again only when that task raises {LOOP_CLASS} in its own body (then its body loops on it); "
    "Prefect 1 ran any task again in which it was raised. Raise it in the task's body"
)


@dataclass
class _Loop:
    """A ``@task`` function whose own body raises ``LOOP``: its body loops (spec §10.2)."""

    count: str  # local names: the iteration number, the loop result, the caught signal
    result: str
    signal: str
    reads: bool = False  # the body reads task_loop_result / task_loop_count
    raising_reads: bool = False  # ... by item/attribute access inside a try statement
    tries: int = 0  # try statements around the node being visited


def is_task(rule: Rule, function: cst.FunctionDef) -> bool:
    return any(rule.is_prefect(dec, "prefect.task") for dec in function.decorators)


def raises_loop(rule: Rule, function: cst.FunctionDef) -> bool:
    """``function`` (not its nested functions and classes) raises Prefect 1's ``LOOP`` signal."""
    found = []

    class _Raises(cst.CSTVisitor):
        def visit_FunctionDef(self, node) -> bool:
            return False

        def visit_ClassDef(self, node) -> bool:
            return False

        def visit_Raise(self, node: cst.Raise) -> None:
            exc = node.exc.func if isinstance(node.exc, cst.Call) else node.exc
            if exc is not None and signal_name(rule.prefect_name(exc)) == "LOOP":
                found.append(node)

    function.body.visit(_Raises())
    return bool(found)


def loops_in_place(rule: Rule, function: cst.FunctionDef) -> bool:
    """``function`` is a ``@task`` whose own body raises ``LOOP``: PF011 makes its body loop and
    reads the loop keys of the Prefect 1 context from the loop's locals."""
    return is_task(rule, function) and raises_loop(rule, function)


def _names_in(node: cst.CSTNode) -> set[str]:
    names: set[str] = set()

    class _Names(cst.CSTVisitor):
        def visit_Name(self, name: cst.Name) -> None:
            names.add(name.value)

    node.visit(_Names())
    return names


def _free_name(base: str, taken: set[str]) -> str:
    name, n = base, 1
    while name in taken:
        n += 1
        name = f"{base}{n}"
    taken.add(name)
    return name


def _may_fall_through(body: list[cst.BaseStatement]) -> bool:
    """The block can end without ``return`` / ``raise`` (its last statement is neither)."""
    if not body or not isinstance(body[-1], cst.SimpleStatementLine):
        return True
    return not isinstance(body[-1].body[-1], (cst.Return, cst.Raise))


def _string(node: cst.BaseExpression | None) -> str | None:
    try:
        value = literal_value(node)
    except Exception:
        return None
    return value if isinstance(value, str) else None


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
        self._loops: list[_Loop | None] = []  # per enclosing def: its body loops on LOOP
        self._loop_reads: dict[int, tuple[str, str]] = {}  # read node id -> (key, form)
        self._loop_raise_args: dict[int, list[str]] = {}  # LOOP call id -> keywords dropped
        self._loop_used = False  # a reference became Prefect1Loop: write the class

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
        loop = None
        if loops_in_place(self, node):
            taken = _names_in(node) | {LOOP_CLASS}
            loop = _Loop(
                _free_name("loop_count", taken),
                _free_name("loop_result", taken),
                _free_name("loop", taken),
            )
        self._loops.append(loop)

    def leave_FunctionDef(self, original_node, updated_node):
        self._functions.pop()
        self._names.pop()
        loop = self._loops.pop()
        if loop is not None:
            updated_node = self._loop_body(original_node, updated_node, loop)
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
        elif kind == "LOOP":
            self._visit_loop_raise(node)
        elif kind in _H_MESSAGES:
            self._mark_comment_out(_H_MESSAGES[kind])
        elif kind in ("SUCCESS", "SKIP"):
            self._mark_comment_out(
                f"signals.{kind} raised outside a @task function: return "
                f"prefect.states.Completed(message=...) from the task instead"
            )
        else:
            self._mark_comment_out(f"signals.{kind} has no Prefect 2 equivalent")

    # ------------------------------------------------------------------ LOOP (§10.2)

    def _visit_loop_raise(self, node: cst.Raise) -> None:
        """``raise LOOP(...)``: the name becomes ``Prefect1Loop`` (``_replace_reference``);
        outside a looping task's body, under a TODO; keywords the class has not, dropped."""
        call = node.exc if isinstance(node.exc, cst.Call) else None
        if call is not None:
            positional = [a for a in call.args if a.keyword is None and not a.star]
            extra = [
                a.keyword.value if a.keyword is not None else self.code_for(a.value)
                for a in call.args
                if (a.keyword is not None and a.keyword.value not in ("message", "result"))
                or a.star
            ]
            extra += [self.code_for(a.value) for a in positional[2:]]
            if extra:
                self._loop_raise_args[id(call)] = extra
                self.add_todo(
                    f"signals.LOOP: {', '.join(extra)} not carried over ({LOOP_CLASS} takes "
                    "the message and the loop result)"
                )
        if not any(self._loops):
            self.add_todo(LOOP_OUTSIDE)

    def _loop_read(self, node: cst.CSTNode, form: str, key: str | None) -> None:
        """Plan a read of a loop key of the Prefect 1 context in a looping task's own body."""
        loop = self._loops[-1] if self._loops else None
        if loop is None or key not in LOOP_KEYS:
            return
        self._loop_reads[id(node)] = (key, form)
        loop.reads = True
        if form != "get" and loop.tries:
            loop.raising_reads = True

    def visit_Call(self, node: cst.Call) -> None:
        func = node.func
        if (
            isinstance(func, cst.Attribute)
            and func.attr.value == "get"
            and node.args
            and self.prefect_name(func.value) == "prefect.context"
        ):
            key = get_arg(node, "key", 0)
            self._loop_read(node, "get", _string(key.value) if key is not None else None)

    def visit_Subscript(self, node: cst.Subscript) -> None:
        if len(node.slice) == 1 and isinstance(node.slice[0].slice, cst.Index):
            if self.prefect_name(node.value) == "prefect.context":
                self._loop_read(node, "item", _string(node.slice[0].slice.value))

    def visit_Try(self, node: cst.Try) -> None:
        if self._loops and self._loops[-1] is not None:
            self._loops[-1].tries += 1

    def leave_Try(self, original_node, updated_node):
        if self._loops and self._loops[-1] is not None:
            self._loops[-1].tries -= 1
        return updated_node

    def _loop_value(self, original, updated) -> cst.BaseExpression | None:
        """The local a planned read of a loop key becomes (``loop_result if loop_count > 1 else
        default`` for a ``.get`` whose default differs from the first iteration's value)."""
        planned = self._loop_reads.pop(id(original), None)
        if planned is None:
            return None
        loop = self._loops[-1]
        key, form = planned
        local = loop.result if key == "task_loop_result" else loop.count
        value = cst.Name(local)
        default: cst.BaseExpression | None = None
        if form == "get":
            arg = get_arg(updated, "default", 1)
            default = arg.value if arg is not None else cst.Name("None")
            first = None if key == "task_loop_result" else 1
            try:
                same = literal_value(default) == first and type(literal_value(default)) is type(
                    first
                )
            except Exception:
                same = False
            if not same:
                value = cst.IfExp(
                    test=cst.Comparison(
                        left=cst.Name(loop.count),
                        comparisons=[cst.ComparisonTarget(cst.GreaterThan(), cst.Integer("1"))],
                    ),
                    body=cst.Name(local),
                    orelse=default,
                )
                if not self.stands_alone(original):
                    value = value.with_changes(lpar=[cst.LeftParen()], rpar=[cst.RightParen()])
        self._changed = True
        return value

    def leave_Call(self, original_node, updated_node):
        return self._loop_value(original_node, updated_node) or updated_node

    def leave_Subscript(self, original_node, updated_node):
        return self._loop_value(original_node, updated_node) or updated_node

    def _loop_body(self, original, updated: cst.FunctionDef, loop: _Loop) -> cst.FunctionDef:
        """The body of a task that raises LOOP, run in a ``while True:`` loop (§10.2)."""
        block = updated.body
        if isinstance(block, cst.SimpleStatementSuite):  # def t(): raise LOOP()
            block = cst.IndentedBlock(
                body=[cst.SimpleStatementLine(body=list(block.body))],
                header=block.trailing_whitespace,
            )
        body = list(block.body)
        head = [body.pop(0)] if body and is_docstring(body[0]) else []
        resume = loop.reads and self._retries(original)
        if loop.reads:
            handler = f"{loop.count}, {loop.result} = {loop.count} + 1, {loop.signal}.result"
            start = "1, None"
            if resume:  # a retry resumes the iteration that failed, as in Prefect 1
                start = f"{LOOP_CLASS}.retried.pop(runtime.task_run.id, (1, None))"
                self.add_import("prefect", "runtime")
            head.append(cst.parse_statement(f"{loop.count}, {loop.result} = {start}\n"))
            caught = f"{LOOP_CLASS} as {loop.signal}"
        else:
            handler, caught = "continue", LOOP_CLASS
        code = f"while True:\n    try:\n        pass\n    except {caught}:\n        {handler}\n"
        if resume:
            code += (
                "    except BaseException:\n"
                f"        {LOOP_CLASS}.retried[runtime.task_run.id] = {loop.count}, {loop.result}\n"
                "        raise\n"
            )
        if _may_fall_through(body):
            code += "    else:\n        break\n"
        statement = cst.parse_statement(code)
        attempt = statement.body.body[0]
        attempt = attempt.with_changes(body=attempt.body.with_changes(body=body))
        statement = statement.with_changes(
            body=statement.body.with_changes(body=[attempt]),
        )
        comments = [LOOP_INFO]
        todo = self._loop_todo(original, loop)
        if todo:
            comments.insert(0, todo_text(self.CODE, todo))
            self.mark_applied()
        statement = with_leading_comments(statement, comments)
        self._changed = True
        self._loop_used = True
        return updated.with_changes(body=block.with_changes(body=[*head, statement]))

    def _options(self, original: cst.FunctionDef) -> set[str]:
        options = set()
        for dec in original.decorators:
            if isinstance(dec.decorator, cst.Call) and self.is_prefect(dec, "prefect.task"):
                options |= {a.keyword.value for a in dec.decorator.args if a.keyword is not None}
        return options

    def _retries(self, original: cst.FunctionDef) -> bool:
        return bool(self._options(original) & {"retries", "max_retries"})

    def _loop_todo(self, original: cst.FunctionDef, loop: _Loop) -> str:
        """What the loop does not do as Prefect 1 did (timeout, raising reads). Retries resume
        the iteration that failed (``Prefect1Loop.retried``), as Prefect 1's did; a body reading
        no loop state runs the same in every iteration, so starting over is the same."""
        options = self._options(original)
        notes = []
        if options & {"timeout_seconds", "timeout"}:
            notes.append("the timeout bounds the whole loop (Prefect 1's bounded each iteration)")
        if loop.raising_reads:
            notes.append(
                f"`prefect.context[...]` / `.task_loop_*` reads inside a try became "
                f"{loop.result} / {loop.count} (None / 1 in the first iteration, where Prefect 1 "
                "raised KeyError / AttributeError)"
            )
        if not notes:
            return ""
        return f"signals.LOOP became a loop in the task: {'; '.join(notes)}"

    def visit_Attribute(self, node: cst.Attribute) -> bool:
        if self.prefect_name(node.value) == "prefect.context":
            self._loop_read(node, "attr", node.attr.value)
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
        elif kind == "LOOP":
            self._loop_used = True  # except LOOP, isinstance(x, LOOP): the class stands in
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
        value = self._loop_value(original_node, updated_node)
        if value is not None:
            return value
        return self._replace_reference(original_node, updated_node)

    def _replace_reference(self, original_node, updated_node):
        kind = signal_name(self.prefect_name(original_node))
        if kind in FAIL_FAMILY or kind == "RETRY":
            self._changed = True
            return cst.Name("RuntimeError")
        if kind == "LOOP":
            self._changed = self._loop_used = True
            return cst.Name(LOOP_CLASS)
        return updated_node

    def leave_Raise(self, original_node, updated_node):
        dropped = self._loop_raise_args.pop(id(original_node.exc), None)
        if dropped is not None and isinstance(updated_node.exc, cst.Call):
            call = updated_node.exc
            args = [
                a
                for i, a in enumerate(call.args)
                if not a.star
                and (a.keyword.value in ("message", "result") if a.keyword is not None else i < 2)
            ]
            if args:
                args[-1] = args[-1].with_changes(comma=cst.MaybeSentinel.DEFAULT)
            return updated_node.with_changes(exc=call.with_changes(args=args))
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
        if self._loop_used:
            updated_node = insert_helper(updated_node, LOOP_CLASS, LOOP_CLASS_CODE)
        if self._changed:
            self.mark_applied()
            if self._loop_used:
                # the context reads the loops replaced (PF007 left them to this rule)
                remove_p1_imports(self, original_node, lambda q: q == "prefect.context")
                self.remove_import_if_unused("prefect")
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
