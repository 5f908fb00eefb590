"""The ledger: where each project of a wave stands in its migration, persisted (issue 5).

A wave's steps (rewrite, deploy in shadow, validate, promote, roll back) record what they did
here — state, branch, commits, deployments, PR, verdicts — and read it back before acting, so
re-running a wave repeats nothing already done and a crashed wave resumes where it stopped.

One JSON file per wave, ``<workspace>/ledger/<wave>.json``::

    {"wave": "demo", "version": 1, "projects": {"acme-etl": {ProjectRecord...}, ...}}

Every update re-reads the file under a lock (a ``threading.Lock`` and ``fcntl.flock`` on
``<wave>.json.lock``), applies the change and replaces the file atomically (a temporary file in
the same directory, then ``os.replace``), so writers in threads or processes never lose each
other's changes and a reader never sees half a file. A ledger file that cannot be read raises
:class:`LedgerError` naming it; it is never silently started over, nor deleted.
"""

from __future__ import annotations

import fcntl
import json
import os
import tempfile
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime, timezone
from enum import Enum
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from meta_flows.core.errors import MetaFlowsError
from meta_flows.core.registry import is_slug
from meta_flows.core.validation.model import Verdict

FORMAT_VERSION = 1


class ProjectState(str, Enum):
    PENDING = "pending"
    REWRITTEN = "rewritten"
    DEPLOYED_SHADOW = "deployed-shadow"
    VALIDATED = "validated"
    PROMOTED = "promoted"
    ROLLED_BACK = "rolled-back"
    FAILED = "failed"


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid")


class FlowVerdict(_Model):
    name: str = Field(description="The flow's Prefect 1 name.")
    case: str = "default"
    verdict: Verdict
    reason: str | None = None
    file: str | None = Field(None, description="The module defining the flow.")


class HistoryEntry(_Model):
    at: datetime
    state: ProjectState
    note: str | None = None


class ProjectRecord(_Model):
    project: str
    state: ProjectState = ProjectState.PENDING
    reason: str | None = Field(None, description="Why the project is failed or rolled back.")
    branch: str | None = Field(None, description="The migration branch, prefect2/<wave>.")
    base_commit: str | None = Field(None, description="Default branch commit the rewrite used.")
    migration_commit: str | None = Field(None, description="The commit holding the rewrite.")
    pushed: bool = Field(False, description="The migration branch is on the remote.")
    pr_url: str | None = None
    merge_commit: str | None = Field(None, description="Commit that promoted the migration.")
    deployment_ids: list[str] = Field(default_factory=list)
    deployment_names: list[str] = Field(default_factory=list)
    todos: int = Field(0, ge=0, description="TODO(prefect2-migration) comments left.")
    rules: list[str] = Field(default_factory=list, description="Codemod rules that applied.")
    flows: list[FlowVerdict] = Field(default_factory=list)
    out_of_scope: dict[str, str] = Field(
        default_factory=dict,
        description="Files left as they are (broken upstream, Prefect 2 already): file -> why.",
    )
    prefect1_paused: list[str] = Field(
        default_factory=list, description="Prefect 1 flow ids whose schedules this wave paused."
    )
    updated: datetime | None = None
    history: list[HistoryEntry] = Field(default_factory=list)


class _LedgerFile(_Model):
    wave: str
    version: int = FORMAT_VERSION
    projects: dict[str, ProjectRecord] = Field(default_factory=dict)


class LedgerError(MetaFlowsError, RuntimeError):
    """The ledger file is unreadable or malformed; the message names it."""


# Managed by the ledger itself, not settable through update().
_MANAGED = frozenset({"project", "updated", "history"})
# One lock per ledger file for the threads of this process (flock covers other processes).
_THREAD_LOCKS: dict[Path, threading.Lock] = {}
_THREAD_LOCKS_GUARD = threading.Lock()


def _now() -> datetime:
    return datetime.now(timezone.utc)


class Ledger:
    """The migration state of every project of one wave, kept in ``<workspace>/ledger/``."""

    def __init__(self, workspace: str | Path, wave: str) -> None:
        if not is_slug(wave):
            raise ValueError(f"wave name {wave!r} is not a slug (lowercase letters, digits, '-')")
        self.wave = wave
        self.path = Path(workspace).absolute() / "ledger" / f"{wave}.json"
        self._lock_path = self.path.with_name(self.path.name + ".lock")
        with _THREAD_LOCKS_GUARD:
            self._thread_lock = _THREAD_LOCKS.setdefault(self.path, threading.Lock())

    def __repr__(self) -> str:
        return f"Ledger({str(self.path)!r})"

    @contextmanager
    def _locked(self) -> Iterator[None]:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with self._thread_lock, open(self._lock_path, "a") as handle:
            fcntl.flock(handle, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(handle, fcntl.LOCK_UN)

    def _read(self) -> _LedgerFile:
        try:
            text = self.path.read_text(encoding="utf-8")
        except FileNotFoundError:
            return _LedgerFile(wave=self.wave)
        except (OSError, UnicodeDecodeError) as exc:
            raise LedgerError(f"{self.path}: cannot read the ledger: {exc}") from exc
        try:
            content = _LedgerFile.model_validate_json(text)
        except ValidationError as exc:
            first = exc.errors()[0]
            where = ".".join(str(part) for part in first["loc"]) or "(top level)"
            raise LedgerError(
                f"{self.path}: not a valid ledger ({exc.error_count()} problem(s), first: "
                f"{where}: {first['msg']}); fix or move the file, it is not rewritten"
            ) from exc
        if content.wave != self.wave:
            raise LedgerError(f"{self.path}: holds wave {content.wave!r}, not {self.wave!r}")
        if content.version != FORMAT_VERSION:
            raise LedgerError(
                f"{self.path}: ledger format version {content.version}, expected {FORMAT_VERSION}"
            )
        return content

    def _write(self, content: _LedgerFile) -> None:
        text = json.dumps(content.model_dump(mode="json"), indent=2) + "\n"
        fd, tmp = tempfile.mkstemp(
            dir=self.path.parent, prefix=f".{self.path.name}.", suffix=".tmp"
        )
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as handle:
                handle.write(text)
                handle.flush()
                os.fsync(handle.fileno())
            os.replace(tmp, self.path)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
        dir_fd = os.open(self.path.parent, os.O_RDONLY)
        try:
            os.fsync(dir_fd)
        finally:
            os.close(dir_fd)

    def get(self, project: str) -> ProjectRecord:
        """The project's record; a fresh ``pending`` one if the ledger has none yet."""
        return self._read().projects.get(project) or ProjectRecord(project=project)

    def all(self) -> dict[str, ProjectRecord]:
        """Every recorded project, in the order they were first recorded."""
        return dict(self._read().projects)

    def update(self, project: str, *, note: str | None = None, **changes: Any) -> ProjectRecord:
        """Apply ``changes`` (ProjectRecord fields) to a project's record and persist it.

        A change of ``state`` (or a ``note``) appends a history entry, noted with ``note`` or
        else the new ``reason``; a change of state clears a previous ``reason`` unless one is
        given. Unknown fields raise TypeError,
        invalid values pydantic's ValidationError; nothing is written then.
        """
        bad = sorted((set(changes) - set(ProjectRecord.model_fields)) | (set(changes) & _MANAGED))
        if bad:
            raise TypeError(f"not settable ledger field(s): {', '.join(bad)}")
        with self._locked():
            content = self._read()
            old = content.projects.get(project) or ProjectRecord(project=project)
            data = old.model_dump()
            data.update(changes)
            record = ProjectRecord.model_validate(data)
            now = _now()
            managed: dict[str, Any] = {"updated": now}
            if record.state != old.state:
                managed["reason"] = record.reason if "reason" in changes else None
            if record.state != old.state or note:
                entry = HistoryEntry(at=now, state=record.state, note=note or managed.get("reason"))
                managed["history"] = [*old.history, entry]
            record = record.model_copy(update=managed)
            content.projects[project] = record
            self._write(content)
            return record

    def reset(self, project: str, *, note: str = "reset") -> ProjectRecord:
        """Put a project back to ``pending`` with every field cleared except its history."""
        with self._locked():
            content = self._read()
            old = content.projects.get(project) or ProjectRecord(project=project)
            now = _now()
            history = [*old.history, HistoryEntry(at=now, state=ProjectState.PENDING, note=note)]
            record = ProjectRecord(project=project, updated=now, history=history)
            content.projects[project] = record
            self._write(content)
            return record
