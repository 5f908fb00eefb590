"""What one file's rewrite needs to know about the rest of its repository.

Real estates wrap Prefect 1 in their own helpers: a ``Flow`` or ``Task`` subclass, a task decorator
factory, a shared ``schedules.py``. :func:`scan_project` reads every module once (cheaply: only files
that mention ``prefect`` are parsed) and records

- ``wrappers``: ``"pkg.base.MyFlow" -> "prefect.Flow"`` -- a name that stands for a Prefect 1
  object, so rules treat ``MyFlow(...)`` like ``Flow(...)``. Learned from the repository's own
  modules (a ``Flow``/``Task`` subclass, a task decorator factory, a module re-exporting Prefect's
  ``Flow``), declared (:class:`WrapperDeclarations`: ``meta-flows rewrite --flow-class``,
  ``[tool.meta-flows]`` in the repository's ``pyproject.toml``, the registry), or *probable*: a
  ``Flow`` imported from a module that is not Prefect and not among the files read, used exactly as
  Prefect 1's (``with Flow("name") as flow:``, ``flow = Flow("name")``) in a module importing
  Prefect 1 (``probable``: its flows get a TODO asking to confirm or declare it);
- ``tasks``: qualified names of module-level tasks (``@task`` functions, ``Task`` instances);
- ``imported``: per module, the names other modules of the repository import from it (a flow
  variable another module imports must keep its name as an alias);
- ``parameters``: module-level Prefect 1 ``Parameter``s (``pkg.shared.DAY``), so a flow of another
  module importing one gets it as an argument of its own (PF003);
- ``modules``: every name a module read is known by: the name Python imports it as from its
  package root (:func:`module_name_for`) and its dotted path from the folder rewritten and from the
  project root (so ``acme/custom.py`` of a namespace package, without ``__init__.py``, is also
  ``acme.custom``); ``aliases`` maps the first of those names to all of them;
- ``deployments``: given, not read (see :func:`~meta_flows.core.codemod.runner.index`): the
  deployment each flow of the project gets, so a parent starting a child flow by name calls
  ``run_deployment`` with that deployment's name (PF013);
- ``first_party``: the repository's top-level module and package names (the folders and ``*.py``
  files at the root of what is rewritten and of the project holding it -- the nearest folder with
  a ``pyproject.toml``, ``.git``... -- and the top-level package of every module read), which
  isort/ruff put in the first-party import section; imports the rewrite adds are placed
  accordingly.

The index is plain data, picklable, so it travels to worker processes.
"""

from __future__ import annotations

import ast
import keyword
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from meta_flows.core.codemod.names import canonical
from meta_flows.core.errors import MetaFlowsError
from meta_flows.patches import pyast

try:  # Python 3.11+
    import tomllib
except ModuleNotFoundError:  # pragma: no cover - Python 3.10
    import tomli as tomllib

_PREFECT_BASES = {"prefect.Flow", "prefect.Task"}
# What a module re-exporting Prefect's own object (``from prefect import Flow`` in a package's
# ``__init__.py``) makes its importers' name stand for: objects Prefect 2 has too, so the
# re-exporting module itself keeps working.
_REEXPORTED = frozenset({"prefect.Flow", "prefect.Task", "prefect.task"})


class WrapperDeclarationError(MetaFlowsError, ValueError):
    """A declared wrapper is not a dotted name, or ``[tool.meta-flows]`` is malformed (the message
    names the file and the key)."""


def is_dotted_name(name: str) -> bool:
    """``pkg.module.Name``: two or more identifiers joined by dots."""
    parts = name.split(".")
    return len(parts) >= 2 and all(p.isidentifier() and not keyword.iskeyword(p) for p in parts)


@dataclass(frozen=True)
class WrapperDeclarations:
    """Names declared to stand for Prefect 1 objects, whether or not their source is read.

    ``flow_classes``: ``Flow`` subclasses (``"acme_platform.custom.Flow"``), treated as
    ``prefect.Flow``; ``task_classes``: ``Task`` subclasses; ``task_factories``: decorator factories
    or configured decorators standing for ``prefect.task``; ``flow_metadata``: for a ``Flow``
    subclass whose source the Prefect 1 oracle read and found adding no behaviour, the options it
    only stores on the flow object (:mod:`meta_flows.core.codemod.analysis.wrapper_class`).
    """

    flow_classes: tuple[str, ...] = ()
    task_classes: tuple[str, ...] = ()
    task_factories: tuple[str, ...] = ()
    flow_metadata: tuple[tuple[str, tuple[str, ...]], ...] = ()

    def merged(self, other: WrapperDeclarations | None) -> WrapperDeclarations:
        """Both sets of declarations (each name once, in order of first declaration)."""
        if other is None:
            return self

        def union(a: tuple[str, ...], b: tuple[str, ...]) -> tuple[str, ...]:
            return tuple(dict.fromkeys((*a, *b)))

        metadata = dict(self.flow_metadata)
        metadata.update(other.flow_metadata)
        return WrapperDeclarations(
            union(self.flow_classes, other.flow_classes),
            union(self.task_classes, other.task_classes),
            union(self.task_factories, other.task_factories),
            tuple(metadata.items()),
        )

    def metadata_of(self, names: Iterable[str]) -> frozenset[str] | None:
        """The metadata-only options of the first of ``names`` (a wrapper and the names it leads
        to) whose source was read (None: none was)."""
        known = dict(self.flow_metadata)
        for name in names:
            if name in known:
                return frozenset(known[name])
        return None

    def __bool__(self) -> bool:
        return bool(self.flow_classes or self.task_classes or self.task_factories)

    def invalid(self) -> list[str]:
        """The declared names that are not dotted names (``pkg.module.Name``)."""
        names = (*self.flow_classes, *self.task_classes, *self.task_factories)
        return [n for n in names if not is_dotted_name(n)]


PYPROJECT_TABLE = "tool.meta-flows"
_PYPROJECT_KEYS = {
    "flow-classes": "flow_classes",
    "task-classes": "task_classes",
    "task-factories": "task_factories",
}


def pyproject_for(root: Path) -> Path | None:
    """The repository's ``pyproject.toml`` for ``root`` (a folder or file in it): the nearest one
    at or above it, not above the folder holding ``.git``."""
    try:
        start = root.resolve()
    except OSError:
        return None
    if start.is_file():
        start = start.parent
    for folder in (start, *start.parents):
        candidate = folder / "pyproject.toml"
        if candidate.is_file():
            return candidate
        if (folder / ".git").exists():
            return None
    return None


def read_pyproject_declarations(root: Path) -> WrapperDeclarations:
    """The wrappers ``[tool.meta-flows]`` declares in the repository's ``pyproject.toml``
    (:func:`pyproject_for`)::

        [tool.meta-flows]
        flow-classes = ["acme_platform.custom.Flow"]
        task-classes = ["acme_platform.tasks.SQLTask"]
        task-factories = ["acme_platform.custom.acme_task"]

    No file, or no table: nothing declared. Raises :class:`WrapperDeclarationError` naming the file
    and the key when the table is malformed (not a list of dotted names), or when a file that
    mentions ``tool.meta-flows`` is not valid TOML. Other keys of the table are left to others.
    """
    path = pyproject_for(root)
    if path is None:
        return WrapperDeclarations()
    try:
        text = path.read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError):
        return WrapperDeclarations()
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        if "meta-flows" not in text:
            return WrapperDeclarations()  # not ours to judge: nothing declared in it
        raise WrapperDeclarationError(f"{path}: not valid TOML ({exc})") from exc
    tool = data.get("tool", {})
    table = tool.get("meta-flows") if isinstance(tool, dict) else None
    if table is None:
        return WrapperDeclarations()
    if not isinstance(table, dict):
        raise WrapperDeclarationError(f"{path}: [{PYPROJECT_TABLE}] must be a table")
    found: dict[str, tuple[str, ...]] = {}
    for key, field_name in _PYPROJECT_KEYS.items():
        value = table.get(key)
        if value is None:
            continue
        where = f"{path}: [{PYPROJECT_TABLE}] {key}"
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            raise WrapperDeclarationError(
                f"{where} must be a list of dotted names (strings), e.g. "
                f'["acme_platform.custom.Flow"]'
            )
        bad = [v for v in value if not is_dotted_name(v)]
        if bad:
            raise WrapperDeclarationError(
                f"{where}: {', '.join(repr(b) for b in bad)} is not a dotted name "
                f"(package.module.Name)"
            )
        found[field_name] = tuple(dict.fromkeys(value))
    return WrapperDeclarations(**found)


@dataclass
class ProjectIndex:
    root: str | None = None
    wrappers: dict[str, str] = field(default_factory=dict)
    tasks: set[str] = field(default_factory=set)
    task_classes: set[str] = field(default_factory=set)
    imported: dict[str, set[str]] = field(default_factory=dict)
    first_party: set[str] = field(default_factory=set)
    modules: set[str] = field(default_factory=set)
    aliases: dict[str, set[str]] = field(default_factory=dict)
    # wrappers taken for Prefect 1's Flow from their use alone (see the module docstring)
    probable: set[str] = field(default_factory=set)
    # names that only re-export Prefect's own object (``from prefect import Flow`` in a package)
    reexports: set[str] = field(default_factory=set)
    declared: WrapperDeclarations = field(default_factory=WrapperDeclarations)
    # module-level Prefect 1 Parameters: "pkg.shared.DAY" -> (its class, canonical, e.g.
    # "prefect.Parameter"; the source of the call), so a flow of another module importing one
    # lifts it into its own signature (PF003)
    parameters: dict[str, tuple[str, str]] = field(default_factory=dict)
    # the deployments of the flows a parent may start by name (``StartFlowRun``,
    # ``create_flow_run``): Prefect 1 flow name -> ``"<flow name>/<deployment name>"`` as the
    # deployment translator names them (a wave knows them before its rewrite); None: not known
    # (``meta-flows rewrite``), PF013 then writes a TODO to check the name it guesses
    deployments: dict[str, str] | None = None

    def follow(self, qualified_name: str) -> str:
        """Map a repository wrapper onto the Prefect object it stands for (else unchanged)."""
        seen = set()
        name = qualified_name
        while name in self.wrappers and name not in seen:
            seen.add(name)
            name = self.wrappers[name]
        return name

    def chain(self, qualified_name: str) -> list[str]:
        """``qualified_name`` and the names it leads to through ``wrappers``, in order."""
        out = [qualified_name]
        while out[-1] in self.wrappers and self.wrappers[out[-1]] not in out:
            out.append(self.wrappers[out[-1]])
        return out

    def is_wrapper(self, qualified_name: str) -> bool:
        """A name standing for a Prefect 1 object through a wrapper of its own (a subclass, a
        factory: not a plain re-export of Prefect's object)."""
        return any(
            n in self.wrappers and n not in self.reexports for n in self.chain(qualified_name)
        )

    def probable_of(self, qualified_name: str) -> str | None:
        """The probable wrapper ``qualified_name`` leads to (the name to declare), if any."""
        return next((n for n in self.chain(qualified_name) if n in self.probable), None)

    def is_external(self, qualified_name: str) -> bool:
        """A name whose module is not among the modules read (an installed package's)."""
        module = qualified_name.rpartition(".")[0]
        return bool(module) and module not in self.modules

    def names_of(self, module: str | None) -> set[str]:
        """Every name the module is known by (see ``aliases``)."""
        if not module:
            return set()
        return self.aliases.get(module) or {module}

    def declare(self, declared: WrapperDeclarations | None) -> None:
        """Record declared wrappers (before the repository's modules are read)."""
        if not declared:
            return
        self.declared = self.declared.merged(declared)
        for name in declared.flow_classes:
            self.wrappers[name] = "prefect.Flow"
        for name in declared.task_factories:
            self.wrappers[name] = "prefect.task"
        self.task_classes.update(declared.task_classes)
        for name in (*declared.flow_classes, *declared.task_factories):
            self.probable.discard(name)
            self.reexports.discard(name)

    @staticmethod
    def absolute(current_module: str | None, relative: str) -> str:
        """Resolve ``.base.MyFlow`` against the module the file is (``pkg.flows.etl``)."""
        level = len(relative) - len(relative.lstrip("."))
        rest = relative[level:]
        if not current_module:
            return rest
        parts = current_module.split(".")
        base = parts[: max(len(parts) - level, 0)]
        return ".".join([*base, rest]) if rest else ".".join(base)

    def is_imported_elsewhere(self, module: str | None, name: str) -> bool:
        return any(name in self.imported.get(m, set()) for m in self.names_of(module))


def module_name_for(path: Path) -> str:
    """The dotted module name Python would import ``path`` as from its package root.

    Walks up while the parent directory is a package (has ``__init__.py``), so ``src/pkg/a.py``
    is ``pkg.a`` and a script directory's ``flows/etl.py`` is ``etl``.
    """
    path = path.resolve()
    parts = [] if path.name == "__init__.py" else [path.stem]
    parent = path.parent
    while (parent / "__init__.py").exists():
        parts.insert(0, parent.name)
        parent = parent.parent
    return ".".join(parts) or path.stem


def _import_map(tree: ast.Module, module: str) -> dict[str, str]:
    """Local name -> qualified name for the module's top-level imports."""
    out: dict[str, str] = {}
    for node in tree.body:
        if isinstance(node, ast.Import):
            for alias in node.names:
                if alias.asname:
                    out[alias.asname] = alias.name
                else:
                    head = alias.name.split(".")[0]
                    out[head] = head
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                base = ProjectIndex.absolute(module, "." * node.level + base)
            for alias in node.names:
                if alias.name == "*":
                    continue
                out[alias.asname or alias.name] = f"{base}.{alias.name}" if base else alias.name
    return out


def _qual(expr: ast.expr, imports: dict[str, str], module: str) -> str | None:
    if isinstance(expr, ast.Name):
        if expr.id in imports:
            return imports[expr.id]
        return f"{module}.{expr.id}"
    if isinstance(expr, ast.Attribute):
        base = _qual(expr.value, imports, module)
        return f"{base}.{expr.attr}" if base else None
    if isinstance(expr, ast.Call):
        return _qual(expr.func, imports, module)
    return None


def module_names_for(path: Path, roots: Iterable[Path] = ()) -> list[str]:
    """Every dotted name a module file may be imported as: :func:`module_name_for` first, then
    its path relative to each of ``roots`` (the folder rewritten, the project root) when every
    part is an identifier -- ``acme/custom.py`` of a namespace package (no ``__init__.py``) is
    ``custom`` and ``acme.custom``."""
    names = [module_name_for(path)]
    resolved = path.resolve()
    for root in roots:
        try:
            relative = resolved.relative_to(root.resolve())
        except (OSError, ValueError):
            continue
        parts = list(relative.parts)
        if not parts or not parts[-1].endswith(".py"):
            continue
        parts[-1] = parts[-1][: -len(".py")]
        if parts[-1] == "__init__":
            parts.pop()
        if parts and all(p.isidentifier() and not keyword.iskeyword(p) for p in parts):
            name = ".".join(parts)
            if name not in names:
                names.append(name)
    return names


def scan_project(
    root: Path, files: list[Path], declared: WrapperDeclarations | None = None
) -> ProjectIndex:
    """Build the :class:`ProjectIndex` of a repository from its Python files (``declared``:
    wrappers known without their source, e.g. :func:`read_pyproject_declarations`)."""
    roots = list(dict.fromkeys([root, _project_root(root)]))
    sources: list[tuple[str, str, Sequence[str]]] = []
    for path in files:
        try:
            text = path.read_text(encoding="utf-8-sig")  # a byte-order mark is not code
            names = module_names_for(path, roots)
        except (OSError, UnicodeDecodeError, ValueError):
            continue
        sources.append((names[0], text, names[1:]))
    index = scan_sources(sources, declared=declared)
    index.root = str(root)
    index.first_party |= _top_level_names(root) | _top_level_names(_project_root(root))
    return index


_PROJECT_MARKERS = ("pyproject.toml", "ruff.toml", ".ruff.toml", "setup.py", "setup.cfg", ".git")


def _project_root(path: Path) -> Path:
    """The nearest folder at or above ``path`` that holds a project file (``pyproject.toml``,
    ``.git``...): where ruff's default ``src = ["."]`` points; ``path`` when there is none."""
    try:
        start = path.resolve()
    except OSError:
        return path
    for folder in (start, *start.parents):
        if any((folder / marker).exists() for marker in _PROJECT_MARKERS):
            return folder
    return path


def _top_level_names(root: Path) -> set[str]:
    """What ruff's default ``src = ["."]`` makes first party: the folders and modules at the
    project root."""
    try:
        entries = list(root.iterdir())
    except OSError:
        return set()
    names = set()
    for entry in entries:
        if entry.name.startswith("."):
            continue
        if entry.suffix in (".py", ".pyi") and entry.is_file():
            names.add(entry.stem)
        elif entry.is_dir() and entry.name.isidentifier():
            names.add(entry.name)
    return names


Source = tuple[str, str] | tuple[str, str, Sequence[str]]


@dataclass
class _Module:
    name: str
    tree: ast.Module
    imports: dict[str, str]
    prefect1: bool


def scan_sources(
    sources: Iterable[Source], *, declared: WrapperDeclarations | None = None
) -> ProjectIndex:
    """Build the index from ``(module name, source text)`` pairs; a third item lists other names
    the same module is known by (see ``ProjectIndex.modules``)."""
    index = ProjectIndex()
    index.declare(declared)
    parsed: list[_Module] = []
    texts: dict[str, str] = {}
    for source in sources:
        names = list(dict.fromkeys(n for n in (source[0], *_more_names(source)) if n))
        text = source[1]
        for module in names:
            index.modules.add(module)
            if len(names) > 1:
                index.aliases.setdefault(module, set()).update(names)
            if module != "__main__":
                index.first_party.add(module.split(".", 1)[0])
        if "import" not in text:
            continue
        try:
            tree = pyast.parse(text)
        except (SyntaxError, ValueError, RecursionError, MemoryError):
            continue  # the file's own rewrite reports why it cannot be read
        prefect1 = _imports_prefect1(tree)
        for module in names:
            imports = _import_map(tree, module)
            for qual in imports.values():
                owner, _, name = qual.rpartition(".")
                if owner:
                    index.imported.setdefault(owner, set()).add(name)
            parsed.append(_Module(module, tree, imports, prefect1))
            texts[module] = text

    _learn(index, parsed)
    if _probable_wrappers(index, parsed):
        _learn(index, parsed)  # classes built on a probable wrapper are wrappers too
    for m in parsed:
        _learn_parameters(index, m, texts[m.name])
    return index


_PARAMETER_CLASSES = frozenset(
    {"prefect.Parameter", "prefect.DateTimeParameter", "prefect.JSONParameter"}
)


def _learn_parameters(index: ProjectIndex, m: _Module, text: str) -> None:
    """``NAME = Parameter("name", ...)`` at module level: recorded in ``index.parameters``."""
    for node in m.tree.body:
        if not (
            isinstance(node, ast.Assign)
            and len(node.targets) == 1
            and isinstance(node.targets[0], ast.Name)
            and isinstance(node.value, ast.Call)
        ):
            continue
        kind = _resolved(node.value.func, m.imports, m.name, index)
        code = ast.get_source_segment(text, node.value) if kind in _PARAMETER_CLASSES else None
        if code:
            index.parameters[f"{m.name}.{node.targets[0].id}"] = (kind, code)


def _more_names(source: Source) -> Sequence[str]:
    return source[2] if len(source) > 2 else ()  # type: ignore[misc]


def _learn(index: ProjectIndex, parsed: list[_Module]) -> None:
    """Wrappers, task classes and tasks; wrappers can build on each other across modules:
    iterate until nothing new is learned."""
    changed = True
    while changed:
        changed = False
        for m in parsed:
            module, tree, imports = m.name, m.tree, m.imports
            for node in tree.body:
                if isinstance(node, ast.ClassDef):
                    qual = f"{module}.{node.name}"
                    bases = {_resolved(b, imports, module, index) for b in node.bases}
                    if qual not in index.task_classes and (
                        "prefect.Task" in bases or bases & index.task_classes
                    ):
                        index.task_classes.add(qual)
                        changed = True
                found = _wrapper_of(node, imports, module, index)
                if found and index.wrappers.get(found[0]) != found[1]:
                    index.wrappers[found[0]] = found[1]
                    index.reexports.discard(found[0])
                    changed = True
                for task_name in _tasks_of(node, imports, module, index):
                    if task_name not in index.tasks:
                        index.tasks.add(task_name)
                        changed = True
                changed |= _reexports(node, imports, module, index)


def _reexports(node: ast.stmt, imports: dict[str, str], module: str, index: ProjectIndex) -> bool:
    """``from prefect import Flow`` (or from a wrapper's module) in a module others import from:
    ``module.Flow`` stands for what it imports. True when something was learned."""
    if not isinstance(node, ast.ImportFrom):
        return False
    changed = False
    for alias in node.names:
        local = alias.asname or alias.name
        qual = imports.get(local)
        if alias.name == "*" or qual is None:
            continue
        name = f"{module}.{local}"
        if name in index.wrappers or name in index.task_classes:
            continue
        if local not in index.imported.get(module, ()):
            continue  # no module read imports it from here
        if _resolved_name(qual, index) in _REEXPORTED:
            index.wrappers[name] = qual
            index.reexports.add(name)
            changed = True
        elif index.follow(qual) in index.task_classes or qual in index.task_classes:
            index.task_classes.add(name)
            changed = True
    return changed


def _resolved_name(qual: str, index: ProjectIndex) -> str:
    return canonical(index.follow(qual))


# ``from prefect import X`` names and modules only Prefect 2 has: a module importing one is Prefect
# 2 code (or already migrated), not a Prefect 1 module using a wrapper.
_PREFECT2_ONLY_NAMES = frozenset(
    {
        "flow",
        "get_run_logger",
        "allow_failure",
        "get_client",
        "pause_flow_run",
        "resume_flow_run",
        "suspend_flow_run",
        "State",
        "deploy",
        "serve",
        "runtime",
        "states",
        "artifacts",
        "blocks",
        "deployments",
        "filesystems",
        "task_runners",
        "variables",
        "futures",
        "automations",
        "events",
    }
)


def _imports_prefect1(tree: ast.Module) -> bool:
    """The module imports Prefect, and nothing only Prefect 2 has (``flow``, ``prefect.blocks``,
    a ``prefect_*`` integration...)."""
    prefect = False
    for node in ast.walk(tree):
        modules: list[str] = []
        if isinstance(node, ast.Import):
            modules = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom) and not node.level and node.module:
            modules = [node.module]
            if node.module == "prefect" and any(a.name in _PREFECT2_ONLY_NAMES for a in node.names):
                return False
        elif (
            isinstance(node, ast.Attribute)
            and isinstance(node.value, ast.Name)
            and node.value.id == "prefect"
            and node.attr in _PREFECT2_ONLY_NAMES
        ):
            return False
        for module in modules:
            top = module.split(".", 1)[0]
            if top.startswith("prefect_"):
                return False
            if top == "prefect":
                prefect = True
                second = module.split(".")[1] if "." in module else ""
                if second in _PREFECT2_ONLY_NAMES:
                    return False
    return prefect


def _flow_like_calls(tree: ast.Module) -> Iterable[ast.Call]:
    """Calls used exactly as Prefect 1's ``Flow``: ``with X(name, ...) as v:`` and
    ``v = X("name", ...)`` (a literal name)."""
    for node in ast.walk(tree):
        if isinstance(node, ast.With):
            for item in node.items:
                call = item.context_expr
                if item.optional_vars is not None and isinstance(call, ast.Call):
                    if _flow_name_arg(call) is not None:
                        yield call
        elif (
            isinstance(node, ast.Assign)
            and len(node.targets) == 1
            and isinstance(node.targets[0], ast.Name)
            and isinstance(node.value, ast.Call)
        ):
            name = _flow_name_arg(node.value)
            if isinstance(name, ast.JoinedStr) or (
                isinstance(name, ast.Constant) and isinstance(name.value, str)
            ):
                yield node.value


def _flow_name_arg(call: ast.Call) -> ast.expr | None:
    if call.args and not isinstance(call.args[0], ast.Starred):
        return call.args[0]
    return next((k.value for k in call.keywords if k.arg == "name"), None)


def _probable_wrappers(index: ProjectIndex, parsed: list[_Module]) -> bool:
    """Record the probable wrappers of Prefect 1's Flow (see the module docstring); True when
    one was found."""
    by_name = {m.name: m for m in parsed}
    found = False

    def origins(qual: str, depth: int = 0) -> Iterable[str]:
        """Where ``qual`` comes from: through the imports and class bases of modules read, to
        names outside them."""
        module, _, name = qual.rpartition(".")
        if depth > 20 or not module:
            return
        if module not in index.modules:
            yield qual
            return
        m = by_name.get(module)
        if m is None:
            return
        if name in m.imports:
            yield from origins(m.imports[name], depth + 1)
            return
        for node in m.tree.body:
            if isinstance(node, ast.ClassDef) and node.name == name:
                for base in node.bases:
                    base_qual = _qual(base, m.imports, module)
                    if base_qual:
                        yield from origins(base_qual, depth + 1)

    seen: set[int] = set()
    for m in parsed:
        if not m.prefect1 or id(m.tree) in seen:
            continue  # a module known by several names is read under its first one
        seen.add(id(m.tree))
        for call in _flow_like_calls(m.tree):
            head = call.func
            while isinstance(head, ast.Attribute):
                head = head.value
            if not isinstance(head, ast.Name):
                continue
            qual = _qual(call.func, m.imports, m.name)
            if not qual or _resolved_name(qual, index).startswith("prefect."):
                continue
            for origin in origins(qual):
                if (
                    origin.rsplit(".", 1)[-1] == "Flow"
                    and origin.split(".", 1)[0] != "prefect"
                    and origin not in index.wrappers
                ):
                    index.wrappers[origin] = "prefect.Flow"
                    index.probable.add(origin)
                    found = True
    return found


def _resolved(expr: ast.expr, imports: dict[str, str], module: str, index: ProjectIndex):
    q = _qual(expr, imports, module)
    return canonical(index.follow(q)) if q else None


def _wrapper_of(node: ast.stmt, imports, module, index) -> tuple[str, str] | None:
    if isinstance(node, ast.ClassDef):
        for base in node.bases:
            target = _resolved(base, imports, module, index)
            if target in _PREFECT_BASES:
                # A Task subclass is a task *class*; only Flow subclasses are treated as Flow.
                if target == "prefect.Flow":
                    # through the wrapper it builds on, if any (a probable one stays visible)
                    direct = _qual(base, imports, module)
                    if direct and direct in index.wrappers and direct not in index.reexports:
                        return f"{module}.{node.name}", direct
                    return f"{module}.{node.name}", target
    if isinstance(node, ast.FunctionDef):
        # A decorator factory: ``def my_task(**kw): return task(**kw)`` (or ``task(fn, ...)``).
        for stmt in ast.walk(node):
            if isinstance(stmt, ast.Return) and isinstance(stmt.value, ast.Call):
                target = _resolved(stmt.value.func, imports, module, index)
                if target == "prefect.task":
                    return f"{module}.{node.name}", "prefect.task"
    if isinstance(node, ast.Assign) and len(node.targets) == 1:
        target_node = node.targets[0]
        if isinstance(target_node, ast.Name):
            value = node.value
            if isinstance(value, ast.Call) and _resolved(value.func, imports, module, index) in (
                "prefect.task",
            ):
                # ``my_task = task(max_retries=3)``: a configured decorator.
                if not value.args:
                    return f"{module}.{target_node.id}", "prefect.task"
            if isinstance(value, (ast.Name, ast.Attribute)):
                target = _resolved(value, imports, module, index)
                if target in ("prefect.Flow", "prefect.task", "prefect.Task"):
                    return f"{module}.{target_node.id}", target
    return None


def _tasks_of(node: ast.stmt, imports, module, index) -> list[str]:
    out = []
    if isinstance(node, ast.FunctionDef):
        for dec in node.decorator_list:
            if _resolved(dec, imports, module, index) == "prefect.task":
                out.append(f"{module}.{node.name}")
    elif isinstance(node, ast.Assign) and isinstance(node.value, ast.Call):
        target = _resolved(node.value.func, imports, module, index)
        is_task_call = target == "prefect.task" and bool(node.value.args)
        if is_task_call or target in index.task_classes:
            out += [f"{module}.{t.id}" for t in node.targets if isinstance(t, ast.Name)]
    return out
