"""PF008 case_merge: ``case``/``merge``/``ifelse``/``switch`` become ``if``/``elif`` (§7).

Inside ``@flow`` functions (the post-PF002 shape)::

    with case(cond, True):          if cond:
        a = yes()                       c = yes()
    with case(cond, False):   ->    else:
        b = no()                        c = no()
    c = merge(a, b)

- Prefect 1 ran a case branch when ``result == value`` (``CompareValue`` skips on ``!=``).
  ``case(x, True)`` -> ``if x:``, ``False`` -> ``if not x:`` (the pair -> ``if``/``else``) when
  ``x`` is provably a bool (a comparison, ``not``, ``isinstance``/``bool``/..., a literal, a call
  of a task of the module whose every ``return`` is one of those, a flow argument annotated
  ``bool``, a name the flow assigns only such values); otherwise
  ``if x == True:  # noqa: E712`` / ``elif x == False:  # noqa: E712`` (C: ``2`` or ``"yes"``
  runs neither branch). ``None`` -> ``if x is None:``, any other value -> ``if x == value:``.
  ``ifelse`` branched on ``bool(x)``: ``if x:``/``else``.
- Consecutive ``case`` blocks on the same side-effect-free condition with distinct literal values
  are exclusive and become one ``if``/``elif``; ``merge(a, b)`` of outputs of distinct exclusive
  branches becomes an assignment in each branch (variables from branches that may not run are
  initialised to ``None`` before the ``if``); the Merge task's options (``checkpoint=False``,
  ``name=``, ``flow=``) go with it, ``mapped=True`` stays (H).
- ``ifelse(c, t, f)`` -> ``if c: ... else: ...``; ``switch(c, {k: t})`` (or
  ``switch(c, dict(a=t))``, keys ``"a"``) -> ``if c == k: ... elif``, moving the statements that
  produced ``t``/``f`` into the branches (a variable nothing else reads loses its assignment). A
  task given uncalled, as the condition or as a branch, is called there (``if check():``,
  ``a_task()``: Prefect 1 ran it, and the task object itself is always true) when the flow names
  it nowhere else (its own calls are copies, other tasks). A switch that tests a task call
  against several keys calls it once before the ``if`` (``check_result = check()``). ``x =
  switch(...)`` loses ``x =`` when nothing reads ``x`` (always None in Prefect 1).
  ``mapped=True``, a result that is read, a branch task also used elsewhere in the flow (or
  twice in it), an uncalled condition used elsewhere, keys that are not distinct literals: H,
  with the reason in the construct's TODO.
- Skip propagation (§7 last paragraph, §18.2): a later simple statement that consumes outputs of
  one branch only moves into that branch (the flow's final ``return`` too: a branch not taken
  returns None); one that mixes branches gets a TODO (and the variables it reads are initialised
  to ``None`` before the ``if`` so it does not raise ``NameError``).
- Anything else (``merge`` of non-exclusive outputs, ``case(...) as x``, ``ifelse`` arguments the
  rule cannot place, ``case`` outside a ``@flow`` function) stays as it is, readable code, and the
  construct gets ONE TODO naming this rule, the reason and every line using it (H). PF001 binds the
  name to a stand-in instead of the Prefect 1 import and writes that TODO above it, so the module
  still imports under Prefect 2 and a flow reaching the construct fails loudly
  (``NotImplementedError``) where the TODO says. A statement that reads a branch's outputs through
  such a ``merge`` gets no skip-propagation TODO of its own: the ``merge`` TODO covers it.

A switch on tasks given uncalled, in a ``with Flow`` block (only the chosen branch ran), before::

    switch(condition, dict(a=a_branch, b=b_branch))

After::

    condition_result = condition()
    if condition_result == "a":
        a_branch()
    elif condition_result == "b":
        b_branch()

Left for a human, before (the two conditions are calls, so the branches are not provably
exclusive)::

    from prefect import Flow, case
    from prefect.tasks.control_flow import merge

    with Flow("etl") as flow:
        with case(is_big(data), True):
            a = load(data)
        with case(is_big(data), False):
            b = load([])
        merge(a, b)

After::

    # TODO(prefect2-migration): PF008 `merge` (Prefect 1 `prefect.tasks.control_flow.merge`,
    # used at line 40) could not be rewritten safely (...): rewrite it as plain if/elif assigning
    # the merged variable in each branch. Until then `merge` is a stand-in (_Prefect1Stub) ...
    merge = _Prefect1Stub("prefect.tasks.control_flow.merge")
    ...
        a = None
        if is_big(data):
            a = load(data)
        b = None
        if not is_big(data):
            b = load([])
        merge(a, b)
"""

from __future__ import annotations

import heapq
from bisect import bisect_left, insort
from collections import defaultdict
from dataclasses import dataclass, field

import libcst as cst

from meta_flows.core.codemod.analysis.scope import (
    bound_names,
    module_bound_names,
    module_task_names,
    target_names,
)
from meta_flows.core.codemod.base import Rule, get_arg, is_literal, literal_value, with_todo

CASE = "prefect.tasks.control_flow.case"
MERGE = "prefect.tasks.control_flow.merge"
IFELSE = "prefect.tasks.control_flow.ifelse"
SWITCH = "prefect.tasks.control_flow.switch"
_CONTROL_FLOW = (CASE, MERGE, IFELSE, SWITCH)

_LABELS = {
    CASE: "with case(...)",
    MERGE: "merge(...)",
    IFELSE: "ifelse(...)",
    SWITCH: "switch(...)",
}
_REASONS = {
    CASE: "could not be rewritten (a `with case(...) as x`, or with other context managers): "
    "rewrite it as plain if/else",
    MERGE: "could not be rewritten safely (its case branches are not provably exclusive, or an "
    "argument is not assigned in a branch): rewrite it as plain if/elif assigning the merged "
    "variable in each branch",
    IFELSE: "could not be rewritten safely (the tasks it chooses between are not calls, or not "
    "variables assigned just before it, or it is mapped=True): rewrite it as plain if/else",
    SWITCH: "could not be rewritten safely (the tasks it chooses between are not calls, or not "
    "variables assigned just before it, or it is mapped=True): rewrite it as plain if/elif",
}
_RESULT_USED = (
    "could not be rewritten safely (its result is read, and Prefect 1's ifelse/switch return "
    "None): rewrite it as plain if/elif on the condition's value and drop the variable"
)
_MAPPED = (
    "could not be rewritten (mapped=True chose per item of a mapped condition): loop over the "
    "items and rewrite it as plain if/elif inside the loop"
)
_UNCALLED_CONDITION = (
    "could not be rewritten safely (its condition, a task given uncalled, is used elsewhere in "
    "the flow too, and Prefect 1 ran it once): call the task once before, "
    "`<task>_result = <task>()`, and branch on that result with plain if/elif"
)
_SHARED_BRANCH = (
    "could not be rewritten safely (a task it chooses is used elsewhere in the flow too, and "
    "Prefect 1 skipped that task and everything downstream of it when its branch was not "
    "taken): rewrite it as plain if/elif, calling each branch's tasks, and the tasks that "
    "depend on them, inside that branch"
)
_KEYS = (
    "could not be rewritten safely (its keys are not distinct literals): rewrite it as plain "
    "if/elif comparing the condition's value with each key (Prefect 1 ran the tasks of the key "
    "== the value)"
)
_OUTSIDE = "is used outside a @flow function: rewrite it as plain if/else inside the @flow function"

SKIP_TODO = (
    "in Prefect 1 this was skipped when a case branch it depends on did not run; Prefect 2 runs "
    "it anyway (variables from branches that did not run are None): guard it or move it into "
    "the branch"
)


@dataclass
class Branch:
    value: cst.BaseExpression | None  # the case value (None for the default/else branch)
    body: list[cst.BaseStatement]
    leading_lines: list[cst.EmptyLine] = field(default_factory=list)
    outputs: set[str] = field(default_factory=set)


# ---------------------------------------------------------------------- pure helpers


def assigned_names(stmt: cst.CSTNode) -> set[str]:
    """Names a top-level simple statement assigns (``a = ...``, ``a, b = ...``, ``a += ...``)."""
    names: set[str] = set()
    if not isinstance(stmt, cst.SimpleStatementLine):
        return names

    def add_target(target: cst.BaseExpression) -> None:
        if isinstance(target, cst.Name):
            names.add(target.value)
        elif isinstance(target, (cst.Tuple, cst.List)):
            for el in target.elements:
                add_target(el.value)

    for small in stmt.body:
        if isinstance(small, cst.Assign):
            for t in small.targets:
                add_target(t.target)
        elif isinstance(small, (cst.AugAssign, cst.AnnAssign)):
            add_target(small.target)
    return names


def block_outputs(body: list[cst.BaseStatement]) -> set[str]:
    out: set[str] = set()
    for stmt in body:
        out |= assigned_names(stmt)
    return out


class _Loads(cst.CSTVisitor):
    def __init__(self) -> None:
        self.names: set[str] = set()

    def visit_Attribute(self, node: cst.Attribute) -> bool:
        node.value.visit(self)
        return False

    def visit_Arg(self, node: cst.Arg) -> bool:
        node.value.visit(self)
        return False

    def visit_AssignTarget(self, node: cst.AssignTarget) -> bool:
        if not isinstance(node.target, (cst.Name, cst.Tuple, cst.List)):
            node.target.visit(self)
        return False

    def visit_Name(self, node: cst.Name) -> None:
        self.names.add(node.value)


def loaded_names(node: cst.CSTNode) -> set[str]:
    """Names an expression or statement reads (approximate: ignores scoping inside it)."""
    visitor = _Loads()
    node.visit(visitor)
    return visitor.names


class _Block:
    """A flow block's statements while its groups are rewritten, one slot per statement kept in
    place: a rewritten group's slot holds its ``if`` (after the ``None`` initialisations), a
    statement moved or merged into a branch leaves its slot empty. The slots reading and assigning
    each name are indexed once, so a group's outputs reach the statements reading them without a
    walk of every statement after the group."""

    def __init__(
        self, rule: CaseMergeRule, body: list[cst.BaseStatement], top: bool = False
    ) -> None:
        self.rule = rule
        self.top = top  # the flow function's own body (a ``return`` there ends the flow)
        self.slots: list[list[cst.BaseStatement]] = [[stmt] for stmt in body]
        self.loads: dict[str, list[int]] = defaultdict(list)  # name -> slots that may read it
        self.assigns: dict[str, list[int]] = defaultdict(list)  # name -> slots assigning it
        self.bare_merges: list[int] = []  # slots with a ``merge()`` of no arguments
        self._indexed = False

    def index(self) -> None:
        """Index the slots (once, before any of them changes)."""
        if self._indexed:
            return
        self._indexed = True
        rule = self.rule
        for k, (stmt,) in enumerate(self.slots):
            names = loaded_names(stmt)
            orig = rule._original(stmt)
            if orig is not None:
                names |= loaded_names(orig)
                if rule._has_bare_merge(orig) or _bare_call(stmt):
                    self.bare_merges.append(k)
            for name in names:
                self.loads[name].append(k)
            for name in assigned_names(stmt):
                self.assigns[name].append(k)

    def live(self, k: int) -> bool:
        return bool(self.slots[k])

    def next_live(self, k: int) -> int:
        """The first slot after ``k`` holding a statement (``len(slots)`` if none)."""
        k += 1
        while k < len(self.slots) and not self.slots[k]:
            k += 1
        return k

    def replace(self, k: int, stmt: cst.BaseStatement, reads: str | None = None) -> None:
        self.slots[k] = [stmt]
        if reads is not None and k not in self.loads[reads]:
            insort(self.loads[reads], k)

    def assigned_between(self, names: set[str], start: int, end: int) -> bool:
        """Whether a statement in a slot in ``[start, end)`` assigns one of ``names``."""
        for name in names:
            at = self.assigns.get(name, ())
            for k in at[bisect_left(at, start) :]:
                if k >= end:
                    break
                if self.slots[k]:
                    return True
        return False

    def statements(self) -> list[cst.BaseStatement]:
        return [stmt for slot in self.slots for stmt in slot]


class _Reach:
    """The slots from ``start`` on that may read any of a growing set of names (and ``extra``),
    each once, in order; names added while a slot is handled reach only the slots after it."""

    def __init__(self, block: _Block, start: int, names: set[str], extra=()) -> None:
        self.block = block
        self.pos = start
        self.names: set[str] = set()
        self.heap: list[int] = []
        self.queued: set[int] = set()
        for k in extra:
            self._push(k)
        self.add(names)

    def _push(self, k: int) -> None:
        if k >= self.pos and k not in self.queued:
            self.queued.add(k)
            heapq.heappush(self.heap, k)

    def add(self, names) -> None:
        for name in names:
            if name in self.names:
                continue
            self.names.add(name)
            at = self.block.loads.get(name, ())
            for k in at[bisect_left(at, self.pos) :]:
                self._push(k)

    def __iter__(self):
        while self.heap:
            k = heapq.heappop(self.heap)
            self.pos = k + 1
            if self.block.live(k):
                yield k


def _bare_call(stmt: cst.CSTNode) -> bool:
    """``f()`` or ``x = f()`` with no arguments."""
    if not isinstance(stmt, cst.SimpleStatementLine) or len(stmt.body) != 1:
        return False
    value = getattr(stmt.body[0], "value", None)
    return isinstance(value, cst.Call) and not value.args


class _Rename(cst.CSTTransformer):
    def __init__(self, old: str, new: str) -> None:
        self.old, self.new = old, new

    def leave_AssignTarget(self, original_node, updated_node):
        if isinstance(updated_node.target, cst.Name) and updated_node.target.value == self.old:
            return updated_node.with_changes(target=cst.Name(self.new))
        return updated_node


def _contains_jump(stmt: cst.CSTNode) -> bool:
    found = []

    class V(cst.CSTVisitor):
        def visit_Return(self, node):
            found.append(node)

        def visit_Raise(self, node):
            found.append(node)

        def visit_Break(self, node):
            found.append(node)

        def visit_Continue(self, node):
            found.append(node)

    stmt.visit(V())
    return bool(found)


def is_pure(expr: cst.BaseExpression) -> bool:
    """A condition that can be evaluated once for several case blocks (no calls)."""
    if isinstance(expr, cst.Name):
        return True
    if isinstance(expr, cst.Attribute):
        return is_pure(expr.value)
    if isinstance(expr, cst.Subscript):
        return is_pure(expr.value) and all(
            isinstance(s.slice, cst.Index) and is_literal(s.slice.value) for s in expr.slice
        )
    return False


def _has_call(expr: cst.BaseExpression) -> bool:
    found = []

    class V(cst.CSTVisitor):
        def visit_Call(self, node: cst.Call) -> None:
            found.append(node)

    expr.visit(V())
    return bool(found)


_BOOL_FUNCTIONS = frozenset({"isinstance", "issubclass", "bool", "callable", "hasattr"})


def is_bool_expr(expr: cst.BaseExpression) -> bool:
    """``expr`` is a ``bool`` whatever its operands: a comparison, ``not``, a literal bool, a
    call of ``isinstance``/``bool``/... (``and``/``or`` give one of their operands)."""
    if isinstance(expr, cst.Name):
        return expr.value in ("True", "False")
    if isinstance(expr, cst.Comparison):
        return True
    if isinstance(expr, cst.UnaryOperation):
        return isinstance(expr.operator, cst.Not)
    if isinstance(expr, cst.Call):
        return (
            isinstance(expr.func, cst.Name)
            and expr.func.value in _BOOL_FUNCTIONS
            and not any(a.star for a in expr.args)
        )
    return False


NOQA_E712 = "# noqa: E712"


def test_for(
    cond: cst.BaseExpression, value: cst.BaseExpression, boolean: bool = False
) -> cst.BaseExpression:
    """The ``if`` test for ``case(cond, value)``.

    Prefect 1 ran the branch when ``cond == value`` (``CompareValue`` skips on ``!=``): a
    ``True``/``False`` value becomes ``if cond:``/``if not cond:`` only when ``cond`` is
    ``boolean`` (provably a bool), else ``cond == True`` (``2`` or ``"yes"`` is not ``True``;
    ``0 == False`` but ``None != False``)."""
    is_bool_value = isinstance(value, cst.Name) and value.value in ("True", "False")
    if is_bool_value and boolean:
        if value.value == "True":
            return cond
        return cst.UnaryOperation(operator=cst.Not(), expression=_paren_if_needed(cond))
    op = cst.Is() if isinstance(value, cst.Name) and value.value == "None" else cst.Equal()
    return cst.Comparison(
        left=_paren_if_needed(cond),
        comparisons=[cst.ComparisonTarget(operator=op, comparator=value)],
    )


def _if_block(
    body: list[cst.BaseStatement], cond: cst.BaseExpression, value, boolean: bool
) -> cst.IndentedBlock:
    """The block of a branch; ``cond == True``/``== False`` gets ``# noqa: E712`` (ruff and
    flake8 would suggest ``if cond:``, which is not the same test)."""
    if isinstance(value, cst.Name) and value.value in ("True", "False") and not boolean:
        header = cst.TrailingWhitespace(
            whitespace=cst.SimpleWhitespace("  "), comment=cst.Comment(NOQA_E712)
        )
        return cst.IndentedBlock(body=body, header=header)
    return cst.IndentedBlock(body=body)


def _paren_if_needed(expr: cst.BaseExpression) -> cst.BaseExpression:
    if isinstance(expr, (cst.Name, cst.Attribute, cst.Subscript, cst.Call)) or expr.lpar:
        return expr
    return expr.with_changes(lpar=[cst.LeftParen()], rpar=[cst.RightParen()])


def _literal_key(value: cst.BaseExpression | None):
    if value is None or not is_literal(value):
        return None
    v = literal_value(value)
    return (type(v).__name__, repr(v))


def exclusive(branches: list[Branch]) -> bool:
    keys = [_literal_key(b.value) for b in branches if b.value is not None]
    return None not in keys and len(set(keys)) == len(keys)


def build_if(
    cond: cst.BaseExpression, branches: list[Branch], leading, boolean: bool = False
) -> cst.If:
    """``if``/``elif``/``else`` for exclusive branches (a True/False pair ends in ``else`` when
    ``cond`` is provably a bool: otherwise a value such as ``2`` runs neither branch)."""
    values = [_literal_key(b.value) for b in branches]
    pair = boolean and len(branches) == 2 and set(values) == {("bool", "True"), ("bool", "False")}
    orelse: cst.If | cst.Else | None = None
    for index in range(len(branches) - 1, -1, -1):
        branch = branches[index]
        if pair and index == 1:
            block = cst.IndentedBlock(body=branch.body)
            orelse = cst.Else(body=block, leading_lines=branch.leading_lines)
            continue
        orelse = cst.If(
            test=test_for(cond, branch.value, boolean),
            body=_if_block(branch.body, cond, branch.value, boolean),
            orelse=orelse,
            leading_lines=leading if index == 0 else branch.leading_lines,
        )
    assert isinstance(orelse, cst.If)
    return orelse


def assign(name: str, value: cst.BaseExpression) -> cst.SimpleStatementLine:
    return cst.SimpleStatementLine(
        body=[cst.Assign(targets=[cst.AssignTarget(target=cst.Name(name))], value=value)]
    )


def _returns_bool(fn: cst.FunctionDef) -> bool:
    """``fn`` returns a bool on every path it returns on: its body ends with a ``return``, and
    every ``return`` of its own gives a bool expression (see :func:`is_bool_expr`)."""
    if not isinstance(fn.body, cst.IndentedBlock) or not fn.body.body:
        return False
    last = fn.body.body[-1]
    if not (
        isinstance(last, cst.SimpleStatementLine)
        and len(last.body) == 1
        and isinstance(last.body[0], cst.Return)
    ):
        return False
    values: list[cst.BaseExpression | None] = []

    class Returns(cst.CSTVisitor):
        def visit_FunctionDef(self, n) -> bool:
            return False

        def visit_Lambda(self, n) -> bool:
            return False

        def visit_ClassDef(self, n) -> bool:
            return False

        def visit_Return(self, n: cst.Return) -> None:
            values.append(n.value)

        def visit_Yield(self, n) -> None:
            values.append(None)

    fn.body.visit(Returns())
    return all(v is not None and is_bool_expr(v) for v in values)


def _callable_without_arguments(fn: cst.FunctionDef) -> bool:
    """Every parameter of ``fn`` has a default (or is ``*args``/``**kwargs``)."""
    params = fn.params
    return all(
        p.default is not None
        for p in [*params.posonly_params, *params.params, *params.kwonly_params]
    )


def _assigned_values(fn: cst.FunctionDef) -> dict[str, list[cst.BaseExpression | None]]:
    """Every value ``fn`` assigns to each name (``None`` where it is not a plain ``name = v``:
    a parameter, a loop or ``with`` target, an augmented or unpacking assignment...). A
    parameter annotated ``bool`` counts as assigned ``True``: a flow run validates its
    parameters, so it is a bool (or the run fails before the body)."""
    out: dict[str, list[cst.BaseExpression | None]] = {}
    params = fn.params
    for p in [*params.posonly_params, *params.params, *params.kwonly_params]:
        annotation = p.annotation.annotation if p.annotation is not None else None
        is_bool = isinstance(annotation, cst.Name) and annotation.value == "bool"
        out.setdefault(p.name.value, []).append(cst.Name("True") if is_bool else None)
    for p in (params.star_arg, params.star_kwarg):
        if isinstance(p, cst.Param):
            out.setdefault(p.name.value, []).append(None)

    class Stores(cst.CSTVisitor):
        def visit_Assign(self, n: cst.Assign) -> None:
            for t in n.targets:
                if isinstance(t.target, cst.Name):
                    out.setdefault(t.target.value, []).append(n.value)
                else:
                    for name in target_names(t.target):
                        out.setdefault(name, []).append(None)

        def visit_AugAssign(self, n: cst.AugAssign) -> None:
            for name in target_names(n.target):
                out.setdefault(name, []).append(None)

        def visit_AnnAssign(self, n: cst.AnnAssign) -> None:
            for name in target_names(n.target):
                out.setdefault(name, []).append(n.value)

        def visit_For(self, n: cst.For) -> None:
            for name in target_names(n.target):
                out.setdefault(name, []).append(None)

        def visit_WithItem(self, n: cst.WithItem) -> None:
            if n.asname is not None:
                for name in target_names(n.asname.name):
                    out.setdefault(name, []).append(None)

        def visit_NamedExpr(self, n: cst.NamedExpr) -> None:
            for name in target_names(n.target):
                out.setdefault(name, []).append(n.value)

    fn.body.visit(Stores())
    return out


# ---------------------------------------------------------------------- the rule


class CaseMergeRule(Rule):
    """Case/merge/ifelse/switch become if/elif (§7)."""

    CODE = "PF008"
    NAME = "case-merge"
    DESCRIPTION = "case/merge/ifelse/switch become if/elif (§7)"
    TRIGGERS = ("case", "merge", "ifelse", "switch")

    def __init__(self, context) -> None:
        super().__init__(context)
        self._kinds: dict[int, str] = {}  # id(func node of a call) -> canonical name
        self._functions: list[bool] = []  # is each enclosing function a @flow
        self._flow_loads: list[dict[str, int]] = []  # per flow function: name -> load count
        self._changed = False
        self._originals: dict[int, cst.CSTNode] = {}
        self._module_tasks: set[str] = set()
        # per flow function: name -> the values assigned to it anywhere in the function
        self._flow_values: list[dict[str, list[cst.BaseExpression | None]]] = []
        self._bool_conditions: set[int] = set()  # id(cond): ifelse conditions (bool(x))
        self._bool_tasks: set[str] = set()  # @task functions of the module returning a bool
        self._zero_arg_tasks: set[str] = set()  # @task functions callable with no arguments
        self._module_bound: set[str] = set()
        self._flow_called: list[dict[str, int]] = []  # per flow function: name -> calls of it
        self._flow_bodies: set[int] = set()  # id(body) of each @flow function
        self._choice_reasons: dict[int, str] = {}  # id(original stmt): why its ifelse/switch stays

    def visit_Module(self, node: cst.Module) -> bool:
        super().visit_Module(node)
        self._module_tasks = module_task_names(self, node)
        self._bool_tasks = {
            stmt.name.value
            for stmt in node.body
            if isinstance(stmt, cst.FunctionDef)
            and stmt.name.value in self._module_tasks
            and _returns_bool(stmt)
        }
        self._zero_arg_tasks = {
            stmt.name.value
            for stmt in node.body
            if isinstance(stmt, cst.FunctionDef)
            and stmt.name.value in self._module_tasks
            and _callable_without_arguments(stmt)
        }
        self._module_bound = module_bound_names(node)
        return True

    # ------------------------------------------------------------------ analysis

    def visit_Import(self, node) -> bool:
        return False

    def visit_ImportFrom(self, node) -> bool:
        return False

    def visit_Call(self, node: cst.Call) -> None:
        name = self.prefect_name(node.func)
        if name in _CONTROL_FLOW:
            self._kinds[id(node.func)] = name

    def visit_FunctionDef(self, node: cst.FunctionDef) -> None:
        is_flow = any(self.is_prefect(d, "prefect.flow") for d in node.decorators)
        self._functions.append(is_flow)
        if is_flow:
            counts: dict[str, int] = {}
            called: dict[str, int] = {}

            class Count(cst.CSTVisitor):
                def visit_Name(self, n: cst.Name) -> None:
                    counts[n.value] = counts.get(n.value, 0) + 1

                def visit_Call(self, n: cst.Call) -> None:
                    if isinstance(n.func, cst.Name):
                        called[n.func.value] = called.get(n.func.value, 0) + 1

            node.body.visit(Count())
            self._flow_called.append(called)
            self._flow_bodies.add(id(node.body))
            self._flow_loads.append(counts)
            self._flow_values.append(_assigned_values(node))

    def leave_FunctionDef(self, original_node, updated_node):
        if self._functions.pop():
            self._flow_called.pop()
            self._flow_loads.pop()
            self._flow_values.pop()
        return updated_node

    def _kind(self, call: cst.BaseExpression | None) -> str | None:
        if isinstance(call, cst.Call):
            return self._kinds.get(id(call.func))
        return None

    def _in_flow(self) -> bool:
        return bool(self._functions) and self._functions[-1]

    def _is_bool(self, cond: cst.BaseExpression) -> bool:
        """``cond`` is provably a bool: an ``ifelse`` condition (Prefect 1 took ``bool(x)``),
        a bool expression, or a name the flow assigns only bool expressions (and nothing else:
        no parameter, loop variable, ...)."""
        if id(cond) in self._bool_conditions or self._is_bool_value(cond):
            return True
        if isinstance(cond, cst.Name) and self._flow_values:
            values = self._flow_values[-1].get(cond.value)
            return bool(values) and all(v is not None and self._is_bool_value(v) for v in values)
        return False

    def _is_bool_value(self, expr: cst.BaseExpression) -> bool:
        """A bool expression, or a call of a task of this module that only returns them."""
        if is_bool_expr(expr):
            return True
        return (
            isinstance(expr, cst.Call)
            and isinstance(expr.func, cst.Name)
            and expr.func.value in self._bool_tasks
            and not (self._flow_values and expr.func.value in self._flow_values[-1])  # a local
        )

    # ------------------------------------------------------------------ statement shapes

    def _original(self, stmt: cst.CSTNode) -> cst.CSTNode | None:
        """The original node of a statement of the block being rewritten (None for new ones)."""
        return self._originals.get(id(stmt))

    def _case_of(self, stmt: cst.BaseStatement):
        """``(cond, value)`` for ``with case(cond, value):`` (one item, no ``as``), else None."""
        orig = self._original(stmt)
        if not isinstance(stmt, cst.With) or len(stmt.items) != 1 or stmt.asynchronous:
            return None
        item = stmt.items[0]
        if item.asname is not None or self._kind(orig.items[0].item) != CASE:
            return None
        cond, value = get_arg(item.item, "task", 0), get_arg(item.item, "value", 1)
        if cond is None or value is None:
            return None
        return cond.value, value.value

    def _call_stmt(self, stmt: cst.BaseStatement, kind: str) -> cst.Call | None:
        """The call of a statement ``kind(...)`` or ``x = kind(...)``."""
        if not isinstance(stmt, cst.SimpleStatementLine) or len(stmt.body) != 1:
            return None
        small, orig = stmt.body[0], self._original(stmt)
        if orig is None or not isinstance(small, (cst.Expr, cst.Assign)):
            return None
        return small.value if self._kind(orig.body[0].value) == kind else None

    # ------------------------------------------------------------------ block rewriting

    def leave_IndentedBlock(self, original_node, updated_node):
        if not self._in_flow() or len(original_node.body) != len(updated_node.body):
            return updated_node
        pairs = zip(original_node.body, updated_node.body, strict=True)
        self._originals = {self.new_node_id(u): o for o, u in pairs}
        body = self._rewrite_body(list(updated_node.body), id(original_node) in self._flow_bodies)
        return updated_node.with_changes(body=body) if body is not None else updated_node

    def _rewrite_body(
        self, body: list[cst.BaseStatement], top: bool = False
    ) -> list[cst.BaseStatement] | None:
        changed = False
        block = _Block(self, body, top)
        i = 0
        while i < len(block.slots):
            group = self._group_at(block, i)
            if group is None:
                i = block.next_live(i)
                continue
            block.index()
            cond, branches, consumed, leading = group
            for k, sub in sorted(consumed, reverse=True):
                del block.slots[k][sub]
            new_if, inits = self._finish(cond, branches, block, i + 1, leading)
            block.slots[i] = [*inits, new_if]
            i = block.next_live(i)
            changed = True
        body = block.statements() if changed else body
        for index, stmt in enumerate(body):
            orig = self._original(stmt)
            if orig is not None and self._leftover_kind(orig) is not None:
                body[index] = self._leftover(orig, stmt)
                changed = True
        if changed:
            self._changed = True
            self.mark_applied()
        return body if changed else None

    def _group_at(self, block: _Block, i: int):
        """Branches starting at the statement in slot ``i``: ``(cond, branches, consumed,
        leading)``, ``consumed`` the ``(slot, place in the slot)`` of the statements they take."""
        (stmt,) = block.slots[i]
        case = self._case_of(stmt)
        if case is not None:
            cond, value = case
            branches = [Branch(value, list(stmt.body.body))]
            consumed = {(i, 0)}
            j = block.next_live(i)
            while is_pure(cond) and j < len(block.slots):
                (nxt_stmt,) = block.slots[j]
                nxt = self._case_of(nxt_stmt)
                if nxt is None or not nxt[0].deep_equals(cond):
                    break
                candidate = Branch(nxt[1], list(nxt_stmt.body.body), list(nxt_stmt.leading_lines))
                if not exclusive([*branches, candidate]):
                    break
                branches.append(candidate)
                consumed.add((j, 0))
                j = block.next_live(j)
            return cond, branches, consumed, list(stmt.leading_lines)
        for kind in (IFELSE, SWITCH):
            call = self._call_stmt(stmt, kind)
            if call is None:
                continue
            small = stmt.body[0]
            if isinstance(small, cst.Assign):
                # Prefect 1's ifelse/switch return None: a variable nothing else reads goes
                target = small.targets[0].target if len(small.targets) == 1 else None
                if not isinstance(target, cst.Name) or self._load_count(target.value) != 1:
                    self._choice_reasons[id(self._original(stmt))] = _RESULT_USED
                    continue
            # the statements before it, each with its (slot, place in the slot)
            before = [(k, sub) for k in range(i) for sub in range(len(block.slots[k]))]
            body = [block.slots[k][sub] for k, sub in before]
            placed = self._place_choice([*body, stmt], len(body), call, kind)
            if isinstance(placed, str):
                self._choice_reasons[id(self._original(stmt))] = placed
                continue
            if placed is not None:
                cond, branches, consumed = placed
                consumed = {before[k] if k < len(before) else (i, 0) for k in consumed}
                return cond, branches, consumed, list(stmt.leading_lines)
        return None

    def _load_count(self, name: str) -> int:
        """How many times the flow function's body names ``name`` (stores included)."""
        return self._flow_loads[-1].get(name, 0) if self._flow_loads else 0

    def _task_object_uses(self, name: str) -> int:
        """How many times the flow function's body names the task ``name`` other than calling
        it (a call makes a copy of the task in Prefect 1: another task)."""
        called = self._flow_called[-1].get(name, 0) if self._flow_called else 0
        return self._load_count(name) - called

    def _cases(
        self, arg: cst.BaseExpression
    ) -> list[tuple[cst.BaseExpression, cst.BaseExpression]]:
        """The ``(key, task)`` pairs of a ``switch`` ``cases=``: a dict display, or
        ``dict(a=t, ...)`` of the builtin ``dict`` with keywords only (keys ``"a"``...); else
        an empty list."""
        if isinstance(arg, cst.Dict):
            pairs = []
            for el in arg.elements:
                if not isinstance(el, cst.DictElement):
                    return []
                pairs.append((el.key, el.value))
            return pairs
        if (
            isinstance(arg, cst.Call)
            and isinstance(arg.func, cst.Name)
            and arg.func.value == "dict"
            and "dict" not in self._module_bound
            and not (self._flow_values and "dict" in self._flow_values[-1])
            and arg.args
            and all(a.keyword is not None and not a.star for a in arg.args)
        ):
            return [(cst.SimpleString(f'"{a.keyword.value}"'), a.value) for a in arg.args]
        return []

    def _place_choice(self, body, i, call: cst.Call, kind: str):
        """Branches for ``ifelse(c, t, f)`` / ``switch(c, {k: t})`` at ``body[i]``: ``(cond,
        branches, consumed)``; a string (the reason for its TODO) or None when it stays."""
        cond_arg = get_arg(call, "condition", 0)
        if cond_arg is None:
            return None
        mapped = get_arg(call, "mapped", 3 if kind == IFELSE else 2)
        if mapped is not None and not (
            is_literal(mapped.value) and literal_value(mapped.value) is False
        ):
            return _MAPPED  # one choice per item of a mapped condition: no plain if/else
        cond = cond_arg.value
        if (
            isinstance(cond, cst.Name)
            and cond.value in self._module_tasks
            and cond.value not in bound_names(body)
        ):
            # a task given uncalled: Prefect 1 ran it (once) and branched on its result, while
            # the task object itself is always true
            if self._task_object_uses(cond.value) != 1:
                return _UNCALLED_CONDITION
            cond = cst.Call(func=cond)
        if kind == IFELSE:
            t, f = get_arg(call, "true_task", 1), get_arg(call, "false_task", 2)
            if t is None or f is None:
                return None
            self._bool_conditions.add(id(cond))  # Prefect 1 branched on bool(condition)
            pairs = [(cst.Name("True"), t.value), (cst.Name("False"), f.value)]
        else:
            cases = get_arg(call, "cases", 1)
            pairs = self._cases(cases.value) if cases is not None else []
            if not pairs:
                return None
        chosen = [t.value for _, t in pairs if isinstance(t, cst.Name)]
        if len(chosen) != len(set(chosen)):
            return _SHARED_BRANCH  # one task in two branches: Prefect 1 always skipped it
        consumed = {i}
        branches = []
        for value, task_expr in pairs:
            if isinstance(task_expr, cst.Call):
                stmt = cst.SimpleStatementLine(body=[cst.Expr(task_expr)])
            elif isinstance(task_expr, cst.Name):
                name = task_expr.value
                k = self._defining_stmt(body, i, name)
                if k is not None:
                    consumed.add(k)
                    stmt = body[k]
                    if (
                        self._load_count(name) == 2
                        and len(stmt.body) == 1
                        and len(stmt.body[0].targets) == 1
                    ):
                        # read by the ifelse/switch only: the variable would be unused (F841)
                        stmt = stmt.with_changes(body=[cst.Expr(stmt.body[0].value)])
                elif (
                    name in self._zero_arg_tasks
                    and name not in bound_names(body)
                    and not (self._flow_values and name in self._flow_values[-1])
                ):
                    # a task given uncalled: Prefect 1 ran it, with no arguments, in its branch
                    if self._task_object_uses(name) != 1:
                        return _SHARED_BRANCH
                    stmt = cst.SimpleStatementLine(body=[cst.Expr(cst.Call(func=task_expr))])
                else:
                    return None
            else:
                return None
            branches.append(Branch(value, [stmt]))
        if not exclusive(branches):
            return _KEYS
        return cond, branches, consumed

    def _defining_stmt(self, body, i: int, name: str) -> int | None:
        """Index of the only statement before ``i`` assigning ``name``, unused in between, that
        reads nothing assigned in between (so it can move down to ``i``)."""
        found = [k for k in range(i) if name in assigned_names(body[k])]
        if len(found) != 1:
            return None
        k = found[0]
        if any(name in loaded_names(body[m]) for m in range(k + 1, i)):
            return None
        if not isinstance(body[k].body[0], cst.Assign):
            return None
        reads = loaded_names(body[k])
        if any(reads & bound_names([body[m]]) for m in range(k + 1, i)):
            return None
        return k

    # ------------------------------------------------------------------ merge + skip propagation

    def _finish(self, cond, branches: list[Branch], block: _Block, start: int, leading):
        """Rewrite the statements after a group (the live slots from ``start`` on) that read its
        branches' outputs; return the group's ``if`` and the initialisations before it. A
        statement that reads none of the outputs stays as it is, so only those reading them are
        visited."""
        for b in branches:
            b.outputs = block_outputs(b.body)
        is_exclusive = exclusive(branches)
        values = {_literal_key(b.value) for b in branches}
        boolean = self._is_bool(cond)
        exhaustive = boolean and is_exclusive and values == {("bool", "True"), ("bool", "False")}
        need_init: list[str] = []

        # merge(a, b) -> the variable assigned in whichever branch ran
        if is_exclusive:
            outputs = set().union(*(b.outputs for b in branches))
            reach = _Reach(block, start, outputs, block.bare_merges)
            for k in reach:
                (stmt,) = block.slots[k]
                stmt, nested = self._hoist_nested_merge(stmt, branches)
                if nested is not None:
                    target, covered = nested
                    block.replace(k, stmt, reads=target)
                    reach.add([target])
                    if not (exhaustive and covered == len(branches)):
                        need_init.append(target)
                merged = self._merge_into(stmt, branches)
                if merged is None:
                    continue
                block.slots[k] = []
                target, covered = merged
                reach.add([target])
                if not (exhaustive and covered == len(branches)):
                    need_init.append(target)

        # skip propagation: move consumers of one branch's outputs into that branch
        reach = _Reach(block, start, set().union(*(b.outputs for b in branches)))
        for k in reach:
            (stmt,) = block.slots[k]
            loads = loaded_names(stmt)
            everywhere = set.intersection(*(b.outputs for b in branches)) if exhaustive else set()
            hits = [h for h, b in enumerate(branches) if loads & (b.outputs - everywhere)]
            if not hits:
                continue
            movable = (
                len(hits) == 1
                and (is_exclusive or len(branches) == 1)
                and isinstance(stmt, cst.SimpleStatementLine)
                and (not _contains_jump(stmt) or self._final_return(block, k, stmt))
                and not block.assigned_between(loads, start, k)
                and not self._mentions_control_flow(stmt)
            )
            if movable:
                branch = branches[hits[0]]
                branch.body.append(stmt)
                branch.outputs |= assigned_names(stmt)
                block.slots[k] = []
                reach.add(assigned_names(stmt))
                continue
            if not self._mentions_control_flow(stmt):  # a merge left over has its own TODO
                flagged = with_todo(stmt, self.CODE, SKIP_TODO)
                if id(stmt) in self._originals:
                    self._originals[self.new_node_id(flagged)] = self._originals[id(stmt)]
                block.replace(k, flagged)
                stmt = flagged
            for h in hits:
                for name in sorted(loads & branches[h].outputs):
                    if name not in need_init and not (
                        exhaustive and all(name in b.outputs for b in branches)
                    ):
                        need_init.append(name)

        inits = []
        pair = exhaustive and len(branches) == 2  # if/else: the condition is evaluated once
        if is_exclusive and len(branches) > 1 and not pair and _has_call(cond):
            # a switch on a task call tests its result against each key: call it once
            name = self._fresh_name(
                f"{cond.func.value}_result"
                if isinstance(cond, cst.Call) and isinstance(cond.func, cst.Name)
                else "switch_value"
            )
            inits.append(assign(name, cond))
            cond = cst.Name(name)
        new_if = build_if(cond, branches, leading, boolean) if is_exclusive else None
        if new_if is None:  # a single case block with a non-literal value
            (branch,) = branches
            new_if = cst.If(
                test=test_for(cond, branch.value, boolean),
                body=_if_block(branch.body, cond, branch.value, boolean),
                leading_lines=leading,
            )
        inits += [assign(name, cst.Name("None")) for name in need_init]
        if inits:
            new_if = new_if.with_changes(leading_lines=[])
            inits[0] = inits[0].with_changes(leading_lines=leading)
        return new_if, inits

    @staticmethod
    def _final_return(block: _Block, k: int, stmt: cst.SimpleStatementLine) -> bool:
        """``stmt`` is ``return x``, the last statement of the flow function (PF002 returns the
        terminal task's result): in the branch it ends the flow there, and a branch not taken
        returns None (Prefect 1 skipped that task; the flow's result is compared per task)."""
        return (
            block.top
            and len(stmt.body) == 1
            and isinstance(stmt.body[0], cst.Return)
            and block.next_live(k) == len(block.slots)
        )

    def _fresh_name(self, base: str) -> str:
        """``base`` (or ``base_2``...) when the flow function names it nowhere; reserved."""
        counts = self._flow_loads[-1] if self._flow_loads else {}
        params = self._flow_values[-1] if self._flow_values else {}
        name, n = base, 1
        while name in counts or name in params:
            n += 1
            name = f"{base}_{n}"
        counts[name] = 1
        return name

    def _hoist_nested_merge(self, stmt, branches: list[Branch]):
        """``x = f(merge(a, b))``: each branch assigns ``merged``; the call reads it.

        Returns the (possibly rewritten) statement and ``(name, branches covered)`` or None.
        """
        orig = self._original(stmt)
        if (
            orig is None
            or not isinstance(stmt, cst.SimpleStatementLine)
            or self._call_stmt(stmt, MERGE) is not None
        ):
            return stmt, None
        kinds = self._kinds
        calls: list[cst.Call] = []

        class FindMerge(cst.CSTVisitor):
            def visit_Call(self, n: cst.Call) -> None:
                if kinds.get(id(n.func)) == MERGE:
                    calls.append(n)

        orig.visit(FindMerge())
        if len(calls) != 1:
            return stmt, None
        counts = self._flow_loads[-1] if self._flow_loads else {}
        target, n = "merged", 1
        while target in counts:
            n += 1
            target = f"merged_{n}"
        covered = self._merge_call_into(target, calls[0], branches)
        if covered is None:
            return stmt, None
        original_call = calls[0]

        class Replace(cst.CSTTransformer):
            def leave_Call(self, original_node, updated_node):
                if updated_node.deep_equals(original_call):
                    return cst.Name(target)
                return updated_node

        counts[target] = 1
        return stmt.visit(Replace()), (target, covered)

    def _merge_into(self, stmt, branches: list[Branch]):
        """Rewrite ``c = merge(a, b)`` into the branches; return ``(c, branches covered)``."""
        call = self._call_stmt(stmt, MERGE)
        if call is None or not isinstance(stmt.body[0], cst.Assign):
            return None
        targets = stmt.body[0].targets
        if len(targets) != 1 or not isinstance(targets[0].target, cst.Name):
            return None
        covered = self._merge_call_into(targets[0].target.value, call, branches)
        return None if covered is None else (targets[0].target.value, covered)

    def _merge_call_into(self, target: str, call: cst.Call, branches: list[Branch]):
        """Assign ``target`` in each branch owning an argument of ``merge``; branches covered."""
        owners: dict[int, str] = {}
        for arg in call.args:
            if arg.keyword is not None and not arg.star:
                if arg.keyword.value == "mapped" and not (
                    is_literal(arg.value) and literal_value(arg.value) is False
                ):
                    return None  # merges per item of mapped branches
                continue  # flow=, Merge task options (checkpoint=, name=...): nothing to keep
            if arg.star or not isinstance(arg.value, cst.Name):
                return None
            owner = [k for k, b in enumerate(branches) if arg.value.value in b.outputs]
            if len(owner) != 1 or owner[0] in owners:
                return None
            owners[owner[0]] = arg.value.value
        counts = self._flow_loads[-1] if self._flow_loads else {}
        for k, name in owners.items():
            branch = branches[k]
            assignments = [s for s in branch.body if name in assigned_names(s)]
            # uses of the name: its assignment, the merge argument, nothing else
            if counts.get(name, 0) <= 2 and len(assignments) == 1 and name != target:
                index = branch.body.index(assignments[0])
                branch.body[index] = assignments[0].visit(_Rename(name, target))
            else:
                branch.body.append(assign(target, cst.Name(name)))
            branch.outputs.add(target)
        return len(owners)

    # ------------------------------------------------------------------ leftovers

    def _leftover_kind(self, stmt: cst.BaseStatement) -> str | None:
        if isinstance(stmt, cst.With) and any(self._kind(i.item) == CASE for i in stmt.items):
            return "with case(...)"
        if isinstance(stmt, cst.SimpleStatementLine):
            for name, label in ((MERGE, "merge"), (IFELSE, "ifelse"), (SWITCH, "switch")):
                if self._mentions(stmt, name):
                    return f"{label}(...)"
        return None

    def leave_With(self, original_node, updated_node):
        if not self._in_flow() and self._leftover_kind(original_node):
            return self._leftover(original_node, updated_node, outside=True)
        return updated_node

    def leave_SimpleStatementLine(self, original_node, updated_node):
        if not self._in_flow() and self._leftover_kind(original_node) is not None:
            return self._leftover(original_node, updated_node, outside=True)
        return updated_node

    def _mentions_control_flow(self, stmt: cst.CSTNode) -> bool:
        orig = self._original(stmt)
        return orig is not None and any(self._mentions(orig, k) for k in _CONTROL_FLOW)

    def _has_bare_merge(self, node: cst.CSTNode) -> bool:
        """Whether ``node`` calls ``merge()`` with no arguments."""
        found = []
        kinds = self._kinds

        class V(cst.CSTVisitor):
            def visit_Call(self, n: cst.Call) -> None:
                if not n.args and kinds.get(id(n.func)) == MERGE:
                    found.append(n)

        node.visit(V())
        return bool(found)

    def _mentions(self, node: cst.CSTNode, kind: str) -> bool:
        found = []
        kinds = self._kinds

        class V(cst.CSTVisitor):
            def visit_Call(self, n: cst.Call) -> None:
                if kinds.get(id(n.func)) == kind:
                    found.append(n)

        node.visit(V())
        return bool(found)

    def _leftover(self, original, stmt, outside: bool = False):
        """A statement using case/merge/ifelse/switch that stays as it is: each construct it uses
        gets its one TODO (``give_up``: PF001 writes it above the construct's stand-in, listing
        every line using it); with PF001 switched off, the statement is flagged here."""
        reasons = []
        kinds = [CASE] if isinstance(original, cst.With) else [MERGE, IFELSE, SWITCH]
        for kind in kinds:
            if self._mentions(original, kind):
                label = _LABELS[kind]
                reason = _OUTSIDE if outside else _REASONS[kind]
                if not outside and kind in (IFELSE, SWITCH):
                    reason = self._choice_reasons.get(id(original), reason)
                if not self.give_up(kind, reason):
                    reasons.append(f"{label} {reason}")
        if not reasons:
            return stmt
        return with_todo(stmt, self.CODE, "; ".join(reasons))

    def leave_Module(self, original_node, updated_node):
        if self._changed:
            for name in ("case", "merge", "ifelse", "switch"):
                for module in (
                    "prefect",
                    "prefect.tasks.control_flow",
                    "prefect.tasks.control_flow.case",
                    "prefect.tasks.control_flow.conditional",
                ):
                    self.remove_import_if_unused(module, name)
        return updated_node


RULE = CaseMergeRule
