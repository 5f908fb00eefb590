"""PF016 deployment_config: storage/run_config/schedule leave the code; executor moves into Flow()."""

import libcst as cst
import pytest

from meta_flows.core.codemod.base import todo_text
from meta_flows.core.codemod.rules.deployment_config import DeploymentConfigRule
from meta_flows.core.codemod.testing import apply_rule, assert_noop, assert_rewrite


def moved(what: str) -> str:
    """The one informational line above a statement whose deployment settings left the code."""
    return f"# prefect2-migration: {what} moved to prefect.yaml\n"


# Values are left unimported here: the removal is by keyword; import clean-up is tested below.
HEAD = "from prefect import Flow\n\n"


@pytest.mark.parametrize(
    ("before", "after"),
    [
        (
            'with Flow("a", storage=GitHub(repo="r")) as flow:\n    pass\n',
            moved("storage") + 'with Flow("a") as flow:\n    pass\n',
        ),
        (
            'with Flow("a", run_config=KubernetesRun(), executor=E) as flow:\n    pass\n',
            moved("run_config") + 'with Flow("a", executor=E) as flow:\n    pass\n',
        ),
        (
            'with Flow("a") as flow:\n    pass\n\nflow.storage = GitHub(repo="r")\n'
            "flow.run_config = KubernetesRun()\n",
            moved("storage and run_config") + 'with Flow("a") as flow:\n    pass\n',
        ),
        (
            'with Flow("a") as flow:\n    pass\nflow.executor = LocalDaskExecutor()\n',
            'with Flow("a", executor=LocalDaskExecutor()) as flow:\n    pass\n',
        ),
        (
            'with Flow("a", executor=X) as flow:\n    pass\nflow.executor = LocalDaskExecutor()\n',
            'with Flow("a", executor=LocalDaskExecutor()) as flow:\n    pass\n',
        ),
        (
            'f = Flow("a", storage=GitHub(repo="r"))\nf.add_task(t)\n',
            moved("storage") + 'f = Flow("a")\nf.add_task(t)\n',
        ),
        (
            'def create():\n    with Flow("a") as f:\n        pass\n'
            '    f.storage = GitHub(repo="r")\n    return f\n',
            "def create():\n    "
            + moved("storage")
            + '    with Flow("a") as f:\n        pass\n    return f\n',
        ),
        (
            'with Flow("a") as flow:\n    pass\nif __name__ == "__main__":\n'
            '    flow.storage = GitHub(repo="r")\n',
            moved("storage") + 'with Flow("a") as flow:\n    pass\n',
        ),
    ],
)
def test_rewrites(before, after):
    assert_rewrite(DeploymentConfigRule, HEAD + before, HEAD + after)


def test_schedule_variables_commented_out_and_imports_dropped():
    before = (
        "import pendulum\nfrom prefect import Flow\nfrom prefect.schedules import Schedule\n"
        "from prefect.schedules.clocks import CronClock\nfrom shared.schedules import nightly\n\n"
        'clock = CronClock("0 6 * * *", start_date=pendulum.datetime(2023, 1, 1))\n'
        "schedule = Schedule(clocks=[clock])\n\n"
        'with Flow("a", schedule=schedule) as flow:\n    pass\n'
        'with Flow("b", schedule=nightly) as b:\n    pass\n'
    )
    after = (
        "from prefect import Flow\n\n"
        + moved("schedule")
        + '# clock = CronClock("0 6 * * *", start_date=pendulum.datetime(2023, 1, 1))\n'
        + moved("schedule")
        + "# schedule = Schedule(clocks=[clock])\n\n"
        + moved("schedule")
        + 'with Flow("a") as flow:\n    pass\n'
        + moved("schedule")
        + 'with Flow("b") as b:\n    pass\n'
    )
    assert_rewrite(DeploymentConfigRule, before, after)


def test_schedule_variable_still_used_is_kept():
    src = (
        "from prefect import Flow\nfrom prefect.schedules import CronSchedule\n"
        's = CronSchedule("0 1 * * *")\nwith Flow("a", schedule=s) as flow:\n    pass\nprint(s)\n'
    )
    got = apply_rule(DeploymentConfigRule, src)
    assert 's = CronSchedule("0 1 * * *")\n' in got and 'with Flow("a") as flow:' in got
    assert got == (
        "from prefect import Flow\nfrom prefect.schedules import CronSchedule\n"
        's = CronSchedule("0 1 * * *")\n'
        + moved("schedule")
        + 'with Flow("a") as flow:\n    pass\nprint(s)\n'
    )


def test_shared_schedules_module_is_commented_out():
    src = (
        "from prefect.schedules import CronSchedule, IntervalSchedule\nfrom datetime import timedelta\n\n"
        'nightly = CronSchedule("0 1 * * *")\nhourly = IntervalSchedule(interval=timedelta(hours=1))\n'
        "TIMEOUT = 5\n"
    )
    got = apply_rule(DeploymentConfigRule, src)
    assert '# nightly = CronSchedule("0 1 * * *")\n' in got
    assert "# hourly = IntervalSchedule(interval=timedelta(hours=1))\n" in got
    assert got.rstrip().endswith("TIMEOUT = 5")
    assert got == (
        "\n"
        + moved("schedule")
        + '# nightly = CronSchedule("0 1 * * *")\n'
        + moved("schedule")
        + "# hourly = IntervalSchedule(interval=timedelta(hours=1))\n"
        + "TIMEOUT = 5\n"
    )
    compile(got, "schedules.py", "exec")
    assert apply_rule(DeploymentConfigRule, got) == got


@pytest.mark.parametrize(
    "src",
    [
        "from metaflow import Flow\nwith Flow('x', storage=S) as flow:\n    pass\nflow.storage = S\n",
        "class Thing:\n    pass\nt = Thing()\nt.storage = 1\nt.schedule = 2\n",
        "from prefect import flow\n@flow(name='x')\ndef x():\n    pass\n",
        "from prefect import Flow\nwith Flow('x', executor=E) as flow:\n    pass\n",
        "from my.schedules import CronSchedule\ns = CronSchedule('x')\n",
    ],
)
def test_noop(src):
    assert_noop(DeploymentConfigRule, src)


MOVED_SOURCE = """\
from prefect import Flow, task
from prefect.run_configs import KubernetesRun
from prefect.schedules import CronSchedule
from prefect.storage import GitHub


@task
def a():
    return 1


with Flow("etl", storage=GitHub(repo="acme/etl"), schedule=CronSchedule("0 6 * * *")) as flow:
    a()

flow.run_config = KubernetesRun(image="etl:1")
"""


@pytest.mark.parametrize(
    ("disabled", "marker"),
    [
        (
            frozenset(),
            "# prefect2-migration: storage, run_config and schedule moved to prefect.yaml",
        ),
        # PF016 off: PF002 marks the keyword arguments it drops, in the same one line
        (frozenset({"PF016"}), "# prefect2-migration: storage and schedule moved to prefect.yaml"),
    ],
)
def test_one_marker_line_for_everything_that_moved(disabled, marker):
    from meta_flows.core.codemod.engine import migrate_source

    result = migrate_source(MOVED_SOURCE, "etl.py", module_name="etl", disabled=disabled)
    code = result.code
    markers = [line for line in code.splitlines() if line.startswith("# prefect2-migration:")]
    assert markers == [marker]
    assert f'{marker}\n@flow(name="etl")\ndef etl():\n    return a()\n' in code
    again = migrate_source(code, "etl.py", module_name="etl", disabled=disabled)
    assert again.code == code


def test_markers_merge_into_the_statements_own_line_only():
    from meta_flows.core.codemod.base import moved_comment, with_leading_comments

    def lines(*comments: str) -> list[cst.EmptyLine]:
        return [cst.EmptyLine(comment=cst.Comment(c)) for c in comments]

    todo = todo_text("PF002", "something")
    stmt = cst.parse_statement("x = 1\n").with_changes(
        leading_lines=lines(moved_comment("schedule"), "# schedule = CronSchedule('x')")
        + lines(moved_comment("storage"), todo)
    )
    got = with_leading_comments(stmt, [moved_comment("run_config"), moved_comment("schedule")])
    assert cst.Module(body=[got]).code == (
        "# prefect2-migration: schedule moved to prefect.yaml\n"
        "# schedule = CronSchedule('x')\n"
        "# prefect2-migration: storage, run_config and schedule moved to prefect.yaml\n"
        f"{todo}\nx = 1\n"
    )
    assert with_leading_comments(got, [moved_comment("storage")]) is got


def test_a_positional_schedule_moves_like_the_keyword():
    """``Flow("x", schedule)``: Prefect 1's second parameter is the schedule."""
    before = (
        "from prefect import Flow\nfrom prefect.schedules import IntervalSchedule\n\n"
        "schedule = IntervalSchedule(interval=60)\n\n"
        'with Flow("a", schedule) as flow:\n    pass\n'
    )
    after = (
        "from prefect import Flow\n\n"
        + moved("schedule")
        + "# schedule = IntervalSchedule(interval=60)\n\n"
        + moved("schedule")
        + 'with Flow("a") as flow:\n    pass\n'
    )
    assert_rewrite(DeploymentConfigRule, before, after)
    # a wrapper's second positional argument is its own: left to PF002's wrapper TODO
    wrapper = before.replace("from prefect import Flow", "from acme.flows import Flow")
    assert 'with Flow("a", schedule) as flow:' in apply_rule(DeploymentConfigRule, wrapper)
