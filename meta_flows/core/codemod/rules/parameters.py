"""PF003 parameters: Parameter(...) becomes a typed flow function argument (§2.2).

Runs right after PF002, on ``@flow`` functions (``prefect.flow``).

Before::

    @flow(name="ETL")
    def etl():
        n = Parameter("n", default=3)
        day = DateTimeParameter("day", required=False)
        start = Parameter("start-date")
        regions = Parameter("regions", default=["eu", "us"])
        cfg = JSONParameter("cfg", default={"a": 1})
        ...

After::

    # TODO(prefect2-migration): PF003 parameter 'start-date' is now the argument `start_date` ...
    @flow(name="ETL")
    def etl(start_date, n: int = 3, day: Optional[datetime.datetime] = None,
            regions: list = ("eu", "us"), cfg: Mapping = {"a": 1}):
        start = start_date
        ...

- Type hints come from literal defaults (int/float/str/bool); a None default gives no hint (A).
- Required parameters (no default, ``required=True``) come first, otherwise the order is kept (A).
- A list default stays the default, written as a tuple under a ``list`` hint:
  ``regions: list = ("eu", "us")``. The flow's parameter schema (what deployments and the UI's
  run form show) has ``"default": ["eu", "us"]``, and no two runs share a mutable default: Prefect
  2 validates flow parameters against the hints (``validate_parameters=True``, the default) and
  hands every flow run a new list made from the tuple. A list literal in the signature would be
  copied for flow runs too, but direct calls of the function (``etl.fn()``) would share it, and
  ruff flags it (B006); with the tuple, ``etl.fn()`` gets the tuple itself, which cannot be
  changed (C: ``.fn()`` callers see a tuple where Prefect 1 gave a list).
- A dict default stays the default under a ``Mapping`` hint (``collections.abc``):
  ``cfg: Mapping = {"a": 1}``. The schema shows the default and every flow run gets a new dict
  (the validation copies it); the read-only hint says the default is not to be changed in place,
  which is also what ruff's B006 accepts -- Python has no immutable dict literal that the schema
  could show. Direct ``etl.fn()`` calls get the default object itself (C).
- A list/dict default holding a mutable object (``[[1]]``, ``{"k": [1]}``) becomes
  ``Optional[...] = None`` plus a fresh copy at the start of the body, since the validation copies
  only the outer object: ``cfg = cfg if cfg is not None else {"k": [1]}`` (its default does not
  show in the schema) (C).
- ``DateTimeParameter`` -> ``datetime.datetime`` (``Optional[...] = None`` when not required) (A);
  a non-None default is kept but not parsed into a datetime: TODO (C).
- Names that are not identifiers are renamed (TODO with the old name) (C).
- A Parameter assigned in a nested block of the flow (``with case(...)``, ``if``, ``with``,
  ``try``; not a loop) is an argument too: Prefect 1 made every Parameter a root task, never part
  of a case (A). Its assignment leaves the block (``pass`` if the block empties).
- Parameters defined at module level and used in a flow are lifted into its signature; the
  module-level assignment goes when nothing else uses it (A). So is one another module of the
  project defines and this one imports (``from flows.shared import DAY``, known from the project
  index): the flow keeps its Prefect 1 parameter, and the import goes when nothing else uses it.
- A module-level Parameter that something else still needs -- code of the module outside the
  flows lifting it, another module importing it, or no flow of the module at all -- stays defined,
  as its default value (``None`` without one), under ONE TODO naming its uses: importers and
  readers keep working (with the default where Prefect 1 passed the flow run's value), and nothing
  is commented out (C)::

      DAY = Parameter("day", default="2024-01-01")   # imported by flows/daily.py

  becomes::

      # TODO(prefect2-migration): PF003 Parameter `DAY` ('day') is not an argument of any flow of
      # this module: `DAY` is now its default value, where Prefect 1 passed the flow run's value
      # (for the modules importing it): make it an argument of the flow that needs it, or delete it
      DAY = "2024-01-01"
- A Parameter passed inline as a call argument (``load(Parameter("x", default=1))``) becomes the
  argument ``x`` and the call passes ``x`` (renamed if ``x`` is already used in the flow) (A).
"""

from __future__ import annotations

import ast
from dataclasses import dataclass, field

import libcst as cst
from libcst.codemod import CodemodContext
from libcst.codemod.visitors import RemoveImportsVisitor

from meta_flows.core.codemod.analysis.scope import (
    child_blocks,
    is_docstring,
    name_refs,
    raw_qualified_names,
    string_value,
)
from meta_flows.core.codemod.base import (
    Rule,
    dotted_name,
    get_arg,
    literal_value,
    module_code,
    with_todo,
)
from meta_flows.core.codemod.rules.imports import module_bindings
from meta_flows.core.codemod.stubs import lines_of
from meta_flows.core.codemod.sweep import sweep_removed
from meta_flows.core.naming import identifier
from meta_flows.patches import pyast

_PARAMETERS = ("prefect.Parameter", "prefect.DateTimeParameter", "prefect.JSONParameter")
_HINTS = {bool: "bool", int: "int", float: "float", str: "str"}


@dataclass
class _Param:
    variable: str
    argument: str
    original_name: str
    annotation: str | None
    default: cst.BaseExpression | None
    prelude: list[str] = field(default_factory=list)
    todos: list[str] = field(default_factory=list)


def _parameter_assign(rule: Rule, stmt: cst.CSTNode) -> tuple[str, cst.Call] | None:
    if (
        isinstance(stmt, cst.SimpleStatementLine)
        and len(stmt.body) == 1
        and isinstance(stmt.body[0], cst.Assign)
        and len(stmt.body[0].targets) == 1
        and isinstance(stmt.body[0].targets[0].target, cst.Name)
        and isinstance(stmt.body[0].value, cst.Call)
        and rule.is_prefect(stmt.body[0].value.func, *_PARAMETERS)
    ):
        return stmt.body[0].targets[0].target.value, stmt.body[0].value
    return None


def _nested_statements(stmts):
    """The simple statements inside the compound statements of ``stmts`` (``with``, ``if``,
    ``try``; not loops, whose Parameters would be created once per iteration, nor functions or
    classes), at any depth."""
    for stmt in stmts:
        if isinstance(stmt, (cst.With, cst.If, cst.Try)):
            for block in child_blocks(stmt):
                for inner in block:
                    if isinstance(inner, cst.SimpleStatementLine):
                        yield inner
                yield from _nested_statements(block)


_IMMUTABLE_SCALARS = (str, bytes, int, float, complex, bool, type(None))


def _immutable(value) -> bool:
    """``value`` (a list or dict literal's value) holds no mutable object below its top level."""
    if isinstance(value, list):
        return all(_immutable_item(v) for v in value)
    if isinstance(value, dict):
        return all(_immutable_item(k) and _immutable_item(v) for k, v in value.items())
    return _immutable_item(value)


def _immutable_item(value) -> bool:
    if isinstance(value, (tuple, frozenset)):
        return all(_immutable_item(v) for v in value)
    return isinstance(value, _IMMUTABLE_SCALARS)


def _as_tuple(node: cst.List) -> cst.Tuple:
    """``[a, b]`` as ``(a, b)`` (``[a]`` as ``(a,)``), its layout kept."""
    elements = list(node.elements)
    if len(elements) == 1 and elements[0].comma is cst.MaybeSentinel.DEFAULT:
        elements[0] = elements[0].with_changes(comma=cst.Comma())
    return cst.Tuple(
        elements=elements,
        lpar=[cst.LeftParen(whitespace_after=node.lbracket.whitespace_after)],
        rpar=[cst.RightParen(whitespace_before=node.rbracket.whitespace_before)],
    )


def _mapping_bound(code: str) -> str | None:
    """How the module binds the name ``Mapping``: ``"import"`` (from collections.abc or typing),
    ``"other"``, or None (not at all)."""
    try:
        body = pyast.parse(code).body
    except (SyntaxError, ValueError):
        return "other"
    if "Mapping" not in module_bindings(body):
        return None
    for stmt in body:
        if isinstance(stmt, ast.ImportFrom) and stmt.module in ("collections.abc", "typing"):
            if any(a.name == "Mapping" and a.asname in (None, "Mapping") for a in stmt.names):
                return "import"
    return "other"


def _module_scope_uses(stmt: cst.CSTNode, name: str) -> bool:
    """``stmt`` refers to the module-level ``name`` (a function's own parameter does not)."""
    if isinstance(stmt, cst.FunctionDef):
        p = stmt.params
        own = [*p.params, *p.posonly_params, *p.kwonly_params]
        own += [a for a in (p.star_arg, p.star_kwarg) if isinstance(a, cst.Param)]
        if any(param.name.value == name for param in own):
            return any(r.value == name for d in stmt.decorators for r in name_refs(d))
    return any(r.value == name for r in name_refs(stmt))


class ParametersRule(Rule):
    """Parameter(...) becomes a typed flow function argument (§2.2)."""

    CODE = "PF003"
    NAME = "parameters"
    DESCRIPTION = "Parameter(...) becomes a typed flow function argument (§2.2)"
    TRIGGERS = ("Parameter",)

    def __init__(self, context: CodemodContext) -> None:
        super().__init__(context)
        self.module_params: dict[str, cst.Call] = {}
        self.callees: set[tuple[str, str]] = set()
        self.module_param_stmts: dict[str, int] = {}
        self.flows: dict[int, list[tuple[int | None, _Param | None]]] = {}
        self.lifted: dict[str, set[str]] = {}  # module-level parameter -> flows lifting it
        self.inline: dict[int, str] = {}  # id(Parameter call used as an argument) -> argument
        self.nested_drop: set[int] = set()  # id(Parameter assignments in nested flow blocks)
        # local name -> (Parameter class, its call, module, name, asname): a module-level
        # Parameter another module of the project defines, imported here
        self.imported_params: dict[str, tuple] = {}

    def visit_Module(self, node: cst.Module) -> bool:
        super().visit_Module(node)
        self._imported_parameters(node)
        for stmt in node.body:
            found = _parameter_assign(self, stmt)
            if found:
                self.module_params[found[0]] = found[1]
                self.module_param_stmts[found[0]] = id(stmt)
        return True

    def _imported_parameters(self, module: cst.Module) -> None:
        """``from pkg.shared import DAY`` where ``DAY`` is a module-level Parameter of the
        project (``ProjectIndex.parameters``): lifted like one of this module's."""
        known = self.project.parameters
        if not known:
            return
        for stmt in module.body:
            if not isinstance(stmt, cst.SimpleStatementLine):
                continue
            for small in stmt.body:
                if not isinstance(small, cst.ImportFrom) or isinstance(small.names, cst.ImportStar):
                    continue
                source = dotted_name(small.module) if small.module is not None else ""
                dots = "." * len(small.relative)
                if dots:
                    source = self.project.absolute(self.context.full_module_name, dots + source)
                for alias in small.names:
                    name = dotted_name(alias.name)
                    asname = alias.asname.name.value if alias.asname else None
                    for owner in self.project.names_of(source):
                        found = known.get(f"{owner}.{name}")
                        if found is None:
                            continue
                        try:
                            call = cst.parse_expression(found[1])
                        except Exception:
                            break
                        if isinstance(call, cst.Call):
                            self.imported_params[asname or name] = (
                                found[0],
                                call,
                                source,
                                name,
                                asname,
                            )
                        break

    # ------------------------------------------------------------------ one parameter

    def _param(self, variable: str, call: cst.Call, kind: str | None = None) -> _Param | None:
        name_arg = get_arg(call, "name", 0)
        name = string_value(name_arg.value) if name_arg else None
        if name is None:
            return None
        kind = kind or self.prefect_name(call.func)
        for q in raw_qualified_names(self, call.func):
            module, _, obj = q.rpartition(".")
            if module.startswith("prefect"):
                self.callees.add((module, obj))
        default_arg = get_arg(call, "default", 1)
        required_arg = get_arg(call, "required", 2)
        default = default_arg.value if default_arg is not None else None
        try:
            required = bool(literal_value(required_arg.value)) if required_arg else None
        except Exception:
            return None
        argument = name if name.isidentifier() else identifier(name, "param")
        if not argument.isidentifier() or argument in ("flow", "task"):
            argument = identifier(name, "param")
        param = _Param(variable, argument, name, None, None)
        if argument != name:
            param.todos.append(
                f"parameter '{name}' is now the argument `{argument}`: deployments, schedules and "
                f"callers passing '{name}' must use the new name"
            )
        if kind == "prefect.DateTimeParameter":
            if required is None:
                required = default is None
            self.add_import("datetime")
            if required:
                param.annotation = "datetime.datetime"
            elif default is None or (isinstance(default, cst.Name) and default.value == "None"):
                self.add_import("typing", "Optional")
                param.annotation = "Optional[datetime.datetime]"
                param.default = cst.Name("None")
            else:
                param.annotation = "datetime.datetime"
                param.default = default
                param.todos.append(
                    f"DateTimeParameter '{name}' default is no longer parsed into a datetime: "
                    f"make it a datetime.datetime (or None)"
                )
            return param
        if required is None:
            required = default is None
        if required:
            return param
        if default is None:
            param.default = cst.Name("None")
            return param
        try:
            value = literal_value(default)
        except Exception:
            param.default = default
            return param
        if isinstance(value, list) and isinstance(default, cst.List) and _immutable(value):
            param.annotation = "list"
            param.default = _as_tuple(default)
            return param
        if isinstance(value, dict) and isinstance(default, cst.Dict) and _immutable(value):
            mapping = self._mapping_name()
            if mapping is not None:
                param.annotation = mapping
                param.default = default
                return param
        if isinstance(value, (dict, list)):
            hint = type(value).__name__
            self.add_import("typing", "Optional")
            param.annotation = f"Optional[{hint}]"
            param.default = cst.Name("None")
            code = cst.Module(body=[]).code_for_node(default)
            param.prelude.append(f"{argument} = {argument} if {argument} is not None else {code}")
            return param
        param.annotation = _HINTS.get(type(value))
        param.default = default
        return param

    def _mapping_name(self) -> str | None:
        """``Mapping`` for a dict default's hint, imported from collections.abc unless the module
        already imports it; None when the module binds the name to something else."""
        module = self.source_module
        bound = _mapping_bound(module_code(self.context, module)) if module is not None else "other"
        if bound is None:
            self.add_import("collections.abc", "Mapping")
        return "Mapping" if bound != "other" else None

    # ------------------------------------------------------------------ flow functions

    def _is_flow(self, node: cst.FunctionDef) -> bool:
        return any(self.is_prefect(d, "prefect.flow") for d in node.decorators)

    def visit_FunctionDef(self, node: cst.FunctionDef) -> None:
        if not self._is_flow(node) or not isinstance(node.body, cst.IndentedBlock):
            return
        found: list[tuple[int | None, _Param | None]] = []
        assigned = set()
        for stmt in node.body.body:
            if not isinstance(stmt, cst.SimpleStatementLine):
                continue
            for small in stmt.body:
                if isinstance(small, cst.Assign):
                    for t in small.targets:
                        assigned.update(r.value for r in name_refs(t.target))
        used = {r.value for s in node.body.body for r in name_refs(s)}
        for variable, (kind, call, module, name, asname) in self.imported_params.items():
            if variable in used and variable not in assigned:
                param = self._param(variable, call, kind)
                if param is not None:
                    found.append((None, param))
                    RemoveImportsVisitor.remove_unused_import(self.context, module, name, asname)
        for variable, call in self.module_params.items():
            if variable in used and variable not in assigned:
                param = self._param(variable, call)
                if param is not None:
                    found.append((None, param))
                    self.lifted.setdefault(variable, set()).add(node.name.value)
        for i, stmt in enumerate(node.body.body):
            assign = _parameter_assign(self, stmt)
            if assign:
                param = self._param(*assign)
                if param is None:
                    self.add_todo("Parameter with a computed name: turn it into a flow argument")
                else:
                    found.append((i, param))
        # in a nested block (`with case(...)`, `if`, `with`, `try`): Prefect 1 made every
        # Parameter a root task of the flow, never part of a case, so it is a flow argument too
        for stmt in _nested_statements(node.body.body):
            assign = _parameter_assign(self, stmt)
            if assign:
                param = self._param(*assign)
                if param is not None:
                    found.append((None, param))
                    self.nested_drop.add(id(stmt))
        found += self._inline_params(node, [p for _, p in found if p is not None])
        if found:
            self.flows[id(node)] = found

    def _inline_params(self, node: cst.FunctionDef, known: list[_Param]) -> list:
        """``load(Parameter("x", default=1))``: the Parameter becomes the argument ``x`` and the
        call passes ``x`` (same name as an assigned Parameter: that one's variable)."""
        rule = self
        calls: list[cst.Call] = []

        class _Finder(cst.CSTVisitor):
            def visit_FunctionDef(self, inner: cst.FunctionDef) -> bool:
                return False

            def visit_ClassDef(self, inner: cst.ClassDef) -> bool:
                return False

            def visit_Lambda(self, inner: cst.Lambda) -> bool:
                return False

            def visit_Arg(self, arg: cst.Arg) -> bool:
                value = arg.value
                if isinstance(value, cst.Call) and rule.is_prefect(value.func, *_PARAMETERS):
                    calls.append(value)
                    return False
                return True

        for stmt in node.body.body:
            stmt.visit(_Finder())
        if not calls:
            return []
        p = node.params
        taken = {r.value for s in node.body.body for r in name_refs(s)}
        taken |= {q.name.value for q in [*p.params, *p.posonly_params, *p.kwonly_params]}
        taken |= {q.argument for q in known} | {q.variable for q in known} | {"flow", "task"}
        by_name = {q.original_name: q.variable for q in known}
        out = []
        for call in calls:
            param = self._param("", call)
            if param is None:
                continue  # a computed name: left as is (PF001 flags the Prefect 1 object)
            if param.original_name in by_name:
                self.inline[id(call)] = by_name[param.original_name]
                continue
            argument, n = param.argument, 2
            while argument in taken:
                argument = f"{param.argument}_{n}"
                n += 1
            param.prelude = [line.replace(param.argument, argument) for line in param.prelude]
            param.argument = param.variable = argument
            taken.add(argument)
            by_name[param.original_name] = argument
            self.inline[id(call)] = argument
            out.append((None, param))
        return out

    def leave_IndentedBlock(self, original_node, updated_node):
        """Nested ``x = Parameter(...)`` statements leave their block (``pass`` if it empties)."""
        if not any(id(s) in self.nested_drop for s in original_node.body):
            return updated_node
        if len(original_node.body) != len(updated_node.body):
            return updated_node
        removed = {
            id(u)
            for o, u in zip(original_node.body, updated_node.body, strict=True)
            if id(o) in self.nested_drop
        }
        body, rest = sweep_removed(updated_node.body, removed)
        if not body:
            body = [cst.SimpleStatementLine(body=[cst.Pass()], leading_lines=rest)]
            rest = []
        return updated_node.with_changes(body=body, footer=[*rest, *updated_node.footer])

    def leave_Call(self, original_node: cst.Call, updated_node: cst.Call):
        argument = self.inline.get(id(original_node))
        if argument is None:
            return updated_node
        return cst.Name(argument)

    def leave_FunctionDef(self, original_node, updated_node):
        found = self.flows.get(id(original_node))
        if not found:
            return updated_node
        params = [p for _, p in found]
        drop = {i for i, _ in found if i is not None}
        stmts = []
        carried: list[cst.EmptyLine] = []
        for i, stmt in enumerate(updated_node.body.body):
            if i in drop:
                carried += [ln for ln in stmt.leading_lines if ln.comment is not None]
                continue
            if carried:
                stmt = stmt.with_changes(leading_lines=[*carried, *stmt.leading_lines])
                carried = []
            stmts.append(stmt)
        prelude: list[cst.BaseStatement] = []
        existing = {p.name.value for p in updated_node.params.params}
        for p in params:
            n, argument = 2, p.argument
            while argument in existing:
                argument = f"{p.argument}_{n}"
                n += 1
            existing.add(argument)
            if argument != p.argument:
                p.prelude = [line.replace(p.argument, argument) for line in p.prelude]
                p.argument = argument
            if p.variable != p.argument:
                prelude.append(cst.parse_statement(f"{p.variable} = {p.argument}\n"))
                p.prelude = [line.replace(p.argument, p.variable) for line in p.prelude]
            prelude += [cst.parse_statement(line + "\n") for line in p.prelude]
        at = 1 if stmts and is_docstring(stmts[0]) else 0
        if prelude and at < len(stmts):
            # keep comments above the first statement in place
            first = stmts[at]
            prelude[0] = prelude[0].with_changes(leading_lines=first.leading_lines)
            stmts[at] = first.with_changes(leading_lines=[])
        stmts[at:at] = prelude
        if not stmts:
            stmts = [cst.SimpleStatementLine(body=[cst.Pass()])]

        new_params = [self._cst_param(p) for p in params]
        old = list(updated_node.params.params)
        required = [p for p in old if p.default is None] + [
            p for p in new_params if p.default is None
        ]
        defaulted = [p for p in old if p.default is not None] + [
            p for p in new_params if p.default is not None
        ]
        all_params = required + defaulted
        all_params = [p.with_changes(comma=cst.MaybeSentinel.DEFAULT) for p in all_params]
        func = updated_node.with_changes(
            params=updated_node.params.with_changes(params=all_params),
            body=updated_node.body.with_changes(body=stmts),
        )
        for p in params:
            for todo in p.todos:
                func = with_todo(func, self.CODE, todo)
        for callee in self.callees:
            self.remove_import_if_unused(*callee)
        self.mark_applied()
        return func

    @staticmethod
    def _cst_param(p: _Param) -> cst.Param:
        eq = (
            cst.AssignEqual()
            if p.annotation
            else cst.AssignEqual(
                whitespace_before=cst.SimpleWhitespace(""),
                whitespace_after=cst.SimpleWhitespace(""),
            )
        )
        return cst.Param(
            name=cst.Name(p.argument),
            annotation=cst.Annotation(cst.parse_expression(p.annotation)) if p.annotation else None,
            default=p.default,
            equal=eq if p.default is not None else cst.MaybeSentinel.DEFAULT,
        )

    def leave_Module(self, original_node, updated_node):
        """Module-level Parameters: lifted into the flows using them, gone when nothing else
        needs them; otherwise their default value, under one TODO."""
        if not self.module_param_stmts or len(original_node.body) != len(updated_node.body):
            return updated_node
        ids = {stmt_id: v for v, stmt_id in self.module_param_stmts.items()}
        body = []
        changed = False
        carried: list[cst.EmptyLine] = []
        for orig, new in zip(original_node.body, updated_node.body, strict=True):
            variable = ids.get(id(orig))
            if variable is not None:
                flows = self.lifted.get(variable, set())
                others = [
                    s
                    for s in updated_node.body
                    if s is not new
                    and not (isinstance(s, cst.FunctionDef) and s.name.value in flows)
                ]
                used = any(_module_scope_uses(s, variable) for s in others)
                imported = self.project.is_imported_elsewhere(
                    self.context.full_module_name, variable
                )
                changed = True
                if flows and not used and not imported:
                    carried += list(new.leading_lines)  # blank lines and comments stay
                    continue
                new = self._default_value(new, variable, flows, used, imported)
            if carried:
                new = new.with_changes(leading_lines=[*carried, *new.leading_lines])
                carried = []
            body.append(new)
        if not changed:
            return updated_node
        return updated_node.with_changes(body=body)

    def _default_value(self, stmt, variable: str, flows: set[str], used: bool, imported: bool):
        """``v = Parameter("v", default=3)`` -> ``v = 3`` under a TODO: what imports or reads the
        module-level name keeps working (with the default, where Prefect 1 passed the run's
        value)."""
        call = self.module_params[variable]
        name_arg = get_arg(call, "name", 0)
        name = string_value(name_arg.value) if name_arg else None
        default_arg = get_arg(call, "default", 1)
        value = default_arg.value if default_arg is not None else cst.Name("None")
        assign = stmt.body[0].with_changes(value=value)
        readers = []
        if used:
            readers.append(f"its uses at {lines_of(variable)}")
        if imported:
            readers.append("the modules importing it")
        where = " and ".join(readers)
        label = f"Parameter `{variable}`" + (f" ('{name}')" if name and name != variable else "")
        no_default = "" if default_arg is not None else " (it had no default)"
        if flows:
            listed = ", ".join(f"`{f}`" for f in sorted(flows))
            message = (
                f"{label} is now an argument of the flow {listed}; for {where} the module-level "
                f"`{variable}` is its default value{no_default}, where Prefect 1 passed the flow "
                "run's value: pass the flow's argument there instead"
            )
        else:
            message = (
                f"{label} is not an argument of any flow of this module: `{variable}` is now its "
                f"default value{no_default}, where Prefect 1 passed the flow run's value"
                + (f" (for {where})" if where else "")
                + ": make it an argument of the flow that needs it, or delete it"
            )
        self.mark_applied()
        for callee in self._callees_of(call):
            self.remove_import_if_unused(*callee)
        return with_todo(stmt.with_changes(body=[assign]), self.CODE, message)

    def _callees_of(self, call: cst.Call) -> set[tuple[str, str]]:
        out = set()
        for q in raw_qualified_names(self, call.func):
            module, _, obj = q.rpartition(".")
            if module.startswith("prefect"):
                out.add((module, obj))
        return out


RULE = ParametersRule
