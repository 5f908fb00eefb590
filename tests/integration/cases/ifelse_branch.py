"""``ifelse``: run one of two tasks depending on a boolean task result."""

from prefect import Flow, task
from prefect.tasks.control_flow import ifelse, merge


@task
def weekday_flag():
    return True


@task
def weekday_job():
    return "weekday"


@task
def weekend_job():
    return "weekend"


@task
def announce(label):
    return f"ran the {label} job"


with Flow("ifelse-branch") as flow:
    flag = weekday_flag()
    on_weekday = weekday_job()
    on_weekend = weekend_job()
    ifelse(flag, on_weekday, on_weekend)
    message = announce(merge(on_weekday, on_weekend))


if __name__ == "__main__":
    flow.run()
