"""Throughput of the codemod next to the floor for any LibCST codemod.

    python benchmarks/rewrite_throughput.py [PATH ...] [--repeat N]

PATH defaults to the bundled Prefect 1 sources (tests/integration/cases and examples/); the wave
benchmark's flows are ``python benchmarks/estate.py OUT`` then ``OUT/repos/*/flows``. Prints
files/s, lines/s and CPU milliseconds per file for (1) a bare LibCST parse + ``Module.code`` round
trip, (2) the full rule set in one process, (3) the full rule set through ``meta-flows rewrite``'s
process pool (CPU of the workers not counted), and the ratio of (2) to (1). Every figure is the
best of ``--repeat`` warm runs (imports and first-use caches are paid before timing). Run it on a
quiet machine; ratios are steadier than absolute figures.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

import libcst as cst

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from meta_flows.core.codemod import runner  # noqa: E402
from meta_flows.core.codemod.project import scan_project  # noqa: E402


def best_of(repeat: int, fn) -> tuple[float, float]:
    """(wall seconds, CPU seconds of this process), each the best of ``repeat`` runs."""
    walls, cpus = [], []
    for _ in range(repeat):
        start, cpu = time.perf_counter(), time.process_time()
        fn()
        walls.append(time.perf_counter() - start)
        cpus.append(time.process_time() - cpu)
    return min(walls), min(cpus)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("paths", nargs="*", type=Path)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    paths = args.paths or [ROOT / "tests" / "integration" / "cases", ROOT / "examples"]
    files = runner.discover(paths)
    sources = [f.read_text(encoding="utf-8", errors="replace") for f in files]
    lines = sum(s.count("\n") + 1 for s in sources)
    print(f"{len(files)} files, {lines} lines, {os.cpu_count()} cores")

    def bare() -> None:
        for source in sources:
            try:
                assert cst.parse_module(source).code == source
            except cst.ParserSyntaxError:
                pass

    root = Path(os.path.commonpath([str(p.resolve()) for p in paths]))
    project = scan_project(root if root.is_dir() else root.parent, files)

    def full_serial() -> None:
        for path in files:
            runner.migrate_file(path, project)

    def full_pool() -> None:
        runner.run(paths)

    for path in files[:3]:  # warm up: imports, LibCST's and the rules' per-class caches
        runner.migrate_file(path, project)
    rows = [
        ("LibCST parse + code (floor)", *best_of(args.repeat, bare)),
        ("meta-flows rules, 1 process", *best_of(args.repeat, full_serial)),
        ("meta-flows rewrite (pool)", *best_of(args.repeat, full_pool)),
    ]
    print(f"{'':32} {'seconds':>9} {'files/s':>9} {'lines/s':>10} {'CPU ms/file':>12}")
    for name, seconds, cpu in rows:
        cpu_ms = "-" if "pool" in name else f"{1000 * cpu / len(files):.1f}"
        print(
            f"{name:32} {seconds:9.2f} {len(files) / seconds:9.1f} {lines / seconds:10.0f}"
            f" {cpu_ms:>12}"
        )
    print(f"ratio rules/floor (1 process): {rows[1][1] / rows[0][1]:.1f}x")
    print(f"ratio rules/floor (pool):      {rows[2][1] / rows[0][1]:.1f}x")


if __name__ == "__main__":
    main()
