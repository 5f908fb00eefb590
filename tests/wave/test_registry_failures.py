"""A registry file the wave cannot read fails every wave run of that registry, naming the file
and its real line: the projects it held are never silently dropped."""

from __future__ import annotations

import json

import pytest

BROKEN = "projects:\n  - name: lost\n    wave: w\n  - name: [unterminated\n"


@pytest.mark.parametrize(
    ("name", "text", "line"),
    [
        ("broken.yaml", BROKEN, len(BROKEN.splitlines())),
        ("typo.yaml", "project:\n  - name: lost\n    wave: w\n", 1),
    ],
    ids=["does-not-parse", "unknown-top-level-key"],
)
def test_the_wave_ends_failed_naming_the_file_and_line(prefect_api, tmp_path, name, text, line):
    from meta_flows.flows.wave import migrate_wave, wave_result

    registry = tmp_path / "registry"
    registry.mkdir()
    (registry / "waves.yaml").write_text("waves:\n  - name: w\n")
    (registry / name).write_text(text)
    report = tmp_path / "report.json"
    state = migrate_wave(
        wave="w",
        registry=str(registry),
        workspace=str(tmp_path / "ws"),
        report=str(report),
        return_state=True,
    )
    assert state.is_failed()
    [project] = json.loads(report.read_text())["projects"]
    assert project["name"] == f"{registry / name}:{line}"
    assert project["state"] == "failed"
    assert project["reason"].startswith(f"registry: {registry / name}:{line}: ")
    assert wave_result(state)["projects"] == [project]


def test_all_problems_of_one_entry_are_reported_together(prefect_api, tmp_path):
    from meta_flows.flows.wave import migrate_wave

    registry = tmp_path / "registry.yaml"
    registry.write_text(
        "waves:\n  - name: w\n"
        "projects:\n  - name: twice\n    wave: w\n    git_url: 42\n    default_branch: [main]\n"
    )
    report = tmp_path / "report.json"
    migrate_wave(
        wave="w",
        registry=str(registry),
        workspace=str(tmp_path / "ws"),
        report=str(report),
        return_state=True,
    )
    [project] = json.loads(report.read_text())["projects"]
    assert project["name"] == "twice"
    assert "git_url" in project["reason"] and "default_branch" in project["reason"]
