"""LOOP in a task with retries: an iteration fails once, the retry resumes that iteration."""

import datetime

import prefect
from prefect import Flow, task
from prefect.engine.signals import LOOP


@task(max_retries=1, retry_delay=datetime.timedelta(seconds=0))
def count_up(stop, path="iterations.txt"):
    # every run of the body is counted in a file: a retry that started the loop over would run
    # iterations 1 and 2 again
    try:
        with open(path) as fh:
            runs = int(fh.read())
    except FileNotFoundError:
        runs = 0
    with open(path, "w") as fh:
        fh.write(str(runs + 1))
    total = prefect.context.get("task_loop_result", 0)
    if runs == 2:
        raise RuntimeError("the third iteration fails once")
    if total < stop:
        raise LOOP(message=f"total {total}", result=total + 1)
    return {"total": total, "body_runs": runs + 1}


with Flow("loop-retry") as flow:
    count_up(4)


if __name__ == "__main__":
    flow.run()
