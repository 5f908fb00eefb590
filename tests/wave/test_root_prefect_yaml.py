"""The root prefect.yaml deploys meta-flows' own flows with Prefect's ``prefect deploy --all``."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent


def test_prefect_deploy_all_creates_the_three_deployments(prefect_env, prefect_api):
    from prefect.client.orchestration import get_client

    from meta_flows.adapters.prefect2.work_pools import apply_pools

    asyncio.run(apply_pools([{"name": "meta-flows", "type": "process"}]))
    env = {**prefect_env, "PWD": str(ROOT)}
    proc = subprocess.run(
        [str(BIN / "prefect"), "--no-prompt", "deploy", "--all"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr

    async def read():
        async with get_client() as client:
            out = {}
            for name in (
                "migrate-wave/migrate-wave",
                "rollback-wave/rollback-wave",
                "inventory/inventory",
            ):
                d = await client.read_deployment_by_name(name)
                out[name] = (d, await client.read_deployment_schedules(d.id))
            return out

    found = asyncio.run(read())
    wave, schedules = found["migrate-wave/migrate-wave"]
    assert [s.active for s in schedules] == [False]  # the batch schedule exists, switched off
    assert wave.work_pool_name == "meta-flows"
    assert wave.pull_steps[0]["prefect.deployments.steps.set_working_directory"] == {
        "directory": str(ROOT)
    }
    # typed parameters with descriptions: the UI renders a form
    props = wave.parameter_openapi_schema["properties"]
    assert props["dry_run"]["type"] == "boolean"
    assert "no push" in props["dry_run"]["description"].lower()
    assert props["max_parallel"]["type"] == "integer"
    rollback, _ = found["rollback-wave/rollback-wave"]
    assert rollback.parameter_openapi_schema["required"] == ["wave"]
    assert os.path.exists(ROOT / "meta_flows" / "flows" / "inventory.py")
