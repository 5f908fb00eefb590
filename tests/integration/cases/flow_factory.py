"""A flow built inside a factory function without arguments."""

from prefect import Flow, task


@task
def seed():
    return 7


@task
def triple(x):
    return 3 * x


def build_flow():
    with Flow("flow-factory") as flow:
        tripled = triple(seed())
    return flow


flow = build_flow()


if __name__ == "__main__":
    flow.run()
