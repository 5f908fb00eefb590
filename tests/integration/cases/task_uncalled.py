"""Tasks given uncalled (issue #14): Prefect 1 bound each into the flow, ran it once and passed
its result."""

from prefect import Flow, task


@task
def numbers():
    with open("numbers_runs.txt", "a") as f:  # how often it ran
        f.write("ran\n")
    return [1, 2, 3]


@task
def marker():
    with open("marker.txt", "w") as f:
        f.write("marker ran\n")
    return "m"


@task
def double(x):
    return x * 2


@task
def total(xs, extra):
    return sum(xs) + len(extra)


@task
def report(value):
    return f"report {value}"


with Flow("task-uncalled") as flow:
    doubled = double.map(numbers)  # mapped over the result of `numbers`
    summed = total(doubled, numbers)  # the same run of `numbers`
    # marker ran before report (and only because it was an upstream task)
    report(summed, upstream_tasks=[marker])


if __name__ == "__main__":
    flow.run()
