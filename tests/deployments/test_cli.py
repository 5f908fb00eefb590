"""`meta-flows deployments` with an inventory file (the CLI is a thin layer over translate/render)."""

import yaml
from typer.testing import CliRunner

from meta_flows.cli import app
from meta_flows.core.inventory.model import ComponentInfo, FlowInfo, Inventory


def _inventory(tmp_path):
    flow = FlowInfo(
        file="flows/etl.py",
        name="etl",
        function_name="etl",
        method="static",
        run_config=ComponentInfo(
            type="DockerRun", fields={"image": "etl:1", "host_config": {"a": 1}}
        ),
    )
    path = tmp_path / "inventory.json"
    path.write_text(Inventory(repo="etl", flows=[flow]).to_json())
    return path


def test_deployments_writes_both_files_with_pool_override(tmp_path):
    out = tmp_path / "deploy" / "prefect.yaml"
    result = CliRunner().invoke(
        app,
        [
            "deployments",
            str(tmp_path),
            "--inventory",
            str(_inventory(tmp_path)),
            "--out",
            str(out),
            "--pool",
            "docker-prod=DockerRun",
        ],
    )
    assert result.exit_code == 0, result.output
    data = yaml.safe_load(out.read_text())
    assert data["deployments"][0]["work_pool"] == {
        "name": "docker-prod",
        "job_variables": {"image": "etl:1"},
    }
    assert "# TODO(prefect2-migration): DockerRun host_config" in out.read_text()
    pools = yaml.safe_load((out.parent / "work-pools.yaml").read_text())
    assert pools == {"work_pools": [{"name": "docker-prod", "type": "docker"}]}
    assert "TODO: etl: DockerRun host_config" in result.output


def test_bad_pool_option_is_a_usage_error(tmp_path):
    result = CliRunner().invoke(
        app, ["deployments", str(tmp_path), "--inventory", str(_inventory(tmp_path)), "--pool", "x"]
    )
    assert result.exit_code == 2
    assert "NAME=TYPE" in result.output


def test_pools_apply_rejects_a_bad_file(tmp_path):
    bad = tmp_path / "work-pools.yaml"
    bad.write_text("work_pools: [{name: x}]\n")
    result = CliRunner().invoke(app, ["pools", "apply", str(bad)])
    assert result.exit_code == 2
    assert "needs a name and a type" in result.output


def test_a_checkout_with_an_origin_is_cloned_by_every_deployment(tmp_path):
    import git

    repo = git.Repo.init(tmp_path, initial_branch="trunk")
    repo.create_remote("origin", "https://user:s3cr3t@git.example/acme/etl.git")
    flow = FlowInfo(file="flows/etl.py", name="etl", function_name="etl", method="static")
    inventory = tmp_path / "inventory.json"
    inventory.write_text(Inventory(repo="etl", flows=[flow]).to_json())
    result = CliRunner().invoke(app, ["deployments", str(tmp_path), "--inventory", str(inventory)])
    assert result.exit_code == 0, result.output
    text = (tmp_path / "prefect.yaml").read_text()
    [deployment] = yaml.safe_load(text)["deployments"]
    assert deployment["pull"] == [
        {
            "prefect.deployments.steps.git_clone": {
                "repository": "https://git.example/acme/etl.git",
                "branch": "trunk",
            }
        }
    ]
    assert "s3cr3t" not in text and str(tmp_path) not in text
