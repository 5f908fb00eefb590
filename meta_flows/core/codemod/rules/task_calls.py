"""PF005 task_calls: Prefect 1 task-call conventions become Prefect 2 ones (§4).

Runs after PF002, so calls live in ``@flow`` functions; every function is handled.

Before::

    with Flow("etl") as flow:
        rows = extract()
        load(rows, upstream_tasks=[rows], task_args=dict(name="load-rows", max_retries=2))

After (with PF002)::

    @flow(name="etl")
    def etl():
        rows = extract()
        return load.with_options(name="load-rows", retries=2)(rows, wait_for=[rows])

- A: ``b(x, upstream_tasks=[a])`` -> ``b(x, wait_for=[a])``. Prefect 2.20 accepts plain values in
  ``wait_for`` (they are ignored; futures and states are waited on), so every entry is kept.
- C: ``.map(..., upstream_tasks=[...])``: Prefect 1 maps over every upstream task not wrapped in
  ``unmapped`` (child i waits for its item i; the map is as long as its shortest input, upstream
  tasks included), Prefect 2 passes ``wait_for`` whole to every child. ``unmapped(a)`` entries
  become ``wait_for=[a]``; a mapped ``u`` also goes to ``wait_for`` (every child waits for all of
  it, not only its item) and cuts the mapped arguments to the shortest input:
  ``t.map([item for item, _ in zip(xs, u)], wait_for=[u])``. Without mapped arguments,
  ``[t.submit(wait_for=[upstream]) for upstream in u]``. An upstream task given uncalled is
  called. Not a literal list: TODO (H).
- C: a task given uncalled (``t(other)``, ``m.map(other)``, ``upstream_tasks=[other]``,
  ``case(other, v)``): Prefect 1 bound it into the flow, ran it once per flow run and passed its
  result; a Prefect 2 task object is a function that never runs. A single use outside loops
  becomes ``other()`` in place (in the case branch it was in); several uses, uses in loops and
  mapped upstream tasks (read twice by their rewrite) get ``other_result = other()`` before the
  first top-level statement using it. Only names that resolve to tasks (``@task`` functions,
  and module-level instances of the library tasks PF013 turns into ``@task`` defs: ``ShellTask``,
  ``StringFormatter``, ``JinjaTemplate``, ``FunctionTask``); uses in several branches
  or under ``if``/``try``/``while`` (unless the first use is a plain top-level statement, before
  which the call goes): one TODO, the code as it was (H).
- A: ``t(x, task_args=dict(name="x", max_retries=2))`` -> ``t.with_options(name="x", retries=2)(x)``
  (options mapped like PF004).
- C: ``t.map(xs=[1, 2, 3], ys=[4, 5])`` whose mapped arguments are all literal lists or tuples
  of different lengths: Prefect 1 zipped them (the map as long as the shortest input), Prefect 2
  raises MappingLengthMismatch; the longer literals are cut to the shortest (``[1, 2, 3][:2]``).
- A: ``t.copy(max_retries=2, name="x")`` (Prefect 1: a copy with those attributes set) ->
  ``t.with_options(retries=2, name="x")``, options mapped like PF004; ``t.copy(**opts)``: TODO.
- C: ``flatten(xs)`` -> ``_prefect1_flatten(xs)``, or ``_prefect1_flatten(xs, mapped=True)`` when
  ``xs`` is the list of futures of a ``.map(...)``: a helper written once into the module that
  does what Prefect 1 did -- one level of nesting removed from a list of lists (anything else
  passed unchanged), or from the children of a map (a child that is no sequence kept whole).
- C: a module-level task reading ``prefect.context.map_index`` (Prefect 2 gives a mapped run no
  index) takes it as a parameter ``map_index=None``; each ``t.map(xs, ...)`` of it passes
  ``map_index=range(len(xs))``. Only when the task is used by calls of this module alone and every
  ``.map`` has a mapped argument that can be read twice (see
  :mod:`meta_flows.core.codemod.analysis.map_index`); otherwise PF007's TODO stays (H).
- C: ``apply_map(fn, xs, y=unmapped(c))`` -> ``[fn(x, y=c) for x in xs]`` when ``fn`` is a function
  of this module without ``case``; H otherwise.
- C: ``t.run(x)`` -> ``t.fn(x)`` and a task called at module level outside any flow ``t(x)`` ->
  ``t.fn(x)`` (only for names that provably are tasks).
- A: ``b.set_upstream(a)`` / ``a.set_downstream(b)`` where the rewritten call order already
  satisfies the dependency is removed, with no TODO: in a ``@flow`` function's body (``with``
  blocks included, e.g. a Prefect 1 resource manager's) ``a`` and ``b`` are each assigned once, from a direct call (not ``.map``/``.submit``, which return futures), and
  ``a``'s call comes first -- a direct call returns once its task run is over, and a failing ``a``
  raises before ``b`` is called (Prefect 1's default trigger; a ``b`` with another trigger keeps
  its edges under the TODO below, PF009 flags the trigger).
- H: other ``set_upstream``/``set_downstream`` statements (``key=`` data edges between results,
  the upstream called later) stay as code under a TODO (Prefect 2 tasks and values have no such
  methods: AttributeError when the flow runs): order the calls or pass ``wait_for=``, then delete
  them. Consecutive ones share the TODO of the first. (The ones wiring tasks given uncalled in a
  ``with Flow(...)`` body became task calls in PF002.)
- C: operators and aggregations on the list of futures a ``.map(...)`` returned get a TODO.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import libcst as cst
from libcst.metadata import QualifiedNameProvider

from meta_flows.core.codemod.analysis.map_index import KEY as MAP_INDEX
from meta_flows.core.codemod.analysis.map_index import MapIndexPlan, plan_map_index
from meta_flows.core.codemod.analysis.scope import stored_names
from meta_flows.core.codemod.analysis.uses import dependency_call
from meta_flows.core.codemod.base import (
    SCRATCH_TRIGGERED,
    Rule,
    code_of,
    get_arg,
    insert_helper,
    with_todo,
)
from meta_flows.core.codemod.options import P2_WITH_OPTIONS, convert_options
from meta_flows.core.codemod.rules.task_library import DEFINED_AS_TASKS, library_key
from meta_flows.core.codemod.sweep import sweep_block

_COMMA = cst.Comma(whitespace_after=cst.SimpleWhitespace(" "))
_EQ = cst.AssignEqual(
    whitespace_before=cst.SimpleWhitespace(""), whitespace_after=cst.SimpleWhitespace("")
)
FLATTEN_HELPER = "_prefect1_flatten"
FLATTEN_HELPER_CODE = f'''def {FLATTEN_HELPER}(value, mapped=False):
    """Prefect 1's flatten(): one level of nesting removed from a task's result (a list of lists;
    anything else passed unchanged) or from the children of a .map (the futures it returned; a
    child that is no sequence is kept whole)."""
    if not mapped:
        try:
            return [item for sub in value for item in sub]
        except TypeError:
            return value
    flat = []
    for future in value:
        child = future.result()
        if hasattr(child, "__len__") and hasattr(child, "__getitem__"):
            flat.extend(child[i] for i in range(len(child)))
        else:
            flat.append(child)
    return flat
'''
_AGGREGATES = frozenset(
    {"sum", "sorted", "min", "max", "set", "tuple", "any", "all", "print", "str"}
)


# keyword arguments of Prefect 1's / Prefect 2's .map that are not mapped over
_NOT_MAPPED = frozenset({"task_args", "flow", "upstream_tasks", "wait_for", "return_state"})


def _is_map_call(node: cst.BaseExpression) -> bool:
    return (
        isinstance(node, cst.Call)
        and isinstance(node.func, cst.Attribute)
        and node.func.attr.value == "map"
    )


class TaskCallsRule(Rule):
    """Task call conventions: upstream_tasks, set_upstream, task_args, flatten, apply_map (§4)."""

    CODE = "PF005"
    NAME = "task-calls"
    DESCRIPTION = (
        "task call conventions: upstream_tasks, set_upstream, task_args, flatten, apply_map (§4)"
    )
    TRIGGERS = ()

    def __init__(self, context) -> None:
        super().__init__(context)
        self._local_tasks: set[str] = set()
        self._functions: dict[str, cst.FunctionDef] = {}
        self._func_stack: list[cst.FunctionDef] = []
        self._class_depth = 0
        self._mapped: list[set[str]] = []
        # per function: (id of each top-level body statement -> index, name -> index of the
        # statement assigning it from a direct call, for names assigned once, name -> callee)
        self._order: list[tuple[dict[int, int], dict[str, int], dict[str, str]]] = []
        self.removed: set[int] = set()
        self.emptied: set[int] = set()
        self._runs: dict[int, int] = {}  # first unsatisfied dependency statement -> how many follow
        self._grouped: set[int] = set()  # the ones that follow (no TODO of their own)
        # tasks given uncalled in @flow bodies (see _plan_uncalled)
        self._uncalled: dict[int, cst.BaseExpression] = {}
        self._uncalled_todos: dict[int, str] = {}
        self._hoists: list[dict[int, list[cst.SimpleStatementLine]]] = []
        self._taken: set[str] = set()
        self._index = MapIndexPlan()  # tasks reading prefect.context.map_index
        self._need_flatten = False

    # ------------------------------------------------------------------ knowledge

    def visit_Module(self, node: cst.Module) -> bool:
        super().visit_Module(node)
        self._taken = {n.value for n in _names_in(node)}
        for stmt in node.body:
            if isinstance(stmt, cst.FunctionDef):
                self._functions[stmt.name.value] = stmt
                if any(self.is_prefect(d.decorator, "prefect.task") for d in stmt.decorators):
                    self._local_tasks.add(stmt.name.value)
            elif isinstance(stmt, cst.SimpleStatementLine):
                for small in stmt.body:
                    if isinstance(small, cst.Assign) and isinstance(small.value, cst.Call):
                        value = small.value
                        is_task = (
                            (self.is_prefect(value.func, "prefect.task") and value.args)
                            or (
                                isinstance(value.func, cst.Attribute)
                                and value.func.attr.value in ("with_options", "copy")
                                and isinstance(value.func.value, cst.Name)
                                and value.func.value.value in self._local_tasks
                            )
                            # a library task PF013 turns into a @task def (ShellTask ...)
                            or library_key(self.prefect_name(value.func))
                            in (*DEFINED_AS_TASKS, ("core", "FunctionTask"))
                        )
                        if is_task:
                            for t in small.targets:
                                if isinstance(t.target, cst.Name):
                                    self._local_tasks.add(t.target.value)
        self._index = plan_map_index(self, node, self._local_tasks)
        return True

    def is_task(self, node: cst.BaseExpression) -> bool:
        """``node`` provably names a task (a module-level @task here, or one the project knows)."""
        if isinstance(node, cst.Call):  # t.with_options(...), Prefect 1's t.copy(...)
            func = node.func
            return (
                isinstance(func, cst.Attribute)
                and func.attr.value in ("with_options", "copy")
                and self.is_task(func.value)
            )
        if not isinstance(node, (cst.Name, cst.Attribute)):
            return False
        try:
            qnames = self.get_metadata(QualifiedNameProvider, node, set())
        except KeyError:
            return False
        module = self.context.full_module_name or "__main__"
        for q in qnames:
            if q.source.name == "LOCAL":
                if q.name in self._local_tasks or f"{module}.{q.name}" in self.project.tasks:
                    return True
            elif q.name in self.project.tasks:
                return True
        return False

    def _in_flow(self) -> bool:
        return any(
            any(self.is_prefect(d.decorator, "prefect.flow") for d in f.decorators)
            for f in self._func_stack
        )

    def visit_FunctionDef(self, node: cst.FunctionDef) -> None:
        self._func_stack.append(node)
        self._mapped.append(_mapped_names(node))
        self._order.append(_call_order(node))
        hoist: dict[int, list[cst.SimpleStatementLine]] = {}
        if any(self.is_prefect(d.decorator, "prefect.flow") for d in node.decorators):
            plan = _plan_uncalled(self, node, self._taken)
            self._uncalled.update(plan.replace)
            self._uncalled_todos.update(plan.todos)
            hoist = plan.hoist
        self._hoists.append(hoist)

    def leave_FunctionDef(self, original_node, updated_node):
        self._func_stack.pop()
        if (
            not self._func_stack
            and not self._class_depth
            and original_node.name.value in self._index.tasks
        ):
            updated_node = _with_map_index(updated_node)
            self.mark_applied()
        self._mapped.pop()
        self._order.pop()
        hoist = self._hoists.pop()
        if hoist and isinstance(updated_node.body, cst.IndentedBlock):
            stmts: list[cst.BaseStatement] = []
            for i, stmt in enumerate(updated_node.body.body):
                lines = hoist.get(i, [])
                if lines:
                    lines = [lines[0].with_changes(leading_lines=stmt.leading_lines), *lines[1:]]
                    stmt = stmt.with_changes(leading_lines=[])
                stmts.extend([*lines, stmt])
            updated_node = updated_node.with_changes(
                body=updated_node.body.with_changes(body=stmts)
            )
            self.mark_applied()
        if self.removed and isinstance(updated_node.body, cst.IndentedBlock):
            updated_node = updated_node.with_changes(body=sweep_block(self, updated_node.body))
        return updated_node

    def _satisfied(self, stmt: cst.SimpleStatementLine, call: cst.Call) -> bool:
        """``b.set_upstream(a)`` / ``a.set_downstream(b)`` at the top of a flow body, where ``a``
        and ``b`` are assigned once from direct calls and ``a``'s comes first."""
        if not self._func_stack or not any(
            self.is_prefect(d.decorator, "prefect.flow") for d in self._func_stack[-1].decorators
        ):
            return False
        positions, calls, callees = self._order[-1]
        if id(stmt) not in positions or len(call.args) != 1:
            return False
        arg = call.args[0]
        receiver = call.func.value
        if arg.keyword is not None or arg.star or not isinstance(arg.value, cst.Name):
            return False
        if not isinstance(receiver, cst.Name):
            return False
        up, down = arg.value.value, receiver.value
        if call.func.attr.value == "set_downstream":
            up, down = down, up
        if up not in calls or down not in calls:
            return False
        if callees[down] in self.context.scratch.get(SCRATCH_TRIGGERED, ()):
            return False  # a trigger other than all_successful: its edges are more than an order
        return calls[up] < calls[down]

    def leave_With(self, original_node, updated_node):
        # dependency statements the call order satisfies, removed from a with block's body
        if self.removed and isinstance(updated_node.body, cst.IndentedBlock):
            return updated_node.with_changes(body=sweep_block(self, updated_node.body))
        return updated_node

    def visit_ClassDef(self, node) -> None:
        self._class_depth += 1

    def leave_ClassDef(self, original_node, updated_node):
        self._class_depth -= 1
        return updated_node

    # ------------------------------------------------------------------ statements

    def _dependency_call(self, stmt: cst.CSTNode) -> cst.Call | None:
        """The call of a ``x.set_upstream(...)`` / ``x.set_downstream(...)`` statement on a task
        (or in a flow), else None."""
        call = dependency_call(stmt)
        if call is None:
            return None
        if not (self._in_flow() or self.is_task(call.func.value)):
            return None
        return call

    def visit_IndentedBlock(self, node: cst.IndentedBlock) -> None:
        """Consecutive dependency statements the call order does not satisfy share one TODO
        (on the first): one root cause, however many edges."""
        run: list[cst.CSTNode] = []
        for stmt in [*node.body, None]:
            call = self._dependency_call(stmt) if stmt is not None else None
            if call is not None:
                if not self._satisfied(stmt, call):
                    run.append(stmt)
                continue
            if run:
                self._runs[id(run[0])] = len(run) - 1
                self._grouped.update(id(s) for s in run[1:])
            run = []

    def leave_SimpleStatementLine(self, original_node, updated_node):
        call = self._dependency_call(original_node)
        if call is None:
            return updated_node
        if self._satisfied(original_node, call):
            self.removed.add(self.new_node_id(updated_node))
            self.mark_applied()
            return updated_node
        if id(original_node) in self._grouped:  # under the TODO of the first of its run
            return updated_node
        more = self._runs.get(id(original_node), 0)
        what = (
            f"{call.func.attr.value}() does not exist"
            if not more
            else f"set_upstream()/set_downstream() do not exist (this and the {more} "
            f"statement{'s' if more > 1 else ''} below)"
        )
        it = "it" if not more else "them"
        return with_todo(
            updated_node,
            self.CODE,
            f"{what} in Prefect 2 (AttributeError when the flow runs): call the upstream task "
            f"first (calls run in order) or pass wait_for=[<its future>] to the downstream call, "
            f"then delete {it}",
        )

    # ------------------------------------------------------------------ tasks given uncalled

    def visit_Name(self, node: cst.Name) -> None:
        todo = self._uncalled_todos.get(id(node))
        if todo is not None:
            self.add_todo(todo)

    def visit_Attribute(self, node: cst.Attribute) -> None:
        self.visit_Name(node)

    def leave_Name(self, original_node, updated_node):
        new = self._uncalled.get(id(original_node))
        if new is None:
            return updated_node
        self.mark_applied()
        return new

    def leave_Attribute(self, original_node, updated_node):
        if id(original_node) in self._index.reads:
            self.mark_applied()
            return cst.Name(MAP_INDEX)
        return self.leave_Name(original_node, updated_node)

    def leave_Subscript(self, original_node, updated_node):
        if id(original_node) in self._index.reads:
            self.mark_applied()
            return cst.Name(MAP_INDEX)
        return updated_node

    # ------------------------------------------------------------------ calls

    def leave_Call(self, original_node: cst.Call, updated_node: cst.Call) -> cst.BaseExpression:
        if id(original_node) in self._index.reads:
            self.mark_applied()
            return cst.Name(MAP_INDEX)
        new = self._leave_call(original_node, updated_node)
        length = self._index.lengths.get(id(original_node))
        if length is not None and isinstance(new, cst.Call):
            # Prefect 2 gives a mapped run no index: the task takes it as a parameter
            args = list(new.args)
            # the layout of the call: the separator of its arguments, its trailing comma
            between = args[-2].comma if len(args) > 1 else _COMMA
            if len(args) == 1 and isinstance(
                new.whitespace_before_args, cst.ParenthesizedWhitespace
            ):
                between = cst.Comma(whitespace_after=new.whitespace_before_args)  # one per line
            trailing = args[-1].comma
            args[-1] = args[-1].with_changes(
                comma=between if isinstance(between, cst.Comma) else _COMMA
            )
            index = cst.parse_expression(f"range(len({code_of(length)}))")
            arg = cst.Arg(keyword=cst.Name(MAP_INDEX), value=index, equal=_EQ, comma=trailing)
            new = new.with_changes(args=[*args, arg])
            self.mark_applied()
        return new

    def _leave_call(self, original_node: cst.Call, updated_node: cst.Call) -> cst.BaseExpression:
        func = original_node.func
        if (
            isinstance(func, cst.Attribute)
            and func.attr.value == "copy"
            and self.is_task(func.value)
        ):
            return self._copy(original_node, updated_node)
        if self.is_prefect(func, "prefect.flatten"):
            return self._flatten(original_node, updated_node)
        if self.is_prefect(func, "prefect.apply_map"):
            return self._apply_map(original_node, updated_node)

        task_callee = self._task_callee(func)
        if (
            task_callee in (None, "flow-call")
            and self._in_flow()
            and self._mapped
            and self._mapped[-1]
        ):
            self._flag_aggregate(original_node)
        if task_callee is None:
            return updated_node
        new = updated_node
        kw_names = {a.keyword.value for a in original_node.args if a.keyword is not None}
        if _is_map_call(original_node) and "upstream_tasks" not in kw_names:
            new = self._cut_literals(original_node, new)
        if "upstream_tasks" in kw_names and _is_map_call(original_node):
            return self._mapped_upstream(original_node, new)
        if "upstream_tasks" in kw_names:
            new = new.with_changes(
                args=[
                    a.with_changes(keyword=cst.Name("wait_for"))
                    if a.keyword is not None and a.keyword.value == "upstream_tasks"
                    else a
                    for a in new.args
                ]
            )
            self.mark_applied()
        if "task_args" in kw_names and not _is_map_call(original_node):
            new = self._task_args(original_node, new)
        if (
            isinstance(func, cst.Attribute)
            and func.attr.value == "run"
            and self.is_task(func.value)
        ):
            self.mark_applied()
            return new.with_changes(func=new.func.with_changes(attr=cst.Name("fn")))
        if not self._func_stack and not self._class_depth and task_callee == "call":
            self.mark_applied()
            return new.with_changes(func=cst.Attribute(value=new.func, attr=cst.Name("fn")))
        return new

    def _mapped_upstream(self, original: cst.Call, updated: cst.Call) -> cst.BaseExpression:
        """``t.map(xs, upstream_tasks=[...])``: Prefect 1 maps over each upstream task not
        wrapped in ``unmapped`` (child i waits for the upstream's item i, the map is as long as
        the shortest input, a result that is not a list fails the task), while Prefect 2's
        ``wait_for`` makes every child wait for all of it. ``unmapped`` entries become
        ``wait_for=`` of the ``.map``; mapped ones a comprehension over ``zip`` of the inputs
        submitting one task run per item."""
        ups = next(a for a in updated.args if a.keyword and a.keyword.value == "upstream_tasks")
        orig_ups = next(
            a for a in original.args if a.keyword and a.keyword.value == "upstream_tasks"
        )
        if not isinstance(ups.value, (cst.List, cst.Tuple)) or any(a.star for a in updated.args):
            self.add_todo(
                "upstream_tasks= of .map() is not a literal list: Prefect 1 mapped over the "
                "upstream tasks not wrapped in unmapped() (child i waited for their item i), "
                "Prefect 2's wait_for= makes every child wait for all of them: rewrite it by hand"
            )
            return updated
        static: list[cst.BaseExpression] = []
        mapped: list[cst.BaseExpression] = []
        for el, orig_el in zip(ups.value.elements, orig_ups.value.elements, strict=True):
            if isinstance(el, cst.StarredElement):
                self.add_todo(
                    "upstream_tasks= of .map() with a starred entry: rewrite it by hand "
                    "(Prefect 1 mapped over upstream tasks not wrapped in unmapped())"
                )
                return updated
            if self._is_unmapped(orig_el.value):
                static.append(el.value.args[0].value)
                self.remove_import_if_unused("prefect", "unmapped")  # if that was its only use
                self.remove_import_if_unused("prefect.utilities.edges", "unmapped")
            elif id(orig_el.value) in self._uncalled:
                mapped.append(el.value)  # a task given uncalled, already called (once)
            else:
                mapped.append(el.value)
        self.mark_applied()
        if not mapped:
            wait = cst.List(
                elements=[cst.Element(v, comma=_COMMA) for v in static[:-1]]
                + [cst.Element(v) for v in static[-1:]]
            )
            return updated.with_changes(
                args=[
                    a.with_changes(keyword=cst.Name("wait_for"), value=wait) if a is ups else a
                    for a in updated.args
                ]
            )
        waits = [*mapped, *static]
        mapped_args = [
            i
            for i, (orig_a, a) in enumerate(zip(original.args, updated.args, strict=True))
            if a is not ups and not self._is_unmapped(orig_a.value)
        ]
        if not mapped_args:
            # only upstream tasks to map over: one run per item of theirs, without arguments
            taken = {n.value for n in _names_in(updated)}
            loop_vars = []
            for _ in mapped:
                var, n = "upstream", 2
                while var in taken:
                    var, n = f"upstream{n}", n + 1
                taken.add(var)
                loop_vars.append(var)
            source = (
                code_of(mapped[0])
                if len(mapped) == 1
                else f"zip({', '.join(code_of(v) for v in mapped)})"
            )
            wait = ", ".join([*loop_vars, *(code_of(v) for v in static)])
            return cst.parse_expression(
                f"[{code_of(updated.func.value)}.submit(wait_for=[{wait}]) "
                f"for {', '.join(loop_vars)} in {source}]"
            )
        # each mapped argument cut to the shortest input, upstream tasks included
        inputs = [updated.args[i].value for i in mapped_args] + mapped
        zipped = f"zip({', '.join(code_of(v) for v in inputs)})"
        cut: dict[int, cst.BaseExpression] = {}
        for k, i in enumerate(mapped_args):
            if len(inputs) == 2:
                pattern = "item, _" if k == 0 else "_, item"
                cut[i] = cst.parse_expression(f"[item for {pattern} in {zipped}]")
            else:
                cut[i] = cst.parse_expression(f"[items[{k}] for items in {zipped}]")
        args = []
        for i, a in enumerate(updated.args):
            if a is ups:
                wait = cst.List(
                    elements=[cst.Element(v, comma=_COMMA) for v in waits[:-1]]
                    + [cst.Element(waits[-1])]
                )
                args.append(a.with_changes(keyword=cst.Name("wait_for"), value=wait))
            elif i in cut:
                args.append(a.with_changes(value=cut[i]))
            else:
                args.append(a)
        return updated.with_changes(args=args)

    def _cut_literals(self, original: cst.Call, updated: cst.Call) -> cst.Call:
        """``t.map(xs=[1, 2, 3], ys=[4, 5])``: Prefect 1 zipped the mapped arguments (the map as
        long as the shortest), Prefect 2 raises MappingLengthMismatch. When every mapped argument
        is a literal list or tuple and their lengths differ, the longer ones are cut
        (``[1, 2, 3][:2]``)."""
        lengths: dict[int, int] = {}
        for i, arg in enumerate(original.args):
            if arg.keyword is not None and arg.keyword.value in _NOT_MAPPED:
                continue
            if arg.star:
                return updated
            if self._is_unmapped(arg.value):
                continue
            value = arg.value
            if not isinstance(value, (cst.List, cst.Tuple)) or any(
                isinstance(el, cst.StarredElement) for el in value.elements
            ):
                return updated
            lengths[i] = len(value.elements)
        if len(set(lengths.values())) < 2:
            return updated
        n = min(lengths.values())
        args = list(updated.args)
        for i, length in lengths.items():
            if length > n:
                value = args[i].value
                if isinstance(value, cst.Tuple) and not value.lpar:
                    value = value.with_changes(lpar=[cst.LeftParen()], rpar=[cst.RightParen()])
                args[i] = args[i].with_changes(
                    value=cst.Subscript(
                        value=value,
                        slice=[
                            cst.SubscriptElement(
                                slice=cst.Slice(lower=None, upper=cst.Integer(str(n)))
                            )
                        ],
                    )
                )
        self.mark_applied()
        return updated.with_changes(args=args)

    def _is_unmapped(self, node: cst.BaseExpression) -> bool:
        return (
            isinstance(node, cst.Call)
            and len(node.args) == 1
            and not node.args[0].keyword
            and self.is_prefect(node.func, "prefect.unmapped")
        )

    def _task_callee(self, func: cst.BaseExpression) -> str | None:
        """ "call" for ``t(...)``, "method" for ``t.map/.run/.submit(...)``, else None."""
        if self.is_task(func):
            return "call"
        if isinstance(func, cst.Attribute) and func.attr.value in ("map", "run", "submit"):
            if self.is_task(func.value):
                return "method"
        if self._in_flow() and isinstance(func, (cst.Name, cst.Attribute)):
            # Inside a flow, a call with Prefect 1 task-call keywords is a task call.
            return "flow-call"
        return None

    def _task_args(self, original: cst.Call, updated: cst.Call) -> cst.Call:
        arg = next(
            a for a in original.args if a.keyword is not None and a.keyword.value == "task_args"
        )
        options = _dict_args(arg.value)
        if options is None:
            self.add_todo(
                f"`task_args={code_of(arg.value)}` is not a literal dict: call "
                f"{code_of(original.func)}.with_options(...) with Prefect 2 options by hand"
            )
            return updated
        label = None
        converted = convert_options(self, options, label=label, allowed=P2_WITH_OPTIONS)
        for todo in converted.todos:
            self.add_todo(todo)
        kept = [
            a
            for a in updated.args
            if not (a.keyword is not None and a.keyword.value == "task_args")
        ]
        if kept:
            kept[-1] = kept[-1].with_changes(comma=cst.MaybeSentinel.DEFAULT)
        self.mark_applied()
        if not converted.args:
            return updated.with_changes(args=kept)
        opts = [a.with_changes(comma=_COMMA) for a in converted.args]
        opts[-1] = opts[-1].with_changes(comma=cst.MaybeSentinel.DEFAULT)
        func = cst.Call(
            func=cst.Attribute(value=updated.func, attr=cst.Name("with_options")), args=opts
        )
        return updated.with_changes(func=func, args=kept)

    def _copy(self, original: cst.Call, updated: cst.Call) -> cst.BaseExpression:
        """Prefect 1's ``t.copy(**task_args)`` (a copy with those attributes set): Prefect 2's
        ``t.with_options(...)``, the options mapped as in §3."""
        if any(a.keyword is None for a in original.args):
            self.add_todo(
                f"`{code_of(original)}`: Prefect 2 tasks have no copy(); call "
                f"{code_of(original.func.value)}.with_options(...) with Prefect 2 options (§3)"
            )
            return updated
        converted = convert_options(self, original.args, allowed=P2_WITH_OPTIONS)
        for todo in converted.todos:
            self.add_todo(todo)
        self.mark_applied()
        args = converted.args if converted.changed else updated.args
        if args:
            args = [*args[:-1], args[-1].with_changes(comma=cst.MaybeSentinel.DEFAULT)]
        return updated.with_changes(
            func=updated.func.with_changes(attr=cst.Name("with_options")), args=args
        )

    def _flatten(self, original: cst.Call, updated: cst.Call) -> cst.BaseExpression:
        if len(original.args) != 1 or original.args[0].keyword or original.args[0].star:
            self.add_todo("flatten() with unexpected arguments: flatten the list by hand")
            return updated
        value = updated.args[0].value
        futures = _is_map_call(original.args[0].value) or (
            isinstance(original.args[0].value, cst.Name)
            and bool(self._mapped)
            and original.args[0].value.value in self._mapped[-1]
        )
        self.mark_applied()
        self._need_flatten = True
        self.remove_import_if_unused("prefect", "flatten")
        self.remove_import_if_unused("prefect.utilities.edges", "flatten")
        args = [cst.Arg(value)]
        if futures:
            args = [
                cst.Arg(value, comma=_COMMA),
                cst.Arg(keyword=cst.Name("mapped"), value=cst.Name("True"), equal=_EQ),
            ]
        return cst.Call(func=cst.Name(FLATTEN_HELPER), args=args)

    def leave_Module(self, original_node: cst.Module, updated_node: cst.Module) -> cst.Module:
        if self._need_flatten:
            updated_node = insert_helper(updated_node, FLATTEN_HELPER, FLATTEN_HELPER_CODE)
        return updated_node

    def _apply_map(self, original: cst.Call, updated: cst.Call) -> cst.BaseExpression:
        args = list(updated.args)
        if not args or args[0].keyword or args[0].star:
            self.add_todo("apply_map() with unexpected arguments: loop over the items by hand")
            return updated
        fn = args[0].value
        target = self._functions.get(fn.value) if isinstance(fn, cst.Name) else None
        if target is None or _uses_case(self, target):
            self.add_todo(
                f"apply_map({code_of(fn)}, ...): call {code_of(fn)} in a for loop per item; it uses "
                "case/conditional tasks or is not a function of this module, so do it by hand"
            )
            return updated
        mapped, call_args = [], []
        for i, (orig, a) in enumerate(zip(original.args[1:], args[1:], strict=False)):
            value = a.value
            if a.star:
                self.add_todo("apply_map() with *args/**kwargs: loop over the items by hand")
                return updated
            if isinstance(orig.value, cst.Call) and self.is_prefect(
                orig.value.func, "prefect.unmapped"
            ):
                fixed = value.args[0].value
            else:
                var = f"item{i}" if len(args) > 2 else "item"
                mapped.append((var, value))
                fixed = cst.Name(var)
            call_args.append(
                cst.Arg(
                    keyword=a.keyword,
                    value=fixed,
                    equal=_EQ if a.keyword else cst.MaybeSentinel.DEFAULT,
                )
            )
        if not mapped:
            self.add_todo("apply_map() without a mapped argument: loop over the items by hand")
            return updated
        call = code_of(
            cst.Call(
                func=fn,
                args=[c.with_changes(comma=_COMMA) for c in call_args[:-1]] + call_args[-1:],
            )
        )
        if len(mapped) == 1:
            loop = f"for {mapped[0][0]} in {code_of(mapped[0][1])}"
        else:
            loop = f"for {', '.join(v for v, _ in mapped)} in zip({', '.join(code_of(e) for _, e in mapped)})"
        self.mark_applied()
        self.remove_import_if_unused("prefect", "apply_map")
        self.remove_import_if_unused("prefect.utilities.tasks", "apply_map")
        self.remove_import_if_unused("prefect", "unmapped")
        self.remove_import_if_unused("prefect.utilities.edges", "unmapped")
        return cst.parse_expression(f"[{call} {loop}]")

    def _flag_aggregate(self, call: cst.Call) -> None:
        if isinstance(call.func, cst.Name) and call.func.value in _AGGREGATES:
            names = self._mapped[-1]
            for a in call.args:
                if isinstance(a.value, cst.Name) and a.value.value in names:
                    self.add_todo(
                        f"`{a.value.value}` is a list of futures from .map(): use "
                        f"[f.result() for f in {a.value.value}] to get the values"
                    )

    def visit_BinaryOperation(self, node: cst.BinaryOperation) -> None:
        self._flag_operands(node, (node.left, node.right))

    def visit_Comparison(self, node: cst.Comparison) -> None:
        self._flag_operands(node, (node.left, *(c.comparator for c in node.comparisons)))

    def _flag_operands(self, node, operands) -> None:
        if not self._mapped or not self._mapped[-1] or not self._in_flow():
            return
        for op in operands:
            if isinstance(op, cst.Name) and op.value in self._mapped[-1]:
                self.add_todo(
                    f"`{op.value}` is a list of futures from .map(): operators need values, use "
                    f"[f.result() for f in {op.value}]"
                )


def _with_map_index(fn: cst.FunctionDef) -> cst.FunctionDef:
    """``fn`` with a last parameter ``map_index=None`` (keyword-only after ``*args``)."""
    param = cst.Param(name=cst.Name(MAP_INDEX), default=cst.Name("None"), equal=_EQ)
    params = fn.params
    if isinstance(params.star_arg, cst.Param) or params.kwonly_params:
        kwonly = list(params.kwonly_params)
        if kwonly:
            kwonly[-1] = kwonly[-1].with_changes(comma=_COMMA)
        return fn.with_changes(params=params.with_changes(kwonly_params=[*kwonly, param]))
    regular = list(params.params)
    if regular:
        regular[-1] = regular[-1].with_changes(comma=_COMMA)
    if params.star_kwarg is not None:
        param = param.with_changes(comma=_COMMA)
    return fn.with_changes(params=params.with_changes(params=[*regular, param]))


def _names_in(node: cst.CSTNode) -> list[cst.Name]:
    class _All(cst.CSTVisitor):
        def __init__(self) -> None:
            self.found: list[cst.Name] = []

        def visit_Name(self, n: cst.Name) -> None:
            self.found.append(n)

    visitor = _All()
    node.visit(visitor)
    return visitor.found


def _dict_args(node: cst.BaseExpression) -> list[cst.Arg] | None:
    """``dict(a=1)`` or ``{"a": 1}`` as keyword arguments, else None."""
    if isinstance(node, cst.Call) and isinstance(node.func, cst.Name) and node.func.value == "dict":
        if all(a.keyword is not None and not a.star for a in node.args):
            return [a.with_changes(comma=_COMMA) for a in node.args]
        return None
    if isinstance(node, cst.Dict):
        out = []
        for el in node.elements:
            if not isinstance(el, cst.DictElement) or not isinstance(el.key, cst.SimpleString):
                return None
            key = el.key.evaluated_value
            if not isinstance(key, str) or not key.isidentifier():
                return None
            out.append(cst.Arg(keyword=cst.Name(key), value=el.value, equal=_EQ, comma=_COMMA))
        return out
    return None


def _sequence(statements) -> list[cst.CSTNode]:
    """``statements`` in the order they run, the bodies of ``with`` blocks included (a ``with``
    runs its body once, in order: only branches and loops make an order conditional)."""
    out: list[cst.CSTNode] = []
    for stmt in statements:
        out.append(stmt)
        if isinstance(stmt, cst.With) and isinstance(stmt.body, cst.IndentedBlock):
            out.extend(_sequence(stmt.body.body))
    return out


def _call_order(fn: cst.FunctionDef):
    """(statement id -> index, name -> index of its one assignment from a direct call, name ->
    the code of that call's callee) of ``fn``'s body: its top-level statements and those of the
    ``with`` blocks among them, in the order they run."""
    if not isinstance(fn.body, cst.IndentedBlock):
        return {}, {}, {}
    body = _sequence(fn.body.body)
    stores: dict[str, int] = {}
    for target in stored_names(fn.body):
        stores[target] = stores.get(target, 0) + 1
    calls: dict[str, int] = {}
    callees: dict[str, str] = {}
    for i, stmt in enumerate(body):
        if not (isinstance(stmt, cst.SimpleStatementLine) and len(stmt.body) == 1):
            continue
        small = stmt.body[0]
        if not isinstance(small, cst.Assign) or len(small.targets) != 1:
            continue
        target = small.targets[0].target
        value = small.value
        if (
            isinstance(target, cst.Name)
            and stores.get(target.value) == 1
            and isinstance(value, cst.Call)
            and not (
                isinstance(value.func, cst.Attribute)
                and value.func.attr.value in ("map", "submit", "map_async")
            )
        ):
            calls[target.value] = i
            callees[target.value] = code_of(value.func)
    return {id(s): i for i, s in enumerate(body)}, calls, callees


def _mapped_names(fn: cst.FunctionDef) -> set[str]:
    """Names assigned the result of a ``.map(...)`` call in ``fn``'s own body."""
    names: set[str] = set()
    for stmt in fn.body.body if isinstance(fn.body, cst.IndentedBlock) else ():
        if isinstance(stmt, cst.SimpleStatementLine):
            for small in stmt.body:
                if isinstance(small, cst.Assign) and _is_map_call(small.value):
                    for t in small.targets:
                        if isinstance(t.target, cst.Name):
                            names.add(t.target.value)
    return names


class _FindCase(cst.CSTVisitor):
    def __init__(self, rule: Rule) -> None:
        self.rule = rule
        self.found = False

    def visit_Name(self, node: cst.Name) -> None:
        if self.rule.resolves_under(node, "prefect.tasks.control_flow"):
            self.found = True


def _uses_case(rule: Rule, fn: cst.FunctionDef) -> bool:
    finder = _FindCase(rule)
    fn.visit(finder)
    return finder.found


# ---------------------------------------------------------------------- tasks given uncalled

_CASE = "prefect.tasks.control_flow.case"
# keywords of a Prefect 1 task call that are not task inputs
_CALL_OPTIONS = frozenset({"upstream_tasks", "task_args", "mapped", "flow"})


@dataclass
class _Use:
    """One place a flow body gives a task uncalled: Prefect 1 bound the task into the flow there
    (it ran once per flow run) and passed its result."""

    node: cst.BaseExpression  # the Name/Attribute naming the task
    top: int  # index of the flow body's top-level statement holding it
    path: tuple[str, ...]  # the blocks around it: "case", "loop", "cond"
    weight: int = 1  # a mapped upstream task is read twice by its rewrite
    callee: str = ""


class _UncalledFinder(cst.CSTVisitor):
    """The uncalled task arguments of one top-level statement of a ``@flow`` body."""

    def __init__(self, rule: TaskCallsRule, top: int, bound: set[str]) -> None:
        self.rule = rule
        self.top = top
        self.bound = bound
        self.path: list[str] = []
        self.uses: list[_Use] = []

    # blocks
    def _push(self, kind: str) -> bool:
        self.path.append(kind)
        return True

    def _pop(self, _node=None) -> None:
        self.path.pop()

    def visit_FunctionDef(self, node) -> bool:
        return False

    def visit_ClassDef(self, node) -> bool:
        return False

    def visit_Lambda(self, node) -> bool:
        return False

    def visit_For(self, node) -> bool:
        return self._push("loop")

    leave_For = _pop

    def visit_While(self, node) -> bool:
        return self._push("cond")

    leave_While = _pop

    def visit_If(self, node) -> bool:
        return self._push("cond")

    leave_If = _pop

    def visit_Try(self, node) -> bool:
        return self._push("cond")

    leave_Try = _pop

    def visit_ListComp(self, node) -> bool:
        return self._push("loop")

    leave_ListComp = _pop

    def visit_SetComp(self, node) -> bool:
        return self._push("loop")

    leave_SetComp = _pop

    def visit_DictComp(self, node) -> bool:
        return self._push("loop")

    leave_DictComp = _pop

    def visit_GeneratorExp(self, node) -> bool:
        return self._push("loop")

    leave_GeneratorExp = _pop

    def visit_With(self, node: cst.With) -> bool:
        for item in node.items:
            item.visit(self)
        is_case = any(
            isinstance(i.item, cst.Call) and self.rule.is_prefect(i.item.func, _CASE)
            for i in node.items
        )
        self.path.append("case" if is_case else "with")
        node.body.visit(self)
        self.path.pop()
        return False

    # uses
    def _candidate(self, node: cst.BaseExpression, callee: str, weight: int = 1) -> None:
        if isinstance(node, cst.Call) and self._is_unmapped(node):
            node = node.args[0].value
        if not isinstance(node, (cst.Name, cst.Attribute)):
            return
        if isinstance(node, cst.Name) and node.value in self.bound:
            return  # a local of the flow named like a task
        if self.rule.is_task(node):
            self.uses.append(_Use(node, self.top, tuple(self.path), weight, callee))

    def _is_unmapped(self, node: cst.Call) -> bool:
        return (
            len(node.args) == 1
            and not node.args[0].keyword
            and not node.args[0].star
            and self.rule.is_prefect(node.func, "prefect.unmapped")
        )

    def visit_Call(self, node: cst.Call) -> None:
        func = node.func
        if self.rule.is_prefect(func, _CASE):
            arg = get_arg(node, "task", 0)
            if arg is not None:
                self._candidate(arg.value, "case(...)")
            return
        kind = self.rule._task_callee(func)
        if kind not in ("call", "method"):
            return
        if kind == "method" and func.attr.value != "map":
            return  # .run(...) calls the function itself; .submit is Prefect 2's
        callee = f"{code_of(func)}(...)"
        is_map = kind == "method"
        for arg in node.args:
            if arg.star:
                continue
            key = arg.keyword.value if arg.keyword is not None else None
            if key == "upstream_tasks":
                if isinstance(arg.value, (cst.List, cst.Tuple)):
                    for el in arg.value.elements:
                        if isinstance(el, cst.StarredElement):
                            continue
                        mapped = is_map and not (
                            isinstance(el.value, cst.Call) and self._is_unmapped(el.value)
                        )
                        self._candidate(el.value, callee, 2 if mapped else 1)
                continue
            if key in _CALL_OPTIONS:
                continue
            value = arg.value
            if isinstance(value, (cst.List, cst.Tuple, cst.Set)):
                for el in value.elements:
                    if not isinstance(el, cst.StarredElement):
                        self._candidate(el.value, callee)
            elif isinstance(value, cst.Dict):
                for el in value.elements:
                    if isinstance(el, cst.DictElement):
                        self._candidate(el.value, callee)
            else:
                self._candidate(value, callee)


@dataclass
class _UncalledPlan:
    replace: dict[int, cst.BaseExpression] = field(default_factory=dict)  # id(node) -> new
    hoist: dict[int, list[cst.SimpleStatementLine]] = field(default_factory=dict)  # top -> lines
    todos: dict[int, str] = field(default_factory=dict)  # id(first node) -> TODO


def _plan_uncalled(rule: TaskCallsRule, fn: cst.FunctionDef, taken: set[str]) -> _UncalledPlan:
    """What to do with each task a ``@flow`` body gives uncalled (``t(other_task)``,
    ``m.map(other_task)``, ``upstream_tasks=[other_task]``, ``case(other_task, v)``).

    Prefect 1 bound such a task into the flow once: it ran once per flow run and its result was
    passed. A single use outside loops becomes a call in place (``t(other_task())``, inside the
    case branch it was in); several uses, or uses in loops, get one call before the first
    top-level statement using it (``other_task_result = other_task()``) and pass its result,
    also when later uses are under a Python ``if``/``try``/``while`` but the first is a plain
    top-level statement. Other uses in a case branch together with others, or under a Python
    ``if``/``try``/``while``, where the task ran is not provable: one TODO, the code as it was."""
    plan = _UncalledPlan()
    if not isinstance(fn.body, cst.IndentedBlock):
        return plan
    bound = set(stored_names(fn.body))
    uses: dict[str, list[_Use]] = {}
    for top, stmt in enumerate(fn.body.body):
        finder = _UncalledFinder(rule, top, bound)
        stmt.visit(finder)
        for use in finder.uses:
            uses.setdefault(code_of(use.node), []).append(use)
    for name, found in uses.items():
        weight = sum(u.weight for u in found)
        kinds = {k for u in found for k in u.path}
        first = min(u.top for u in found)
        # the first use runs unconditionally (a top-level statement): the task ran before it
        settled = "case" not in kinds and any(u.top == first and not u.path for u in found)
        if not kinds & {"case", "cond"} or settled:
            if weight == 1 and "loop" not in kinds:
                plan.replace[id(found[0].node)] = cst.Call(func=found[0].node)
                continue
            base = name.rsplit(".", 1)[-1]
            var, n = f"{base}_result", 2
            while var in taken:
                var, n = f"{base}_result_{n}", n + 1
            taken.add(var)
            top = min(u.top for u in found)
            line = cst.parse_statement(f"{var} = {name}()")
            plan.hoist.setdefault(top, []).append(line)
            for use in found:
                plan.replace[id(use.node)] = cst.Name(var)
            continue
        if weight == 1 and kinds <= {"case", "with"}:
            plan.replace[id(found[0].node)] = cst.Call(func=found[0].node)
            continue
        callees = ", ".join(dict.fromkeys(u.callee for u in found))
        plan.todos[id(found[0].node)] = (
            f"`{name}` is a task given uncalled (to {callees}): Prefect 1 ran it once per flow "
            f"run and passed its result, a Prefect 2 task object is only a function; it is "
            f"used in a case branch or under if/try/while together with other uses, so where "
            f"it ran is not provable here: call it once where it should run "
            f"(`{name.rsplit('.', 1)[-1]}_result = {name}()`) and pass the result"
        )
    return plan


RULE = TaskCallsRule
