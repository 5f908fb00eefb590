"""What one file's rewrite needs to know about the rest of its repository.

Real estates wrap Prefect 1 in their own helpers: a ``Flow`` or ``Task`` subclass, a task decorator
factory, a shared ``schedules.py``. :func:`scan_project` reads every module once (cheaply: only files
that mention ``prefect`` are parsed) and records

- ``wrappers``: ``"pkg.base.MyFlow" -> "prefect.Flow"`` -- a name defined in the repository that
  stands for a Prefect 1 object, so rules treat ``MyFlow(...)`` like ``Flow(...)``;
- ``tasks``: qualified names of module-level tasks (``@task`` functions, ``Task`` instances);
- ``imported``: per module, the names other modules of the repository import from it (a flow
  variable another module imports must keep its name as an alias);
- ``first_party``: the repository's top-level module and package names (the folders and ``*.py``
  files at the root of what is rewritten and of the project holding it -- the nearest folder with
  a ``pyproject.toml``, ``.git``... -- and the top-level package of every module read), which
  isort/ruff put in the first-party import section; imports the rewrite adds are placed
  accordingly.

The index is plain data, picklable, so it travels to worker processes.
"""

from __future__ import annotations

import ast
from dataclasses import dataclass, field
from pathlib import Path

from meta_flows.core.codemod.names import canonical
from meta_flows.patches import pyast

_PREFECT_BASES = {"prefect.Flow", "prefect.Task"}


@dataclass
class ProjectIndex:
    root: str | None = None
    wrappers: dict[str, str] = field(default_factory=dict)
    tasks: set[str] = field(default_factory=set)
    task_classes: set[str] = field(default_factory=set)
    imported: dict[str, set[str]] = field(default_factory=dict)
    first_party: set[str] = field(default_factory=set)

    def follow(self, qualified_name: str) -> str:
        """Map a repository wrapper onto the Prefect object it stands for (else unchanged)."""
        seen = set()
        name = qualified_name
        while name in self.wrappers and name not in seen:
            seen.add(name)
            name = self.wrappers[name]
        return name

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
        return bool(module) and name in self.imported.get(module, set())


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


def scan_project(root: Path, files: list[Path]) -> ProjectIndex:
    """Build the :class:`ProjectIndex` of a repository from its Python files."""
    sources: list[tuple[str, str]] = []
    for path in files:
        try:
            text = path.read_text(encoding="utf-8-sig")  # a byte-order mark is not code
            module = module_name_for(path)
        except (OSError, UnicodeDecodeError, ValueError):
            continue
        sources.append((module, text))
    index = scan_sources(sources)
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


def scan_sources(sources: list[tuple[str, str]]) -> ProjectIndex:
    """Build the index from ``(module name, source text)`` pairs."""
    index = ProjectIndex()
    parsed: list[tuple[str, ast.Module, dict[str, str]]] = []
    for module, text in sources:
        if module and module != "__main__":
            index.first_party.add(module.split(".", 1)[0])
        if "import" not in text:
            continue
        try:
            tree = pyast.parse(text)
        except (SyntaxError, ValueError, RecursionError, MemoryError):
            continue  # the file's own rewrite reports why it cannot be read
        imports = _import_map(tree, module)
        for qual in imports.values():
            owner, _, name = qual.rpartition(".")
            if owner:
                index.imported.setdefault(owner, set()).add(name)
        parsed.append((module, tree, imports))

    # Wrappers can build on each other across modules: iterate until nothing new is learned.
    changed = True
    while changed:
        changed = False
        for module, tree, imports in parsed:
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
                    changed = True
                for task_name in _tasks_of(node, imports, module, index):
                    if task_name not in index.tasks:
                        index.tasks.add(task_name)
                        changed = True
    return index


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
