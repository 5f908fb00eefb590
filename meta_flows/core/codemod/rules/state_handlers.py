"""PF012 state_handlers: Prefect 1 state handlers become Prefect 2 on_failure/on_completion hooks.

Spec: docs/spec.md §11 (and the ``state_handlers``/``on_failure`` row of §3). Runs after
PF002 (flows are ``@flow(...)`` functions) and before PF004 (which drops unknown task options).

::

    def notify(obj, old_state, new_state):          def notify_on_failure(task, task_run, state):
        if new_state.is_failed():            ->          alert(task.name, state.message)
            alert(obj.name, new_state.message)
        return new_state                            @task(on_failure=[notify_on_failure])
    @task(state_handlers=[notify])

- A handler (a function of this module) whose body only acts under ``new_state.is_failed()`` /
  ``isinstance(new_state, Failed)`` -> ``on_failure=[h_on_failure]``; under ``is_successful()`` /
  ``Success`` -> ``on_completion``; both branches -> both lists (C). The adapted hook is added next
  to the handler with Prefect 2's keyword signature ``(task, task_run, state)`` /
  ``(flow, flow_run, state)``; the handler is replaced when nothing else uses it. The state's
  ``.result`` (a value in Prefect 1, a method in Prefect 2) becomes
  ``state.result(raise_on_failure=False)``: the value, or a failed state's exception, as before.
- The Prefect 1 ``on_failure=h`` option (``h(obj, state)``) -> ``on_failure=[h_on_failure]``.
- A handler that returns another state, reads ``old_state``, acts on every transition, is defined
  elsewhere, or a notifier (``slack_notifier``, ``gmail_notifier``: use an automation) -> H: the
  option is removed (Prefect 2 rejects it at import) with a TODO quoting it and listing the lines
  where the handler reads its Prefect 1 state; the handler is kept.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import libcst as cst
from libcst.metadata import QualifiedNameProvider, QualifiedNameSource

from meta_flows.core.codemod.analysis.scope import count_refs, is_docstring
from meta_flows.core.codemod.base import Rule, get_arg, remove_p1_imports
from meta_flows.core.codemod.stubs import lines_of

FAILURE = "on_failure"
COMPLETION = "on_completion"
_STATE_EVENTS = {"is_failed": FAILURE, "is_successful": COMPLETION}
_STATE_CLASSES = {
    "prefect.engine.state.Failed": FAILURE,
    "prefect.engine.state.Success": COMPLETION,
}
NOTIFIERS = "prefect.utilities.notifications"
AUTOMATION_HINT = (
    "use a Prefect automation for notifications instead (meta-flows creates notification "
    "automations)"
)


class NotAdaptable(Exception):
    """The handler cannot be turned into hooks automatically; the message says why."""


# ---------------------------------------------------------------------------- pure helpers


class _Rename(cst.CSTTransformer):
    """Rename variables (not attribute names or keywords); bare ``return`` for ``return state``;
    the state's ``.result`` (a value in Prefect 1, a method in Prefect 2) read with
    ``.result(raise_on_failure=False)``, which gives the value, or a failed state's exception as
    Prefect 1 did."""

    def __init__(self, names: dict[str, str], state: str | None, old_state: str | None = None):
        self.names = names
        self.state = state
        self.old_state = old_state

    def leave_Name(self, original_node, updated_node):
        new = self.names.get(updated_node.value)
        return updated_node.with_changes(value=new) if new else updated_node

    def leave_Attribute(self, original_node, updated_node):
        updated_node = updated_node.with_changes(attr=original_node.attr)
        if (
            self.old_state is not None
            and original_node.attr.value == "result"
            and isinstance(original_node.value, cst.Name)
            and original_node.value.value == self.old_state
        ):
            return cst.Call(
                func=updated_node,
                args=[
                    cst.Arg(
                        keyword=cst.Name("raise_on_failure"),
                        value=cst.Name("False"),
                        equal=cst.AssignEqual(
                            whitespace_before=cst.SimpleWhitespace(""),
                            whitespace_after=cst.SimpleWhitespace(""),
                        ),
                    )
                ],
            )
        return updated_node

    def leave_Arg(self, original_node, updated_node):
        return updated_node.with_changes(keyword=original_node.keyword)

    def leave_Return(self, original_node, updated_node):
        value = original_node.value
        if self.state and isinstance(value, cst.Name) and value.value == self.state:
            return updated_node.with_changes(
                value=None, whitespace_after_return=cst.SimpleWhitespace("")
            )
        return updated_node


def _names_in(node: cst.CSTNode) -> set[str]:
    """Every variable name used in ``node`` (attribute names and keywords excluded)."""
    found: set[str] = set()

    class Collect(cst.CSTVisitor):
        def visit_Name(self, n: cst.Name) -> None:
            found.add(n.value)

        def visit_Attribute(self, n: cst.Attribute) -> bool:
            n.value.visit(self)
            return False

        def visit_Arg(self, n: cst.Arg) -> bool:
            n.value.visit(self)
            return False

    node.visit(Collect())
    return found


def _returns(node: cst.CSTNode) -> list[cst.Return]:
    out: list[cst.Return] = []

    class Collect(cst.CSTVisitor):
        def visit_Return(self, n: cst.Return) -> None:
            out.append(n)

        def visit_FunctionDef(self, n) -> bool:
            return False

        def visit_Lambda(self, n) -> bool:
            return False

    for stmt in node.body.body if isinstance(node, cst.FunctionDef) else [node]:
        stmt.visit(Collect())
    return out


def _assigned(node: cst.CSTNode, name: str) -> bool:
    hit = False

    class Collect(cst.CSTVisitor):
        def visit_AssignTarget(self, n: cst.AssignTarget) -> None:
            nonlocal hit
            hit = hit or name in _names_in(n.target)

        def visit_AugAssign(self, n: cst.AugAssign) -> None:
            nonlocal hit
            hit = hit or name in _names_in(n.target)

    node.visit(Collect())
    return hit


def _is_return_of(stmt: cst.BaseStatement, name: str) -> bool:
    return (
        isinstance(stmt, cst.SimpleStatementLine)
        and len(stmt.body) == 1
        and isinstance(stmt.body[0], cst.Return)
        and (
            stmt.body[0].value is None
            or (isinstance(stmt.body[0].value, cst.Name) and stmt.body[0].value.value == name)
        )
    )


def _positional_names(fn: cst.FunctionDef, count: int) -> list[str]:
    p = fn.params
    if (
        len(p.params) != count
        or p.posonly_params
        or p.kwonly_params
        or not isinstance(p.star_arg, cst.MaybeSentinel)
        or p.star_kwarg is not None
    ):
        expected = "obj, old_state, new_state" if count == 3 else "obj, state"
        raise NotAdaptable(f"its signature is not ({expected})")
    if fn.asynchronous or fn.decorators:
        raise NotAdaptable("it is async or decorated")
    return [param.name.value for param in p.params]


def adapt_state_handler(fn: cst.FunctionDef, classify) -> dict[str, list[cst.BaseStatement]]:
    """The hook bodies (event -> statements, P1 names) of a ``h(obj, old_state, new_state)``.

    ``classify(test) -> event | None`` recognises ``new_state.is_failed()``-style conditions.
    Raises :class:`NotAdaptable`.
    """
    obj, old, new = _positional_names(fn, 3)
    body = list(fn.body.body) if isinstance(fn.body, cst.IndentedBlock) else []
    if not body:
        raise NotAdaptable("its body is a one-liner")
    if old in _names_in(fn.body):
        raise NotAdaptable(f"it reads {old} (Prefect 2 hooks only see the new state)")
    for ret in _returns(fn):
        if ret.value is not None and not (
            isinstance(ret.value, cst.Name) and ret.value.value == new
        ):
            raise NotAdaptable("it returns a different state (hooks cannot change the state)")
    if _assigned(fn.body, new):
        raise NotAdaptable(f"it replaces {new} (hooks cannot change the state)")
    head: list[cst.BaseStatement] = []
    if body and is_docstring(body[0]):
        head.append(body.pop(0))
    while body and _is_return_of(body[-1], new):
        body.pop()
    preamble: list[cst.BaseStatement] = []
    while (
        body
        and isinstance(body[0], cst.SimpleStatementLine)
        and all(isinstance(s, (cst.Assign, cst.AnnAssign)) for s in body[0].body)
    ):
        preamble.append(body.pop(0))
    events: dict[str, list[cst.BaseStatement]] = {}
    if not body:
        raise NotAdaptable("it acts on every state change")
    for stmt in body:
        if not isinstance(stmt, cst.If):
            raise NotAdaptable("it does more than act under new_state.is_failed()/is_successful()")
        branch: cst.If | cst.Else | None = stmt
        while isinstance(branch, cst.If):
            event = classify(branch.test, new)
            if event is None:
                raise NotAdaptable(
                    f"its condition `{cst.Module([]).code_for_node(branch.test)}` is not a plain failed/successful check"
                )
            if event in events:
                raise NotAdaptable(f"it has two branches for {event}")
            stmts = list(branch.body.body)
            while stmts and _is_return_of(stmts[-1], new):
                stmts.pop()
            events[event] = [*head, *preamble, *stmts]
            branch = branch.orelse
        if branch is not None:
            raise NotAdaptable("its if has an else branch (it acts on every other state)")
    return {event: [*stmts] for event, stmts in events.items()}


def build_hook(
    name: str,
    kind: str,
    body: list[cst.BaseStatement],
    obj: str,
    state: str,
    new_state_name: str | None,
) -> cst.FunctionDef:
    """``def name(task, task_run, state):`` with ``body`` renamed to Prefect 2's hook arguments."""
    run = f"{kind}_run"
    taken = set()
    for stmt in body:
        taken |= _names_in(stmt)
    taken -= {obj, state}
    clash = taken & {kind, run, "state"}
    if clash:
        raise NotAdaptable(f"its body uses the name {sorted(clash)[0]}, a Prefect 2 hook argument")
    renamer = _Rename({obj: kind, state: "state"}, new_state_name, old_state=state)
    new_body = [stmt.visit(renamer) for stmt in body] or [cst.SimpleStatementLine([cst.Pass()])]
    return cst.FunctionDef(
        name=cst.Name(name),
        params=cst.Parameters(
            params=[
                cst.Param(cst.Name(kind)),
                cst.Param(cst.Name(run)),
                cst.Param(cst.Name("state")),
            ]
        ),
        body=cst.IndentedBlock(body=new_body),
        leading_lines=[cst.EmptyLine(), cst.EmptyLine()],
    )


# ---------------------------------------------------------------------------- the rule


@dataclass
class _CallPlan:
    kind: str  # "task" | "flow"
    events: dict[str, list[str]] = field(default_factory=dict)  # event -> hook names
    removed: list[str] = field(default_factory=list)  # TODO messages
    drop: set[str] = field(default_factory=set)  # keywords to remove


class StateHandlersRule(Rule):
    """State handlers become on_failure/on_completion hooks (§11)."""

    CODE = "PF012"
    NAME = "state-handlers"
    DESCRIPTION = "state handlers become on_failure/on_completion hooks (§11)"
    TRIGGERS = ("state_handlers", "on_failure")

    def __init__(self, context) -> None:
        super().__init__(context)
        self._calls: dict[int, _CallPlan] = {}
        self._hooks: dict[str, list[cst.FunctionDef]] = {}  # handler name -> hooks to add
        self._replace: set[str] = set()  # handlers nothing else uses any more

    # ------------------------------------------------------------------ planning

    def _kind(self, call: cst.Call) -> str | None:
        name = self.prefect_name(call.func)
        if name in ("prefect.flow", "prefect.Flow"):
            return "flow"
        if name in ("prefect.task", "prefect.Task"):
            return "task"
        qnames = self.get_metadata(QualifiedNameProvider, call.func, set())
        module = self.context.full_module_name or "__main__"
        for q in qnames:
            full = f"{module}.{q.name}" if q.source == QualifiedNameSource.LOCAL else q.name
            if full in self.project.task_classes:
                return "task"
        return None

    def visit_Module(self, node: cst.Module) -> bool:
        super().visit_Module(node)
        defs = {stmt.name.value: stmt for stmt in node.body if isinstance(stmt, cst.FunctionDef)}
        rule = self
        calls: list[tuple[cst.Call, str]] = []

        class FindCalls(cst.CSTVisitor):
            def visit_Call(self, call: cst.Call) -> None:
                if get_arg(call, "state_handlers") or _p1_on_failure(call):
                    kind = rule._kind(call)
                    if kind:
                        calls.append((call, kind))

        node.visit(FindCalls())
        converted: dict[str, int] = {}
        adapted: dict[tuple[str, str, str], dict[str, cst.FunctionDef]] = {}
        kinds_of: dict[str, set[str]] = {}
        for call, kind in calls:
            for handler in _handler_elements(call):
                if isinstance(handler[1], cst.Name):
                    kinds_of.setdefault(handler[1].value, set()).add(kind)
        for call, kind in calls:
            plan = _CallPlan(kind)
            if get_arg(call, "state_handlers"):
                plan.drop.add("state_handlers")
            if _p1_on_failure(call):
                plan.drop.add("on_failure")
            for style, handler in _handler_elements(call):
                code = self.code_for(handler)
                try:
                    hooks = self._adapt(handler, style, kind, defs, kinds_of, adapted)
                except NotAdaptable as exc:
                    if self.resolves_under(handler, NOTIFIERS):
                        plan.removed.append(f"state handler {code} removed: {AUTOMATION_HINT}")
                    else:
                        where = ""
                        fn = defs.get(handler.value) if isinstance(handler, cst.Name) else None
                        params = fn.params.params if fn is not None else ()
                        state = params[-1].name.value if params else None
                        if fn is not None and state and count_refs([fn.body], state):
                            # its reads of the Prefect 1 state: the same root cause
                            where = f" (its `{state}` is read at {lines_of(state, fn.name.value)})"
                        plan.removed.append(
                            f"{'state handler' if style == 'handler' else 'on_failure'} {code} "
                            f"removed: {exc}; adapt it{where} by hand to an on_failure=/"
                            f"on_completion= hook with signature ({kind}, {kind}_run, state)"
                        )
                    continue
                for event, hook in hooks.items():
                    names = plan.events.setdefault(event, [])
                    if hook.name.value not in names:
                        names.append(hook.name.value)
                converted[handler.value] = converted.get(handler.value, 0) + 1
            self._calls[id(call)] = plan
        for (handler, _style, _kind), hooks in adapted.items():
            for hook in hooks.values():
                if all(h.name.value != hook.name.value for h in self._hooks.get(handler, [])):
                    self._hooks.setdefault(handler, []).append(hook)
        for handler, count in converted.items():
            uses = sum(1 for n in _all_names(node) if n == handler) - 1  # minus the def
            if uses <= count:
                self._replace.add(handler)
        return True

    def _adapt(self, handler, style, kind, defs, kinds_of, adapted) -> dict[str, cst.FunctionDef]:
        if self.resolves_under(handler, NOTIFIERS):
            raise NotAdaptable("notifier")
        if not isinstance(handler, cst.Name):
            raise NotAdaptable("it is not a function defined in this module")
        fn = defs.get(handler.value)
        if fn is None or not self._is_local(handler):
            raise NotAdaptable("it is not a function defined in this module")
        key = (handler.value, style, kind)
        if key in adapted:
            return adapted[key]
        prefix = (
            handler.value if len(kinds_of.get(handler.value, ())) < 2 else f"{handler.value}_{kind}"
        )
        if style == "handler":
            obj, _old, new = _positional_names(fn, 3)
            bodies = adapt_state_handler(fn, self._classify)
            hooks = {
                event: build_hook(f"{prefix}_{event}", kind, body, obj, new, new)
                for event, body in bodies.items()
            }
        else:
            obj, state = _positional_names(fn, 2)
            hooks = {
                FAILURE: build_hook(
                    f"{prefix}_{FAILURE}", kind, list(fn.body.body), obj, state, None
                )
            }
        adapted[key] = hooks
        return hooks

    def _is_local(self, node: cst.Name) -> bool:
        qnames = self.get_metadata(QualifiedNameProvider, node, set())
        return any(q.source == QualifiedNameSource.LOCAL and q.name == node.value for q in qnames)

    def _classify(self, test: cst.BaseExpression, new: str) -> str | None:
        if not isinstance(test, cst.Call):
            return None
        func = test.func
        if (
            isinstance(func, cst.Attribute)
            and isinstance(func.value, cst.Name)
            and func.value.value == new
            and not test.args
        ):
            return _STATE_EVENTS.get(func.attr.value)
        if (
            isinstance(func, cst.Name)
            and func.value == "isinstance"
            and len(test.args) == 2
            and isinstance(test.args[0].value, cst.Name)
            and test.args[0].value.value == new
        ):
            return _STATE_CLASSES.get(self.prefect_name(test.args[1].value) or "")
        return None

    # ------------------------------------------------------------------ rewriting

    def leave_Call(self, original_node: cst.Call, updated_node: cst.Call) -> cst.Call:
        plan = self._calls.get(id(original_node))
        if plan is None:
            return updated_node
        for message in plan.removed:
            self.add_todo(message)
        args = list(updated_node.args)
        last_comma = args[-1].comma if args else cst.MaybeSentinel.DEFAULT
        new_args: list[cst.Arg] = []
        template: cst.Arg | None = None
        inserted = False
        for arg in args:
            keyword = arg.keyword.value if arg.keyword else None
            if keyword in plan.drop and (
                keyword != "on_failure" or not isinstance(arg.value, cst.List)
            ):
                template = template or arg
                if not inserted:
                    new_args += self._event_args(plan, arg, args, updated_node)
                    inserted = True
                continue
            if keyword in plan.events and isinstance(arg.value, cst.List):
                continue  # merged into the new list below
            new_args.append(arg)
        if new_args:
            new_args[-1] = new_args[-1].with_changes(comma=last_comma)
        self.mark_applied()
        return updated_node.with_changes(args=new_args)

    def _event_args(
        self, plan: _CallPlan, template: cst.Arg, args: list[cst.Arg], call: cst.Call
    ) -> list[cst.Arg]:
        out = []
        for event in (FAILURE, COMPLETION):
            names = plan.events.get(event)
            if not names:
                continue
            elements: list[cst.BaseElement] = []
            existing = next(
                (
                    a
                    for a in args
                    if a.keyword and a.keyword.value == event and isinstance(a.value, cst.List)
                ),
                None,
            )
            if existing is not None:
                elements += [
                    e.with_changes(comma=cst.MaybeSentinel.DEFAULT) for e in existing.value.elements
                ]
            elements += [cst.Element(cst.Name(n)) for n in names]
            out.append(template.with_changes(keyword=cst.Name(event), value=cst.List(elements)))
        if len(out) == 2:
            # Between the two new arguments: the separator that followed the template, or (when
            # it was the last argument) the one after ``(`` -- keeps one-argument-per-line calls.
            between = template.comma
            if template is args[-1]:
                ws = call.whitespace_before_args
                between = (
                    cst.Comma(whitespace_after=ws)
                    if isinstance(ws, cst.ParenthesizedWhitespace)
                    else cst.MaybeSentinel.DEFAULT
                )
            out[0] = out[0].with_changes(comma=between)
        return out

    def leave_FunctionDef(self, original_node, updated_node):
        name = original_node.name.value
        hooks = self._hooks.pop(name, None) if self._is_top_level(original_node) else None
        if not hooks:
            return updated_node
        self.mark_applied()
        if name in self._replace:
            first = hooks[0].with_changes(leading_lines=updated_node.leading_lines)
            return cst.FlattenSentinel([first, *hooks[1:]])
        return cst.FlattenSentinel([updated_node, *hooks])

    def _is_top_level(self, node: cst.FunctionDef) -> bool:
        return self.source_module is not None and any(s is node for s in self.source_module.body)

    def leave_Module(self, original_node, updated_node):
        if self._calls:
            remove_p1_imports(
                self,
                original_node,
                lambda q: q.startswith(NOTIFIERS + ".") or q in _STATE_CLASSES,
            )
        return updated_node


def _p1_on_failure(call: cst.Call) -> bool:
    """``on_failure=h`` (Prefect 1: one callable) as opposed to Prefect 2's list."""
    arg = get_arg(call, "on_failure")
    return arg is not None and not isinstance(arg.value, (cst.List, cst.Tuple))


def _handler_elements(call: cst.Call) -> list[tuple[str, cst.BaseExpression]]:
    out: list[tuple[str, cst.BaseExpression]] = []
    arg = get_arg(call, "state_handlers")
    if arg is not None:
        if isinstance(arg.value, (cst.List, cst.Tuple)):
            out += [("handler", e.value) for e in arg.value.elements if isinstance(e, cst.Element)]
        else:
            out.append(("handler", arg.value))
    if _p1_on_failure(call):
        out.append(("on_failure", get_arg(call, "on_failure").value))
    return out


def _all_names(node: cst.CSTNode) -> list[str]:
    out: list[str] = []

    class Collect(cst.CSTVisitor):
        def visit_Name(self, n: cst.Name) -> None:
            out.append(n.value)

    node.visit(Collect())
    return out


RULE = StateHandlersRule
