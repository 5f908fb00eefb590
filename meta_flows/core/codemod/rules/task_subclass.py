"""PF006 task_subclass: ``Task`` subclasses and their instances become ``@task`` functions (§5).

Simple classes (C) -- ``__init__`` only stores its arguments on ``self`` and calls
``super().__init__``, ``run`` reads them through ``defaults_from_attrs`` (or the class has only
``run``)::

    class Extract(Task):
        def __init__(self, table=None, **kwargs):
            self.table = table
            super().__init__(**kwargs)

        @defaults_from_attrs("table")
        def run(self, table=None):
            return read(table)

    extract = Extract(table="users", max_retries=2)

    ->

    @task(name="Extract", max_retries=2)
    def extract(table="users"):
        return read(table)

Every module-level instance becomes its own function (named after the instance variable, the
instance's class arguments as defaults, its Prefect 1 options in the decorator in their Prefect 1
spelling -- PF004 renames them). The task name stays what Prefect 1 used: the class name unless
``name=`` was given. Instances created inside functions (``Extract(table="x")(rows)``,
``MyTask()(x)``) call one module-level task function made from the class:
``extract_task(rows, table="x")``, with ``.with_options(...)`` for Prefect 1 options.
``self.logger`` becomes ``get_run_logger()``. An option ``super().__init__`` gets from an
``__init__`` argument (``name=name``) takes each instance's value for it (or the default). An
instance kept as an attribute of a functional-API flow (``flow.a = Extract("a")``, see
:func:`meta_flows.core.codemod.analysis.graph.flow_task_attributes`) becomes the task ``a``, and
``flow.a`` names it.

Other classes (C) -- more methods, state in ``self``, a repository base class: the class stays as
a plain helper without the Prefect base (``super().__init__`` calls removed, ``defaults_from_attrs``
inlined) and each instance becomes ``@task(name="Extract")\\ndef extract(...): return
Extract(...).run(...)``, the ``__init__`` arguments (also beside a ``*args`` passed on to ``Task``)
given to the class. With a TODO to check the state kept on the instance, unless the methods only
read what ``__init__`` stored from its arguments (a fresh instance per call is the same task).
An instance of such a class made inside a function or the flow block with arguments of its class
(``Scale(factor=3, max_retries=1)(xs)``, ``double = Scale(factor=2)``) becomes a task of that
instance's ``run``: ``task(Scale(factor=3).run, name="Scale", retries=1)(xs)`` (the module-level
task function takes ``run()``'s arguments only). An ``__init__`` keeping ``**kwargs`` for itself
(not passing them on to ``Task``) takes every keyword of an instance that is none of its
parameters, Prefect 1 option names too, as Prefect 1 did.

Classes of other modules (C) -- a class other modules import, or of which its module makes no
instance (a library class), stays as a plain class without the Prefect base, with one TODO; so does
a class without ``run()`` that only serves as a base (H if the module makes instances of it). In
the modules using it, and for a ``Task`` subclass whose source is not in the repository (declared:
``meta-flows rewrite --task-class acme_platform.tasks.SQLTask``, ``task-classes`` in
``[tool.meta-flows]``), each module-level instance becomes ``@task(name="SQLTask", <its Prefect 1
options>)\\ndef run_query(*args, **kwargs): return SQLTask(<its other arguments>).run(*args,
**kwargs)`` -- for an installed class with one TODO naming those other arguments, if any (the class
must work under Prefect 2); an instance made elsewhere gets a TODO (H).

H -- a class overriding Prefect internals (``__call__``, ``map``, ``bind`` ...) or inheriting a
task-library class (``ShellTask``): the class and its module-level instances are commented out
under a TODO.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field

import libcst as cst
from libcst.metadata import ParentNodeProvider, QualifiedNameProvider

from meta_flows.core.codemod.analysis.decorators import decorator_name
from meta_flows.core.codemod.analysis.graph import flow_task_attributes
from meta_flows.core.codemod.analysis.scope import is_docstring, name_refs, raw_qualified_names
from meta_flows.core.codemod.analysis.uses import simple_assign
from meta_flows.core.codemod.base import (
    SCRATCH_OWN_KWARGS,
    Rule,
    code_of,
    literal_value,
    with_todo,
)
from meta_flows.core.codemod.options import P1_TASK_OPTIONS, P2_WITH_OPTIONS, convert_options
from meta_flows.core.naming import snake_case

# Methods of Prefect 1's Task a subclass must not override for an automatic rewrite.
PREFECT_INTERNALS = frozenset(
    {
        "__call__",
        "__getattr__",
        "__getitem__",
        "__iter__",
        "__new__",
        "__init_subclass__",
        "bind",
        "map",
        "copy",
        "set_upstream",
        "set_downstream",
        "set_dependencies",
        "inputs",
        "outputs",
        "serialize",
        "is_equal",
        "is_not_equal",
        "not_",
        "or_",
        "and_",
    }
)

SIMPLE, WRAP, HUMAN = "simple", "wrap", "human"
BASE = "base"  # no run(): a base of other task classes, kept while nothing in the module makes one
_EQ = cst.AssignEqual(
    whitespace_before=cst.SimpleWhitespace(""), whitespace_after=cst.SimpleWhitespace("")
)
_COMMA = cst.Comma(whitespace_after=cst.SimpleWhitespace(" "))


@dataclass
class ClassInfo:
    node: cst.ClassDef
    kind: str
    reason: str = ""
    run: cst.FunctionDef | None = None
    init_params: list[cst.Param] = field(default_factory=list)  # without self / **kwargs
    attr_of_param: dict[str, str] = field(default_factory=dict)  # init param -> self attribute
    defaults_attrs: list[str] = field(default_factory=list)  # defaults_from_attrs names
    class_options: list[cst.Arg] = field(default_factory=list)  # super().__init__(name=...)
    prefect_bases: list[int] = field(default_factory=list)  # indexes of bases to drop
    base_function: str | None = None  # module-level task for instances made inside functions
    # ``__init__`` takes ``**kwargs`` and does not pass them on to Task: an instance's keyword
    # arguments that are no ``__init__`` parameter are the class's own, Prefect 1 options too
    own_kwargs: bool = False
    # the instance keeps no state of its own: __init__ only stores its arguments, the other
    # methods only read them (or call each other), so a fresh instance per call is the same task
    stateless: bool = False

    @property
    def name(self) -> str:
        return self.node.name.value


@dataclass
class Reference:
    kind: str  # "module-instance", "inline-call", "local-instance", "other"
    cls: str
    call: cst.Call  # the Cls(...) call
    target: str | None = None  # variable of an instance
    outer: cst.Call | None = None  # the call of the instance (inline-call)


def _is_self_attr(node: cst.CSTNode, attr: str | None = None) -> bool:
    return (
        isinstance(node, cst.Attribute)
        and isinstance(node.value, cst.Name)
        and node.value.value == "self"
        and (attr is None or node.attr.value == attr)
    )


def _is_super_init(node: cst.BaseSmallStatement) -> cst.Call | None:
    """``super().__init__(...)`` (or ``Base.__init__(self, ...)``) -> the call, else None."""
    if not isinstance(node, cst.Expr) or not isinstance(node.value, cst.Call):
        return None
    func = node.value.func
    if isinstance(func, cst.Attribute) and func.attr.value == "__init__":
        if isinstance(func.value, cst.Call) and isinstance(func.value.func, cst.Name):
            if func.value.func.value == "super":
                return node.value
        if isinstance(func.value, (cst.Name, cst.Attribute)):
            return node.value
    return None


class _LoggerToRunLogger(cst.CSTTransformer):
    def __init__(self) -> None:
        self.used = False

    def leave_Attribute(self, original_node, updated_node):
        if _is_self_attr(original_node, "logger"):
            self.used = True
            return cst.Call(func=cst.Name("get_run_logger"))
        return updated_node


class _SelfUses(cst.CSTVisitor):
    """Every ``self`` of a method: the attributes read, and what else was done with it."""

    def __init__(self) -> None:
        self.names = 0  # ``self`` names
        self.attrs: list[str] = []  # ``self.<attr>``
        self.deep = False  # ``self.<attr>.<more>``: a method of the attribute may mutate it
        self.targets: list[cst.CSTNode] = []

    def visit_Name(self, node: cst.Name) -> None:
        if node.value == "self":
            self.names += 1

    def visit_Attribute(self, node: cst.Attribute) -> None:
        if _is_self_attr(node):
            self.attrs.append(node.attr.value)
        elif _is_self_attr(node.value):
            self.deep = True

    def visit_AssignTarget(self, node: cst.AssignTarget) -> None:
        self.targets.append(node.target)

    def visit_AugAssign(self, node: cst.AugAssign) -> None:
        self.targets.append(node.target)

    def visit_AnnAssign(self, node: cst.AnnAssign) -> None:
        self.targets.append(node.target)

    def visit_Del(self, node: cst.Del) -> None:
        self.targets.append(node.target)

    def visit_For(self, node: cst.For) -> None:
        self.targets.append(node.target)

    def visit_NamedExpr(self, node: cst.NamedExpr) -> None:
        self.targets.append(node.target)

    def visit_AsName(self, node: cst.AsName) -> None:
        self.targets.append(node.name)


def _only_reads(
    node: cst.ClassDef,
    methods: dict[str, cst.FunctionDef],
    stored: set[str],
    init: cst.FunctionDef | None,
) -> bool:
    """True when the class is methods only and, outside ``__init__``, ``self`` is only read:
    ``self.<attr>`` of an attribute ``__init__`` stored from an argument, or a method call."""
    if node.decorators or node.keywords or len(node.bases) != 1:
        return False
    for stmt in node.body.body:
        if not isinstance(stmt, cst.FunctionDef) and not (
            isinstance(stmt, cst.SimpleStatementLine) and all(is_docstring(s) for s in stmt.body)
        ):
            return False
    for method in methods.values():
        if method is init:
            continue
        if method.decorators and method.name.value != "run":
            return False
        uses = _SelfUses()
        method.body.visit(uses)
        if uses.deep or uses.names != len(uses.attrs):
            return False
        if any(a not in stored and a not in methods for a in uses.attrs):
            return False
        if any(_uses_self(t) for t in uses.targets):
            return False
    return True


class _UsesSelf(cst.CSTVisitor):
    def __init__(self) -> None:
        self.found = False

    def visit_Name(self, node: cst.Name) -> None:
        if node.value == "self":
            self.found = True


def _uses_self(node: cst.CSTNode) -> bool:
    v = _UsesSelf()
    node.visit(v)
    return v.found


def _statements(block: cst.BaseSuite) -> list[cst.BaseSmallStatement | cst.BaseStatement]:
    out = []
    for stmt in block.body if isinstance(block, cst.IndentedBlock) else [block]:
        if isinstance(stmt, cst.SimpleStatementLine):
            out.extend(stmt.body)
        elif isinstance(stmt, cst.SimpleStatementSuite):
            out.extend(stmt.body)
        else:
            out.append(stmt)
    return out


class TaskSubclassRule(Rule):
    """Task subclasses and their instances become @task functions (§5)."""

    CODE = "PF006"
    NAME = "task-subclass"
    DESCRIPTION = "Task subclasses and their instances become @task functions (§5)"
    TRIGGERS = ("Task",)

    def __init__(self, context) -> None:
        super().__init__(context)
        self._classes: dict[str, ClassInfo] = {}
        self._refs: list[Reference] = []  # keeps every referenced node alive (ids stay unique)
        self._by_call: dict[int, Reference] = {}
        self._by_outer: dict[int, Reference] = {}
        self._by_stmt: dict[int, Reference] = {}
        self._module_names: set[str] = set()
        # id(module-level statement) -> (class, variable, call): instances of installed classes
        self._installed: dict[int, tuple[str, str, cst.Call]] = {}
        self._installed_calls: set[int] = set()
        # (flow variable, attribute) -> name: ``flow.a = Cls(...)`` instances of a flow built
        # with the functional API become the module-level task ``a``, ``flow.a`` reads name it
        self._flow_attrs: dict[tuple[str, str], str] = {}

    # ------------------------------------------------------------------ analysis

    def visit_Module(self, node: cst.Module) -> bool:
        super().visit_Module(node)
        for stmt in node.body:
            self._module_names |= _bound_names(stmt)
        for stmt in node.body:
            if isinstance(stmt, cst.ClassDef):
                info = self._analyse(stmt)
                if info is not None:
                    self._classes[info.name] = info
        if self._classes:
            self._flow_attrs = self._flow_attributes(node)
            node.visit(_ReferenceCollector(self))
            self._settle()
        if self.project.task_classes:
            self._find_installed_instances(node)
        return True

    def _flow_attributes(self, module: cst.Module) -> dict[tuple[str, str], str]:
        """``flow.a = Cls(...)`` instances of a flow built with the functional API (``flow``
        bound once, to Prefect 1's ``Flow(...)``): see :func:`flow_task_attributes`."""
        flows: Counter[str] = Counter()
        for stmt in module.body:
            assign = simple_assign(stmt)
            if assign and isinstance(assign[1], cst.Call):
                if self.is_prefect(assign[1].func, "prefect.Flow"):
                    flows[assign[0]] += 1
        found: dict[tuple[str, str], str] = {}
        for variable in (v for v, n in flows.items() if n == 1):
            for attr in flow_task_attributes(module, variable, set(self._classes)):
                found[(variable, attr)] = attr
        return found

    def leave_Attribute(self, original_node: cst.Attribute, updated_node: cst.Attribute):
        if isinstance(original_node.value, cst.Name):
            name = self._flow_attrs.get((original_node.value.value, original_node.attr.value))
            if name is not None and self._converted_attr(name):
                return cst.Name(name)
        return updated_node

    def _converted_attr(self, name: str) -> bool:
        """The ``flow.<name>`` instance became the module-level task ``name``."""
        ref = next(
            (r for r in self._refs if r.target == name and r.kind == "module-instance"), None
        )
        return ref is not None and self._classes[ref.cls].kind != HUMAN

    # ------------------------------------------------------------------ installed classes

    def _installed_class(self, func: cst.BaseExpression) -> str | None:
        """The qualified name of a Task subclass of another module that ``func`` names: one of
        the repository (migrated to a plain class in its module) or one whose source is not in the
        repository (declared: ``--task-class``); else None."""
        if not isinstance(func, (cst.Name, cst.Attribute)):
            return None
        here = self.project.names_of(self.context.full_module_name or "__main__")
        for q in sorted(raw_qualified_names(self, func)):
            if q in self.project.task_classes and q.rpartition(".")[0] not in here:
                return q
        return None

    def _find_installed_instances(self, module: cst.Module) -> None:
        for stmt in module.body:
            assign = simple_assign(stmt)
            if assign is None or not isinstance(assign[1], cst.Call):
                continue
            cls = self._installed_class(assign[1].func)
            if cls is not None:
                self._installed[id(stmt)] = (cls, assign[0], assign[1])
                self._installed_calls.add(id(assign[1]))

    def visit_Attribute(self, node: cst.Attribute) -> None:
        if node.attr.value == "run" and isinstance(node.value, cst.Call):
            self._installed_calls.add(id(node.value))  # SQLTask(...).run(...): a plain call

    def visit_Call(self, node: cst.Call) -> None:
        if not self.project.task_classes or id(node) in self._installed_calls:
            return
        cls = self._installed_class(node.func)
        if cls is not None:
            where = (
                "whose source is not in the repository"
                if self.project.is_external(cls)
                else "of another module"
            )
            self.add_todo(
                f"{self.code_for(node.func)}(...) makes an instance of {cls}, a Task subclass "
                f"{where}: make it a task by hand (a module-level @task function returning "
                f"{self.code_for(node.func)}(...).run(...))"
            )

    def _statement_index(self, stmt: cst.CSTNode) -> int:
        module = self.source_module
        body = list(module.body) if module is not None else []
        return next((i for i, s in enumerate(body) if s is stmt), 0)

    def _installed_function(self, cls: str, target: str, call: cst.Call) -> cst.FunctionDef:
        """``x = SQLTask(query=q, max_retries=2)`` -> ``@task(name="SQLTask", max_retries=2)
        def x(*args, **kwargs): return SQLTask(query=q).run(*args, **kwargs)`` (PF004 renames the
        options), with a TODO naming the class's own arguments, if any."""
        options = [
            a
            for a in call.args
            if not a.star and a.keyword is not None and a.keyword.value in P1_TASK_OPTIONS
        ]
        own = [a for a in call.args if a not in options]
        ctor_args = list(own)
        if ctor_args:
            ctor_args[-1] = ctor_args[-1].with_changes(comma=cst.MaybeSentinel.DEFAULT)
        ctor = code_of(cst.Call(func=call.func, args=ctor_args))
        decorator = decorator_name(self, "task")
        merged: dict[str, cst.Arg] = {
            "name": cst.Arg(
                keyword=cst.Name("name"),
                value=cst.SimpleString(f'"{cls.rsplit(".", 1)[-1]}"'),
                equal=_EQ,
            )
        }
        for arg in options:
            merged[arg.keyword.value] = arg.with_changes(equal=_EQ)
        args = [a.with_changes(comma=_COMMA) for a in merged.values()]
        args[-1] = args[-1].with_changes(comma=cst.MaybeSentinel.DEFAULT)
        function = cst.parse_statement(
            f"def {target}(*args, **kwargs):\n    return {ctor}.run(*args, **kwargs)\n"
        ).with_changes(decorators=[cst.Decorator(decorator=cst.Call(cst.Name(decorator), args))])
        if own and self.project.is_external(cls):
            listed = ", ".join(
                code_of(a.with_changes(comma=cst.MaybeSentinel.DEFAULT)) for a in own
            )
            function = with_todo(
                function,
                self.CODE,
                f"{target} was an instance of {cls}, a Task subclass whose source is not in the "
                f"repository: it is now a @task calling {code_of(call.func)}(...).run(); its own "
                f"options ({listed}) go to {code_of(call.func)}, which must work under Prefect 2 "
                f"(port it to a plain class, without Prefect 1's Task base)",
            )
        self.mark_applied()
        return function

    def _prefect_base(self, base: cst.BaseExpression) -> str | None:
        """ "task" for prefect.Task, "library" for another Prefect class, "repo" for a repo class."""
        if self.is_prefect(base, "prefect.Task"):
            return "task"
        if self.prefect_name(base):
            return "library"
        module = self.context.full_module_name or "__main__"
        try:
            qnames = self.get_metadata(QualifiedNameProvider, base, set())
        except KeyError:
            qnames = set()
        for q in qnames:
            name = f"{module}.{q.name}" if q.source.name == "LOCAL" else q.name
            if name in self.project.task_classes:
                return "repo"
        return None

    def _analyse(self, node: cst.ClassDef) -> ClassInfo | None:
        kinds = [self._prefect_base(b.value) for b in node.bases]
        if not any(kinds):
            return None
        info = ClassInfo(node, SIMPLE)
        info.prefect_bases = [i for i, k in enumerate(kinds) if k == "task"]
        if "library" in kinds:
            lib = next(b for b, k in zip(node.bases, kinds, strict=False) if k == "library")
            return ClassInfo(node, HUMAN, f"inherits the task-library class {code_of(lib.value)}")
        if len(node.bases) != 1 or kinds[0] != "task" or node.keywords or node.decorators:
            info.kind = WRAP
        methods: dict[str, cst.FunctionDef] = {}
        for stmt in node.body.body:
            if isinstance(stmt, cst.FunctionDef):
                methods[stmt.name.value] = stmt
            elif not (
                isinstance(stmt, cst.SimpleStatementLine)
                and all(is_docstring(s) for s in stmt.body)
            ):
                info.kind = WRAP  # class attributes or nested statements: state
        internals = sorted(set(methods) & PREFECT_INTERNALS)
        if internals:
            return ClassInfo(node, HUMAN, f"overrides Prefect internals ({', '.join(internals)})")
        run = methods.get("run")
        if run is None:
            if kinds[0] == "repo":
                return ClassInfo(node, BASE, "inherits run() from a repository Task class")
            info.kind, info.reason = BASE, "has no run() method"
            return info
        info.run = run
        if set(methods) - {"run", "__init__"}:
            info.kind = WRAP
        if not run.params.params or run.params.params[0].name.value != "self" or run.asynchronous:
            return ClassInfo(node, HUMAN, "run() is not a plain instance method")
        for dec in run.decorators:
            if self.is_prefect(dec.decorator, "prefect.defaults_from_attrs"):
                call = dec.decorator
                for arg in call.args if isinstance(call, cst.Call) else ():
                    try:
                        info.defaults_attrs.append(str(literal_value(arg.value)))
                    except Exception:
                        return ClassInfo(node, HUMAN, "defaults_from_attrs with non-literal names")
            else:
                info.kind = WRAP
        init = methods.get("__init__")
        info.stateless = init is None
        if init is not None and not self._analyse_init(init, info):
            info.kind = WRAP
        body_after = run.body.visit(_LoggerToRunLogger())
        if _uses_self(body_after):
            info.kind = WRAP
        info.stateless = info.stateless and _only_reads(
            node, methods, set(info.attr_of_param.values()), init
        )
        return info

    def _analyse_init(self, init: cst.FunctionDef, info: ClassInfo) -> bool:
        params = init.params
        if params.posonly_params or not params.params or params.params[0].name.value != "self":
            return False
        # the class's own arguments, told apart from Prefect 1 options at each instance
        info.init_params = [*params.params[1:], *params.kwonly_params]
        names = {p.name.value for p in info.init_params}
        kwargs_name = params.star_kwarg.name.value if params.star_kwarg else None
        # *args passed on to Task: the class stays a helper (instances call run())
        args_name = params.star_arg.name.value if isinstance(params.star_arg, cst.Param) else None
        simple = True
        stores_only = True
        forwarded = False  # **kwargs passed on to Task
        for stmt in _statements(init.body):
            if is_docstring(stmt):
                continue
            if (
                isinstance(stmt, cst.Assign)
                and len(stmt.targets) == 1
                and _is_self_attr(stmt.targets[0].target)
                and isinstance(stmt.value, cst.Name)
                and stmt.value.value in names
            ):
                info.attr_of_param[stmt.value.value] = stmt.targets[0].target.attr.value
                continue
            call = _is_super_init(stmt)
            if call is not None:
                for arg in call.args:
                    if (
                        arg.star == "**"
                        and isinstance(arg.value, cst.Name)
                        and arg.value.value == kwargs_name
                    ):
                        forwarded = True
                        continue
                    if (
                        arg.star == "*"
                        and isinstance(arg.value, cst.Name)
                        and arg.value.value == args_name
                    ):
                        continue
                    if arg.keyword is not None and not arg.star:
                        info.class_options.append(arg)
                    elif not (isinstance(arg.value, cst.Name) and arg.value.value == "self"):
                        simple = stores_only = False
                continue
            simple = stores_only = False
        info.own_kwargs = (
            kwargs_name is not None and not forwarded and _keeps_kwargs(init, kwargs_name)
        )
        if info.own_kwargs:
            self.context.scratch.setdefault(SCRATCH_OWN_KWARGS, set()).add(info.name)
        info.stateless = stores_only
        return simple and args_name is None

    def _settle(self) -> None:
        """Decide per class from its references; give classes used inside functions a base task."""
        for info in self._classes.values():
            refs = [r for r in self._refs if r.cls == info.name]
            if info.kind == BASE and refs:
                info.kind = HUMAN  # instances of a class without run(): nothing to call
            if info.kind == SIMPLE and any(r.kind == "other" for r in refs):
                info.kind = WRAP
            if info.kind != HUMAN and any(
                r.kind in ("inline-call", "local-instance")
                and not (info.kind == WRAP and self._split_args(info, r.call)[0])
                for r in refs
            ):
                base = snake_case(info.name) or "task"
                if base in self._module_names:
                    base = f"{base}_task"
                while base in self._module_names:
                    base = f"_{base}"
                self._module_names.add(base)
                info.base_function = base

    def register(self, ref: Reference, stmt: cst.CSTNode | None) -> None:
        self._refs.append(ref)
        self._by_call[id(ref.call)] = ref
        if ref.outer is not None:
            self._by_outer[id(ref.outer)] = ref
        if stmt is not None:
            self._by_stmt[id(stmt)] = ref

    # ------------------------------------------------------------------ building

    def _split_args(
        self, info: ClassInfo, call: cst.Call
    ) -> tuple[dict[str, cst.BaseExpression], list[cst.Arg]]:
        """Instance arguments -> (class arguments by init parameter, Prefect 1 task options)."""
        init_names = [p.name.value for p in info.init_params]
        class_args: dict[str, cst.BaseExpression] = {}
        options: list[cst.Arg] = []
        pos = 0
        for arg in call.args:
            if arg.keyword is None:
                if pos < len(init_names):
                    class_args[init_names[pos]] = arg.value
                pos += 1
            elif arg.keyword.value in init_names or info.own_kwargs:
                class_args[arg.keyword.value] = arg.value
            else:
                options.append(arg)
        return class_args, options

    def _task_decorator(
        self, info: ClassInfo, options: list[cst.Arg], class_args: dict | None = None
    ) -> cst.Decorator:
        decorator = decorator_name(self, "task")
        merged: dict[str, cst.Arg] = {}
        for arg in info.class_options:
            arg = self._class_option(info, arg, class_args or {})
            if arg is not None:
                merged[arg.keyword.value] = arg
        for arg in options:
            merged[arg.keyword.value] = arg
        if "name" not in merged:
            merged = {
                "name": cst.Arg(
                    keyword=cst.Name("name"), value=cst.SimpleString(f'"{info.name}"'), equal=_EQ
                ),
                **merged,
            }
        # on one line (options of a multi-line super().__init__ call carry its line breaks)
        args = [
            a.with_changes(comma=_COMMA, whitespace_after_arg=cst.SimpleWhitespace(""))
            for a in merged.values()
        ]
        args[-1] = args[-1].with_changes(comma=cst.MaybeSentinel.DEFAULT)
        return cst.Decorator(decorator=cst.Call(func=cst.Name(decorator), args=args))

    def _class_option(self, info: ClassInfo, arg: cst.Arg, class_args: dict) -> cst.Arg | None:
        """A ``super().__init__(name=name)`` option whose value is an ``__init__`` parameter
        takes the instance's argument (or the parameter's default); None when there is neither
        (Prefect 1 got None: its own default)."""
        params = {p.name.value: p for p in info.init_params}
        if not isinstance(arg.value, cst.Name) or arg.value.value not in params:
            return arg
        value = class_args.get(arg.value.value, params[arg.value.value].default)
        if value is None or (isinstance(value, cst.Name) and value.value == "None"):
            return None
        return arg.with_changes(value=value, equal=_EQ)

    def _run_params(
        self, info: ClassInfo, defaults: dict[str, cst.BaseExpression]
    ) -> cst.Parameters | None:
        run_params = info.run.params
        params = []
        seen_default = False
        for p in run_params.params[1:]:
            if p.name.value in defaults:
                p = p.with_changes(
                    default=defaults[p.name.value], equal=p.equal if p.default else _EQ
                )
            if p.default is not None:
                seen_default = True
            elif seen_default:
                return None
            params.append(p)
        if params:
            params[-1] = (
                params[-1].with_changes(comma=cst.MaybeSentinel.DEFAULT)
                if not (run_params.star_arg or run_params.kwonly_params or run_params.star_kwarg)
                else params[-1]
            )
        return run_params.with_changes(params=params)

    def _simple_function(
        self, info: ClassInfo, fname: str, class_args: dict, options: list[cst.Arg]
    ) -> cst.FunctionDef | None:
        init_defaults = {p.name.value: p.default for p in info.init_params if p.default is not None}
        defaults: dict[str, cst.BaseExpression] = {}
        for param, attr in info.attr_of_param.items():
            if attr not in info.defaults_attrs:
                continue
            if param in class_args:
                defaults[attr] = class_args[param]
            elif param in init_defaults and not (
                isinstance(init_defaults[param], cst.Name) and init_defaults[param].value == "None"
            ):
                defaults[attr] = init_defaults[param]
        params = self._run_params(info, defaults)
        if params is None:
            return None
        logger = _LoggerToRunLogger()
        body = info.run.body.visit(logger)
        if logger.used:
            self.add_import("prefect", "get_run_logger")
        decorators = [
            d
            for d in info.run.decorators
            if not self.is_prefect(d.decorator, "prefect.defaults_from_attrs")
        ]
        return info.run.with_changes(
            name=cst.Name(fname),
            params=params,
            body=body,
            decorators=[self._task_decorator(info, options, class_args), *decorators],
            leading_lines=[],
        )

    def _wrap_function(
        self, info: ClassInfo, fname: str, call: cst.Call, options: list[cst.Arg]
    ) -> cst.FunctionDef:
        """``@task(name="Cls") def fname(<run params>): return Cls(<class args>).run(<params>)``."""
        class_call_args = [a for a in call.args if a not in options]
        if class_call_args:
            class_call_args[-1] = class_call_args[-1].with_changes(comma=cst.MaybeSentinel.DEFAULT)
        run_params = info.run.params
        params = run_params.with_changes(params=run_params.params[1:])
        pass_args = []
        for p in params.posonly_params:
            pass_args.append(f"{p.name.value}")
        for p in params.params:
            pass_args.append(f"{p.name.value}={p.name.value}")
        if isinstance(params.star_arg, cst.Param):
            pass_args.append(f"*{params.star_arg.name.value}")
        for p in params.kwonly_params:
            pass_args.append(f"{p.name.value}={p.name.value}")
        if params.star_kwarg:
            pass_args.append(f"**{params.star_kwarg.name.value}")
        ctor = code_of(cst.Call(func=cst.Name(info.name), args=class_call_args))
        body = cst.parse_statement(
            f"def _():\n    return {ctor}.run({', '.join(pass_args)})\n"
        ).body
        return cst.FunctionDef(
            name=cst.Name(fname),
            params=params,
            body=body,
            decorators=[self._task_decorator(info, options, self._split_args(info, call)[0])],
        )

    def _instance_function(self, info: ClassInfo, ref: Reference) -> cst.FunctionDef | None:
        class_args, options = self._split_args(info, ref.call)
        if info.kind == SIMPLE:
            fn = self._simple_function(info, ref.target, class_args, options)
            if fn is not None:
                return fn
        return self._wrap_function(info, ref.target, ref.call, options)

    def _base_function(self, info: ClassInfo) -> cst.FunctionDef:
        empty = cst.Call(func=cst.Name(info.name))
        if info.kind == SIMPLE:
            fn = self._simple_function(info, info.base_function, {}, [])
            if fn is not None:
                return fn
        return self._wrap_function(info, info.base_function, empty, [])

    def _helper_class(self, info: ClassInfo) -> cst.ClassDef:
        """The class without its Prefect base, super().__init__ calls or defaults_from_attrs."""
        node = info.node
        bases = [b for i, b in enumerate(node.bases) if i not in info.prefect_bases]
        if bases:
            bases[-1] = bases[-1].with_changes(comma=cst.MaybeSentinel.DEFAULT)
        body = []
        for stmt in node.body.body:
            if isinstance(stmt, cst.FunctionDef) and stmt.name.value == "__init__":
                stmt = stmt.with_changes(body=_without_super_init(stmt.body))
            elif stmt is info.run:
                stmt = self._inline_defaults(info, stmt)
            body.append(stmt)
        changes = {"bases": bases, "body": node.body.with_changes(body=body)}
        if not bases:
            changes.update(lpar=cst.MaybeSentinel.DEFAULT, rpar=cst.MaybeSentinel.DEFAULT)
        logger = _LoggerToRunLogger()
        new = node.with_changes(**changes)
        new = new.with_changes(body=new.body.visit(logger))
        if logger.used:
            self.add_import("prefect", "get_run_logger")
        self.remove_import_if_unused("prefect", "Task")
        return new

    def _inline_defaults(self, info: ClassInfo, run: cst.FunctionDef) -> cst.FunctionDef:
        if not info.defaults_attrs:
            return run
        decorators = [
            d
            for d in run.decorators
            if not self.is_prefect(d.decorator, "prefect.defaults_from_attrs")
        ]
        lines = [
            cst.parse_statement(f"{a} = self.{a} if {a} is None else {a}\n")
            for a in info.defaults_attrs
        ]
        body = run.body.body
        docs = (
            list(body[:1])
            if body
            and isinstance(body[0], cst.SimpleStatementLine)
            and all(is_docstring(s) for s in body[0].body)
            else []
        )
        rest = list(body[len(docs) :])
        return run.with_changes(
            decorators=decorators, body=run.body.with_changes(body=[*docs, *lines, *rest])
        )

    # ------------------------------------------------------------------ transforming

    def leave_ClassDef(self, original_node: cst.ClassDef, updated_node: cst.ClassDef):
        info = self._classes.get(original_node.name.value)
        if info is None or info.node is not original_node:
            return updated_node
        self.mark_applied()
        self.remove_import_if_unused("prefect", "Task")
        self.remove_import_if_unused("prefect.utilities.tasks", "defaults_from_attrs")
        self.remove_import_if_unused("prefect.utilities.tasks", "defaults_from_attrs")
        if info.kind == HUMAN:
            return self.comment_out(
                original_node,
                f"Task subclass {info.name} {info.reason}: rewrite it as a @task function by hand",
            )
        if info.kind == BASE:
            if not info.prefect_bases:
                return updated_node  # built on a class of the repository, itself migrated
            self.add_todo(
                f"class {info.name} subclassed Prefect 1's Task and has no run(): it is kept as a "
                f"plain base class (without the Task base) for the task classes built on it, whose "
                f"instances meta-flows migrates to @task functions calling their run(); port what "
                f"it adds through Prefect 1 (options passed to super().__init__, state handlers) "
                f"to @task options, or delete it once no task class uses it"
            )
            return self._helper_class(info).with_changes(leading_lines=original_node.leading_lines)
        refs = [r for r in self._refs if r.cls == info.name]
        out: list[cst.BaseStatement] = []
        elsewhere = not refs or self.project.is_imported_elsewhere(
            self.context.full_module_name, info.name
        )
        keep_class = info.kind == WRAP or elsewhere
        if keep_class:
            helper = self._helper_class(info)
            out.append(helper.with_changes(leading_lines=original_node.leading_lines))
            if info.kind == WRAP and refs:
                if not info.stateless:
                    self.add_todo(
                        f"Task subclass {info.name} is kept as a plain helper class; its "
                        "instances became @task functions calling .run() -- check state kept on "
                        "the instance"
                    )
            else:
                self.add_todo(
                    f"class {info.name} subclassed Prefect 1's Task: it is kept as a plain class "
                    f"(without the Task base) for the tasks built with it in other modules, which "
                    f"meta-flows migrates to @task functions calling its run(); port what it adds "
                    f"through Prefect 1 (options passed to super().__init__, state handlers) to "
                    f"@task options, or delete it once no task uses it"
                )
        if info.base_function:
            fn = self._base_function(info)
            lead = [] if keep_class else list(original_node.leading_lines)
            if keep_class:
                lead = [cst.EmptyLine(), cst.EmptyLine()]
            out.append(fn.with_changes(leading_lines=lead))
        if not out:
            return cst.RemoveFromParent()
        return cst.FlattenSentinel(out) if len(out) > 1 else out[0]

    def leave_SimpleStatementLine(self, original_node, updated_node):
        installed = self._installed.get(id(original_node))
        if installed is not None:
            fn = self._installed_function(*installed)
            lead = list(original_node.leading_lines)
            blank = next((i for i, line in enumerate(lead) if line.comment is not None), len(lead))
            if blank < 2 and self._statement_index(original_node):
                lead = [cst.EmptyLine()] * (2 - blank) + lead
            return fn.with_changes(leading_lines=[*lead, *fn.leading_lines])
        ref = self._by_stmt.get(id(original_node))
        if ref is None:
            return updated_node
        info = self._classes[ref.cls]
        if info.kind == HUMAN:
            return self.comment_out(
                original_node, f"instance of the Task subclass {info.name}: see the class"
            )
        if ref.kind != "module-instance":
            return updated_node
        fn = self._instance_function(info, ref)
        self.mark_applied()
        lead = list(original_node.leading_lines)
        if not lead or lead[0].comment is not None:
            lead = [cst.EmptyLine(), cst.EmptyLine(), *lead]
        return fn.with_changes(leading_lines=lead)

    def leave_Call(self, original_node: cst.Call, updated_node: cst.Call):
        ref = self._by_outer.get(id(original_node))
        if ref is not None and ref.kind == "inline-call":
            info = self._classes[ref.cls]
            class_args, options = self._split_args(info, ref.call)
            if info.kind == WRAP and class_args:
                # the class's arguments are not run()'s: a task of that instance's run()
                return updated_node.with_changes(func=self._instance_task(info, ref.call, options))
            if info.kind == HUMAN or not info.base_function:
                return updated_node
            return updated_node.with_changes(
                func=self._configured(info, options),
                args=_append_kwargs(updated_node.args, class_args, info),
            )
        ref = self._by_call.get(id(original_node))
        if ref is not None and ref.kind == "local-instance":
            info = self._classes[ref.cls]
            class_args, options = self._split_args(info, ref.call)
            if info.kind == WRAP and class_args:
                return self._instance_task(info, ref.call, options)
            if info.kind == HUMAN or not info.base_function:
                return updated_node
            if class_args:
                self.add_todo(
                    f"{info.name}({', '.join(class_args)}=...) bound to a variable: pass these "
                    f"as arguments to each call of {info.base_function}"
                )
                return updated_node
            return self._configured(info, options)
        return updated_node

    def _instance_task(self, info: ClassInfo, call: cst.Call, options: list[cst.Arg]) -> cst.Call:
        """``task(Cls(<class args>).run, name="Cls", <options>)``: an instance made inside a
        function with arguments of its class, a task of its own, as in Prefect 1."""
        ctor = [a for a in call.args if a not in options]
        ctor[-1] = ctor[-1].with_changes(comma=cst.MaybeSentinel.DEFAULT)
        run = cst.Attribute(value=call.with_changes(args=ctor), attr=cst.Name("run"))
        kept = self._task_options(info, options)
        if not any(a.keyword.value == "name" for a in kept):
            name = cst.SimpleString(f'"{info.name}"')
            kept.insert(0, cst.Arg(keyword=cst.Name("name"), value=name, equal=_EQ))
        args = [cst.Arg(run), *kept]
        args = [a.with_changes(comma=_COMMA) for a in args]
        args[-1] = args[-1].with_changes(comma=cst.MaybeSentinel.DEFAULT)
        return cst.Call(func=cst.Name(decorator_name(self, "task")), args=args)

    def _task_options(self, info: ClassInfo, options: list[cst.Arg]) -> list[cst.Arg]:
        """An instance's Prefect 1 options as Prefect 2 keyword arguments (TODOs for the rest)."""
        converted = convert_options(self, options, label=info.name, allowed=P2_WITH_OPTIONS)
        for todo in converted.todos:
            self.add_todo(todo)
        return [a for a in converted.args if a.keyword is not None]

    def _configured(self, info: ClassInfo, options: list[cst.Arg]) -> cst.BaseExpression:
        base = cst.Name(info.base_function)
        if not options:
            return base
        args = self._task_options(info, options)
        if not args:
            return base
        args = [a.with_changes(comma=_COMMA) for a in args]
        args[-1] = args[-1].with_changes(comma=cst.MaybeSentinel.DEFAULT)
        return cst.Call(func=cst.Attribute(value=base, attr=cst.Name("with_options")), args=args)


def _append_kwargs(args, class_args: dict, info: ClassInfo) -> list[cst.Arg]:
    """Instance class arguments become keyword arguments of the call (run() parameter names)."""
    out = list(args)
    present = {a.keyword.value for a in out if a.keyword is not None}
    for param, value in class_args.items():
        name = info.attr_of_param.get(param, param)
        if name in present:
            continue
        if out and not isinstance(out[-1].comma, cst.Comma):
            out[-1] = out[-1].with_changes(comma=_COMMA)
        out.append(cst.Arg(keyword=cst.Name(name), value=value, equal=_EQ))
    return out


def _keeps_kwargs(init: cst.FunctionDef, kwargs_name: str) -> bool:
    """No ``__init__`` call of a base class in ``init`` (at any depth) is given ``**kwargs``,
    directly or through a local name: the class keeps them for itself."""
    local: set[str] = set()
    bases: list[cst.Call] = []

    class _Finder(cst.CSTVisitor):
        def visit_AssignTarget(self, node: cst.AssignTarget) -> None:
            local.update(n.value for n in name_refs(node.target))

        def visit_Call(self, node: cst.Call) -> None:
            if isinstance(node.func, cst.Attribute) and node.func.attr.value == "__init__":
                bases.append(node)

    init.body.visit(_Finder())
    for call in bases:
        for arg in call.args:
            names = {n.value for n in name_refs(arg.value)}
            if kwargs_name in names or names & local:
                return False
    return True


def _without_super_init(block: cst.BaseSuite) -> cst.BaseSuite:
    if not isinstance(block, cst.IndentedBlock):
        return block
    body = []
    for stmt in block.body:
        if isinstance(stmt, cst.SimpleStatementLine):
            small = [s for s in stmt.body if _is_super_init(s) is None]
            if not small:
                continue
            stmt = stmt.with_changes(body=small)
        body.append(stmt)
    if not body:
        body = [cst.SimpleStatementLine(body=[cst.Pass()])]
    return block.with_changes(body=body)


def _bound_names(stmt: cst.CSTNode) -> set[str]:
    names: set[str] = set()
    if isinstance(stmt, (cst.FunctionDef, cst.ClassDef)):
        names.add(stmt.name.value)
    elif isinstance(stmt, cst.SimpleStatementLine):
        for small in stmt.body:
            if isinstance(small, cst.Assign):
                for t in small.targets:
                    if isinstance(t.target, cst.Name):
                        names.add(t.target.value)
            elif isinstance(small, (cst.Import, cst.ImportFrom)) and not isinstance(
                getattr(small, "names", None), cst.ImportStar
            ):
                for alias in small.names:
                    if alias.asname is not None and isinstance(alias.asname.name, cst.Name):
                        names.add(alias.asname.name.value)
                    else:
                        names.add(code_of(alias.name).split(".")[0])
    return names


class _ReferenceCollector(cst.CSTVisitor):
    """Classify every reference to a Task subclass of the module."""

    def __init__(self, rule: TaskSubclassRule) -> None:
        self.rule = rule
        self.depth = 0  # function nesting

    def visit_FunctionDef(self, node) -> None:
        self.depth += 1

    def leave_FunctionDef(self, node) -> None:
        self.depth -= 1

    def visit_Name(self, node: cst.Name) -> None:
        rule = self.rule
        info = rule._classes.get(node.value)
        if info is None or node is info.node.name:
            return
        try:
            qnames = rule.get_metadata(QualifiedNameProvider, node, set())
        except KeyError:
            return
        if not any(q.name == node.value and q.source.name == "LOCAL" for q in qnames):
            return
        parent = rule.get_metadata(ParentNodeProvider, node, None)
        if not isinstance(parent, cst.Call) or parent.func is not node:
            rule.register(Reference("other", info.name, cst.Call(func=node)), None)
            return
        call = parent
        if any(a.star for a in call.args):
            rule.register(Reference("other", info.name, call), None)
            return
        up = rule.get_metadata(ParentNodeProvider, call, None)
        if isinstance(up, cst.Call) and up.func is call:
            rule.register(Reference("inline-call", info.name, call, outer=up), None)
            return
        target_node = up.targets[0].target if isinstance(up, cst.Assign) else None
        if (
            isinstance(target_node, cst.Attribute)
            and isinstance(target_node.value, cst.Name)
            and (target_node.value.value, target_node.attr.value) in rule._flow_attrs
            and self.depth == 0
        ):
            line = rule.get_metadata(ParentNodeProvider, up, None)
            rule.register(
                Reference("module-instance", info.name, call, target=target_node.attr.value), line
            )
            return
        if (
            isinstance(up, cst.Assign)
            and len(up.targets) == 1
            and isinstance(up.targets[0].target, cst.Name)
        ):
            line = rule.get_metadata(ParentNodeProvider, up, None)
            target = up.targets[0].target.value
            where = rule.get_metadata(ParentNodeProvider, line, None)
            if (
                self.depth == 0
                and isinstance(line, cst.SimpleStatementLine)
                and len(line.body) == 1
                and isinstance(where, cst.Module)
            ):
                rule.register(Reference("module-instance", info.name, call, target=target), line)
                return
            # in a function, or in a block at module level (a ``with Flow(...)`` body)
            if self.depth > 0 or not isinstance(where, cst.Module):
                rule.register(Reference("local-instance", info.name, call, target=target), None)
                return
        rule.register(Reference("other", info.name, call), None)


RULE = TaskSubclassRule
