"""PF002 flow_definition: `with Flow(...)` blocks and the functional API become @flow functions (§2.1).

Before::

    with Flow("ETL Flow", executor=LocalDaskExecutor()) as flow:
        data = extract()
        load(data)

After::

    @flow(name="ETL Flow", executor=LocalDaskExecutor())
    def etl_flow():
        data = extract()
        return load(data)

- The flow name is kept verbatim (``name=``), except that the characters Prefect 2 rejects
  (``/ % & > <``: InvalidNameError at decoration time) become ``-``, with a
  ``# prefect2-migration: flow renamed from ...`` line naming the old name
  (:func:`meta_flows.core.naming.prefect2_flow_name`, shared with the deployment translator, so
  the deployments and the parents starting the flow by name use the new name) (A).
- The other keyword arguments pass through for later rules (``executor=`` -> PF014,
  ``state_handlers=`` -> PF012); ``storage=``/``run_config=``/``schedule=``/``environment=`` leave
  the code (deployment config, see PF016); ``validate=`` is dropped; ``reference_tasks=``,
  ``terminal_state_handler=``, ``tasks=`` (of a ``with`` block), ``edges=`` and non-trivial
  ``result=`` are removed with a TODO (H): nothing Prefect 2's ``flow()`` rejects reaches it.
- The function name comes from :func:`plan_flow_functions`, the single source of truth shared with
  PF015 and the deployment translator (``meta_flows.core.naming.flow_function_name`` of the original
  name; the renamed name gives the same function name).
- The flow returns its single terminal task call (``.map`` terminals return the list of results,
  or their futures when the task has a trigger: PF009 makes it explicit around the call); with
  several terminal tasks it returns nothing.
- A task called for its effect alone (a statement ``notify()`` of the body, or ``n = notify()``
  with ``n`` never read) with more task calls after it is called ``notify(return_state=True)``: in Prefect 1 its failure
  stopped none of the tasks after it, which cannot depend on it, and still failed the run; in
  Prefect 2 it no longer raises, and a flow returning None fails when any task run failed (A).
  Not when the body had imperative edges (``flow.chain``...: the calls are ordered by them) or a
  task has a ``trigger=`` (PF009 judges the run).
- ``v = etl_flow`` keeps the old variable when it is still referenced (at the end of the module when
  the variable is called ``flow``, which would shadow the decorator; module-level statements after
  the block that read ``flow`` name the function instead, since they run before that line).
- A body local named like a module-level name it reads first (``documents = documents()``) is
  renamed ``documents_result`` from that assignment on: in a function it would make the name local
  everywhere, an ``UnboundLocalError``.
- A flow built in a zero-argument function (a factory ``def create_flow(): with Flow(...) as f:
  ...; return f``, or ``def main(): with Flow(...) as f: ...; f.run()``) moves to module level
  when its body needs none of the function's locals: ``return f`` returns the @flow function,
  ``f.run()`` was already rewritten by PF015, other uses keep a local alias. Otherwise H: one
  TODO on the ``with`` lists the lines using ``f`` in the function and, when it returns ``f``,
  those using the flow it returns (``flow = create_flow()``, ``flow.register(...)``).
- The functional API (``f = Flow("x", tasks=[...])``, ``f.add_task``, ``f.add_edge``,
  ``f.set_dependencies``, ``f.chain``, and ``t.set_upstream/set_downstream/bind(..., flow=f)``)
  with static edges becomes task calls in topological order (C): keyword edges pass the
  upstream's result, a task with a mapped edge is called with ``.map`` and its other inputs are
  ``unmapped(...)``, keyless edges are ``upstream_tasks=`` (PF005: ``wait_for``); a flow without
  tasks becomes a function with ``pass``. Tasks kept as attributes of the flow (``f.a = MyTask("a")``, see
  :func:`meta_flows.core.codemod.analysis.graph.flow_task_attributes`) are the tasks ``a`` PF006
  made of them.
- The imperative API on a ``with Flow(...) as f`` flow: in its body, ``f.add_edge(a, b)``,
  ``f.set_dependencies(task=b, upstream_tasks=[a])``, ``f.chain(a, b)`` between results of direct
  task calls (each assigned once, ``a``'s first, ``b``'s task without a trigger) and
  ``f.add_task(r)`` of such a result are removed: the call order has them (C);
  ``f.add_task(t)`` / ``f.set_dependencies(task=t, upstream_tasks=[a])`` of a task named nowhere
  else in the body become ``t()`` / ``t(upstream_tasks=[a])`` (PF005: ``wait_for``).
  ``f.chain(...)`` may also chain, after such results, direct task calls and tasks given
  uncalled (named nowhere else): ``f.chain(t(), t(), u)`` becomes ``t()``, ``t()``, ``u()`` in
  that order; results called in another order than the chain's have their assignments swapped
  into its order when each is used only there and nothing between them reads or writes what
  they read or write (C). ``f.chain(a, b, c)`` of such results called in the chain's order where a
  task downstream has a trigger (``all_successful`` aside) gives that call ``upstream_tasks=[b]``
  (PF009 makes the trigger explicit from it) and goes (C). ``x.set_upstream(y)`` /
  ``y.set_downstream(x)`` between results assigned once, ``y`` first, that the call order alone
  does not carry (``x``'s task has a trigger, or a ``.map`` is involved: nothing waits for
  futures) become ``upstream_tasks=[y]`` on ``x``'s call (``unmapped(y)`` on a ``.map``) for
  PF009/PF005, and go (C).
  Tasks the body never calls, wired only by the imperative API -- ``c.set_upstream(a,
  key="x", mapped=True)``, ``c.set_upstream(b)``, ``a.set_downstream(c)``, ``c.bind(...)``
  (with ``flow=f`` or none: the block's flow), ``f.add_edge``, ``f.set_dependencies``,
  ``f.chain`` of two tasks or more, ``f.add_task`` -- are called in dependency order by the
  functional API's call writer, in place of the last of those statements (the others go):
  ``key=`` binds the upstream's result, ``mapped=True`` maps over it, a keyless edge waits for
  it. Each node is a module-level task bound nowhere in the body and named there only by such
  statements, or an input: a ``Parameter`` (PF003 makes it the flow's argument) or a task's
  result assigned once in the body before that place, with no upstream edge. Statements sharing
  a task form one group; a group with any other node (a task also called in the body, a result
  downstream: PF005's), a cycle, or a downstream task with a trigger stays as it is, with its
  TODO (C). Other uses in the body keep their TODO; uses after the block are commented out with a
  TODO (H).
- ``f.set_reference_tasks(...)``, reads of ``f.tasks``/``f.edges``/``f.storage``... and Prefect 1
  Flow API a Prefect 2 flow lacks (``f.copy()``, ``f.parameters()``, ``f.file_name``...) on a
  converted flow are commented out with a TODO saying what replaces them (H): they fail under
  Prefect 2.
- A module-level copy of a converted flow (``g = f.copy()``, ``copy.copy(f)``,
  ``copy.deepcopy(f)``) followed by attribute assignments becomes ``g = f.with_options(...)``:
  ``g.name`` and ``g.description`` (values that run no code, a name Prefect 2 accepts) fold into
  its keywords and their lines go (A); ``g.schedule``, ``g.run_config``, ``g.storage``,
  ``g.environment`` and ``g.executor`` stay as code under ONE TODO on the copy naming them: the
  copy needs its own deployment in prefect.yaml (entrypoint ``<file>:g``), the executor a
  ``task_runner=`` (H). Only when every other use of ``g`` works on a Prefect 2 flow (calls,
  ``g.run()`` made a call by PF015, reads of ``g.name``...); otherwise ``f.copy()`` is commented
  out as above, and ``copy.deepcopy(f)``, which works on a Prefect 2 flow, stays with a TODO.
- A module-level flow left for a human (dynamic functional API, the flow object handed to other
  code, ``with Flow(...) as f, other():``) is commented out under its TODO together with the
  statements using it outside functions, since ``Flow(...)`` fails at import under Prefect 2 (H).
  The flow gets the one TODO (saying its uses go with it); each statement commented out with it
  only gets a ``# prefect2-migration: uses the Prefect 1 flow `f`, commented out with it`` line,
  and a use inside a function stays code (PF001 binds ``f`` to a stand-in whose lines the flow's
  TODO lists).
- A module-level ``@task`` function a ``with Flow`` block uses and the module defines again after
  it (two flows of one module calling different tasks of one name): Prefect 1 bound the task when
  the block ran, the @flow function reads the global when it runs -- the later definition. The
  earlier one becomes ``<name>_v1`` (``@task(name="<name>")`` keeps its task name) with the
  module-level reads of it up to the next definition, the flows built there included; function,
  lambda and class bodies read the global later and keep the name. Another earlier binding (a
  task instance, ``task(fn)``, one inside an ``if``) or a functional-API flow: one TODO on the
  flow (C).
- Build-time statements doing I/O now run at every flow run: flagged (C).
- A flow built with a wrapper of Prefect 1's Flow -- a ``Flow`` subclass of the repository (a
  namespace package's too), one declared (``meta-flows rewrite --flow-class
  acme_platform.custom.Flow``, ``flow-classes`` in ``[tool.meta-flows]`` of the repository's
  ``pyproject.toml``), or a ``Flow`` from a module not rewritten used exactly like Prefect 1's in a
  module importing Prefect 1 (probable) -- is migrated like a plain ``Flow``; the arguments Prefect
  1's ``Flow`` does not take are the wrapper's own and are dropped. The flow gets exactly one TODO
  naming the wrapper and those options (for a probable wrapper: asking to confirm and declare it)
  (C). When the Prefect 1 oracle read the wrapper's source (a wave's inventory;
  ``WrapperDeclarations.flow_metadata``) and found that every one of those options is only stored
  on the flow object and the wrapper changes nothing else
  (:mod:`meta_flows.core.codemod.analysis.wrapper_class`), no TODO: a
  ``# prefect2-migration: code_owners=["data"] dropped: ... only stored it on the flow object``
  line names them (A).
- A class subclassing Prefect 1's Flow (the wrapper itself) stays, importable under Prefect 2,
  with one TODO: meta-flows migrates the flows built with it; port what it adds to @flow options
  or hooks, or delete it once no flow uses it (H).

A flow built with a wrapper, before::

    from acme_platform.custom import Flow

    with Flow("etl", code_owners=["data"]) as flow:
        extract()

After::

    # TODO(prefect2-migration): PF002 built with acme_platform.custom.Flow, a wrapper of Prefect 1's Flow: its own options (code_owners=["data"]) and behaviour (constructor defaults, overridden methods) are not carried over to @flow; re-apply them by hand
    @flow(name="etl")
    def etl():
        return extract()
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass

import libcst as cst
from libcst.codemod import CodemodContext
from libcst.metadata import PositionProvider, QualifiedNameProvider

from meta_flows.core.codemod.analysis.decorators import decorator_name
from meta_flows.core.codemod.analysis.flows import (
    DEPLOYMENT_KWARGS,
    FLOW,
    FlowSite,
    collect_sites,
    copied_flow,
    renamed_flow_name,
)
from meta_flows.core.codemod.analysis.graph import DependencyGraph, statement_graph
from meta_flows.core.codemod.analysis.run_state import (
    SCRATCH_STATE_LOOKUPS,
    returned_name,
    rewrite_lookups,
)
from meta_flows.core.codemod.analysis.scope import (
    References,
    TaskCalls,
    bound_names,
    child_blocks,
    count_refs,
    live_refs,
    module_bound_names,
    module_task_names,
    name_refs,
    raw_qualified_names,
    stored_names,
    target_names,
)
from meta_flows.core.codemod.analysis.shadowing import rename_shadowing_locals
from meta_flows.core.codemod.analysis.uses import (
    COPY_OPTIONS,
    DEPLOYMENT_ATTRS,
    FLOW2_READABLE,
    FLOW_API_GONE,
    FUNCTIONAL_METHODS,
    attr_assignment,
    dependency_call,
    flow_uses,
    method_call,
    obsolete_use,
    simple_assign,
)
from meta_flows.core.codemod.base import (
    INFO_PREFIX,
    Rule,
    get_arg,
    moved_comment,
    with_leading_comments,
    with_todo,
)
from meta_flows.core.codemod.stubs import lines_of
from meta_flows.core.naming import (
    BANNED_FLOW_NAME_CHARACTERS,
)

HUMAN_WITH = (
    "this Flow is built inside a function with arguments or other code (or together with other "
    "context managers): rewrite it by hand as a module-level @flow function (arguments become "
    "flow parameters)"
)
HUMAN_WITH_MODULE = (
    "this Flow is entered together with other context managers: rewrite it by hand as a "
    "module-level @flow function (the Prefect 1 code is kept below as comments)"
)
HUMAN_FUNCTIONAL = (
    "Flow built with the functional API but its edges are not static (or it uses edges=, or "
    "the flow object is handed to other code): rewrite it by hand as an @flow function calling "
    "the tasks in order"
)


# Keyword arguments Prefect 1.4's Flow.__init__ takes: any other one given to a wrapper of Flow is
# the wrapper's own option.
PREFECT1_FLOW_KWARGS = frozenset(
    {
        "name",
        "schedule",
        "executor",
        "environment",
        "run_config",
        "storage",
        "tasks",
        "edges",
        "reference_tasks",
        "state_handlers",
        "validate",
        "result",
        "terminal_state_handler",
    }
)


@dataclass
class _CopyPlan:
    """``g = f.copy()`` and the attribute assignments right after it (_plan_copies)."""

    variable: str  # g
    source: str  # the @flow function of f
    options: dict[str, cst.BaseExpression]  # with_options keyword -> value
    kept: list[str]  # deployment settings set on the copy, in order
    folded: list[int]  # ids of the statements folded into with_options


# What a Prefect 2 deployment calls each deployment setting of a Prefect 1 flow.
_SETTING_WORDS = {
    "schedule": "schedule",
    "run_config": "work pool and job variables (run config)",
    "storage": "pull steps (storage)",
    "environment": "work pool (environment)",
}


def _foldable(value: cst.BaseExpression) -> bool:
    """A value that may move into ``with_options(...)``: nothing runs when it is evaluated (so
    evaluating it earlier changes nothing), and a literal name Prefect 2 accepts."""
    if any(isinstance(n, cst.Call) for n in _walk(value)):
        return False
    if isinstance(value, cst.SimpleString):
        text = value.evaluated_value
        return not isinstance(text, str) or not any(c in text for c in BANNED_FLOW_NAME_CHARACTERS)
    return True


def _walk(node: cst.CSTNode):
    yield node
    for child in node.children:
        yield from _walk(child)


def _copy_todo(plan: _CopyPlan) -> str:
    g = plan.variable
    attrs = ", ".join(f"`{g}.{a}`" for a in plan.kept)
    settings = [_SETTING_WORDS[a] for a in plan.kept if a in _SETTING_WORDS]
    text = (
        f"`{g}` is a copy of the flow `{plan.source}` with its own {attrs} (kept below; a "
        f"Prefect 2 flow ignores {'it' if len(plan.kept) == 1 else 'them'})"
    )
    if settings:
        text += (
            f": give `{g}` its own deployment in prefect.yaml (entrypoint `<this file>:{g}`, "
            f"so its runs carry its name) with that {', '.join(settings)}; meta-flows "
            f"deployments writes one for `{plan.source}` only"
        )
    if "executor" in plan.kept:
        text += (
            f"{'; ' if settings else ': '}pass the executor's Prefect 2 task runner as "
            f"`{plan.source}.with_options(task_runner=...)` (§13)"
        )
    return text + f"; then delete the `{g}.<setting> = ...` lines"


def wrapper_todo(wrapper: str, extras: list[str], probable: str | None = None) -> str:
    """The one TODO of a flow built with a wrapper of Prefect 1's Flow (naming its own options
    ``extras``); ``probable``: the wrapper was taken for one from its use alone."""
    if probable is None:
        head = f"built with {wrapper}, a wrapper of Prefect 1's Flow"
    else:
        head = (
            f"built with {wrapper}, taken for a wrapper of Prefect 1's Flow (its source is not "
            f"among the files rewritten)"
        )
    if extras:
        body = (
            f"its own options ({', '.join(extras)}) and behaviour (constructor defaults, "
            f"overridden methods) are not carried over to @flow; re-apply them by hand"
        )
    else:
        body = (
            "its own behaviour (constructor defaults, overridden methods) is not carried over "
            "to @flow; re-apply it by hand"
        )
    if probable is not None:
        body += (
            f"; confirm it is one and declare it (meta-flows rewrite --flow-class {probable}, "
            f"or flow-classes in [tool.meta-flows] of pyproject.toml)"
        )
    return f"{head}: {body}"


def metadata_note(wrapper: str, extras: list[str]) -> str:
    """The informational line (not a TODO) where a wrapper's metadata-only options were dropped."""
    return (
        f"{INFO_PREFIX} {', '.join(extras)} dropped: {wrapper} only stored "
        f"{'it' if len(extras) == 1 else 'them'} on the flow object (its source adds no "
        f"behaviour to Prefect 1's Flow)"
    )


def wrapper_class_todo(name: str) -> str:
    """The one TODO of a class subclassing Prefect 1's Flow (a wrapper defined in the project)."""
    return (
        f"class {name} subclasses Prefect 1's Flow: meta-flows migrates the flows built with it "
        f"to @flow functions (each with a TODO naming the options it drops); port what {name} "
        f"adds (constructor defaults, state handlers, overridden methods) to @flow options or "
        f"hooks (on_completion, on_failure...), or delete it once no flow uses it"
    )


def _wrapper_extra(arg: cst.Arg, position: int) -> bool:
    """An argument of a wrapper of Flow that Prefect 1's Flow does not take: a keyword it does
    not know, a second positional argument, ``*args``/``**kwargs``."""
    if arg.star:
        return True
    if arg.keyword is None:
        return position > 0
    return arg.keyword.value not in PREFECT1_FLOW_KWARGS


# --------------------------------------------------------------------------------------- helpers


# ------------------------------------------------------------------------ functional API graph


# ------------------------------------------------------------------------------------ planning


# ------------------------------------------------------------------------------------ the rule

_IO_CALLS = {
    "builtins.open": "open()",
    "os.putenv": "os.putenv()",
    "os.makedirs": "os.makedirs()",
    "os.mkdir": "os.mkdir()",
    "os.remove": "os.remove()",
    "os.unlink": "os.remove()",
    "os.rename": "os.rename()",
    "os.system": "os.system()",
    "os.environ.update": "os.environ writes",
    "os.environ.setdefault": "os.environ writes",
    "os.environ.pop": "os.environ writes",
    "json.dump": "json.dump()",
    "urllib.request.urlopen": "urlopen()",
}
_IO_PREFIXES = {
    "requests.": "requests",
    "httpx.": "httpx",
    "shutil.": "shutil",
    "subprocess.": "subprocess",
    "boto3.": "boto3",
    "sqlalchemy.create_engine": "a database connection",
    "psycopg2.connect": "a database connection",
    "sqlite3.connect": "a database connection",
    "socket.": "socket",
}
_PATH_IO_METHODS = {
    "write_text",
    "write_bytes",
    "mkdir",
    "touch",
    "unlink",
    "read_text",
    "read_bytes",
}


class _IOFinder(cst.CSTVisitor):
    def __init__(self, rule: Rule, tasks: TaskCalls) -> None:
        self.rule = rule
        self.tasks = tasks
        self.reasons: list[str] = []

    def visit_Call(self, node: cst.Call) -> None:
        if self.tasks.task_of_call(node)[0]:
            return
        for q in raw_qualified_names(self.rule, node.func):
            reason = _IO_CALLS.get(q)
            if reason is None:
                reason = next((r for p, r in _IO_PREFIXES.items() if q.startswith(p)), None)
            if (
                reason is None
                and q.startswith("pathlib.Path")
                and isinstance(node.func, cst.Attribute)
            ):
                reason = "pathlib" if node.func.attr.value in _PATH_IO_METHODS else None
            if reason and reason not in self.reasons:
                self.reasons.append(reason)

    def visit_AssignTarget(self, node: cst.AssignTarget) -> None:
        target = node.target
        if isinstance(target, cst.Subscript) and "os.environ" in raw_qualified_names(
            self.rule, target.value
        ):
            if "os.environ writes" not in self.reasons:
                self.reasons.append("os.environ writes")


def _terminal_return(
    body: list[cst.BaseStatement], tasks: TaskCalls, triggered: frozenset[str] = frozenset()
):
    """(index to replace or None for append, the return statement) or None. A ``.map`` of a
    task with a trigger returns its futures (PF009 makes the trigger explicit there)."""
    unreturnable = 0
    candidates: list[tuple[int, str | None, cst.Call, bool]] = []

    refs: Counter[str] | None = None  # references per name in the whole body, counted once

    def used(name: str, own: cst.CSTNode) -> bool:
        nonlocal refs
        if refs is None:
            refs = Counter(r.value for stmt in body for r in name_refs(stmt))
        # the assignment target itself counts once
        return refs[name] > 1

    for i, stmt in enumerate(body):
        if isinstance(stmt, cst.SimpleStatementLine) and len(stmt.body) == 1:
            small = stmt.body[0]
            top = None
            var = None
            if isinstance(small, cst.Expr) and isinstance(small.value, cst.Call):
                top = small.value
            elif (
                isinstance(small, cst.Assign)
                and len(small.targets) == 1
                and isinstance(small.value, cst.Call)
            ):
                top = small.value
                target = small.targets[0].target
                var = target.value if isinstance(target, cst.Name) else ""
            if top is not None and tasks.task_of_call(top)[0]:
                is_map = tasks.task_of_call(top)[1]
                if var is None:
                    candidates.append((i, None, top, is_map))
                elif var == "":
                    if not any(used(n, stmt) for n in target_names(small.targets[0].target)):
                        unreturnable += 1
                elif not used(var, stmt):
                    candidates.append((i, var, top, is_map))
                continue
        elif isinstance(stmt, cst.BaseCompoundStatement):
            for block in child_blocks(stmt):
                for inner in block:
                    if isinstance(inner, cst.SimpleStatementLine) and len(inner.body) == 1:
                        small = inner.body[0]
                        value = getattr(small, "value", None)
                        if isinstance(value, cst.Call) and tasks.task_of_call(value)[0]:
                            if isinstance(small, cst.Expr):
                                unreturnable += 1
                            elif isinstance(small, cst.Assign) and not any(
                                used(n, inner)
                                for t in small.targets
                                for n in target_names(t.target)
                            ):
                                unreturnable += 1
                    elif isinstance(inner, cst.BaseCompoundStatement) and _calls_a_task(
                        inner, tasks
                    ):
                        unreturnable += 1
    if unreturnable or len(candidates) != 1:
        return None
    i, var, call, is_map = candidates[0]
    if var is None and i != len(body) - 1:
        return None
    value: cst.BaseExpression = cst.Name(var) if var is not None else call
    mapped = call.func.value if isinstance(call.func, cst.Attribute) else None
    if is_map and not (isinstance(mapped, cst.Name) and mapped.value in triggered):
        value = cst.parse_expression("[future.result() for future in x]").with_changes()
        value = value.with_changes(
            for_in=value.for_in.with_changes(iter=cst.Name(var) if var is not None else call)
        )
    ret = cst.SimpleStatementLine(body=[cst.Return(value=value)])
    if var is None:
        return i, ret.with_changes(leading_lines=body[i].leading_lines)
    return None, ret


class _TaskCallFinder(cst.CSTVisitor):
    def __init__(self, tasks: TaskCalls) -> None:
        self.tasks = tasks
        self.found = False

    def visit_Call(self, node: cst.Call) -> bool:
        if self.tasks.task_of_call(node)[0]:
            self.found = True
        return not self.found


def _calls_a_task(node: cst.CSTNode, tasks: TaskCalls) -> bool:
    finder = _TaskCallFinder(tasks)
    node.visit(finder)
    return finder.found


def _isolate_failures(body: list[cst.BaseStatement], tasks: TaskCalls) -> list:
    """A task called for its effect alone (``notify()``, or ``n = notify()`` with ``n`` never
    read) with more tasks called after it: ``notify(return_state=True)``. Nothing downstream of it can read its
    result, so in Prefect 1 its failure stopped none of the tasks after it, and the run still
    ended failed (a task nothing depends on is terminal). Called plainly in Prefect 2 it would
    raise and end the flow there; given ``return_state=True`` it does not raise, and a flow
    returning None still fails when any of its task runs failed."""
    out = list(body)
    refs: Counter[str] | None = None  # references per name in the whole body
    for i, stmt in enumerate(body):
        if not (isinstance(stmt, cst.SimpleStatementLine) and len(stmt.body) == 1):
            continue
        small = stmt.body[0]
        call = small.value if isinstance(small, cst.Expr) else None
        if (
            isinstance(small, cst.Assign)
            and len(small.targets) == 1
            and isinstance(small.targets[0].target, cst.Name)
        ):
            if refs is None:
                refs = Counter(r.value for s in body for r in name_refs(s))
            if refs[small.targets[0].target.value] == 1:  # bound, never read
                call = small.value
        if (
            not isinstance(call, cst.Call)
            or tasks.task_of_call(call) != (True, False)
            or get_arg(call, "return_state") is not None
            or not any(_calls_a_task(later, tasks) for later in body[i + 1 :])
        ):
            continue
        out[i] = stmt.with_changes(
            body=[small.with_changes(value=_with_keyword(call, "return_state", "True"))]
        )
    return out


def _with_keyword(call: cst.Call, keyword: str, value: str) -> cst.Call:
    """``call`` with ``keyword=value`` appended, laid out like its other arguments (one per
    line after a trailing comma, a comment staying on its argument's line)."""
    new = cst.Arg(
        cst.Name(value),
        keyword=cst.Name(keyword),
        equal=cst.AssignEqual(cst.SimpleWhitespace(""), cst.SimpleWhitespace("")),
    )
    args = list(call.args)
    last = args[-1] if args else None
    after = last.comma.whitespace_after if last and isinstance(last.comma, cst.Comma) else None
    if isinstance(after, cst.ParenthesizedWhitespace):  # one argument per line
        before = [
            a.comma.whitespace_after
            for a in args[:-1]
            if isinstance(a.comma, cst.Comma)
            and isinstance(a.comma.whitespace_after, cst.ParenthesizedWhitespace)
        ]
        opening = call.whitespace_before_args
        if before:
            indent = before[-1].last_line
        elif isinstance(opening, cst.ParenthesizedWhitespace):
            indent = opening.last_line
        else:
            indent = cst.SimpleWhitespace("    ")
        args[-1] = last.with_changes(
            comma=cst.Comma(whitespace_after=after.with_changes(last_line=indent))
        )
        closing = after.with_changes(first_line=cst.TrailingWhitespace(), empty_lines=[])
        new = new.with_changes(comma=cst.Comma(whitespace_after=closing))
    elif last is not None:
        args[-1] = last.with_changes(comma=cst.Comma(whitespace_after=cst.SimpleWhitespace(" ")))
    return call.with_changes(args=[*args, new])


def _arg_names(call: cst.Call) -> dict[str, str] | None:
    """The arguments of ``call`` that are plain names, keyed by keyword or position
    (``"0"``...); None when an argument is something else (lists are read separately)."""
    out: dict[str, str] = {}
    for k, arg in enumerate(call.args):
        key = arg.keyword.value if arg.keyword is not None else str(k)
        if isinstance(arg.value, cst.Name):
            out[key] = arg.value.value
        elif isinstance(arg.value, (cst.List, cst.Tuple)) and key in ("upstream_tasks", "1"):
            out[key] = ""
        else:
            return None
    return out


def _renamed_task(func: cst.FunctionDef, new: str) -> cst.FunctionDef:
    """The @task function ``func`` named ``new``, its task keeping the old name (``name=``)."""
    old = func.name.value
    eq = cst.AssignEqual(
        whitespace_before=cst.SimpleWhitespace(""), whitespace_after=cst.SimpleWhitespace("")
    )
    name_arg = cst.Arg(keyword=cst.Name("name"), value=cst.SimpleString(f'"{old}"'), equal=eq)
    decorators = []
    done = False
    for d in func.decorators:
        target = d.decorator
        if (
            not done
            and isinstance(target, cst.Call)
            and (
                isinstance(target.func, (cst.Name, cst.Attribute))
                and (
                    target.func.value
                    if isinstance(target.func, cst.Name)
                    else target.func.attr.value
                )
                == "task"
            )
        ):
            if get_arg(target, "name") is None:
                args = list(target.args)
                if args:
                    args[-1] = args[-1].with_changes(
                        comma=cst.Comma(whitespace_after=cst.SimpleWhitespace(" "))
                    )
                target = target.with_changes(args=[*args, name_arg])
            done = True
        elif not done and (
            (isinstance(target, cst.Name) and target.value == "task")
            or (isinstance(target, cst.Attribute) and target.attr.value == "task")
        ):
            target = cst.Call(func=target, args=[name_arg])
            done = True
        decorators.append(d.with_changes(decorator=target))
    return func.with_changes(name=cst.Name(new), decorators=decorators)


@dataclass(frozen=True)
class _Moved:
    """In a flow body's plan (``_plan_imperative``): the body statement at ``index`` takes this
    place, with its own comments (a chain's results put in the chain's order)."""

    index: int


def _name_list_of(call: cst.Call, keyword: str, position: int) -> list[str] | None:
    arg = get_arg(call, keyword, position)
    if arg is None or not isinstance(arg.value, (cst.List, cst.Tuple)):
        return None
    names = []
    for el in arg.value.elements:
        if isinstance(el, cst.StarredElement) or not isinstance(el.value, cst.Name):
            return None
        names.append(el.value.value)
    return names


class _ImportTimeRefs(References):
    """The Name references a module-level statement evaluates when it runs: not those in the
    bodies of functions, lambdas and classes it defines (they read globals later)."""

    def __init__(self) -> None:
        self.names: list[cst.Name] = []

    def visit_Name(self, node: cst.Name) -> None:
        self.names.append(node)

    def visit_FunctionDef(self, node: cst.FunctionDef) -> bool:
        return False

    def visit_ClassDef(self, node: cst.ClassDef) -> bool:
        return False

    def visit_Lambda(self, node: cst.Lambda) -> bool:
        return False


def _import_time_refs(stmt: cst.CSTNode) -> list[cst.Name]:
    visitor = _ImportTimeRefs()
    stmt.visit(visitor)
    return visitor.names


class FlowDefinitionRule(Rule):
    """`with Flow(...)` blocks and the functional API become @flow functions (§2.1)."""

    CODE = "PF002"
    NAME = "flow-definition"
    DESCRIPTION = "`with Flow(...)` blocks and the functional API become @flow functions (§2.1)"
    TRIGGERS = ("Flow",)
    METADATA_DEPENDENCIES = (*Rule.METADATA_DEPENDENCIES, PositionProvider)

    def __init__(self, context: CodemodContext) -> None:
        super().__init__(context)
        self.sites: dict[int, FlowSite] = {}  # id(module-level statement) -> site
        self.inner: dict[int, FlowSite] = {}  # id(with node inside a factory) -> site
        self.tasks: set[str] = set()
        self.mod: cst.Module | None = None
        self.flow_alias: str | None = None
        # @flow function -> the task variable it returns whole (see run_state.returned_name)
        self.returned: dict[str, str | None] = {}
        self.body_todos: dict[int, dict[int, list[str]]] = {}
        # id(with node) -> {index of a body statement using the imperative API: its replacement
        # (a statement or a list of them), None to remove it}
        self.imperative: dict[int, dict[int, cst.BaseStatement | list | None]] = {}
        self.functional_statements: set[int] = set()
        # id(original statement) -> TODO message: statements commented out (Prefect 1 flow code
        # that cannot stay: flows left for a human at module level, obsolete Flow API).
        self.commented: dict[int, str] = {}
        # id(original statement) -> the flow variable it uses: commented out with that flow,
        # under the flow's TODO (an informational line, no TODO of its own)
        self.dependents: dict[int, str] = {}
        self.grouped: set[int] = set()  # dependents right after another one (no note of their own)
        self.functional_functions: set[str] = set()
        # id(original Name) -> the site whose function a module-level read of `flow` names
        self.flow_refs: dict[int, FlowSite] = {}
        # id(original `g = f.copy()` statement) -> the copy's plan (_plan_copies)
        self.copies: dict[int, _CopyPlan] = {}
        self.folded: set[int] = set()  # `g.name = ...` statements folded into with_options
        self.copy_todos: dict[int, str] = {}  # copy.copy/deepcopy(f) left as they are, with a TODO
        # a task function defined again after a flow using it (_plan_redefined): id(original
        # FunctionDef) -> its new name; id(original Name) -> the new name it reads
        self.renamed_defs: dict[int, str] = {}
        self.renamed_refs: dict[int, str] = {}
        self.site_todos: dict[int, list[str]] = {}  # site index -> TODOs of its @flow function

    # -------------------------------------------------------------- analysis (original nodes)

    def visit_Module(self, node: cst.Module) -> bool:
        super().visit_Module(node)
        self.mod = node
        self.tasks = module_task_names(self, node)
        sites = collect_sites(self, node)
        for site in sites:
            self.sites[id(node.body[site.index])] = site
            if site.kind == "factory":
                self.inner[id(site.with_node)] = site
            if site.graph is not None:
                self.functional_statements.update(id(node.body[i]) for i in site.graph.statements)
        self._plan_human_flows(node)
        self._plan_copies(node, sites)
        self._plan_obsolete(node, sites)
        self._plan_flow_refs(node, sites)
        self._with_functions = {
            id(w): stmt.name.value
            for stmt in node.body
            if isinstance(stmt, cst.FunctionDef)
            for w in _withs(stmt)
        }
        self._plan_redefined(node, sites)
        return True

    def _plan_redefined(self, module: cst.Module, sites: list[FlowSite]) -> None:
        """A module-level task a flow uses and the module defines again after it: Prefect 1 bound
        the task object when the flow was built, while the @flow function reads the global when
        it runs -- the later definition. The earlier definition (a module-level ``@task``
        function) is renamed ``<name>_v<n>``, keeping its task name with ``name=``, and so are
        the reads of it at module level up to the next definition (the flows built there
        included; function and class bodies read the global when they run and keep it). Any
        other earlier binding (an instance, ``task(fn)``, one inside an ``if``) or a flow built
        with the functional API: one TODO on the flow."""
        body = list(module.body)
        with_nodes = {id(s.with_node) for s in sites if s.kind == "with"}
        binds: dict[str, list[int]] = {}
        for i, stmt in enumerate(body):
            for name in bound_names([stmt], exclude_with_targets=with_nodes):
                binds.setdefault(name, []).append(i)
        taken = module_bound_names(module) | {s.function_name for s in sites}
        planned: dict[int, str] = {}  # index of a renamed definition -> new name
        for site in sites:
            if site.kind == "factory":
                continue  # built when the factory runs: the global's value then, as now
            if site.kind == "with":
                inner = site.with_node.body
                used = {r.value for r in name_refs(inner)} - bound_names(
                    inner.body if isinstance(inner, cst.IndentedBlock) else []
                )
            else:
                used = set(site.graph.order)
            for name in sorted(used & self.tasks):
                before = [k for k in binds.get(name, []) if k < site.index]
                after = [k for k in binds.get(name, []) if k > site.index]
                if not before or not after:
                    continue
                k0 = before[-1]
                stmt = body[k0]
                if k0 in planned:
                    continue
                safe = (
                    site.kind == "with"
                    and isinstance(stmt, cst.FunctionDef)
                    and stmt.name.value == name
                    and any(self.is_prefect(d, "prefect.task") for d in stmt.decorators)
                )
                if not safe:
                    line = self._line(body[after[0]])
                    self.site_todos.setdefault(site.index, []).append(
                        f"`{name}` is defined again below (line {line}): Prefect 1 bound the "
                        f"task defined above when this flow was built, the @flow function calls "
                        f"`{name}` when it runs -- the later definition; rename the earlier one "
                        f"(keeping its task name with name=) and its uses in this flow"
                    )
                    continue
                n = 1 + sum(1 for k in binds[name] if k < k0)
                new = f"{name}_v{n}"
                while new in taken:
                    n += 1
                    new = f"{name}_v{n}"
                taken.add(new)
                planned[k0] = new
                self.tasks.add(new)  # what the flows built before the next definition call
                self.renamed_defs[id(stmt)] = new
                for later in body[k0 + 1 : after[0]]:
                    if isinstance(later, (cst.FunctionDef, cst.ClassDef)):
                        continue
                    for ref in _import_time_refs(later):
                        if ref.value == name:
                            self.renamed_refs[id(ref)] = new

    def _line(self, node: cst.CSTNode) -> int:
        try:
            return self.get_metadata(PositionProvider, node).start.line
        except KeyError:
            return 0

    def _plan_flow_refs(self, module: cst.Module, sites: list[FlowSite]) -> None:
        """Module-level reads of a flow variable named ``flow`` after its definition: they run
        before the ``flow = <function>`` line at the end of the module, where ``flow`` is still
        Prefect 2's decorator, so they name the @flow function instead."""
        for site in sites:
            if site.kind == "factory" or site.variable != "flow":
                continue
            for stmt in module.body[site.index + 1 :]:
                if id(stmt) in self.sites or "flow" in bound_names([stmt]):
                    break  # the variable is bound again from here on
                if isinstance(stmt, (cst.FunctionDef, cst.ClassDef)) or id(stmt) in self.commented:
                    continue  # functions run later, when the line at the end has bound it
                for ref in name_refs(stmt):
                    if ref.value == "flow" and self.binds_at_module_level(ref, {"flow"}):
                        self.flow_refs[id(ref)] = site

    def _module_function(self, name: str) -> cst.FunctionDef | None:
        """The module-level function ``name``."""
        for stmt in self.mod.body if self.mod is not None else ():
            if isinstance(stmt, cst.FunctionDef) and stmt.name.value == name:
                return stmt
        return None

    def _reads(self, function: str, name: str, with_node: cst.With) -> bool:
        """Whether module-level ``function`` reads ``name`` other than as ``with ... as name``."""
        fn = self._module_function(function)
        targets = {id(i.asname.name) for i in with_node.items if i.asname is not None}
        return fn is not None and any(
            r.value == name and id(r) not in targets for r in name_refs(fn.body)
        )

    def _returns(self, function: str, name: str) -> bool:
        """Whether module-level ``function`` has a ``return name`` (it hands the flow out)."""
        fn = self._module_function(function)
        found = []

        class _Find(cst.CSTVisitor):
            def visit_Return(self, node: cst.Return) -> None:
                if isinstance(node.value, cst.Name) and node.value.value == name:
                    found.append(node)

        if fn is not None:
            fn.body.visit(_Find())
        return bool(found)

    def _read_elsewhere(self, name: str) -> bool:
        """Whether ``name`` is read in the module outside its own definition."""
        fn = self._module_function(name)
        others = [s for s in (self.mod.body if self.mod is not None else ()) if s is not fn]
        return count_refs(others, name) > 0

    def _factory_results(self, function: str) -> list[str]:
        """Module-level names bound to the result of calling ``function()``."""
        names: list[str] = []
        for stmt in self.mod.body if self.mod is not None else ():
            assign = simple_assign(stmt)
            if (
                assign
                and isinstance(assign[1], cst.Call)
                and isinstance(assign[1].func, cst.Name)
                and assign[1].func.value == function
                and assign[0] not in names
            ):
                names.append(assign[0])
        return names

    def _is_flow_with(self, node: cst.With) -> bool:
        return any(
            isinstance(i.item, cst.Call) and self.is_prefect(i.item.func, FLOW) for i in node.items
        )

    def _plan_human_flows(self, module: cst.Module) -> None:
        """Module-level flows PF002 cannot convert: comment them out with everything that uses
        them (outside functions), since ``Flow(...)`` fails at import under Prefect 2."""
        for i, stmt in enumerate(module.body):
            if id(stmt) in self.sites:
                continue
            variables: list[str] = []
            if isinstance(stmt, cst.With) and self._is_flow_with(stmt):
                self.commented[id(stmt)] = HUMAN_WITH_MODULE
                for item in stmt.items:
                    if isinstance(item.item, cst.Call) and self._wrapper(item.item.func):
                        self._remove_imported(item.item.func)  # only named in comments now
                variables = [
                    item.asname.name.value
                    for item in stmt.items
                    if item.asname is not None and isinstance(item.asname.name, cst.Name)
                ]
            else:
                assign = simple_assign(stmt)
                if not (
                    assign
                    and isinstance(assign[1], cst.Call)
                    and self.is_prefect(assign[1].func, FLOW)
                ):
                    continue
                self.commented[id(stmt)] = HUMAN_FUNCTIONAL
                variables = [assign[0]]
                if self._wrapper(assign[1].func):
                    self._remove_imported(assign[1].func)
            for variable in variables:
                before = len(self.dependents)
                self._comment_dependents(module.body[i + 1 :], variable)
                if len(self.dependents) > before:
                    self.commented[id(stmt)] += (
                        f"; the statements using `{variable}` outside functions are commented "
                        "out with it"
                    )

    def _mark_dependent(self, stmt: cst.CSTNode, variable: str, message: str, previous) -> None:
        if id(stmt) not in self.commented:
            self.commented[id(stmt)] = message
            self.dependents[id(stmt)] = variable
            adjacent = not getattr(stmt, "leading_lines", ())  # no blank line or comment between
            if adjacent and previous is not None and self.dependents.get(id(previous)) == variable:
                self.grouped.add(id(stmt))  # right after another: one note for the run

    def _comment_dependents(self, stmts, variable: str) -> bool:
        """Mark the statements using ``variable`` (not inside functions or classes); False once
        the variable is bound again."""
        message = (
            f"uses the Prefect 1 flow `{variable}`, which was left for a human (see the PF002 "
            f"TODO on its definition): rewrite it for the @flow function"
        )
        previous = None
        for stmt in stmts:
            before, previous = previous, stmt
            if isinstance(stmt, (cst.FunctionDef, cst.ClassDef)):
                continue
            if id(stmt) in self.sites or variable in bound_names([stmt]):
                if count_refs([stmt], variable) and id(stmt) not in self.commented:
                    if not any(k == "bind" for k, _ in flow_uses(stmt, variable)):
                        self._mark_dependent(stmt, variable, message, before)
                return False
            if not count_refs([stmt], variable):
                continue
            if isinstance(stmt, cst.SimpleStatementLine):
                self._mark_dependent(stmt, variable, message, before)
                continue
            blocks = child_blocks(stmt)
            if count_refs([stmt], variable) > sum(count_refs(b, variable) for b in blocks):
                self._mark_dependent(stmt, variable, message, before)  # used in its header
                continue
            for block in blocks:
                if not self._comment_dependents(block, variable):
                    return False
        return True

    def _plan_copies(self, module: cst.Module, sites: list[FlowSite]) -> None:
        """``g = f.copy()`` (or ``copy.copy(f)`` / ``copy.deepcopy(f)``) of a converted flow at
        module level, then ``g.<attr> = value`` statements right after it: ``g.name`` and
        ``g.description`` fold into ``g = f.with_options(name=..., description=...)``; deployment
        settings (``g.schedule``, ``g.run_config``...) stay, under one TODO asking for the copy's
        own deployment. Only when every other use of ``g`` works on a Prefect 2 flow (calls,
        reads of its name...); otherwise ``f.copy()`` keeps _plan_obsolete's TODO, and a
        ``copy.deepcopy(f)`` (which works on a Prefect 2 flow) gets a TODO of its own."""
        variables = {s.variable for s in sites if s.kind != "factory" and s.variable}
        if not variables:
            return
        body = list(module.body)
        for i, stmt in enumerate(body):
            assign = simple_assign(stmt)
            if assign is None or id(stmt) in self.commented:
                continue
            copy_var, value = assign
            ref = copied_flow(self, value, variables)
            if ref is None or copy_var == ref.value:
                continue
            source = ref.value
            defined = [s for s in sites if s.variable == source and s.index < i]
            if not defined:
                continue
            plan = _CopyPlan(copy_var, defined[-1].function_name, {}, [], [])
            run: set[int] = set()
            for later in body[i + 1 :]:
                found = attr_assignment(later, copy_var)
                if found is None or any(line.comment for line in later.leading_lines):
                    break
                attr, attr_value = found
                refs = {r.value for r in name_refs(attr_value)}
                if copy_var in refs or ("flow" in refs and "flow" in variables):
                    break  # reads the copy, or the `flow` a later line rebinds
                if attr in COPY_OPTIONS and attr not in plan.options:
                    if not _foldable(attr_value):
                        break
                    plan.options[attr] = attr_value
                    plan.folded.append(id(later))
                elif attr in DEPLOYMENT_ATTRS and attr not in plan.kept:
                    plan.kept.append(attr)
                else:
                    break
                run.add(id(later))
            rest = [s for k, s in enumerate(body) if k != i and id(s) not in run]
            understood = all(
                kind == "bare" or (kind == "get" and attr in FLOW2_READABLE)
                for s in rest
                for kind, attr in flow_uses(s, copy_var)
            )
            if understood:
                self.copies[id(stmt)] = plan
                self.folded.update(plan.folded)
            elif not isinstance(value.func, cst.Attribute) or value.func.attr.value != "copy":
                self.copy_todos[id(stmt)] = (
                    f"`{copy_var}` is a copy of the flow `{source}` used in ways meta-flows "
                    f"cannot follow: {FLOW_API_GONE['copy'].format(v=source)}; set its options "
                    f"there, not as attributes"
                )

    def _plan_obsolete(self, module: cst.Module, sites: list[FlowSite]) -> None:
        """``flow.set_reference_tasks(...)`` and ``flow.tasks``/``.edges`` reads of converted
        flows, wherever they are: commented out with a TODO."""
        targets: dict[str, str] = {}  # qualified name of the flow variable -> variable
        for site in sites:
            if site.variable is None:
                continue
            if site.kind == "factory":
                targets[f"{site.factory.name.value}.<locals>.{site.variable}"] = site.variable
            else:
                targets[site.variable] = site.variable
        if not targets:
            return
        variables = set(targets.values())
        # the imperative API on a `with Flow` flow outside its body (its body: _plan_imperative)
        with_variables = {s.variable for s in sites if s.kind != "functional" and s.variable}
        in_bodies: set[int] = set()
        for site in sites:
            if site.with_node is not None and isinstance(site.with_node.body, cst.IndentedBlock):
                in_bodies.update(id(stmt) for stmt in site.with_node.body.body)
        rule = self

        class _Scan(cst.CSTVisitor):
            def visit_SimpleStatementLine(self, node: cst.SimpleStatementLine) -> None:
                if id(node) in rule.commented or id(node) in rule.copies:
                    return
                for ref in name_refs(node):
                    if ref.value not in variables:
                        continue
                    try:
                        qnames = rule.get_metadata(QualifiedNameProvider, ref, set())
                    except KeyError:
                        qnames = set()
                    if not any(targets.get(q.name) == ref.value for q in qnames):
                        continue
                    functional = ref.value in with_variables and id(node) not in in_bodies
                    message = obsolete_use(node, ref.value, functional=functional)
                    if message is not None:
                        rule.commented[id(node)] = message
                        return

        module.visit(_Scan())

    def visit_With(self, node: cst.With) -> None:
        site = self.inner.get(id(node)) or self.sites.get(id(node))
        if site is not None:
            self.imperative[id(node)] = self._plan_imperative(site, node.body)
            self.body_todos[id(node)] = self._body_todos(site, node.body)
            return
        if id(node) not in self.commented and self._is_flow_with(node):
            message = HUMAN_WITH
            function = getattr(self, "_with_functions", {}).get(id(node))
            names = [
                i.asname.name.value
                for i in node.items
                if i.asname is not None and isinstance(i.asname.name, cst.Name)
            ]
            if function and names and self._reads(function, names[0], node):
                # where the flow object is used: consequences of the same root cause
                message += f"; `{names[0]}` is used at {lines_of(names[0], function)}"
                made = self._factory_results(function)
                if made or (self._returns(function, names[0]) and self._read_elsewhere(function)):
                    message += f", the flow {function}() returns at " + ", ".join(
                        lines_of(n) for n in [function, *made]
                    )
            self.add_todo(message)

    def visit_SimpleStatementLine(self, node: cst.SimpleStatementLine) -> None:
        if id(node) in self.sites or id(node) in self.commented:
            return
        assign = simple_assign(node)
        if assign and isinstance(assign[1], cst.Call) and self.is_prefect(assign[1].func, FLOW):
            self.add_todo(HUMAN_FUNCTIONAL)

    def _plan_imperative(self, site: FlowSite, body: cst.BaseSuite) -> dict:
        """Statements of a ``with Flow(...) as f`` body using the imperative API on ``f`` whose
        effect the @flow function's call order already has, or that bind a task:
        ``f.add_edge(a, b)``, ``f.set_dependencies(task=b, upstream_tasks=[a])``,
        ``f.chain(a, b)`` where ``a`` and ``b`` are results of direct task calls of the body,
        each assigned once, ``a``'s call first, ``b``'s task without a trigger (a direct call
        returns once its task run is over, and a failing ``a`` raises before ``b`` is called)
        are removed; ``f.add_task(r)`` of such a result is removed, ``f.add_task(t)`` of a task
        named nowhere else in the body becomes ``t()`` (Prefect 1 ran it). Any other use keeps
        its TODO (``_body_todos``)."""
        out: dict[int, cst.BaseStatement | None] = {}
        variable = site.variable
        if not isinstance(body, cst.IndentedBlock):
            return out
        stmts = list(body.body)
        stores: dict[str, int] = {}
        for name in (n for stmt in stmts for n in stored_names(stmt, walrus=False)):
            stores[name] = stores.get(name, 0) + 1
        if variable is None:
            self._plan_triggered_edges(stmts, out, stores)
            self._plan_graphs(None, stmts, out, stores)
            if out:
                self.mark_applied()
            return out
        calls: dict[str, int] = {}  # result variable -> index of its one assignment
        callees: dict[str, str] = {}
        for i, stmt in enumerate(stmts):
            assign = simple_assign(stmt)
            if (
                assign
                and stores.get(assign[0]) == 1
                and isinstance(assign[1], cst.Call)
                and isinstance(assign[1].func, cst.Name)
                and assign[1].func.value in self.tasks
            ):
                calls[assign[0]] = i
                callees[assign[0]] = assign[1].func.value

        def ordered(ups: list[str], down: str) -> bool:
            return (
                down in calls
                and callees[down] not in self._triggered()
                and all(u in calls and calls[u] < calls[down] for u in ups)
            )

        for i, stmt in enumerate(stmts):
            found = method_call(stmt, variable)
            if found is None or found[0] not in FUNCTIONAL_METHODS:
                continue
            method, call = found
            if any(a.star for a in call.args):
                continue
            if method == "chain":
                chained = self._plan_chain(call, stmts, i, calls, stores, ordered)
                if chained is None:
                    chained = self._plan_triggered_chain(call, stmts, i, calls)
                if chained is not None and not set(chained[1]) & set(out):
                    out[i] = chained[0]
                    for place, index in chained[1].items():
                        if isinstance(index, cst.BaseStatement):
                            out[place] = index
                        elif place != index:
                            out[place] = _Moved(index)
                continue
            names = _arg_names(call)
            if names is None:
                continue
            if method == "add_task" and list(names) in (["task"], ["0"]):
                name = next(iter(names.values()))
                if name in calls:
                    out[i] = None
                elif name in self.tasks and name not in stores and count_refs(stmts, name) == 1:
                    out[i] = cst.SimpleStatementLine(
                        body=[cst.Expr(cst.Call(func=cst.Name(name)))],
                    )
            elif method == "add_edge":
                up = names.get("upstream_task", names.get("0"))
                down = names.get("downstream_task", names.get("1"))
                if set(names) <= {"0", "1", "upstream_task", "downstream_task"} and up and down:
                    if ordered([up], down):
                        out[i] = None
            elif method == "set_dependencies":
                down = names.get("task", names.get("0"))
                ups = _name_list_of(call, "upstream_tasks", 1)
                rest = set(names) - {"0", "task"}
                if down and ups is not None and not rest - {"upstream_tasks", "1"}:
                    if ordered(ups, down):
                        out[i] = None
                    elif (
                        down in self.tasks
                        and down not in stores
                        and count_refs(stmts, down) == 1
                        and all(u in calls and calls[u] < i for u in ups)
                    ):
                        # binds the task given uncalled: Prefect 1 ran it after its upstreams
                        out[i] = cst.parse_statement(f"{down}(upstream_tasks=[{', '.join(ups)}])\n")
        self._plan_triggered_edges(stmts, out, stores)
        self._plan_graphs(variable, stmts, out, stores)
        if out:
            self.mark_applied()
        return out

    def _plan_triggered_edges(self, stmts: list, out: dict, stores) -> None:
        """``x.set_upstream(y)`` / ``y.set_downstream(x)`` statements of the body between two
        results assigned once from task calls, ``y`` before ``x``, where the call order alone does
        not carry the edge: ``x``'s task has a trigger (PF009 makes it explicit from the edge), or
        a ``.map`` is involved (futures: nothing waits for them). The edges become
        ``upstream_tasks=[y, ...]`` on ``x``'s call (``unmapped(y)`` on a ``.map``: every child
        waits for all of ``y``), which PF009/PF005 turn into Prefect 2, and the statements go
        (``out``). Edges between direct calls of tasks without a trigger are PF005's (the call
        order has them)."""
        triggered = self._triggered()
        results: dict[str, tuple[int, bool]] = {}  # result -> (index, from a .map)
        for i, stmt in enumerate(stmts):
            assign = simple_assign(stmt)
            if not assign or stores.get(assign[0]) != 1 or not isinstance(assign[1], cst.Call):
                continue
            func = assign[1].func
            mapped = isinstance(func, cst.Attribute) and func.attr.value == "map"
            task = func.value if mapped else func
            if isinstance(task, cst.Name) and task.value in self.tasks:
                results[assign[0]] = (i, mapped)
        edges: dict[str, list[str]] = {}
        for i, stmt in enumerate(stmts):
            found = _edge_statement(stmt) if i not in out else None
            if found is None:
                continue
            down, up = found
            if down not in results or up not in results or results[down][0] in out:
                continue
            (at, down_mapped), (up_at, up_mapped) = results[down], results[up]
            if not up_at < at < i:
                continue
            call = simple_assign(stmts[at])[1]
            task = call.func.value if down_mapped else call.func
            if not (down_mapped or up_mapped or task.value in triggered):
                continue
            if any(
                a.star or (a.keyword and a.keyword.value == "upstream_tasks") for a in call.args
            ):
                continue
            edges.setdefault(down, []).append(up)
            out[i] = None
        for down, ups in edges.items():
            at, down_mapped = results[down]
            stmt = stmts[at]
            call = simple_assign(stmt)[1]
            names = list(dict.fromkeys(ups))
            listed = ", ".join(f"unmapped({u})" if down_mapped else u for u in names)
            extra = cst.parse_expression(f"f(upstream_tasks=[{listed}])").args[0]
            args = list(call.args)
            if args:
                args[-1] = args[-1].with_changes(
                    comma=cst.Comma(whitespace_after=cst.SimpleWhitespace(" "))
                )
            out[at] = stmt.with_changes(
                body=[stmt.body[0].with_changes(value=call.with_changes(args=[*args, extra]))]
            )
            if down_mapped:
                self.add_import("prefect", "unmapped")

    def _plan_graphs(self, variable: str | None, stmts: list, out: dict, stores) -> None:
        """The imperative API wiring tasks given uncalled, in a ``with Flow(...)`` body
        (``c.set_upstream(a, key="x", mapped=True)``, ``b.set_downstream(c)``, ``f.add_edge(a, c,
        key="x")``, ``f.set_dependencies(...)``, ``b.bind(...)``): Prefect 1 bound those tasks
        into the flow and ran them in dependency order, so the statements become the calls
        :meth:`_graph_calls` writes (the functional API's) in place of the last of them, the
        others removed (``out``). A node is a module-level task bound nowhere in the body and
        named there only by such statements (it is called), or an input: a result assigned once
        in the body from a task call or a ``Parameter`` (or a module-level ``Parameter``) before
        that place, with no upstream edge. Statements sharing a task form one group; a group
        with any other node, a cycle, or a downstream task with a trigger (its edges are more
        than an order) keeps its statements and their TODOs."""
        graphs: dict[int, DependencyGraph] = {}
        for i, stmt in enumerate(stmts):
            if i not in out:
                graph = statement_graph(stmt, variable)
                if graph is not None:
                    graphs[i] = graph
        if not graphs:
            return
        params = self._module_parameters()
        inputs: dict[str, int] = {}  # input -> index of its assignment (-1: a module Parameter)
        for i, stmt in enumerate(stmts):
            assign = simple_assign(stmt)
            if assign is None or stores.get(assign[0]) != 1 or not isinstance(assign[1], cst.Call):
                continue
            func = assign[1].func
            if isinstance(func, cst.Attribute) and func.attr.value == "map":
                func = func.value
            if (isinstance(func, cst.Name) and func.value in self.tasks) or self.resolves_under(
                func, "prefect.Parameter", "prefect.DateTimeParameter", "prefect.JSONParameter"
            ):
                inputs[assign[0]] = i
        inputs.update({p: -1 for p in params if p not in stores})
        # statements whose every node is a task given uncalled or an input (until stable: a task
        # named by a statement left out is named elsewhere)
        while True:
            kept = [stmts[i] for i in graphs]

            def uncalled(name: str, kept=kept) -> bool:
                return (
                    name in self.tasks
                    and name not in stores
                    and name not in inputs
                    and count_refs(stmts, name) == count_refs(kept, name)
                )

            bad = [
                i for i, g in graphs.items() if not all(uncalled(n) or n in inputs for n in g.order)
            ]
            if not bad:
                break
            for i in bad:
                del graphs[i]
            if not graphs:
                return
        # groups: statements sharing a task given uncalled
        groups: list[list[int]] = []
        for i, graph in graphs.items():
            tasks = {n for n in graph.order if n not in inputs}
            joined = [g for g in groups if tasks & {n for k in g for n in graphs[k].order}]
            merged = [k for g in joined for k in g] + [i]
            groups = [g for g in groups if g not in joined] + [sorted(merged)]
        triggered = self._triggered()
        taken = set(stores) | module_bound_names(self.mod) | set(self.tasks)
        for group in groups:
            graph = DependencyGraph()
            for i in group:
                statement = statement_graph(stmts[i], variable)
                for name in statement.order:
                    graph.node(name)
                    for up in statement.upstream[name]:
                        graph.edge(up, name, None, statement.is_mapped(name, None, up))
                    for key, up in statement.keyword[name]:
                        if isinstance(up, tuple):
                            graph.list_edge(list(up), name, key, statement.is_mapped(name, key, up))
                        else:
                            graph.edge(up, name, key, statement.is_mapped(name, key, up))
            place = group[-1]
            order = graph.topological()
            given = {n for n in graph.order if n in inputs}
            if (
                order is None
                or given == set(graph.order)
                or any(graph.deps(n) for n in given)
                or any(inputs[n] >= place for n in given)
                or any(graph.deps(n) and n in triggered for n in graph.order)
            ):
                continue
            lines = self._graph_calls(graph, order, given, taken)
            for i in group:
                out[i] = None
            out[place] = [cst.parse_statement(line + "\n") for line in lines]

    def _plan_chain(self, call: cst.Call, stmts, i: int, calls, stores, ordered):
        """``f.chain(a, b, ...)`` (edges a->b->...) at ``stmts[i]``: ``(statements replacing it,
        {place: index of the statement moved there})``, or None when it stays (with its TODO). Its arguments are first results of direct task calls of
        the body, in call order, then tasks the statement runs itself: a task given uncalled and
        named nowhere else in the body (``t`` -> ``t()``: Prefect 1 bound it into the flow) or a
        direct task call (``t(x)``). Those become statements in the chain's order (an empty list
        when there are none: the call order already has the edges); results called in another
        order are put in the chain's when :meth:`_reorder` proves it safe. Every task downstream of an
        edge has no trigger: a direct call returns once its task run is over, and a failing
        upstream raises before the next call."""
        if len(call.args) < 2 or any(a.keyword is not None or a.star for a in call.args):
            return None
        triggered = self._triggered()
        results: list[str] = []  # the results chained first
        run: list[cst.BaseStatement] = []
        for k, arg in enumerate(call.args):
            value = arg.value
            if isinstance(value, cst.Name) and value.value in calls and not run:
                results.append(value.value)
                continue
            if (
                isinstance(value, cst.Name)
                and value.value in self.tasks
                and value.value not in stores
                and count_refs(stmts, value.value) == 1
            ):
                task, new = value.value, cst.Call(func=value)
            elif (
                isinstance(value, cst.Call)
                and isinstance(value.func, cst.Name)
                and value.func.value in self.tasks
                and value.func.value not in stores
            ):
                task, new = value.func.value, value
            else:
                return None
            if k > 0 and task in triggered:
                return None
            run.append(cst.SimpleStatementLine(body=[cst.Expr(new)]))
        moves: dict[int, int] = {}
        if any(not ordered([u], d) for u, d in zip(results, results[1:], strict=False)):
            moves = self._reorder(results, stmts, calls)
            if not moves:
                return None
        last = max((calls[r] for r in results), default=-1)
        if run and last > i:
            return None  # the new calls must come after the results upstream of them
        return run, moves

    def _plan_triggered_chain(self, call: cst.Call, stmts, i: int, calls):
        """``f.chain(a, b, c)`` between results of direct task calls made in that order, before
        the chain, where a task downstream has a trigger: its edge becomes ``upstream_tasks=[a]`` on its call (PF009
        makes the trigger explicit from it); the chain goes. ``(statements replacing it,
        {place: new statement})`` or None."""
        if len(call.args) < 2 or any(a.keyword is not None or a.star for a in call.args):
            return None
        names = [a.value.value if isinstance(a.value, cst.Name) else None for a in call.args]
        if any(n is None or n not in calls for n in names) or len(set(names)) != len(names):
            return None
        if any(calls[n] > i for n in names) or any(
            calls[u] >= calls[d] for u, d in zip(names, names[1:], strict=False)
        ):
            return None
        triggered = self._triggered()
        if not any(simple_assign(stmts[calls[d]])[1].func.value in triggered for d in names[1:]):
            return None
        edges: dict[int, cst.BaseStatement] = {}
        for up, down in zip(names, names[1:], strict=False):
            stmt = stmts[calls[down]]
            task_call = simple_assign(stmt)[1]
            if task_call.func.value not in triggered:
                continue  # a direct call after its upstream's: the call order has the edge
            if any(
                a.star or (a.keyword and a.keyword.value == "upstream_tasks")
                for a in task_call.args
            ):
                return None
            args = list(task_call.args)
            if args:
                args[-1] = args[-1].with_changes(
                    comma=cst.Comma(whitespace_after=cst.SimpleWhitespace(" "))
                )
            args.append(
                cst.Arg(
                    keyword=cst.Name("upstream_tasks"),
                    value=cst.List([cst.Element(cst.Name(up))]),
                    equal=cst.AssignEqual(
                        whitespace_before=cst.SimpleWhitespace(""),
                        whitespace_after=cst.SimpleWhitespace(""),
                    ),
                )
            )
            assign = stmt.body[0]
            edges[calls[down]] = stmt.with_changes(
                body=[assign.with_changes(value=task_call.with_changes(args=args))]
            )
        return [], edges

    def _reorder(self, results: list[str], stmts, calls) -> dict[int, int]:
        """The chained results' assignments put in the chain's order, in the places they hold
        (``{place: index of the statement moved there}``), when that changes no data flow: each
        reads nothing that another statement between those places assigns, and no statement
        there names what it assigns; every task downstream in the chain has no trigger. Empty
        when that cannot be proved."""
        if len(set(results)) != len(results):
            return {}
        triggered = self._triggered()
        places = sorted(calls[r] for r in results)
        span = range(places[0], places[-1] + 1)
        for r in results[1:]:
            call = simple_assign(stmts[calls[r]])[1]
            if call.func.value in triggered:
                return {}
        for r in results:
            k = calls[r]
            if count_refs(stmts, r) != 2:
                return {}  # used elsewhere (another edge, a downstream task): left as it is
            reads = {n.value for n in name_refs(stmts[k])} - {r}
            for m in span:
                if m == k:
                    continue
                other = stmts[m]
                if r in {n.value for n in name_refs(other)} or reads & set(stored_names(other)):
                    return {}
        return {place: calls[r] for place, r in zip(places, results, strict=True)}

    def _triggered(self, explicit: bool = False) -> set[str]:
        """Module-level @task functions declared with a ``trigger=`` (``explicit``: other than
        the default ``all_successful`` and ``not_all_skipped``, which PF009 drops)."""
        if self.mod is None:
            return set()
        out = set()
        for stmt in self.mod.body:
            if isinstance(stmt, cst.FunctionDef):
                for d in stmt.decorators:
                    arg = (
                        get_arg(d.decorator, "trigger")
                        if isinstance(d.decorator, cst.Call)
                        else None
                    )
                    if arg is None:
                        continue
                    value = arg.value
                    short = (
                        value.attr.value
                        if isinstance(value, cst.Attribute)
                        else getattr(value, "value", None)
                    )
                    if not explicit or short not in ("all_successful", "not_all_skipped"):
                        out.add(stmt.name.value)
        return out

    def _body_todos(self, site: FlowSite, body: cst.BaseSuite) -> dict[int, list[str]]:
        """TODOs for top-level body statements: I/O at build time, uses of the flow object."""
        out: dict[int, list[str]] = {}
        if not isinstance(body, cst.IndentedBlock):
            return out
        tasks = TaskCalls(self, self.tasks)
        tasks.learn_body(body.body)
        for i, stmt in enumerate(body.body):
            finder = _IOFinder(self, tasks)
            stmt.visit(finder)
            if finder.reasons:
                out.setdefault(i, []).append(
                    f"this statement ran once when the flow was built; it now runs at every "
                    f"flow run and does I/O ({', '.join(finder.reasons)}): move it out of the "
                    f"flow if it must run once"
                )
            if (
                site.variable
                and count_refs([stmt], site.variable)
                and id(stmt) not in self.commented
                and i not in self.imperative.get(id(site.with_node), {})
            ):
                out.setdefault(i, []).append(
                    f"`{site.variable}` was the Prefect 1 Flow object, which does not exist "
                    f"inside the @flow function: rewrite this statement (task calls, "
                    f"prefect.runtime.flow_run)"
                )
        return out

    # -------------------------------------------------------------------- rewriting

    def _commented_out(self, original_node, updated_node):
        message = self.commented.get(id(original_node))
        if message is None:
            return None
        variable = self.dependents.get(id(original_node))
        if variable is not None:  # the flow's TODO covers it: one TODO per root cause
            note = (
                f"uses the Prefect 1 flow `{variable}`, commented out with it (see the PF002 "
                "TODO on its definition)"
            )
            grouped = id(original_node) in self.grouped
            return self.comment_out(updated_node, None, note=None if grouped else note)
        return self.comment_out(updated_node, message)

    def leave_For(self, original_node, updated_node):
        return self._commented_out(original_node, updated_node) or updated_node

    def leave_While(self, original_node, updated_node):
        return self._commented_out(original_node, updated_node) or updated_node

    def leave_If(self, original_node, updated_node):
        return self._commented_out(original_node, updated_node) or updated_node

    def leave_Try(self, original_node, updated_node):
        return self._commented_out(original_node, updated_node) or updated_node

    def leave_With(self, original_node: cst.With, updated_node: cst.With):
        commented = self._commented_out(original_node, updated_node)
        if commented is not None:
            return commented
        site = self.sites.get(id(original_node))
        if site is None or site.kind != "with":
            return updated_node  # factory flows are rewritten with their factory
        func = self._function(site, updated_node.body, updated_node.leading_lines)
        return self._after(site, func)

    def _decorator(self, site: FlowSite) -> tuple[cst.Decorator, list[str], list[str]]:
        call = site.call
        todos: list[str] = []
        kept: list[cst.Arg] = []
        wrapper = self._wrapper(call.func)
        notes: list[str] = []  # informational lines above the @flow (not TODOs)
        extras: list[str] = []  # a wrapper's own arguments, named in its one TODO
        extra_keys: list[str | None] = []
        for pos, arg in enumerate(call.args):
            if wrapper is not None and _wrapper_extra(arg, pos):
                extras.append(self.code_for(arg.with_changes(comma=cst.MaybeSentinel.DEFAULT)))
                extra_keys.append(None if arg.star or arg.keyword is None else arg.keyword.value)
                continue
            if arg.keyword is None and not arg.star and pos == 0:
                arg = arg.with_changes(
                    keyword=cst.Name("name"),
                    equal=cst.AssignEqual(
                        whitespace_before=cst.SimpleWhitespace(""),
                        whitespace_after=cst.SimpleWhitespace(""),
                    ),
                )
            key = arg.keyword.value if arg.keyword is not None else None
            if key == "name":
                renamed = renamed_flow_name(arg.value)
                if renamed is not None:
                    value, old, new = renamed
                    arg = arg.with_changes(value=value)
                    # informational: the deployments, and the parents starting this flow by
                    # name, are given the new name; nothing is left for a human to change
                    notes.append(
                        f'{INFO_PREFIX} flow renamed from "{old}" to "{new}" (Prefect 2 rejects '
                        f"{' '.join(BANNED_FLOW_NAME_CHARACTERS)} in flow names)"
                    )
                kept.append(arg)
                continue
            if key in DEPLOYMENT_KWARGS or key == "validate":
                continue
            if key == "tasks" and site.kind == "functional":
                continue  # its tasks are called by the function
            if key in ("reference_tasks", "terminal_state_handler", "tasks", "edges"):
                todos.append(
                    f"Flow({key}={self.code_for(arg.value)}) has no Prefect 2 equivalent and was "
                    f"removed: "
                    + (
                        "the flow's final state now comes from its return value / first "
                        "unhandled exception; return or raise accordingly"
                        if key == "reference_tasks"
                        else "move its logic into on_completion/on_failure hooks"
                        if key == "terminal_state_handler"
                        else "call the tasks inside the flow function"
                    )
                )
                continue
            if key == "result":
                converted = self._result_kwargs(arg)
                if converted is None:
                    todos.append(
                        f"Flow(result={self.code_for(arg.value)}) was removed: configure "
                        f"persist_result=True and result_storage= (a storage block) on @flow"
                    )
                else:
                    kept.extend(converted)
                continue
            if key is None:
                todos.append(
                    f"unexpected positional Flow argument {self.code_for(arg.value)} removed"
                )
                continue
            kept.append(arg)
        if kept:
            last_comma = call.args[-1].comma if call.args else cst.MaybeSentinel.DEFAULT
            kept = [
                a if a.comma is not cst.MaybeSentinel.DEFAULT or i == len(kept) - 1 else a
                for i, a in enumerate(kept)
            ]
            for i, a in enumerate(kept[:-1]):
                if a.comma is cst.MaybeSentinel.DEFAULT:
                    kept[i] = a.with_changes(
                        comma=cst.Comma(whitespace_after=cst.SimpleWhitespace(" "))
                    )
            kept[-1] = kept[-1].with_changes(comma=last_comma)
        new_call = call.with_changes(func=cst.Name(decorator_name(self, "flow")), args=kept)
        if wrapper is not None:
            metadata = self._wrapper_metadata(call.func) if wrapper[1] is None else None
            if metadata is not None and all(k in metadata for k in extra_keys):
                if extras:  # only stored on the flow object: nothing of Prefect 1 read them
                    notes.append(metadata_note(wrapper[0], [e.strip() for e in extras]))
            else:
                todos.insert(0, wrapper_todo(wrapper[0], [e.strip() for e in extras], wrapper[1]))
        return cst.Decorator(decorator=new_call), todos, notes

    def _wrapper_metadata(self, func: cst.BaseExpression) -> frozenset[str] | None:
        """The options the wrapper ``func`` names only stores on the flow object, when the Prefect
        1 oracle read its source and found no behaviour of its own (None: not known)."""
        for q in sorted(raw_qualified_names(self, func)):
            found = self.project.declared.metadata_of(self.project.chain(q))
            if found is not None:
                return found
        return None

    def _wrapper(self, func: cst.BaseExpression) -> tuple[str, str | None] | None:
        """For a call of a wrapper of Prefect 1's Flow (a subclass, declared or probable): its
        name, and the name to declare when it is only probable."""
        raw = raw_qualified_names(self, func)
        if not raw or any(q == "prefect" or q.startswith("prefect.") for q in raw):
            return None
        module = self.context.full_module_name or "__main__"
        for q in sorted(raw):
            if not self.project.is_wrapper(q):
                continue
            probable = self.project.probable_of(q)
            local = q.removeprefix(module + ".")
            return (local if local != q and "." not in local else q), probable
        return None

    def visit_ClassDef(self, node: cst.ClassDef) -> None:
        if any(self.is_prefect(base.value, FLOW) for base in node.bases):
            self.add_todo(wrapper_class_todo(node.name.value))

    def _result_kwargs(self, arg: cst.Arg) -> list[cst.Arg] | None:
        value = arg.value
        if not (
            isinstance(value, cst.Call)
            and self.is_prefect(value.func, "prefect.engine.results.LocalResult")
        ):
            return None
        extra = [a for a in value.args if not (a.keyword and a.keyword.value == "dir")]
        directory = get_arg(value, "dir", 0)
        if extra and not (directory is not None and len(value.args) == 1):
            return None
        eq = cst.AssignEqual(
            whitespace_before=cst.SimpleWhitespace(""), whitespace_after=cst.SimpleWhitespace("")
        )
        comma = cst.Comma(whitespace_after=cst.SimpleWhitespace(" "))
        out = [
            cst.Arg(
                keyword=cst.Name("persist_result"), value=cst.Name("True"), equal=eq, comma=comma
            )
        ]
        if directory is not None:
            self.add_import("prefect.filesystems", "LocalFileSystem")
            out.append(
                cst.Arg(
                    keyword=cst.Name("result_storage"),
                    value=cst.Call(
                        func=cst.Name("LocalFileSystem"),
                        args=[
                            cst.Arg(keyword=cst.Name("basepath"), value=directory.value, equal=eq)
                        ],
                    ),
                    equal=eq,
                    comma=comma,
                )
            )
        self._remove_imported(value.func)
        return out

    def _remove_imported(self, func: cst.BaseExpression) -> None:
        for q in raw_qualified_names(self, func):
            module, _, name = q.rpartition(".")
            if module and not q.startswith((self.context.full_module_name or "__main__") + "."):
                self.remove_import_if_unused(module, name)

    def _function(self, site: FlowSite, body: cst.BaseSuite, leading) -> cst.FunctionDef:
        decorator, todos, notes = self._decorator(site)
        todo_map = self.body_todos.get(id(site.with_node), {}) if site.with_node else {}
        if isinstance(body, cst.IndentedBlock):
            stmts = list(body.body)
            for i, comments in todo_map.items():
                if i < len(stmts):
                    for c in comments:
                        stmts[i] = with_todo(stmts[i], self.CODE, c)
            imperative = self.imperative.get(id(site.with_node), {}) if site.with_node else {}
            if imperative:
                kept: list[cst.BaseStatement] = []
                carried: list[cst.EmptyLine] = []
                for i, stmt in enumerate(stmts):
                    replacement: list[cst.BaseStatement] = [stmt]
                    new = imperative.get(i, stmt)
                    if isinstance(new, _Moved):
                        replacement = [stmts[new.index]]
                    elif i in imperative:
                        carried += list(stmt.leading_lines)
                        replacement = [] if new is None else new if isinstance(new, list) else [new]
                    for stmt in replacement:
                        if carried:
                            stmt = stmt.with_changes(leading_lines=[*carried, *stmt.leading_lines])
                            carried = []
                        kept.append(stmt)
                stmts = kept or [cst.SimpleStatementLine(body=[cst.Pass()], leading_lines=carried)]
            if site.kind != "factory" and self.mod is not None:
                stmts = rename_shadowing_locals(stmts, module_bound_names(self.mod))
            tasks = TaskCalls(self, self.tasks)
            tasks.learn_body(stmts)
            triggered = frozenset(self._triggered(explicit=True))
            ret = _terminal_return(stmts, tasks, triggered)
            if ret is not None:
                index, stmt = ret
                self.returned[site.function_name] = returned_name(stmt)
                if index is None:
                    stmts.append(stmt)
                else:
                    stmts[index] = stmt
            if not triggered and not imperative:  # an imperative edge orders calls: keep raising
                stmts = _isolate_failures(stmts, tasks)
            body = body.with_changes(body=stmts)
        func = cst.FunctionDef(
            name=cst.Name(site.function_name),
            params=cst.Parameters(),
            body=body,
            decorators=[decorator],
            leading_lines=leading,
        )
        for todo in [*todos, *self.site_todos.get(site.index, ())]:
            func = with_todo(func, self.CODE, todo)
        if notes:
            func = with_leading_comments(func, notes)
        if any(a.keyword and a.keyword.value in DEPLOYMENT_KWARGS for a in site.call.args):
            func = with_leading_comments(
                func,
                [
                    moved_comment(a.keyword.value)
                    for a in site.call.args
                    if a.keyword and a.keyword.value in DEPLOYMENT_KWARGS
                ],
            )
        self._remove_imported(site.call.func)
        decorator_name(self, "flow")
        self.mark_applied()
        return func

    def _needs_alias(self, site: FlowSite) -> bool:
        variable = site.variable
        if variable is None or self.mod is None:
            return False
        if self.project.is_imported_elsewhere(self.context.full_module_name, variable):
            return True
        others = [
            stmt
            for i, stmt in enumerate(self.mod.body)
            if i != site.index and not (site.graph and i in site.graph.statements)
        ]
        return live_refs(others, variable, set(self.commented)) > 0

    def _alias(self, variable: str, function_name: str) -> cst.SimpleStatementLine:
        return cst.SimpleStatementLine(
            body=[
                cst.Assign(
                    targets=[cst.AssignTarget(target=cst.Name(variable))],
                    value=cst.Name(function_name),
                )
            ]
        )

    def _after(self, site: FlowSite, func: cst.FunctionDef):
        nodes: list[cst.CSTNode] = [func]
        if site.variable != site.function_name and self._needs_alias(site):
            if site.variable == "flow":
                self.flow_alias = site.function_name
            else:
                nodes.append(self._alias(site.variable, site.function_name))
        return cst.FlattenSentinel(nodes) if len(nodes) > 1 else func

    def leave_Name(self, original_node: cst.Name, updated_node: cst.Name) -> cst.Name:
        renamed = self.renamed_refs.get(id(original_node))
        if renamed is not None:
            return updated_node.with_changes(value=renamed)
        site = self.flow_refs.get(id(original_node))
        if site is None:
            return updated_node
        return updated_node.with_changes(value=site.function_name)

    def leave_SimpleStatementLine(self, original_node, updated_node):
        site = self.sites.get(id(original_node))
        if site is not None and site.kind == "functional":
            return self._after(site, self._functional_function(site, updated_node))
        if id(original_node) in self.functional_statements or id(original_node) in self.folded:
            return cst.RemovalSentinel.REMOVE
        plan = self.copies.get(id(original_node))
        if plan is not None:
            return self._copy(plan, updated_node)
        todo = self.copy_todos.get(id(original_node))
        if todo is not None:
            return with_todo(updated_node, self.CODE, todo)
        return self._commented_out(original_node, updated_node) or updated_node

    def _copy(self, plan: _CopyPlan, stmt: cst.SimpleStatementLine) -> cst.SimpleStatementLine:
        """``g = f.copy()`` -> ``g = f.with_options(name=...)``, with the copy's TODO when it has
        deployment settings of its own."""
        assign = stmt.body[0]
        call = assign.value
        if not call.args:  # f.copy()
            receiver = call.func.value
        else:
            receiver = call.args[0].value
            self._forget_copy_import(call.func)
        args = [
            cst.Arg(
                keyword=cst.Name(attr),
                value=plan.options[attr],
                equal=cst.AssignEqual(
                    whitespace_before=cst.SimpleWhitespace(""),
                    whitespace_after=cst.SimpleWhitespace(""),
                ),
            )
            for attr in COPY_OPTIONS
            if attr in plan.options
        ]
        new_call = cst.Call(
            func=cst.Attribute(value=receiver, attr=cst.Name("with_options")), args=args
        )
        new = stmt.with_changes(body=[assign.with_changes(value=new_call)])
        self.mark_applied()
        if plan.kept:
            new = with_todo(new, self.CODE, _copy_todo(plan))
        return new

    def _forget_copy_import(self, func: cst.BaseExpression) -> None:
        """``import copy`` / ``from copy import deepcopy``: removed if the rewrite left it unused."""
        if isinstance(func, cst.Attribute) and isinstance(func.value, cst.Name):
            self.remove_import_if_unused(func.value.value)
        elif isinstance(func, cst.Name):
            for name in sorted(self.qualified_names(func)):
                if name in ("copy.copy", "copy.deepcopy"):
                    self.remove_import_if_unused("copy", name.split(".", 1)[1])

    def _functional_function(self, site: FlowSite, stmt) -> cst.FunctionDef:
        graph = site.graph
        order = graph.topological() or []
        params = self._module_parameters()
        taken = set(order) | module_bound_names(self.mod)
        lines = self._graph_calls(graph, order, params, taken)
        if not lines:
            lines = ["pass"]
        body = cst.parse_statement("def _():\n" + "".join(f"    {ln}\n" for ln in lines)).body
        self.functional_functions.add(site.function_name)
        return self._function(site, body, stmt.leading_lines)

    def _graph_calls(
        self, graph: DependencyGraph, order: list[str], given: set[str], taken: set[str]
    ) -> list[str]:
        """The task calls of ``graph`` in ``order``, as source lines: each task called once with
        its upstream results (``key=`` edges as keyword arguments, the others as
        ``upstream_tasks=[...]``, which PF005 makes ``wait_for``); a node with a mapped edge is
        called with ``.map``, its unmapped inputs wrapped in ``unmapped(...)``. The nodes in
        ``given`` (parameters, results computed before) are values, not called. A result used
        downstream is kept in ``<task>_result`` (a name not in ``taken``, which grows)."""
        consumers: dict[str, int] = {n: 0 for n in order}
        for name in order:
            for up in graph.upstream[name]:
                consumers[up] += 1
            for _, up in graph.keyword[name]:
                for u in up if isinstance(up, tuple) else (up,):
                    consumers[u] += 1
        result_var: dict[str, str] = {}
        lines = []
        for name in order:
            if name in given:
                result_var[name] = name
                continue
            mapped = name in graph.mapped

            def value(key: str | None, up, name=name, mapped=mapped) -> str:
                text = (
                    f"[{', '.join(result_var[x] for x in up)}]"
                    if isinstance(up, tuple)
                    else result_var[up]
                )
                if mapped and not graph.is_mapped(name, key, up):
                    self.add_import("prefect", "unmapped")
                    return f"unmapped({text})"
                return text

            args = [f"{k}={value(k, u)}" for k, u in graph.keyword[name]]
            ups = [value(None, u) for u in graph.upstream[name]]
            if ups:
                args.append(f"upstream_tasks=[{', '.join(ups)}]")
            callee = f"{name}.map" if mapped else name
            expr = f"{callee}({', '.join(args)})"
            if consumers[name]:
                var = f"{name}_result"
                n = 2
                while var in taken:
                    var = f"{name}_result_{n}"
                    n += 1
                taken.add(var)
                result_var[name] = var
                lines.append(f"{var} = {expr}")
            else:
                lines.append(expr)
        return lines

    def _module_parameters(self) -> set[str]:
        out = set()
        for stmt in self.mod.body:
            assign = simple_assign(stmt)
            if (
                assign
                and isinstance(assign[1], cst.Call)
                and self.resolves_under(
                    assign[1].func,
                    "prefect.Parameter",
                    "prefect.DateTimeParameter",
                    "prefect.JSONParameter",
                )
            ):
                out.add(assign[0])
        return out

    def leave_FunctionDef(self, original_node, updated_node):
        renamed = self.renamed_defs.get(id(original_node))
        if renamed is not None:
            self.mark_applied()
            return _renamed_task(updated_node, renamed)
        site = self.sites.get(id(original_node))
        if site is None or site.kind != "factory":
            return updated_node
        with_original = site.with_node
        stmts = list(updated_node.body.body)
        index = list(original_node.body.body).index(with_original)
        with_updated = stmts[index]
        func = self._function(site, with_updated.body, with_updated.leading_lines)
        new_stmts = self._factory_rest(site, stmts, index) or [
            cst.SimpleStatementLine(body=[cst.Pass()])
        ]
        factory = updated_node.with_changes(body=updated_node.body.with_changes(body=new_stmts))
        blank = cst.EmptyLine()
        factory = factory.with_changes(leading_lines=[blank, blank])
        func = func.with_changes(leading_lines=[*updated_node.leading_lines, *func.leading_lines])
        return cst.FlattenSentinel([func, factory])

    def _factory_rest(self, site: FlowSite, stmts: list, index: int) -> list:
        """The factory's statements once its flow moved out (already rewritten by this rule):
        ``return f`` returns the @flow function; other uses of ``f`` keep an alias."""
        others = stmts[:index] + stmts[index + 1 :]
        variable = site.variable
        refs = count_refs(others, variable) if variable else 0
        if not refs:
            return others
        returns = [
            s
            for s in others
            if isinstance(s, cst.SimpleStatementLine)
            and len(s.body) == 1
            and isinstance(s.body[0], cst.Return)
            and isinstance(s.body[0].value, cst.Name)
            and s.body[0].value.value == variable
        ]
        if len(returns) == refs:
            return [
                s.with_changes(body=[cst.Return(value=cst.Name(site.function_name))])
                if s in returns
                else s
                for s in others
            ]
        alias = self._alias(variable, site.function_name)
        return [*stmts[:index], alias.with_changes(leading_lines=stmts[index].leading_lines)] + (
            stmts[index + 1 :]
        )

    def leave_Module(self, original_node, updated_node):
        return self._finish(updated_node)

    def _finish(self, module: cst.Module) -> cst.Module:
        states = self.context.scratch.get(SCRATCH_STATE_LOOKUPS)
        if states:  # flow-run states read as `state.result[task].result` (PF015 left them)

            def comment_out(stmt, message, note):
                return self.comment_out(stmt, message, note, code="PF015")

            module = rewrite_lookups(module, states, self.returned, comment_out)
        body = list(module.body)
        # A function written in place of a one-line `f = Flow(...)`: keep a blank line after it.
        for i in range(1, len(body)):
            prev, stmt = body[i - 1], body[i]
            if (
                isinstance(prev, cst.FunctionDef)
                and prev.name.value in self.functional_functions
                and not any(line.comment is None for line in stmt.leading_lines[:1])
            ):
                body[i] = stmt.with_changes(leading_lines=[cst.EmptyLine(), *stmt.leading_lines])
        if self.flow_alias is not None:
            body.append(self._alias("flow", self.flow_alias))
        return module.with_changes(body=body) if body != list(module.body) else module


RULE = FlowDefinitionRule


def _withs(function: cst.FunctionDef) -> list[cst.With]:
    """The ``with`` statements anywhere inside ``function``."""
    found: list[cst.With] = []

    class _Find(cst.CSTVisitor):
        def visit_With(self, node: cst.With) -> None:
            found.append(node)

    function.visit(_Find())
    return found


def _edge_statement(stmt: cst.CSTNode) -> tuple[str, str] | None:
    """``(downstream, upstream)`` of a statement ``x.set_upstream(y)`` / ``y.set_downstream(x)``
    between two names, with no other argument; else None."""
    call = dependency_call(stmt)
    if not (
        call is not None
        and isinstance(call.func.value, cst.Name)
        and len(call.args) == 1
        and call.args[0].keyword is None
        and not call.args[0].star
        and isinstance(call.args[0].value, cst.Name)
    ):
        return None
    receiver, other = call.func.value.value, call.args[0].value.value
    if call.func.attr.value == "set_upstream":
        return receiver, other
    return other, receiver
