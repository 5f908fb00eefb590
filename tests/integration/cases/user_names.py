"""A module with names of its own called `task` and `flow` (Prefect 2's decorators' names)."""

import prefect
from prefect import Flow, Parameter, Task


def load_config():
    return {"factor": 3, "label": "scaled"}


task = load_config()
flow = task["label"]


class Scale(Task):
    def run(self, x):
        return x * task["factor"]


scale = Scale()


@prefect.task
def describe(value):
    return f"{flow}: {value}"


with Flow("user-names") as user_flow:
    n = Parameter("n", default=2)
    describe(scale(n))


if __name__ == "__main__":
    user_flow.run()
