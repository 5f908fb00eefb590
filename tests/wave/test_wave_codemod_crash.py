"""A file that crashes LibCST's parser no longer takes the wave down with the interpreter: the
codemod's worker dies, not the wave. Python does not parse this one either (too many nested
parentheses), so the wave leaves it out of scope and its project goes on."""

from __future__ import annotations

import json
import os
import shutil

from meta_flows.demo import EXAMPLES, make_remote
from tests.wave.conftest import write_registry

PARENS = (
    "from prefect import Flow, task\n\n\n@task\ndef t(x):\n    return x\n\n\n"
    'with Flow("deep") as flow:\n    t(' + "(" * 3000 + "1" + ")" * 3000 + ")\n"
)


def test_a_parser_crash_does_not_take_the_wave_down(prefect_api, legacy_cache, tmp_path):
    from meta_flows.flows.wave import migrate_wave, wave_result

    os.environ["META_FLOWS_CACHE"] = str(legacy_cache)
    remotes = tmp_path / "remotes"
    good = make_remote(EXAMPLES / "acme-etl", remotes, "good")
    source = tmp_path / "crashing-src"
    shutil.copytree(EXAMPLES / "acme-etl", source)
    (source / "flows" / "deep.py").write_text(PARENS)
    crashing = make_remote(source, remotes, "crashing")
    registry = write_registry(
        tmp_path / "registry.yaml",
        [{"name": "crashing", "git_url": str(crashing)}, {"name": "good", "git_url": str(good)}],
    )
    report = tmp_path / "report.json"
    state = migrate_wave(
        wave="demo",
        registry=str(registry),
        workspace=str(tmp_path / "ws"),
        dry_run=True,
        report=str(report),
        return_state=True,
    )
    projects = {p["name"]: p for p in json.loads(report.read_text())["projects"]}
    assert projects["crashing"]["state"] == "pending", projects["crashing"]
    (entry,) = projects["crashing"]["out_of_scope"]
    assert entry["file"] == "flows/deep.py"
    assert entry["reason"].endswith("too many nested parentheses")
    assert projects["good"]["state"] == "pending"  # a dry run: validated, not promoted
    assert wave_result(state)["projects"] == list(projects.values())
