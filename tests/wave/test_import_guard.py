"""The wave's guard before commit: a rewrite that would leave a first-party import unresolved
(a module-level definition dropped in one file while another file still imports it) fails its
project, naming the import, and nothing is committed or pushed."""

from __future__ import annotations

import os

from meta_flows.demo import make_remote
from tests.wave.conftest import refs, run_project_wave

# a helper module re-exporting Prefect 1 names the rewrite removes (it does not use them itself)
SHARED = "from prefect.tasks.control_flow import ifelse  # noqa: F401 - for the flows\n"
FLOW = """\
from prefect import Flow, task

from flows.shared import ifelse


@task
def yes():
    return True


@task
def show(day):
    return day


with Flow("shows-the-day") as flow:
    ifelse(yes(), show("a"), show("b"))
"""


def test_a_rewrite_that_breaks_an_import_is_not_committed(prefect_api, legacy_cache, tmp_path):
    os.environ["META_FLOWS_CACHE"] = str(legacy_cache)
    source = tmp_path / "src"
    (source / "flows").mkdir(parents=True)
    (source / "flows" / "__init__.py").write_text("")
    (source / "flows" / "shared.py").write_text(SHARED)
    (source / "flows" / "day.py").write_text(FLOW)
    (source / "requirements.txt").write_text("prefect==1.4.1\n")
    remote = make_remote(source, tmp_path / "remotes", "dangling")
    before = refs(remote)
    project = run_project_wave(tmp_path, {"name": "dangling", "git_url": str(remote)})
    assert project["state"] == "failed"
    assert project["reason"].startswith("rewrite: imports the rewrite would break")
    assert "flows/day.py:3: imports 'ifelse' from flows.shared" in project["reason"]
    assert refs(remote) == before
