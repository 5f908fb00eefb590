"""Stand-ins for Prefect 1 API that has no automatic Prefect 2 equivalent, and line lists in TODOs.

One construct the rewrite cannot migrate (``case`` outside a flow, a ``merge`` it cannot place, a
Prefect 1 result class, a library task it commented out) must cost one TODO, not one per use, and
must not take the rest of the module with it: the module still imports under Prefect 2 and the
original logic stays readable as code. So the name stays bound -- to a *stand-in*, an instance of
a small class the rewrite writes once into the module (:data:`STUB_CLASS`, source
:data:`STUB_SOURCE`)::

    class _Prefect1Stub:
        ...

    # TODO(prefect2-migration): PF001 `LocalResult` (Prefect 1 prefect.engine.results.LocalResult,
    # used at lines 12, 30) has no automatic Prefect 2 equivalent: ...
    LocalResult = _Prefect1Stub("prefect.engine.results.LocalResult")

A stand-in is honest about what it is: called while a module is being imported (a result or
schedule object built at import time, by module-level code or a function it calls) it returns
another stand-in, so the module imports; called at run time -- when a flow or task runs after the
import, or from a script run as ``__main__`` -- it raises ``NotImplementedError`` naming the
Prefect 1 object and pointing at the TODO. "Being imported" is read off the call stack: the
top-level code of a module (``<module>``, with the ``__spec__`` an import or Prefect's
``load_script_as_module`` gives it) other than ``__main__`` is on it -- after the import, that
code is no longer running. Attributes of a stand-in are stand-ins (``signals.FAIL``); items, ``with``
and comparisons behave like calls (an ``assert`` on a Prefect 1 result at import time passes).

The TODO names the lines that use the construct. Rules write :func:`lines_of` markers
(``<lines of case>``) in the TODO's text; once the module's final text is known,
:func:`resolve_line_marks` replaces each by the lines reading that name (``lines 24, 26``), so the
numbers are those of the file as written.
"""

from __future__ import annotations

import ast
import re

import libcst as cst

from meta_flows.patches import pyast

STUB_CLASS = "_Prefect1Stub"

STUB_SOURCE = f'''\
class {STUB_CLASS}:
    """A stand-in for Prefect 1 API with no automatic Prefect 2 equivalent.

    Written by meta-flows' rewrite (prefect2-migration) so that this module still
    imports: called while a module is being imported it returns another stand-in;
    called at run time (a flow or task run, a script) it raises NotImplementedError.
    The prefect2-migration TODO above each stand-in lists the lines using it.
    """

    def __init__(self, name):
        self.prefect1_name = name

    def __getattr__(self, attribute):
        if attribute.startswith("__"):
            raise AttributeError(attribute)
        return {STUB_CLASS}(f"{{self.prefect1_name}}.{{attribute}}")

    def __call__(self, *args, **kwargs):
        frame = inspect.currentframe().f_back
        while frame is not None:  # the top-level code of a module being loaded?
            module = frame.f_globals
            if frame.f_code.co_name == "<module>" and module.get("__spec__") is not None:
                if module.get("__name__") != "__main__":  # a script's: run time
                    return {STUB_CLASS}(f"{{self.prefect1_name}}(...)")
            frame = frame.f_back
        raise NotImplementedError(
            f"prefect2-migration: {{self.prefect1_name}} is Prefect 1 API with no "
            "Prefect 2 equivalent: see the prefect2-migration TODO above its stand-in"
        )

    __getitem__ = __enter__ = __eq__ = __ne__ = __call__
    __hash__ = object.__hash__

    def __exit__(self, *exc_info):
        return False
'''
# The module the stand-in class needs (added to the module's imports).
STUB_IMPORT = "inspect"

# Prefect 1's ``prefect.config`` (PF007): a module's reads go through one object of this class,
# bound to CONFIG_NAME, which reads each key from the environment variable Prefect 1 read it from.
# A stand-in itself (a subclass of STUB_CLASS, which must be defined before it): a key set nowhere
# there gives a stand-in whose value may be used while a module is being imported, not later.
CONFIG_CLASS = "_Prefect1Config"
CONFIG_NAME = "prefect1_config"

CONFIG_SOURCE = f'''\
class {CONFIG_CLASS}({STUB_CLASS}):
    """Prefect 1's ``prefect.config``, read from the environment as Prefect 1 read it.

    Written by meta-flows' rewrite (prefect2-migration): Prefect 2 has no prefect.config.
    ``section.key`` is the environment variable PREFECT__SECTION__KEY, typed as Prefect 1
    typed it ("true"/"false", numbers and other Python literals). ``get(key, default)``
    gives the default for a key set nowhere there (Prefect 1 may have read it from
    config.toml); used as a value, such a key is a placeholder while a module is being
    imported and raises AttributeError at run time.
    """

    def __init__(self, *path):
        super().__init__(".".join(("prefect.config", *path)))
        self.prefect1_path = path

    def _find(self, key):
        import os
        from ast import literal_eval

        path, section = (*self.prefect1_path, key), False
        for variable, text in os.environ.items():
            if not variable.startswith("PREFECT__"):
                continue
            keys = tuple(variable[len("PREFECT__") :].lower().split("__"))
            if keys == path:
                text = text.encode().decode("unicode_escape")
                if text.upper() in ("TRUE", "FALSE"):
                    return True, text.upper() == "TRUE"
                try:
                    return True, literal_eval(text)
                except (ValueError, SyntaxError):
                    return True, text
            section = section or keys[: len(path)] == path
        return section, {CONFIG_CLASS}(*path)

    def __getattr__(self, key):
        if key.startswith("__"):
            raise AttributeError(key)
        return self._find(key)[1]

    def __getitem__(self, key):
        return self._find(key)[1]

    def __contains__(self, key):
        return self._find(key)[0]

    def get(self, key, default=None):
        found, value = self._find(key)
        return value if found else default

    def _unset(self, placeholder):
        try:
            super().__call__()  # raises unless a module is being imported
        except NotImplementedError:
            variable = "__".join(("PREFECT", *self.prefect1_path)).upper()
            raise AttributeError(
                f"prefect2-migration: Prefect 1 configuration {{self.prefect1_name}} is not "
                f"set: set the environment variable {{variable}} (see the prefect2-migration "
                "TODO above prefect1_config)"
            ) from None
        return placeholder

    def __call__(self, *args, **kwargs):
        return self._unset({STUB_CLASS}(f"{{self.prefect1_name}}(...)"))

    def __str__(self):
        return self._unset(f"<{{self.prefect1_name}}: not set>")

    def __format__(self, spec):
        return format(str(self), spec)

    def __bool__(self):
        return self._unset(False)

    def __eq__(self, other):
        return self._unset(False)

    def __ne__(self, other):
        return self._unset(True)

    def __iter__(self):
        return self._unset(iter(()))

    __hash__ = object.__hash__
'''

_MARK = re.compile(
    r"<lines of ([A-Za-z_][A-Za-z0-9_]*(?:\.[A-Za-z_][A-Za-z0-9_]*)*)(?: in ([A-Za-z_][A-Za-z0-9_]*))?>"
)
_MAX_LISTED = 12


def stub_class() -> cst.ClassDef:
    """The stand-in class, as a statement."""
    stmt = cst.parse_module(STUB_SOURCE).body[0]
    assert isinstance(stmt, cst.ClassDef)
    return stmt


def stub_binding(names: list[str], qualified: str) -> cst.SimpleStatementLine:
    """``a = b = _Prefect1Stub("qualified")``."""
    targets = [cst.AssignTarget(target=cst.Name(n)) for n in names]
    call = cst.Call(func=cst.Name(STUB_CLASS), args=[cst.Arg(cst.SimpleString(_quote(qualified)))])
    return cst.SimpleStatementLine(body=[cst.Assign(targets=targets, value=call)])


def _quote(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def config_class() -> cst.ClassDef:
    """The class of Prefect 1's ``prefect.config`` stand-in, as a statement."""
    stmt = cst.parse_module(CONFIG_SOURCE).body[0]
    assert isinstance(stmt, cst.ClassDef)
    return stmt


def defines_stub_class(module: cst.Module) -> bool:
    return any(isinstance(s, cst.ClassDef) and s.name.value == STUB_CLASS for s in module.body)


def lines_of(name: str, within: str | None = None) -> str:
    """A marker standing for the lines that read ``name`` (a name or ``prefect.Client``), as
    ``line 7`` / ``lines 7, 9``; replaced in the final text by :func:`resolve_line_marks`.
    ``within``: only the lines in the body of the module-level function of that name, where a
    variable of the function's own counts too."""
    return f"<lines of {name} in {within}>" if within else f"<lines of {name}>"


def has_line_marks(code: str) -> bool:
    return "<lines of " in code


def resolve_line_marks(code: str) -> str:
    """``code`` with every :func:`lines_of` marker in a comment replaced by the lines using the
    name (``line 24`` / ``lines 24, 26``; ``no line`` once nothing uses it)."""
    if not has_line_marks(code):
        return code
    try:
        tree = pyast.parse(code)
    except (SyntaxError, ValueError):
        tree = None
    lines = code.splitlines(keepends=True)
    marked = [i for i, line in enumerate(lines) if "#" in line and has_line_marks(line)]
    marks = {m.groups() for i in marked for m in _MARK.finditer(lines[i], lines[i].index("#"))}
    names = {name for name, within in marks if within is None}
    if tree is not None:
        cache = {(n, None): describe_lines(found) for n, found in use_lines_of(tree, names).items()}
        for name, within in marks - {(n, None) for n in names}:
            scope = [  # the function's body: its own variables of that name count
                child
                for s in tree.body
                if isinstance(s, (ast.FunctionDef, ast.AsyncFunctionDef)) and s.name == within
                for child in s.body
            ]
            found = use_lines_of(ast.Module(body=scope, type_ignores=[]), [name])[name]
            cache[(name, within)] = describe_lines(found)
    else:
        cache = dict.fromkeys(marks, "the lines using it")

    def listed(match: re.Match) -> str:
        return cache[match.groups()]

    for i in marked:
        line = lines[i]
        at = line.index("#")
        lines[i] = line[:at] + _MARK.sub(listed, line[at:])
    return "".join(lines)


_LISTED = re.compile(r"<lines of [^>]+>|\blines? \d+(?:, \d+)*(?: and \d+ more)?|\bno line\b")


def same_todo(a: str, b: str) -> bool:
    """Whether two TODO texts say the same, a :func:`lines_of` marker and the lines it became
    counting as equal (a rewrite of the rewrite's output adds no second TODO)."""
    if a == b:
        return True
    if not (has_line_marks(a) or has_line_marks(b)):
        return False
    return _LISTED.sub("<lines>", a) == _LISTED.sub("<lines>", b)


def describe_lines(lines: list[int]) -> str:
    if not lines:
        return "no line"
    if len(lines) == 1:
        return f"line {lines[0]}"
    shown = ", ".join(str(n) for n in lines[:_MAX_LISTED])
    more = len(lines) - _MAX_LISTED
    return f"lines {shown}" + (f" and {more} more" if more > 0 else "")


def use_lines(tree: ast.Module, name: str) -> list[int]:
    """The lines reading the module-level ``name``, not where a function's own variable of that
    name is read; for ``a.b``, the lines reading the attribute ``b`` of ``a``."""
    return use_lines_of(tree, [name])[name]


def use_lines_of(tree: ast.Module, names) -> dict[str, list[int]]:
    """:func:`use_lines` of each of ``names``, in one walk of ``tree``."""
    simple = {n for n in names if "." not in n}
    dotted = {n for n in names if "." in n}
    found: dict[str, set[int]] = {n: set() for n in (*simple, *dotted)}

    def visit(node: ast.AST, shadowed: frozenset[str]) -> None:
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda)):
            # decorators, defaults and annotations run in the enclosing scope
            args = node.args
            every = [*args.posonlyargs, *args.args, *args.kwonlyargs, args.vararg, args.kwarg]
            outer = [
                *getattr(node, "decorator_list", ()),
                *args.defaults,
                *(d for d in args.kw_defaults if d is not None),
                *(a.annotation for a in every if a is not None and a.annotation is not None),
                *([node.returns] if getattr(node, "returns", None) is not None else []),
            ]
            for child in outer:
                visit(child, shadowed)
            # a function's own variable of that name is another object (``prefect.x``: an
            # ``import prefect`` inside the function is the same module)
            inner = shadowed
            if simple - shadowed:
                inner = shadowed | (simple & _locals(node))
            body = node.body if isinstance(node.body, list) else [node.body]
            for child in body:
                visit(child, inner)
            return
        if isinstance(node, ast.Name):
            if node.id in simple and node.id not in shadowed and isinstance(node.ctx, ast.Load):
                found[node.id].add(node.lineno)
            return
        if dotted and isinstance(node, ast.Attribute) and isinstance(node.ctx, ast.Load):
            name = _dotted(node)
            if name in dotted:
                found[name].add(node.lineno)
            # no return: the names it starts with (``a`` of ``a.b``) are read too
        for child in ast.iter_child_nodes(node):
            visit(child, shadowed)

    if found:
        visit(tree, frozenset())
    return {n: sorted(lines) for n, lines in found.items()}


def _dotted(node: ast.AST) -> str | None:
    if isinstance(node, ast.Name):
        return node.id
    if isinstance(node, ast.Attribute):
        base = _dotted(node.value)
        return f"{base}.{node.attr}" if base else None
    return None


def _locals(node: ast.FunctionDef | ast.AsyncFunctionDef | ast.Lambda) -> set[str]:
    """Names local to a function: its parameters and what its body binds (not ``global``)."""
    args = node.args
    names = {
        a.arg
        for a in [*args.posonlyargs, *args.args, *args.kwonlyargs, args.vararg, args.kwarg]
        if a is not None
    }
    declared: set[str] = set()
    body = node.body if isinstance(node.body, list) else [node.body]
    todo = list(body)
    while todo:
        sub = todo.pop()
        if isinstance(sub, (ast.Global, ast.Nonlocal)):
            declared.update(sub.names)
        elif isinstance(sub, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            names.add(sub.name)
            continue
        elif isinstance(sub, ast.Lambda):
            continue
        elif isinstance(sub, ast.Name) and isinstance(sub.ctx, (ast.Store, ast.Del)):
            names.add(sub.id)
        elif isinstance(sub, (ast.Import, ast.ImportFrom)):
            names.update(a.asname or a.name.split(".")[0] for a in sub.names)
        elif isinstance(sub, ast.ExceptHandler) and sub.name:
            names.add(sub.name)
        todo.extend(ast.iter_child_nodes(sub))
    return names - declared
