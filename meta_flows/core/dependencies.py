"""Migrate a Prefect 1 project's dependency files to Prefect 2.

When meta-flows rewrites a repository's flows, the files that install them must follow:

- the Prefect 1 requirement (``prefect==1.4.1``, ``prefect>=1.0,<2``, ``prefect~=1.2``, an
  unpinned ``prefect``, ``prefect[aws]==1.4.1`` ...) becomes :data:`PREFECT2_REQUIREMENT`, keeping
  the line's environment marker and trailing comment; a requirement that already allows only
  Prefect 2 is left as it is;
- Prefect 1 extras become the Prefect 2 integration packages, each a requirement of its own
  (:data:`PREFECT1_EXTRAS`, bounded by :data:`INTEGRATION_BOUNDS`); an extra with no integration
  leaves a TODO;
- the packages the rewritten code needs (the codemod report's ``requirements``) are added where
  they are not required yet.

Files are edited as text, never re-serialised: every byte the migration has no reason to touch
(comments, order, blank lines, line endings, the final newline or its absence) stays as it was.
The edited TOML, YAML, ``setup.cfg`` and ``setup.py`` are parsed again before they are returned.
What cannot be parsed or safely edited gets a ``# TODO(prefect2-migration): PF100 ...`` comment
(the codemod's TODO format, code :data:`TODO_CODE`) and a ``file:line: message`` problem; nothing
here raises for bad input. Migrating a migrated file again changes nothing.

The kinds (:data:`DEPENDENCY_FILES`): ``requirements*.txt``/``*.in`` (pip), ``pyproject.toml``
(PEP 621 ``[project]`` and Poetry), ``setup.py`` (``install_requires``/``extras_require`` list
literals), ``setup.cfg`` (``[options] install_requires``), ``Pipfile``, and conda's
``environment.yml``.
"""

from __future__ import annotations

import ast
import bisect
import configparser
import os
import re
import stat
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from fnmatch import fnmatch
from pathlib import Path, PurePosixPath

import yaml
from packaging.requirements import InvalidRequirement, Requirement
from packaging.specifiers import InvalidSpecifier, SpecifierSet
from packaging.utils import canonicalize_name
from packaging.version import InvalidVersion, Version

from meta_flows.core.codemod.base import todo_text
from meta_flows.core.codemod.runner import SKIP_DIRS, is_virtualenv
from meta_flows.core.errors import MetaFlowsError
from meta_flows.patches import pyast

try:
    import tomllib
except ModuleNotFoundError:  # Python 3.10
    import tomli as tomllib

PREFECT2_SPECIFIER = ">=2.20,<3"
PREFECT2_REQUIREMENT = f"prefect{PREFECT2_SPECIFIER}"
# The code of the TODOs this module writes. Not a codemod rule (those are PF001-PF016): the
# dependency files' own number, so `find_todos` and the report tell them apart.
TODO_CODE = "PF100"

# The last release series of each integration that supports Prefect 2 (the next series requires
# prefect>=3). Chosen from PyPI's metadata (each release's Requires-Dist, read with
# `pip install --dry-run --no-deps --report`): the first and the last release of the series below
# allow prefect 2.20 (most last releases say `prefect<3.0.0,>=2.20.0`), and the first release of
# the next series requires `prefect>=3.0.0rc1` or later. The series without a Prefect 3 successor
# (great-expectations, jupyter, airbyte) are the latest ones, whose `prefect>=2.13.5` allows 2.20.
INTEGRATION_BOUNDS: dict[str, str] = {
    "prefect-airbyte": ">=0.3,<0.4",
    "prefect-aws": ">=0.4,<0.5",
    "prefect-azure": ">=0.3,<0.4",
    "prefect-bitbucket": ">=0.2,<0.3",
    "prefect-dask": ">=0.2,<0.3",
    "prefect-databricks": ">=0.2,<0.3",
    "prefect-dbt": ">=0.5,<0.6",
    "prefect-docker": ">=0.5,<0.6",
    "prefect-email": ">=0.3,<0.4",
    "prefect-gcp": ">=0.5,<0.6",
    "prefect-github": ">=0.2,<0.3",
    "prefect-gitlab": ">=0.2,<0.3",
    "prefect-great-expectations": ">=0.2,<0.3",
    "prefect-jupyter": ">=0.3,<0.4",
    "prefect-kubernetes": ">=0.4,<0.5",
    "prefect-redis": ">=0.1,<0.2",
    "prefect-shell": ">=0.2,<0.3",
    "prefect-slack": ">=0.2,<0.3",
    "prefect-snowflake": ">=0.27,<0.28",
    "prefect-sqlalchemy": ">=0.4,<0.5",
}
# The database drivers of Prefect 1's postgres and mysql tasks, which PF013's rewrite keeps using:
# the lower bound Prefect 1.4.1's extras gave, below the next major version.
DRIVER_BOUNDS: dict[str, str] = {
    "psycopg2-binary": ">=2.8.2,<3",
    "pymysql": ">=0.9.3,<2",
}
# Distributions that install the same module as a needed one: a file requiring one of them
# already has it (psycopg2 built from source instead of the binary wheel).
SAME_MODULE: dict[str, frozenset[str]] = {"psycopg2-binary": frozenset({"psycopg2"})}

_ORCHESTRATION = (
    "prefect-aws",
    "prefect-azure",
    "prefect-bitbucket",
    "prefect-gcp",
    "prefect-github",
    "prefect-gitlab",
    "prefect-kubernetes",
)
# Prefect 1 extra -> the Prefect 2 integration packages that replace it. The names are those of
# Prefect 1.4.1's setup.py `extras`; dask, dbt, docker, email, shell, slack and sql were no extras
# there (pip ignored them with a warning) but name Prefect 1 task-library modules and are written
# in the wild.
PREFECT1_EXTRAS: dict[str, tuple[str, ...]] = {
    "all_orchestration_extras": _ORCHESTRATION,
    "aws": ("prefect-aws",),
    "azure": ("prefect-azure",),
    "azureml": ("prefect-azure",),
    "bitbucket": ("prefect-bitbucket",),
    "dask": ("prefect-dask",),
    "dask_cloudprovider": ("prefect-dask",),
    "databricks": ("prefect-databricks",),
    "dbt": ("prefect-dbt",),
    "docker": ("prefect-docker",),
    "email": ("prefect-email",),
    "gcp": ("prefect-gcp",),
    "ge": ("prefect-great-expectations",),
    "github": ("prefect-github",),
    "gitlab": ("prefect-gitlab",),
    "google": ("prefect-gcp",),
    "jupyter": ("prefect-jupyter",),
    "kubernetes": ("prefect-kubernetes",),
    "mysql": ("pymysql",),  # PF013 rewrites the mysql tasks onto the driver the extra installed
    "postgres": ("psycopg2-binary",),  # and the postgres tasks (docs/spec.md §12)
    "redis": ("prefect-redis",),
    "shell": ("prefect-shell",),
    "slack": ("prefect-slack",),
    "snowflake": ("prefect-snowflake",),
    "sql": ("prefect-sqlalchemy",),
    "sql_server": ("prefect-sqlalchemy",),
}
# Prefect 1.4.1 extras with no Prefect 2 integration -> what they installed (for the TODO).
PREFECT1_EXTRAS_WITHOUT_INTEGRATION: dict[str, str] = {
    "airtable": "airtable-python-wrapper",
    "all_extras": "every extra's packages",
    "base_library_ci": "Prefect's own CI tools",
    "cubejs": "PyJWT",
    "dev": "Prefect's own development tools",
    "dremio": "pyarrow",
    "dropbox": "dropbox",
    "exasol": "pyexasol",
    "firebolt": "firebolt-sdk",
    "git": "dulwich; Prefect 2 clones repositories with git itself",
    "gsheets": "gspread",
    "jira": "jira",
    "kafka": "confluent-kafka",
    "neo4j": "py2neo",
    "pandas": "pandas",
    "prometheus": "prometheus-client",
    "pushbullet": "pushbullet.py",
    "rss": "feedparser",
    "sendgrid": "sendgrid",
    "sftp": "paramiko",
    "sodasql": "soda-sql",
    "sodaspark": "soda-spark",
    "spacy": "spacy",
    "task_library_ci": "Prefect's own CI tools",
    "templates": "jinja2",
    "test": "Prefect's own test tools",
    "toloka": "toloka-kit",
    "transform": "transform",
    "twitter": "tweepy",
    "vault": "hvac",
    "viz": "graphviz",
}

REQUIREMENTS = "requirements"
PYPROJECT = "pyproject.toml"
SETUP_PY = "setup.py"
SETUP_CFG = "setup.cfg"
PIPFILE = "Pipfile"
CONDA = "environment.yml"

# How discovery matches: a pattern without "**/" names a file at the repository root; "**/" ones
# match at any depth (hidden folders, virtualenvs, node_modules and the codemod's SKIP_DIRS
# excepted). Matching is on the lower-cased path.
DEPENDENCY_FILES: dict[str, str] = {
    "pyproject.toml": PYPROJECT,
    "setup.py": SETUP_PY,
    "setup.cfg": SETUP_CFG,
    "pipfile": PIPFILE,
    "environment.yml": CONDA,
    "environment.yaml": CONDA,
    "**/requirements*.txt": REQUIREMENTS,
    "**/requirements*.in": REQUIREMENTS,
    "**/requirements/*.txt": REQUIREMENTS,
    "**/requirements/*.in": REQUIREMENTS,
}
# When no file declares prefect, the needed packages go into the first of these that can take
# them (then into the other discovered requirements files, shallowest first).
_FALLBACK_ORDER = (
    "requirements.txt",
    "pyproject.toml",
    "setup.py",
    "setup.cfg",
    "Pipfile",
    "environment.yml",
    "environment.yaml",
)


class DependencyFileError(MetaFlowsError, ValueError):
    """A file name that is no dependency file this module knows (the message names it)."""


@dataclass
class DependencyEdit:
    """One dependency file's migration. ``text == original`` when nothing changed."""

    path: str  # relative to the root, POSIX
    original: str
    text: str
    todos: list[str] = field(default_factory=list)  # the TODO messages the file carries for us
    problems: list[str] = field(default_factory=list)  # "file:line: message"
    added: list[str] = field(
        default_factory=list
    )  # requirements added, e.g. "prefect-aws>=0.4,<0.5"

    @property
    def changed(self) -> bool:
        return self.text != self.original


def compatible_requirement(package: str) -> str:
    """``"prefect-aws"`` -> ``"prefect-aws>=0.4,<0.5"``: the Prefect 2 series of an integration
    (``prefect`` itself -> :data:`PREFECT2_REQUIREMENT`). A requirement that already has a
    version, or a package outside :data:`INTEGRATION_BOUNDS`, comes back as it was given."""
    package = package.strip()
    try:
        req = Requirement(package)
    except InvalidRequirement:
        return package
    if req.specifier or req.url or req.extras or req.marker:
        return package
    need = _need(req.name)
    return need.requirement


# -- what a requirement allows -------------------------------------------------------------------

_PROBES = tuple(
    Version(v) for v in ("0.1", "0.15.13", "1.0", "1.2", "1.4.1", "1.99", "2.0", "2.20.0", "2.99")
) + tuple(Version(v) for v in ("3.0", "3.99", "4.0"))


def _majors(spec: SpecifierSet) -> set[int]:
    """The major versions (0-4) of which ``spec`` allows at least one probed release."""
    probes = set(_PROBES)
    for clause in spec:
        try:
            probes.add(Version(clause.version.removesuffix(".*")))
        except InvalidVersion:
            pass
    return {v.major for v in probes if spec.contains(v, prereleases=True)}


def _majors_any(alternatives: Iterable[SpecifierSet]) -> set[int]:
    out: set[int] = set()
    for spec in alternatives:
        out |= _majors(spec)
    return out


def _caret(version: str) -> str:
    parts = [int(p) for p in version.split(".")]
    for i, part in enumerate(parts):
        if part or i == len(parts) - 1:
            upper = parts[:i] + [part + 1]
            break
    return f">={version},<{'.'.join(map(str, upper))}"


def _tilde(version: str) -> str:
    parts = version.split(".")
    keep = parts[:2] if len(parts) >= 2 else parts[:1]
    upper = keep[:-1] + [str(int(keep[-1]) + 1)]
    return f">={version},<{'.'.join(upper)}"


_POETRY_CLAUSE = re.compile(r"(\^|~=|~|==|!=|>=|<=|>|<|=)?\s*(\*|[0-9][0-9A-Za-z.*+!-]*)")


def _poetry_majors(constraint: str) -> set[int] | None:
    """Poetry's constraint syntax (``^1.4``, ``~1.2``, ``1.4.1``, ``>=1,<2``, ``* || 2.*``)."""
    alternatives = []
    try:
        for alternative in constraint.split("||"):
            clauses = []
            rest = alternative.strip()
            while rest:
                match = _POETRY_CLAUSE.match(rest)
                if not match:
                    return None
                op, version = match.group(1) or "", match.group(2)
                rest = rest[match.end() :].lstrip(" ,")
                if version == "*":
                    continue
                if op == "^":
                    clauses.append(_caret(version))
                elif op == "~":
                    clauses.append(_tilde(version))
                elif op in ("", "="):
                    clauses.append(f"=={version}")
                else:
                    clauses.append(f"{op}{version}")
            alternatives.append(SpecifierSet(",".join(clauses)))
    except (ValueError, InvalidSpecifier):
        return None
    return _majors_any(alternatives)


def _pipfile_majors(spec: str) -> set[int] | None:
    spec = spec.strip()
    if spec in ("", "*"):
        return _majors(SpecifierSet())
    try:
        return _majors(SpecifierSet(spec))
    except InvalidSpecifier:
        try:
            return _majors(SpecifierSet(f"=={Version(spec)}"))
        except InvalidVersion:
            return None


def _conda_majors(spec: str) -> set[int] | None:
    """A conda match spec's version part: ``=1.4.1`` (1.4.1.*), ``1.4.1`` (exact), ``1.4.*``,
    ``>=1,<2``, ``=1.4.1=py_0`` (a build), ``1.4.1 py_0``, ``1.*|2.*``."""
    spec = spec.strip()
    if not spec:
        return _majors(SpecifierSet())
    spec = spec.split()[0] if not re.match(r"[<>=!~]", spec) else spec.replace(" ", "")
    alternatives = []
    try:
        for alternative in spec.split("|"):
            clauses = []
            for clause in alternative.split(","):
                match = re.fullmatch(r"(==|!=|>=|<=|>|<|~=|=)?([^=<>!~]+)(=.*)?", clause)
                if not match:
                    return None
                op, version = match.group(1) or "", match.group(2)
                if op == "=":
                    clauses.append(f"=={version.removesuffix('*').rstrip('.')}.*")
                elif op == "":
                    clauses.append(f"=={version}")
                else:
                    clauses.append(f"{op}{version}")
            alternatives.append(SpecifierSet(",".join(clauses)))
    except InvalidSpecifier:
        return None
    return _majors_any(alternatives)


# -- what to do with one prefect requirement ----------------------------------------------------

_MSG_URL = (
    "prefect is installed from a URL, a path or a VCS here: point it at Prefect 2 by hand "
    f"({PREFECT2_REQUIREMENT})"
)
_MSG_UNREADABLE = f"cannot read this prefect requirement: replace it with {PREFECT2_REQUIREMENT}"
_MSG_NO_PREFECT2 = (
    f"this prefect requirement allows no Prefect 2 release: the migrated flows need "
    f"{PREFECT2_REQUIREMENT}"
)


def _unmapped_message(extras: Sequence[str]) -> str:
    names = ", ".join(extras)
    installed = [
        PREFECT1_EXTRAS_WITHOUT_INTEGRATION[e]
        for e in extras
        if e in PREFECT1_EXTRAS_WITHOUT_INTEGRATION
    ]
    hint = f" ({'; '.join(installed)})" if installed else ""
    return (
        f"the Prefect 1 extras [{names}] have no Prefect 2 integration: require what the flows "
        f"use from them directly{hint}"
    )


@dataclass
class _Verdict:
    action: str  # "rewrite" | "keep" | "todo"
    message: str = ""
    packages: list[str] = field(default_factory=list)  # integrations replacing the extras
    unmapped: list[str] = field(default_factory=list)  # extras with no integration


def _verdict(majors: set[int] | None, extras: Iterable[str] = ()) -> _Verdict:
    if majors is None:
        return _Verdict("todo", _MSG_UNREADABLE)
    if majors & {0, 1} or (2 in majors and majors - {2}):
        packages: list[str] = []
        unmapped: list[str] = []
        for extra in sorted(extras, key=str.lower):
            key = extra.lower().replace("-", "_").strip()
            if key in PREFECT1_EXTRAS:
                packages.extend(p for p in PREFECT1_EXTRAS[key] if p not in packages)
            elif extra not in unmapped:
                unmapped.append(extra)
        return _Verdict("rewrite", packages=packages, unmapped=unmapped)
    if majors == {2}:
        return _Verdict("keep")
    return _Verdict("todo", _MSG_NO_PREFECT2)


_URL_PREFECT = re.compile(
    r"#egg=prefect(?![\w.-])|/prefect-[0-9][^/\s]*\.(?:whl|tar\.gz|zip)\b"
    r"|prefecthq/prefect(?:\.git)?(?:[@#\s]|$)",
    re.IGNORECASE,
)
_LOOKS_PREFECT = re.compile(r"\s*prefect(?![\w.-])", re.IGNORECASE)
_NAME = re.compile(r"\s*([A-Za-z0-9](?:[A-Za-z0-9._-]*[A-Za-z0-9])?)")


@dataclass
class _Found:
    verdict: _Verdict
    new: str | None = None  # the rewritten requirement text
    marker: str = ""


def _pep508_prefect(text: str) -> _Found | None:
    """What to do with a PEP 508 requirement string, or None when it is not prefect."""
    try:
        req = Requirement(text)
    except InvalidRequirement:
        if _URL_PREFECT.search(text):
            return _Found(_Verdict("todo", _MSG_URL))
        if _LOOKS_PREFECT.match(text):
            return _Found(_Verdict("todo", _MSG_UNREADABLE))
        return None
    if canonicalize_name(req.name) != "prefect":
        return None
    if req.url:
        return _Found(_Verdict("todo", _MSG_URL))
    verdict = _verdict(_majors(req.specifier), req.extras)
    found = _Found(verdict, marker=str(req.marker) if req.marker else "")
    if verdict.action == "rewrite":
        name = _NAME.match(text)
        marker = re.search(r"\s*;.*$", text, re.DOTALL)
        found.new = (name.group(1) if name else "prefect") + PREFECT2_SPECIFIER
        found.new += marker.group() if marker else ""
    return found


def _requirement_name(text: str) -> str | None:
    try:
        return canonicalize_name(Requirement(text).name)
    except InvalidRequirement:
        match = _NAME.match(text)
        return canonicalize_name(match.group(1)) if match else None


@dataclass(frozen=True)
class _Need:
    name: str
    spec: str = ""
    marker: str = ""

    @property
    def requirement(self) -> str:
        return f"{self.name}{self.spec}" + (f"; {self.marker}" if self.marker else "")


def _need(name: str, marker: str = "") -> _Need:
    key = canonicalize_name(name)
    if key == "prefect":
        return _Need("prefect", PREFECT2_SPECIFIER, marker)
    if key in INTEGRATION_BOUNDS:
        return _Need(key, INTEGRATION_BOUNDS[key], marker)
    if key in DRIVER_BOUNDS:
        return _Need(key, DRIVER_BOUNDS[key], marker)
    return _Need(name, "", marker)


def _needs(needs: Iterable[str]) -> list[_Need]:
    """The needed packages, bounded by the table, without duplicates or prefect itself."""
    out: dict[str, _Need] = {}
    for raw in needs:
        raw = raw.strip()
        if not raw:
            continue
        try:
            req = Requirement(raw)
        except InvalidRequirement:
            continue
        key = canonicalize_name(req.name)
        if key == "prefect" or key in out:
            continue
        if req.specifier or req.marker:
            out[key] = _Need(req.name, str(req.specifier), str(req.marker or ""))
        else:
            out[key] = _need(req.name)
    return list(out.values())


# -- text editing --------------------------------------------------------------------------------


class _ScanError(MetaFlowsError):
    pass


@dataclass(order=True)
class _Edit:
    start: int
    priority: int  # at one offset: lines inserted after a line, then TODOs, then replacements
    seq: int
    end: int = field(compare=False)
    new: str = field(compare=False)


class _Editor:
    """A file's text, the edits planned on it (offsets into the original) and what they say."""

    def __init__(self, name: str, text: str) -> None:
        self.name = name
        self.text = text
        self.bom = 1 if text.startswith("\ufeff") else 0
        newline = re.search(r"\r\n|\n|\r", text)
        self.nl = newline.group() if newline else "\n"
        self.lines: list[tuple[int, int, int]] = []  # (start, end of content, start of next)
        pos = 0
        for match in re.finditer(r"\r\n|\n|\r", text):
            self.lines.append((pos, match.start(), match.end()))
            pos = match.end()
        if pos < len(text):
            self.lines.append((pos, len(text), len(text)))
        self._starts = [line[0] for line in self.lines]
        self.edits: list[_Edit] = []
        self.todos: list[str] = []
        self.problems: list[str] = []
        self.added: list[str] = []
        self.present: set[str] = set()  # canonical names the file requires
        self.declares_prefect = False
        self.unparseable = False
        self.unplaced: list[_Need] = []  # needs that found no place
        self._todo_keys: set[tuple[int, str]] = set()

    # lines
    def line_of(self, offset: int) -> int:
        return max(bisect.bisect_right(self._starts, offset) - 1, 0)

    def content(self, line: int) -> str:
        start, end, _ = self.lines[line]
        return self.text[start:end]

    def indent(self, line: int) -> str:
        if not self.lines:
            return ""
        text = self.content(line).lstrip("\ufeff")
        return text[: len(text) - len(text.lstrip(" \t"))]

    # edits
    def _add(self, start: int, end: int, new: str, priority: int) -> None:
        self.edits.append(_Edit(start, priority, len(self.edits), end, new))

    def replace(self, start: int, end: int, new: str) -> None:
        if self.text[start:end] != new:
            self._add(start, end, new, 2)

    def insert(self, offset: int, new: str) -> None:
        self._add(offset, offset, new, 0)

    def insert_after_line(self, line: int, contents: Sequence[str]) -> None:
        if not contents:
            return
        _, end, following = self.lines[line]
        if following > end:
            self.insert(following, "".join(c + self.nl for c in contents))
        else:  # the last line, without a newline: the file keeps ending without one
            self.insert(end, "".join(self.nl + c for c in contents))

    def append_lines(self, contents: Sequence[str]) -> None:
        if self.lines:
            self.insert_after_line(len(self.lines) - 1, contents)
        elif contents:
            self.insert(self.bom, "".join(c + self.nl for c in contents))

    def _comment_block_above(self, line: int) -> set[str]:
        found = set()
        while line > 0:
            line -= 1
            text = self.content(line).strip().lstrip("\ufeff")
            if not text.startswith("#"):
                break
            found.add(text)
        return found

    def todo(self, line: int, message: str, *, problem: bool = True) -> None:
        """A TODO comment above ``line`` (0-based), indented like it; a problem entry too."""
        comment = todo_text(TODO_CODE, message)
        if (line, comment) in self._todo_keys:
            return
        self._todo_keys.add((line, comment))
        self.todos.append(message)
        if problem:
            self.problems.append(f"{self.name}:{line + 1}: {message}")
        if not self.lines:
            self.insert(0, comment + self.nl)
        elif comment not in self._comment_block_above(line):
            start = self.lines[line][0] + (self.bom if line == 0 else 0)
            self._add(start, start, self.indent(line) + comment + self.nl, 1)

    def file_todo(self, message: str, line: int = 1, *, after: int = 0, detail: str = "") -> None:
        """A TODO at the top of the file (below its first ``after`` lines); the problem names
        ``line`` (1-based) and adds ``detail`` (kept out of the comment, which must not change
        when the file is migrated again)."""
        comment = todo_text(TODO_CODE, message)
        self.todos.append(message)
        self.problems.append(f"{self.name}:{line}: {message}" + (f" ({detail})" if detail else ""))
        top = [self.content(i).strip().lstrip("\ufeff") for i in range(after, len(self.lines))]
        block = set()
        for text in top:
            if not text.startswith("#"):
                break
            block.add(text)
        if comment in block:
            return
        if after and after <= len(self.lines):
            self.insert_after_line(after - 1, [comment])
        else:
            self._add(self.bom, self.bom, comment + self.nl, 1)

    def render(self) -> str:
        out, pos = [], 0
        for edit in sorted(self.edits):
            if edit.start < pos:
                raise _ScanError("overlapping edits")
            out.append(self.text[pos : edit.start])
            out.append(edit.new)
            pos = edit.end
        out.append(self.text[pos:])
        return "".join(out)

    # requirements
    def additions(
        self, packages: Iterable[str], marker: str = "", needs: Sequence[_Need] = ()
    ) -> list[_Need]:
        """The integrations (with ``marker``) and needs the file does not require yet; from now
        on they count as required."""
        out = []
        for need in [_need(p, marker) for p in packages] + list(needs):
            key = canonicalize_name(need.name)
            if key not in self.present and not SAME_MODULE.get(key, frozenset()) & self.present:
                self.present.add(key)
                out.append(need)
        return out

    def unreadable(self, what: str, error: BaseException, line: int | None = None) -> None:
        """The file does not parse: a TODO at its top, the error in the problem."""
        self.unparseable = True
        self.file_todo(
            f"{what}: its prefect requirement (if any) was not migrated; make it "
            f"{PREFECT2_REQUIREMENT} and check its integrations by hand",
            line or 1,
            after=_py_header_lines(self) if self.name.endswith(".py") else 0,
            detail=f"{type(error).__name__}: {' '.join(str(error).split())}",
        )

    def placed(self, needs: Sequence[_Need]) -> None:
        self.added.extend(n.requirement for n in needs)

    def cannot_place(self, line: int | None, needs: Sequence[_Need], why: str) -> None:
        if not needs:
            return
        self.unplaced.extend(needs)
        message = f"{why}: add {', '.join(n.requirement for n in needs)} by hand"
        if line is None:
            self.file_todo(message)
        else:
            self.todo(line, message)


def _split_comment(content: str) -> tuple[str, str]:
    """A pip-style line -> (body, comment): a comment starts at a ``#`` at the line's start or
    after whitespace."""
    match = re.search(r"(?:^|\s)#", content)
    if not match:
        return content, ""
    return content[: match.start()], content[match.start() :]


def _pip_parts(content: str) -> tuple[int, int, str, str]:
    """(start, end, requirement, options) of a requirements line's requirement."""
    body, _ = _split_comment(content)
    start = len(body) - len(body.lstrip())
    option = re.search(r"\s+--?[A-Za-z]", body[start:])
    end = start + option.start() if option else len(body.rstrip())
    requirement = body[start:end].rstrip()
    return start, start + len(requirement), requirement, body[end:].strip()


def _toml_literal(value: str, quote: str = '"') -> str:
    if quote == "'" and "'" not in value and not re.search(r"[\x00-\x1f\x7f]", value):
        return f"'{value}'"
    escaped = value.replace("\\", "\\\\").replace('"', '\\"')
    return f'"{escaped}"'


def _py_literal(value: str, quote: str = '"') -> str:
    if quote not in value and "\\" not in value and "\n" not in value:
        return f"{quote}{value}{quote}"
    return repr(value)


def _array_insert(
    ed: _Editor,
    items: Sequence[tuple[int, int]],
    index: int | None,
    open_at: int,
    close_at: int,
    literals: Sequence[str],
) -> None:
    """Insert ``literals`` into a ``[...]`` array (TOML or Python) after item ``index`` (None:
    after the last): one per line, indented like the item, where the array has an item per line;
    else inline after the item."""
    if not literals:
        return
    text = ed.text
    if not items:
        ed.insert(open_at + 1, ", ".join(literals))
        return
    start, end = items[len(items) - 1 if index is None else index]
    line = ed.line_of(start)
    line_start, line_end, _ = ed.lines[line]
    pos = end
    while pos < len(text) and text[pos] in " \t":
        pos += 1
    comma = pos < len(text) and text[pos] == ","
    rest = text[(pos + 1 if comma else end) : line_end].strip()
    own_line = not text[line_start:start].strip(" \t\ufeff")
    if own_line and (not rest or rest.startswith("#")) and ed.line_of(close_at) != line:
        indent = text[line_start:start].lstrip("\ufeff")
        if comma:
            new = [f"{indent}{lit}," for lit in literals]
        else:
            ed.insert(end, ",")
            new = [f"{indent}{lit}," for lit in literals[:-1]] + [f"{indent}{literals[-1]}"]
        ed.insert_after_line(line, new)
    else:
        ed.insert(end, "".join(", " + lit for lit in literals))


# -- requirements*.txt ---------------------------------------------------------------------------

IncludeCheck = Callable[[str], "str | None"]
_INCLUDE = re.compile(r"\s*(-r|--requirement|-c|--constraint)(?:\s*=\s*|\s+|(?=[^\s=-]))(\S+)")
_EDITABLE = re.compile(r"\s*(-e|--editable)(?:\s*=\s*|\s+)(\S+)")


def _migrate_requirements(
    ed: _Editor, needs: Sequence[_Need], include: IncludeCheck | None
) -> None:
    logical: list[tuple[int, int]] = []
    i = 0
    while i < len(ed.lines):
        j = i
        while (
            j + 1 < len(ed.lines)
            and ed.content(j).rstrip().endswith("\\")
            and not ed.content(j).lstrip().startswith("#")
        ):
            j += 1
        logical.append((i, j))
        i = j + 1
    hashed = any("--hash" in _split_comment(ed.content(k))[0] for k in range(len(ed.lines)))
    found: list[tuple[int, int, int, str, _Found]] = []
    for first, last in logical:
        if first != last:
            joined = " ".join(
                ed.content(k).rstrip().removesuffix("\\") for k in range(first, last + 1)
            )
            _, _, requirement, _ = _pip_parts(joined)
            if requirement and not requirement.startswith("-"):
                if name := _requirement_name(requirement):
                    ed.present.add(name)
                if _pep508_prefect(requirement):
                    ed.declares_prefect = True
                    ed.todo(
                        first,
                        "this prefect requirement spans several lines: replace it with "
                        f"{PREFECT2_REQUIREMENT} by hand",
                    )
            continue
        content = ed.content(first).lstrip("\ufeff") if first == 0 else ed.content(first)
        offset = ed.lines[first][0] + (len(ed.content(first)) - len(content))
        start, end, requirement, options = _pip_parts(content)
        if not requirement:
            continue
        if requirement.startswith("-"):
            body = _split_comment(content)[0]
            if (match := _INCLUDE.match(body)) and include is not None:
                if message := include(match.group(2)):
                    ed.todo(first, message)
            elif (match := _EDITABLE.match(body)) and _URL_PREFECT.search(match.group(2)):
                ed.declares_prefect = True
                ed.todo(first, _MSG_URL)
            continue
        if name := _requirement_name(requirement):
            ed.present.add(name)
        if prefect := _pep508_prefect(requirement):
            found.append((first, offset + start, offset + end, options, prefect))
    pending = list(needs)
    for line, start, end, options, prefect in found:
        ed.declares_prefect = True
        verdict = prefect.verdict
        if verdict.action == "todo":
            ed.todo(line, verdict.message)
        elif verdict.action == "rewrite":
            if "--hash" in options:
                ed.todo(
                    line,
                    f"this prefect requirement is hash-pinned: re-lock it as {PREFECT2_REQUIREMENT} "
                    "(e.g. pip-compile --generate-hashes)",
                )
            else:
                ed.replace(start, end, prefect.new or PREFECT2_REQUIREMENT)
            if verdict.unmapped:
                ed.todo(line, _unmapped_message(verdict.unmapped), problem=False)
        packages = verdict.packages if verdict.action == "rewrite" else []
        adds = ed.additions(packages, prefect.marker, pending)
        pending = []
        if hashed:
            ed.cannot_place(line, adds, "the file pins hashes")
        else:
            ed.insert_after_line(line, [n.requirement for n in adds])
            ed.placed(adds)
    if not found and pending:
        adds = ed.additions((), "", pending)
        if hashed:
            ed.cannot_place(None, adds, "the file pins hashes")
        else:
            ed.append_lines([n.requirement for n in adds])
            ed.placed(adds)


# -- TOML: pyproject.toml, Pipfile ---------------------------------------------------------------


@dataclass
class _TomlEntry:
    path: tuple[str, ...]  # table + key
    key_start: int
    last_key_start: int  # where the key's last dotted part starts
    value_start: int
    value_end: int


_BARE_KEY = re.compile(r"[A-Za-z0-9_-]+")


def _skip_blank(text: str, pos: int, *, newlines: bool = True) -> int:
    while pos < len(text):
        char = text[pos]
        if char in " \t\ufeff" or (newlines and char in "\r\n"):
            pos += 1
        elif char == "#" and newlines:
            while pos < len(text) and text[pos] not in "\r\n":
                pos += 1
        else:
            break
    return pos


def _string_end(text: str, pos: int) -> int:
    for delimiter in ('"""', "'''"):
        if text.startswith(delimiter, pos):
            i = pos + 3
            while True:
                j = text.index(delimiter, i)
                backslashes = 0
                while delimiter == '"""' and text[j - 1 - backslashes] == "\\":
                    backslashes += 1
                if backslashes % 2 == 0:
                    end = j + 3
                    while end < len(text) and text[end] == delimiter[0] and end - j < 5:
                        end += 1
                    return end
                i = j + 1
    if text[pos] == '"':
        i = pos + 1
        while text[i] != '"':
            if text[i] in "\r\n":
                raise _ScanError("unterminated string")
            i += 2 if text[i] == "\\" else 1
        return i + 1
    if text[pos] == "'":
        return text.index("'", pos + 1) + 1
    raise _ScanError(f"no string at {pos}")


def _toml_string(literal: str) -> str:
    return tomllib.loads(f"v = {literal}")["v"]


def _toml_key(text: str, pos: int) -> tuple[tuple[str, ...], int, int]:
    parts: list[str] = []
    while True:
        pos = _skip_blank(text, pos, newlines=False)
        last = pos
        if text[pos] in "\"'":
            end = _string_end(text, pos)
            parts.append(_toml_string(text[pos:end]))
        else:
            match = _BARE_KEY.match(text, pos)
            if not match:
                raise _ScanError(f"no key at {pos}")
            parts.append(match.group())
            end = match.end()
        pos = _skip_blank(text, end, newlines=False)
        if pos < len(text) and text[pos] == ".":
            pos += 1
            continue
        return tuple(parts), pos, last


def _toml_array(text: str, pos: int) -> tuple[list[tuple[int, int]], int]:
    """The items' spans of the array opening at ``pos`` and the offset of its ``]``."""
    pos += 1
    items = []
    while True:
        pos = _skip_blank(text, pos)
        if text[pos] == "]":
            return items, pos
        end = _toml_value_end(text, pos)
        items.append((pos, end))
        pos = _skip_blank(text, end)
        if text[pos] == ",":
            pos += 1


def _toml_value_end(text: str, pos: int) -> int:
    char = text[pos]
    if char in "\"'":
        return _string_end(text, pos)
    if char == "[":
        return _toml_array(text, pos)[1] + 1
    if char == "{":
        pos += 1
        while True:
            pos = _skip_blank(text, pos)
            if text[pos] == "}":
                return pos + 1
            _, pos, _ = _toml_key(text, pos)
            if text[pos] != "=":
                raise _ScanError(f"no = at {pos}")
            pos = _toml_value_end(text, _skip_blank(text, pos + 1, newlines=False))
            pos = _skip_blank(text, pos)
            if text[pos] == ",":
                pos += 1
    match = re.compile(r"[^,\]}#\r\n]*").match(text, pos)
    end = match.end() if match else pos
    while end > pos and text[end - 1] in " \t":
        end -= 1
    return end


def _scan_toml(text: str) -> list[_TomlEntry]:
    """Every key/value pair of a (valid) TOML document with its full path and its spans."""
    entries = []
    table: tuple[str, ...] = ()
    pos = 0
    while True:
        pos = _skip_blank(text, pos)
        if pos >= len(text):
            return entries
        if text[pos] == "[":
            double = text.startswith("[[", pos)
            table, pos, _ = _toml_key(text, pos + (2 if double else 1))
            pos += 2 if double else 1
            continue
        key_start = pos
        key, pos, last = _toml_key(text, pos)
        if text[pos] != "=":
            raise _ScanError(f"no = at {pos}")
        value_start = _skip_blank(text, pos + 1, newlines=False)
        pos = _toml_value_end(text, value_start)
        entries.append(_TomlEntry(table + key, key_start, last, value_start, pos))


def _lookup(doc: dict, path: Sequence[str]) -> object:
    node: object = doc
    for part in path:
        if not isinstance(node, dict):
            return None
        node = node.get(part)
    return node


def _toml_inline(value: object) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return repr(value)
    if isinstance(value, str):
        return _toml_literal(value)
    if isinstance(value, list):
        return "[" + ", ".join(_toml_inline(v) for v in value) + "]"
    if isinstance(value, dict):
        return (
            "{"
            + ", ".join(f"{_toml_key_text(k)} = {_toml_inline(v)}" for k, v in value.items())
            + "}"
        )
    raise _ScanError(f"cannot write {value!r}")


def _toml_key_text(key: str) -> str:
    return key if _BARE_KEY.fullmatch(key) else _toml_literal(key)


def _is_poetry_table(path: tuple[str, ...]) -> bool:
    return path in (("tool", "poetry", "dependencies"), ("tool", "poetry", "dev-dependencies")) or (
        len(path) == 5 and path[:3] == ("tool", "poetry", "group") and path[4] == "dependencies"
    )


_PIPFILE_NOT_PACKAGES = {"source", "requires", "scripts", "pipenv"}


def _is_pipfile_table(path: tuple[str, ...]) -> bool:
    return len(path) == 1 and path[0] not in _PIPFILE_NOT_PACKAGES


_VCS_KEYS = {
    "git",
    "path",
    "url",
    "file",
    "hg",
    "svn",
    "bzr",
    "editable",
    "ref",
    "branch",
    "rev",
    "tag",
}


def _table_dep(
    ed: _Editor, entry: _TomlEntry, doc: dict, poetry: bool, needs: Sequence[_Need]
) -> None:
    """One ``prefect = ...`` entry of a Poetry or Pipfile table: ``"^1.4"`` or
    ``{version = "1.4.1", extras = ["aws"], ...}``."""
    line = ed.line_of(entry.key_start)
    value = _lookup(doc, entry.path)
    table = value if isinstance(value, dict) else None
    spec = table.get("version", None if poetry else "*") if table is not None else value
    extras = [e for e in table.get("extras", []) if isinstance(e, str)] if table else []
    if table is not None and _VCS_KEYS & set(table):
        verdict = _Verdict("todo", _MSG_URL)
    elif not isinstance(spec, str):
        verdict = _Verdict("todo", _MSG_UNREADABLE)
    else:
        verdict = _verdict(_poetry_majors(spec) if poetry else _pipfile_majors(spec), extras)
    if verdict.action == "todo":
        ed.todo(line, verdict.message)
    elif verdict.action == "rewrite":
        quote = ed.text[entry.value_start]
        rest = {k: v for k, v in (table or {}).items() if k not in ("version", "extras")}
        if rest:
            new = _toml_inline({"version": PREFECT2_SPECIFIER, **rest})
        else:
            new = _toml_literal(PREFECT2_SPECIFIER, quote if table is None else '"')
        ed.replace(entry.value_start, entry.value_end, new)
        if verdict.unmapped:
            ed.todo(line, _unmapped_message(verdict.unmapped), problem=False)
    packages = verdict.packages if verdict.action == "rewrite" else []
    adds = ed.additions(packages, "", needs)
    ed.insert_after_line(ed.line_of(entry.value_end), _table_entry_lines(ed, entry, adds))
    ed.placed(adds)


def _table_entry_lines(ed: _Editor, entry: _TomlEntry, adds: Sequence[_Need]) -> list[str]:
    indent = ed.indent(ed.line_of(entry.key_start))
    prefix = ed.text[entry.key_start : entry.last_key_start]
    lines = []
    for need in adds:
        spec = need.spec or "*"
        value = (
            _toml_inline({"version": spec, "markers": need.marker})
            if need.marker
            else _toml_literal(spec)
        )
        lines.append(f"{indent}{prefix}{_toml_key_text(need.name)} = {value}")
    return lines


def _migrate_toml(ed: _Editor, needs: Sequence[_Need], pipfile: bool) -> None:
    try:
        doc = tomllib.loads(ed.text)
    except tomllib.TOMLDecodeError as error:
        line = re.search(r"line (\d+)", str(error))
        ed.unreadable("invalid TOML", error, int(line.group(1)) if line else None)
        return
    entries = _scan_toml(ed.text)
    text = ed.text
    # prefect occurrences in document order: (offset, a table entry or (array path, item index))
    occurrences: list[tuple[int, _TomlEntry | tuple[tuple[str, ...], int, _Found]]] = []
    arrays: dict[tuple[str, ...], tuple[_TomlEntry, list[tuple[int, int]], int]] = {}
    tables: dict[tuple[str, ...], list[_TomlEntry]] = {}
    is_table = _is_pipfile_table if pipfile else _is_poetry_table
    for entry in entries:
        path = entry.path
        array_path = not pipfile and (
            path == ("project", "dependencies")
            or (len(path) == 3 and path[:2] == ("project", "optional-dependencies"))
            or (len(path) == 2 and path[0] == "dependency-groups")
        )
        if array_path and text[entry.value_start] == "[":
            items, close = _toml_array(text, entry.value_start)
            arrays[path] = (entry, items, close)
            for index, (start, end) in enumerate(items):
                if text[start] not in "\"'":
                    continue
                value = _toml_string(text[start:end])
                if name := _requirement_name(value):
                    ed.present.add(name)
                if prefect := _pep508_prefect(value):
                    occurrences.append((start, (path, index, prefect)))
        elif len(path) >= 2 and is_table(path[:-1]):
            tables.setdefault(path[:-1], []).append(entry)
            name = canonicalize_name(path[-1])
            ed.present.add(name)
            if name == "prefect":
                occurrences.append((entry.key_start, entry))
        elif len(path) >= 3 and is_table(path[:-2]):
            name = canonicalize_name(path[-2])
            ed.present.add(name)
            if name == "prefect":
                ed.declares_prefect = True
                ed.todo(
                    ed.line_of(entry.key_start),
                    f"prefect is declared as a sub-table: make it {PREFECT2_REQUIREMENT} by hand",
                )
    pending = list(needs)
    for _, data in sorted(occurrences, key=lambda o: o[0]):
        ed.declares_prefect = True
        if isinstance(data, _TomlEntry):
            _table_dep(ed, data, doc, not pipfile, pending)
        else:
            path, index, prefect = data
            entry, items, close = arrays[path]
            start, end = items[index]
            quote = text[start]
            line = ed.line_of(start)
            verdict = prefect.verdict
            if verdict.action == "todo":
                ed.todo(line, verdict.message)
            elif verdict.action == "rewrite":
                ed.replace(start, end, _toml_literal(prefect.new or PREFECT2_REQUIREMENT, quote))
                if verdict.unmapped:
                    ed.todo(line, _unmapped_message(verdict.unmapped), problem=False)
            packages = verdict.packages if verdict.action == "rewrite" else []
            adds = ed.additions(packages, prefect.marker, pending)
            literals = [_toml_literal(n.requirement, quote) for n in adds]
            _array_insert(ed, items, index, entry.value_start, close, literals)
            ed.placed(adds)
        pending = []
    if occurrences or not pending:
        return
    adds = ed.additions((), "", pending)
    if not adds:
        return
    if not pipfile and ("project", "dependencies") in arrays:
        entry, items, close = arrays[("project", "dependencies")]
        quote = text[items[-1][0]] if items and text[items[-1][0]] in "\"'" else '"'
        literals = [_toml_literal(n.requirement, quote) for n in adds]
        _array_insert(ed, items, None, entry.value_start, close, literals)
        ed.placed(adds)
        return
    main = ("packages",) if pipfile else ("tool", "poetry", "dependencies")
    if tables.get(main):
        last = max(tables[main], key=lambda e: e.value_end)
        ed.insert_after_line(ed.line_of(last.value_end), _table_entry_lines(ed, last, adds))
        ed.placed(adds)
        return
    where = "[packages]" if pipfile else "[project] dependencies or [tool.poetry.dependencies]"
    ed.cannot_place(None, adds, f"no {where} list to add the packages the flows need to")


# -- setup.py ------------------------------------------------------------------------------------


def _is_setup_call(node: ast.AST) -> bool:
    if not isinstance(node, ast.Call):
        return False
    func = node.func
    return (isinstance(func, ast.Name) and func.id == "setup") or (
        isinstance(func, ast.Attribute) and func.attr == "setup"
    )


def _resolve(tree: ast.Module, node: ast.expr, kinds: tuple[type, ...]) -> ast.expr | None:
    """``node`` when it is one of ``kinds``; a name bound once, at module level, to one, and
    never changed in place, resolves to that value; anything else is None."""
    if isinstance(node, kinds):
        return node
    if not isinstance(node, ast.Name):
        return None
    name = node.id
    values = []
    for statement in tree.body:
        if isinstance(statement, ast.Assign) and any(
            isinstance(t, ast.Name) and t.id == name for t in statement.targets
        ):
            values.append(statement.value)
        elif isinstance(statement, ast.AnnAssign) and isinstance(statement.target, ast.Name):
            if statement.target.id == name and statement.value is not None:
                values.append(statement.value)
    for sub in ast.walk(tree):
        if (
            isinstance(sub, ast.AugAssign)
            and isinstance(sub.target, ast.Name)
            and sub.target.id == name
        ):
            return None
        if (
            isinstance(sub, ast.Attribute)
            and isinstance(sub.value, ast.Name)
            and sub.value.id == name
            and sub.attr in {"append", "extend", "insert", "remove", "pop", "update", "clear"}
        ):
            return None
    if len(values) == 1 and isinstance(values[0], kinds):
        return values[0]
    return None


def _py_offset(ed: _Editor, lineno: int, col: int) -> int:
    start = ed.lines[lineno - 1][0] if ed.lines else 0
    content = ed.content(lineno - 1)
    if lineno == 1 and ed.bom:
        start, content = start + 1, content[1:]
    return start + len(content.encode("utf-8")[:col].decode("utf-8", errors="replace"))


def _py_span(ed: _Editor, node: ast.expr) -> tuple[int, int]:
    assert node.end_lineno is not None and node.end_col_offset is not None
    return (
        _py_offset(ed, node.lineno, node.col_offset),
        _py_offset(ed, node.end_lineno, node.end_col_offset),
    )


def _py_header_lines(ed: _Editor) -> int:
    """How many lines at the top (a ``#!`` line, an encoding cookie) must stay first."""
    count = 0
    for i in range(min(2, len(ed.lines))):
        content = ed.content(i).lstrip("\ufeff")
        if (i == 0 and content.startswith("#!")) or re.match(r"[ \t\f]*#.*?coding[:=]", content):
            count = i + 1
    return count


def _migrate_setup_py(ed: _Editor, needs: Sequence[_Need]) -> None:
    try:
        tree = pyast.parse(ed.text[ed.bom :])
    except (SyntaxError, ValueError, RecursionError, MemoryError) as error:
        ed.unreadable("setup.py does not parse", error, getattr(error, "lineno", None))
        return
    lists: list[tuple[ast.List | ast.Tuple, bool]] = []  # (literal, is install_requires)
    dynamic: list[int] = []
    calls = [node for node in ast.walk(tree) if _is_setup_call(node)]
    calls.sort(key=lambda n: (n.lineno, n.col_offset))
    for call in calls:
        assert isinstance(call, ast.Call)
        for keyword in call.keywords:
            if keyword.arg == "install_requires":
                value = _resolve(tree, keyword.value, (ast.List, ast.Tuple))
                if isinstance(value, ast.List | ast.Tuple):
                    lists.append((value, True))
                else:
                    dynamic.append(keyword.lineno)
            elif keyword.arg == "extras_require":
                mapping = _resolve(tree, keyword.value, (ast.Dict,))
                if isinstance(mapping, ast.Dict):
                    for item in mapping.values:
                        value = _resolve(tree, item, (ast.List, ast.Tuple))
                        if isinstance(value, ast.List | ast.Tuple):
                            lists.append((value, False))
    parsed = []
    for literal, main in lists:
        start, end = _py_span(ed, literal)
        if ed.text[start] not in "[(" or ed.text[end - 1] not in "])":
            continue
        items, strings = [], []
        for element in literal.elts:
            items.append(_py_span(ed, element))
            if isinstance(element, ast.Constant) and isinstance(element.value, str):
                strings.append((len(items) - 1, element.value))
                if name := _requirement_name(element.value):
                    ed.present.add(name)
        parsed.append((start, end - 1, items, strings, main))
    pending = list(needs)
    occurrences = 0
    for open_at, close_at, items, strings, _ in parsed:
        for index, value in strings:
            prefect = _pep508_prefect(value)
            if prefect is None:
                continue
            occurrences += 1
            ed.declares_prefect = True
            start, end = items[index]
            segment = ed.text[start:end]
            quote = next((c for c in segment if c in "\"'"), '"')
            line = ed.line_of(start)
            verdict = prefect.verdict
            if verdict.action == "todo":
                ed.todo(line, verdict.message)
            elif verdict.action == "rewrite":
                ed.replace(start, end, _py_literal(prefect.new or PREFECT2_REQUIREMENT, quote))
                if verdict.unmapped:
                    ed.todo(line, _unmapped_message(verdict.unmapped), problem=False)
            packages = verdict.packages if verdict.action == "rewrite" else []
            adds = ed.additions(packages, prefect.marker, pending)
            pending = []
            _array_insert(
                ed,
                items,
                index,
                open_at,
                close_at,
                [_py_literal(n.requirement, quote) for n in adds],
            )
            ed.placed(adds)
    adds = [] if occurrences else ed.additions((), "", pending)
    main = [p for p in parsed if p[4]]
    if adds and main:
        open_at, close_at, items, strings, _ = main[0]
        quote = '"'
        if strings:
            segment = ed.text[items[strings[-1][0]][0] : items[strings[-1][0]][1]]
            quote = next((c for c in segment if c in "\"'"), '"')
        literals = [_py_literal(n.requirement, quote) for n in adds]
        _array_insert(ed, items, None, open_at, close_at, literals)
        ed.placed(adds)
        adds = []
    for line in dynamic:
        ed.todo(
            line - 1,
            "install_requires is computed when setup.py runs: make sure it requires "
            + ", ".join([PREFECT2_REQUIREMENT] + [n.requirement for n in adds]),
        )
    if adds and dynamic:
        ed.unplaced.extend(adds)
    elif adds and calls:
        ed.cannot_place(calls[0].lineno - 1, adds, "setup() has no install_requires list literal")
    elif adds:
        ed.cannot_place(None, adds, "setup.py calls no setup()")


# -- setup.cfg -----------------------------------------------------------------------------------


@dataclass
class _CfgOption:
    section: str
    key: str
    key_line: int
    separator_end: int  # offset just after the key's "=" or ":"
    inline: tuple[int, int] | None  # offsets of the value on the key line
    values: list[tuple[int, int, int]] = field(default_factory=list)  # (line, start, end)

    def parts(self) -> list[tuple[int, int, int]]:
        head = [(self.key_line, *self.inline)] if self.inline else []
        return head + self.values


def _cfg_options(ed: _Editor) -> list[_CfgOption]:
    """Every option of a setup.cfg with the spans of its value's lines (configparser's reading:
    an indented line continues the value, comment lines are skipped)."""
    options: list[_CfgOption] = []
    current: _CfgOption | None = None
    section = ""
    for i in range(len(ed.lines)):
        line_start = ed.lines[i][0]
        content = ed.content(i)
        stripped = content.strip().lstrip("\ufeff")
        if not stripped or stripped.startswith(("#", ";")):
            continue
        if content[:1] in " \t" and current is not None:
            body = _split_comment(content)[0]
            start = len(body) - len(body.lstrip())
            current.values.append((i, line_start + start, line_start + len(body.rstrip())))
            continue
        if header := re.match(r"\ufeff?\s*\[([^\]]+)\]", content):
            section, current = header.group(1).strip(), None
            continue
        match = re.match(r"\ufeff?\s*([^=:\s][^=:]*?)\s*[=:]", content)
        if not match:
            current = None
            continue
        key = match.group(1).strip().lower().replace("-", "_")
        rest = content[match.end() :]
        body = _split_comment(rest)[0]
        value_start = match.end() + len(body) - len(body.lstrip())
        value_end = match.end() + len(body.rstrip())
        inline = (line_start + value_start, line_start + value_end) if body.strip() else None
        current = _CfgOption(section, key, i, line_start + match.end(), inline)
        options.append(current)
    return options


def _cfg_explode(ed: _Editor, option: _CfgOption, first: str, adds: Sequence[_Need]) -> None:
    """A one-line value becomes a value of lines: ``first`` (the value, edited) then ``adds``."""
    line_end = ed.lines[option.key_line][1]
    ed.replace(option.separator_end, line_end, "")
    ed.insert_after_line(option.key_line, [f"    {first}"] + [f"    {n.requirement}" for n in adds])


def _migrate_setup_cfg(ed: _Editor, needs: Sequence[_Need]) -> None:
    parser = configparser.RawConfigParser(strict=False)
    try:
        parser.read_string(ed.text)
    except configparser.Error as error:
        line = re.search(r"line:? (\d+)", str(error))
        ed.unreadable("setup.cfg does not parse", error, int(line.group(1)) if line else None)
        return
    text = ed.text
    lists = [
        option
        for option in _cfg_options(ed)
        if (option.section == "options" and option.key == "install_requires")
        or option.section == "options.extras_require"
    ]
    lists = [o for o in lists if not (o.parts() and text[o.parts()[0][1] :].startswith("file:"))]
    for option in lists:
        for _, start, end in option.parts():
            if name := _requirement_name(text[start:end]):
                ed.present.add(name)
    pending = list(needs)
    occurrences = 0
    for option in lists:
        for line, start, end in option.parts():
            prefect = _pep508_prefect(text[start:end])
            if prefect is None:
                continue
            occurrences += 1
            ed.declares_prefect = True
            verdict = prefect.verdict
            new = text[start:end]
            if verdict.action == "todo":
                ed.todo(line, verdict.message)
            elif verdict.action == "rewrite":
                new = prefect.new or PREFECT2_REQUIREMENT
                if verdict.unmapped:
                    ed.todo(line, _unmapped_message(verdict.unmapped), problem=False)
            packages = verdict.packages if verdict.action == "rewrite" else []
            adds = ed.additions(packages, prefect.marker, pending)
            pending = []
            if line == option.key_line and adds:
                _cfg_explode(ed, option, new + text[end : ed.lines[line][1]], adds)
            else:
                ed.replace(start, end, new)
                ed.insert_after_line(line, [ed.indent(line) + n.requirement for n in adds])
            ed.placed(adds)
    if occurrences or not pending:
        return
    adds = ed.additions((), "", pending)
    if not adds:
        return
    main = [o for o in _cfg_options(ed) if o.section == "options" and o.key == "install_requires"]
    if not main:
        ed.cannot_place(None, adds, "setup.cfg has no [options] install_requires")
        return
    option = main[0]
    if option not in lists:
        ed.cannot_place(option.key_line, adds, "install_requires is read from a file")
        return
    if option.values:
        line = option.values[-1][0]
        ed.insert_after_line(line, [ed.indent(line) + n.requirement for n in adds])
    elif option.inline:
        _cfg_explode(ed, option, text[option.inline[0] : ed.lines[option.key_line][1]], adds)
    else:
        ed.insert_after_line(option.key_line, [f"    {n.requirement}" for n in adds])
    ed.placed(adds)


# -- environment.yml -----------------------------------------------------------------------------


@dataclass
class _YamlItem:
    line: int
    prefix: str  # the line up to the value: indentation and "- "
    start: int  # offsets of the value, quotes excluded
    end: int
    quote: str

    def line_for(self, value: str) -> str:
        return f"{self.prefix}{self.quote}{_yaml_text(value, self.quote)}{self.quote}"


def _yaml_item(ed: _Editor, line: int) -> _YamlItem | None:
    content = ed.content(line)
    match = re.match(r"(\s*-\s+)", content)
    if not match:
        return None
    start = match.end()
    rest = content[start:]
    quote = rest[:1] if rest[:1] in "\"'" else ""
    if quote:
        close = rest.find(quote, 1)
        while quote == '"' and close > 0 and rest[close - 1] == "\\":
            close = rest.find(quote, close + 1)
        if close < 0:
            return None
        value_start, value_end = start + 1, start + close
    else:
        value_start, value_end = start, start + len(_split_comment(rest)[0].rstrip())
    base = ed.lines[line][0]
    return _YamlItem(line, match.group(1), base + value_start, base + value_end, quote)


def _yaml_value(ed: _Editor, item: _YamlItem) -> str:
    raw = ed.text[item.start : item.end]
    if item.quote == '"':
        value = yaml.safe_load(f'"{raw}"')
        return value if isinstance(value, str) else raw
    return raw.replace("''", "'") if item.quote == "'" else raw


def _yaml_text(value: str, quote: str) -> str:
    if quote == "'":
        return value.replace("'", "''")
    if quote == '"':
        return value.replace("\\", "\\\\").replace('"', '\\"')
    return value


_CONDA_SPEC = re.compile(
    r"\s*(?:(?P<channel>[\w./:-]+)::)?(?P<name>[A-Za-z0-9_][A-Za-z0-9_.-]*)(?P<spec>.*)$"
)


def _conda_lists(
    ed: _Editor, key_line: int
) -> tuple[list[_YamlItem], list[_YamlItem], _YamlItem | None]:
    """The block list under ``dependencies:``: its conda items, its ``- pip:`` sublist's items and
    the ``- pip:`` item."""
    conda: list[_YamlItem] = []
    pip: list[_YamlItem] = []
    pip_header = None
    indent = pip_indent = None
    for i in range(key_line + 1, len(ed.lines)):
        content = ed.content(i)
        if not content.strip() or content.strip().startswith("#"):
            continue
        width = len(content) - len(content.lstrip())
        item = _yaml_item(ed, i)
        if indent is None:
            if item is None:
                break
            indent = width
        if width < indent or (width == indent and item is None):
            break
        if width == indent and item is not None:
            value = _split_comment(ed.text[item.start - len(item.quote) : ed.lines[i][1]])[0]
            if re.fullmatch(r"pip\s*:\s*", value):
                pip_header = item
            elif re.match(r"pip\s*:", value):
                if "prefect" in value.lower():
                    ed.declares_prefect = True
                    ed.todo(
                        i,
                        f"a flow-style pip list: make its prefect requirement {PREFECT2_REQUIREMENT} by hand",
                    )
            else:
                conda.append(item)
            if pip_header is not item:
                pip_indent = None
        elif pip_header is not None and item is not None and pip_header.line < i:
            if conda and conda[-1].line > pip_header.line:
                continue  # below a later conda item: not the pip list's
            pip_indent = width if pip_indent is None else pip_indent
            if width == pip_indent:
                pip.append(item)
    return conda, pip, pip_header


def _migrate_conda(ed: _Editor, needs: Sequence[_Need]) -> None:
    try:
        data = yaml.safe_load(ed.text)
    except yaml.YAMLError as error:
        mark = getattr(error, "problem_mark", None)
        ed.unreadable("invalid YAML", error, mark.line + 1 if mark is not None else None)
        return
    key_line = next(
        (i for i in range(len(ed.lines)) if re.match(r"\ufeff?dependencies\s*:", ed.content(i))),
        None,
    )
    if not isinstance(data, dict) or key_line is None:
        ed.cannot_place(
            None, ed.additions((), "", needs), "the environment file has no dependencies list"
        )
        return
    after_key = _split_comment(ed.content(key_line).split(":", 1)[1])[0].strip()
    if after_key:
        if "prefect" in after_key.lower():
            ed.declares_prefect = True
            ed.todo(
                key_line,
                f"a flow-style dependencies list: make its prefect requirement {PREFECT2_REQUIREMENT} by hand",
            )
        ed.cannot_place(key_line, ed.additions((), "", needs), "a flow-style dependencies list")
        return
    conda, pip, pip_header = _conda_lists(ed, key_line)
    for item in conda:
        if match := _CONDA_SPEC.match(_yaml_value(ed, item)):
            ed.present.add(canonicalize_name(match.group("name")))
    for item in pip:
        if name := _requirement_name(_pip_parts(_yaml_value(ed, item))[2]):
            ed.present.add(name)
    pending = list(needs)
    occurrences = 0
    for item in sorted(conda + pip, key=lambda it: it.line):
        value = _yaml_value(ed, item)
        conda_style = item in conda
        if conda_style:
            match = _CONDA_SPEC.match(value)
            if not match or canonicalize_name(match.group("name")) != "prefect":
                continue
            spec = match.group("spec")
            if "[" in spec or "::" in spec:
                prefect: _Found | None = _Found(_Verdict("todo", _MSG_UNREADABLE))
            else:
                prefect = _Found(_verdict(_conda_majors(spec)))
            channel = f"{match.group('channel')}::" if match.group("channel") else ""
            new = f"{channel}{match.group('name')}{PREFECT2_SPECIFIER}"
        else:
            _, _, requirement, _ = _pip_parts(value)
            prefect = None if requirement.startswith("-") else _pep508_prefect(requirement)
            if prefect is None:
                continue
            new = value.replace(requirement, prefect.new or PREFECT2_REQUIREMENT, 1)
        occurrences += 1
        ed.declares_prefect = True
        verdict = prefect.verdict
        if verdict.action == "todo":
            ed.todo(item.line, verdict.message)
        elif verdict.action == "rewrite":
            ed.replace(item.start, item.end, _yaml_text(new, item.quote))
            if verdict.unmapped:
                ed.todo(item.line, _unmapped_message(verdict.unmapped), problem=False)
        packages = verdict.packages if verdict.action == "rewrite" else []
        adds = ed.additions(packages, "" if conda_style else prefect.marker, pending)
        pending = []
        texts = [f"{n.name}{n.spec}" if conda_style else n.requirement for n in adds]
        ed.insert_after_line(item.line, [item.line_for(t) for t in texts])
        ed.placed(adds)
    if occurrences or not pending:
        return
    adds = ed.additions((), "", pending)
    if pip:
        ed.insert_after_line(pip[-1].line, [pip[-1].line_for(n.requirement) for n in adds])
    elif conda:
        last = conda[-1]
        ed.insert_after_line(last.line, [last.line_for(f"{n.name}{n.spec}") for n in adds])
    else:
        ed.cannot_place(key_line, adds, "the dependencies list is empty")
        return
    ed.placed(adds)


# -- one file ------------------------------------------------------------------------------------


def dependency_kind(name: str) -> str | None:
    """The kind of dependency file ``name`` (its basename decides), or None."""
    base = PurePosixPath(name.replace("\\", "/")).name
    exact = {
        "pyproject.toml": PYPROJECT,
        "setup.py": SETUP_PY,
        "setup.cfg": SETUP_CFG,
        "pipfile": PIPFILE,
        "environment.yml": CONDA,
        "environment.yaml": CONDA,
    }
    if base.lower() in exact:
        return exact[base.lower()]
    if base.lower().endswith((".txt", ".in")):
        return REQUIREMENTS
    return None


def _verify(kind: str, text: str) -> None:
    if kind in (PYPROJECT, PIPFILE):
        tomllib.loads(text)
    elif kind == SETUP_PY:
        pyast.parse(text.removeprefix("\ufeff"))
    elif kind == SETUP_CFG:
        configparser.RawConfigParser(strict=False).read_string(text)
    elif kind == CONDA:
        yaml.safe_load(text)


@dataclass
class _Outcome:
    edit: DependencyEdit
    declares_prefect: bool
    needs_placed: bool


def _run(
    kind: str, name: str, text: str, needs: Sequence[_Need], include: IncludeCheck | None = None
) -> _Outcome:
    ed = _Editor(name, text)
    try:
        if kind == REQUIREMENTS:
            _migrate_requirements(ed, needs, include)
        elif kind in (PYPROJECT, PIPFILE):
            _migrate_toml(ed, needs, pipfile=kind == PIPFILE)
        elif kind == SETUP_PY:
            _migrate_setup_py(ed, needs)
        elif kind == SETUP_CFG:
            _migrate_setup_cfg(ed, needs)
        else:
            _migrate_conda(ed, needs)
        new = ed.render()
        if not ed.unparseable:
            _verify(kind, new)
    except Exception as error:  # a file we cannot edit is reported, never a crash
        declares = ed.declares_prefect or "prefect" in text.lower()
        ed = _Editor(name, text)
        ed.declares_prefect = declares
        ed.unplaced = list(needs)
        ed.unreadable("could not edit this file safely", error)
        new = ed.render()
    edit = DependencyEdit(name, text, new, ed.todos, ed.problems, ed.added)
    return _Outcome(edit, ed.declares_prefect, not ed.unplaced)


def migrate_dependency_text(name: str, text: str, needs: Iterable[str] = ()) -> DependencyEdit:
    """Migrate one dependency file's ``text``; ``name`` (its basename) picks the kind. ``needs``
    are packages the rewritten code imports (bare names are bounded by
    :data:`INTEGRATION_BOUNDS`), added when the file does not require them yet: after the prefect
    requirement, or at the end of the file's main list when it has none."""
    kind = dependency_kind(name)
    if kind is None:
        raise DependencyFileError(f"{name}: not a dependency file meta-flows migrates")
    return _run(kind, name, text, _needs(needs)).edit


# -- a repository ----------------------------------------------------------------------------------


def _skip_dir(path: Path, name: str) -> bool:
    return (
        name.startswith(".")
        or name in SKIP_DIRS
        or path.is_symlink()
        or is_virtualenv(path)
        or (path / "conda-meta").is_dir()
    )


def _matches(rel: str) -> bool:
    rel = rel.lower()
    for pattern in DEPENDENCY_FILES:
        if pattern.startswith("**/"):
            tail = pattern[3:]
            depth = tail.count("/") + 1
            if fnmatch("/".join(rel.split("/")[-depth:]), tail) and rel.count("/") >= depth - 1:
                return True
        elif rel == pattern:
            return True
    return False


def find_dependency_files(root: Path) -> list[Path]:
    """The dependency files of the repository at ``root`` (:data:`DEPENDENCY_FILES`), shallowest
    first, then by path. Symbolic links are listed (their migration reports them); links to
    folders are not followed."""
    root = Path(root)
    found: set[Path] = set()
    for entry in sorted(root.iterdir()) if root.is_dir() else []:
        if (entry.is_file() or entry.is_symlink()) and _matches(entry.name):
            found.add(entry)
    for dirpath, dirnames, filenames in os.walk(root):
        here = Path(dirpath)
        dirnames[:] = sorted(d for d in dirnames if not _skip_dir(here / d, d))
        for filename in filenames:
            rel = (here / filename).relative_to(root).as_posix()
            if "/" in rel and _matches(rel):
                found.add(here / filename)
    return sorted(
        found, key=lambda p: (len(p.relative_to(root).parts), p.relative_to(root).as_posix())
    )


def _inside(path: Path, root: Path) -> bool:
    try:
        path.relative_to(root)
    except ValueError:
        return False
    return True


def _read(path: Path, real_root: Path) -> tuple[str | None, str]:
    if path.is_symlink() and not _inside(path.resolve(), real_root):
        return None, "a symbolic link to outside the repository: not read"
    if not path.is_file():
        return None, "not a regular file: not read"
    try:
        return path.read_bytes().decode("utf-8"), ""
    except UnicodeDecodeError:
        return None, "not UTF-8 text: not migrated"
    except OSError as error:
        return None, f"cannot be read ({error.strerror})"


def _write(path: Path, real_root: Path, edit: DependencyEdit) -> None:
    if path.is_symlink():
        edit.problems.append(f"{edit.path}:1: a symbolic link: not written through")
        return
    if not _inside(path.parent.resolve(), real_root):
        edit.problems.append(f"{edit.path}:1: outside the repository: not written")
        return
    if path.exists() and not path.stat().st_mode & stat.S_IWUSR:
        edit.problems.append(f"{edit.path}:1: the file is read-only: not written")
        return
    tmp = path.with_name(f".{path.name}.meta-flows.tmp")
    try:
        tmp.write_bytes(edit.text.encode("utf-8"))
        if path.exists():
            os.chmod(tmp, stat.S_IMODE(path.stat().st_mode))
        os.replace(tmp, path)
    except OSError as error:
        tmp.unlink(missing_ok=True)
        edit.problems.append(f"{edit.path}:1: not written ({error.strerror})")


def _include_check(
    root: Path, real_root: Path, including: str, migrated: set[Path]
) -> IncludeCheck:
    def check(target: str) -> str | None:
        if re.match(r"[A-Za-z][A-Za-z0-9+.-]*://", target):
            return None
        path = (root / including).parent / target
        if not path.exists():
            return f"{target} (included here) does not exist: its requirements were not migrated"
        resolved = path.resolve()
        if not _inside(resolved, real_root):
            return f"{target} (included here) is outside the repository: it was not migrated"
        if resolved in migrated or not resolved.is_file():
            return None
        text, _ = _read(path, real_root)
        if text is not None:
            outcome = _run(REQUIREMENTS, target, text, ())
            if outcome.declares_prefect and outcome.edit.changed:
                return (
                    f"{target} (included here) requires Prefect 1 and is not one of the "
                    f"migrated dependency files: make its prefect {PREFECT2_REQUIREMENT}"
                )
        return None

    return check


def migrate_dependencies(
    root: Path, needs: Iterable[str] = (), *, write: bool = False
) -> list[DependencyEdit]:
    """Migrate every dependency file of the repository at ``root`` (one edit each, in
    :func:`find_dependency_files` order). ``needs`` go into the files that declare prefect; when
    none does, into the first of requirements.txt, pyproject.toml, setup.py, setup.cfg, Pipfile,
    environment.yml (then the other requirements files) that can take them. A repository with no
    dependency file gets one new ``requirements.txt`` edit (``original`` empty) with
    :data:`PREFECT2_REQUIREMENT` and the needs. ``write`` writes the changed files in place; a
    symbolic link, a read-only file or a path outside ``root`` is not written but reported."""
    root = Path(root)
    real_root = root.resolve()
    need_list = _needs(needs)
    files = find_dependency_files(root)
    if not files:
        requirements = [PREFECT2_REQUIREMENT] + [n.requirement for n in need_list]
        text = "".join(r + "\n" for r in requirements)
        edit = DependencyEdit("requirements.txt", "", text, added=requirements)
        if write:
            _write(root / "requirements.txt", real_root, edit)
        return [edit]
    migrated = {p.resolve() for p in files}
    loaded: dict[str, tuple[str, str]] = {}  # rel -> (kind, text)
    outcomes: dict[str, _Outcome] = {}
    for path in files:
        rel = path.relative_to(root).as_posix()
        kind = dependency_kind(rel) or REQUIREMENTS
        text, why = _read(path, real_root)
        if text is None:
            edit = DependencyEdit(rel, "", "", problems=[f"{rel}:1: {why}"])
            outcomes[rel] = _Outcome(edit, False, False)
            continue
        loaded[rel] = (kind, text)
        check = _include_check(root, real_root, rel, migrated)
        outcomes[rel] = _run(kind, rel, text, (), check)
    if need_list:
        targets = [rel for rel in loaded if outcomes[rel].declares_prefect]
        if not targets:
            order = [name for name in _FALLBACK_ORDER if name in loaded]
            order += [rel for rel in loaded if rel not in order and loaded[rel][0] == REQUIREMENTS]
            for rel in order:
                kind, text = loaded[rel]
                outcome = _run(
                    kind, rel, text, need_list, _include_check(root, real_root, rel, migrated)
                )
                if outcome.needs_placed or rel == order[-1]:
                    targets = [rel] if outcome.needs_placed else order[:1]
                    break
        for rel in targets:
            kind, text = loaded[rel]
            outcomes[rel] = _run(
                kind, rel, text, need_list, _include_check(root, real_root, rel, migrated)
            )
    edits = [outcomes[path.relative_to(root).as_posix()].edit for path in files]
    if write:
        for edit in edits:
            if edit.changed:
                _write(root / edit.path, real_root, edit)
    return edits
