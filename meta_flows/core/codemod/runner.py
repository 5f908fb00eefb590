"""Run the codemod over files and directories: discovery, project index, process pool, report."""

from __future__ import annotations

import difflib
import os
import shutil
import stat
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Mapping
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

from meta_flows.core.codemod.engine import (
    ERROR,
    MIGRATED,
    SKIPPED,
    MigrationResult,
    migrate_source,
)
from meta_flows.core.codemod.project import (
    ProjectIndex,
    WrapperDeclarations,
    module_name_for,
    read_pyproject_declarations,
    scan_project,
)

SKIP_DIRS = frozenset(
    {"venv", "env", "site-packages", "node_modules", "__pycache__", "build", "dist"}
)
# Below this many files a process pool costs more than it saves.
POOL_THRESHOLD = 24


def is_virtualenv(path: Path) -> bool:
    return (path / "pyvenv.cfg").exists() or (path / "bin" / "activate").exists()


def _walk(paths: Iterable[Path]) -> Iterator[Path]:
    for path in paths:
        if path.is_file() or path.is_symlink():
            yield path
            continue
        for dirpath, dirnames, filenames in os.walk(path):  # links to folders: not followed
            here = Path(dirpath)
            dirnames[:] = sorted(
                d
                for d in dirnames
                if not d.startswith(".")
                and d not in SKIP_DIRS
                and not (here / d).is_symlink()
                and not is_virtualenv(here / d)
            )
            yield from (here / f for f in filenames if f.endswith(".py"))


def discover(paths: Iterable[Path]) -> list[Path]:
    """Every ``*.py`` file under ``paths``, skipping hidden and virtualenv folders and symbolic
    links (a link may lead out of the repository: nothing is read or written through one);
    sorted."""
    return sorted({p for p in _walk(paths) if not p.is_symlink()})


def links(paths: Iterable[Path]) -> list[MigrationResult]:
    """The ``*.py`` symbolic links under ``paths``, each as a ``skipped`` result saying where it
    leads."""
    found = sorted({p for p in _walk(paths) if p.is_symlink()})
    return [
        MigrationResult(
            str(p),
            SKIPPED,
            "",
            error=f"a symbolic link to {os.readlink(p)}: not read or written (a file in the "
            "repository is migrated where it lies)",
        )
        for p in found
    ]


@dataclass
class RunSummary:
    results: list[MigrationResult] = field(default_factory=list)

    def with_links(self, paths: Iterable[Path]) -> RunSummary:
        """These results and the symbolic links under ``paths`` (``skipped``), by path."""
        self.results = sorted([*self.results, *links(paths)], key=lambda r: r.path or "")
        return self

    def counts(self) -> dict[str, int]:
        return dict(Counter(r.status for r in self.results))

    def todos_by_rule(self) -> dict[str, int]:
        return dict(sorted(Counter(t.rule for r in self.results for t in r.todos).items()))

    def report(self) -> dict:
        requirements = sorted({q for r in self.results for q in r.requirements})
        blocks = sorted({b for r in self.results for b in r.blocks})
        return {
            "files": [r.report_entry() for r in self.results],
            "summary": {
                "files": len(self.results),
                "by_status": self.counts(),
                "todos": sum(len(r.todos) for r in self.results),
                "root_causes": sum(r.root_causes for r in self.results),
                "todos_by_rule": self.todos_by_rule(),
                "rules_applied": dict(
                    sorted(Counter(c for r in self.results for c in r.rules).items())
                ),
                "requirements": requirements,
                "blocks": blocks,
            },
        }


_WORKER_PROJECT: ProjectIndex | None = None
_WORKER_DISABLED: frozenset[str] = frozenset()


def _init_worker(project: ProjectIndex, disabled: frozenset[str]) -> None:
    global _WORKER_PROJECT, _WORKER_DISABLED
    _WORKER_PROJECT, _WORKER_DISABLED = project, disabled


def _migrate_path(path: Path) -> MigrationResult:
    return migrate_file(path, _WORKER_PROJECT, _WORKER_DISABLED)


def migrate_file(
    path: Path, project: ProjectIndex | None, disabled: frozenset[str] = frozenset()
) -> MigrationResult:
    """Migrate one file on disk (read only; nothing is written)."""
    try:
        raw = path.read_bytes()
    except OSError as exc:
        return MigrationResult(str(path), ERROR, "", error=f"cannot read: {exc.strerror}")
    try:
        source = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        return MigrationResult(
            str(path), ERROR, "", error=f"not UTF-8: byte {exc.start} cannot be decoded"
        )
    try:
        module = module_name_for(path)
    except (OSError, ValueError):
        module = path.stem
    return migrate_source(source, str(path), module_name=module, project=project, disabled=disabled)


def index(
    paths: list[Path],
    declared: WrapperDeclarations | None = None,
    deployments: Mapping[str, str] | None = None,
) -> tuple[list[Path], ProjectIndex]:
    """The files under ``paths`` and the project index read from them (one project: wrappers
    and shared modules are followed across files).

    ``declared``: wrappers of Prefect 1's Flow/Task known without their source (``--flow-class``,
    the registry), merged with those ``[tool.meta-flows]`` declares in the repository's
    ``pyproject.toml`` (a malformed table raises
    :class:`~meta_flows.core.codemod.project.WrapperDeclarationError`).
    ``deployments``: Prefect 1 flow name -> ``"<flow name>/<deployment name>"`` of the flows a
    parent may start by name (``ProjectIndex.deployments``; a wave's, from its translation).
    """
    files = discover(paths)
    roots = [p if p.is_dir() else p.parent for p in paths]
    root = Path(os.path.commonpath([str(r.resolve()) for r in roots])) if roots else Path(".")
    declarations = read_pyproject_declarations(root).merged(declared)
    project = scan_project(root, files, declared=declarations)
    if deployments is not None:
        project.deployments = dict(deployments)
    return files, project


def run(
    paths: list[Path],
    disabled: frozenset[str] = frozenset(),
    jobs: int | None = None,
    on_result: Callable[[MigrationResult], None] | None = None,
    declared: WrapperDeclarations | None = None,
    deployments: Mapping[str, str] | None = None,
) -> RunSummary:
    """Migrate every file under ``paths`` (in memory); results in file order (``declared``,
    ``deployments``: see :func:`index`)."""
    files, project = index(paths, declared, deployments)
    summary = RunSummary()
    for result in _results(files, project, disabled, jobs):
        summary.results.append(result)
        if on_result:
            on_result(result)
    return summary.with_links(paths)


def _results(
    files: list[Path], project: ProjectIndex, disabled: frozenset[str], jobs: int | None
) -> Iterator[MigrationResult]:
    jobs = jobs or os.cpu_count() or 1
    if jobs <= 1 or len(files) < POOL_THRESHOLD:
        for path in files:
            yield migrate_file(path, project, disabled)
        return
    chunk = max(1, min(16, len(files) // (jobs * 4)))
    with ProcessPoolExecutor(
        max_workers=jobs, initializer=_init_worker, initargs=(project, disabled)
    ) as pool:
        yield from pool.map(_migrate_path, files, chunksize=chunk)


def unified_diff(result: MigrationResult, original: str) -> str:
    name = result.path or "<source>"
    return "".join(
        difflib.unified_diff(
            original.splitlines(keepends=True),
            result.code.splitlines(keepends=True),
            fromfile=f"a/{name}",
            tofile=f"b/{name}",
        )
    )


def write_result(result: MigrationResult) -> bool:
    """Write a migrated file in place (only status ``migrated``); True when written. A read-only
    file is not written: its result becomes an ``error`` saying so."""
    if result.status != MIGRATED or not result.path:
        return False
    path = Path(result.path)
    if not path.stat().st_mode & stat.S_IWUSR:  # a read-only file stays as it is, even for root
        result.status, result.error = ERROR, "the file is read-only: not written"
        return False
    tmp = path.with_name(f".{path.name}.meta-flows.tmp")
    tmp.write_bytes(result.code.encode("utf-8"))
    shutil.copymode(path, tmp)
    os.replace(tmp, path)
    return True
