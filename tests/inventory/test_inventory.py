"""The inventory of a real Prefect 1 estate (tests/inventory/fixtures/estate), loaded in 1.4.1."""

import ast
import json
import shutil
import textwrap
from pathlib import Path

import pytest
from typer.testing import CliRunner

from meta_flows.cli import app
from meta_flows.core.inventory.model import Inventory
from meta_flows.core.inventory.static import StaticRepo, read_module
from meta_flows.sandbox.inventory import inventory_repo

ESTATE = Path(__file__).parent / "fixtures" / "estate"


@pytest.fixture(scope="session")
def estate(tmp_path_factory) -> Path:
    repo = tmp_path_factory.mktemp("estate") / "estate"
    shutil.copytree(ESTATE, repo)
    # Written here, not kept in the tree: ruff (and any tool) would choke on it.
    (repo / "flows" / "bad_syntax.py").write_text(
        'from prefect import Flow\n\nwith Flow("bad" as flow:\n    pass\n'
    )
    return repo


@pytest.fixture(scope="session")
def inv(estate, base, legacy_root) -> Inventory:
    return inventory_repo(estate, env_root=legacy_root)


def flow(inv: Inventory, name: str):
    (found,) = [f for f in inv.flows if f.name == name]
    return found


def test_flows_are_found_ordered_and_read_by_the_right_method(inv):
    assert [(f.file, f.variable, f.name, f.function_name, f.method) for f in inv.flows] == [
        ("broken/pipeline.py", "flow", "broken-project-flow", "broken_project_flow", "static"),
        ("flows/hourly.py", "hourly", "hourly-ping", "hourly_ping", "dynamic"),
        ("flows/needs_missing.py", "flow", "needs-missing", "needs_missing", "static"),
        ("flows/reports.py", "weekday_report", "weekday-report", "weekday_report", "dynamic"),
        ("flows/reports.py", "special", "special-dates", "special_dates", "dynamic"),
        ("flows/sales.py", "flow", "daily-sales", "daily_sales", "dynamic"),
    ]
    assert [f.line for f in inv.flows] == [10, 24, 14, 18, 27, 26]
    assert all(f.dynamic_error is None for f in inv.flows if f.method == "dynamic")


def test_function_names_come_from_the_codemod_naming(inv, estate):
    from meta_flows.core.codemod.analysis.flows import plan_flow_functions

    for f in inv.flows:
        plans = plan_flow_functions((estate / f.file).read_text(), Path(f.file).stem)
        assert f.function_name in {p.function_name for p in plans}


def test_errors_are_per_project_and_per_file(inv):
    kinds = [(e.kind, e.file, e.line) for e in inv.errors]
    assert kinds == [
        ("requirements", "broken", None),
        ("syntax", "flows/bad_syntax.py", 3),
        ("import", "flows/needs_missing.py", 1),
    ]
    requirements, syntax, imported = inv.errors
    assert "project 'broken'" in requirements.message
    assert "meta-flows-no-such-package-xyz==9.9.9" in requirements.message
    assert "No matching distribution" in requirements.message
    assert syntax.message.startswith("SyntaxError")
    assert imported.message == "ModuleNotFoundError: No module named 'not_installed_anywhere'"
    broken = flow(inv, "broken-project-flow")
    assert broken.dynamic_error.startswith("the project's requirements could not be installed")
    missing = flow(inv, "needs-missing")
    assert missing.dynamic_error == (
        "import failed: ModuleNotFoundError: No module named 'not_installed_anywhere' (line 1)"
    )


def test_daily_sales_every_field(inv):
    f = flow(inv, "daily-sales")
    assert [p.model_dump() for p in f.parameters] == [
        {"name": "factor", "default": 2, "required": False},
        {"name": "region", "default": "eu", "required": False},
    ]
    tasks = {t.slug: (t.name, t.mapped, t.auto_generated) for t in f.tasks}
    assert tasks == {
        "extract-1": ("extract", False, False),
        "Transform-1": ("Transform", True, False),
        "load-1": ("load", False, False),
        "region": ("region", False, False),
        "factor": ("factor", False, False),
    }
    assert [t.slug for t in f.mapped_tasks] == ["Transform-1"]
    assert {(e.upstream, e.downstream, e.key, e.mapped) for e in f.edges} == {
        ("region", "extract-1", "region", False),
        ("extract-1", "Transform-1", "row", True),
        ("factor", "Transform-1", "factor", False),
        ("Transform-1", "load-1", "rows", False),
    }
    assert f.storage.model_dump() == {
        "type": "GitHub",
        "fields": {
            "repo": "acme/etl",
            "path": "flows/sales.py",
            "ref": "main",
            "access_token_secret": "GITHUB_TOKEN",  # the secret's NAME
        },
    }
    assert f.run_config.type == "KubernetesRun"
    assert f.run_config.fields == {
        "image": "acme/etl:1.4",
        "cpu_request": "500m",
        "cpu_limit": None,
        "memory_request": "1Gi",
        "memory_limit": None,
        "env": {"STAGE": "prod"},
        "service_account_name": "etl",
        "image_pull_secrets": ["regcred"],
        "image_pull_policy": None,
        "job_template": None,
        "job_template_path": None,
        "labels": ["k8s-prod"],
    }
    assert f.executor.model_dump() == {
        "type": "DaskExecutor",
        "fields": {"address": "tcp://dask:8786"},
    }
    berlin, us = f.schedule.clocks
    assert berlin.model_dump(exclude_defaults=True) == {
        "type": "CronClock",
        "cron": "0 6 * * *",
        "day_or": True,
        "start_date": "2023-01-01T00:00:00+01:00",
        "timezone": "Europe/Berlin",
        "parameter_defaults": {"region": "eu"},
        "labels": ["eu"],
    }
    assert us.model_dump(exclude_defaults=True) == {
        "type": "CronClock",
        "cron": "0 7 * * *",
        "day_or": True,
        "parameter_defaults": {"region": "us"},
    }
    assert f.schedule.filters == ["prefect.schedules.filters.is_weekday"]
    assert f.schedule.adjustments == ["prefect.schedules.adjustments.next_weekday"]
    assert f.labels == ["k8s-prod"]
    assert f.project_name == "sales"  # register(project_name=PROJECT) from schedules.py


def test_hourly_ping_every_field(inv):
    f = flow(inv, "hourly-ping")
    assert [p.model_dump() for p in f.parameters] == [
        {"name": "n", "default": 3, "required": False},
        {"name": "retries", "default": None, "required": True},
    ]
    assert {(e.upstream, e.downstream, e.key, e.mapped) for e in f.edges} == {
        ("n", "ping-1", "n", False),
        ("ping-1", "report-1", "results", False),
        ("retries", "report-1", "retries", False),
        ("n", "report-1", None, False),  # upstream_tasks=[n]
    }
    assert f.storage.model_dump() == {
        "type": "Git",
        "fields": {
            "flow_path": "flows/hourly.py",
            "repo": "acme/ops",
            "repo_host": "gitlab.example.com",
            "branch_name": "release",
            "git_token_secret_name": "GITLAB_TOKEN",
        },
    }
    assert f.run_config.type == "DockerRun"
    assert f.run_config.fields == {
        "image": "acme/ops:2",
        "env": {"MODE": "hourly"},
        "ports": [8080],
        "host_config": None,
        "labels": [],
    }
    assert f.executor.model_dump() == {
        "type": "LocalDaskExecutor",
        "fields": {"scheduler": "processes", "num_workers": 4},
    }
    (clock,) = f.schedule.clocks
    assert clock.model_dump(exclude_defaults=True) == {
        "type": "IntervalClock",
        "interval": 3600.0,
        "start_date": "2023-03-01T08:30:00-05:00",
        "timezone": "America/New_York",
        "parameter_defaults": {"n": 5},
    }
    # register() under `if __name__ == "__main__":` never runs on import: read from the source.
    assert f.project_name == "ops"
    assert f.labels == ["docker"]


def test_reports_module_every_field(inv):
    weekday = flow(inv, "weekday-report")
    assert weekday.storage.model_dump() == {
        "type": "Local",
        "fields": {"path": "/srv/flows/reports.py", "stored_as_script": True},
    }
    assert weekday.run_config.model_dump() == {
        "type": "LocalRun",
        "fields": {"env": {"TZ": "UTC"}, "working_dir": "/srv/reports", "labels": ["local"]},
    }
    assert weekday.executor.model_dump() == {"type": "LocalExecutor", "fields": {}}
    (cron,) = weekday.schedule.clocks  # CronSchedule -> one CronClock
    assert (cron.type, cron.cron, cron.start_date, cron.timezone) == (
        "CronClock",
        "0 0 * * 1-5",
        "2023-01-02T00:00:00+00:00",  # a naive datetime is UTC in Prefect 1
        "UTC",
    )
    assert weekday.labels == ["local"] and weekday.project_name is None
    assert {(t.slug, t.name) for t in weekday.tasks} == {
        ("day", "day"),
        ("build_report-1", "build_report"),
    }

    special = flow(inv, "special-dates")
    assert special.storage.model_dump() == {
        "type": "Docker",
        "fields": {
            "registry_url": "registry.example.com/acme",
            "image_name": "reports",
            "image_tag": "v1",
            "python_dependencies": ["pandas==1.5.3"],
        },
    }
    assert special.run_config.model_dump() == {
        "type": "UniversalRun",
        "fields": {"env": None, "labels": ["any"]},
    }
    assert special.executor is None
    dates, rrule = special.schedule.clocks
    assert dates.model_dump(exclude_defaults=True) == {
        "type": "DatesClock",
        "dates": ["2023-05-01T09:00:00+09:00"],
        "start_date": "2023-05-01T09:00:00+09:00",
        "end_date": "2023-05-01T09:00:00+09:00",
        "timezone": "Asia/Tokyo",
        "parameter_defaults": {"day": "may-day"},
    }
    assert rrule.model_dump(exclude_defaults=True) == {
        "type": "RRuleClock",
        "rrule": "DTSTART:20230101T000000\nRRULE:FREQ=DAILY",
        "start_date": "2023-01-01T00:00:00+01:00",
        "timezone": "Europe/Paris",
    }
    assert special.schedule.or_filters == [
        'prefect.schedules.filters.between_times(end="17:00:00", start="09:00:00")'
    ]
    assert special.schedule.not_filters == ["prefect.schedules.filters.is_month_end"]


def test_static_entries_read_literals_and_shared_modules(inv):
    missing = flow(inv, "needs-missing")
    assert missing.run_config.model_dump() == {"type": "LocalRun", "fields": {"labels": ["gpu"]}}
    assert missing.storage.model_dump() == {"type": "Local", "fields": {}}
    (clock,) = missing.schedule.clocks  # EU_MORNING, imported from schedules.py
    assert (clock.cron, clock.start_date, clock.timezone, clock.parameter_defaults) == (
        "0 6 * * *",
        "2023-01-01T00:00:00+01:00",
        "Europe/Berlin",
        {"region": "eu"},
    )
    assert missing.labels == ["gpu"]
    broken = flow(inv, "broken-project-flow")
    assert broken.run_config.model_dump() == {
        "type": "KubernetesRun",
        "fields": {"image": "acme/broken:1"},
    }
    assert broken.project_name == "broken"
    assert [p.model_dump() for p in broken.parameters] == [
        {"name": "x", "default": "a", "required": False}
    ]
    assert {(e.upstream, e.downstream, e.key) for e in broken.edges} == {("x", "step-1", "x")}


def _comparable_tasks(tasks):
    return sorted((t["slug"], t["name"], t["mapped"]) for t in tasks if not t["auto_generated"])


def test_static_agrees_with_dynamic_on_what_it_can_read(inv, estate):
    from meta_flows.core.codemod.project import module_name_for
    from meta_flows.core.codemod.runner import discover

    sources = {}
    for path in discover([estate]):
        text = path.read_text()
        if "prefect" in text:
            sources[module_name_for(path)] = (path, text)
    repo = StaticRepo(sources)
    compared = 0
    for dynamic in [f for f in inv.flows if f.method == "dynamic"]:
        module = module_name_for(estate / dynamic.file)
        (static,) = [s for s in read_module(repo, module) if s["variable"] == dynamic.variable]
        d = json.loads(dynamic.model_dump_json())
        assert static["name"] == d["name"]
        assert static["parameters"] == d["parameters"]
        assert _comparable_tasks(static["tasks"]) == _comparable_tasks(d["tasks"])
        slugs = {t["slug"] for t in static["tasks"]}
        assert sorted(map(json.dumps, static["edges"])) == sorted(
            json.dumps(e) for e in d["edges"] if e["upstream"] in slugs
        )
        assert static["storage"] == d["storage"]
        for key in ("run_config", "executor"):
            if static[key] is None:
                assert d[key] is None
                continue
            assert static[key]["type"] == d[key]["type"]
            for field, value in static[key]["fields"].items():
                assert d[key]["fields"][field] == value, (dynamic.name, key, field)
        for s_clock, d_clock in zip(
            static["schedule"]["clocks"], d["schedule"]["clocks"], strict=True
        ):
            if s_clock["type"] == "RRuleClock":  # dateutil rrule(...) is not read statically
                assert s_clock["rrule"].startswith("<unevaluated: rrule(")
                continue
            assert {k: v for k, v in s_clock.items() if k != "unevaluated"} == {
                k: v for k, v in d_clock.items() if k in s_clock and k != "unevaluated"
            }
        for key in ("filters", "or_filters", "not_filters", "adjustments"):
            assert static["schedule"][key] == d["schedule"][key]
        assert static["labels"] == d["labels"]
        assert static["project_name"] == d["project_name"]
        compared += 1
    assert compared == 4


def test_inventory_json_round_trips(inv):
    text = inv.to_json()
    assert Inventory.from_json(text) == inv
    assert json.loads(text)["schema_version"] == 1


def test_probe_is_standalone():
    probe = Path(__file__).parents[2] / "meta_flows" / "sandbox" / "legacy" / "probe.py"
    imported = set()
    for node in ast.walk(ast.parse(probe.read_text())):
        if isinstance(node, ast.Import):
            imported |= {a.name.split(".")[0] for a in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module:
            imported.add(node.module.split(".")[0])
    assert "meta_flows" not in imported
    assert imported - {"prefect", "__future__"} <= set(__import__("sys").stdlib_module_names)


def test_a_module_that_kills_the_interpreter_or_hangs_does_not_stop_the_rest(
    tmp_path, base, legacy_root
):
    flow_module = """
        from prefect import Flow, task
        from prefect.run_configs import LocalRun
        @task
        def t():
            return 1
        with Flow("{name}", run_config=LocalRun(labels=["x"])) as flow:
            t()
    """
    (tmp_path / "a_crash.py").write_text(
        "import os\nimport prefect\n"
        + textwrap.dedent(flow_module.format(name="crash"))
        + "os._exit(3)\n"
    )
    (tmp_path / "b_hang.py").write_text(
        "import time\n" + textwrap.dedent(flow_module.format(name="hang")) + "time.sleep(60)\n"
    )
    (tmp_path / "c_exit.py").write_text(
        "import sys\n" + textwrap.dedent(flow_module.format(name="exit")) + "sys.exit(2)\n"
    )
    (tmp_path / "d_ok.py").write_text(textwrap.dedent(flow_module.format(name="ok")))
    result = inventory_repo(tmp_path, env_root=legacy_root, module_timeout=3)
    methods = {f.name: f.method for f in result.flows}
    assert methods == {"crash": "static", "hang": "static", "exit": "static", "ok": "dynamic"}
    errors = {e.file: e.kind for e in result.errors}
    assert errors == {"a_crash.py": "import", "b_hang.py": "timeout", "c_exit.py": "import"}
    assert "exited with code 3" in flow(result, "crash").dynamic_error
    assert "longer than 3 s" in flow(result, "hang").dynamic_error
    assert "SystemExit: 2" in flow(result, "exit").dynamic_error
    assert flow(result, "ok").labels == ["x"]


def test_cli_inventory(estate, legacy_cache, monkeypatch, tmp_path):
    monkeypatch.setenv("META_FLOWS_CACHE", str(legacy_cache))
    out = tmp_path / "inv.json"
    result = CliRunner().invoke(app, ["inventory", str(estate), "--json", str(out)])
    assert result.exit_code == 0, result.output
    data = Inventory.from_json(out.read_text())
    assert [f.name for f in data.flows][:2] == ["broken-project-flow", "hourly-ping"]
    assert "6 flow(s) (4 dynamic, 2 static); 3 error(s)" in result.output

    table = CliRunner().invoke(app, ["inventory", str(estate)])
    assert table.exit_code == 0, table.output
    assert "flows/sales.py:26  'daily-sales' -> daily_sales  [dynamic]" in table.output
    assert "syntax error: flows/bad_syntax.py:3" in table.output

    missing = CliRunner().invoke(app, ["inventory", str(tmp_path / "nope")])
    assert missing.exit_code == 2
    assert "not a directory" in missing.output


def test_a_module_with_a_byte_order_mark_is_inventoried(tmp_path, base, legacy_root):
    source = (
        "from prefect import Flow, task\n\n@task\ndef t():\n    return 1\n\n"
        'with Flow("marked") as flow:\n    t()\n'
    )
    (tmp_path / "marked.py").write_bytes(b"\xef\xbb\xbf" + source.encode())
    result = inventory_repo(tmp_path, env_root=legacy_root)
    assert result.errors == []
    assert [(f.name, f.method, f.function_name) for f in result.flows] == [
        ("marked", "dynamic", "marked")
    ]
