"""The managed Prefect 1.4.1 environment: cache, lock, layering, errors, and that the pins work."""

import json
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from meta_flows.sandbox.legacy import env as legacy
from meta_flows.sandbox.legacy.env import LegacyEnvError, base_env, legacy_env, project_requirements

LAYERED = "iniconfig==2.0.0"  # tiny pure-Python wheel, not in the base environment


def run_py(env, code: str, timeout: int = 180) -> str:
    out = env.run(["-c", textwrap.dedent(code)], capture_output=True, text=True, timeout=timeout)
    assert out.returncode == 0, out.stderr
    return out.stdout


def test_base_env_is_created_once_and_reused(base, legacy_root):
    assert (base.path / legacy.MARKER).exists()
    started = time.monotonic()
    again = base_env(legacy_root)
    assert again.path == base.path
    assert time.monotonic() - started < 1  # a cache hit, no pip
    assert run_py(base, "import prefect; print(prefect.__version__)").strip() == "1.4.1"


def test_console_scripts_point_at_the_final_path(base):
    # venvs are not relocatable: the env is built in place, so `prefect` (Prefect 1's CLI) works.
    shebang = (base.path / "bin" / "prefect").read_text().splitlines()[0]
    assert shebang == f"#!{base.python}"
    out = subprocess.run(
        [str(base.path / "bin" / "prefect"), "version"], capture_output=True, text=True
    )
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "1.4.1"


def test_project_requirement_is_layered_on_the_base(base, legacy_root):
    project = legacy_env([LAYERED], legacy_root)
    assert project.path != base.path
    assert project.requirements == (LAYERED,)
    assert legacy_env([f" {LAYERED} "], legacy_root).path == project.path  # cached
    where = json.loads(
        run_py(
            project,
            """
            import json, iniconfig, prefect
            print(json.dumps([prefect.__version__, prefect.__file__, iniconfig.__file__]))
            """,
        )
    )
    assert where[0] == "1.4.1"
    assert where[1].startswith(str(base.path))  # Prefect 1 comes from the shared base
    assert where[2].startswith(str(project.path))
    assert not list((base.path / "lib").glob("python3*/site-packages/iniconfig"))


def test_two_concurrent_requests_build_once(base, legacy_root, tmp_path):
    log = tmp_path / "builds.log"
    script = textwrap.dedent(
        f"""
        import sys
        from pathlib import Path
        import meta_flows.sandbox.legacy.env as m
        original = m.build_env
        def counting(target, build):
            with open({str(log)!r}, "a") as fh:
                fh.write(str(target) + "\\n")
            original(target, build)
        m.build_env = counting
        print(m.legacy_env(["iniconfig==1.1.1"], Path({str(legacy_root)!r})).path)
        """
    )
    procs = [
        subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, text=True)
        for _ in range(2)
    ]
    paths = [p.communicate(timeout=300)[0].strip() for p in procs]
    assert all(p.returncode == 0 for p in procs)
    assert paths[0] == paths[1]
    assert len(log.read_text().splitlines()) <= 1  # 0 if an earlier session built it
    assert (Path(paths[0]) / legacy.MARKER).exists()


def test_requirement_that_cannot_install_names_it(base, legacy_root):
    bad = "meta-flows-no-such-package-xyz==9.9.9"
    with pytest.raises(LegacyEnvError) as info:
        legacy_env([bad], legacy_root)
    message = str(info.value)
    assert bad in message
    assert "No matching distribution" in message or "Could not find" in message
    target = legacy_root / f"prefect1-project-{legacy.env_key(base.path.name, bad)}"
    assert not target.exists()  # nothing half-built is left behind
    started = time.monotonic()  # pip's answer is remembered: no second 20 s attempt
    with pytest.raises(LegacyEnvError) as again:
        legacy_env([bad], legacy_root)
    assert time.monotonic() - started < 2
    assert str(again.value) == message


def test_project_requirements_from_each_source(tmp_path):
    (tmp_path / "requirements.txt").write_text(
        "# deps\nrequests>=2  # http\nprefect==1.4.1\n\nPyYAML\n"
    )
    (tmp_path / "pyproject.toml").write_text(
        '[project]\nname = "x"\ndependencies = ["pandas<2", "prefect[aws]<2"]\n'
    )
    (tmp_path / "setup.py").write_text(
        "from setuptools import setup\nsetup(install_requires=['toolz', 'requests>=2'])\n"
    )
    assert project_requirements(tmp_path) == ["requests>=2", "PyYAML", "pandas<2", "toolz"]


def test_project_requirements_errors_name_the_file(tmp_path):
    (tmp_path / "requirements.txt").write_text("-e .\n")
    with pytest.raises(LegacyEnvError, match=r"requirements.txt:1"):
        project_requirements(tmp_path)


def test_pins_compute_schedules_with_timezones(base):
    out = json.loads(
        run_py(
            base,
            """
            import json
            from datetime import timedelta
            import pendulum
            from prefect.schedules import Schedule
            from prefect.schedules.clocks import CronClock, IntervalClock
            start = pendulum.datetime(2023, 1, 1, tz="Europe/Berlin")
            cron = Schedule(clocks=[CronClock("0 6 * * *", start_date=start)])
            interval = Schedule(clocks=[IntervalClock(timedelta(hours=12), start_date=start)])
            after = pendulum.datetime(2023, 7, 1, tz="UTC")
            print(json.dumps({
                "cron": [d.isoformat() for d in cron.next(2, after=after)],
                "interval": [d.isoformat() for d in interval.next(2, after=after)],
            }))
            """,
        )
    )
    # 06:00 Berlin is 04:00 UTC in summer (CEST); the tz survives.
    assert out["cron"] == ["2023-07-01T06:00:00+02:00", "2023-07-02T06:00:00+02:00"]
    assert out["interval"] == ["2023-07-01T12:00:00+02:00", "2023-07-02T00:00:00+02:00"]


def test_pins_serialize_a_flow(base):
    out = json.loads(
        run_py(
            base,
            """
            import json
            from prefect import Flow, Parameter, task
            from prefect.schedules import CronSchedule
            from prefect.run_configs import KubernetesRun
            @task
            def double(x):
                return 2 * x
            with Flow("s", schedule=CronSchedule("0 1 * * *"),
                      run_config=KubernetesRun(cpu_request="1")) as flow:
                double.map(Parameter("xs", default=[1, 2]))
            print(json.dumps(flow.serialize()))
            """,
        )
    )
    assert out["schedule"]["clocks"][0]["cron"] == "0 1 * * *"
    assert out["run_config"]["cpu_request"] == "1"
    assert [p["name"] for p in out["parameters"]] == ["xs"]


@pytest.mark.parametrize(
    "executor",
    [
        "LocalDaskExecutor(scheduler='threads', num_workers=2)",
        "LocalDaskExecutor(scheduler='processes', num_workers=2)",
        "DaskExecutor(cluster_kwargs={'n_workers': 1, 'threads_per_worker': 2})",
    ],
)
def test_pins_run_a_flow_with_dask(base, executor):
    out = run_py(
        base,
        f"""
        from prefect import Flow, task
        from prefect.executors import DaskExecutor, LocalDaskExecutor
        @task
        def double(x):
            return 2 * x
        @task
        def total(xs):
            return sum(xs)
        if __name__ == "__main__":
            with Flow("dask") as flow:
                result = total(double.map([1, 2, 3]))
            state = flow.run(executor={executor})
            assert state.is_successful(), state
            print(state.result[result].result)
        """,
        timeout=300,
    )
    assert out.strip().splitlines()[-1] == "12"
