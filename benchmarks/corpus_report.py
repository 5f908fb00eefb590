"""Measure the codemod on a corpus of real Prefect 1 code.

    python benchmarks/corpus_report.py DIR [DIR ...] [--json FILE]

For every ``*.py`` under DIR that uses Prefect: rewrite it (in memory), then report the share of
files that parse after rewriting, the share that import under the installed Prefect 2 among those
with no third-party imports, Prefect 1 leftovers outside TODOs (the audit), and TODOs per file by
rule. Imports run in one child process, each module with a time limit, in a scratch directory.
"""

from __future__ import annotations

import argparse
import ast
import json
import subprocess
import sys
import tempfile
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from meta_flows.core.codemod import runner  # noqa: E402

STDLIB = set(sys.stdlib_module_names)

_IMPORTER = r"""
import importlib.util, json, os, signal, sys, traceback
results = {}
def alarm(*_):
    raise TimeoutError("import took too long")
signal.signal(signal.SIGALRM, alarm)
for path in json.loads(sys.stdin.read()):
    name = "corpus_mod_" + str(abs(hash(path)))
    signal.alarm(30)
    try:
        spec = importlib.util.spec_from_file_location(name, path)
        module = importlib.util.module_from_spec(spec)
        sys.path.insert(0, os.path.dirname(path))
        spec.loader.exec_module(module)
        results[path] = None
    except BaseException as exc:
        results[path] = f"{type(exc).__name__}: {exc}"[:300]
    finally:
        signal.alarm(0)
        sys.path.pop(0)
print("@@RESULTS@@" + json.dumps(results))
"""


def third_party_imports(source: str, local: set[str]) -> set[str]:
    try:
        tree = ast.parse(source)
    except SyntaxError:
        return {"<syntax error>"}
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom) and not node.level and node.module:
            names = [node.module]
        else:
            continue
        for name in names:
            top = name.split(".")[0]
            if top not in STDLIB and top != "prefect" and top not in local:
                found.add(top)
    return found


def _import_all(python: str, paths: list[str], cwd: Path) -> dict[str, str | None]:
    out = subprocess.run(
        [python, "-c", _IMPORTER],
        input=json.dumps(paths),
        capture_output=True,
        text=True,
        cwd=cwd,
        timeout=3600,
    )
    marker = out.stdout.rfind("@@RESULTS@@")
    return json.loads(out.stdout[marker + len("@@RESULTS@@") :]) if marker >= 0 else {}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("paths", nargs="+", type=Path)
    parser.add_argument("--json", type=Path)
    parser.add_argument(
        "--legacy-python",
        type=Path,
        help="A Prefect 1 interpreter: also import each ORIGINAL file there, and report the "
        "Prefect 2 import share among the files that import under Prefect 1 (doc fragments "
        "that need earlier snippets fail on both sides and say nothing about the codemod).",
    )
    args = parser.parse_args()

    from meta_flows.core.codemod.audit import prefect1_leftovers

    summary = runner.run(args.paths)
    results = [r for r in summary.results if r.status != "not-prefect1"]
    local = {p.stem for p in runner.discover(args.paths)}
    parsed = 0
    leftovers: dict[str, int] = {}
    importable: list[str] = []
    originals: dict[str, str] = {}
    scratch = Path(tempfile.mkdtemp(prefix="corpus-"))
    for i, r in enumerate(results):
        if r.status == "error":
            continue
        try:
            compile(r.code, r.path, "exec")
            parsed += 1
        except SyntaxError:
            continue
        found = prefect1_leftovers(r.code)
        if found:
            leftovers[r.path] = len(found)
        original = Path(r.path).read_text(encoding="utf-8")
        if not third_party_imports(original, local):
            target = scratch / f"m{i}" / Path(r.path).name
            target.parent.mkdir()
            target.write_text(r.code, encoding="utf-8")
            importable.append(str(target))
            legacy = scratch / f"l{i}" / Path(r.path).name
            legacy.parent.mkdir()
            legacy.write_text(original, encoding="utf-8")
            originals[str(target)] = str(legacy)
    imports = _import_all(sys.executable, importable, scratch)
    ok = sum(1 for v in imports.values() if v is None)
    errors = Counter(r.status for r in results)
    todos = Counter(t.rule for r in results for t in r.todos)
    n = len(results)
    print(f"files using Prefect: {n} ({dict(errors)})")
    print(f"parse after rewrite: {parsed}/{n - errors.get('error', 0)} of files the codemod read")
    print(f"import under Prefect 2 (no third-party imports): {ok}/{len(importable)}")
    print(f"files with Prefect 1 leftovers outside TODOs: {len(leftovers)}")
    print(f"TODOs: {sum(todos.values())} in all, {sum(todos.values()) / max(n, 1):.2f} per file")
    for rule, count in sorted(todos.items()):
        print(f"  {rule}: {count} ({count / max(n, 1):.2f} per file)")
    if args.legacy_python:
        legacy = _import_all(str(args.legacy_python), list(originals.values()), scratch)
        base = [m for m, o in originals.items() if legacy.get(o) is None]
        both = sum(1 for m in base if imports.get(m) is None)
        print(
            f"import under Prefect 2, of the files whose original imports under Prefect 1: "
            f"{both}/{len(base)}"
        )
        imports = {m: imports.get(m) for m in base}
    failures = {k: v for k, v in imports.items() if v}
    if failures:
        print(f"import failures ({len(failures)}):")
        for path, error in failures.items():
            print(f"  {Path(path).parent.name}/{Path(path).name}: {error}")
    if args.json:
        args.json.write_text(
            json.dumps(
                {
                    "files": n,
                    "status": dict(errors),
                    "parsed": parsed,
                    "import_ok": ok,
                    "import_tried": len(importable),
                    "import_failures": failures,
                    "leftovers": leftovers,
                    "todos_by_rule": dict(todos),
                    "errors": {r.path: r.error for r in results if r.status == "error"},
                },
                indent=2,
            )
        )


if __name__ == "__main__":
    main()
