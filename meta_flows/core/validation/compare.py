"""Compare a legacy and a migrated run of the same flow and case: two RunCaptures -> a CaseVerdict.

A plain library (no Prefect runtime). Spec: issue 4 item 4 and docs/spec.md §18.

Verdicts, first match wins:

- ``skipped``: the case options say ``skip`` (see :func:`skipped_verdict` for cases that never ran);
- ``legacy-error``: the legacy run could not run or crashed (``error``) or timed out, or it
  failed for want of something in its environment (:func:`environment_gap`: a task could not
  import a module, read a Prefect 1 secret or reach a Docker daemon; the run says nothing about
  the flow);
- ``migrated-error``: the same for the migrated run, or its final state failed while the legacy
  run's succeeded (the diff still lists the tasks that differ);
- ``different``: any difference in the final state (success or not), parameters, tasks or files;
- ``equal``.

Tasks are matched by ``(name, map_index)``. A task called several times in one flow (same name, no
map index) is matched to an equal counterpart when there is one, else in order of capture. A
Prefect 1 map of a task without mapped arguments, which the rewrite submits once per item, is
matched child by call, in order (``_calls_as_children``).

Results: compared as JSON values when both sides have one (``result_json``), else by
``result_repr`` (exact text). JSON values are compared recursively: dicts by key, lists by position
(or as multisets where ``unordered`` says so), numbers with ``rel_tol``/``abs_tol`` (NaN equals NaN;
``True`` never equals ``1``), DataFrames (below) by columns, dtypes, index and cells. Two failed
tasks are the same whatever their messages; a success against a failure is a difference.

What the capture side must provide (both sides, see :mod:`meta_flows.core.validation.model`):

- ``TaskCapture.name``: the task's name, not the run name. Prefect 2 task run names are
  ``"<task name>-<dynamic key>"``: :func:`task_name_from_run` strips the suffix.
- ``map_index``: the index of a mapped child on both sides; ``None`` otherwise (Prefect 2's ``-1``
  is read as ``None``). Prefect 2 task runs have no map index: the migrated capture must derive it
  (e.g. from the order of the futures ``Task.map`` returned). The legacy side may include the
  mapped parent (``state="Mapped"``, ``map_index=None``); it is ignored unless the migrated side
  has an unmapped task of that name. A map over an empty list should be reported as its parent
  (``state="Mapped"``, ``result=[]``, ``result_json=True``): that is how §18.3 is recognised.
- ``auto_generated=True`` on legacy tasks whose class is one of :data:`P1_AUTO_TASK_CLASSES` (by
  ``isinstance``), which Prefect 1 created implicitly and Prefect 2 code has no task for.
  Parameters are compared through ``RunCapture.parameters``, which must hold the effective values
  (defaults filled in) on both sides.
- ``state``: Prefect's state class name (``Success``, ``Skipped``, ``TriggerFailed``, ``Cached``,
  ``Mapped``, ``Completed``, ``Failed`` ...); ``ok`` whether it is a success (a ``Skipped`` task
  is recognised by its state whatever ``ok`` says); ``attempts`` the run count when known.
- ``result``/``result_json``: the JSON value when there is one without loss. pandas DataFrames and
  Series are captured (by :func:`meta_flows.sandbox.legacy.run_probe.result_fields`, on both sides) as::

      {"__pandas__": "DataFrame", "split": {"columns": [...], "index": [...], "data": [[...]]},
       "dtypes": {"column": "int64", ...}}
      {"__pandas__": "Series", "split": {"name": ..., "index": [...], "data": [...]},
       "dtypes": "int64"}

  and compared by columns, dtypes, index and cells (a Series as a one-column frame); comparing
  needs no pandas. Without that form a frame is compared by ``result_repr``.
- ``result_repr``: always, a stable text (``repr`` with dict keys and sets sorted).
- ``RunCapture.files``: relative POSIX path -> SHA-256 of the content; ``executor``: the legacy
  executor's class name.

Known semantic differences (§18) are named in ``CaseVerdict.notes`` when the comparison finds a
difference they may explain. Some legacy-only tasks are not differences at all: ``Skipped`` tasks
(Prefect 2 code has no task for a branch not taken) and, when the migrated run failed too,
``TriggerFailed`` tasks (Prefect 2 stops at the first exception).
"""

from __future__ import annotations

import importlib
import json
import math
import re
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from fnmatch import fnmatchcase
from typing import Any

from meta_flows.core.validation.model import (
    CaseVerdict,
    CompareOptions,
    RunCapture,
    TaskCapture,
    ValueOptions,
)

PANDAS_KEY = "__pandas__"

#: Prefect 1 classes whose instances are tasks Prefect 1 created implicitly.
P1_AUTO_TASK_CLASSES: tuple[str, ...] = (
    "prefect.core.parameter.Parameter",
    "prefect.tasks.core.constants.Constant",
    "prefect.tasks.core.collections.List",
    "prefect.tasks.core.collections.Tuple",
    "prefect.tasks.core.collections.Set",
    "prefect.tasks.core.collections.Dict",
    # every class in prefect.tasks.core.operators: GetItem, GetAttr, Add, Sub, Mul, Div, FloorDiv,
    # Pow, Mod, And, Or, Not, Equal, NotEqual, GreaterThan(OrEqual), LessThan(OrEqual)
    "prefect.tasks.core.operators.*",
    "prefect.tasks.control_flow.conditional.CompareValue",
    "prefect.tasks.control_flow.conditional.Merge",
    "prefect.tasks.core.resource_manager.ResourceInitTask",
    "prefect.tasks.core.resource_manager.ResourceSetupTask",
    "prefect.tasks.core.resource_manager.ResourceCleanupTask",
    # runs of other flows (stand-ins in validation, recorded as effects): the migrated flow calls
    # run_deployment in its body; also the create_flow_run and wait_for_flow_run function tasks
    "prefect.tasks.prefect.flow_run.StartFlowRun",
)

NOTES: dict[str, str] = {
    "18.1": "§18.1 failure propagation: after a failure Prefect 1 marks downstream tasks "
    "TriggerFailed and keeps running independent branches; Prefect 2 stops the flow function at "
    "the first unhandled exception.",
    "18.2": "§18.2 skips: Prefect 1 SKIP/case propagate Skipped downstream; Prefect 2 has no skip "
    "state (a branch not taken has no task run, a task that ran is Completed).",
    "18.3": "§18.3 mapping over an empty list: a Prefect 1 reduce task downstream of an empty map "
    "still runs; check the Prefect 2 code does too.",
    "18.4": "§18.4 parallelism: the legacy flow ran on a Dask executor; shared mutable state or "
    "time-based logic may behave differently in sequential Prefect 2 code.",
    "18.7": "§18.7 caching/targets: the legacy task result came from a cache or target "
    "(Cached); compare with a cold cache on both sides.",
    "18.8": "§18.8 retries: the task ran a different number of times on each side; retry "
    "options changed units (timedelta -> seconds) and max_retries=0 maps to the default.",
}

MAX_LINES_PER_TASK = 20

_SHORT = 60

Path = tuple[Any, ...]
Comparator = Callable[[Any, Any], Any]


@dataclass(frozen=True)
class _Cell:
    """A DataFrame cell in a diff path."""

    row: Any
    col: Any


# --- helpers the capture side can use ------------------------------------------------------------


def task_name_from_run(run_name: str, dynamic_key: str | None = None) -> str:
    """The task name of a Prefect 2 task run named ``"<task name>-<dynamic key>"``."""
    if dynamic_key is not None and run_name.endswith(f"-{dynamic_key}"):
        return run_name[: -len(dynamic_key) - 1]
    head, sep, tail = run_name.rpartition("-")
    return head if sep and tail.isdigit() else run_name


def load_comparator(spec: str) -> Comparator:
    """Import a user comparator given as ``"pkg.module:function"``; ValueError if impossible."""
    module_name, sep, attr = spec.partition(":")
    if not sep or not module_name or not attr:
        raise ValueError(f"comparator {spec!r}: expected 'pkg.module:function'")
    try:
        obj: Any = importlib.import_module(module_name)
        for part in attr.split("."):
            obj = getattr(obj, part)
    except (ImportError, AttributeError) as exc:
        raise ValueError(f"comparator {spec!r} cannot be imported: {exc}") from exc
    if not callable(obj):
        raise ValueError(f"comparator {spec!r} is not callable")
    return obj


# --- formatting ----------------------------------------------------------------------------------


def _dump(value: Any) -> str:
    try:
        return json.dumps(value, sort_keys=True, default=repr)
    except (TypeError, ValueError):
        return repr(value)


def _cut(text: str, limit: int = _SHORT) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _short(value: Any) -> str:
    return _cut(_dump(value))


def _short_pair(a: Any, b: Any) -> tuple[str, str]:
    """Both values compactly; long strings are shown around their first difference."""
    sa, sb = _dump(a), _dump(b)
    if len(sa) <= _SHORT and len(sb) <= _SHORT:
        return sa, sb
    common = 0
    for ca, cb in zip(sa, sb, strict=False):
        if ca != cb:
            break
        common += 1
    start = max(0, common - 20)
    prefix = "…" if start else ""
    return _cut(prefix + sa[start:]), _cut(prefix + sb[start:])


def _render_path(path: Path) -> str:
    out = ""
    for seg in path:
        if isinstance(seg, _Cell):
            out += f"[row {_dump(seg.row)}, col {_dump(seg.col)}]"
        elif isinstance(seg, int):
            out += f"[{seg}]"
        elif isinstance(seg, str) and seg.isidentifier():
            out += f".{seg}"
        else:
            out += f"[{_dump(seg)}]"
    return out.lstrip(".")


def _migrated_skip(t: TaskCapture) -> bool:
    """A Prefect 2 task that ended ``Completed(message="skipped...", name="Skipped")`` (or
    unnamed, ``Completed``): how the codemod (PF011) rewrites ``raise signals.SKIP(...)`` (what
    runs downstream is compared as usual)."""
    return t.state in ("Completed", "Skipped") and (t.message or "").startswith("skipped")


def _task_label(name: str, map_index: int | None, occurrence: int | None = None) -> str:
    label = f"task {name!r}"
    if map_index is not None:
        label += f" [map_index={map_index}]"
    if occurrence is not None:
        label += f" (call #{occurrence + 1})"
    return label


# --- value comparison ----------------------------------------------------------------------------


def _is_df(value: Any) -> bool:
    return (
        isinstance(value, dict)
        and value.get(PANDAS_KEY) in ("DataFrame", "Series")
        and isinstance(value.get("split"), dict)
    )


def _as_frame(value: dict) -> dict[str, Any]:
    """The captured pandas form as {columns, index, data (rows), dtypes (list per column)}."""
    split = value["split"]
    if value[PANDAS_KEY] == "Series":
        name = split.get("name")
        return {
            "columns": [name],
            "index": split.get("index", []),
            "data": [[v] for v in split.get("data", [])],
            "dtypes": [value.get("dtypes")],
        }
    columns = split.get("columns", [])
    dtypes = value.get("dtypes")
    if isinstance(dtypes, dict):
        dtypes = [dtypes.get(str(c)) for c in columns]
    return {
        "columns": columns,
        "index": split.get("index", []),
        "data": split.get("data", []),
        "dtypes": dtypes or [],
    }


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _split_pattern(pattern: str) -> list[str]:
    return [seg for seg in pattern.split(".") if seg != ""]


def _path_matches(pattern: Sequence[str], path: Path) -> bool:
    if len(pattern) != len(path):
        return False
    for pat, seg in zip(pattern, path, strict=True):
        if isinstance(seg, _Cell):
            return False
        if not fnmatchcase(str(seg), pat):
            return False
    return True


class _ValueDiffer:
    """Differences between two JSON-like values under one task's options."""

    def __init__(
        self,
        opts: ValueOptions,
        ignore: Iterable[Sequence[str]] = (),
        unstable: Iterable[Path] = (),
    ) -> None:
        self.opts = opts
        self.ignore = [list(p) for p in ignore]
        self.unstable = set(unstable)  # exact paths, not patterns
        if isinstance(opts.unordered, bool):
            self.unordered_all = opts.unordered
            self.unordered_paths: list[list[str]] = []
        else:
            self.unordered_all = False
            self.unordered_paths = [_split_pattern(p) for p in opts.unordered]

    def ignored(self, path: Path) -> bool:
        return path in self.unstable or any(_path_matches(p, path) for p in self.ignore)

    def unordered(self, path: Path) -> bool:
        return self.unordered_all or any(_path_matches(p, path) for p in self.unordered_paths)

    def same(self, a: Any, b: Any, path: Path = ()) -> bool:
        return not self.diff(a, b, path)

    def close(self, a: Any, b: Any) -> bool:
        if isinstance(a, float) and isinstance(b, float) and math.isnan(a) and math.isnan(b):
            return True
        if isinstance(a, float) or isinstance(b, float):
            return math.isclose(a, b, rel_tol=self.opts.rel_tol, abs_tol=self.opts.abs_tol)
        return a == b

    def diff(self, a: Any, b: Any, path: Path = ()) -> list[tuple[Path, str]]:
        if self.ignored(path):
            return []
        if _is_df(a) and _is_df(b):
            if a[PANDAS_KEY] != b[PANDAS_KEY]:
                return [(path, f"legacy pandas {a[PANDAS_KEY]} != migrated {b[PANDAS_KEY]}")]
            return self._diff_df(_as_frame(a), _as_frame(b), path)
        if isinstance(a, dict) and isinstance(b, dict):
            out: list[tuple[Path, str]] = []
            for key in sorted(set(a) | set(b), key=_dump):
                sub = (*path, key)
                if self.ignored(sub):
                    continue
                if key not in b:
                    out.append((sub, f"only in legacy: {_short(a[key])}"))
                elif key not in a:
                    out.append((sub, f"only in migrated: {_short(b[key])}"))
                else:
                    out.extend(self.diff(a[key], b[key], sub))
            return out
        if isinstance(a, list) and isinstance(b, list):
            if self.unordered(path):
                return self._diff_multiset(a, b, path)
            out = []
            if len(a) != len(b):
                out.append((path, f"length legacy {len(a)} != migrated {len(b)}"))
            for i, (x, y) in enumerate(zip(a, b, strict=False)):
                out.extend(self.diff(x, y, (*path, i)))
            for i in range(len(b), len(a)):
                if not self.ignored((*path, i)):
                    out.append(((*path, i), f"only in legacy: {_short(a[i])}"))
            for i in range(len(a), len(b)):
                if not self.ignored((*path, i)):
                    out.append(((*path, i), f"only in migrated: {_short(b[i])}"))
            return out
        if _is_number(a) and _is_number(b):
            if self.close(a, b):
                return []
        elif type(a) is type(b) and a == b:
            return []
        sa, sb = _short_pair(a, b)
        return [(path, f"legacy {sa} != migrated {sb}")]

    def _diff_multiset(self, a: list, b: list, path: Path) -> list[tuple[Path, str]]:
        left, right = self._unmatched(a, b, path)
        out: list[tuple[Path, str]] = []
        if left:
            out.append((path, f"only in legacy (unordered): {_short(left)}"))
        if right:
            out.append((path, f"only in migrated (unordered): {_short(right)}"))
        return out

    def _unmatched(self, a: list, b: list, path: Path) -> tuple[list, list]:
        """Items of each side with no equal counterpart on the other (as multisets)."""
        # identical items always pair up; only the rest need the (quadratic) tolerant match
        in_a = Counter(_dump(x) for x in a)
        in_b = Counter(_dump(y) for y in b)
        left, right = [], []
        for x in a:
            key = _dump(x)
            if in_b[key]:
                in_b[key] -= 1
            else:
                left.append(x)
        for y in b:
            key = _dump(y)
            if in_a[key]:
                in_a[key] -= 1
            else:
                right.append(y)
        return self._match_slow(left, right, path)

    def _match_slow(self, a: list, b: list, path: Path) -> tuple[list, list]:
        used = [False] * len(b)
        left = []
        for x in a:
            for j, y in enumerate(b):
                if not used[j] and self.same(x, y, (*path, "*")):
                    used[j] = True
                    break
            else:
                left.append(x)
        return left, [y for j, y in enumerate(b) if not used[j]]

    def _diff_df(self, a: dict, b: dict, path: Path) -> list[tuple[Path, str]]:
        out: list[tuple[Path, str]] = []
        cols_a = [c for c in a.get("columns", []) if not self.ignored((*path, c))]
        cols_b = [c for c in b.get("columns", []) if not self.ignored((*path, c))]
        only_a = [c for c in cols_a if c not in cols_b]
        only_b = [c for c in cols_b if c not in cols_a]
        if only_a:
            out.append((path, f"columns only in legacy: {_short(only_a)}"))
        if only_b:
            out.append((path, f"columns only in migrated: {_short(only_b)}"))
        common = [c for c in cols_a if c in cols_b]
        if not only_a and not only_b and cols_a != cols_b and not self.unordered(path):
            out.append((path, f"column order legacy {_short(cols_a)} != migrated {_short(cols_b)}"))
        all_a, all_b = list(a.get("columns", [])), list(b.get("columns", []))
        pos_a = {c: all_a.index(c) for c in common}
        pos_b = {c: all_b.index(c) for c in common}
        if self.opts.check_dtype:
            dt_a, dt_b = a.get("dtypes") or [], b.get("dtypes") or []
            for c in common:
                da = dt_a[pos_a[c]] if pos_a[c] < len(dt_a) else None
                db = dt_b[pos_b[c]] if pos_b[c] < len(dt_b) else None
                if da != db:
                    out.append(((*path, c), f"dtype legacy {da} != migrated {db}"))
        rows_a = [[row[pos_a[c]] for c in common] for row in a.get("data", [])]
        rows_b = [[row[pos_b[c]] for c in common] for row in b.get("data", [])]
        if self.unordered(path):
            left, right = _ValueDiffer(
                self.opts.model_copy(update={"unordered": False})
            )._unmatched(rows_a, rows_b, path)
            if left:
                out.append((path, f"rows only in legacy (unordered): {_short(left)}"))
            if right:
                out.append((path, f"rows only in migrated (unordered): {_short(right)}"))
            return out
        idx_a, idx_b = a.get("index", []), b.get("index", [])
        if len(rows_a) != len(rows_b):
            out.append((path, f"rows legacy {len(rows_a)} != migrated {len(rows_b)}"))
        elif idx_a != idx_b:
            out.append((path, f"index legacy {_short(idx_a)} != migrated {_short(idx_b)}"))
        cell_differ = _ValueDiffer(self.opts)
        for r, (ra, rb) in enumerate(zip(rows_a, rows_b, strict=False)):
            label = idx_a[r] if r < len(idx_a) else r
            for c, va, vb in zip(common, ra, rb, strict=True):
                if self.ignored((*path, _Cell(label, c))):
                    continue
                for _, msg in cell_differ.diff(va, vb):
                    out.append(((*path, _Cell(label, c)), msg))
        return out


def _prune(value: Any, differ: _ValueDiffer, path: Path = ()) -> Any:
    """``value`` without the parts the ignore patterns name (for user comparators)."""
    if isinstance(value, dict) and not _is_df(value):
        return {
            k: _prune(v, differ, (*path, k))
            for k, v in value.items()
            if not differ.ignored((*path, k))
        }
    if isinstance(value, list):
        return [
            _prune(v, differ, (*path, i))
            for i, v in enumerate(value)
            if not differ.ignored((*path, i))
        ]
    return value


# --- run comparison ------------------------------------------------------------------------------


@dataclass
class _Result:
    diff: list[str]
    notes: set[str]


class _RunComparer:
    def __init__(
        self,
        legacy: RunCapture,
        migrated: RunCapture,
        options: CompareOptions,
        unstable: Unstable | None = None,
    ) -> None:
        self.legacy = legacy
        self.migrated = migrated
        self.options = options
        self.unstable = unstable or Unstable()
        self.diff: list[str] = []
        self.notes: set[str] = set()
        self._comparators: dict[str, Comparator] = {}
        self._ignore_keys: list[tuple[str | None, list[str]]] = []
        for spec in options.ignore_keys:
            scope, sep, rest = spec.partition(":")
            if sep:
                self._ignore_keys.append((scope, _split_pattern(rest)))
            else:
                self._ignore_keys.append((None, _split_pattern(spec)))

    # options per task
    def value_options(self, name: str) -> ValueOptions:
        base = ValueOptions(
            **{f: getattr(self.options, f) for f in ValueOptions.model_fields}
        ).model_dump()
        for pattern, override in self.options.tasks.items():
            if fnmatchcase(name, pattern):
                base.update({f: getattr(override, f) for f in override.model_fields_set})
        return ValueOptions(**base)

    def differ(
        self, name: str, scope_params: bool = False, unstable: Iterable[Path] = ()
    ) -> _ValueDiffer:
        ignore = [
            pat
            for scope, pat in self._ignore_keys
            if (scope is None and not scope_params)
            or (scope is not None and fnmatchcase(name, scope))
        ]
        return _ValueDiffer(self.value_options(name), ignore, unstable)

    def comparator(self, spec: str) -> Comparator:
        if spec not in self._comparators:
            self._comparators[spec] = load_comparator(spec)
        return self._comparators[spec]

    def task_ignored(self, name: str) -> bool:
        return any(fnmatchcase(name, p) for p in self.options.ignore_tasks)

    # the parts
    def compare_final_state(self) -> None:
        lg, mg = self.legacy, self.migrated
        if lg.ok != mg.ok:
            self.diff.append(
                f"final state: legacy {lg.final_state} ({'ok' if lg.ok else 'failed'}), "
                f"migrated {mg.final_state} ({'ok' if mg.ok else 'failed'})"
            )

    def compare_parameters(self) -> None:
        if not self.options.compare_parameters:
            return
        differ = self.differ("parameters", scope_params=True)
        for path, msg in differ.diff(self.legacy.parameters, self.migrated.parameters):
            self.diff.append(f"parameters {_render_path(path)}: {msg}")

    def compare_files(self) -> None:
        if not self.options.compare_files:
            return
        unstable = self.unstable.files

        def kept(files: dict[str, str]) -> dict[str, str]:
            return {
                p: h
                for p, h in files.items()
                if not any(fnmatchcase(p, g) for g in self.options.ignore_files)
                and p not in unstable
            }

        la, mi = kept(self.legacy.files), kept(self.migrated.files)
        for path in sorted(set(la) | set(mi)):
            if path not in mi:
                self.diff.append(f"file {path!r}: only in legacy")
            elif path not in la:
                self.diff.append(f"file {path!r}: only in migrated")
            elif la[path] != mi[path]:
                self.diff.append(
                    f"file {path!r}: content differs "
                    f"(sha256 legacy {la[path][:12]}, migrated {mi[path][:12]})"
                )

    def compare_tasks(self) -> None:
        legacy = self._group(self.legacy.tasks)
        migrated = self._group(self.migrated.tasks)
        legacy_children = {name for name, idx in legacy if idx is not None}
        self._calls_as_children(legacy, migrated, legacy_children)
        for key in sorted(set(legacy) | set(migrated), key=_sort_key):
            name, idx = key
            ls, ms = legacy.get(key, []), migrated.get(key, [])
            if ms and not ls:
                for occ, t in enumerate(ms):
                    self._one_sided(t, "migrated", occ if len(ms) > 1 else None)
                continue
            if ls and not ms:
                for occ, t in enumerate(ls):
                    if idx is None and (t.state == "Mapped" or name in legacy_children):
                        if t.state == "Mapped" and t.result_json and t.result == []:
                            self.notes.add("18.3")
                        continue
                    self._one_sided(t, "legacy", occ if len(ls) > 1 else None)
                continue
            self._compare_group(name, idx, ls, ms)
        self._reordered_maps(legacy, migrated)

    @staticmethod
    def _calls_as_children(legacy: dict, migrated: dict, legacy_children: set[str]) -> None:
        """A Prefect 1 map of a task given no mapped argument (``t.map(upstream_tasks=[xs])``)
        runs one child per item; Prefect 2 cannot map without an iterable argument, so the
        rewrite submits the task once per item instead. When the migrated side has only unmapped
        calls of such a task, as many as the legacy side has children (indices 0..n-1), the calls,
        in creation order, stand for the children: ``migrated`` is re-keyed in place."""
        for name in legacy_children:
            calls = migrated.get((name, None), [])
            indices = sorted(i for n, i in legacy if n == name and i is not None)
            if (
                calls
                and indices == list(range(len(calls)))
                and not any(n == name and i is not None for n, i in migrated)
            ):
                del migrated[(name, None)]
                for index, call in zip(indices, calls, strict=True):
                    migrated[(name, index)] = [call]

    def _group(self, tasks: Iterable[TaskCapture]) -> dict[tuple[str, int | None], list]:
        out: dict[tuple[str, int | None], list[TaskCapture]] = defaultdict(list)
        for t in tasks:
            if t.auto_generated or self.task_ignored(t.name):
                continue
            idx = None if t.map_index is None or t.map_index < 0 else t.map_index
            out[(t.name, idx)].append(t)
        return out

    def _one_sided(self, t: TaskCapture, side: str, occurrence: int | None) -> None:
        label = _task_label(t.name, t.map_index, occurrence)
        if side == "legacy":
            if t.state == "Skipped":
                return  # a branch not taken: Prefect 2 has no task run for it
            if not self.migrated.ok:
                if t.state == "TriggerFailed":
                    return  # Prefect 2 stopped at the failure upstream
                self.notes.add("18.1")
        what = f"{t.state}, result {_short(t.result)}" if t.ok else _state_text(t)
        self.diff.append(f"{label}: only in {side} ({what})")

    def _compare_group(
        self, name: str, idx: int | None, ls: list[TaskCapture], ms: list[TaskCapture]
    ) -> None:
        if len(ls) == 1 and len(ms) == 1:
            self._emit(_task_label(name, idx), self._compare_pair(ls[0], ms[0]))
            return
        # the same task called several times: pair equal calls first, then by order
        remaining = list(enumerate(ms))
        unpaired: list[tuple[int, TaskCapture]] = []
        for i, lt in enumerate(ls):
            for j, (_, mt) in enumerate(remaining):
                if not self._compare_pair(lt, mt).diff:
                    del remaining[j]
                    break
            else:
                unpaired.append((i, lt))
        for (i, lt), (_, mt) in zip(unpaired, remaining, strict=False):
            self._emit(_task_label(name, idx, i), self._compare_pair(lt, mt))
        for i, lt in unpaired[len(remaining) :]:
            self._one_sided(lt, "legacy", i)
        for j, mt in remaining[len(unpaired) :]:
            self._one_sided(mt, "migrated", j)

    def _emit(self, label: str, result: _Result) -> None:
        lines = result.diff
        if len(lines) > MAX_LINES_PER_TASK:
            extra = len(lines) - MAX_LINES_PER_TASK
            lines = [*lines[:MAX_LINES_PER_TASK], f"… and {extra} more differences"]
        self.diff.extend(f"{label}{line}" for line in lines)
        if result.diff:
            self.notes |= result.notes

    def _compare_pair(self, lt: TaskCapture, mt: TaskCapture) -> _Result:
        notes: set[str] = set()
        if lt.attempts is not None and mt.attempts is not None and lt.attempts != mt.attempts:
            notes.add("18.8")
        if lt.state == "Cached":
            notes.add("18.7")
        if lt.state == "Skipped" and _migrated_skip(mt):
            return _Result([], notes)  # PF011's rewrite of SKIP: the task itself matches
        if lt.state == "Skipped" and mt.state != "Skipped":  # `ok` either way: Skipped is special
            notes.add("18.2")
            ran = f"{mt.state}, result {_short(mt.result)}" if mt.ok else _state_text(mt)
            return _Result([f": legacy Skipped, migrated ran ({ran})"], notes)
        if lt.ok != mt.ok:
            if not lt.ok and lt.state == "TriggerFailed":
                notes.add("18.1")
            return _Result([f": state legacy {_state_text(lt)}, migrated {_state_text(mt)}"], notes)
        if not lt.ok:
            return _Result([], notes)
        both_json = lt.result_json and mt.result_json
        a, b = (lt.result, mt.result) if both_json else (lt.result_repr, mt.result_repr)
        unstable = self.unstable.results.get(id(lt), set())
        if () in unstable:
            return _Result([], notes)  # the whole value differed between two legacy runs
        differ = self.differ(lt.name, unstable=unstable if both_json else ())
        spec = differ.opts.comparator
        if spec:
            return _Result(self._user_compare(spec, a, b, differ, both_json), notes)
        lines = []
        for path, msg in differ.diff(a, b) if both_json else _text_diff(a, b):
            where = _render_path(path)
            lines.append(f" {where}: {msg}" if where else f": {msg}")
        return _Result(lines, notes)

    def _user_compare(
        self, spec: str, a: Any, b: Any, differ: _ValueDiffer, both_json: bool
    ) -> list[str]:
        fn = self.comparator(spec)
        if both_json:
            a, b = _prune(a, differ), _prune(b, differ)
        try:
            verdict = fn(a, b)
        except Exception as exc:  # a user's comparator failing is a finding, not a crash
            return [f": comparator {spec} raised {type(exc).__name__}: {exc}"]
        message = None
        if isinstance(verdict, tuple):
            verdict, message = verdict[0], (verdict[1] if len(verdict) > 1 else None)
        if verdict:
            return []
        sa, sb = _short_pair(a, b)
        return [f": comparator {spec}: {message or f'legacy {sa} != migrated {sb}'}"]

    def _reordered_maps(self, legacy: dict, migrated: dict) -> None:
        names = {name for name, idx in legacy if idx is not None}
        for name in sorted(names):
            lk = {k: v for k, v in legacy.items() if k[0] == name and k[1] is not None}
            mk = {k: v for k, v in migrated.items() if k[0] == name and k[1] is not None}
            if set(lk) != set(mk) or any(len(v) != 1 for v in (*lk.values(), *mk.values())):
                continue
            lv = [_fingerprint(v[0]) for _, v in sorted(lk.items(), key=_item_key)]
            mv = [_fingerprint(v[0]) for _, v in sorted(mk.items(), key=_item_key)]
            if lv != mv and Counter(lv) == Counter(mv):
                self.diff.append(
                    f"task {name!r}: mapped children hold the same values at different map "
                    "indices (a reordered map)"
                )

    def run(self) -> _Result:
        self.compare_final_state()
        self.compare_parameters()
        self.compare_tasks()
        self.compare_files()
        if self.diff and self.legacy.executor and "dask" in self.legacy.executor.lower():
            self.notes.add("18.4")
        if self.diff and not self.legacy.ok and not self.migrated.ok:
            if any(t.state == "TriggerFailed" for t in self.legacy.tasks):
                self.notes.add("18.1")
        return _Result(self.diff, self.notes if self.diff else set())


def _state_text(t: TaskCapture) -> str:
    return f"{t.state}: {_cut(t.message)}" if t.message else t.state


def _text_diff(a: Any, b: Any) -> list[tuple[Path, str]]:
    if a == b:
        return []
    sa, sb = _short_pair(a, b)
    return [((), f"legacy {sa} != migrated {sb}")]


def _fingerprint(t: TaskCapture) -> str:
    return _dump([t.ok, t.result if t.result_json else t.result_repr])


def _sort_key(key: tuple[str, int | None]) -> tuple[str, int]:
    return key[0], -1 if key[1] is None else key[1]


def _item_key(item: tuple[tuple[str, int | None], Any]) -> tuple[str, int]:
    return _sort_key(item[0])


def _note_order(code: str) -> tuple[int, ...]:
    return tuple(int(p) for p in code.split("."))


def skipped_verdict(flow_name: str, case: str, reason: str) -> CaseVerdict:
    """A case that is not compared (e.g. required parameters and no case given)."""
    return CaseVerdict(flow_name=flow_name, case=case, verdict="skipped", reason=reason)


@dataclass
class Unstable:
    """What differs between two legacy runs of the same case (:func:`unstable_results`)."""

    #: per legacy task capture (by ``id``): the paths inside its result that differ (``()`` for
    #: the whole value), although the task ended the same way: values drawn from the clock or
    #: from randomness the seed does not reach
    results: dict[int, set[Path]] = field(default_factory=dict)
    #: the same, readably: task label -> rendered paths (empty for the whole value)
    where: dict[str, set[str]] = field(default_factory=dict)
    #: files written whose content differs
    files: set[str] = field(default_factory=set)
    #: differences in the runs' course itself (final state, a task's state, which tasks ran):
    #: the flow does not behave the same from run to run, and nothing is left out
    unsteady: list[str] = field(default_factory=list)

    def note(self) -> str | None:
        if self.unsteady:
            return (
                "Two Prefect 1 runs of this case did not behave the same ("
                + "; ".join(self.unsteady[:3])
                + ("; …" if len(self.unsteady) > 3 else "")
                + "): the flow depends on something validation does not hold fixed (time, "
                "randomness beyond the seed, outside data), so its runs cannot be expected to "
                "match."
            )
        where = [
            label + (" at " + ", ".join(sorted(paths)) if paths else "")
            for label, paths in sorted(self.where.items())
        ]
        where += [f"file {path!r}" for path in sorted(self.files)]
        if not where:
            return None
        return (
            "Not compared: results that differed between two Prefect 1 runs of this case (the "
            "clock, randomness beyond the seed): " + "; ".join(where) + "."
        )


def unstable_results(
    legacy: RunCapture, again: RunCapture, options: CompareOptions | None = None
) -> Unstable:
    """What differs between two legacy runs of the same case. Tasks are matched by name, map
    index and order of capture; a flow whose runs took another course is ``unsteady``."""
    comparer = _RunComparer(legacy, again, options or CompareOptions())
    found = Unstable()
    if legacy.ok != again.ok:
        found.unsteady.append(f"final state {legacy.final_state} then {again.final_state}")
    first, second = comparer._group(legacy.tasks), comparer._group(again.tasks)
    for path in sorted(set(legacy.files) | set(again.files)):
        if legacy.files.get(path) != again.files.get(path):
            found.files.add(path)
    for key in sorted(set(first) | set(second), key=_sort_key):
        ones, twos = first.get(key, []), second.get(key, [])
        if len(ones) != len(twos):
            found.unsteady.append(f"{_task_label(*key)} ran {len(ones)} then {len(twos)} time(s)")
            continue
        if len(ones) > 1:
            # the same task called several times, in an order that may change from run to run:
            # a call the other run repeated exactly is stable; the others pair by order
            rest = list(twos)
            unpaired = []
            for i, one in enumerate(ones):
                same = next(
                    (two for two in rest if _run_difference(comparer, one, two) == set()), None
                )
                if same is None:
                    unpaired.append((i, one))
                else:
                    rest.remove(same)
            calls = [(i, one, two) for (i, one), two in zip(unpaired, rest, strict=True)]
        else:
            calls = [(None, one, two) for one, two in zip(ones, twos, strict=True)]
        for occurrence, one, two in calls:
            label = _task_label(*key, occurrence)
            paths = _run_difference(comparer, one, two)
            if paths is None:
                found.unsteady.append(f"{label} ended {one.state} then {two.state}")
            elif paths:
                found.results[id(one)] = paths
                found.where[label] = set() if () in paths else set(map(_render_path, paths))
    return found


def _run_difference(comparer, one: TaskCapture, two: TaskCapture) -> set | None:
    """Where the results of one task call differ between two runs (an empty set: nowhere; ``()``
    in it: the whole value); None when the call ended in another state."""
    if (one.ok, one.state) != (two.ok, two.state):
        return None
    if not one.ok:
        return set()
    if one.result_json and two.result_json:
        return {path for path, _ in comparer.differ(one.name).diff(one.result, two.result)}
    return {()} if one.result_repr != two.result_repr else set()


def compare_runs(
    legacy: RunCapture,
    migrated: RunCapture,
    options: CompareOptions | None = None,
    legacy_again: RunCapture | None = None,
) -> CaseVerdict:
    """The verdict on one flow and case from what each side's run produced.

    ``legacy_again``, a second legacy run of the same case, tells what the flow itself does not
    reproduce (:func:`unstable_results`): results that differed between the two legacy runs are
    not compared (a note names them); a flow whose two legacy runs took another course keeps its
    differences, with a note saying so.

    Raises ValueError when the options name a user comparator that cannot be imported.
    """
    options = options or CompareOptions()
    base = {
        "flow_name": legacy.flow_name,
        "case": legacy.case,
        "legacy_duration_s": legacy.duration_s,
        "migrated_duration_s": migrated.duration_s,
        "effects": [f"{c.side}: {call}" for c in (legacy, migrated) for call in c.effects],
    }
    if options.skip:
        return CaseVerdict(**base, verdict="skipped", reason=options.skip)
    for capture, verdict in ((legacy, "legacy-error"), (migrated, "migrated-error")):
        if capture.timed_out:
            limit = f" after {capture.duration_s:g} s" if capture.duration_s else ""
            reason = f"{capture.side} run timed out{limit}"
            if capture.error:
                reason += f": {capture.error}"
            return CaseVerdict(**base, verdict=verdict, reason=reason)
        if capture.error:
            return CaseVerdict(**base, verdict=verdict, reason=capture.error)
    for capture, verdict in ((legacy, "legacy-error"), (migrated, "migrated-error")):
        gap = environment_gap(capture)
        if gap is not None:
            return CaseVerdict(**base, verdict=verdict, reason=gap)
    unstable = Unstable()
    if legacy_again is not None and not legacy_again.error and not legacy_again.timed_out:
        unstable = unstable_results(legacy, legacy_again, options)
    # a flow whose two legacy runs took another course keeps every difference
    kept = Unstable() if unstable.unsteady else unstable
    result = _RunComparer(legacy, migrated, options, kept).run()
    notes = [NOTES[code] for code in sorted(result.notes, key=_note_order)]
    note = unstable.note()
    if note:
        notes.append(note)
    if legacy.ok and not migrated.ok:
        return CaseVerdict(
            **base,
            verdict="migrated-error",
            reason=f"migrated run ended {migrated.final_state} while the legacy run succeeded"
            + (f": {migrated.message}" if migrated.message else ""),
            diff=result.diff,
            notes=notes,
        )
    verdict = "different" if result.diff else "equal"
    return CaseVerdict(**base, verdict=verdict, diff=result.diff, notes=notes)


_NO_MODULE = re.compile(r"No module named '([\w.]+)'")
_NO_SECRET = re.compile(r"""Local Secret \\?["']([^"'\\]+)\\?["'] was not found""")
_NO_DOCKER = re.compile(r"DockerException\W+Error while fetching server API version")


def environment_gap(capture: RunCapture) -> str | None:
    """Why a failed run failed for want of something in its environment, not because of the
    flow: a task could not import a module, read a Prefect 1 secret (the validation sandbox has
    none unless given) or reach a Docker daemon. Such a run says nothing about the flow. None
    when the run succeeded or failed otherwise."""
    if capture.ok:
        return None
    side = capture.side
    for task in capture.tasks:
        message = "" if task.ok else task.message or ""
        found = _NO_MODULE.search(message)
        if found:
            return (
                f"the {side} run could not import {found.group(1)} (task {task.name!r}): its "
                "environment lacks it; add it to the project's requirements to compare this flow"
            )
        found = _NO_SECRET.search(message)
        if found:
            name = found.group(1)
            return (
                f"the {side} run could not read the secret {name!r} (task {task.name!r}): the "
                "validation sandbox has no secrets; to compare this flow, give it a stand-in "
                f"value (PREFECT__CONTEXT__SECRETS__{name} in meta-flows' environment)"
            )
        if _NO_DOCKER.search(message):
            return (
                f"the {side} run could not reach a Docker daemon (task {task.name!r}): there is "
                "none where validation runs; validate this flow where one is"
            )
    return None


def effects_text(verdict: CaseVerdict) -> str | None:
    """What the runs attempted outside themselves, for a reason or a summary line; None if
    nothing."""
    if not verdict.effects:
        return None
    return "attempted, stopped by the sandbox: " + "; ".join(verdict.effects)


def summary(verdict: CaseVerdict, lines: int = 1) -> str | None:
    """One line on a verdict: its reason, else its first ``lines`` diff lines; then what the
    runs attempted outside themselves (:func:`effects_text`)."""
    parts = [
        verdict.reason or ("; ".join(verdict.diff[:lines]) if verdict.diff else None),
        effects_text(verdict),
    ]
    return "; ".join(p for p in parts if p) or None


# --- artifacts -----------------------------------------------------------------------------------


def _seconds(value: float | None) -> str:
    return "-" if value is None else f"{value:.2f} s"


def render_markdown(verdict: CaseVerdict) -> str:
    """A markdown report of one case (for a per-flow markdown artifact)."""
    lines = [
        f"## {verdict.flow_name} — case `{verdict.case}`: **{verdict.verdict}**",
        "",
        f"Durations: legacy {_seconds(verdict.legacy_duration_s)}, "
        f"migrated {_seconds(verdict.migrated_duration_s)}",
    ]
    if verdict.reason:
        lines += ["", f"Reason: {verdict.reason}"]
    if verdict.effects:
        lines += ["", "### Attempted outside the run, stopped by the sandbox", ""]
        lines += ["- `" + effect.replace("`", "'") + "`" for effect in verdict.effects]
    if verdict.diff:
        lines += ["", f"### Differences ({len(verdict.diff)})", "", "```text"]
        lines += [line.replace("```", "'''") for line in verdict.diff]
        lines.append("```")
    if verdict.notes:
        lines += ["", "### Known semantic differences that may explain it", ""]
        lines += [f"- {note}" for note in verdict.notes]
    return "\n".join(lines) + "\n"


def verdict_table(verdicts: Iterable[CaseVerdict]) -> list[dict[str, Any]]:
    """Rows (one per flow and case) for a table artifact."""
    rows = []
    for v in verdicts:
        rows.append(
            {
                "flow": v.flow_name,
                "case": v.case,
                "verdict": v.verdict,
                "differences": len(v.diff),
                "summary": _cut(summary(v) or "", 120),
                "notes": ", ".join(n.split(" ", 1)[0] for n in v.notes),
                "legacy_s": None if v.legacy_duration_s is None else round(v.legacy_duration_s, 2),
                "migrated_s": (
                    None if v.migrated_duration_s is None else round(v.migrated_duration_s, 2)
                ),
            }
        )
    return rows
