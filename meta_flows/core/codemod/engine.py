"""Run the rule pipeline over one module's source and say what happened.

``migrate_source`` never raises for bad input: a file that does not parse, or a rule that crashes,
comes back as status ``error`` with the reason and the source untouched.
"""

from __future__ import annotations

import ast
import re
import traceback
from dataclasses import asdict, dataclass, field

import libcst as cst
from libcst.codemod import CodemodContext

from meta_flows.core.codemod.base import (
    SCRATCH_APPLIED,
    SCRATCH_BLOCKS,
    SCRATCH_DISABLED,
    SCRATCH_ORIGINAL,
    SCRATCH_PROJECT,
    SCRATCH_REQUIREMENTS,
    TODO_PREFIX,
    apply_pending_removals,
    code_of,
    module_code,
)
from meta_flows.core.codemod.names import canonical
from meta_flows.core.codemod.project import ProjectIndex, scan_sources
from meta_flows.core.codemod.rules import gather_rules
from meta_flows.core.codemod.stubs import resolve_line_marks
from meta_flows.core.codemod.sweep import drop_placeholder_passes

MIGRATED = "migrated"
UNCHANGED = "unchanged"
NOT_PREFECT1 = "not-prefect1"
ERROR = "error"
SKIPPED = "skipped"  # not read: a symbolic link

_TODO_RE = re.compile(r"^\s*" + re.escape(TODO_PREFIX) + r"\s*(PF\d{3})\s*(.*)$")
_CONSTRUCT_RE = re.compile(r"`([^`]+)`")
_NUMBERS_RE = re.compile(r"\d+")
_PREFECT_IMPORT_RE = re.compile(r"^\s*(from\s+prefect[\s.]|import\s+prefect\b)", re.MULTILINE)


@dataclass
class Todo:
    line: int
    rule: str
    message: str


@dataclass
class MigrationResult:
    path: str | None
    status: str
    code: str
    rules: list[str] = field(default_factory=list)
    todos: list[Todo] = field(default_factory=list)
    # distinct root causes among the TODOs (a TODO's rule + the construct it concerns)
    root_causes: int = 0
    requirements: list[str] = field(default_factory=list)
    blocks: list[str] = field(default_factory=list)
    error: str | None = None

    @property
    def changed(self) -> bool:
        return self.status == MIGRATED

    def report_entry(self) -> dict:
        entry = asdict(self)
        entry.pop("code")
        return entry


def find_todos(code: str) -> list[Todo]:
    """Every ``# TODO(prefect2-migration): PFxxx ...`` comment line in ``code``, with its line
    (not one quoted inside commented-out code, ``# # TODO...``)."""
    todos = []
    for number, line in enumerate(code.splitlines(), start=1):
        match = _TODO_RE.match(line)
        if match:
            todos.append(Todo(number, match.group(1), match.group(2).strip()))
    return todos


def root_cause(todo: Todo) -> tuple[str, str]:
    """What a TODO is about: its rule and the construct it concerns -- the first name it quotes
    (`` `case` ``), else its message up to the first colon without numbers. TODOs of one rule
    about one construct share a root cause, wherever and however often they occur."""
    match = _CONSTRUCT_RE.search(todo.message)
    if match:
        return todo.rule, match.group(1)
    return todo.rule, _NUMBERS_RE.sub("#", todo.message.split(":", 1)[0]).strip()


def count_root_causes(todos: list[Todo]) -> int:
    return len({root_cause(t) for t in todos})


def imports_prefect(source: str) -> bool:
    return bool(_PREFECT_IMPORT_RE.search(source.removeprefix("\ufeff")))


BOM = "\ufeff"


def migrate_source(
    source: str,
    path: str | None = None,
    *,
    module_name: str | None = None,
    project: ProjectIndex | None = None,
    disabled: frozenset[str] | set[str] = frozenset(),
) -> MigrationResult:
    """Rewrite one module's Prefect 1 code to Prefect 2.

    A UTF-8 byte-order mark is kept: the rules read the code after it, and the result starts
    with it again.
    """
    if not source.startswith(BOM):
        return _migrate(source, path, module_name, project, disabled)
    result = _migrate(source[len(BOM) :], path, module_name, project, disabled)
    result.code = BOM + result.code
    return result


def _migrate(
    source: str,
    path: str | None,
    module_name: str | None,
    project: ProjectIndex | None,
    disabled: frozenset[str] | set[str],
) -> MigrationResult:
    module_name = module_name or "__main__"
    if "prefect" not in source and (project is None or not _uses_wrappers(source, project)):
        return MigrationResult(path, NOT_PREFECT1, source)
    try:
        tree = cst.parse_module(source)
    except cst.ParserSyntaxError as exc:
        return MigrationResult(path, ERROR, source, error=syntax_error(source, path, exc))
    except Exception as exc:  # LibCST raises a few other errors on exotic input
        return MigrationResult(path, ERROR, source, error=f"cannot parse: {_one_line(exc)}")
    if not imports_prefect(source) and project is None:
        return MigrationResult(path, NOT_PREFECT1, source)
    if project is None:
        project = scan_sources([(module_name, source)])
    if not imports_prefect(source) and not _imports_wrappers(tree, module_name, project):
        return MigrationResult(path, NOT_PREFECT1, source)

    is_package = bool(path) and path.replace("\\", "/").rsplit("/", 1)[-1] == "__init__.py"
    package = module_name if is_package else module_name.rpartition(".")[0]
    # the package resolves relative imports (``from .shared import DAY``) for import removals
    context = CodemodContext(filename=path, full_module_name=module_name, full_package_name=package)
    context.scratch[SCRATCH_PROJECT] = project
    context.scratch[SCRATCH_ORIGINAL] = source
    context.scratch[SCRATCH_DISABLED] = frozenset(disabled)
    triggers = source + _wrapped_words(source, project)
    for rule_cls in gather_rules(disabled):
        if not rule_cls.wants(triggers):
            continue
        try:
            tree = rule_cls(context).transform_module(tree)
        except Exception as exc:
            where = traceback.extract_tb(exc.__traceback__)[-1]
            return MigrationResult(
                path,
                ERROR,
                source,
                error=f"rule {rule_cls.CODE} ({rule_cls.NAME}) failed: {type(exc).__name__}: "
                f"{_one_line(exc)} [{where.filename.rsplit('/', 1)[-1]}:{where.lineno}]",
            )
    tree = apply_pending_removals(context, tree)  # when PF001 is disabled
    tree = drop_placeholder_passes(tree, module_code(context, tree))
    tree = _no_leading_blank_lines(tree, source)
    code = resolve_line_marks(module_code(context, tree))
    status = MIGRATED if code != source else UNCHANGED
    todos = find_todos(code)
    return MigrationResult(
        path,
        status,
        code,
        rules=sorted(context.scratch.get(SCRATCH_APPLIED, set())) if status == MIGRATED else [],
        todos=todos,
        root_causes=count_root_causes(todos),
        requirements=sorted(context.scratch.get(SCRATCH_REQUIREMENTS, set())),
        blocks=sorted(context.scratch.get(SCRATCH_BLOCKS, set())),
    )


def _no_leading_blank_lines(tree: cst.Module, source: str) -> cst.Module:
    """Without the blank lines a removed first statement (an import no longer used) left at the
    top of the module, unless the module started with blank lines."""
    if tree.header or not tree.body or not source.strip() or not source.lstrip(" \t")[:1].strip():
        return tree
    first = tree.body[0]
    lines = list(getattr(first, "leading_lines", ()))
    blank = next((i for i, line in enumerate(lines) if line.comment is not None), len(lines))
    if not blank:
        return tree
    body = [first.with_changes(leading_lines=lines[blank:]), *tree.body[1:]]
    return tree.with_changes(body=body)


def _uses_wrappers(source: str, project: ProjectIndex) -> bool:
    names = {q.rsplit(".", 1)[-1] for q in project.wrappers} | {
        q.rsplit(".", 1)[-1] for q in project.task_classes
    }
    return any(name in source for name in names)


def _imports_wrappers(tree: cst.Module, module_name: str, project: ProjectIndex) -> bool:
    """The module imports a wrapper of a Prefect 1 object (or a module holding one)."""
    known = project.wrappers.keys() | project.task_classes
    owners = {q.rpartition(".")[0] for q in known}
    for stmt in tree.body:
        if not isinstance(stmt, cst.SimpleStatementLine):
            continue
        for small in stmt.body:
            if isinstance(small, cst.Import):
                for alias in small.names:
                    name = code_of(alias.name)
                    if any(o == name or o.startswith(name + ".") for o in owners):
                        return True
            elif isinstance(small, cst.ImportFrom):
                module = code_of(small.module) if small.module is not None else ""
                if small.relative:
                    dots = "".join(d.value for d in small.relative)
                    module = project.absolute(module_name, dots + module)
                if isinstance(small.names, cst.ImportStar):
                    if module in owners:
                        return True
                    continue
                for alias in small.names:
                    if f"{module}.{code_of(alias.name)}" in known:
                        return True
    return False


def _wrapped_words(source: str, project: ProjectIndex) -> str:
    """The names of the Prefect objects that wrappers named in ``source`` stand for (``Flow`` for
    ``Pipeline``, a Flow subclass; ``Parameter`` for another module's Parameter), for the rules'
    cheap source pre-filter (``Rule.TRIGGERS``)."""
    words = set()
    for name, target in project.wrappers.items():
        if name.rsplit(".", 1)[-1] in source:
            words.add(canonical(project.follow(target)).rsplit(".", 1)[-1])
    if any(name.rsplit(".", 1)[-1] in source for name in project.task_classes):
        words.add("Task")
    if any(name.rsplit(".", 1)[-1] in source for name in project.parameters):
        words.add("Parameter")  # a module-level Parameter of another module, maybe imported
    return "\n" + " ".join(sorted(words)) if words else ""


# names ``from prefect import ...`` has in Prefect 2 only: a module importing one is Prefect 2 code
_PREFECT2_ONLY_NAMES = frozenset({"flow", "get_run_logger"})


def out_of_scope(source: str, path: str | None = None) -> str | None:
    """Why an original (Prefect 1 side) module is not for the codemod, or None: it does not
    parse (broken upstream), or it is Prefect 2 code already (``prefect.orion``, early Prefect 2;
    ``from prefect import flow``)."""
    source = source.removeprefix(BOM)
    if "prefect" not in source:
        return None
    try:
        tree = compile(source, path or "<source>", "exec", ast.PyCF_ONLY_AST, dont_inherit=True)
    except SyntaxError as exc:
        where = f"line {exc.lineno}, column {exc.offset}: " if exc.lineno else ""
        return f"does not parse in the original: {where}{exc.msg}"
    except (ValueError, RecursionError, MemoryError):
        return None  # the codemod reports these itself
    modules: set[str] = set()
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            modules.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and not node.level and node.module:
            modules.add(node.module)
            if node.module == "prefect":
                names.update(a.name for a in node.names if a.name in _PREFECT2_ONLY_NAMES)
    if any(m == "prefect.orion" or m.startswith("prefect.orion.") for m in modules):
        return "Prefect 2 code already: imports prefect.orion"
    if names:
        return f"Prefect 2 code already: imports {', '.join(sorted(names))} from prefect"
    return None


def syntax_error(source: str, path: str | None, exc: cst.ParserSyntaxError) -> str:
    """Why ``source`` does not parse, at Python's own line and column (LibCST's position is
    often a line late: where it gave up, not where the error is)."""
    try:
        compile(source, path or "<source>", "exec", ast.PyCF_ONLY_AST, dont_inherit=True)
    except SyntaxError as python:
        if python.lineno:
            where = f" at line {python.lineno}" + (
                f", column {python.offset}" if python.offset else ""
            )
            return f"syntax error{where}: {python.msg}"
    except (ValueError, RecursionError, MemoryError):
        pass
    # Python parses it (syntax LibCST does not know yet): LibCST's own words
    return f"syntax error (LibCST) at line {exc.raw_line}, column {exc.raw_column + 1}: " + (
        _one_line(exc)
    )


def _one_line(exc: BaseException) -> str:
    return " ".join(str(exc).split())[:500]
