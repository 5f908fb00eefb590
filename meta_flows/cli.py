"""The ``meta-flows`` command line (typer): a thin layer over the core libraries."""

from __future__ import annotations

import json
import sys
import warnings
from enum import Enum
from pathlib import Path
from typing import Annotated

import typer

from meta_flows import __version__

# Prefect 2.20 and its integrations warn about their own internals on import (duplicate block
# registrations, pydantic v1/v2 mixing); none of it is actionable for a meta-flows user.
warnings.filterwarnings("ignore", category=UserWarning, module=r"(prefect|pydantic)(\.|$)")

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
        int | None,
        typer.Option("--jobs", "-j", min=1, help="Worker processes (default: all cores)."),
    ] = None,
    timeout: Annotated[
        float,
        typer.Option(
            "--timeout",
            min=1,
            help="Seconds the codemod may take on one file; past it the file is an error.",
        ),
    ] = 120.0,
    flow_class: Annotated[
        list[str] | None,
        typer.Option(
            "--flow-class",
            metavar="DOTTED",
            help="A subclass of Prefect 1's Flow whose source is not rewritten, e.g. "
            "acme_platform.custom.Flow: its flows become @flow functions (repeatable; also "
            "flow-classes in \\[tool.meta-flows] of pyproject.toml).",
        ),
    ] = None,
    task_class: Annotated[
        list[str] | None,
        typer.Option(
            "--task-class",
            metavar="DOTTED",
            help="A subclass of Prefect 1's Task whose source is not rewritten: its instances "
            "become @task functions (repeatable; also task-classes in \\[tool.meta-flows]).",
        ),
    ] = None,
    task_factory: Annotated[
        list[str] | None,
        typer.Option(
            "--task-factory",
            metavar="DOTTED",
            help="A decorator standing for Prefect 1's task (a factory or a configured task) "
            "whose source is not rewritten: it becomes @task (repeatable; also task-factories "
            "in \\[tool.meta-flows]).",
        ),
    ] = None,
) -> None:
    """Rewrite Prefect 1 code to Prefect 2 (LibCST codemod; rules in docs/rules.md)."""
    from meta_flows.core.codemod.project import WrapperDeclarationError, WrapperDeclarations
    from meta_flows.core.codemod.rules import RULES_BY_CODE
    from meta_flows.core.codemod.runner import unified_diff, write_result
    from meta_flows.sandbox.codemod import run

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
    declared = WrapperDeclarations(
        tuple(flow_class or ()), tuple(task_class or ()), tuple(task_factory or ())
    )
    if declared.invalid():
        _usage(
            f"not a dotted name (package.module.Name) for --flow-class/--task-class/"
            f"--task-factory: {', '.join(declared.invalid())}"
        )

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

    try:
        summary = run(
            paths,
            disabled=disabled,
            jobs=jobs,
            on_result=on_result,
            file_timeout=timeout,
            declared=declared,
        )
    except WrapperDeclarationError as exc:  # a malformed [tool.meta-flows] table
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(2) from exc
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


@app.command()
def inventory(
    repo_dir: Annotated[Path, typer.Argument(help="The Prefect 1 repository to inventory.")],
    json_file: Annotated[
        Path | None,
        typer.Option("--json", help="Write the inventory JSON (format: docs/schemas.md) here."),
    ] = None,
) -> None:
    """List every Prefect 1 flow with its deployment config (loaded in Prefect 1.4.1)."""
    from meta_flows.sandbox.inventory import inventory_repo
    from meta_flows.sandbox.legacy.env import LegacyEnvError

    if not repo_dir.is_dir():
        _usage(f"not a directory: {repo_dir}")
    try:
        result = inventory_repo(repo_dir)
    except LegacyEnvError as exc:  # the base Prefect 1 environment itself cannot be built
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(1) from exc
    if json_file is not None:
        json_file.parent.mkdir(parents=True, exist_ok=True)
        json_file.write_text(result.to_json(), encoding="utf-8")
    else:
        for flow in result.flows:
            clocks = len(flow.schedule.clocks) if flow.schedule else 0
            parts = [
                f"{flow.file}:{flow.line or '?'}",
                f"{flow.name!r} -> {flow.function_name or '(no function)'}",
                f"[{flow.method}]",
                f"storage={flow.storage.type if flow.storage else '-'}",
                f"run_config={flow.run_config.type if flow.run_config else '-'}",
                f"executor={flow.executor.type if flow.executor else '-'}",
                f"clocks={clocks}",
                f"project={flow.project_name or '-'}",
            ]
            typer.echo("  ".join(parts))
            if flow.dynamic_error:
                typer.echo(f"    static fallback: {flow.dynamic_error.splitlines()[0]}")
    for error in result.errors:
        where = f"{error.file or '.'}{f':{error.line}' if error.line else ''}"
        typer.echo(f"{error.kind} error: {where}: {error.message.splitlines()[0]}", err=True)
    dynamic = sum(f.method == "dynamic" for f in result.flows)
    typer.echo(
        f"{len(result.flows)} flow(s) ({dynamic} dynamic, {len(result.flows) - dynamic} static); "
        f"{len(result.errors)} error(s)",
        err=True,
    )


@app.command()
def deployments(
    repo_dir: Annotated[
        Path, typer.Argument(help="The Prefect 1 repository (its prefect.yaml goes here).")
    ],
    out: Annotated[
        Path | None,
        typer.Option("--out", help="The prefect.yaml to write (default: REPO_DIR/prefect.yaml)."),
    ] = None,
    pool: Annotated[
        list[str] | None,
        typer.Option(
            "--pool",
            help="NAME=TYPE: send every deployment of work pool TYPE (or Prefect 1 run config, "
            "e.g. KubernetesRun) to the pool NAME (repeatable).",
        ),
    ] = None,
    inventory: Annotated[
        Path | None,
        typer.Option("--inventory", help="Use this inventory JSON instead of collecting one."),
    ] = None,
    git_url: Annotated[
        str | None,
        typer.Option(
            "--git-url",
            help="The remote the deployments' pull steps clone (default: REPO_DIR's origin).",
        ),
    ] = None,
    branch: Annotated[
        str | None,
        typer.Option("--branch", help="The branch they clone (default: REPO_DIR's current)."),
    ] = None,
) -> None:
    """Translate Prefect 1 deployment config into prefect.yaml and work-pools.yaml (§13-16).

    When the repository is a git checkout with an origin (or --git-url is given), every
    deployment clones it (a git_clone pull step at --branch); otherwise local storage points
    at the checkout's directory, with a TODO."""
    from meta_flows.core.deployments.plan import Target, TranslationError, parse_pool_overrides
    from meta_flows.core.deployments.render import blocks_report, write_plan
    from meta_flows.core.deployments.translate import translate
    from meta_flows.core.inventory.model import Inventory

    if not repo_dir.is_dir():
        _usage(f"not a directory: {repo_dir}")
    try:
        overrides = parse_pool_overrides(pool or [])
    except TranslationError as exc:
        _usage(str(exc))
    if inventory is not None:
        inv = Inventory.from_json(inventory.read_text(encoding="utf-8"))
    else:
        from meta_flows.sandbox.inventory import inventory_repo

        inv = inventory_repo(repo_dir)
    target = None
    if git_url is None:
        git_url, branch = _origin_of(repo_dir, branch)
    if git_url:
        if not branch:
            _usage("--branch is needed with --git-url when REPO_DIR is not on a branch")
        target = Target(project=repo_dir.resolve().name, git_url=git_url, branch=branch)
    try:
        plan = translate(inv, overrides, repo_root=str(repo_dir.resolve()), target=target)
    except TranslationError as exc:
        _usage(str(exc))
    yaml_path, pools_path = write_plan(plan, out or repo_dir / "prefect.yaml")
    typer.echo(f"wrote {yaml_path}: {len(plan.deployments)} deployment(s)")
    typer.echo(f"wrote {pools_path}: {len(plan.pools)} work pool(s)")
    for line in blocks_report(plan):
        typer.echo(f"block: {line}")
    for todo in plan.all_todos():
        typer.echo(f"TODO: {todo}")


def _origin_of(repo_dir: Path, branch: str | None) -> tuple[str | None, str | None]:
    """(origin URL, current branch or ``branch``) of a git checkout; (None, None) otherwise."""
    import git

    try:
        repo = git.Repo(repo_dir)  # its own checkout only: entrypoints are relative to it
        url = repo.remotes.origin.url
    except (git.InvalidGitRepositoryError, git.NoSuchPathError, AttributeError, ValueError):
        return None, None
    if branch is None and not repo.head.is_detached:
        branch = repo.active_branch.name
    return url, branch


@app.command()
def validate(
    legacy: Annotated[
        Path, typer.Option("--legacy", help="The repository before rewriting (Prefect 1).")
    ],
    migrated: Annotated[
        Path, typer.Option("--migrated", help="The repository after rewriting (Prefect 2).")
    ],
    cases: Annotated[
        Path | None,
        typer.Option("--cases", help="YAML validation cases: {flow: [{case, parameters}]}."),
    ] = None,
    report: Annotated[
        Path | None,
        typer.Option("--report", help="Write a JSON report (one entry per flow and case)."),
    ] = None,
    timeout: Annotated[
        float, typer.Option("--timeout", help="Seconds one flow run may take.")
    ] = 300.0,
) -> None:
    """Run every flow old and new side by side and compare (exit 1 unless all equal/skipped)."""
    from meta_flows.core.validation.cases import CasesFileError
    from meta_flows.core.validation.compare import summary
    from meta_flows.orchestration.validation import validate_repo
    from meta_flows.sandbox.legacy.env import LegacyEnvError

    for label, path in (("--legacy", legacy), ("--migrated", migrated)):
        if not path.is_dir():
            _usage(f"{label}: not a directory: {path}")
    try:
        verdicts = validate_repo(legacy, migrated, cases, timeout=timeout)
    except CasesFileError as exc:
        _usage(str(exc))
    except LegacyEnvError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(1) from exc
    except ValueError as exc:  # the cases file names an unknown flow
        _usage(str(exc))
    if report is not None:
        entries = [v.model_dump(mode="json") for v in verdicts]
        report.parent.mkdir(parents=True, exist_ok=True)
        report.write_text(json.dumps(entries, indent=2) + "\n", encoding="utf-8")
    for v in verdicts:
        durations = "/".join(
            "-" if s is None else f"{s:.2f}s" for s in (v.legacy_duration_s, v.migrated_duration_s)
        )
        detail = summary(v) or ""
        typer.echo(f"{v.verdict:<15} {v.flow_name} [{v.case}] {durations}  {detail}".rstrip())
    counts: dict[str, int] = {}
    for v in verdicts:
        counts[v.verdict] = counts.get(v.verdict, 0) + 1
    parts = [f"{n} {verdict}" for verdict, n in sorted(counts.items())]
    typer.echo(f"{len(verdicts)} case(s): {', '.join(parts) or 'none'}", err=True)
    if any(v.verdict not in ("equal", "skipped") for v in verdicts):
        raise typer.Exit(1)


pools_app = typer.Typer(help="Work pools for migrated deployments.", no_args_is_help=True)
app.add_typer(pools_app, name="pools")


@pools_app.command("apply")
def pools_apply(
    file: Annotated[Path, typer.Argument(help="A work-pools.yaml written by `deployments`.")],
) -> None:
    """Create or update the file's work pools on the current Prefect API (idempotent)."""
    import asyncio

    from meta_flows.adapters.prefect2.work_pools import apply_pools
    from meta_flows.core.deployments.render import load_pools

    if not file.is_file():
        _usage(f"no such file: {file}")
    try:
        pools = load_pools(file)
    except ValueError as exc:
        _usage(str(exc))
    results = asyncio.run(apply_pools(pools))
    for result in results:
        detail = f" ({result.message})" if result.message else ""
        typer.echo(f"{result.action}: {result.name}{detail}", err=result.action == "error")
    if any(r.action == "error" for r in results):
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


wave_app = typer.Typer(help="Migration waves (the migrate-wave flow).", no_args_is_help=True)
app.add_typer(wave_app, name="wave")


def _print_wave(result: dict) -> None:
    for project in result["projects"]:
        # a module whose flows could not be read under Prefect 1 is not a flow case
        flows = [f for f in project["flows"] if f.get("case") != "module"]
        modules = len(project["flows"]) - len(flows)
        equal = sum(1 for f in flows if f["verdict"] == "equal")
        unread = f" (+{modules} module(s) that do not load under Prefect 1)" if modules else ""
        typer.echo(
            f"{project['state']:<12} {project['name']:<24} {equal}/{len(flows)} flow case(s) equal"
            f"{unread}  {project['reason'] or ''}"
        )


def _wave_exit(result: dict) -> int:
    return 1 if any(p["state"] == "failed" for p in result["projects"]) else 0


@wave_app.command("run")
def wave_run(
    registry: Path = typer.Argument(..., help="Registry YAML file or directory."),
    wave: str = typer.Option(..., "--wave", help="The wave to run."),
    report: Path | None = typer.Option(None, "--report", help="Write the JSON report here."),
    workspace: Path = typer.Option(Path(".meta-flows"), help="Clones and the ledger."),
    dry_run: bool = typer.Option(False, "--dry-run", help="No push, deployments or promotion."),
    max_parallel: int = typer.Option(
        2,
        "--max-parallel",
        help="Projects validating at the same time (one more is prepared meanwhile).",
    ),
    timeout: float = typer.Option(300.0, help="Seconds one validation flow run may take."),
    work_pool: str = typer.Option(
        "",
        "--work-pool",
        help="Run each project as a migrate-project flow run on this work pool, picked up by "
        "its workers (prefect worker start --pool POOL; they must see the workspace). "
        "Default: in this process.",
    ),
    validation: str = typer.Option(
        "registry",
        "--validation",
        help="Where the migrated side of validation runs: local (child interpreters), "
        "deployment (the shadow deployments, on workers of their pools), or registry (as each "
        "project says).",
    ),
) -> None:
    """Run one wave of the registry against the current Prefect API (exit 1 if a project failed)."""
    from meta_flows.core.registry import RegistryFileError, UnknownWaveError

    if validation not in ("registry", "local", "deployment"):
        _usage(f"--validation must be registry, local or deployment, not {validation!r}")
    from meta_flows.flows.wave import migrate_wave, wave_result
    from meta_flows.orchestration.workspace_lock import WorkspaceBusy

    try:
        state = migrate_wave(
            wave=wave,
            registry=str(registry),
            workspace=str(workspace),
            dry_run=dry_run,
            max_parallel=max_parallel,
            timeout=timeout,
            report=str(report) if report else None,
            work_pool=work_pool,
            validation=validation,
            return_state=True,
        )
        result = wave_result(state)
    except (RegistryFileError, UnknownWaveError) as exc:
        _usage(str(exc))
    except WorkspaceBusy as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(1) from None
    _print_wave(result)
    raise typer.Exit(_wave_exit(result))


@wave_app.command("verify")
def wave_verify(
    registry: Path = typer.Argument(..., help="Registry YAML file or directory."),
    wave: str = typer.Option(..., "--wave", help="The wave whose deployments to check."),
    workspace: Path = typer.Option(Path(".meta-flows"), help="Clones and the ledger."),
    as_json: bool = typer.Option(False, "--json", help="Print the result as JSON."),
) -> None:
    """Compare the live deployments of a wave with their branch's prefect.yaml (exit 1 on drift).

    Every difference is named field by field: entrypoint, parameters, tags, work pool, job
    variables, pull steps, schedules with active."""
    import json

    from meta_flows.core.registry import RegistryFileError, UnknownWaveError, load_registry
    from meta_flows.orchestration.verify import verify_wave

    try:
        loaded = load_registry(registry)
        the_wave = loaded.registry.wave(wave)
    except (RegistryFileError, UnknownWaveError) as exc:
        _usage(str(exc))
    results = verify_wave(loaded.registry, the_wave, workspace)
    if as_json:
        typer.echo(json.dumps([r.report() for r in results], indent=2))
    else:
        for result in results:
            if result.ref is None and not result.drift:
                typer.echo(f"{result.project}: no deployments to verify")
                continue
            status = "drift" if result.drift else "ok"
            typer.echo(
                f"{result.project}: {status} ({result.checked} deployment(s) against {result.ref})"
            )
            for line in result.drift:
                typer.echo(f"  {line}")
    raise typer.Exit(1 if any(r.drift for r in results) else 0)


@app.command()
def demo(
    workspace: Path = typer.Option(
        Path(".meta-flows/demo"), help="Where the demo keeps its state."
    ),
    report: Path | None = typer.Option(None, "--report", help="Write the JSON report here."),
    keep_server: bool = typer.Option(
        False, "--keep-server", help="Leave the auto-started Prefect server running (UI)."
    ),
    work_pool: str = typer.Option(
        "",
        "--work-pool",
        help="Run each project as a migrate-project flow run on this process work pool, with "
        "--workers local workers started for it. Default: in this process.",
    ),
    workers: int = typer.Option(2, "--workers", help="Local workers for --work-pool (0: none)."),
) -> None:
    """Run a whole wave over the demo registry (examples/) on embedded defaults."""
    from meta_flows.demo import run_demo

    report = report or workspace / "report.json"
    typer.echo(f"meta-flows demo: workspace {workspace} (first run builds the Prefect 1 env)")
    result = run_demo(
        workspace,
        report=report,
        keep_server=keep_server,
        work_pool=work_pool,
        workers=workers if work_pool else 0,
    )
    _print_wave(result.report)
    typer.echo("")
    typer.echo(f"Report: {report}")
    typer.echo(f"Ledger: {workspace / 'ledger' / 'demo.json'}")
    typer.echo(f"Migrated repositories: {workspace / 'repos'} (branch prefect2/demo)")
    if result.server_home is None:
        typer.echo(
            f"Prefect API: {result.api_url} (flow run 'migrate-wave', artifacts 'wave-demo-*')"
        )
    elif keep_server:
        typer.echo(f"Prefect UI and API (still running): {result.api_url.removesuffix('/api')}")
    else:
        typer.echo("Open the Prefect UI on the demo's runs, artifacts and deployments:")
        typer.echo(f"  {_self_command()} ui --workspace {workspace}")
    typer.echo(f"Start over: rm -rf {workspace}")
    raise typer.Exit(_wave_exit(result.report))


def _self_command() -> str:
    """How to run this meta-flows again (the venv's script, so it works unactivated)."""
    import shutil
    import sys

    script = Path(sys.executable).with_name("meta-flows")
    if script.exists() and shutil.which("meta-flows") != str(script):
        return str(script)
    return "meta-flows"


@app.command()
def ui(
    workspace: Path = typer.Option(
        Path(".meta-flows/demo"), help="The demo's workspace (its Prefect database)."
    ),
    port: int = typer.Option(4200, help="Port of the UI and API on 127.0.0.1."),
) -> None:
    """Open the Prefect UI on the demo's data: a Prefect server on its database (Ctrl-C stops)."""
    import time

    from meta_flows.adapters.prefect2.local_server import start_server

    home = workspace / "server"
    if not (home / "prefect.db").exists():
        _usage(f"no demo data in {workspace} (run meta-flows demo first)")
    server = start_server(home.resolve(), port=port, ui=True)
    typer.echo(f"Prefect UI: {server.url.removesuffix('/api')}  (Ctrl-C stops it)")
    try:
        while server.process.poll() is None:
            time.sleep(1)
    except KeyboardInterrupt:
        pass
    finally:
        server.stop()


automations_app = typer.Typer(help="Prefect automations for waves.", no_args_is_help=True)
app.add_typer(automations_app, name="automations")


@automations_app.command("apply")
def automations_apply(
    registry: Path = typer.Argument(..., help="Registry YAML file or directory."),
    wave: str | None = typer.Option(None, "--wave", help="Only this wave's projects."),
    rollback_deployment: str = typer.Option(
        "rollback-wave/rollback-wave", help="Deployment the rollback automation runs."
    ),
) -> None:
    """Create or update the notification and rollback automations (idempotent).

    Prefect 2.20's server runs automations only with PREFECT_EXPERIMENTAL_EVENTS=true (server and
    client).
    """
    from meta_flows.adapters.prefect2.automations import apply_command

    raise typer.Exit(apply_command(registry, wave, rollback_deployment))


def _usage(message: str) -> None:
    typer.echo(f"Usage error: {message}", err=True)
    raise typer.Exit(2)


if __name__ == "__main__":  # pragma: no cover
    app()
