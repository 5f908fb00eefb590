"""The registry as code: which projects migrate, in which wave, promoted under which gate (issue 5).

The registry lives in YAML files (``flows_registry/``), one file or a directory of them; every
file may hold any of four top-level keys::

    waves:
      - name: demo                  # becomes the git branch prefect2/demo
        order: 1
        gate: {max_todos: 0, batch_size: 2, batch_policy: all-or-nothing}
    projects:
      - name: acme-etl
        git_url: ${META_FLOWS_DEMO_REMOTES}/acme-etl.git
        wave: demo
        owner: data-platform@acme.example
        work_pool: {name: meta-flows-demo, type: process}
        prefect1: {project: acme}
        cases:                      # same shape as a cases file (meta_flows.core.validation.cases)
          nightly: [{case: small, parameters: {n: 3}}]
    notifications: {slack_webhook_url: https://hooks.slack.example/T000, rollback_after_failures: 3}
    prefect1_server: {url: http://prefect1:4200/graphql, api_key_env: PREFECT1_TOKEN}

Loading is tolerant so that one bad entry does not stop a wave: :func:`load_registry` returns the
projects and waves that are valid and a :class:`RegistryProblem` for everything else, each naming
the file, the line, the field (``projects[1].git_url``) and the project when its name is
readable. A project that is malformed, names an unknown or broken wave, or whose name is defined
twice is left out (its wave reports it as failed); the rest loads. Only a registry path that does
not exist or holds no YAML file raises (:class:`RegistryFileError`).

In ``git_url``, ``${VAR}`` is replaced from the environment (an unset variable is an error for
that project), and a relative local path is taken relative to the registry file's directory.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import Annotated, Any, Literal, TypeVar, get_args, get_origin

import yaml
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    PrivateAttr,
    ValidationError,
    ValidationInfo,
    field_validator,
    model_validator,
)
from pydantic_core import PydanticCustomError

from meta_flows.core.errors import MetaFlowsError
from meta_flows.core.validation.cases import CaseSpec, duplicate_case
from meta_flows.core.validation.model import Verdict

SLUG = re.compile(r"[a-z0-9][a-z0-9-]*")
TOP_LEVEL_KEYS = ("projects", "waves", "notifications", "prefect1_server")
TODO_MARKER = "TODO(prefect2-migration)"
VERDICTS: tuple[str, ...] = get_args(Verdict)

_ENV_REF = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}")
_URL_SCHEME = re.compile(r"[A-Za-z][A-Za-z0-9+.-]*://")
T = TypeVar("T")


def is_slug(value: str) -> bool:
    """True for a name made of lowercase letters, digits and ``-``, not starting with ``-``."""
    return SLUG.fullmatch(value) is not None


_BAD_REF = re.compile(r"[\x00-\x20\x7f~^:?*\[\\]|\.\.|@\{|//|/\.|^[-/.]|[/.]$|\.lock$|^@$")


def is_branch_name(value: str) -> bool:
    """A name ``git check-ref-format --branch`` accepts (and no option-like leading ``-``)."""
    return bool(value) and not _BAD_REF.search(value)


def _invalid(message: str) -> PydanticCustomError:
    """A validation error whose message is ``message`` as is (shown without the input)."""
    return PydanticCustomError("registry", "{message}", {"message": message})


def _slug(value: str) -> str:
    if not is_slug(value):
        raise _invalid(
            f"must be lowercase letters, digits and '-', not starting with '-' (got {value!r})"
        )
    return value


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid")


class GatePolicy(_Model):
    """When a validated project may be promoted, and how promotions are batched."""

    require_equal: bool = Field(
        True,
        description="Every validated case must be `equal`; False makes verdicts advisory (only "
        "the TODO count then blocks).",
    )
    allow_skipped: bool = Field(
        False, description="A `skipped` case does not block promotion (with require_equal)."
    )
    max_todos: int = Field(
        0,
        ge=0,
        description="A project whose rewrite left more TODO(prefect2-migration) comments than "
        "this is refused.",
    )
    batch_size: int = Field(
        0, ge=0, description="Projects per promotion batch; 0 = the whole wave is one batch."
    )
    batch_policy: Literal["per-project", "all-or-nothing"] = Field(
        "per-project",
        description="per-project: each project is promoted on its own gate; all-or-nothing: one "
        "project failing the gate rolls back its whole batch.",
    )

    def batches(self, items: Sequence[T]) -> list[list[T]]:
        """``items`` cut into promotion batches of ``batch_size`` (one batch when 0)."""
        items = list(items)
        if not items:
            return []
        size = self.batch_size or len(items)
        return [items[i : i + size] for i in range(0, len(items), size)]


_VERDICT_WORDS = {
    "different": "is different",
    "legacy-error": "failed on Prefect 1 (legacy-error)",
    "migrated-error": "failed on Prefect 2 (migrated-error)",
    "skipped": "was skipped",
}


def gate(
    policy: GatePolicy, *, verdicts: Iterable[tuple[str, str, str]], todos: int
) -> tuple[bool, str]:
    """Does a project pass ``policy``? Returns (passes, reason), the reason a human sentence.

    ``verdicts`` are (flow name, case, verdict), the verdict one of ``equal``, ``different``,
    ``legacy-error``, ``migrated-error``, ``skipped``; ``todos`` is the number of
    TODO(prefect2-migration) comments the rewrite left. With ``require_equal`` a project with no
    verdict at all is refused: nothing was shown to behave the same. Every blocking reason is
    given, separated by ``; ``.
    """
    verdicts = list(verdicts)
    for flow, case, verdict in verdicts:
        if verdict not in VERDICTS:
            raise ValueError(
                f"flow {flow!r} case {case!r}: unknown verdict {verdict!r} "
                f"(expected one of {', '.join(VERDICTS)})"
            )
    problems: list[str] = []
    if todos > policy.max_todos:
        problems.append(f"{todos} {TODO_MARKER} comments left, gate allows {policy.max_todos}")
    if policy.require_equal:
        if not verdicts:
            problems.append("no flow case was validated")
        for flow, case, verdict in verdicts:
            if verdict == "equal" or (verdict == "skipped" and policy.allow_skipped):
                continue
            problems.append(f"flow {flow!r} case {case!r} {_VERDICT_WORDS[verdict]}")
    if problems:
        return False, "; ".join(problems)
    equal = sum(1 for *_, verdict in verdicts if verdict == "equal")
    skipped = sum(1 for *_, verdict in verdicts if verdict == "skipped")
    checked = (
        f"{equal} of {len(verdicts)} validated case(s) equal"
        + (f", {skipped} skipped" if skipped else "")
        + ("" if policy.require_equal else " (verdicts advisory)")
    )
    return True, f"{checked}; {todos} {TODO_MARKER} comments left, gate allows {policy.max_todos}"


class Wave(_Model):
    name: str = Field(description="Slug; the wave's migration branch is prefect2/<name>.")
    order: int = Field(0, description="Waves run in ascending order (ties: registry order).")
    gate: GatePolicy = Field(default_factory=GatePolicy)
    description: str = ""

    @field_validator("name")
    @classmethod
    def _name(cls, value: str) -> str:
        return _slug(value)

    @property
    def branch(self) -> str:
        """The git branch the wave's rewrite is committed to in every project."""
        return f"prefect2/{self.name}"


class WorkPoolTarget(_Model):
    name: str = Field(min_length=1, description="Prefect 2 work pool the deployments target.")
    type: Literal["process", "kubernetes"] = "process"


class ValidationOverrides(_Model):
    """What validation runs of the shadow deployments use instead of the deployments' own values,
    so that they write nowhere production reads (a shadow schema, a scratch bucket)."""

    parameters: dict[str, Any] = Field(
        default_factory=dict, description="Flow parameters set on every validation run."
    )
    job_variables: dict[str, Any] = Field(
        default_factory=dict,
        description="Job variables of every validation run (e.g. {env: {SCHEMA: shadow}}).",
    )


class Prefect1Target(_Model):
    project: str = Field(min_length=1, description="The Prefect 1 server project name.")
    flows: list[str] = Field(
        default_factory=list,
        description="Flow names on that server; empty = all flows found in the repository.",
    )


def _is_local_relative(url: str) -> bool:
    """A git URL that is a relative filesystem path (no scheme, not scp-like, not absolute)."""
    if _URL_SCHEME.match(url) or url.startswith(("/", "~", "${")):
        return False
    head = url.split("/", 1)[0]
    return ":" not in head  # git reads "host:path" (colon before any slash) as ssh


def _expand_git_url(url: str, context: Mapping[str, Any]) -> str:
    environ: Mapping[str, str] = context.get("environ", os.environ)
    unset = [name for name in _ENV_REF.findall(url) if name not in environ]
    if unset:
        names = ", ".join(dict.fromkeys(unset))
        raise _invalid(f"environment variable(s) {names} not set (used in {url!r})")
    expanded = _ENV_REF.sub(lambda m: environ[m.group(1)], url)
    if "${" in _ENV_REF.sub("", url):
        raise _invalid(f"malformed ${{...}} reference in {url!r} (write ${{NAME}})")
    base_dir = context.get("base_dir")
    if base_dir is not None and _is_local_relative(url):
        expanded = os.path.normpath(Path(base_dir).absolute() / expanded)
    return expanded


_DOTTED = r"^[A-Za-z_]\w*(\.[A-Za-z_]\w*)+$"


class Wrappers(_Model):
    """The estate's own Prefect 1 wrappers, declared (the rewrite also learns them from the
    repository's source and from loading its modules under Prefect 1)."""

    flow_classes: list[Annotated[str, Field(pattern=_DOTTED)]] = Field(
        default_factory=list,
        description="Dotted names of Flow subclasses, e.g. acme_platform.custom.Flow.",
    )
    task_classes: list[Annotated[str, Field(pattern=_DOTTED)]] = Field(
        default_factory=list, description="Dotted names of Task subclasses."
    )
    task_factories: list[Annotated[str, Field(pattern=_DOTTED)]] = Field(
        default_factory=list,
        description="Dotted names of task decorator factories standing for prefect.task.",
    )


class Project(_Model):
    name: str = Field(description="Slug; unique in the registry.")
    git_url: str = Field(
        min_length=1,
        description="Where to clone from; ${VAR} is read from the environment, a relative path "
        "is relative to the registry file.",
    )
    default_branch: str = Field("main", min_length=1)
    flow_paths: list[str] = Field(
        default_factory=list,
        description="Files or folders inside the repository holding flows; empty = discover "
        "flows in the whole repository.",
    )
    owner: str | None = Field(None, description="Who to tell (e-mail, team or handle).")
    wave: str = Field(description="Name of the wave the project migrates in.")
    cases: dict[str, list[CaseSpec]] = Field(
        default_factory=dict,
        description="Validation cases: {flow name: [case, ...]}, the shape of a cases file.",
    )
    validation_timeout: float | None = Field(
        None,
        gt=0,
        description="Seconds one validation flow run of this project may take (either side); "
        "overrides the wave run's timeout.",
    )
    validation: Literal["local", "deployment"] = Field(
        "local",
        description="Where the migrated side of validation runs: local (child interpreters of "
        "the wave, in the project's Prefect 2 environment) or deployment (its shadow deployments, "
        "run by a worker of their work pool).",
    )
    validation_overrides: ValidationOverrides = Field(default_factory=ValidationOverrides)
    work_pool: WorkPoolTarget | None = None
    prefect1: Prefect1Target | None = None
    wrappers: Wrappers = Field(
        default_factory=Wrappers,
        description="The estate's own Flow/Task wrappers the rewrite should treat as Prefect's.",
    )
    enabled: bool = True

    @field_validator("name")
    @classmethod
    def _name(cls, value: str) -> str:
        return _slug(value)

    @field_validator("git_url")
    @classmethod
    def _git_url(cls, value: str, info: ValidationInfo) -> str:
        if info.context is None:
            return value
        return _expand_git_url(value, info.context)

    @field_validator("default_branch")
    @classmethod
    def _default_branch(cls, value: str) -> str:
        if not is_branch_name(value):
            raise _invalid(
                f"{value!r} is not a git branch name (no leading '-', spaces, '..', '~^:?*[\\', "
                "'@{', control characters, or a trailing '/' or '.lock')"
            )
        return value

    @field_validator("flow_paths")
    @classmethod
    def _flow_paths(cls, paths: list[str]) -> list[str]:
        for index, path in enumerate(paths):
            parts = PurePosixPath(path).parts
            if not path.strip() or path.startswith("/") or ".." in parts:
                raise _invalid(
                    f"entry {index} ({path!r}) must be a relative path inside the repository"
                )
        return paths

    @field_validator("cases")
    @classmethod
    def _unique_cases(cls, cases: dict[str, list[CaseSpec]]) -> dict[str, list[CaseSpec]]:
        repeated = duplicate_case(cases)
        if repeated:
            flow, index, name = repeated
            raise _invalid(f"flow {flow!r}: case {index} repeats the case name {name!r}")
        return cases


class Notifications(_Model):
    webhook_url: str | None = Field(None, description="Generic JSON webhook for wave events.")
    slack_webhook_url: str | None = Field(None, description="Slack incoming webhook.")
    rollback_after_failures: int = Field(
        3, ge=1, description="This many failed runs of a promoted flow within the window..."
    )
    failure_window_seconds: int = Field(
        3600, ge=1, description="...trigger rollback-wave for its project."
    )


class Prefect1Server(_Model):
    url: str = Field(
        pattern=r"^https?://",
        description="GraphQL endpoint of a Prefect 1 server, e.g. http://host:4200/graphql.",
    )
    api_key_env: str | None = Field(
        None, description="Name of an environment variable holding the server's API token."
    )


class UnknownWaveError(MetaFlowsError, KeyError):
    """A wave name the registry does not define; the message lists the known ones."""

    def __str__(self) -> str:
        return str(self.args[0])


class Registry(_Model):
    projects: list[Project] = Field(default_factory=list)
    waves: list[Wave] = Field(default_factory=list)
    notifications: Notifications = Field(default_factory=Notifications)
    prefect1_server: Prefect1Server | None = None

    # project name -> "file:line" of its entry (set by load_registry).
    _sources: dict[str, str] = PrivateAttr(default_factory=dict)

    @model_validator(mode="after")
    def _consistent(self) -> Registry:
        for kind, names in (
            ("wave", [w.name for w in self.waves]),
            ("project", [p.name for p in self.projects]),
        ):
            repeated = sorted({n for n in names if names.count(n) > 1})
            if repeated:
                raise ValueError(f"{kind} name(s) defined more than once: {', '.join(repeated)}")
        known = {w.name for w in self.waves}
        for project in self.projects:
            if project.wave not in known:
                raise ValueError(f"project {project.name!r}: unknown wave {project.wave!r}")
        return self

    def wave(self, name: str) -> Wave:
        """The wave called ``name``; UnknownWaveError (a KeyError) lists the known waves."""
        for wave in self.waves:
            if wave.name == name:
                return wave
        known = ", ".join(w.name for w in self.waves_in_order()) or "none"
        raise UnknownWaveError(f"unknown wave {name!r} (known waves: {known})")

    def validate_on(self, validation: str) -> None:
        """Every project validates ``validation`` (``local`` or ``deployment``); ``registry``:
        as each project says."""
        if validation == "registry":
            return
        if validation not in ("local", "deployment"):
            raise ValueError(
                f"validation must be registry, local or deployment, not {validation!r}"
            )
        for project in self.projects:
            project.validation = validation

    def projects_of(self, wave_name: str) -> list[Project]:
        """The enabled projects of a wave, in registry order."""
        self.wave(wave_name)
        return [p for p in self.projects if p.wave == wave_name and p.enabled]

    def project(self, name: str) -> Project:
        """The project called ``name``; KeyError if the registry has none."""
        for project in self.projects:
            if project.name == name:
                return project
        raise KeyError(f"unknown project {name!r}")

    def waves_in_order(self) -> list[Wave]:
        """Waves by ascending ``order``, registry order among equals."""
        return sorted(self.waves, key=lambda w: w.order)

    def source_of(self, project_name: str) -> str | None:
        """``file:line`` of the project's registry entry, when loaded from files."""
        return self._sources.get(project_name)


class RegistryFileError(MetaFlowsError, ValueError):
    """The registry path cannot be used at all (missing, or no YAML file in it)."""


@dataclass
class RegistryProblem:
    """One problem in the registry: where it is, which field, which project, what is wrong."""

    file: str
    message: str
    line: int | None = None
    field: str | None = None
    project: str | None = None
    wave: str | None = None  # the wave of the broken entry, when readable
    # A problem with a file as a whole (it does not parse, an unknown top-level key...): its
    # entries may belong to any wave, so every wave of the registry fails on it.
    file_level: bool = False

    def __str__(self) -> str:
        where = self.file if self.line is None else f"{self.file}:{self.line}"
        text = (
            f"{where}: {self.field}: {self.message}" if self.field else f"{where}: {self.message}"
        )
        return f"{text} (project {self.project!r})" if self.project else text


@dataclass
class LoadedRegistry:
    """What :func:`load_registry` could load, and every problem it found."""

    registry: Registry
    errors: list[RegistryProblem] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.errors

    def errors_for_wave(self, wave_name: str) -> list[RegistryProblem]:
        """Errors about entries (projects or the wave itself) that belong to ``wave_name``, and
        the file-level ones, whose lost entries may have belonged to it."""
        return [e for e in self.errors if e.wave == wave_name or e.file_level]


# --- loading ----------------------------------------------------------------------------------


@dataclass
class _Entry:
    """One raw entry (a project, a wave or a settings block) and where it came from."""

    file: str
    base_dir: Path
    key: str  # "projects", "waves", "notifications", "prefect1_server"
    index: int | None
    data: Any
    node: yaml.Node

    @property
    def prefix(self) -> str:
        return self.key if self.index is None else f"{self.key}[{self.index}]"

    @property
    def line(self) -> int:
        return self.node.start_mark.line + 1

    def readable(self, key: str) -> str | None:
        value = self.data.get(key) if isinstance(self.data, dict) else None
        return value if isinstance(value, str) else None


def _field_path(prefix: str, loc: Sequence[Any]) -> str:
    out = prefix
    for part in loc:
        out += f"[{part}]" if isinstance(part, int) else f".{part}"
    return out


def _line_of(node: yaml.Node, loc: Sequence[Any]) -> int:
    """Line of the deepest node along ``loc`` (the key's line for a mapping entry)."""
    line = node.start_mark.line + 1
    for part in loc:
        if isinstance(node, yaml.MappingNode):
            for key, value in node.value:
                if isinstance(key, yaml.ScalarNode) and key.value == str(part):
                    line, node = key.start_mark.line + 1, value
                    break
            else:
                break
        elif isinstance(node, yaml.SequenceNode) and isinstance(part, int):
            if not 0 <= part < len(node.value):
                break
            node = node.value[part]
            line = node.start_mark.line + 1
        else:
            break
    return line


def _duplicate_keys(node: yaml.Node, loc: tuple = ()) -> list[tuple[tuple, yaml.Node]]:
    """(location, key node) of every key repeated in a mapping under ``node``."""
    found: list[tuple[tuple, yaml.Node]] = []
    if isinstance(node, yaml.MappingNode):
        seen: set[str] = set()
        for key, value in node.value:
            if isinstance(key, yaml.ScalarNode) and key.tag != "tag:yaml.org,2002:merge":
                if key.value in seen:
                    found.append(((*loc, key.value), key))
                seen.add(key.value)
                found += _duplicate_keys(value, (*loc, key.value))
    elif isinstance(node, yaml.SequenceNode):
        for index, item in enumerate(node.value):
            found += _duplicate_keys(item, (*loc, index))
    return found


def _model_at(model: type[BaseModel], loc: Sequence[Any]) -> type[BaseModel] | None:
    """The model whose field ``loc[-1]`` is, following ``loc`` through fields, lists, dicts."""
    current: Any = model
    for part in loc[:-1]:
        candidates = [current]
        while candidates:  # unwrap X | None, list[X], dict[str, X]
            current = candidates.pop(0)
            if isinstance(current, type) and issubclass(current, BaseModel):
                break
            if get_origin(current) is list and isinstance(part, int):
                break
            if get_origin(current) is dict:
                break
            candidates += list(get_args(current))
        else:
            return None
        if isinstance(current, type) and issubclass(current, BaseModel):
            if part not in current.model_fields:
                return None
            current = current.model_fields[part].annotation
        else:
            current = get_args(current)[-1]
    for candidate in [current, *get_args(current)]:
        if isinstance(candidate, type) and issubclass(candidate, BaseModel):
            return candidate
    return None


def _message(error: Mapping[str, Any], model: type[BaseModel]) -> str:
    if error["type"] == "extra_forbidden":
        owner = _model_at(model, error["loc"])
        allowed = f" (allowed: {', '.join(owner.model_fields)})" if owner else ""
        return f"unknown field{allowed}"
    message = error["msg"]
    if error["type"] not in ("missing", "registry"):
        shown = repr(error.get("input"))
        message += f" (got {shown if len(shown) <= 60 else shown[:57] + '...'})"
        if isinstance(error.get("input"), bool) and error["type"] == "string_type":
            message += "; YAML reads yes/no/on/off/true/false as booleans, quote the value"
    return message


def _validate(
    entry: _Entry,
    model: type[BaseModel],
    errors: list[RegistryProblem],
    environ: Mapping[str, str],
    **who: str | None,
) -> BaseModel | None:
    """The entry as ``model``, or None with its problems appended to ``errors``."""
    problems: list[RegistryProblem] = []
    for loc, key in _duplicate_keys(entry.node):
        problems.append(
            RegistryProblem(
                entry.file,
                f"key {loc[-1]!r} given twice",
                key.start_mark.line + 1,
                _field_path(entry.prefix, loc),
                **who,
            )
        )
    if not isinstance(entry.data, dict):
        problems.append(
            RegistryProblem(
                entry.file,
                f"must be a mapping of fields (got {type(entry.data).__name__})",
                entry.line,
                entry.prefix,
                **who,
            )
        )
    if problems:
        errors += problems
        return None
    try:
        return model.model_validate(
            entry.data, context={"environ": environ, "base_dir": entry.base_dir}
        )
    except ValidationError as exc:
        for error in exc.errors():
            errors.append(
                RegistryProblem(
                    entry.file,
                    _message(error, model),
                    _line_of(entry.node, error["loc"]),
                    _field_path(entry.prefix, error["loc"]),
                    **who,
                )
            )
        return None


def _real_line(text: str, index: int) -> int:
    """The 1-based line of a YAML mark at line ``index``; a mark at the end of the stream (after
    the last newline) is on the file's last line, not one past it."""
    return max(1, min(index + 1, len(text.splitlines())))


def _read(path: Path, display: str, errors: list[RegistryProblem]) -> list[_Entry]:
    """The raw entries of one registry file; problems with the file itself go to ``errors``."""
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        errors.append(RegistryProblem(display, f"cannot read: {exc}", file_level=True))
        return []
    loader = yaml.SafeLoader(text)
    try:
        root = loader.get_single_node()
        data = loader.construct_document(root) if root is not None else None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        detail = " ".join(
            str(part)
            for part in (getattr(exc, "context", None), getattr(exc, "problem", None))
            if part
        )
        errors.append(
            RegistryProblem(
                display,
                f"not valid YAML: {detail or exc}",
                _real_line(text, mark.line) if mark is not None else None,
                file_level=True,
            )
        )
        return []
    finally:
        loader.dispose()
    if data is None:
        return []
    if not isinstance(data, dict) or not isinstance(root, yaml.MappingNode):
        errors.append(
            RegistryProblem(
                display,
                f"the top level must be a mapping with some of: {', '.join(TOP_LEVEL_KEYS)}",
                root.start_mark.line + 1,
                file_level=True,
            )
        )
        return []
    entries: list[_Entry] = []
    keys = [k.value if isinstance(k, yaml.ScalarNode) else None for k, _ in root.value]
    for position, (key_node, value_node) in enumerate(root.value):
        key = keys[position]
        line = key_node.start_mark.line + 1
        if key not in TOP_LEVEL_KEYS:
            errors.append(
                RegistryProblem(
                    display,
                    f"unknown top-level key (allowed: {', '.join(TOP_LEVEL_KEYS)})",
                    line,
                    str(key),
                    file_level=True,
                )
            )
            continue
        if key in keys[position + 1 :]:
            # YAML keeps the last value of a repeated key: say so rather than merge or guess.
            errors.append(
                RegistryProblem(
                    display,
                    "top-level key given again below; this one is ignored",
                    line,
                    key,
                    file_level=True,
                )
            )
            continue
        if key in ("projects", "waves"):
            if isinstance(value_node, yaml.ScalarNode) and data[key] is None:
                continue
            if not isinstance(value_node, yaml.SequenceNode):
                errors.append(
                    RegistryProblem(display, "must be a list", line, key, file_level=True)
                )
                continue
            for index, item in enumerate(value_node.value):
                entries.append(_Entry(display, path.parent, key, index, data[key][index], item))
        else:
            entries.append(_Entry(display, path.parent, key, None, data[key], value_node))
    return entries


def _registry_files(path: Path) -> list[tuple[Path, str]]:
    if path.is_dir():
        files = sorted(p for p in path.iterdir() if p.suffix in (".yaml", ".yml") and p.is_file())
        if not files:
            raise RegistryFileError(f"{path}: no *.yaml or *.yml registry file in this directory")
        return [(p, str(path / p.name)) for p in files]
    if path.is_file():
        return [(path, str(path))]
    raise RegistryFileError(f"{path}: no such registry file or directory")


def load_registry(path: str | Path, *, environ: Mapping[str, str] | None = None) -> LoadedRegistry:
    """Load a registry file or directory (its ``*.yaml``/``*.yml`` files, by name, merged).

    Everything valid is loaded; every problem becomes a :class:`RegistryProblem` in ``.errors``
    and its entry is left out (see the module docstring). ``environ`` (default ``os.environ``)
    expands ``${VAR}`` in git URLs. RegistryFileError only if ``path`` is missing or empty.
    """
    errors: list[RegistryProblem] = []
    entries: list[_Entry] = []
    for file, display in _registry_files(Path(path)):
        entries += _read(file, display, errors)

    return _assemble(entries, errors, os.environ if environ is None else environ)


def _dedupe(
    items: list[tuple[_Entry, Any]], kind: str, errors: list[RegistryProblem]
) -> tuple[list[tuple[_Entry, Any]], set[str]]:
    """Drop every definition of a name defined more than once (ambiguous: no guessing)."""
    where: dict[str, list[_Entry]] = {}
    for entry, model in items:
        where.setdefault(model.name, []).append(entry)
    repeated = {name for name, places in where.items() if len(places) > 1}
    for name in sorted(repeated):
        places = where[name]
        for entry in places:
            others = ", ".join(f"{e.file}:{e.line}" for e in places if e is not entry)
            errors.append(
                RegistryProblem(
                    entry.file,
                    f"{kind} name {name!r} is defined more than once (also at {others}); "
                    "every definition is left out",
                    entry.line,
                    f"{entry.prefix}.name",
                    project=name if kind == "project" else None,
                    wave=name if kind == "wave" else entry.readable("wave"),
                )
            )
    return [(e, m) for e, m in items if m.name not in repeated], repeated


def _assemble(
    entries: list[_Entry], errors: list[RegistryProblem], environ: Mapping[str, str]
) -> LoadedRegistry:
    waves: list[tuple[_Entry, Wave]] = []
    broken_waves: set[str] = set()
    for entry in (e for e in entries if e.key == "waves"):
        wave = _validate(entry, Wave, errors, environ, wave=entry.readable("name"))
        if wave is None:
            if entry.readable("name"):
                broken_waves.add(entry.readable("name"))
        else:
            waves.append((entry, wave))
    waves, repeated = _dedupe(waves, "wave", errors)
    broken_waves |= repeated

    settings: dict[str, tuple[_Entry, BaseModel]] = {}
    for key, model in (("notifications", Notifications), ("prefect1_server", Prefect1Server)):
        for entry in (e for e in entries if e.key == key):
            if key in settings:
                first = settings[key][0]
                errors.append(
                    RegistryProblem(
                        entry.file,
                        f"already set at {first.file}:{first.line}; this one is ignored",
                        entry.line,
                        key,
                    )
                )
                continue
            value = _validate(entry, model, errors, environ)
            if value is not None:
                settings[key] = (entry, value)

    projects: list[tuple[_Entry, Project]] = []
    for entry in (e for e in entries if e.key == "projects"):
        who = {"project": entry.readable("name"), "wave": entry.readable("wave")}
        project = _validate(entry, Project, errors, environ, **who)
        if project is not None:
            projects.append((entry, project))
    projects, _ = _dedupe(projects, "project", errors)

    known = {wave.name for _, wave in waves}
    kept: list[tuple[_Entry, Project]] = []
    for entry, project in projects:
        if project.wave in known:
            kept.append((entry, project))
            continue
        if project.wave in broken_waves:
            message = f"wave {project.wave!r} has errors (see its entry); project left out"
        else:
            listed = ", ".join(sorted(known)) or "none"
            message = f"unknown wave {project.wave!r} (known waves: {listed})"
        errors.append(
            RegistryProblem(
                entry.file,
                message,
                _line_of(entry.node, ("wave",)),
                f"{entry.prefix}.wave",
                project.name,
                project.wave,
            )
        )

    registry = Registry(
        projects=[p for _, p in kept],
        waves=[w for _, w in waves],
        **{key: value for key, (_, value) in settings.items()},
    )
    registry._sources = {p.name: f"{e.file}:{e.line}" for e, p in kept}
    return LoadedRegistry(registry, errors)
