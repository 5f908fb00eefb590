"""Storage, run config and schedule passed as ``Flow`` kwargs."""

import datetime

import pendulum
from prefect import Flow, task
from prefect.run_configs import LocalRun
from prefect.schedules import Schedule
from prefect.schedules.clocks import CronClock
from prefect.storage import GitHub


@task
def ping():
    return "pong"


with Flow(
    "deployment-kwargs",
    storage=GitHub(repo="acme/etl", path="flows/deployment_kwargs.py", ref="main"),
    run_config=LocalRun(env={"STAGE": "dev"}, labels=["dev"]),
    schedule=Schedule(
        clocks=[CronClock("0 6 * * *", start_date=pendulum.datetime(2024, 1, 1, tz="Europe/Berlin"))]
    ),
) as flow:
    answer = ping()

ONE_DAY = datetime.timedelta(days=1)


if __name__ == "__main__":
    flow.run(run_on_schedule=False)
