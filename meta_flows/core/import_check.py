"""Does every first-party import of a repository still resolve? (a static check of a whole tree)

A rewrite changes files one by one; a module-level definition one file drops (a schedule that
moved to ``prefect.yaml``, a helper task, a constant) may still be imported by another file, which
would then fail to import. :func:`dangling_imports` reads every ``*.py`` file of a tree and names
each ``import``/``from ... import`` of a module *in the tree* that does not resolve: the module is
not there, or it binds no such name at module level (and has no such submodule).

Only what can be decided statically is reported: a module with ``from x import *`` or a
module-level ``__getattr__`` is taken to provide any name; imports of modules outside the tree
(the standard library, installed packages) are not checked. :func:`new_dangling` compares two
trees (before and after a rewrite) and keeps only what the rewrite broke.
"""

from __future__ import annotations

import ast
from dataclasses import dataclass
from pathlib import Path

from meta_flows.core.codemod.runner import discover
from meta_flows.patches import pyast


@dataclass(frozen=True)
class Dangling:
    file: str  # relative to the tree, POSIX
    line: int
    module: str
    name: str | None  # None: the module itself is missing

    def describe(self) -> str:
        what = f"{self.name!r} from {self.module}" if self.name else f"module {self.module}"
        return f"{self.file}:{self.line}: imports {what}, which does not exist in the repository"


@dataclass
class _Module:
    rel: str
    names: set[str]
    open_ended: bool  # star import or module __getattr__: any name may exist


def _bound_names(tree: ast.Module) -> tuple[set[str], bool]:
    names: set[str] = set()
    open_ended = False

    def targets(node: ast.expr) -> None:
        if isinstance(node, ast.Name):
            names.add(node.id)
        elif isinstance(node, (ast.Tuple, ast.List)):
            for element in node.elts:
                targets(element)
        elif isinstance(node, ast.Starred):
            targets(node.value)

    def walk(body: list[ast.stmt]) -> None:
        nonlocal open_ended
        for stmt in body:
            if isinstance(stmt, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
                names.add(stmt.name)
                open_ended |= stmt.name == "__getattr__"
            elif isinstance(stmt, ast.Assign):
                for target in stmt.targets:
                    targets(target)
            elif isinstance(stmt, (ast.AnnAssign, ast.AugAssign)):
                targets(stmt.target)
            elif isinstance(stmt, ast.Import):
                for alias in stmt.names:
                    names.add(alias.asname or alias.name.split(".")[0])
            elif isinstance(stmt, ast.ImportFrom):
                for alias in stmt.names:
                    if alias.name == "*":
                        open_ended = True
                    else:
                        names.add(alias.asname or alias.name)
            elif isinstance(stmt, (ast.For, ast.AsyncFor)):
                targets(stmt.target)
                walk(stmt.body)
                walk(stmt.orelse)
            elif isinstance(stmt, (ast.With, ast.AsyncWith)):
                for item in stmt.items:
                    if item.optional_vars is not None:
                        targets(item.optional_vars)
                walk(stmt.body)
            elif isinstance(stmt, (ast.If, ast.While)):
                walk(stmt.body)
                walk(stmt.orelse)
            elif isinstance(stmt, ast.Try) or type(stmt).__name__ == "TryStar":
                walk(stmt.body)
                for handler in stmt.handlers:
                    if handler.name:
                        names.add(handler.name)
                    walk(handler.body)
                walk(stmt.orelse)
                walk(stmt.finalbody)
            elif isinstance(stmt, ast.Match):
                for case in stmt.cases:
                    walk(case.body)
        # walrus assignments at module level
        for node in ast.walk(ast.Module(body=body, type_ignores=[])):
            if isinstance(node, ast.NamedExpr):
                targets(node.target)

    walk(tree.body)
    return names, open_ended


def _dotted(root: Path, path: Path) -> str | None:
    parts = list(path.relative_to(root).with_suffix("").parts)
    if parts and parts[-1] == "__init__":
        parts = parts[:-1]
    if not parts or not all(p.isidentifier() for p in parts):
        return None
    return ".".join(parts)


def _read_tree(root: Path) -> tuple[dict[str, _Module], dict[str, ast.Module]]:
    modules: dict[str, _Module] = {}
    trees: dict[str, ast.Module] = {}
    for path in discover([root]):
        rel = path.relative_to(root).as_posix()
        try:
            tree = pyast.parse(path.read_text(encoding="utf-8-sig"))
        except (OSError, UnicodeDecodeError, SyntaxError, ValueError, RecursionError, MemoryError):
            continue  # reported by the rewrite itself
        trees[rel] = tree
        dotted = _dotted(root, path)
        if dotted is None:
            continue
        names, open_ended = _bound_names(tree)
        # the first file wins (a repository is one import root here)
        modules.setdefault(dotted, _Module(rel, names, open_ended))
    return modules, trees


def _roots(modules: dict[str, _Module]) -> set[str]:
    """Top-level names the tree provides (packages, namespace folders, modules)."""
    return {name.split(".")[0] for name in modules}


def _resolve_relative(rel: str, level: int, module: str | None) -> str | None:
    """``from ..x import y`` in the file ``rel``: the absolute module it names."""
    parts = list(Path(rel).with_suffix("").parts)[:-1]  # the file's package
    if level > 1:
        if level - 1 >= len(parts):
            return None  # above the tree's top package: not for this check to judge
        parts = parts[: len(parts) - (level - 1)]
    base = ".".join(parts)
    if module:
        return f"{base}.{module}" if base else module
    return base or None


def _is_namespace(modules: dict[str, _Module], name: str) -> bool:
    prefix = name + "."
    return any(m.startswith(prefix) for m in modules)


def dangling_imports(root: Path) -> list[Dangling]:
    """Every first-party import of ``root``'s tree that does not resolve (see the module)."""
    root = Path(root)
    modules, trees = _read_tree(root)
    tops = _roots(modules)
    found: list[Dangling] = []

    def exists(name: str) -> bool:
        return name in modules or _is_namespace(modules, name)

    for rel, tree in sorted(trees.items()):
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                for alias in node.names:
                    if alias.name.split(".")[0] in tops and not exists(alias.name):
                        found.append(Dangling(rel, node.lineno, alias.name, None))
            elif isinstance(node, ast.ImportFrom):
                if node.level:
                    target = _resolve_relative(rel, node.level, node.module)
                    if target is None:
                        continue
                else:
                    target = node.module or ""
                    if target.split(".")[0] not in tops:
                        continue
                if not exists(target):
                    found.append(Dangling(rel, node.lineno, target, None))
                    continue
                provider = modules.get(target)
                for alias in node.names:
                    if alias.name == "*":
                        continue
                    if provider is not None and (
                        provider.open_ended or alias.name in provider.names
                    ):
                        continue
                    if exists(f"{target}.{alias.name}"):
                        continue  # a submodule
                    found.append(Dangling(rel, node.lineno, target, alias.name))
    return found


def new_dangling(before: Path, after: Path) -> list[Dangling]:
    """What is dangling in ``after`` but was not in ``before`` (by file, module and name)."""
    old = {(d.file, d.module, d.name) for d in dangling_imports(before)}
    return [d for d in dangling_imports(after) if (d.file, d.module, d.name) not in old]
