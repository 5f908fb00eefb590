"""Storage, run config, schedule and executor set by assignment after the ``with Flow`` block."""

import datetime

import pendulum
from prefect import Flow, task
from prefect.executors import LocalDaskExecutor
from prefect.run_configs import KubernetesRun
from prefect.schedules import Schedule
from prefect.schedules.clocks import IntervalClock
from prefect.storage import Local


@task
def hello():
    return "hello"


with Flow("deployment-assignments") as flow:
    greeting = hello()

flow.storage = Local(path="/srv/flows/deployment_assignments.py", stored_as_script=True, validate=False)
flow.run_config = KubernetesRun(image="acme/etl:1.0", env={"STAGE": "prod"}, cpu_request="500m")
flow.schedule = Schedule(
    clocks=[IntervalClock(datetime.timedelta(hours=2), start_date=pendulum.datetime(2024, 1, 1))]
)
flow.executor = LocalDaskExecutor()


if __name__ == "__main__":
    flow.run(run_on_schedule=False)
