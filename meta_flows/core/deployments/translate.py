"""Translate an inventory's Prefect 1 deployment config into Prefect 2.20 deployments (§13-§16, §19).

Input: an :class:`~meta_flows.core.inventory.model.Inventory` (storage, run config, schedule, labels and
``register(project_name=...)`` of every flow, plus the ``@flow`` function name the codemod gives
it). Output: a :class:`Plan` that :mod:`meta_flows.core.deployments.render` writes as ``prefect.yaml``
and ``work-pools.yaml``:

- **Deployments**, one per distinct clock parameter set (and clock label set) of a flow. A flow with
  one set (or no schedule) gets one deployment named like the flow; with several, each is named
  ``<flow>-<suffix>`` where the suffix is made of the parameter values that differ between the sets
  (``daily-sales-eu``). Each carries ``entrypoint: <file>:<function>``, its clocks' parameter
  defaults as ``parameters``, the tags ``project:<name>``, ``label:<label>``…,
  ``migrated-from-prefect1``, its clocks as ``schedules`` (all ``active: false``: the new
  deployments shadow the Prefect 1 ones until promoted), its work pool with ``job_variables`` and
  the pull (and for Docker storage build/push) steps of its storage.
- **Work pools**: one per label set and run-config type (``k8s-prod`` from the label ``k8s-prod``;
  ``<type>-pool`` without labels; ``--pool NAME=TYPE`` sends every deployment of that type to
  ``NAME``). Kubernetes pools get the extended base job template of
  :mod:`meta_flows.core.deployments.kubernetes`; other types keep their worker's default template.
- **Blocks** users must create (Secret blocks for Prefect 1 secrets the storage used).
- **TODOs** for what has no exact Prefect 2.20 equivalent, attached to the key they concern.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import PurePosixPath
from typing import Any
from zoneinfo import ZoneInfo

from meta_flows.core.inventory.model import (
    ClockInfo,
    ComponentInfo,
    FlowInfo,
    Inventory,
    ScheduleInfo,
)
from meta_flows.core.naming import prefect2_flow_name

MIGRATED_TAG = "migrated-from-prefect1"
TODO_PREFIX = "TODO(prefect2-migration):"
BANNED_NAME_CHARACTERS = ("/", "%", "&", ">", "<")

# Run config class -> Prefect 2 work pool type (§15). No run config in Prefect 1 meant UniversalRun.
POOL_TYPES = {
    "LocalRun": "process",
    "UniversalRun": "process",
    "DockerRun": "docker",
    "KubernetesRun": "kubernetes",
    "ECSRun": "ecs",
    "VertexRun": "vertex-ai",
}
# Work pool types whose worker lives in a separate package.
POOL_PACKAGES = {
    "docker": "prefect-docker",
    "kubernetes": "prefect-kubernetes",
    "ecs": "prefect-aws",
    "vertex-ai": "prefect-gcp",
}
# KubernetesRun fields that become job variables, in the order they are written.
KUBERNETES_VARIABLES = (
    "image",
    "env",
    "cpu_request",
    "cpu_limit",
    "memory_request",
    "memory_limit",
    "service_account_name",
    "image_pull_policy",
    "image_pull_secrets",
    "namespace",
)
DOCKER_STEPS_PACKAGE = "prefect-docker>=0.3.1"


class TranslationError(ValueError):
    """Bad input to the translator (e.g. an unknown ``--pool`` type)."""


@dataclass
class Todo:
    """Something a human must do; ``key`` is the deployment key it concerns (None: the entry)."""

    message: str
    key: str | None = None


@dataclass
class BlockPlan:
    """A block users must create before the deployments can run."""

    type: str
    name: str
    source: str = ""  # the Prefect 1 secret name it replaces
    used_by: list[str] = field(default_factory=list)

    def describe(self) -> str:
        text = f"create {self.type} block `{self.name}`"
        if self.source:
            text += f" (the Prefect 1 secret {self.source})"
        if self.used_by:
            text += f"; used by {', '.join(sorted(self.used_by))}"
        return text


@dataclass
class PoolPlan:
    name: str
    type: str
    base_job_template: dict[str, Any] | None = None  # None: the worker type's default
    todos: list[Todo] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        data: dict[str, Any] = {"name": self.name, "type": self.type}
        if self.base_job_template is not None:
            data["base_job_template"] = self.base_job_template
        return data


@dataclass
class DeploymentPlan:
    name: str
    flow_name: str
    entrypoint: str
    parameters: dict[str, Any] = field(default_factory=dict)
    tags: list[str] = field(default_factory=list)
    schedules: list[dict[str, Any]] = field(default_factory=list)
    work_pool: dict[str, Any] = field(default_factory=dict)
    pull: list[dict[str, Any]] = field(default_factory=list)
    build: list[dict[str, Any]] | None = None
    push: list[dict[str, Any]] | None = None
    todos: list[Todo] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        """The ``prefect.yaml`` entry (keys in the order Prefect's own templates use)."""
        data: dict[str, Any] = {
            "name": self.name,
            "entrypoint": self.entrypoint,
            "parameters": self.parameters,
            "tags": self.tags,
            "schedules": self.schedules,
            "work_pool": self.work_pool,
        }
        if self.build is not None:
            data["build"] = self.build
        if self.push is not None:
            data["push"] = self.push
        data["pull"] = self.pull
        return data


@dataclass
class Plan:
    project: str
    deployments: list[DeploymentPlan] = field(default_factory=list)
    pools: list[PoolPlan] = field(default_factory=list)
    blocks: list[BlockPlan] = field(default_factory=list)
    todos: list[Todo] = field(default_factory=list)

    def deployment(self, name: str) -> DeploymentPlan:
        return next(d for d in self.deployments if d.name == name)

    def pool(self, name: str) -> PoolPlan:
        return next(p for p in self.pools if p.name == name)

    def all_todos(self) -> list[str]:
        found = [t.message for t in self.todos]
        found += [f"{p.name}: {t.message}" for p in self.pools for t in p.todos]
        found += [f"{d.name}: {t.message}" for d in self.deployments for t in d.todos]
        return found


# --------------------------------------------------------------------------------------------
# Names


def sanitize_name(name: str) -> str:
    """Replace the characters Prefect 2 rejects in flow/deployment/pool names with '-'."""
    for char in BANNED_NAME_CHARACTERS:
        name = name.replace(char, "-")
    return name


def slug(text: str) -> str:
    """``"GITHUB_TOKEN"`` -> ``"github-token"``: lowercase, runs of other characters -> '-'."""
    return re.sub(r"[^a-z0-9]+", "-", str(text).lower()).strip("-")


def secret_block_name(secret: str) -> str:
    return slug(secret) or "secret"


def parse_pool_overrides(items: Iterable[str]) -> dict[str, str]:
    """``["k8s=kubernetes", "local=LocalRun"]`` -> ``{"kubernetes": "k8s", "process": "local"}``."""
    overrides: dict[str, str] = {}
    for item in items:
        name, sep, kind = item.partition("=")
        name, kind = name.strip(), kind.strip()
        if not sep or not name or not kind:
            raise TranslationError(f"--pool expects NAME=TYPE, got {item!r}")
        pool_type = POOL_TYPES.get(kind, kind)
        if pool_type not in set(POOL_TYPES.values()):
            known = ", ".join(sorted(set(POOL_TYPES.values()) | set(POOL_TYPES)))
            raise TranslationError(f"--pool {item!r}: unknown type {kind!r} (one of {known})")
        if any(c in name for c in BANNED_NAME_CHARACTERS):
            raise TranslationError(f"--pool {item!r}: a work pool name cannot contain / % & > <")
        overrides[pool_type] = name
    return overrides


# --------------------------------------------------------------------------------------------
# Schedules (§16)

_DAY_CODES = ("SU", "MO", "TU", "WE", "TH", "FR", "SA")  # cron numbering: 0 = Sunday
_ALL_DAYS = frozenset(range(7))
_WEEKDAYS = frozenset({1, 2, 3, 4, 5})
_WEEKEND = frozenset({0, 6})


UNEVALUATED_PREFIX = "<unevaluated:"


def unevaluated(value: Any) -> bool:
    """A value the static inventory reader could not evaluate (``"<unevaluated: EXPR>"``)."""
    return isinstance(value, str) and value.startswith(UNEVALUATED_PREFIX)


def _unevaluated_fields(fields: Mapping[str, Any]) -> list[str]:
    return [f"{k}={v}" for k, v in fields.items() if unevaluated(v)]


def _short(name: str) -> str:
    return name.rsplit(".", 1)[-1]


@dataclass
class _Filters:
    """A schedule's filters folded into a set of allowed weekdays (None: no constraint)."""

    days: frozenset[int] | None = None
    unsupported: list[str] = field(default_factory=list)


def fold_filters(schedule: ScheduleInfo | None) -> _Filters:
    folded = _Filters()
    if schedule is None:
        return folded

    def restrict(days: frozenset[int]) -> None:
        folded.days = days if folded.days is None else folded.days & days

    for name in schedule.filters:
        days = {"is_weekday": _WEEKDAYS, "is_weekend": _WEEKEND}.get(_short(name))
        if days is None:
            folded.unsupported.append(f"filters=[{name}]")
        else:
            restrict(days)
    for name in schedule.not_filters:
        days = {"is_weekday": _WEEKEND, "is_weekend": _WEEKDAYS}.get(_short(name))
        if days is None:
            folded.unsupported.append(f"not_filters=[{name}]")
        else:
            restrict(days)
    if schedule.or_filters:
        names = [_short(n) for n in schedule.or_filters]
        if all(n in ("is_weekday", "is_weekend") for n in names):
            union: frozenset[int] = frozenset()
            for n in names:
                union |= _WEEKDAYS if n == "is_weekday" else _WEEKEND
            restrict(union)
        else:
            folded.unsupported.append(f"or_filters={schedule.or_filters}")
    for name in schedule.adjustments:
        folded.unsupported.append(f"adjustments=[{name}]")
    if folded.days == _ALL_DAYS:
        folded.days = None
    return folded


def _cron_days(days: frozenset[int]) -> str:
    ordered = sorted(days)
    if len(ordered) > 2 and ordered == list(range(ordered[0], ordered[-1] + 1)):
        return f"{ordered[0]}-{ordered[-1]}"
    return ",".join(str(d) for d in ordered)


def _byday(days: frozenset[int]) -> str:
    order = [1, 2, 3, 4, 5, 6, 0]  # MO..SU
    return ",".join(_DAY_CODES[d] for d in order if d in days)


def _parse_dt(text: str) -> datetime:
    value = datetime.fromisoformat(text.replace("Z", "+00:00"))
    return value if value.tzinfo else value.replace(tzinfo=timezone.utc)


def _local(text: str, tz: str) -> str:
    """An ISO datetime as the wall-clock time in ``tz``, RFC 5545 style (``20230101T060000``)."""
    return _parse_dt(text).astimezone(ZoneInfo(tz)).strftime("%Y%m%dT%H%M%S")


def _with_until(rrule: str, until: str) -> str | None:
    """Add ``UNTIL`` to the single RRULE line of ``rrule`` (None if that is not possible)."""
    lines = rrule.strip().splitlines()
    rule_lines = [i for i, line in enumerate(lines) if not line.startswith(("DTSTART", "RDATE"))]
    if len(rule_lines) != 1 or re.search(r"(UNTIL|COUNT)=", rrule):
        return None if len(rule_lines) != 1 else rrule
    index = rule_lines[0]
    lines[index] = f"{lines[index]};UNTIL={until}"
    return "\n".join(lines)


def _with_byday(rrule: str, days: frozenset[int]) -> str | None:
    lines = rrule.strip().splitlines()
    rule_lines = [i for i, line in enumerate(lines) if not line.startswith(("DTSTART", "RDATE"))]
    if len(rule_lines) != 1 or "BYDAY=" in rrule:
        return None
    index = rule_lines[0]
    lines[index] = f"{lines[index]};BYDAY={_byday(days)}"
    return "\n".join(lines)


def _simple_cron_rrule(cron: str) -> str | None:
    """``"0 6 * * 1-5"`` -> ``RRULE:FREQ=DAILY;BYHOUR=6;BYMINUTE=0;BYSECOND=0;BYDAY=…``; else None."""
    fields = cron.split()
    if len(fields) != 5:
        return None
    minute, hour, dom, month, dow = fields
    number_list = re.compile(r"^\d+(,\d+)*$")
    if not (number_list.match(minute) and number_list.match(hour)) or dom != "*" or month != "*":
        return None
    rule = f"RRULE:FREQ=DAILY;BYHOUR={hour};BYMINUTE={minute};BYSECOND=0"
    if dow not in ("*", "?"):
        days = _cron_dow_set(dow)
        if days is None:
            return None
        rule += f";BYDAY={_byday(days)}"
    return rule


def _cron_dow_set(dow: str) -> frozenset[int] | None:
    days: set[int] = set()
    for part in dow.split(","):
        match = re.fullmatch(r"(\d)(?:-(\d))?", part)
        if not match:
            return None
        start = int(match.group(1))
        end = int(match.group(2) or start)
        days.update(d % 7 for d in range(start, end + 1))
    return frozenset(days)


def _interval_rrule(clock: ClockInfo, tz: str, anchor: str) -> str | None:
    seconds = int(clock.interval or 0)
    if seconds <= 0 or seconds != clock.interval:
        return None
    for unit, freq in ((86400, "DAILY"), (3600, "HOURLY"), (60, "MINUTELY"), (1, "SECONDLY")):
        if seconds % unit == 0:
            return f"DTSTART:{_local(anchor, tz)}\nRRULE:FREQ={freq};INTERVAL={seconds // unit}"
    return None  # pragma: no cover - unit 1 always divides


# Prefect 1's IntervalClock anchors at 2019-01-01 UTC when it has no start_date.
PREFECT1_INTERVAL_ANCHOR = "2019-01-01T00:00:00+00:00"


def translate_clock(clock: ClockInfo, filters: _Filters) -> tuple[dict[str, Any] | None, list[str]]:
    """One Prefect 1 clock -> a ``schedules:`` entry (``active: false``) and TODO messages."""
    unread = clock.unevaluated + _unevaluated_fields(clock.model_dump(exclude={"unevaluated"}))
    if unread:
        return None, [
            f"{clock.type} could not be read statically ({'; '.join(unread)}): add its schedule"
        ]
    tz = clock.timezone or "UTC"
    todos: list[str] = []
    entry: dict[str, Any] | None = None
    days = filters.days
    until = _local(clock.end_date, tz) if clock.end_date else None

    if clock.type == "CronClock" and clock.cron:
        cron = clock.cron
        fields = cron.split()
        if days is not None:
            if len(fields) == 5 and fields[2] == "*" and fields[4] in ("*", "?"):
                fields[4] = _cron_days(days)
                cron = " ".join(fields)
                days = None
            else:
                todos.append(f"the schedule's weekday filter cannot be folded into cron {cron!r}")
        if clock.day_or is False and len(fields) == 5 and "*" not in (fields[2], fields[4]):
            todos.append(
                f"cron {cron!r} used day_or=False (day-of-month AND day-of-week); prefect.yaml "
                "schedules cannot set day_or: set it on the deployment's schedule in the UI/API"
            )
        if until:
            rule = _simple_cron_rrule(cron)
            if rule is None:
                entry = {"cron": cron}
                todos.append(
                    f"the clock ended at {clock.end_date}; cron {cron!r} has no end date in "
                    "Prefect 2: pause or delete this schedule then"
                )
            else:
                start = f"DTSTART:{_local(clock.start_date, tz)}\n" if clock.start_date else ""
                entry = {"rrule": f"{start}{rule};UNTIL={until}"}
        else:
            entry = {"cron": cron}
    elif clock.type == "IntervalClock" and clock.interval:
        anchor = clock.start_date or PREFECT1_INTERVAL_ANCHOR
        if days is not None or until:
            rule = _interval_rrule(clock, tz, anchor)
            if rule is not None and days is not None:
                rule = _with_byday(rule, days)
                days = None
            if rule is not None and until:
                rule = _with_until(rule, until)
                until = None
            if rule is not None:
                entry = {"rrule": rule}
                if clock.interval % 86400 and tz != "UTC":
                    todos.append(
                        "interval clock rewritten as an rrule (for its filter/end date); "
                        "check the run times around daylight-saving changes"
                    )
        if entry is None:
            seconds = clock.interval
            entry = {"interval": int(seconds) if seconds == int(seconds) else seconds}
            entry["anchor_date"] = anchor
    elif clock.type == "RRuleClock" and clock.rrule:
        rule = clock.rrule
        if days is not None:
            folded = _with_byday(rule, days)
            if folded is None:
                todos.append("the schedule's weekday filter cannot be folded into this rrule")
            else:
                rule, days = folded, None
        if until:
            folded = _with_until(rule, until)
            if folded is None:
                todos.append(f"the clock ended at {clock.end_date}: add UNTIL to this rrule")
            else:
                rule = folded
        entry = {"rrule": rule}
    elif clock.type == "DatesClock":
        dates = [_parse_dt(d) for d in clock.dates]
        if clock.start_date:
            dates = [d for d in dates if d >= _parse_dt(clock.start_date)]
        if clock.end_date:
            dates = [d for d in dates if d <= _parse_dt(clock.end_date)]
        if days is not None:
            dates = [d for d in dates if (d.weekday() + 1) % 7 in days]
            days = None
        if not dates:
            todos.append("DatesClock has no dates left to schedule: no schedule written")
            return None, todos
        rdates = ",".join(
            sorted(d.astimezone(ZoneInfo(tz)).strftime("%Y%m%dT%H%M%S") for d in dates)
        )
        entry = {"rrule": f"RDATE:{rdates}"}
        todos.append("DatesClock translated to an rrule of RDATEs (C): check the listed run times")
    else:
        todos.append(f"{clock.type} without a cron/interval/rrule/dates value: no schedule written")
        return None, todos

    if days is not None:
        todos.append(f"the schedule only ran on {_byday(days)}: restrict this schedule by hand")
    entry["timezone"] = tz
    entry["active"] = False
    return entry, todos


# --------------------------------------------------------------------------------------------
# Storage -> pull (and build/push) steps (§14)


@dataclass
class _StorageSteps:
    pull: list[dict[str, Any]] = field(default_factory=list)
    build: list[dict[str, Any]] | None = None
    push: list[dict[str, Any]] | None = None
    image: str | None = None  # the image a Docker build produces, for job_variables
    entrypoint_file: str | None = None
    secrets: list[str] = field(default_factory=list)  # Prefect 1 secret names -> Secret blocks
    todos: list[Todo] = field(default_factory=list)


def _git_clone(repository: str, branch: str | None, secret: str | None) -> dict[str, Any]:
    step: dict[str, Any] = {"repository": repository}
    if branch:
        step["branch"] = branch
    if secret:
        step["access_token"] = f"{{{{ prefect.blocks.secret.{secret_block_name(secret)} }}}}"
    return {"prefect.deployments.steps.git_clone": step}


def _host_of(url: str) -> str:
    return re.sub(r"^[a-z]+://", "", url).split("/", 1)[0]


def _is_commit(ref: str | None) -> bool:
    return bool(ref and re.fullmatch(r"[0-9a-f]{7,40}", ref))


def translate_storage(flow: FlowInfo, repo_root: str) -> _StorageSteps:
    storage = flow.storage
    steps = _StorageSteps()
    if storage is None:
        steps.pull = [_set_working_directory(repo_root)]
        steps.todos.append(
            Todo(
                "the flow had no storage in Prefect 1 (the default): set_working_directory "
                "points at this checkout; make that path exist on the worker",
                "pull",
            )
        )
        return steps
    f = {k: v for k, v in storage.fields.items() if not unevaluated(v)}
    unread = _unevaluated_fields(storage.fields)
    if unread:
        steps.todos.append(
            Todo(f"storage values the inventory could not read: {', '.join(unread)}", "pull")
        )
    kind = storage.type
    required = {"GitHub": "repo", "GitLab": "repo", "Bitbucket": "repo", "Git": "repo"}
    required.update({"S3": "bucket", "GCS": "bucket", "Azure": "container"})
    if kind in required and not f.get(required[kind]):
        steps.pull = [_set_working_directory(repo_root)]
        steps.todos.append(
            Todo(f"{kind} storage without a readable {required[kind]}: write its pull step", "pull")
        )
        return steps
    if kind == "GitHub":
        host = _host_of(f["base_url"]) if f.get("base_url") else "github.com"
        if host.startswith("api."):
            host = host[4:]
        ref = f.get("ref")
        steps.pull = [
            _git_clone(
                f"https://{host}/{f['repo']}.git",
                None if _is_commit(ref) else ref,
                f.get("access_token_secret"),
            )
        ]
        if f.get("base_url"):
            steps.todos.append(
                Todo(f"GitHub Enterprise base_url {f['base_url']}: check the clone URL", "pull")
            )
        if _is_commit(ref):
            steps.todos.append(_pin_todo("commit", ref))
        _add_secret(steps, f.get("access_token_secret"))
        steps.entrypoint_file = f.get("path")
    elif kind in ("GitLab", "Bitbucket"):
        default_host = "gitlab.com" if kind == "GitLab" else "bitbucket.org"
        host = _host_of(f.get("host") or default_host)
        repo = (
            f["repo"]
            if kind == "GitLab"
            else f"{f.get('workspace') or f.get('project')}/{f['repo']}"
        )
        ref = f.get("ref")
        steps.pull = [
            _git_clone(
                f"https://{host}/{repo}.git",
                None if _is_commit(ref) else ref,
                f.get("access_token_secret"),
            )
        ]
        if _is_commit(ref):
            steps.todos.append(_pin_todo("commit", ref))
        _add_secret(steps, f.get("access_token_secret"))
        steps.todos.append(
            Todo(
                f"{kind} storage: check the clone URL and the token format, or use a "
                f"prefect-{kind.lower()} credentials block (credentials: on git_clone)",
                "pull",
            )
        )
        if kind == "Bitbucket" and (
            f.get("cloud_username_secret") or f.get("cloud_app_password_secret")
        ):
            steps.todos.append(
                Todo(
                    "Bitbucket Cloud app password: use a prefect-bitbucket credentials block",
                    "pull",
                )
            )
        steps.entrypoint_file = f.get("path")
    elif kind == "Git":
        host = f.get("repo_host") or "github.com"
        if f.get("use_ssh"):
            repository = f"git@{host}:{f['repo']}.git"
        else:
            repository = f"https://{host}/{f['repo']}.git"
        steps.pull = [
            _git_clone(
                repository,
                f.get("branch_name"),
                None if f.get("use_ssh") else f.get("git_token_secret_name"),
            )
        ]
        if not f.get("use_ssh"):
            _add_secret(steps, f.get("git_token_secret_name"))
        for pin in ("tag", "commit"):
            if f.get(pin):
                steps.todos.append(_pin_todo(pin, f[pin]))
        if f.get("git_clone_url_secret_name"):
            steps.todos.append(
                Todo(
                    f"the clone URL came from the Prefect 1 secret {f['git_clone_url_secret_name']}: "
                    "put the real repository URL here",
                    "pull",
                )
            )
        if f.get("git_token_username"):
            steps.todos.append(
                Todo(
                    f"git_token_username={f['git_token_username']!r}: use a credentials block "
                    "(credentials: on git_clone) when the host needs a username",
                    "pull",
                )
            )
        if f.get("use_ssh"):
            steps.todos.append(Todo("SSH clone: the worker needs the deploy key", "pull"))
        steps.entrypoint_file = f.get("flow_path")
    elif kind in ("Local", "Module"):
        directory = repo_root
        path = f.get("path")
        if kind == "Local" and path and PurePosixPath(path).is_absolute():
            parts = PurePosixPath(path).parts
            rel = PurePosixPath(flow.file).parts
            if len(parts) > len(rel) and parts[-len(rel) :] == rel:
                directory = str(PurePosixPath(*parts[: -len(rel)]))
        steps.pull = [_set_working_directory(directory)]
        if directory == repo_root:
            steps.todos.append(
                Todo(
                    "set_working_directory must name the repository checkout on the worker",
                    "pull",
                )
            )
        if kind == "Local" and f.get("stored_as_script") is False:
            steps.todos.append(
                Todo(
                    "Prefect 1 ran a pickled copy of the flow; Prefect 2 runs the source file",
                    "pull",
                )
            )
        if kind == "Module":
            module_file = f.get("module", "").replace(".", "/") + ".py"
            if module_file != flow.file and not flow.file.endswith(module_file):
                steps.todos.append(
                    Todo(
                        f"Module storage imported {f.get('module')!r}; the entrypoint uses the "
                        f"file {flow.file} instead: check it is the same code",
                        "entrypoint",
                    )
                )
    elif kind in ("S3", "GCS", "Azure"):
        key = f.get("key") or f.get("blob_name") or ""
        folder = str(PurePosixPath(key).parent) if key else ""
        folder = "" if folder == "." else folder
        if kind == "S3":
            step = {
                "prefect_aws.deployments.steps.pull_from_s3": {
                    "requires": "prefect-aws",
                    "bucket": f["bucket"],
                    "folder": folder,
                }
            }
            creds = "an AwsCredentials block (credentials:)"
        elif kind == "GCS":
            args = {"requires": "prefect-gcp", "bucket": f["bucket"], "folder": folder}
            if f.get("project"):
                args["project"] = f["project"]
            step = {"prefect_gcp.deployments.steps.pull_from_gcs": args}
            creds = "a GcpCredentials block (credentials:)"
        else:
            step = {
                "prefect_azure.deployments.steps.pull_from_azure_blob_storage": {
                    "requires": "prefect-azure",
                    "container": f["container"],
                    "folder": folder,
                }
            }
            creds = "an AzureBlobStorageCredentials block (credentials:)"
            if f.get("connection_string_secret"):
                creds += (
                    f" holding the connection string of the secret {f['connection_string_secret']}"
                )
        steps.pull = [step]
        todo = f"{kind} storage (C): the pull step downloads the folder's files; give it {creds}"
        if not f.get("stored_as_script"):
            todo += (
                "; Prefect 1 stored a pickled flow there: upload the migrated source "
                "instead (a push step or your CI)"
            )
        steps.todos.append(Todo(todo, "pull"))
    elif kind == "Docker":
        image_name = f.get("image_name") or slug(flow.name)
        registry = (f.get("registry_url") or "").rstrip("/")
        full_name = f"{registry}/{image_name}" if registry else image_name
        build: dict[str, Any] = {
            "id": "build-image",
            "requires": DOCKER_STEPS_PACKAGE,
            "image_name": full_name,
        }
        if f.get("image_tag"):
            build["tag"] = f["image_tag"]
        build["dockerfile"] = f.get("dockerfile") or "auto"
        steps.build = [{"prefect_docker.deployments.steps.build_docker_image": build}]
        steps.push = [
            {
                "prefect_docker.deployments.steps.push_docker_image": {
                    "requires": DOCKER_STEPS_PACKAGE,
                    "image_name": "{{ build-image.image_name }}",
                    "tag": "{{ build-image.tag }}",
                }
            }
        ]
        steps.image = "{{ build-image.image }}"
        steps.pull = [
            _set_working_directory(f"/opt/prefect/{repo_root.rstrip('/').rsplit('/', 1)[-1]}")
        ]
        steps.todos.append(
            Todo(
                "Docker storage (C): the image is built from the repository (dockerfile: auto "
                "copies it to /opt/prefect/<project> and installs requirements.txt); add what "
                "Prefect 1's python_dependencies/files/extra_dockerfile_commands installed",
                "build",
            )
        )
    else:
        steps.pull = [_set_working_directory(repo_root)]
        steps.todos.append(
            Todo(f"{kind} storage has no Prefect 2 pull step: make the code available", "pull")
        )
    return steps


def _set_working_directory(directory: str) -> dict[str, Any]:
    return {"prefect.deployments.steps.set_working_directory": {"directory": directory}}


def _pin_todo(kind: str, value: str) -> Todo:
    return Todo(
        f"Prefect 1 pinned {kind} {value}; git_clone in 2.20 cannot pin a {kind}: clone a "
        "branch that points at it, or check it out in an extra run_shell_script pull step",
        "pull",
    )


def _add_secret(steps: _StorageSteps, secret: str | None) -> None:
    if secret:
        steps.secrets.append(secret)


# --------------------------------------------------------------------------------------------
# Run config -> work pool type and job variables (§15)


@dataclass
class _RunConfig:
    pool_type: str
    job_variables: dict[str, Any] = field(default_factory=dict)
    job_template: dict[str, Any] | None = None
    labels: list[str] = field(default_factory=list)
    todos: list[Todo] = field(default_factory=list)


def translate_run_config(run_config: ComponentInfo | None, image: str | None) -> _RunConfig:
    """A Prefect 1 run config -> pool type, job variables, Kubernetes job template, labels."""
    if run_config is None:
        result = _RunConfig("process")
        if image:
            result.todos.append(
                Todo(
                    "Docker storage without a Docker/Kubernetes run config: pick a pool type",
                    "work_pool",
                )
            )
        return result
    f = {k: v for k, v in run_config.fields.items() if v is not None and not unevaluated(v)}
    kind = run_config.type
    pool_type = POOL_TYPES.get(kind)
    result = _RunConfig(pool_type or "process", labels=list(f.get("labels") or []))
    unread = _unevaluated_fields(run_config.fields)
    if unread:
        result.todos.append(
            Todo(
                f"run config values the inventory could not read: {', '.join(unread)}", "work_pool"
            )
        )
    variables = result.job_variables
    if pool_type is None:
        result.todos.append(
            Todo(f"{kind} has no Prefect 2 work pool type: choose one", "work_pool")
        )
        return result
    if kind in ("LocalRun", "UniversalRun"):
        for key in ("env", "working_dir"):
            if f.get(key) not in (None, {}):
                variables[key] = f[key]
    elif kind == "DockerRun":
        if f.get("image") or image:
            variables["image"] = f.get("image") or image
        if f.get("env"):
            variables["env"] = f["env"]
        if f.get("host_config"):
            result.todos.append(
                Todo(
                    f"DockerRun host_config {json.dumps(f['host_config'], sort_keys=True)}: map it to "
                    "the docker work pool's volumes/networks/mem_limit/privileged variables",
                    "work_pool",
                )
            )
        if f.get("ports"):
            result.todos.append(
                Todo(
                    f"DockerRun ports {f['ports']}: the docker worker does not publish ports",
                    "work_pool",
                )
            )
    elif kind == "KubernetesRun":
        values = dict(f)
        if image and not values.get("image"):
            values["image"] = image
        for key in KUBERNETES_VARIABLES:
            value = values.get(key)
            if value in (None, "", [], {}):
                continue
            if key == "image_pull_secrets":
                value = [{"name": name} for name in value]
            variables[key] = value
        if f.get("job_template"):
            result.job_template = f["job_template"]
            result.todos.append(
                Todo(
                    "KubernetesRun job_template merged into the work pool's base job template "
                    "(C): check the merged Job manifest",
                    "work_pool",
                )
            )
        if f.get("job_template_path"):
            result.todos.append(
                Todo(
                    f"KubernetesRun job_template_path {f['job_template_path']}: merge that file "
                    "into the work pool's base job template (work-pools.yaml)",
                    "work_pool",
                )
            )
    elif kind == "ECSRun":
        for key in ("image", "env", "cpu", "memory", "task_role_arn", "execution_role_arn"):
            if f.get(key) not in (None, {}):
                variables[key] = f[key]
        rest = [
            k
            for k in (
                "task_definition",
                "task_definition_path",
                "task_definition_arn",
                "run_task_kwargs",
            )
            if f.get(k)
        ]
        result.todos.append(
            Todo(
                "ECSRun -> ecs work pool (prefect-aws) (C): check the job variables"
                + (f"; carry over {', '.join(rest)} by hand" if rest else ""),
                "work_pool",
            )
        )
    elif kind == "VertexRun":
        mapping = {
            "image": "image",
            "env": "env",
            "machine_type": "machine_type",
            "service_account": "service_account_name",
            "network": "network",
        }
        for source, target in mapping.items():
            if f.get(source) not in (None, {}):
                variables[target] = f[source]
        rest = [k for k in ("scheduling", "worker_pool_specs") if f.get(k)]
        result.todos.append(
            Todo(
                "VertexRun -> vertex-ai work pool (prefect-gcp) (C): check the job variables"
                + (f"; carry over {', '.join(rest)} by hand" if rest else ""),
                "work_pool",
            )
        )
    return result


# --------------------------------------------------------------------------------------------
# Clock groups -> deployments


@dataclass
class _Group:
    parameters: dict[str, Any]
    labels: list[str] | None  # clock labels (override the flow's), None when the clocks had none
    clocks: list[ClockInfo] = field(default_factory=list)


def group_clocks(schedule: ScheduleInfo | None) -> list[_Group]:
    """Clocks grouped by (parameter defaults, labels), in order of first appearance."""
    groups: dict[str, _Group] = {}
    for clock in schedule.clocks if schedule else []:
        labels = sorted(clock.labels) if clock.labels else None
        key = json.dumps([clock.parameter_defaults, labels], sort_keys=True, default=str)
        if key not in groups:
            groups[key] = _Group(dict(clock.parameter_defaults), labels)
        groups[key].clocks.append(clock)
    return list(groups.values()) or [_Group({}, None)]


def _value_slug(value: Any) -> str:
    if isinstance(value, str):
        return slug(value)
    return slug(json.dumps(value, sort_keys=True, default=str))


def deployment_suffixes(groups: list[_Group]) -> list[str]:
    """The ``<suffix>`` of each group's ``<flow>-<suffix>`` name (from the values that differ)."""
    keys: list[str] = []
    for group in groups:
        for key in group.parameters:
            if key not in keys:
                keys.append(key)

    def value(group: _Group, key: str) -> str:
        if key not in group.parameters:
            return "<missing>"
        return json.dumps(group.parameters[key], sort_keys=True, default=str)

    differing = [k for k in keys if len({value(g, k) for g in groups}) > 1]
    suffixes = []
    for group in groups:
        parts = [_value_slug(group.parameters[k]) for k in differing if k in group.parameters]
        parts = [p for p in parts if p]
        if not parts and group.labels:
            parts = [slug("-".join(group.labels))]
        suffixes.append("-".join(parts) or "default")
    seen: dict[str, int] = {}
    unique = []
    for suffix in suffixes:
        seen[suffix] = seen.get(suffix, 0) + 1
        unique.append(suffix if seen[suffix] == 1 else f"{suffix}-{seen[suffix]}")
    return unique


# --------------------------------------------------------------------------------------------
# The whole translation


@dataclass
class _PendingPool:
    base: str
    type: str
    job_template: dict[str, Any] | None
    deployments: list[DeploymentPlan] = field(default_factory=list)


def translate(
    inventory: Inventory,
    pools: Mapping[str, str] | None = None,
    repo_root: str | None = None,
) -> Plan:
    """Translate every flow of ``inventory``.

    ``pools`` maps a work pool type (or Prefect 1 run config class) to the pool name every
    deployment of that type goes to (``--pool NAME=TYPE``; see :func:`parse_pool_overrides`).
    ``repo_root`` is the checkout path that ``set_working_directory`` steps name (default: the
    inventory's ``repo``).
    """
    overrides = {POOL_TYPES.get(k, k): v for k, v in (pools or {}).items()}
    root = repo_root or inventory.repo
    plan = Plan(project=slug(PurePosixPath(inventory.repo.rstrip("/")).name) or "project")
    for error in inventory.errors:
        where = (
            f"{error.file}:{error.line}" if error.file and error.line else error.file or "project"
        )
        plan.todos.append(
            Todo(
                f"{where}: {error.kind} error in the inventory, its flows are not translated: {error.message}"
            )
        )
    pending: dict[tuple[str, str, str], _PendingPool] = {}
    blocks: dict[tuple[str, str], BlockPlan] = {}

    for flow in sorted(inventory.flows, key=lambda fl: (fl.file, fl.line or 0, fl.name)):
        if not flow.function_name:
            plan.todos.append(
                Todo(
                    f"{flow.file}: flow {flow.name!r} has no module-level @flow function after "
                    "the codemod (e.g. built by a factory with arguments): no deployment written"
                )
            )
            continue
        flow_name = prefect2_flow_name(flow.name)
        storage = translate_storage(flow, root)
        run = translate_run_config(flow.run_config, storage.image)
        filters = fold_filters(flow.schedule)
        groups = group_clocks(flow.schedule)
        suffixes = deployment_suffixes(groups) if len(groups) > 1 else [""]
        entry_file = flow.file
        entry_todos: list[Todo] = []
        if storage.entrypoint_file and storage.entrypoint_file != flow.file:
            entry_file = storage.entrypoint_file.lstrip("/")
            entry_todos.append(
                Todo(
                    f"the storage path {storage.entrypoint_file} differs from the file the "
                    f"flow was found in ({flow.file}): check the entrypoint",
                    "entrypoint",
                )
            )
        flow_labels = sorted(set(flow.labels) | set(run.labels))

        for group, suffix in zip(groups, suffixes, strict=True):
            name = sanitize_name(f"{flow_name}-{suffix}" if suffix else flow_name)
            labels = group.labels if group.labels is not None else flow_labels
            tags = ([f"project:{flow.project_name}"] if flow.project_name else []) + [
                f"label:{label}" for label in labels
            ]
            deployment = DeploymentPlan(
                name=name,
                flow_name=flow_name,
                entrypoint=f"{entry_file}:{flow.function_name}",
                parameters=group.parameters,
                tags=[*tags, MIGRATED_TAG],
                pull=storage.pull,
                build=storage.build,
                push=storage.push,
            )
            if flow_name != flow.name:
                deployment.todos.append(
                    Todo(
                        f"flow {flow.name!r} is named {flow_name!r} in Prefect 2 (/ % & > < are not allowed)"
                    )
                )
            deployment.todos += entry_todos + storage.todos + run.todos
            if flow.schedule and flow.schedule.unevaluated and group is groups[0]:
                deployment.todos.append(
                    Todo(
                        "schedule parts the inventory could not read: "
                        + "; ".join(flow.schedule.unevaluated),
                        "schedules",
                    )
                )
            for clock in group.clocks:
                entry, messages = translate_clock(clock, filters)
                if entry is not None:
                    deployment.schedules.append(entry)
                deployment.todos += [Todo(m, "schedules") for m in messages]
            for unsupported in filters.unsupported if group.clocks else []:
                deployment.todos.append(
                    Todo(
                        f"schedule {unsupported} has no Prefect 2 equivalent: apply it by hand",
                        "schedules",
                    )
                )
            if group.labels is not None and group.labels != flow_labels:
                deployment.todos.append(
                    Todo(
                        f"these clocks ran with their own labels {group.labels} instead of the "
                        f"flow's {flow_labels}",
                        "work_pool",
                    )
                )
            for secret in storage.secrets:
                key = ("Secret", secret_block_name(secret))
                block = blocks.setdefault(key, BlockPlan("Secret", key[1], secret))
                block.used_by.append(name)

            base = overrides.get(run.pool_type) or (
                sanitize_name("-".join(labels)) if labels else f"{run.pool_type}-pool"
            )
            template_key = json.dumps(run.job_template, sort_keys=True) if run.job_template else ""
            pool = pending.setdefault(
                (base, run.pool_type, template_key),
                _PendingPool(base, run.pool_type, run.job_template),
            )
            pool.deployments.append(deployment)
            deployment.work_pool = {"name": base, "job_variables": dict(run.job_variables)}
            plan.deployments.append(deployment)

    plan.pools = _assign_pool_names(list(pending.values()), overrides)
    plan.blocks = sorted(blocks.values(), key=lambda b: (b.type, b.name))
    return plan


def _assign_pool_names(pending: list[_PendingPool], overrides: Mapping[str, str]) -> list[PoolPlan]:
    """Unique names: ``<base>``, then ``<base>-<type>`` when types clash, then ``-2``… for templates."""
    from meta_flows.core.deployments.kubernetes import base_job_template

    by_base: dict[str, set[str]] = {}
    for pool in pending:
        by_base.setdefault(pool.base, set()).add(pool.type)
    for pool_type, name in overrides.items():
        if len(by_base.get(name, set())) > 1:
            raise TranslationError(
                f"--pool {name}={pool_type}: {name!r} would hold several pool types"
            )
    result: list[PoolPlan] = []
    counts: dict[str, int] = {}
    for pool in pending:
        name = pool.base if len(by_base[pool.base]) == 1 else f"{pool.base}-{pool.type}"
        counts[name] = counts.get(name, 0) + 1
        if counts[name] > 1:
            name = f"{name}-{counts[name]}"
        plan = PoolPlan(name=name, type=pool.type)
        if pool.type == "kubernetes":
            plan.base_job_template = base_job_template(pool.job_template)
        if pool.type in POOL_PACKAGES:
            plan.notes.append(f"its worker needs {POOL_PACKAGES[pool.type]}")
        if counts[name] > 1 or name != pool.base:
            plan.todos.append(
                Todo(f"split from {pool.base!r}: its deployments need another type or job template")
            )
        for deployment in pool.deployments:
            deployment.work_pool["name"] = name
        result.append(plan)
    return sorted(result, key=lambda p: p.name)
