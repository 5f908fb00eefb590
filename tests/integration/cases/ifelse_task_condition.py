"""``ifelse`` whose condition is a task given uncalled: Prefect 1 runs it (issue #14)."""

from prefect import Flow, task
from prefect.tasks.control_flow import ifelse


@task
def is_holiday():
    return False


@task
def holiday_job():
    return "holiday"


@task
def workday_job():
    return "workday"


with Flow("ifelse-task-condition") as flow:
    on_holiday = holiday_job()
    on_workday = workday_job()
    ifelse(is_holiday, on_holiday, on_workday)


if __name__ == "__main__":
    flow.run()
