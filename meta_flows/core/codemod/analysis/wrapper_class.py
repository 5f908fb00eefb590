"""What a company's wrapper of Prefect 1's ``Flow`` adds, read from its source.

An estate's ``Flow`` subclass often only records the company's own options on the flow object::

    class Flow(prefect.Flow):
        def __init__(self, name, *args, code_owners=None, skip_if_running=False, **kwargs):
            self.code_owners = list(code_owners or [])
            self.skip_if_running = skip_if_running
            super().__init__(name, *args, **kwargs)

Nothing of Prefect 1 reads ``code_owners``: a flow built with it runs exactly as Prefect 1's plain
``Flow`` would, and the option is metadata. :func:`metadata_options` proves that from the source of
each of the estate's own classes in the wrapper's method resolution order (most derived first; the
Prefect 1 oracle reports them): it returns the options that are only stored on the instance, or
``None`` when the wrapper may change how a flow behaves. Anything it cannot vouch for counts as
behaviour:

- a class body holding more than a docstring, ``pass`` and ``__init__`` (an overridden method, a
  class attribute);
- in ``__init__``, a statement that is not a docstring, ``self.<attr> = <value>`` or one
  ``super().__init__(...)`` call; an attribute Prefect 1's ``Flow`` has itself (``self.name``,
  ``self.state_handlers``...); a stored value computed by more than literals, the parameters and
  plain builtins (``list``, ``dict``, ``bool``...);
- a ``super().__init__`` call that does not pass Prefect 1's options through unchanged: a literal,
  a changed value, a default of the wrapper's own for one of Prefect 1's options (other than
  ``None``).

A plain library: the standard ``ast`` only (through :mod:`meta_flows.patches.pyast`).
"""

from __future__ import annotations

import ast
import textwrap
from collections.abc import Sequence

from meta_flows.patches import pyast

# Prefect 1.4.1 ``Flow``: the attributes an instance has after ``__init__`` and its methods; a
# wrapper assigning one of them changes the flow itself
PREFECT1_FLOW_ATTRIBUTES = frozenset(
    {
        "cache", "constants", "edges", "executor", "logger", "name", "result", "run_config",
        "schedule", "slugs", "state_handlers", "storage", "tasks", "terminal_state_handler",
        "environment", "on_failure", "validate", "reference_tasks", "parameters", "run",
        "register", "serialize", "copy", "update", "chain", "add_edge", "add_task",
        "set_dependencies", "set_reference_tasks", "visualize", "diagnostics", "load", "save",
        "replace", "get_tasks", "root_tasks", "terminal_tasks", "sorted_tasks", "upstream_tasks",
        "downstream_tasks", "edges_from", "edges_to", "all_upstream_edges",
        "all_downstream_edges", "run_agent", "serialized_hash",
    }
)  # fmt: skip
_PURE_BUILTINS = frozenset(
    {"list", "tuple", "dict", "set", "frozenset", "bool", "str", "int", "float", "sorted"}
)


def metadata_options(sources: Sequence[str]) -> frozenset[str] | None:
    """The options of a ``Flow`` wrapper that are only stored on the flow object, from the source
    of each of its own classes (most derived first); ``None``: the wrapper may change behaviour
    (see the module docstring) or a source cannot be read."""
    if not sources:
        return None
    found: set[str] = set()
    for source in sources:
        options = _class_metadata(source)
        if options is None:
            return None
        found |= options
    return frozenset(found)


def _class_metadata(source: str) -> set[str] | None:
    try:
        # a nested class's source (inspect.getsource keeps its indentation)
        tree = pyast.parse(textwrap.dedent(source))
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        return None
    classes = [n for n in tree.body if isinstance(n, ast.ClassDef)]
    if len(classes) != 1 or classes[0].decorator_list:
        return None
    init = None
    for stmt in classes[0].body:
        if _is_docstring(stmt) or isinstance(stmt, ast.Pass):
            continue
        if isinstance(stmt, ast.FunctionDef) and stmt.name == "__init__" and init is None:
            init = stmt
            continue
        return None
    if init is None:
        return set()  # a subclass adding nothing
    return _init_metadata(init)


def _init_metadata(init: ast.FunctionDef) -> set[str] | None:
    args = init.args
    if init.decorator_list or args.posonlyargs or not args.args:
        return None
    named = [a.arg for a in (*args.args[1:], *args.kwonlyargs)]
    self_name = args.args[0].arg
    defaults = dict(zip([a.arg for a in args.args[::-1]], args.defaults[::-1], strict=False))
    defaults.update({a.arg: d for a, d in zip(args.kwonlyargs, args.kw_defaults, strict=True) if d})
    params = {*named, *(a.arg for a in (args.vararg, args.kwarg) if a is not None)}
    passed: set[str] = set()
    supers = 0
    for stmt in init.body:
        if _is_docstring(stmt) or isinstance(stmt, ast.Pass):
            continue
        if isinstance(stmt, ast.Assign) and len(stmt.targets) == 1:
            target = stmt.targets[0]
            if not (
                isinstance(target, ast.Attribute)
                and isinstance(target.value, ast.Name)
                and target.value.id == self_name
                and target.attr not in PREFECT1_FLOW_ATTRIBUTES
                and not target.attr.startswith("_")
            ):
                return None
            reads = _pure_reads(stmt.value)
            if reads is None or not reads <= params:
                return None
            continue
        if isinstance(stmt, ast.Expr) and _is_super_init(stmt.value, self_name):
            supers += 1
            through = _passed_through(stmt.value, params)
            if through is None:
                return None
            passed |= through
            continue
        return None
    if supers != 1:
        return None
    for name in passed & set(named):
        default = defaults.get(name)
        if default is not None and not (
            isinstance(default, ast.Constant) and default.value is None
        ):
            return None  # a default of the wrapper's own for an option it hands on
    if any(a is not None and a.arg not in passed for a in (args.vararg, args.kwarg)):
        return None  # options of Prefect 1 swallowed: the flow would lose them
    return {n for n in named if n not in passed}


def _is_super_init(node: ast.expr, self_name: str) -> bool:
    if not (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)):
        return False
    if node.func.attr != "__init__":
        return False
    owner = node.func.value
    return (
        isinstance(owner, ast.Call)
        and isinstance(owner.func, ast.Name)
        and (owner.func.id == "super")
    )


def _passed_through(call: ast.Call, params: set[str]) -> set[str] | None:
    """The parameters handed on unchanged to ``super().__init__`` (None: anything else)."""
    out: set[str] = set()
    for arg in call.args:
        value = arg.value if isinstance(arg, ast.Starred) else arg
        if not (isinstance(value, ast.Name) and value.id in params):
            return None
        out.add(value.id)
    for keyword in call.keywords:
        value = keyword.value
        if not (isinstance(value, ast.Name) and value.id in params):
            return None
        if keyword.arg is not None and keyword.arg != value.id:
            return None
        out.add(value.id)
    return out


def _pure_reads(node: ast.expr) -> set[str] | None:
    """The names a stored value reads, when it is built from literals, names and plain builtins
    only (None: a call of anything else, an attribute, a comprehension...)."""
    reads: set[str] = set()
    for sub in ast.walk(node):
        if isinstance(sub, ast.Call):
            if not (isinstance(sub.func, ast.Name) and sub.func.id in _PURE_BUILTINS):
                return None
        elif isinstance(sub, ast.Name):
            if sub.id not in _PURE_BUILTINS:
                reads.add(sub.id)
        elif not isinstance(
            sub,
            (
                ast.Constant, ast.List, ast.Tuple, ast.Set, ast.Dict, ast.BoolOp, ast.IfExp,
                ast.Compare, ast.UnaryOp, ast.Load, ast.boolop, ast.cmpop, ast.unaryop,
                ast.keyword, ast.Starred,
            ),
        ):  # fmt: skip
            return None
    return reads


def _is_docstring(stmt: ast.stmt) -> bool:
    return (
        isinstance(stmt, ast.Expr)
        and isinstance(stmt.value, ast.Constant)
        and isinstance(stmt.value.value, str)
    )
