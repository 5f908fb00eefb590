"""What ``prefect deploy`` reads from a flow, read in the project's Prefect 2 environment.

The shadow deployments are created from the committed ``prefect.yaml`` through the API; the two
fields Prefect's deploy path takes from the flow itself are its name and its parameter schema
(the UI's run form, with each parameter's default). :func:`describe_flows` imports each
entrypoint in a child of the project's Prefect 2 interpreter (:mod:`meta_flows.sandbox.migrated_env`,
forked warm like the validation's runs) and returns, per entrypoint, ``{"flow_name",
"parameter_openapi_schema"}`` or ``{"error"}``. Nothing runs but the modules' import, in the
validation's environment (:func:`meta_flows.sandbox.migrated_run.child_env`) and with its
stand-ins for deployment runs (:mod:`meta_flows.sandbox.effects`).

:func:`main` is the child: a JSON request on stdin ``{"roots": [...], "output": path,
"entrypoints": {"flows/etl.py:etl": "flows.etl", ...}}``; it writes one JSON object to
``output``.
"""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

DESCRIBE_TIMEOUT = 120.0  # seconds importing a project's flow modules may take


def main() -> int:
    request = json.load(sys.stdin)
    for root in reversed(request.get("roots") or []):
        if root not in sys.path:
            sys.path.insert(0, root)
    sys.stdout = io.StringIO()  # the modules' own prints stay here
    os.chdir(tempfile.mkdtemp(prefix="describe-"))
    import importlib

    from meta_flows.sandbox import effects

    effects.install()  # a module that starts a deployment's run at import starts none

    from prefect.flows import Flow
    from prefect.utilities.callables import parameter_schema

    found: dict[str, dict] = {}
    for entrypoint, module_name in request["entrypoints"].items():
        function = entrypoint.rsplit(":", 1)[1]
        try:
            module = importlib.import_module(module_name)
            flow = getattr(module, function, None)
            if not isinstance(flow, Flow):
                raise LookupError(f"{function} is not a @flow in {module_name}")
            found[entrypoint] = {
                "flow_name": flow.name,
                # what prefect deploy sends: the schema's .dict() (None fields left out)
                "parameter_openapi_schema": json.loads(
                    json.dumps(parameter_schema(flow).dict(), default=str)
                ),
            }
        except BaseException as exc:  # noqa: BLE001 - SystemExit from a script too
            found[entrypoint] = {"error": f"{type(exc).__name__}: {exc}"}
    Path(request["output"]).write_text(json.dumps(found), encoding="utf-8")
    return 0


def describe_flows(
    repo_dir: Path,
    entrypoints: list[str],
    python: str | None = None,
    timeout: float = DESCRIBE_TIMEOUT,
) -> dict[str, dict]:
    """``{entrypoint: {"flow_name", "parameter_openapi_schema"} | {"error"}}`` (see the module)."""
    from meta_flows.sandbox import zygote
    from meta_flows.sandbox.legacy_run import module_and_root
    from meta_flows.sandbox.migrated_run import PRELOAD, child_env

    repo = Path(repo_dir).resolve()
    modules, roots = {}, []
    for entrypoint in dict.fromkeys(entrypoints):
        module, root = module_and_root(repo, entrypoint.rsplit(":", 1)[0])
        modules[entrypoint] = module
        roots.append(str(root))
    if not modules:
        return {}
    program = zygote.Program(
        python or sys.executable, "meta_flows.sandbox.migrated_describe:main", PRELOAD
    )
    with tempfile.TemporaryDirectory(prefix="meta-flows-describe-") as tmp:
        output, request, stderr = (Path(tmp) / n for n in ("out.json", "in.json", "err.txt"))
        request.write_text(
            json.dumps(
                {
                    "roots": list(dict.fromkeys([*roots, str(repo)])),
                    "output": str(output),
                    "entrypoints": modules,
                }
            ),
            encoding="utf-8",
        )
        child = zygote.launch(program, env=child_env(), cwd=tmp, stdin=request, stderr=stderr)
        try:
            child.wait(timeout)
        except subprocess.TimeoutExpired:  # a module that hangs on import
            zygote.kill(child)
            child.wait()
            return {e: {"error": f"importing took longer than {timeout:g} s"} for e in modules}
        if not output.exists():
            tail = " | ".join(stderr.read_text(errors="replace").strip().splitlines()[-3:])
            return {e: {"error": f"the interpreter exited: {tail}"} for e in modules}
        return json.loads(output.read_text(encoding="utf-8"))
