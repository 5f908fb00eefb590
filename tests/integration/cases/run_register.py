"""``flow.run`` with parameters under the ``__main__`` guard; ``flow.register`` inside a function."""

import sys

from prefect import Flow, Parameter, task


@task
def double(n):
    return n * 2


with Flow("run-register") as flow:
    n = Parameter("n", default=2)
    doubled = double(n)


def register():
    flow.register(project_name="meta-flows-demo", labels=["local"])


if __name__ == "__main__":
    if "--register" in sys.argv:
        register()
    else:
        flow.run(parameters={"n": 5})
