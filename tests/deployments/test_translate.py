"""Deployment translation per docs/spec.md §13-§16, and the worked example of §19."""

from datetime import datetime, timezone

import pytest
import yaml

from meta_flows.core.deployments.plan import (
    TranslationError,
    parse_pool_overrides,
    secret_block_name,
)
from meta_flows.core.deployments.render import render_pools_yaml, render_prefect_yaml
from meta_flows.core.deployments.translate import translate
from meta_flows.core.inventory.model import (
    ClockInfo,
    ComponentInfo,
    FlowInfo,
    Inventory,
    InventoryProblem,
    ParameterInfo,
    ScheduleInfo,
)

GIT_CLONE = "prefect.deployments.steps.git_clone"
SET_WD = "prefect.deployments.steps.set_working_directory"


def flow(**kw) -> FlowInfo:
    base = {"file": "flows/etl.py", "name": "etl", "function_name": "etl", "method": "dynamic"}
    return FlowInfo(**{**base, **kw})


def plan_of(*flows, pools=None, errors=()):
    return translate(Inventory(repo="/src/etl", flows=list(flows), errors=list(errors)), pools)


def only(plan):
    (deployment,) = plan.deployments
    return deployment


def todos(deployment, key=None):
    return [t.message for t in deployment.todos if key is None or t.key == key]


def cron(expr, **kw):
    return ClockInfo(type="CronClock", cron=expr, **kw)


def schedule(*clocks, **kw):
    return ScheduleInfo(clocks=list(clocks), **kw)


# --------------------------------------------------------------------------------------------
# §19 worked example

SALES = flow(
    file="flows/sales.py",
    name="daily-sales",
    function_name="daily_sales",
    parameters=[ParameterInfo(name="region", default="eu")],
    storage=ComponentInfo(
        type="GitHub",
        fields={
            "repo": "acme/etl",
            "path": "flows/sales.py",
            "ref": "main",
            "access_token_secret": "GITHUB_TOKEN",
        },
    ),
    run_config=ComponentInfo(
        type="KubernetesRun",
        fields={
            "image": "acme/etl:1.4",
            "cpu_request": "500m",
            "memory_request": "1Gi",
            "env": {"STAGE": "prod"},
            "labels": ["k8s-prod"],
        },
    ),
    schedule=schedule(
        cron(
            "0 6 * * *",
            start_date="2023-01-01T00:00:00+01:00",
            timezone="Europe/Berlin",
            parameter_defaults={"region": "eu"},
        ),
        cron("0 7 * * *", parameter_defaults={"region": "us"}),
    ),
    labels=["k8s-prod"],
    project_name="sales",
)

SALES_PULL = [
    {
        GIT_CLONE: {
            "repository": "https://github.com/acme/etl.git",
            "branch": "main",
            "access_token": "{{ prefect.blocks.secret.github-token }}",
        }
    }
]
SALES_POOL = {
    "name": "k8s-prod",
    "job_variables": {
        "image": "acme/etl:1.4",
        "env": {"STAGE": "prod"},
        "cpu_request": "500m",
        "memory_request": "1Gi",
    },
}
SALES_TAGS = ["project:sales", "label:k8s-prod", "migrated-from-prefect1"]


def test_worked_example_section_19():
    plan = plan_of(SALES)
    assert [d.to_dict() for d in plan.deployments] == [
        {
            "name": "daily-sales-eu",
            "entrypoint": "flows/sales.py:daily_sales",
            "parameters": {"region": "eu"},
            "tags": SALES_TAGS,
            "schedules": [{"cron": "0 6 * * *", "timezone": "Europe/Berlin", "active": False}],
            "work_pool": SALES_POOL,
            "pull": SALES_PULL,
        },
        {
            "name": "daily-sales-us",
            "entrypoint": "flows/sales.py:daily_sales",
            "parameters": {"region": "us"},
            "tags": SALES_TAGS,
            "schedules": [{"cron": "0 7 * * *", "timezone": "UTC", "active": False}],
            "work_pool": SALES_POOL,
            "pull": SALES_PULL,
        },
    ]
    assert all(d.todos == [] for d in plan.deployments)
    (pool,) = plan.pools
    assert (pool.name, pool.type) == ("k8s-prod", "kubernetes")
    variables = pool.base_job_template["variables"]["properties"]
    assert {"cpu_request", "memory_request"} <= set(variables)
    (block,) = plan.blocks
    assert (block.type, block.name, block.source) == ("Secret", "github-token", "GITHUB_TOKEN")
    assert block.describe().startswith("create Secret block `github-token`")


def test_worked_example_renders_to_the_same_yaml_deterministically():
    plan = plan_of(SALES)
    text = render_prefect_yaml(plan, prefect_version="2.20.27")
    assert text == render_prefect_yaml(plan_of(SALES), prefect_version="2.20.27")
    data = yaml.safe_load(text)
    assert data["name"] == "etl" and data["prefect-version"] == "2.20.27"
    assert data["deployments"] == [d.to_dict() for d in plan.deployments]
    assert "#   - create Secret block `github-token` (the Prefect 1 secret GITHUB_TOKEN)" in text
    pools = yaml.safe_load(render_pools_yaml(plan))
    assert pools["work_pools"] == [p.to_dict() for p in plan.pools]


# --------------------------------------------------------------------------------------------
# Deployments per parameter set (§16), names, tags


def test_single_parameter_set_keeps_the_flow_name():
    plan = plan_of(flow(schedule=schedule(cron("0 6 * * *", parameter_defaults={"x": 1}))))
    deployment = only(plan)
    assert deployment.name == "etl" and deployment.parameters == {"x": 1}


def test_several_clocks_with_one_parameter_set_share_a_deployment():
    deployment = only(plan_of(flow(schedule=schedule(cron("0 6 * * *"), cron("0 18 * * *")))))
    assert deployment.name == "etl"
    assert [s["cron"] for s in deployment.schedules] == ["0 6 * * *", "0 18 * * *"]


def test_no_schedule_one_deployment_without_schedules():
    deployment = only(plan_of(flow()))
    assert deployment.name == "etl" and deployment.schedules == [] and deployment.parameters == {}
    assert deployment.tags == ["migrated-from-prefect1"]


def test_suffix_from_the_differing_values_only():
    clocks = [
        cron("0 6 * * *", parameter_defaults={"region": "eu", "full": True}),
        cron("0 7 * * *", parameter_defaults={"region": "us", "full": True}),
        cron("0 8 * * *", parameter_defaults={"region": "US East", "full": False}),
    ]
    plan = plan_of(flow(schedule=schedule(*clocks)))
    assert [d.name for d in plan.deployments] == ["etl-eu-true", "etl-us-true", "etl-us-east-false"]


def test_missing_parameter_set_gets_default_suffix():
    clocks = [cron("0 6 * * *"), cron("0 7 * * *", parameter_defaults={"region": "us"})]
    plan = plan_of(flow(schedule=schedule(*clocks)))
    assert [d.name for d in plan.deployments] == ["etl-default", "etl-us"]
    assert plan.deployments[0].parameters == {}


def test_clock_labels_make_their_own_deployment_and_pool():
    clocks = [cron("0 6 * * *"), cron("0 7 * * *", labels=["gpu"])]
    plan = plan_of(flow(schedule=schedule(*clocks), labels=["cpu"]))
    assert [(d.name, d.work_pool["name"]) for d in plan.deployments] == [
        ("etl-default", "cpu"),
        ("etl-gpu", "gpu"),
    ]
    assert plan.deployments[1].tags == ["label:gpu", "migrated-from-prefect1"]
    assert todos(plan.deployments[1], "work_pool")


def test_banned_characters_in_flow_names_are_renamed():
    deployment = only(plan_of(flow(name="ETL a/b & c")))
    assert deployment.name == "ETL a-b - c"
    assert "is named 'ETL a-b - c' in Prefect 2" in todos(deployment)[0]


def test_inventory_errors_become_plan_todos():
    error = InventoryProblem(file="flows/bad.py", line=3, kind="syntax", message="invalid syntax")
    plan = plan_of(flow(), errors=[error])
    assert plan.todos[0].message.startswith("flows/bad.py:3: syntax error")


# --------------------------------------------------------------------------------------------
# Storage -> pull steps (§14)


def pull_of(storage_type, **fields):
    deployment = only(plan_of(flow(storage=ComponentInfo(type=storage_type, fields=fields))))
    return deployment, deployment.pull


def test_git_with_repo_host_and_branch():
    deployment, pull = pull_of(
        "Git",
        repo="team/etl",
        flow_path="flows/etl.py",
        repo_host="gitlab.example.com",
        branch_name="dev",
        git_token_secret_name="GIT_TOKEN",
    )
    assert pull == [
        {
            GIT_CLONE: {
                "repository": "https://gitlab.example.com/team/etl.git",
                "branch": "dev",
                "access_token": "{{ prefect.blocks.secret.git-token }}",
            }
        }
    ]
    assert todos(deployment) == []


@pytest.mark.parametrize("pin", ["tag", "commit"])
def test_git_tag_or_commit_is_a_todo(pin):
    deployment, pull = pull_of("Git", repo="a/b", flow_path="flows/etl.py", **{pin: "v1"})
    assert pull == [{GIT_CLONE: {"repository": "https://github.com/a/b.git"}}]
    assert f"pinned {pin} v1" in todos(deployment, "pull")[0]


def test_github_commit_ref_is_not_a_branch():
    sha = "0123456789abcdef0123456789abcdef01234567"
    deployment, pull = pull_of("GitHub", repo="a/b", path="flows/etl.py", ref=sha)
    assert pull == [{GIT_CLONE: {"repository": "https://github.com/a/b.git"}}]
    assert "pinned commit" in todos(deployment, "pull")[0]


def test_the_entrypoint_is_the_file_defining_the_flow_not_a_storage_path():
    # Prefect 1's GitHub storage path named a file that need not exist in the repository (it
    # was where the flow was registered from): the migrated code's own file is what runs
    deployment, _ = pull_of("GitHub", repo="a/b", path="src/flows/etl.py")
    assert deployment.entrypoint == "flows/etl.py:etl"
    assert not todos(deployment, "entrypoint")


def test_local_storage_directory_from_the_script_path():
    deployment, pull = pull_of("Local", path="/opt/checkout/flows/etl.py", stored_as_script=True)
    assert pull == [{SET_WD: {"directory": "/opt/checkout"}}]
    assert todos(deployment) == []


def test_local_storage_without_a_path_points_at_the_repo_with_a_todo():
    deployment, pull = pull_of("Local", directory="~/.prefect/flows")
    assert pull == [{SET_WD: {"directory": "/src/etl"}}]
    assert todos(deployment, "pull")


def test_module_storage():
    deployment, pull = pull_of("Module", module="flows.etl")
    assert pull == [{SET_WD: {"directory": "/src/etl"}}]
    assert deployment.entrypoint == "flows/etl.py:etl"
    assert not todos(deployment, "entrypoint")


def test_s3_storage_is_a_caveated_pull_step():
    deployment, pull = pull_of("S3", bucket="flows", key="etl/flows/etl.py", stored_as_script=True)
    assert pull == [
        {
            "prefect_aws.deployments.steps.pull_from_s3": {
                "requires": "prefect-aws",
                "bucket": "flows",
                "folder": "etl/flows",
            }
        }
    ]
    assert "S3 storage (C)" in todos(deployment, "pull")[0]


def test_pickled_gcs_storage_says_so():
    deployment, pull = pull_of("GCS", bucket="b", key="etl.prefect", project="p")
    assert "prefect_gcp.deployments.steps.pull_from_gcs" in pull[0]
    assert "pickled" in todos(deployment, "pull")[0]


def test_docker_storage_builds_pushes_and_sets_the_image():
    storage = ComponentInfo(
        type="Docker",
        fields={"registry_url": "registry.acme.io/", "image_name": "etl", "image_tag": "1.0"},
    )
    deployment = only(
        plan_of(flow(storage=storage, run_config=ComponentInfo(type="DockerRun", fields={})))
    )
    (build,) = deployment.build
    assert build["prefect_docker.deployments.steps.build_docker_image"] == {
        "id": "build-image",
        "requires": "prefect-docker>=0.3.1",
        "image_name": "registry.acme.io/etl",
        "tag": "1.0",
        "dockerfile": "auto",
    }
    assert "prefect_docker.deployments.steps.push_docker_image" in deployment.push[0]
    assert deployment.work_pool["job_variables"] == {"image": "{{ build-image.image }}"}
    assert deployment.pull == [{SET_WD: {"directory": "/opt/prefect/etl"}}]
    assert todos(deployment, "build")


# --------------------------------------------------------------------------------------------
# Run configs -> work pools and job variables (§15)


def run_of(kind, **fields):
    plan = plan_of(flow(run_config=ComponentInfo(type=kind, fields=fields)))
    return plan, only(plan)


def test_local_run_is_a_process_pool_with_env_and_working_dir():
    plan, deployment = run_of("LocalRun", env={"A": "1"}, working_dir="/srv", labels=["dev"])
    assert deployment.work_pool == {
        "name": "dev",
        "job_variables": {"env": {"A": "1"}, "working_dir": "/srv"},
    }
    assert [(p.name, p.type, p.base_job_template) for p in plan.pools] == [("dev", "process", None)]
    assert deployment.tags == ["label:dev", "migrated-from-prefect1"]


def test_universal_run_and_no_run_config_are_process():
    plan, deployment = run_of("UniversalRun", env={"A": "1"})
    assert deployment.work_pool == {"name": "process-pool", "job_variables": {"env": {"A": "1"}}}
    assert only(plan_of(flow())).work_pool == {"name": "process-pool", "job_variables": {}}


def test_docker_run_host_config_is_a_todo():
    plan, deployment = run_of("DockerRun", image="etl:1", env={"A": "1"}, host_config={"x": 1})
    assert plan.pools[0].type == "docker"
    assert deployment.work_pool["job_variables"] == {"image": "etl:1", "env": {"A": "1"}}
    assert "host_config" in todos(deployment, "work_pool")[0]


def test_kubernetes_run_every_variable():
    _, deployment = run_of(
        "KubernetesRun",
        image="i",
        env={"A": "1"},
        cpu_request="1",
        cpu_limit="2",
        memory_request="1Gi",
        memory_limit="2Gi",
        service_account_name="sa",
        image_pull_policy="Always",
        image_pull_secrets=["regcred"],
        job_template_path="/etc/job.yaml",
    )
    assert deployment.work_pool["job_variables"] == {
        "image": "i",
        "env": {"A": "1"},
        "cpu_request": "1",
        "cpu_limit": "2",
        "memory_request": "1Gi",
        "memory_limit": "2Gi",
        "service_account_name": "sa",
        "image_pull_policy": "Always",
        "image_pull_secrets": [{"name": "regcred"}],
    }
    assert "job_template_path" in todos(deployment, "work_pool")[0]


def test_pool_override_by_type_or_run_config():
    assert parse_pool_overrides(["k8s=kubernetes", "local=LocalRun"]) == {
        "kubernetes": "k8s",
        "process": "local",
    }
    plan = plan_of(
        flow(run_config=ComponentInfo(type="LocalRun", fields={"labels": ["x"]})),
        pools={"process": "local"},
    )
    assert only(plan).work_pool["name"] == "local"
    assert [p.name for p in plan.pools] == ["local"]


@pytest.mark.parametrize("bad", ["nope", "a=", "a=lambda", "a/b=process"])
def test_bad_pool_overrides(bad):
    with pytest.raises(TranslationError):
        parse_pool_overrides([bad])


def test_same_labels_different_types_get_distinct_pools():
    local = flow(run_config=ComponentInfo(type="LocalRun", fields={"labels": ["prod"]}))
    k8s = flow(
        file="flows/k8s.py",
        name="k8s",
        function_name="k8s",
        run_config=ComponentInfo(type="KubernetesRun", fields={"labels": ["prod"]}),
    )
    plan = plan_of(local, k8s)
    assert sorted((p.name, p.type) for p in plan.pools) == [
        ("prod-kubernetes", "kubernetes"),
        ("prod-process", "process"),
    ]
    assert {d.work_pool["name"] for d in plan.deployments} == {"prod-kubernetes", "prod-process"}


def test_secret_block_names():
    assert secret_block_name("GITHUB_TOKEN") == "github-token"
    assert secret_block_name("my.Token 2") == "my-token-2"


# --------------------------------------------------------------------------------------------
# Schedules (§16)


def schedules_of(*clocks, **kw):
    deployment = only(plan_of(flow(schedule=schedule(*clocks, **kw))))
    return deployment, deployment.schedules


def test_interval_clock_with_anchor_and_timezone():
    clock = ClockInfo(
        type="IntervalClock",
        interval=3600,
        start_date="2023-03-01T09:30:00-05:00",
        timezone="America/New_York",
    )
    _, entries = schedules_of(clock)
    assert entries == [
        {
            "interval": 3600,
            "anchor_date": "2023-03-01T09:30:00-05:00",
            "timezone": "America/New_York",
            "active": False,
        }
    ]


def test_interval_clock_without_start_uses_prefect1_anchor():
    _, entries = schedules_of(ClockInfo(type="IntervalClock", interval=600))
    assert entries[0]["anchor_date"] == "2019-01-01T00:00:00+00:00"


def test_rrule_clock():
    rule = "DTSTART:20230101T090000\nRRULE:FREQ=WEEKLY;BYDAY=MO"
    _, entries = schedules_of(ClockInfo(type="RRuleClock", rrule=rule, timezone="Europe/Paris"))
    assert entries == [{"rrule": rule, "timezone": "Europe/Paris", "active": False}]


def _dates(entry, n=10):
    from prefect.client.schemas.schedules import RRuleSchedule

    after = datetime(2000, 1, 1, tzinfo=timezone.utc)
    rule = RRuleSchedule(rrule=entry["rrule"], timezone=entry["timezone"]).to_rrule()
    return [d.astimezone(timezone.utc) for d in list(rule.xafter(after, count=n))]


def test_dates_clock_becomes_rdates_at_the_same_instants():
    dates = ["2030-01-02T06:00:00+01:00", "2030-06-01T12:30:00+02:00"]
    deployment, entries = schedules_of(
        ClockInfo(type="DatesClock", dates=dates, timezone="Europe/Berlin")
    )
    assert entries[0]["rrule"] == "RDATE:20300102T060000,20300601T123000"
    assert _dates(entries[0]) == [datetime.fromisoformat(d) for d in dates]
    assert "DatesClock" in todos(deployment, "schedules")[0]


def test_cron_end_date_becomes_rrule_until():
    clock = cron("30 6 * * 1-5", end_date="2030-12-31T00:00:00+00:00")
    _, entries = schedules_of(clock)
    assert entries[0]["rrule"] == (
        "RRULE:FREQ=DAILY;BYHOUR=6;BYMINUTE=30;BYSECOND=0;BYDAY=MO,TU,WE,TH,FR;UNTIL=20301231T000000"
    )
    runs = _dates(entries[0], 3)
    assert all(r.weekday() < 5 and (r.hour, r.minute) == (6, 30) for r in runs)


def test_complex_cron_end_date_is_a_todo():
    deployment, entries = schedules_of(cron("*/15 * * * *", end_date="2030-01-01T00:00:00+00:00"))
    assert entries[0]["cron"] == "*/15 * * * *"
    assert "no end date" in todos(deployment, "schedules")[0]


def test_interval_end_date_becomes_rrule():
    clock = ClockInfo(
        type="IntervalClock",
        interval=86400 * 2,
        start_date="2030-01-01T08:00:00+00:00",
        end_date="2030-01-10T00:00:00+00:00",
    )
    _, entries = schedules_of(clock)
    assert entries[0]["rrule"] == (
        "DTSTART:20300101T080000\nRRULE:FREQ=DAILY;INTERVAL=2;UNTIL=20300110T000000"
    )
    assert len(_dates(entries[0], 10)) == 5


def test_is_weekday_folds_into_cron():
    deployment, entries = schedules_of(
        cron("0 6 * * *"), filters=["prefect.schedules.filters.is_weekday"]
    )
    assert entries[0]["cron"] == "0 6 * * 1-5" and todos(deployment, "schedules") == []


def test_is_weekend_not_filter_folds_into_cron():
    _, entries = schedules_of(cron("0 6 * * *"), not_filters=["is_weekend"])
    assert entries[0]["cron"] == "0 6 * * 1-5"


def test_weekday_filter_on_dates_clock_filters_the_dates():
    dates = ["2030-01-04T06:00:00+00:00", "2030-01-05T06:00:00+00:00"]  # Friday, Saturday
    _, entries = schedules_of(ClockInfo(type="DatesClock", dates=dates), filters=["is_weekday"])
    assert entries[0]["rrule"] == "RDATE:20300104T060000"


def test_weekday_filter_on_restricted_cron_is_a_todo():
    deployment, entries = schedules_of(cron("0 6 1 * *"), filters=["is_weekday"])
    assert entries[0]["cron"] == "0 6 1 * *"
    assert any("weekday filter" in t for t in todos(deployment, "schedules"))


def test_unsupported_filters_and_adjustments_are_todos():
    deployment, _ = schedules_of(
        cron("0 6 * * *"),
        filters=["prefect.schedules.filters.between_times"],
        adjustments=["prefect.schedules.adjustments.next_weekday"],
    )
    messages = todos(deployment, "schedules")
    assert any("between_times" in m for m in messages)
    assert any("next_weekday" in m for m in messages)


def test_cron_day_or_false_is_a_todo_only_when_it_matters():
    deployment, _ = schedules_of(cron("0 6 1 * 1", day_or=False))
    assert "day_or=False" in todos(deployment, "schedules")[0]
    deployment, _ = schedules_of(cron("0 6 * * 1", day_or=False))
    assert todos(deployment, "schedules") == []


# --------------------------------------------------------------------------------------------
# Rendering


def test_todos_are_comments_above_the_key_they_concern():
    plan = plan_of(flow(schedule=schedule(cron("0 6 1 * 1", day_or=False))))
    lines = render_prefect_yaml(plan, prefect_version="2.20.27").splitlines()
    index = lines.index("  schedules:")
    assert lines[index - 1].startswith("  # TODO(prefect2-migration): cron '0 6 1 * 1' used day_or")
    yaml.safe_load("\n".join(lines))


def test_multiline_rrule_round_trips():
    rule = "DTSTART:20230101T090000\nRRULE:FREQ=WEEKLY;BYDAY=MO"
    plan = plan_of(flow(schedule=schedule(ClockInfo(type="RRuleClock", rrule=rule))))
    data = yaml.safe_load(render_prefect_yaml(plan, prefect_version="2.20.27"))
    assert data["deployments"][0]["schedules"][0]["rrule"] == rule


# --------------------------------------------------------------------------------------------
# What the static inventory reader could not evaluate


def test_flow_without_a_function_gets_no_deployment():
    plan = plan_of(flow(function_name=None), flow(file="flows/b.py", name="b", function_name="b"))
    assert [d.name for d in plan.deployments] == ["b"]
    assert "no deployment written" in plan.todos[0].message


def test_unevaluated_clock_is_a_todo_not_a_guess():
    clock = ClockInfo(type="IntervalClock", interval="<unevaluated: EVERY>")
    deployment, entries = schedules_of(clock)
    assert entries == []
    assert "interval=<unevaluated: EVERY>" in todos(deployment, "schedules")[0]


def test_unevaluated_schedule_parts_are_todos():
    deployment, _ = schedules_of(cron("0 6 * * *"), unevaluated=["clocks[1]: make_clock()"])
    assert any("make_clock()" in t for t in todos(deployment, "schedules"))


def test_unevaluated_storage_and_run_config_values():
    storage = ComponentInfo(type="GitHub", fields={"repo": "<unevaluated: REPO>", "path": "x.py"})
    run_config = ComponentInfo(
        type="KubernetesRun", fields={"image": "<unevaluated: IMAGE>", "cpu_request": "1"}
    )
    deployment = only(plan_of(flow(storage=storage, run_config=run_config)))
    assert deployment.pull == [{SET_WD: {"directory": "/src/etl"}}]
    assert any("repo=<unevaluated: REPO>" in t for t in todos(deployment, "pull"))
    assert deployment.work_pool["job_variables"] == {"cpu_request": "1"}
    assert any("image=<unevaluated: IMAGE>" in t for t in todos(deployment, "work_pool"))
