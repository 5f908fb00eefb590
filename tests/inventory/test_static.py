"""The static fallback reader on small sources (no Prefect 1 environment needed)."""

import textwrap
from pathlib import Path

import pytest

from meta_flows.core.inventory.static import StaticRepo, read_module


def read(source: str, **others: str) -> list[dict]:
    sources = {"m": (Path("m.py"), textwrap.dedent(source))}
    sources.update({k: (Path(f"{k}.py"), textwrap.dedent(v)) for k, v in others.items()})
    return read_module(StaticRepo(sources), "m")


def test_flow_name_parameters_tasks_and_edges():
    (flow,) = read(
        """
        from prefect import Flow, Parameter, task, unmapped

        @task(name="Fetch")
        def fetch(url, retries):
            return url

        @task
        def save(rows):
            pass

        with Flow("etl") as f:
            url = Parameter("url", default="http://x")
            n = Parameter("n", required=True)
            rows = fetch.map(url, retries=unmapped(n))
            save(rows)
            save(rows, upstream_tasks=[n])
        """
    )
    assert flow["name"] == "etl" and flow["variable"] == "f" and flow["line"] == 12
    assert flow["parameters"] == [
        {"name": "n", "default": None, "required": True},
        {"name": "url", "default": "http://x", "required": False},
    ]
    assert [(t["slug"], t["mapped"]) for t in flow["tasks"]] == [
        ("Fetch-1", True),
        ("n", False),
        ("save-1", False),
        ("save-2", False),
        ("url", False),
    ]
    assert {(e["upstream"], e["downstream"], e["key"], e["mapped"]) for e in flow["edges"]} == {
        ("url", "Fetch-1", "url", True),
        ("n", "Fetch-1", "retries", False),
        ("Fetch-1", "save-1", "rows", False),
        ("Fetch-1", "save-2", "rows", False),
        ("n", "save-2", None, False),
    }


def test_schedules_with_timezones_intervals_and_shortcuts():
    (flow,) = read(
        """
        import datetime
        import pendulum
        from prefect import Flow
        from prefect.schedules import IntervalSchedule

        with Flow("x", schedule=IntervalSchedule(
            pendulum.datetime(2023, 6, 1, 12, tz="Europe/Berlin"),
            datetime.timedelta(minutes=90),
        )) as flow:
            pass
        """
    )
    (clock,) = flow["schedule"]["clocks"]
    assert clock["type"] == "IntervalClock"
    assert clock["interval"] == 5400.0
    assert clock["start_date"] == "2023-06-01T12:00:00+02:00"
    assert clock["timezone"] == "Europe/Berlin"


def test_constants_and_shared_module_are_resolved():
    (flow,) = read(
        """
        from prefect import Flow
        from prefect.schedules import Schedule
        from shared import CLOCKS, PROJECT
        IMAGE = "acme/" + "etl"

        with Flow("x") as flow:
            pass
        flow.schedule = Schedule(clocks=CLOCKS)
        from prefect.run_configs import DockerRun
        flow.run_config = DockerRun(image=IMAGE)
        flow.register(PROJECT, labels=["a"])
        """,
        shared="""
        from prefect.schedules.clocks import CronClock
        CLOCKS = [CronClock("*/5 * * * *", parameter_defaults={"k": 1})]
        PROJECT = "p"
        """,
    )
    assert flow["schedule"]["clocks"][0]["cron"] == "*/5 * * * *"
    assert flow["schedule"]["clocks"][0]["parameter_defaults"] == {"k": 1}
    assert flow["run_config"] == {"type": "DockerRun", "fields": {"image": "acme/etl"}}
    assert flow["project_name"] == "p"
    assert flow["labels"] == ["a"]


@pytest.mark.parametrize(
    ("expr", "expected"),
    [
        ("os.environ['IMAGE']", "<unevaluated: os.environ['IMAGE']>"),
        ("get_image()", "<unevaluated: get_image()>"),
        ('f"acme/{TAG}"', '<unevaluated: f"acme/{TAG}">'),
    ],
)
def test_what_cannot_be_evaluated_is_recorded_honestly(expr, expected):
    (flow,) = read(
        f"""
        import os
        from prefect import Flow
        from prefect.run_configs import KubernetesRun
        with Flow("x", run_config=KubernetesRun(image={expr})) as flow:
            pass
        """
    )
    assert flow["run_config"]["fields"]["image"] == expected


def test_unevaluated_clock_fields_are_listed_not_guessed():
    (flow,) = read(
        """
        import pendulum
        from prefect import Flow
        from prefect.schedules.clocks import CronClock
        from prefect.schedules import Schedule
        with Flow("x", schedule=Schedule(clocks=[
            CronClock("0 * * * *", start_date=pendulum.now()), make_clock()
        ])) as flow:
            pass
        """
    )
    schedule = flow["schedule"]
    assert schedule["clocks"][0]["start_date"] is None
    assert schedule["clocks"][0]["unevaluated"] == ["start_date: <unevaluated: pendulum.now()>"]
    assert schedule["unevaluated"] == ["<unevaluated: make_clock()>"]


def test_storage_secret_names_kept_credentials_redacted():
    (flow,) = read(
        """
        from prefect import Flow
        from prefect.storage import GitHub, S3
        with Flow("x", storage=S3("bucket", client_options={"aws_secret_access_key": "abc"})) as a:
            pass
        with Flow("y", storage=GitHub("o/r", "f.py", access_token_secret="TOKEN")) as b:
            pass
        """
    )[:1]
    assert flow["storage"] == {
        "type": "S3",
        "fields": {"bucket": "bucket", "client_options": {"aws_secret_access_key": "<redacted>"}},
    }


def test_not_prefect_flow_is_ignored():
    assert read("from myflows import Flow\nwith Flow('x') as f:\n    pass\n") == []


def test_literal_only_f_strings_and_dict_calls_are_evaluated():
    (flow,) = read(
        """
        from prefect import Flow
        from prefect.run_configs import KubernetesRun
        from prefect.storage import GitHub
        from shared import TEAM
        NAME = "etl"
        VERSION = 3
        with Flow(
            f"{TEAM}-{NAME}",
            storage=GitHub(repo="a/b", path=f"flows/{NAME}.py"),
            run_config=KubernetesRun(
                image=f"acme/{NAME}:{VERSION:03d}", env=dict(STAGE="prod", **{"N": NAME})
            ),
        ) as flow:
            pass
        """,
        shared='TEAM = "data"\n',
    )
    assert flow["name"] == "data-etl"
    assert flow["storage"]["fields"]["path"] == "flows/etl.py"
    fields = flow["run_config"]["fields"]
    assert fields["image"] == "acme/etl:003"
    assert fields["env"] == {"STAGE": "prod", "N": "etl"}


def test_a_shadowed_dict_or_an_unknown_name_stays_unevaluated():
    (flow,) = read(
        """
        from prefect import Flow
        from prefect.run_configs import KubernetesRun
        def dict(**kw):
            return kw
        dict = dict
        with Flow(f"etl-{UNKNOWN}", run_config=KubernetesRun(env=dict(A="1"))) as flow:
            pass
        """
    )
    assert flow["name"] == '<unevaluated: f"etl-{UNKNOWN}">'
    assert flow["run_config"]["fields"]["env"] == '<unevaluated: dict(A="1")>'
