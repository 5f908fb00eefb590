"""One run per workspace: a second wave run on a workspace in use is refused at once, naming the
run that holds it; the lock goes with its holder."""

from __future__ import annotations

import subprocess
import sys

import pytest

from meta_flows.orchestration.workspace_lock import LOCK_FILE, WorkspaceBusy, workspace_lock


def test_a_second_holder_is_refused_with_the_first_named(tmp_path):
    with workspace_lock(tmp_path, "migrate-wave 'finance' (flow run 1234)"):
        with pytest.raises(WorkspaceBusy) as info:
            with workspace_lock(tmp_path, "migrate-wave 'other'"):
                pass
    message = str(info.value)
    assert "migrate-wave 'finance' (flow run 1234)" in message
    assert str(tmp_path) in message
    with workspace_lock(tmp_path, "the next run"):  # released: free again
        pass


def test_the_lock_dies_with_its_process(tmp_path):
    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import sys, time\n"
            "from meta_flows.orchestration.workspace_lock import workspace_lock\n"
            f"with workspace_lock({str(tmp_path)!r}, 'a run that gets killed'):\n"
            "    print('held', flush=True)\n"
            "    time.sleep(60)\n",
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout.readline().strip() == "held"
        with pytest.raises(WorkspaceBusy, match="a run that gets killed"):
            with workspace_lock(tmp_path, "second"):
                pass
    finally:
        holder.kill()
        holder.wait()
    with workspace_lock(tmp_path, "after the kill"):
        pass


def test_the_lock_file_is_never_a_link(tmp_path):
    elsewhere = tmp_path / "elsewhere"
    workspace = tmp_path / "ws"
    workspace.mkdir()
    (workspace / LOCK_FILE).symlink_to(elsewhere)
    with pytest.raises(WorkspaceBusy, match="cannot open the workspace lock"):
        with workspace_lock(workspace, "run"):
            pass
    assert not elsewhere.exists()


def test_a_wave_run_on_a_busy_workspace_fails_naming_the_holder(prefect_api, tmp_path):
    from meta_flows.flows.wave import migrate_wave, wave_result

    registry = tmp_path / "registry.yaml"
    registry.write_text("waves:\n  - name: w\n")
    workspace = tmp_path / "ws"
    with workspace_lock(workspace, "migrate-wave 'w' (flow run elsewhere)"):
        state = migrate_wave(
            wave="w", registry=str(registry), workspace=str(workspace), return_state=True
        )
    assert state.is_failed()
    with pytest.raises(WorkspaceBusy, match=r"in use by migrate-wave 'w' \(flow run elsewhere\)"):
        wave_result(state)
    # and once it is free, the same run goes through
    state = migrate_wave(
        wave="w", registry=str(registry), workspace=str(workspace), return_state=True
    )
    assert wave_result(state) == {"wave": "w", "projects": []}


def test_wave_run_command_says_who_holds_the_workspace(prefect_api, tmp_path):
    from typer.testing import CliRunner

    from meta_flows.cli import app

    registry = tmp_path / "registry.yaml"
    registry.write_text("waves:\n  - name: w\n")
    workspace = tmp_path / "ws"
    with workspace_lock(workspace, "rollback-wave 'w'"):
        result = CliRunner().invoke(
            app, ["wave", "run", str(registry), "--wave", "w", "--workspace", str(workspace)]
        )
    assert result.exit_code == 1
    assert "in use by rollback-wave 'w'" in result.output
