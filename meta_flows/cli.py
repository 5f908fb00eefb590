"""The ``meta-flows`` command line (typer): a thin layer over the core libraries."""

from __future__ import annotations

import json
import sys
from enum import Enum
from pathlib import Path
from typing import Annotated

import typer

from meta_flows import __version__

app = typer.Typer(
    name="meta-flows",
    help="Migrate Prefect 1 flows to Prefect 2: rewrite code, translate deployments, validate.",
    no_args_is_help=True,
    add_completion=False,
)


class Mode(str, Enum):
    diff = "diff"
    write = "write"
    check = "check"


def _version(value: bool) -> None:
    if value:
        typer.echo(f"meta-flows {__version__}")
        raise typer.Exit()


@app.callback()
def main(
    version: Annotated[
        bool, typer.Option("--version", callback=_version, is_eager=True, help="Show version.")
    ] = False,
) -> None:
    """meta-flows: migrate Prefect 1 estates to Prefect 2."""


@app.command()
def rewrite(
    paths: Annotated[
        list[Path],
        typer.Argument(help="Files or directories (searched recursively for *.py)."),
    ],
    diff: Annotated[
        bool, typer.Option("--diff", help="Print a unified diff; write nothing (default).")
    ] = False,
    write: Annotated[bool, typer.Option("--write", help="Rewrite the files in place.")] = False,
    check: Annotated[
        bool, typer.Option("--check", help="Exit 1 if any file would change (for CI).")
    ] = False,
    report: Annotated[
        Path | None,
        typer.Option("--report", help="Write a JSON report of every file to this path."),
    ] = None,
    disable: Annotated[
        list[str] | None,
        typer.Option("--disable", help="Rule code to switch off (repeatable), e.g. PF008."),
    ] = None,
    jobs: Annotated[
        int | None, typer.Option("--jobs", "-j", help="Worker processes (default: all cores).")
    ] = None,
) -> None:
    """Rewrite Prefect 1 code to Prefect 2 (LibCST codemod; see the README's rule table)."""
    from meta_flows.codemod.rules import RULES_BY_CODE
    from meta_flows.codemod.runner import run, unified_diff, write_result

    if sum((diff, write, check)) > 1:
        _usage("choose one of --diff, --write and --check")
    mode = Mode.write if write else Mode.check if check else Mode.diff
    missing = [str(p) for p in paths if not p.exists()]
    if missing:
        _usage(f"no such file or directory: {', '.join(missing)}")
    disabled = frozenset(code.upper() for code in disable or [])
    unknown = sorted(disabled - set(RULES_BY_CODE))
    if unknown:
        _usage(f"unknown rule code(s) for --disable: {', '.join(unknown)}")

    progress = _Progress(enabled=sys.stderr.isatty())
    originals: dict[str, str] = {}

    def on_result(result) -> None:
        progress.advance(result.path)
        if result.status == "migrated" and mode is Mode.diff:
            original = Path(result.path).read_text(encoding="utf-8")
            originals[result.path] = original
            progress.clear()
            typer.echo(unified_diff(result, original), nl=False)
        elif result.status == "error":
            progress.clear()
            typer.echo(f"error: {result.path}: {result.error}", err=True)

    summary = run(paths, disabled=disabled, jobs=jobs, on_result=on_result)
    progress.clear()
    written = 0
    if mode is Mode.write:
        written = sum(write_result(r) for r in summary.results)
    if report is not None:
        report.parent.mkdir(parents=True, exist_ok=True)
        report.write_text(json.dumps(summary.report(), indent=2) + "\n", encoding="utf-8")

    counts = summary.counts()
    todos = sum(len(r.todos) for r in summary.results)
    parts = [f"{n} {status}" for status, n in sorted(counts.items())]
    line = f"{len(summary.results)} file(s): {', '.join(parts) or 'none'}; {todos} TODO(s)"
    if mode is Mode.write:
        line += f"; {written} written"
    typer.echo(line, err=True)
    if mode is Mode.check and counts.get("migrated"):
        raise typer.Exit(1)


class _Progress:
    """A one-line progress counter on a terminal (nothing when output is not a TTY)."""

    def __init__(self, enabled: bool) -> None:
        self.enabled = enabled
        self.done = 0
        self.shown = False

    def advance(self, path: str | None) -> None:
        self.done += 1
        if self.enabled and self.done % 10 == 0:
            sys.stderr.write(f"\r\x1b[Kmigrating… {self.done} file(s) ({path})")
            sys.stderr.flush()
            self.shown = True

    def clear(self) -> None:
        if self.shown:
            sys.stderr.write("\r\x1b[K")
            sys.stderr.flush()
            self.shown = False


def _usage(message: str) -> None:
    typer.echo(f"Usage error: {message}", err=True)
    raise typer.Exit(2)


if __name__ == "__main__":  # pragma: no cover
    app()
