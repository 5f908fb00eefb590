"""Files a wave does not migrate: one that does not parse in the original repository (broken
upstream) and one that is Prefect 2 code already (early Prefect 2: ``prefect.orion``). Each is
named with its reason in the report, left as it is, and does not fail its project."""

from __future__ import annotations

import json
import os
import shutil

from meta_flows.demo import EXAMPLES, make_remote
from tests.wave.conftest import write_registry

BROKEN = """
from prefect import task


@task
def shout(text):
    print "loud: %s" % text
"""

EARLY_PREFECT2 = """
from prefect import flow
from prefect.orion.schemas.states import Completed


@flow
def early():
    return Completed()
"""


def test_broken_and_prefect2_files_are_out_of_scope(prefect_api, legacy_cache, tmp_path):
    from meta_flows.flows.wave import migrate_wave

    os.environ["META_FLOWS_CACHE"] = str(legacy_cache)
    source = tmp_path / "src"
    shutil.copytree(EXAMPLES / "acme-etl", source)
    (source / "flows" / "shout.py").write_text(BROKEN)
    (source / "flows" / "early.py").write_text(EARLY_PREFECT2)
    remote = make_remote(source, tmp_path / "remotes", "mixed")
    registry = write_registry(
        tmp_path / "registry.yaml", [{"name": "mixed", "git_url": str(remote)}]
    )
    report = tmp_path / "report.json"
    migrate_wave(
        wave="demo",
        registry=str(registry),
        workspace=str(tmp_path / "ws"),
        dry_run=True,
        report=str(report),
        return_state=True,
    )
    (project,) = json.loads(report.read_text())["projects"]
    assert project["state"] == "pending", project  # a dry run: validated, not failed
    assert project["reason"].startswith("dry run: would be promoted: "), project["reason"]
    scope = {entry["file"]: entry["reason"] for entry in project["out_of_scope"]}
    assert set(scope) == {"flows/shout.py", "flows/early.py"}
    assert scope["flows/shout.py"].startswith("does not parse in the original: line 7, column ")
    assert scope["flows/early.py"] == "Prefect 2 code already: imports prefect.orion"
    assert "out of scope" in project["reason"] and "flows/shout.py" in project["reason"]
    # left as they are, and not validated as Prefect 1 modules
    clone = tmp_path / "ws" / "repos" / "mixed" / "flows"
    assert (clone / "shout.py").read_text() == BROKEN
    assert (clone / "early.py").read_text() == EARLY_PREFECT2
    assert {f["file"] for f in project["flows"]} == {
        "flows/daily_sales.py",
        "flows/inventory_check.py",
    }
    assert {f["verdict"] for f in project["flows"]} == {"equal"}
