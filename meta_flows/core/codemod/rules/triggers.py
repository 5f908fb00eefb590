"""PF009 triggers: Prefect 1 task triggers become explicit state handling (docs/spec.md §8).

``@task(trigger=X)`` loses the option (Prefect 2's ``task()`` has none); each call site inside a
``@flow`` function gets the behaviour back where the rule can prove the shape::

    a = extract()                            a = extract(return_state=True)
    b = load()                               b = load(return_state=True)
    cleanup(a, upstream_tasks=[b])    ->     cleanup(allow_failure(a), wait_for=[allow_failure(b)])

- ``all_successful`` (the default): the option is dropped (A).
- ``all_finished`` / ``always_run``, and ``some_failed`` / ``some_successful`` given uncalled
  (Prefect 1 called ``some_successful(upstream_states)``, which returns a function: a true value,
  the task always ran): as above (C): the upstream calls return their states and the task runs
  unconditionally (a failed upstream's argument is its exception, as in Prefect 1). Several
  trigger tasks may share an upstream. The upstream failure is *not* re-raised: a Prefect 1 flow's
  state comes from its reference tasks, by default the terminal ones, and an upstream of a trigger
  task is never terminal, so Prefect 1.4.1 ends such a run Success when the cleanup succeeds.
- ``any_failed`` / ``all_failed`` / ``any_successful``: the same, with a check (C)::

      if any(s.is_failed() for s in (a, b)):         # all(...), is_completed()
          alert_state = alert(wait_for=[allow_failure(a), allow_failure(b)], return_state=True)
      else:
          alert_state = Failed(message='Trigger was "any_failed" but none of the upstream tasks failed.')

  The ``else`` branch stands for Prefect 1's TriggerFailed (a failed state, with its message).
  ``some_failed(at_least=2, at_most=0.5)`` / ``some_successful(...)`` with number bounds: the
  same with ``if 2 <= sum(s.is_failed() for s in (a, b, c)) <= 1.5:`` (a bound below 1 is a share
  of the upstream states, as in Prefect 1) (C). Upstream tasks known to have succeeded (flow
  parameters, tasks given uncalled, results read elsewhere) count as such: ``any_successful``
  needs no check then; ``all_failed`` / ``some_successful`` with them, and shares over a map, are
  left with a TODO.
- The result of a checked call is a state; it may be read only by other trigger calls (as an
  upstream) or returned by the flow. A call without a check whose result other trigger calls read
  or the flow returns gets ``return_state=True`` too.
- ``.map`` upstream tasks on an edge that is not mapped: each child's state counts (Prefect 1
  expanded a Mapped state): ``parts_states = [future.wait() for future in parts]`` once, the futures
  passed as ``allow_failure(parts)``. A ``.map`` of a checked trigger task whose upstream tasks are
  all ``unmapped(...)``: one check for all children, ``unmapped(allow_failure(parts))``; mapped
  over an upstream ``.map`` (each child decided on its own upstream child) or unchecked: TODO.
- Final state: Prefect 1 judged a run by its terminal tasks. The flow returns the states of its
  terminal trigger tasks (a list when several): Completed when all completed, else Failed (a
  trigger that failed, a checked task that failed). Without them, a flow with no return ends with
  ``return Completed(...)`` (a flow returning None is judged by every task run in Prefect 2).
  Futures no trigger task reads (``.map``/``.submit``) could fail unseen: TODO instead.
- ``not_all_skipped``: Prefect 2 has no skips: behaves like the default; dropped (C).
- ``manual_only``, bounds that are not number literals, custom triggers: H (TODO).
- Call sites the rule cannot prove (upstream not a task call in the same flow body, a checked
  result read by a task without a trigger, calls inside loops/branches): the code is kept and a
  TODO states the semantics to restore.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import libcst as cst
from libcst.metadata import ParentNodeProvider, QualifiedNameProvider

from meta_flows.core.codemod.analysis.uses import unmapped_value
from meta_flows.core.codemod.base import SCRATCH_TRIGGERED, Rule, get_arg, with_todo

TRIGGERS_MODULE = "prefect.triggers."
ALWAYS = frozenset({"all_finished", "always_run"})
GUARDS = {
    "any_failed": ("any", "is_failed"),
    "all_failed": ("all", "is_failed"),
    "any_successful": ("any", "is_completed"),
}
SOME = {"some_failed": "is_failed", "some_successful": "is_completed"}
DROP = frozenset({"all_successful", "not_all_skipped"})
# Prefect 1.4.1's TriggerFailed messages (prefect/triggers.py)
FAILED_MESSAGES = {
    "any_failed": 'Trigger was "any_failed" but none of the upstream tasks failed.',
    "all_failed": 'Trigger was "all_failed" but some of the upstream tasks succeeded.',
    "any_successful": 'Trigger was "any_successful" but none of the upstream tasks succeeded.',
    "some_failed": 'Trigger was "some_failed" but thresholds were not met.',
    "some_successful": 'Trigger was "some_successful" but thresholds were not met.',
}
TERMINAL_COMMENT = "# like Prefect 1, the run is judged by its terminal tasks, not the failure handled above (PF009)"
_EQ = cst.AssignEqual(
    whitespace_before=cst.SimpleWhitespace(""), whitespace_after=cst.SimpleWhitespace("")
)

Bounds = tuple[float | None, float | None]


@dataclass
class TriggerTask:
    name: str  # the @task function
    trigger: str  # short trigger name, or "" when unknown/custom
    call_sites: int = 0
    problems: list[str] = field(default_factory=list)
    bounds: Bounds | None = None  # some_failed(at_least=, at_most=) when called

    @property
    def mode(self) -> str | None:
        """``"always"`` (runs whatever its upstream states), ``"guard"`` (runs when a check of
        them passes) or None (not made explicit)."""
        if self.trigger in ALWAYS or (self.trigger in SOME and self.bounds is None):
            return "always"
        if self.trigger in GUARDS or self.trigger in SOME:
            return "guard"
        return None

    @property
    def label(self) -> str:
        """The trigger as written: ``any_failed``, ``some_failed(at_least=2)``."""
        if self.bounds is None:
            return self.trigger
        names = ("at_least", "at_most")
        parts = [f"{k}={_num(v)}" for k, v in zip(names, self.bounds, strict=True) if v is not None]
        return f"{self.trigger}({', '.join(parts)})"


def _num(value: float) -> str:
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return repr(value)


def semantics(info: TriggerTask) -> str:
    trigger = info.trigger
    if trigger in ALWAYS:
        return "it ran even when upstream tasks failed"
    if trigger in SOME and info.bounds is None:
        return (
            f"it ran even when upstream tasks failed: {trigger} was given uncalled, so Prefect 1 "
            f"called {trigger}(upstream_states), which returns a function and never fails"
        )
    if trigger in GUARDS:
        how, check = GUARDS[trigger]
        what = "failed" if check == "is_failed" else "succeeded"
        return f"it ran only when {how} of its upstream tasks {what}"
    if trigger in SOME:
        what = "failed" if trigger == "some_failed" else "succeeded"
        limits = [
            f"{how} {f'{v:.0%}' if v < 1 else _num(v)}"
            for how, v in zip(("at least", "at most"), info.bounds, strict=True)
            if v is not None
        ]
        how_many = " and ".join(limits) or "any number"
        return f"it ran only when {how_many} of its upstream tasks {what}"
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


def _bound(value: float | None, total: int | None) -> float | None:
    """Prefect 1's reading of an at_least/at_most bound: below 1 a share of the upstream states."""
    if value is None or value >= 1:
        return value
    return None if total is None else total * value


def guard_test(
    info: TriggerTask, states: str, total: int | None, values: int, var: str = "s"
) -> str | None:
    """The condition under which the task runs, over the upstream states ``states`` (an
    expression, read with the loop variable ``var``); ``values`` upstream tasks are known to have
    succeeded (their calls returned), the upstream states number ``total`` (None when a map makes
    it known only at run time). ``""``: always true; None: not expressible here."""
    if info.trigger in GUARDS:
        how, check = GUARDS[info.trigger]
        if values and info.trigger == "any_successful":
            return ""
        if values and info.trigger == "all_failed":
            return None  # never runs: left to a human
        return f"{how}({var}.{check}() for {var} in {states})"
    if values and info.trigger == "some_successful":
        return None
    low, high = (_bound(v, None if total is None else total + values) for v in info.bounds)
    if any(
        v is not None and v < 1 and b is None for v, b in zip(info.bounds, (low, high), strict=True)
    ):
        return None
    count = f"sum({var}.{SOME[info.trigger]}() for {var} in {states})"
    low = None if low is not None and low <= 0 else low
    if low is not None and high is not None:
        return f"{_num(low)} <= {count} <= {_num(high)}"
    if low is not None:
        return f"{count} >= {_num(low)}"
    if high is not None:
        return f"{count} <= {_num(high)}"
    return ""


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
        self._state_defs: set[int] = set()  # ids of upstream statements given return_state=True
        self._made: set[int] = set()  # ids of statements this rule wrote at trigger call sites
        # per flow body being rewritten:
        self._states: set[str] = set()  # names this rule bound to states
        self._map_states: dict[str, str] = {}  # futures of a .map -> the list of their states
        self._terminal: list[str] = []  # states of trigger tasks nothing downstream reads

    # ------------------------------------------------------------------ discovery

    def _trigger_of(self, value: cst.BaseExpression) -> tuple[str, Bounds | None]:
        """Short trigger name (``all_finished``) and, for ``some_failed(at_least=2)``, its
        bounds; ``""`` for custom triggers and calls the rule cannot read."""
        target = value.func if isinstance(value, cst.Call) else value
        name = self.prefect_name(target) if isinstance(target, (cst.Name, cst.Attribute)) else None
        if not name or not name.startswith(TRIGGERS_MODULE):
            return "", None
        short = name[len(TRIGGERS_MODULE) :]
        if not isinstance(value, cst.Call):
            return short, None
        bounds = _bounds(value) if short in SOME else None
        return (short, bounds) if bounds is not None else ("", None)

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
                    trig, bounds = self._trigger_of(arg.value)
                    self._tasks[stmt.name.value] = TriggerTask(stmt.name.value, trig, bounds=bounds)
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
                            self._tasks[_task_of(call).value].call_sites += 1
        return True

    def _is_prefect_trigger(self, value: cst.BaseExpression) -> bool:
        target = value.func if isinstance(value, cst.Call) else value
        return self.resolves_under(target, "prefect.triggers")

    # ------------------------------------------------------------------ option removal

    def leave_Call(self, original_node, updated_node):
        arg = get_arg(original_node, "trigger")
        if arg is None or not self._is_prefect_trigger(arg.value):
            return updated_node
        trig, bounds = self._trigger_of(arg.value)
        if trig == "manual_only":
            self.add_todo(
                "trigger=manual_only removed: call prefect.pause_flow_run() in the flow before "
                "this task so a human approves the run"
            )
        elif trig not in DROP and TriggerTask("", trig, bounds=bounds).mode is None:
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
            and info.mode is not None
            and info.call_sites == 0
            and self._is_module_level(original_node)
        ):
            return with_todo(
                updated_node,
                self.CODE,
                f"trigger={info.label} removed: {semantics(info)}; at each call site "
                f"call the upstream tasks with return_state=True and pass them as "
                f"allow_failure(...) (see docs/spec.md §8)",
            )
        return updated_node

    def _is_module_level(self, node: cst.CSTNode) -> bool:
        parent = self.get_metadata(ParentNodeProvider, node, None)
        return isinstance(parent, cst.Module)

    # ------------------------------------------------------------------ call sites

    def _trigger_call(self, stmt: cst.CSTNode | None) -> cst.Call | None:
        """The call of ``T(...)`` / ``T.map(...)`` in ``T(...)``, ``x = T(...)`` or ``return
        T(...)`` where T is a module task with a trigger the rule makes explicit."""
        if not isinstance(stmt, cst.SimpleStatementLine) or len(stmt.body) != 1:
            return None
        small = stmt.body[0]
        call = small.value if isinstance(small, (cst.Expr, cst.Assign, cst.Return)) else None
        if not isinstance(call, cst.Call):
            return None
        task = _task_of(call)
        info = self._tasks.get(task.value) if task is not None else None
        if info is None or info.mode is None or not self._is_module_name(task):
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
        task = _task_of(node)
        info = self._tasks.get(task.value) if task is not None else None
        if info is None or info.mode is None:
            return
        if not self._is_module_name(task) or not self._statement_stack:
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
            f"{info.name} had trigger={info.label} in Prefect 1 ({semantics(info)}): "
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
        originals: list[cst.BaseStatement | None] = list(original_node.body)
        params = {p.name.value for p in (*parent.params.params, *parent.params.kwonly_params)}
        self._states, self._map_states, self._terminal = set(), {}, []
        changed = rewritten = False
        i = 0
        while i < len(body):
            orig = originals[i] if i < len(originals) else None
            call = self._trigger_call(orig) if orig is not None else None
            if call is None:
                i += 1
                continue
            info = self._tasks[_task_of(call).value]
            result = self._rewrite_site(body, originals, i, info, params)
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
        """End the flow with the states of its terminal trigger tasks, or a ``Completed`` state.

        A Prefect 1 flow was judged by its terminal tasks: a trigger task whose check failed
        ended TriggerFailed and failed the run (its state here is ``Failed``), while an upstream
        failure a trigger task handled did not. A flow returning None is judged by *every* task
        run in Prefect 2; returning states gives the run Prefect 1's state. Futures
        (``.map``/``.submit``) no trigger task reads could fail without raising, so such flows
        keep Prefect 2's rule, with a TODO.
        """
        terminal = self._terminal
        last = body[-1] if body else None
        small = last.body[-1] if isinstance(last, cst.SimpleStatementLine) else None
        if isinstance(small, cst.Return):
            value = small.value
            if isinstance(value, cst.Name) and value.value in terminal:
                if len(terminal) > 1:
                    body[-1] = last.with_changes(body=[small.with_changes(value=_names(terminal))])
            elif terminal:
                body[-1] = with_todo(last, self.CODE, _RETURN_TODO)
            return body
        if isinstance(small, cst.Raise) or not body:
            return body
        if any(self._loose_futures(stmt) for stmt in body):
            body[-1] = with_todo(
                body[-1],
                self.CODE,
                "Prefect 1 judged this run by its terminal tasks only, so the upstream failure a "
                "trigger task handled did not fail it; Prefect 2 fails a flow returning None when "
                "any task run failed: return the terminal tasks' results to keep Prefect 1's state",
            )
            return body
        if terminal:
            value = cst.Name(terminal[0]) if len(terminal) == 1 else _names(terminal)
        else:
            self.add_import("prefect.states", "Completed")
            value = cst.parse_expression('Completed(message="All reference tasks succeeded.")')
        ret = cst.SimpleStatementLine(
            body=[cst.Return(value)],
            leading_lines=[cst.EmptyLine(comment=cst.Comment(TERMINAL_COMMENT))],
        )
        return [*body, ret]

    def _loose_futures(self, stmt: cst.BaseStatement) -> bool:
        """A ``.map``/``.submit`` in ``stmt`` whose futures no rewritten trigger call judges."""
        if id(stmt) in self._made:
            return False
        assign = stmt.body[0] if isinstance(stmt, cst.SimpleStatementLine) else None
        if (
            isinstance(assign, cst.Assign)
            and len(assign.targets) == 1
            and isinstance(assign.targets[0].target, cst.Name)
            and assign.targets[0].target.value in self._map_states
        ):
            return False
        return _has_future_call(stmt)

    def _classify(self, body, originals, i: int, name: str, params: set[str], defs: dict):
        """What the upstream ``name`` of the trigger call at ``i`` is: ``"state"`` (a state, or
        the result of a task call this rule gives ``return_state=True``, recorded in ``defs``),
        ``"map"`` (the futures of a ``.map``), ``"kept"`` (a task result read elsewhere: a value,
        so a success), ``"value"`` (a flow parameter or a task given uncalled: a success) or
        None (not an upstream task)."""
        if name in self._states:
            return "state"
        if self._map_def(body, i, name):
            return "map"
        k = self._upstream_def(body, originals, i, name)
        if k is not None:
            defs[name] = k
            return "state"
        if self._assigned_before(body, i, name):
            return "kept"
        if name in self._module_tasks or name in params:
            return "value"
        return None

    def _rewrite_site(self, body, originals, i, info: TriggerTask, params: set[str]):
        stmt = body[i]
        small = stmt.body[0]
        call: cst.Call = small.value
        mapped = isinstance(call.func, cst.Attribute)
        kinds: dict[str, str] = {}
        defs: dict[str, int] = {}
        values = 0
        kept: list[str] = []
        # the call's arguments, upstream tasks made states/futures passed with allow_failure
        args = []
        for arg in call.args:
            keyword = arg.keyword.value if arg.keyword is not None else None
            if arg.star:
                return None
            if keyword in ("upstream_tasks", "wait_for"):
                if not isinstance(arg.value, (cst.List, cst.Tuple)):
                    return None
                elements = []
                for el in arg.value.elements:
                    if isinstance(el, cst.StarredElement):
                        return None
                    inner = unmapped_value(el.value) if mapped else el.value
                    if not isinstance(inner, cst.Name):
                        return None  # on .map: an upstream mapped over, each child decides
                    kind = self._classify(body, originals, i, inner.value, params, defs)
                    if kind in ("state", "map"):
                        kinds[inner.value] = kind
                        new = allow(inner)
                        elements.append(el.with_changes(value=_rewrap(el.value, new)))
                    elif kind == "value" and mapped:
                        values += 1
                        elements.append(el)
                    else:
                        return None
                if mapped:
                    args.append(arg.with_changes(value=arg.value.with_changes(elements=elements)))
                else:
                    args.append(
                        arg.with_changes(
                            keyword=cst.Name("wait_for"),
                            value=arg.value.with_changes(elements=elements),
                        )
                    )
                continue
            inner = unmapped_value(arg.value) if mapped else arg.value
            each = mapped and inner is None  # mapped over: child i reads item i
            if each:
                inner = arg.value
            if not isinstance(inner, cst.Name):
                args.append(arg)
                continue
            kind = self._classify(body, originals, i, inner.value, params, defs)
            if kind in ("state", "map"):
                if each:
                    return None  # each child decides on its own upstream item
                kinds[inner.value] = kind
                args.append(arg.with_changes(value=_rewrap(arg.value, allow(inner))))
                continue
            if kind == "kept":
                kept.append(inner.value)
            if kind in ("kept", "value"):
                values += 1
            args.append(arg)
        states = [n for n, k in kinds.items() if k == "state"]
        maps = [n for n, k in kinds.items() if k == "map"]
        if not states and not maps:
            return None
        if mapped and info.mode != "guard":
            return None  # a .map run whatever its upstream states: left to a human
        fresh = [m for m in maps if m not in self._map_states]
        if any(self._fresh_name(body, f"{m}_states") != f"{m}_states" for m in fresh):
            return None
        # the check, over the upstream states
        test = ""
        if info.mode == "guard":
            items = [*states, *(f"*{self._map_states.get(m, f'{m}_states')}" for m in maps)]
            if len(items) == 1 and maps:
                collection = items[0][1:]
            else:
                collection = f"({', '.join(items)}{',' if len(items) == 1 else ''})"
            taken = {*states, *maps}  # nor the name the call assigns: a reader would mix them
            if isinstance(small, cst.Assign) and isinstance(small.targets[0].target, cst.Name):
                taken.add(small.targets[0].target.value)
            loop = next(v for v in ("s", "state", "upstream_state") if v not in taken)
            test = guard_test(info, collection, None if maps else len(states), values, loop)
            if test is None:
                return None
        target = None
        if isinstance(small, cst.Assign):
            targets = small.targets
            if len(targets) != 1 or not isinstance(targets[0].target, cst.Name):
                return None
            target = targets[0].target.value
        # the result: a state when checked, returned by the flow or read by other trigger calls
        # (a returned value could be None: the run would be judged by every task run)
        state = bool(test) or isinstance(small, cst.Return)
        readers = ""
        if target is not None:
            readers = self._readers(body, originals, i, target)
            if readers is None or (mapped and readers not in ("", "return")):
                if test or mapped:
                    return None
                state = False
            elif readers:
                state = True
        var = target
        if var is None and state:
            suffix = "result" if mapped else "state"
            var = self._fresh_name(body, f"{info.name}_{suffix}")
        # rewrite the upstream calls (once: another trigger task may share them)
        body = list(body)
        for k in defs.values():
            if id(body[k]) in self._state_defs:
                continue
            assign = body[k].body[0]
            new_call = call_with(assign.value, _return_state())
            body[k] = body[k].with_changes(body=[assign.with_changes(value=new_call)])
            self._state_defs.add(self.new_node_id(body[k]))
        self._states.update(defs)
        new_call = call.with_changes(args=args)
        if state and not mapped:
            new_call = call_with(new_call, _return_state())
        run: cst.BaseSmallStatement
        if var is None:
            run = small.with_changes(value=new_call)
        else:
            run = cst.Assign(targets=[cst.AssignTarget(cst.Name(var))], value=new_call)
        new: list[cst.BaseStatement] = []
        for m in fresh:
            self._map_states[m] = f"{m}_states"
            line = cst.parse_statement(f"{m}_states = [future.wait() for future in {m}]\n")
            self._made.add(self.new_node_id(line))
            new.append(line)
        if test:
            self.add_import("prefect.states", "Failed")
            failed = cst.Assign(
                targets=[cst.AssignTarget(cst.Name(var))],
                value=cst.Call(
                    func=cst.Name("Failed"),
                    args=[
                        cst.Arg(
                            cst.SimpleString(repr(FAILED_MESSAGES[info.trigger])),
                            keyword=cst.Name("message"),
                            equal=_EQ,
                        )
                    ],
                ),
            )
            checked: cst.BaseStatement = cst.If(
                test=cst.parse_expression(test),
                body=cst.IndentedBlock(body=[cst.SimpleStatementLine(body=[run])]),
                orelse=cst.Else(
                    body=cst.IndentedBlock(body=[cst.SimpleStatementLine(body=[failed])])
                ),
            )
        else:
            checked = stmt.with_changes(body=[run], leading_lines=[])
        if kept:
            names = ", ".join(f"`{name}`" for name in kept)
            checked = with_todo(
                checked,
                self.CODE,
                f"{info.name} (trigger={info.label}) still runs after failures of its other "
                f"upstream tasks, but not when the task producing {names} fails: Prefect 1 ran "
                f"it then too, Prefect 2 stops at that call; if that path matters, call it with "
                f"return_state=True and pass its state here",
            )
        self._made.add(self.new_node_id(checked))
        new.append(checked)
        if state:
            self._states.add(var)
        if isinstance(small, cst.Return):
            new.append(cst.SimpleStatementLine(body=[small.with_changes(value=cst.Name(var))]))
        if state and readers in ("", "return"):
            self._terminal.append(var)
        new[0] = new[0].with_changes(leading_lines=[*stmt.leading_lines, *new[0].leading_lines])
        self.add_import("prefect", "allow_failure")
        body[i : i + 1] = new
        originals = [*originals[:i], *([None] * len(new)), *originals[i + 1 :]]
        return body, originals, i + len(new)

    def _readers(self, body, originals, i: int, name: str) -> str | None:
        """Who reads what the trigger call at ``i`` assigns to ``name``: ``""`` nothing,
        ``"return"`` only the flow's final ``return name``, ``"trigger"`` trigger calls after it
        passing it as an upstream task (and that return), None something else."""
        found = ""
        for k, stmt in enumerate(body):
            uses = _count_name(stmt, name)
            if k == i or not uses:
                continue
            orig = originals[k] if k < len(originals) else None
            call = self._trigger_call(orig) if k > i else None
            if call is not None and _direct_refs(call, name) == uses:
                found = "trigger"
            elif k == len(body) - 1 and _returns(stmt, name):
                found = found or "return"
            else:
                return None
        return found

    def _fresh_name(self, body, name: str) -> str:
        """``name``, or ``name_2``... when the flow body already uses it."""
        candidate, n = name, 2
        while any(_count_name(stmt, candidate) for stmt in body) or candidate in self._states:
            candidate, n = f"{name}_{n}", n + 1
        return candidate

    def _map_def(self, body, i: int, name: str) -> bool:
        """``name = t.map(...)`` of a module task is the one assignment of ``name`` before ``i``."""
        found = 0
        for stmt in body[:i]:
            for small in stmt.body if isinstance(stmt, cst.SimpleStatementLine) else ():
                if isinstance(small, cst.Assign) and any(
                    _count_name(t.target, name) for t in small.targets
                ):
                    value = small.value
                    task = _task_of(value) if isinstance(value, cst.Call) else None
                    if (
                        len(small.targets) != 1
                        or not isinstance(small.targets[0].target, cst.Name)
                        or not isinstance(value.func, cst.Attribute)
                        or task is None
                        or task.value not in self._module_tasks
                    ):
                        return False
                    found += 1
        return found == 1

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
                k > i and k < len(originals) and self._trigger_call(originals[k]) is not None
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
                or small.value.func.value in self._tasks
                or (
                    get_arg(small.value, "return_state") is not None
                    and id(stmt) not in self._state_defs
                )
            ):
                return None
            found.append(k)
        return found[0] if found else None

    def leave_Module(self, original_node, updated_node):
        for name in (*ALWAYS, *GUARDS, *DROP, *SOME, "manual_only"):
            self.remove_import_if_unused("prefect.triggers", name)
        self.remove_import_if_unused("prefect", "triggers")
        return updated_node


_RETURN_TODO = (
    "Prefect 1 judged this run by its terminal tasks, among them trigger tasks whose check may "
    "have failed (TriggerFailed, a failed run): return their states too to keep Prefect 1's state"
)


def _return_state() -> cst.Arg:
    return cst.Arg(cst.Name("True"), keyword=cst.Name("return_state"), equal=_EQ)


def _names(names: list[str]) -> cst.List:
    return cst.parse_expression(f"[{', '.join(names)}]")


def _task_of(call: cst.Call) -> cst.Name | None:
    """``T`` of ``T(...)`` or ``T.map(...)``."""
    func = call.func
    if isinstance(func, cst.Name):
        return func
    if (
        isinstance(func, cst.Attribute)
        and func.attr.value == "map"
        and isinstance(func.value, cst.Name)
    ):
        return func.value
    return None


def _rewrap(original: cst.BaseExpression, new: cst.BaseExpression) -> cst.BaseExpression:
    """``new`` in place of the name ``original`` is or wraps (``unmapped(x)``)."""
    if unmapped_value(original) is not None:
        return original.with_changes(args=[original.args[0].with_changes(value=new)])
    return new


def _direct_refs(call: cst.Call, name: str) -> int:
    """How often ``name`` is an argument of ``call`` or an upstream task in its list."""
    count = 0
    for arg in call.args:
        values = (
            [el.value for el in arg.value.elements]
            if arg.keyword is not None
            and arg.keyword.value in ("upstream_tasks", "wait_for")
            and isinstance(arg.value, (cst.List, cst.Tuple))
            else [arg.value]
        )
        for value in values:
            value = unmapped_value(value) or value
            if isinstance(value, cst.Name) and value.value == name:
                count += 1
    return count


def _returns(stmt: cst.BaseStatement, name: str) -> bool:
    return (
        isinstance(stmt, cst.SimpleStatementLine)
        and len(stmt.body) == 1
        and isinstance(stmt.body[0], cst.Return)
        and isinstance(stmt.body[0].value, cst.Name)
        and stmt.body[0].value.value == name
    )


def _bounds(call: cst.Call) -> Bounds | None:
    """``(at_least, at_most)`` of ``some_failed(...)`` given as number literals, else None."""
    out: list[float | None] = [None, None]
    keys = ("at_least", "at_most")
    for k, arg in enumerate(call.args):
        key = arg.keyword.value if arg.keyword is not None else (keys[k] if k < 2 else None)
        if arg.star or key not in keys:
            return None
        value = arg.value
        if isinstance(value, cst.Name) and value.value == "None":
            continue
        if not isinstance(value, (cst.Integer, cst.Float)):
            return None
        out[keys.index(key)] = value.evaluated_value
    return out[0], out[1]


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
