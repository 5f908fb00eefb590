"""Build the inventory of a Prefect 1 repository: load its flows in Prefect 1, fall back to source.

:func:`inventory_repo` is the whole pipeline:

1. discover the candidate modules (``*.py`` files mentioning ``prefect``; syntax errors become
   ``syntax`` errors with file and line);
2. group them by project: the nearest directory with ``requirements.txt``/``pyproject.toml``/
   ``setup.py`` (else the repository root), and create that project's Prefect 1 environment
   (:func:`meta_flows.sandbox.legacy.env.env_for_project`). A project whose requirements cannot install
   gets a ``requirements`` error naming it and pip's reason; its modules are read statically;
3. run :mod:`meta_flows.sandbox.legacy.probe` once per project in its Prefect 1 interpreter (all modules
   in one process; if a module kills the interpreter, the probe is started again for the modules
   after it); modules that fail to load get an ``import``/``timeout`` error and are read
   statically (:mod:`meta_flows.core.inventory.static`), each flow with ``dynamic_error`` saying why;
4. name every flow's ``@flow`` function with
   :func:`meta_flows.core.codemod.analysis.flows.plan_flow_functions` on the original source,
   the one naming function the codemod and the deployment translator share;
5. sort flows and errors by file and line.
"""

from __future__ import annotations

import json
import subprocess
import tempfile
from pathlib import Path

from meta_flows.core.codemod.analysis.wrapper_class import metadata_options
from meta_flows.core.codemod.project import WrapperDeclarations, module_name_for, scan_project
from meta_flows.core.codemod.runner import discover
from meta_flows.core.inventory.model import FlowInfo, Inventory, InventoryProblem, WrapperInfo
from meta_flows.core.inventory.static import StaticRepo, read_module
from meta_flows.patches import pyast
from meta_flows.sandbox import zygote
from meta_flows.sandbox.legacy.env import LegacyEnv, LegacyEnvError, env_for_project

PROBE = Path(__file__).resolve().parent / "legacy" / "probe.py"
PROJECT_FILES = ("requirements.txt", "pyproject.toml", "setup.py")
MODULE_TIMEOUT = 60  # seconds one module's import may take in the probe
REPO_TIMEOUT = 600  # seconds one probe process may take


class _Module:
    def __init__(self, repo: Path, path: Path) -> None:
        self.path = path
        self.rel = path.relative_to(repo).as_posix()
        self.name = module_name_for(path)
        depth = self.name.count(".") + (1 if path.name == "__init__.py" else 0)
        self.root = path.parent
        for _ in range(depth):
            self.root = self.root.parent
        self.source = path.read_text(encoding="utf-8-sig")  # a byte-order mark is not code
        self.syntax_error: SyntaxError | None = None
        self.plans = None
        try:
            pyast.parse(self.source, filename=str(path))
        except SyntaxError as exc:
            self.syntax_error = exc


def inventory_repo(
    repo_dir: Path,
    *,
    env_root: Path | None = None,
    module_timeout: int = MODULE_TIMEOUT,
    repo_timeout: int = REPO_TIMEOUT,
    declared: WrapperInfo | None = None,
) -> Inventory:
    """Inventory every Prefect 1 flow of ``repo_dir`` (see the module docstring).

    ``declared``: the estate's own Flow/Task subclasses the registry names (the probe adds
    those it finds by loading the modules); flows built with them are flows."""
    repo = Path(repo_dir).resolve()
    if not repo.is_dir():
        raise NotADirectoryError(f"not a directory: {repo_dir}")
    inventory = Inventory(repo=str(repo))
    modules: list[_Module] = []
    for path in discover([repo]):
        try:
            module = _Module(repo, path)
        except (OSError, UnicodeDecodeError) as exc:
            inventory.errors.append(
                InventoryProblem(
                    file=_rel(repo, path), kind="import", message=f"cannot read: {exc}"
                )
            )
            continue
        if "prefect" not in module.source:
            continue
        if module.syntax_error is not None:
            exc = module.syntax_error
            inventory.errors.append(
                InventoryProblem(
                    file=module.rel,
                    line=exc.lineno,
                    kind="syntax",
                    message=f"SyntaxError: {exc.msg}",
                )
            )
            continue
        modules.append(module)

    static = StaticRepo({m.name: (m.path, m.source) for m in modules})
    index = scan_project(repo, [m.path for m in modules])
    if declared is not None:
        _learn_wrappers(inventory, index, [declared.model_dump()])
    by_project: dict[Path, list[_Module]] = {}
    for module in modules:
        by_project.setdefault(_project_of(repo, module.path), []).append(module)

    for project, members in sorted(by_project.items()):
        project_label = _rel(repo, project) or "."
        try:
            env = env_for_project(project, env_root)
        except LegacyEnvError as exc:
            reason = str(exc)
            inventory.errors.append(
                InventoryProblem(
                    file=project_label,
                    kind="requirements",
                    message=f"project {project_label!r}: {reason}",
                )
            )
            for module in members:
                _add_static(
                    inventory,
                    static,
                    index,
                    module,
                    f"the project's requirements could not be installed: {reason}",
                )
            continue
        events = _probe(env, repo, members, module_timeout, repo_timeout)
        _learn_wrappers(inventory, index, events.pop(WRAPPERS, []))
        _merge(inventory, static, index, members, events)

    inventory.flows.sort(key=lambda f: (f.file, f.line or 0, f.variable or "", f.name))
    inventory.errors.sort(key=lambda e: (e.file or "", e.line or 0, e.kind, e.message))
    return inventory


WRAPPERS = "\0wrappers"  # the probe's report of the estate's Flow/Task subclasses (and sources)


def _learn_wrappers(inventory: Inventory, index, reports: list[dict]) -> None:
    """What the Prefect 1 probe found: into the inventory (the wave hands it to the rewrite)
    and into the index the flows' function names are planned with (a flow built with the
    company's ``Flow`` is a flow)."""
    for report in reports:
        for kind in ("flow_classes", "task_classes"):
            known = getattr(inventory.wrappers, kind)
            known += [n for n in report.get(kind) or [] if n not in known]
        for name, sources in (report.get("flow_class_sources") or {}).items():
            options = metadata_options(sources)
            if options is not None:
                inventory.wrappers.flow_metadata[name] = sorted(options)
    for name in inventory.wrappers.flow_classes:
        index.wrappers.setdefault(name, "prefect.Flow")
    index.task_classes.update(inventory.wrappers.task_classes)


def oracle_declarations(
    inventory: Inventory, task_factories: tuple[str, ...] = ()
) -> WrapperDeclarations:
    """What the rewrite is told of the estate's wrappers after its inventory: the Flow/Task
    subclasses the Prefect 1 oracle found (declared ones included) and, for a Flow subclass whose
    source it read, the options that wrapper only stores on the flow object."""
    wrappers = inventory.wrappers
    return WrapperDeclarations(
        flow_classes=tuple(wrappers.flow_classes),
        task_classes=tuple(wrappers.task_classes),
        task_factories=tuple(task_factories),
        flow_metadata=tuple((k, tuple(v)) for k, v in sorted(wrappers.flow_metadata.items())),
    )


def _rel(repo: Path, path: Path) -> str:
    rel = path.relative_to(repo).as_posix()
    return "" if rel == "." else rel


def _project_of(repo: Path, path: Path) -> Path:
    """The nearest directory (up to the repository) holding a requirements/packaging file."""
    here = path.parent
    while True:
        if any((here / name).exists() for name in PROJECT_FILES):
            return here
        if here == repo or repo not in here.parents:
            return repo
        here = here.parent


# ---------------------------------------------------------------------------------- the probe


def _probe(
    env: LegacyEnv, repo: Path, modules: list[_Module], module_timeout: int, repo_timeout: int
) -> dict[str, list[dict]]:
    """Run the probe over ``modules``; events per file. Restarts after a module that crashed."""
    events: dict[str, list[dict]] = {m.rel: [] for m in modules}
    events[WRAPPERS] = []
    remaining = list(modules)
    roots = list(dict.fromkeys([str(m.root) for m in modules] + [str(repo)]))
    while remaining:
        with tempfile.TemporaryDirectory(prefix="meta-flows-probe-") as tmp:
            output = Path(tmp) / "out.jsonl"
            output.touch()
            request = {
                "repo": str(repo),
                "roots": roots,
                "output": str(output),
                "module_timeout": module_timeout,
                "modules": [{"file": m.rel, "module": m.name} for m in remaining],
            }
            request_path = Path(tmp) / "request.json"
            request_path.write_text(json.dumps(request), encoding="utf-8")
            stderr_path = Path(tmp) / "stderr.txt"
            failure = None
            child = zygote.launch(
                env.program(PROBE),
                env=env.child_environ(),
                cwd=repo,
                stdin=request_path,
                stderr=stderr_path,
            )
            try:
                code = child.wait(timeout=repo_timeout)
                if code != 0:
                    tail = stderr_path.read_text(errors="replace").strip().splitlines()[-3:]
                    failure = f"the Prefect 1 interpreter exited with code {code}" + (
                        f": {' | '.join(tail)}" if tail else ""
                    )
            except subprocess.TimeoutExpired:
                zygote.kill(child)
                failure = f"the Prefect 1 probe took longer than {repo_timeout} s"
            lines = output.read_text(encoding="utf-8").splitlines()
        finished: set[str] = set()
        current = None
        for line in lines:
            try:
                event = json.loads(line)
            except json.JSONDecodeError:
                continue  # a partial last line of a killed process
            rel = event.get("file")
            if event["event"] == "start":
                current = rel
            elif event["event"] == "done":
                finished.add(rel)
                current = None
            if rel in events and event["event"] in ("flow", "error"):
                events[rel].append(event)
            elif event["event"] == "wrappers":
                events[WRAPPERS].append(event)
            if event["event"] == "error" and event.get("kind") in ("import", "syntax", "timeout"):
                finished.add(rel)
                current = None
        if failure is None and all(m.rel in finished for m in remaining):
            break
        if current is not None or failure is not None:
            culprit = current or next((m.rel for m in remaining if m.rel not in finished), None)
            if culprit is not None:
                events[culprit].append(
                    {
                        "event": "error",
                        "file": culprit,
                        "kind": "timeout" if "longer than" in (failure or "") else "import",
                        "line": None,
                        "message": failure or "the Prefect 1 interpreter stopped while importing",
                    }
                )
                finished.add(culprit)
        remaining = [m for m in remaining if m.rel not in finished]
    return events


# ---------------------------------------------------------------------------------- merging


def _plans(index, module: _Module):
    from meta_flows.core.codemod.analysis.flows import plan_flow_functions

    if module.plans is None:
        try:
            module.plans = plan_flow_functions(module.source, module.name, index)
        except Exception:  # noqa: BLE001 - naming must not sink the inventory
            module.plans = []
    return module.plans


def _function_name(
    plans, variable: str | None, name: str | None, line: int | None = None
) -> tuple[str | None, int | None]:
    """The codemod's function name for a flow: matched by the line that created it, else by
    variable (several flows once bound to it: the one of that name, else the last), else by
    unique flow name."""
    for plan in plans:
        if line and plan.line == line and (name is None or plan.flow_name in (None, name)):
            return plan.function_name, plan.line
    bound = [p for p in plans if variable and p.variable == variable]
    if bound:
        named = [p for p in bound if p.flow_name == name] or bound
        return named[-1].function_name, named[-1].line
    by_name = [p for p in plans if p.flow_name is not None and p.flow_name == name]
    if len(by_name) == 1:
        return by_name[0].function_name, by_name[0].line
    return None, None


def _flow_info(data: dict, module: _Module, plans, method: str, error: str | None) -> FlowInfo:
    function_name, line = _function_name(
        plans, data.get("variable"), data.get("name"), data.get("line")
    )
    return FlowInfo(
        file=module.rel,
        line=line or data.get("line"),
        variable=data.get("variable"),
        name=data["name"],
        function_name=function_name,
        method=method,
        dynamic_error=error,
        parameters=data.get("parameters") or [],
        tasks=data.get("tasks") or [],
        edges=data.get("edges") or [],
        storage=data.get("storage"),
        run_config=data.get("run_config"),
        executor=data.get("executor"),
        schedule=data.get("schedule"),
        labels=data.get("labels") or [],
        project_name=data.get("project_name"),
        run_parameters=data.get("run_parameters"),
    )


def _add_static(
    inventory: Inventory, static: StaticRepo, index, module: _Module, why: str, only=None
) -> None:
    plans = _plans(index, module)
    flows = read_module(static, module.name)
    if only is not None:
        flows = [f for f in flows if only(f)]
    for data in flows:
        inventory.flows.append(_flow_info(data, module, plans, "static", why))


def _merge(inventory, static, index, modules: list[_Module], events) -> None:
    for module in modules:
        plans = _plans(index, module)
        statics = None
        for event in events.get(module.rel, []):
            if event["event"] == "flow":
                data = event["flow"]
                if not data.get("registered"):
                    # register() under `if __name__ == "__main__":` never runs on import.
                    statics = statics if statics is not None else read_module(static, module.name)
                    match = _same_flow(statics, data)
                    if match and match.get("registered"):
                        data = {**data, "project_name": match.get("project_name")}
                        for label in match.get("labels") or []:
                            if label not in data["labels"]:
                                data["labels"].append(label)
                inventory.flows.append(_flow_info(data, module, plans, "dynamic", None))
                continue
            kind = event.get("kind", "import")
            message = event.get("message", "")
            inventory.errors.append(
                InventoryProblem(
                    file=module.rel, line=event.get("line"), kind=kind, message=message
                )
            )
            if kind == "serialize":
                why = f"flow.serialize() failed: {message}"
                variable, name = event.get("variable"), event.get("flow")
                _add_static(
                    inventory,
                    static,
                    index,
                    module,
                    why,
                    only=lambda f, v=variable, n=name: (
                        (v and f["variable"] == v) or (not v and f["name"] == n)
                    ),
                )
            else:
                why = f"{'import timed out' if kind == 'timeout' else 'import failed'}: {message}"
                if event.get("line"):
                    why += f" (line {event['line']})"
                _add_static(inventory, static, index, module, why)


def _same_flow(statics: list[dict], data: dict) -> dict | None:
    for item in statics:
        if data.get("variable") and item.get("variable") == data.get("variable"):
            return item
    named = [s for s in statics if s.get("name") == data.get("name")]
    return named[0] if len(named) == 1 else None
