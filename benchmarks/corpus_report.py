"""How well real Prefect 1 code migrates: codemod, imports and behaviour, per corpus.

    python benchmarks/corpus_report.py [--corpus NAME=PATH ...] [--timeout 60] [--json FILE]

A corpus is a directory of Prefect 1 code. Without ``--corpus``, every default corpus that exists
is measured: ``corpus/dummy-flows``, ``corpus/prefect-1.4.1-examples`` (both fetched by hand, not
in git), the estate fixture ``tests/estate/fixture`` and this repository's ``examples/``.

Each corpus is copied twice to a scratch directory (``legacy`` and ``migrated``) and split into
projects: the corpus root when it holds a requirements file (``requirements.txt``,
``pyproject.toml`` or ``setup.py``), else each top-level directory that holds one, plus the rest
of the corpus as one more project when it has Python files. Per project, as the wave does it:

- the legacy copy is inventoried under Prefect 1.4.1 (``inventory_repo``): the flows, and the
  estate's own ``Flow``/``Task`` wrappers the Prefect 1 oracle finds; its deployments are
  translated (``translate``), so a parent starting a child flow by name knows the child's
  deployment;
- the migrated copy is rewritten by the codemod (``meta_flows.sandbox.codemod.run`` told those
  wrappers and deployments, written with ``write_result``) and its dependency files migrated
  (``migrate_dependencies``);
- every flow module is imported in the project's Prefect 2 environment (``describe_flows``);
- every flow is run on both sides and compared (``plan_cases`` + ``run_cases``) against a local
  Prefect server (started unless ``PREFECT_API_URL`` is set).

Columns of the table (one row per corpus):

- **files parsing**: ``*.py`` files that parse after the rewrite / all ``*.py`` files;
- **flow modules**: files in which the Prefect 1 inventory finds at least one flow;
- **import P2 / P1**: flow modules that import under Prefect 2, of those that import under
  Prefect 1 (the inventory has no ``import``/``syntax``/``timeout`` error for the file and its
  project's requirements installed);
- **flows equal / ran P1**: flows whose validation verdict is ``equal``, of those whose Prefect 1
  side ran (verdict neither ``legacy-error`` nor ``skipped``);
- **P1 API outside TODO**: rewritten files that still import prefect and in which the codemod's
  audit (``prefect1_leftovers``) finds Prefect 1 API outside a TODO / files that still import
  prefect (files the codemod could not read are counted in the JSON, not here);
- **TODOs / flow module**: ``TODO(prefect2-migration)`` comments the codemod wrote in a flow
  module, mean and max over the flow modules;
- **root causes / flow module**: distinct root causes in a flow module, mean and max, as the
  codemod's report counts them (``meta_flows.core.codemod.engine.root_cause``): TODOs of one
  rule about one construct (the first name a TODO quotes) count once;
- **no TODO**: share of the flow modules with no TODO;
- **wall**: wall time for the corpus, environment builds included.

Progress goes to stderr. ``--json FILE`` writes the raw figures (per file, per flow, the top root
causes); ``--workdir DIR`` keeps the copies there for inspection.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import sys
import tempfile
import time
import traceback
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from meta_flows.core.codemod import engine  # noqa: E402
from meta_flows.core.codemod.audit import prefect1_leftovers  # noqa: E402
from meta_flows.core.codemod.engine import ERROR, MIGRATED, UNCHANGED, imports_prefect  # noqa: E402
from meta_flows.core.codemod.runner import discover, write_result  # noqa: E402
from meta_flows.core.dependencies import migrate_dependencies  # noqa: E402
from meta_flows.core.validation.cases import plan_cases  # noqa: E402
from meta_flows.patches import pyast  # noqa: E402
from meta_flows.sandbox.inventory import PROJECT_FILES  # noqa: E402

DEFAULT_CORPORA = {
    "dummy-flows": ROOT / "corpus" / "dummy-flows",
    "prefect-1.4.1-examples": ROOT / "corpus" / "prefect-1.4.1-examples",
    "estate-fixture": ROOT / "tests" / "estate" / "fixture",
    "examples": ROOT / "examples",
}
ESTATE_FIXTURE = ROOT / "tests" / "estate" / "fixture"
# as tests/estate/test_estate_wave.py::estate_remote builds it (the requirements name this path)
ESTATE_WHEEL = "vendor/acme_platform-1.0-py3-none-any.whl"
P1_IMPORT_ERRORS = ("import", "syntax", "timeout")
RAN_P1 = ("legacy-error", "skipped")  # verdicts whose Prefect 1 side did not run
NOT_A_FLOW = re.compile(r"^LookupError: \S+ is not a @flow in \S+$")
NO_FUNCTION = "__corpus_report_no_flow_function__"  # imports the module, names no function
_STARTED = time.monotonic()


def log(message: str) -> None:
    print(f"[{time.monotonic() - _STARTED:7.1f}s] {message}", file=sys.stderr, flush=True)


def root_cause(rule: str, message: str) -> tuple[str, str]:
    """The root cause a TODO stands for, as the codemod's report counts it."""
    return engine.root_cause(engine.Todo(0, rule, message))


# ------------------------------------------------------------------------------ corpus layout


def has_project_file(directory: Path) -> bool:
    return any((directory / name).is_file() for name in PROJECT_FILES)


def split_projects(corpus: Path) -> list[tuple[str, set[str]]]:
    """The corpus's projects as (directory relative to the corpus, top-level names to leave
    out): the root, or each top-level directory with a requirements file plus the rest."""
    if has_project_file(corpus):
        return [(".", set())]
    subs = sorted(
        d.name
        for d in corpus.iterdir()
        if d.is_dir() and not d.name.startswith(".") and has_project_file(d)
    )
    projects: list[tuple[str, set[str]]] = [(name, set()) for name in subs]
    rest = [p for p in discover([corpus]) if p.relative_to(corpus).parts[0] not in subs]
    if rest or not subs:
        projects.append((".", set(subs)))
    return projects


def copy_project(source: Path, target: Path, leave_out: set[str]) -> None:
    def ignore(directory: str, names: list[str]) -> set[str]:
        skipped = {n for n in names if n in ("__pycache__", ".git")}
        if Path(directory) == source:
            skipped |= leave_out & set(names)
        return skipped

    shutil.copytree(source, target, symlinks=True, ignore=ignore)


def stage(corpus: Path, work: Path) -> Path:
    """The corpus as the migration sees it: a copy (the estate fixture with its company wheel)."""
    staged = work / "source"
    copy_project(corpus, staged, set())
    if corpus.resolve() == ESTATE_FIXTURE:
        from tests.wheels import package_files, write_wheel

        write_wheel(staged / ESTATE_WHEEL, package_files(ROOT / "tests/estate/acme_platform"))
    return staged


# ------------------------------------------------------------------------------ one project


def parses(path: Path) -> bool:
    try:
        pyast.parse(path.read_text(encoding="utf-8-sig"), filename=str(path))
    except (SyntaxError, ValueError, UnicodeDecodeError, RecursionError, MemoryError):
        return False
    return True


def rewrite(migrated: Path, jobs: int, inventory, legacy: Path) -> list:
    """The codemod over the migrated copy, written in place, and its dependency files; told, as
    in a wave, the wrappers the Prefect 1 oracle found and the deployments of the flows."""
    from meta_flows.core.deployments.translate import run_deployment_names, translate
    from meta_flows.sandbox.codemod import run as run_codemod
    from meta_flows.sandbox.inventory import oracle_declarations

    plan = translate(inventory, repo_root=str(legacy))
    summary = run_codemod(
        [migrated],
        jobs=jobs,
        declared=oracle_declarations(inventory),
        deployments=run_deployment_names(inventory, plan),
    )
    for result in summary.results:
        write_result(result)
    needs = sorted({q for result in summary.results for q in result.requirements})
    migrate_dependencies(migrated, needs, write=True)
    return summary.results


def import_p2(migrated: Path, flows_by_file: dict[str, list], timeout: float) -> dict[str, dict]:
    """Per flow module: {"ok": imported in the project's Prefect 2 environment, "error",
    "missing": the planned @flow functions the module does not define}."""
    from meta_flows.sandbox.migrated_describe import describe_flows
    from meta_flows.sandbox.migrated_env import MigratedEnvError, migrated_env

    try:
        python = migrated_env(migrated).python
    except MigratedEnvError as exc:
        reason = f"the Prefect 2 environment: {exc}"[:500]
        return {file: {"ok": False, "error": reason, "missing": []} for file in flows_by_file}
    found = {}
    for file, flows in sorted(flows_by_file.items()):
        functions = sorted({f.function_name for f in flows if f.function_name}) or [NO_FUNCTION]
        described = describe_flows(migrated, [f"{file}:{fn}" for fn in functions], python, timeout)
        errors = {e.rsplit(":", 1)[1]: d["error"] for e, d in described.items() if "error" in d}
        failed = [e for e in errors.values() if not NOT_A_FLOW.match(e)]
        found[file] = {
            "ok": not failed,
            "error": failed[0][:500] if failed else None,
            "missing": [
                fn for fn, e in errors.items() if NOT_A_FLOW.match(e) and fn != NO_FUNCTION
            ],
        }
    return found


def measure_project(label: str, legacy: Path, migrated: Path, args) -> dict:
    """The raw figures of one project; files are relative to the corpus."""
    from meta_flows.orchestration.validation import run_cases
    from meta_flows.sandbox.inventory import inventory_repo

    def rel(path: str | Path) -> str:
        inner = Path(path).relative_to(migrated).as_posix() if Path(path).is_absolute() else path
        return inner if label == "." else f"{label}/{inner}"

    log(f"  {label}: inventory under Prefect 1")
    inventory = inventory_repo(legacy)
    log(f"  {label}: rewrite")
    results = rewrite(migrated, args.jobs, inventory, legacy)
    files = discover([migrated])
    unparsed = [rel(p) for p in files if not parses(p)]
    by_file = {Path(r.path).relative_to(migrated).as_posix(): r for r in results if r.path}
    still_prefect = [r for r in results if r.status in (MIGRATED, UNCHANGED)]
    still_prefect = [r for r in still_prefect if imports_prefect(r.code)]
    leftovers = {}
    for result in still_prefect:
        found = prefect1_leftovers(result.code)
        if found:
            leftovers[rel(result.path)] = [f"{f.line}: {f.what}" for f in found]

    flows_by_file: dict[str, list] = {}
    for flow in inventory.flows:
        flows_by_file.setdefault(flow.file, []).append(flow)
    failed_p1 = {
        e.file: f"{e.kind}: {e.message}" for e in inventory.errors if e.kind in P1_IMPORT_ERRORS
    }
    blocked = [e for e in inventory.errors if e.kind == "requirements"]

    def p1_error(file: str) -> str | None:
        for problem in blocked:
            where = (problem.file or ".").strip("/")
            if where == "." or file.startswith(where + "/"):
                return f"requirements: {problem.message}"
        return failed_p1.get(file)

    log(f"  {label}: import {len(flows_by_file)} flow module(s) under Prefect 2")
    imports = import_p2(migrated, flows_by_file, args.timeout)

    cases = plan_cases(inventory.flows)
    log(f"  {label}: validate {len(cases)} case(s)")
    verdicts = run_cases(legacy, migrated, cases, args.timeout, None)

    modules = {}
    for file, flows in flows_by_file.items():
        result = by_file.get(file)
        todos = result.todos if result else []
        modules[rel(file)] = {
            "flows": [f.name for f in flows],
            "p1_error": p1_error(file),
            "p2_ok": imports[file]["ok"],
            "p2_error": imports[file]["error"],
            "missing_flow_functions": imports[file]["missing"],
            "codemod_status": result.status if result else None,
            "todos": [{"line": t.line, "rule": t.rule, "message": t.message} for t in todos],
            "root_causes": sorted({root_cause(t.rule, t.message) for t in todos}),
        }
    return {
        "files": [rel(p) for p in files],
        "unparsed": unparsed,
        "codemod_errors": {rel(r.path): r.error for r in results if r.status == ERROR},
        "still_prefect": [rel(r.path) for r in still_prefect],
        "leftovers": leftovers,
        "todos_all_files": [
            {"file": rel(r.path), "rule": t.rule, "message": t.message}
            for r in results
            for t in r.todos
        ],
        "modules": modules,
        "verdicts": [
            {
                "file": rel(case.flow.file),
                "flow": v.flow_name,
                "case": v.case,
                "verdict": v.verdict,
                "reason": v.reason,
                "diff": v.diff[:5],
            }
            for case, v in zip(cases, verdicts, strict=True)
        ],
        "inventory_errors": [
            {"file": rel(e.file) if e.file else None, "kind": e.kind, "message": e.message[:500]}
            for e in inventory.errors
        ],
    }


# ------------------------------------------------------------------------------ one corpus


def measure_corpus(name: str, corpus: Path, work: Path, args) -> dict:
    started = time.monotonic()
    log(f"{name}: {corpus}")
    staged = stage(corpus, work)
    merged: dict = {}
    projects = split_projects(staged)
    for label, leave_out in projects:
        folder = "_root" if label == "." else label
        legacy, migrated = work / "legacy" / folder, work / "migrated" / folder
        copy_project(staged / label, legacy, leave_out)
        copy_project(staged / label, migrated, leave_out)
        figures = measure_project(label, legacy, migrated, args)
        for key, value in figures.items():
            if isinstance(value, dict):
                merged.setdefault(key, {}).update(value)
            else:
                merged.setdefault(key, []).extend(value)
    merged["projects"] = [label for label, _ in projects]
    merged["wall_s"] = round(time.monotonic() - started, 1)
    merged["summary"] = summarize(merged)
    log(f"{name}: done in {merged['wall_s']:.0f} s")
    return merged


def summarize(raw: dict) -> dict:
    modules = raw["modules"].values()
    p1 = [m for m in modules if not m["p1_error"]]
    ran = [v for v in raw["verdicts"] if v["verdict"] not in RAN_P1]
    todos = [len(m["todos"]) for m in modules]
    causes = [len(m["root_causes"]) for m in modules]
    top: Counter = Counter()
    files: dict[tuple[str, str], set[str]] = {}
    examples: dict[tuple[str, str], str] = {}
    for todo in raw["todos_all_files"]:
        cause = root_cause(todo["rule"], todo["message"])
        top[cause] += 1
        files.setdefault(cause, set()).add(todo["file"])
        examples.setdefault(cause, todo["message"])
    return {
        "files": len(raw["files"]),
        "files_parsing": len(raw["files"]) - len(raw["unparsed"]),
        "flow_modules": len(modules),
        "flows": len(raw["verdicts"]),
        "import_p1": len(p1),
        "import_p2_of_p1": sum(1 for m in p1 if m["p2_ok"]),
        "import_p2_all": sum(1 for m in modules if m["p2_ok"]),
        "ran_p1": len(ran),
        "equal": sum(1 for v in ran if v["verdict"] == "equal"),
        "verdicts": dict(Counter(v["verdict"] for v in raw["verdicts"])),
        "still_prefect": len(raw["still_prefect"]),
        "leftover_files": len(raw["leftovers"]),
        "codemod_errors": len(raw["codemod_errors"]),
        "todos_mean": sum(todos) / len(todos) if todos else 0.0,
        "todos_max": max(todos, default=0),
        "root_causes_mean": sum(causes) / len(causes) if causes else 0.0,
        "root_causes_max": max(causes, default=0),
        "no_todo": sum(1 for n in todos if n == 0),
        "todos_all_files": len(raw["todos_all_files"]),
        "top_root_causes": [  # over every rewritten file, flow module or not
            {
                "rule": cause[0],
                "root_cause": cause[1],
                "todos": count,
                "files": len(files[cause]),
                "example": examples[cause],
            }
            for cause, count in top.most_common(10)
        ],
    }


# ------------------------------------------------------------------------------ output


def ratio(part: int, whole: int) -> str:
    return f"{part}/{whole} ({100 * part / whole:.0f}%)" if whole else f"{part}/0"


def table(reports: dict[str, dict]) -> str:
    head = (
        "| corpus | files parsing | flow modules | import P2 / P1 | flows equal / ran P1 "
        "| P1 API outside TODO | TODOs / flow module (mean, max) "
        "| root causes / flow module (mean, max) | no TODO | wall |"
    )
    lines = [head, "|" + "---|" * head.count(" | ") + "---|"]
    for name, report in reports.items():
        if "error" in report:
            lines.append(f"| {name} | failed: {report['error']} |")
            continue
        s = report["summary"]
        lines.append(
            f"| {name} | {ratio(s['files_parsing'], s['files'])} | {s['flow_modules']} "
            f"| {ratio(s['import_p2_of_p1'], s['import_p1'])} | {ratio(s['equal'], s['ran_p1'])} "
            f"| {ratio(s['leftover_files'], s['still_prefect'])} "
            f"| {s['todos_mean']:.2f}, {s['todos_max']} "
            f"| {s['root_causes_mean']:.2f}, {s['root_causes_max']} "
            f"| {ratio(s['no_todo'], s['flow_modules'])} | {report['wall_s']:.0f} s |"
        )
    return "\n".join(lines)


def top_causes(reports: dict[str, dict], n: int = 5) -> str:
    lines = []
    for name, report in reports.items():
        if "summary" not in report:
            continue
        s = report["summary"]
        lines.append(f"\n{name}: {s['todos_all_files']} TODOs, verdicts {s['verdicts']}")
        lines.append("  TODOs files  rule   example message")
        lines += [
            f"  {c['todos']:5d} {c['files']:5d}  {c['rule']}  {c['example'][:110]}"
            for c in s["top_root_causes"][:n]
        ]
    return "\n".join(lines)


def parse_corpus(text: str) -> tuple[str, Path]:
    name, sep, path = text.partition("=")
    if not sep or not name or not path:
        raise argparse.ArgumentTypeError(f"expected NAME=PATH, got {text!r}")
    if not Path(path).is_dir():
        raise argparse.ArgumentTypeError(f"not a directory: {path}")
    return name, Path(path).resolve()


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        description=__doc__.split("\n\n")[0],
        epilog="Defaults: every existing one of "
        + ", ".join(f"{n}={p.relative_to(ROOT)}" for n, p in DEFAULT_CORPORA.items()),
    )
    parser.add_argument(
        "--corpus",
        action="append",
        type=parse_corpus,
        metavar="NAME=PATH",
        help="a directory of Prefect 1 code (repeatable)",
    )
    parser.add_argument(
        "--timeout", type=float, default=60.0, help="seconds per flow run and module import"
    )
    parser.add_argument("--jobs", type=int, default=2, help="codemod worker processes")
    parser.add_argument("--json", type=Path, help="write the raw figures to this file")
    parser.add_argument("--workdir", type=Path, help="keep the copies here (default: a temp dir)")
    args = parser.parse_args(argv)
    corpora = dict(args.corpus or [(n, p) for n, p in DEFAULT_CORPORA.items() if p.is_dir()])
    if not corpora:
        parser.error("no corpus given and none of the default ones exists")

    work = args.workdir or Path(tempfile.mkdtemp(prefix="meta-flows-corpus-"))
    work.mkdir(parents=True, exist_ok=True)
    server = None
    if not os.environ.get("PREFECT_API_URL"):
        from meta_flows.adapters.prefect2.local_server import start_server

        log("starting a local Prefect server")
        server = start_server(work / "prefect-server", events=False)
        os.environ["PREFECT_API_URL"] = server.url
    reports: dict[str, dict] = {}
    try:
        for name, path in corpora.items():
            target = work / name
            if target.exists():
                shutil.rmtree(target)
            try:
                reports[name] = measure_corpus(name, path, target, args)
            except Exception as exc:  # noqa: BLE001 - one corpus's failure is reported, not fatal
                traceback.print_exc()
                reports[name] = {"error": f"{type(exc).__name__}: {exc}"[:300]}
            if args.json:
                args.json.write_text(json.dumps(reports, indent=2, default=str), encoding="utf-8")
    finally:
        if server is not None:
            server.stop()
        if args.workdir is None:
            shutil.rmtree(work, ignore_errors=True)
    print(table(reports))
    print(top_causes(reports))


if __name__ == "__main__":
    main()
