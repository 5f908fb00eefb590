"""A wave's Target written into the translation, the declared deployments read back from the
rendered prefect.yaml, and the promotion's edit of that file."""

from __future__ import annotations

import pytest
import yaml

from meta_flows.core.deployments.declared import (
    DeclarationError,
    activated,
    declared_deployments,
)
from meta_flows.core.deployments.plan import PROMOTED_TAG, SHADOW_TAG, Target
from meta_flows.core.deployments.render import render_pools_yaml, render_prefect_yaml
from meta_flows.core.deployments.translate import translate
from meta_flows.core.inventory.model import (
    ClockInfo,
    ComponentInfo,
    FlowInfo,
    Inventory,
    ScheduleInfo,
)

CLONE = "prefect.deployments.steps.git_clone"
TARGET = Target(
    project="acme-etl",
    git_url="https://git.example/acme/etl.git",
    branch="prefect2/w1",
    pool=("shared", "process"),
    tags=("wave:w1", SHADOW_TAG),
)


def flow(**kw) -> FlowInfo:
    base = {"file": "flows/etl.py", "name": "etl", "function_name": "etl", "method": "dynamic"}
    return FlowInfo(**{**base, **kw})


def plan_of(*flows, target=TARGET):
    return translate(Inventory(repo="/srv/wave/repos/etl", flows=list(flows)), target=target)


def nightly(**parameters) -> ScheduleInfo:
    return ScheduleInfo(
        clocks=[ClockInfo(type="CronClock", cron="0 2 * * *", parameter_defaults=parameters)]
    )


KUBERNETES = ComponentInfo(
    type="KubernetesRun", fields={"image": "acme/etl:1", "env": {"STAGE": "prod"}}
)


@pytest.mark.parametrize(
    "storage",
    [
        None,  # Prefect 1's default local storage
        ComponentInfo(type="Local", fields={"path": "/opt/flows/etl.py"}),
        ComponentInfo(
            type="GitHub",
            fields={"repo": "acme/other", "path": "src/flow.py", "access_token_secret": "TOKEN"},
        ),
    ],
)
def test_every_deployment_clones_the_project_remote_at_the_branch(storage):
    plan = plan_of(flow(storage=storage, schedule=nightly(), run_config=KUBERNETES))
    (deployment,) = plan.deployments
    assert deployment.pull == [{CLONE: {"repository": TARGET.git_url, "branch": TARGET.branch}}]
    assert deployment.entrypoint == "flows/etl.py:etl"  # never a storage path
    assert not [t for t in deployment.todos if t.key in ("pull", "entrypoint")]
    assert plan.blocks == []  # the storage's token is not needed to clone the project's remote
    text = render_prefect_yaml(plan, "2.20.0") + render_pools_yaml(plan)
    assert "/srv/wave" not in text  # no path of the wave's workspace


def test_the_registry_pool_tags_and_project_name_are_written_in():
    plan = plan_of(
        flow(schedule=nightly(), run_config=KUBERNETES, project_name="sales", labels=["k8s"])
    )
    (deployment,) = plan.deployments
    assert plan.project == "acme-etl"
    assert [(p.name, p.type) for p in plan.pools] == [("shared", "process")]
    # a process worker knows env; the Kubernetes-only variables do not apply to it
    assert deployment.work_pool == {"name": "shared", "job_variables": {"env": {"STAGE": "prod"}}}
    assert deployment.tags == sorted(
        [
            "label:k8s",
            "migrated-from-prefect1",
            "prefect1-project:sales",
            "project:acme-etl",
            "wave:w1",
            SHADOW_TAG,
        ]
    )
    assert [s["active"] for s in deployment.schedules] == [False]
    data = yaml.safe_load(render_prefect_yaml(plan, "2.20.0"))
    assert data["name"] == "acme-etl"


def test_a_kubernetes_target_keeps_the_planned_job_variables():
    target = Target("p", "https://g/p.git", "b", pool=("k8s", "kubernetes"))
    (deployment,) = plan_of(flow(run_config=KUBERNETES), target=target).deployments
    assert deployment.work_pool["name"] == "k8s"
    assert deployment.work_pool["job_variables"]["image"] == "acme/etl:1"


@pytest.mark.parametrize(
    "changes",
    [
        {"name": "<unevaluated: f'etl_{x}'>"},
        {"labels": ["<unevaluated: LABEL>"]},
        {"schedule": nightly(day="<unevaluated: today()>")},
    ],
)
def test_what_could_not_be_evaluated_gets_one_todo_and_no_deployment(changes):
    plan = plan_of(flow(**changes), flow(file="flows/other.py", name="other"))
    assert [d.flow_name for d in plan.deployments] == ["other"]
    (todo,) = plan.todos
    assert "could not be evaluated: no deployment written" in todo.message
    assert "flows/etl.py" in todo.message
    assert "<unevaluated" not in "".join(str(d.to_dict()) for d in plan.deployments)


def test_declared_deployments_are_what_the_rendered_file_says():
    plan = plan_of(flow(schedule=nightly(n=3)), flow(file="flows/b.py", name="b"))
    declared = declared_deployments(render_prefect_yaml(plan, "2.20.0"))
    # each named after the project that owns it (unique per flow, as on the API)
    assert [d.key for d in declared] == [
        ("acme-etl", "flows/b.py:etl"),
        ("acme-etl", "flows/etl.py:etl"),
    ]
    planned = next(d for d in plan.deployments if d.flow_name == "etl")
    assert declared[1].compared() == {
        "entrypoint": planned.entrypoint,
        "parameters": {"n": 3},
        "tags": sorted(planned.tags),
        "work_pool_name": "shared",
        "job_variables": {},
        "pull_steps": planned.pull,
        "schedules": planned.schedules,
    }


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("deployments: {a: 1}\n", "deployments: expected a list"),
        ("deployments:\n- entrypoint: a.py:f\n", r"deployments\[0\]: no name"),
        ("deployments:\n- name: a\n  entrypoint: a.py\n", "entrypoint must be"),
        (
            "deployments:\n- {name: a, entrypoint: 'a.py:f'}\n- {name: a, entrypoint: 'a.py:f'}\n",
            r"declared twice: a \(a.py:f\)",
        ),
        ("deployments: [\n", "not YAML"),
    ],
)
def test_a_malformed_file_is_named(text, message):
    with pytest.raises(DeclarationError, match=message):
        declared_deployments(text)


def test_activation_switches_schedules_on_and_follows_the_default_branch():
    plan = plan_of(flow(schedule=nightly()), flow(file="flows/b.py", name="b"))
    text = render_prefect_yaml(plan, "2.20.0")
    text = text.replace("deployments:", "# a comment kept\ndeployments:", 1)
    promoted = activated(text, branch_from="prefect2/w1", branch_to="main")
    assert "# a comment kept" in promoted
    for deployment in declared_deployments(promoted):
        assert all(s["active"] for s in deployment.schedules)
        assert PROMOTED_TAG in deployment.tags and SHADOW_TAG not in deployment.tags
        assert deployment.pull_steps == [{CLONE: {"repository": TARGET.git_url, "branch": "main"}}]
    # idempotent; without branches the pull steps stay
    assert activated(promoted, branch_from="prefect2/w1", branch_to="main") == promoted
    kept = declared_deployments(activated(text))
    assert kept[0].pull_steps[0][CLONE]["branch"] == "prefect2/w1"
    # only the lines that change differ
    assert len(text.splitlines()) == len(promoted.splitlines())
    changed = [a for a, b in zip(text.splitlines(), promoted.splitlines(), strict=True) if a != b]
    assert len(changed) == 2 + 2 + 1  # two tags, two branches, one schedule


def test_activation_refuses_a_file_it_cannot_edit_safely():
    text = "deployments:\n- {name: a, entrypoint: 'a.py:f', schedules: [{cron: '* * * * *', active: false}]}\n"
    with pytest.raises(DeclarationError, match="cannot be edited safely"):
        activated(text)


def test_credentials_in_the_git_url_are_never_written():
    target = Target("p", "https://x-access-token:s3cr3t@github.com/acme/etl.git", "b")
    plan = plan_of(flow(), target=target)
    text = render_prefect_yaml(plan, "2.20.0")
    assert "s3cr3t" not in text and "x-access-token" not in text
    (deployment,) = plan.deployments
    assert deployment.pull == [
        {CLONE: {"repository": "https://github.com/acme/etl.git", "branch": "b"}}
    ]
    assert any("carries credentials" in t.message for t in deployment.todos)


def test_deployments_are_named_after_the_owning_project_and_unique_per_flow():
    schedule = ScheduleInfo(
        clocks=[
            ClockInfo(type="CronClock", cron="0 1 * * *", parameter_defaults={"region": "eu"}),
            ClockInfo(type="CronClock", cron="0 2 * * *", parameter_defaults={"region": "us"}),
        ]
    )
    plan = plan_of(
        flow(schedule=schedule),
        flow(file="flows/copy.py", name="etl"),  # the same flow name in another file
    )
    names = sorted((d.file, d.name) for d in _with_files(plan))
    # files in order: flows/copy.py's flow takes the plain name, the clocks of flows/etl.py's
    # their suffixes; a second flow of the same name and deployment name would get its file's
    assert names == [
        ("flows/copy.py", "acme-etl"),
        ("flows/etl.py", "acme-etl-eu"),
        ("flows/etl.py", "acme-etl-us"),
    ]
    again = plan_of(flow(file="flows/a.py"), flow(file="flows/b.py"))
    assert sorted(d.name for d in again.deployments) == ["acme-etl", "acme-etl-b"]


def _with_files(plan):
    from types import SimpleNamespace

    return [SimpleNamespace(file=d.entrypoint.split(":")[0], name=d.name) for d in plan.deployments]


def test_run_deployment_names_are_the_deployments_the_translation_gives():
    """What a wave hands the codemod for parents starting a flow by name: the deployment of each
    flow that runs with the flow's own defaults, as the translator names it."""
    from meta_flows.core.deployments.translate import run_deployment_names

    flows = [
        flow(),  # one deployment, named after the project
        flow(file="flows/report.py", name="report/daily", function_name="report_daily"),
        # the same flow name in another file: ambiguous by name, left out
        flow(file="flows/a.py", name="twin", function_name="twin"),
        flow(file="flows/b.py", name="twin", function_name="twin"),
        # every clock sets parameters: no deployment runs with the flow's defaults
        flow(file="flows/eu.py", name="eu", function_name="eu", schedule=nightly(region="eu")),
        # a clock without parameters and one with: the one without
        flow(
            file="flows/mixed.py",
            name="mixed",
            function_name="mixed",
            schedule=ScheduleInfo(
                clocks=[
                    ClockInfo(type="CronClock", cron="0 2 * * *"),
                    ClockInfo(type="CronClock", cron="0 3 * * *", parameter_defaults={"x": 1}),
                ]
            ),
        ),
        flow(file="flows/none.py", name="unnamed", function_name=None),
    ]
    inventory = Inventory(repo="/srv/wave/repos/etl", flows=flows)
    plan = translate(inventory, target=TARGET)
    names = run_deployment_names(inventory, plan)
    assert names == {
        "etl": "etl/acme-etl",
        "report/daily": "report-daily/acme-etl",
        "mixed": "mixed/acme-etl-default",
    }
    deployments = {f"{d.flow_name}/{d.name}" for d in plan.deployments}
    assert set(names.values()) <= deployments
