"""`case(x, True)` compares the result with `==` (issue #14): a task returning 2 or "yes" runs
neither the True nor the False branch; a Parameter created in a case block; merge with options."""

from prefect import Flow, Parameter, case, task
from prefect.tasks.control_flow import merge


@task
def answer():
    return 2


@task
def word():
    return "yes"


@task
def is_big(n):
    return n > 3


@task
def mark(label):
    with open(f"branch_{label}.txt", "w") as f:  # which branches ran
        f.write(label)
    return label


@task
def double(x):
    return x * 2


@task
def show(value):
    return f"value {value}"


with Flow("case-values") as flow:
    a = answer()
    with case(a, True):
        mark("answer-true")
    with case(a, False):
        mark("answer-false")
    w = word()
    with case(w, True):
        mark("word-true")
    big = is_big(a)
    with case(big, True):
        limit = Parameter("limit", default=10)
        yes = double(limit)
    with case(big, False):
        no = double(a)
    chosen = merge(yes, no, checkpoint=False)
    show(chosen)


if __name__ == "__main__":
    flow.run()
