"""A team's own ``Flow`` subclass with an option of its own, used like ``Flow``."""

from prefect import Flow, Parameter, task


class TeamFlow(Flow):
    """Flows that know which team owns them."""

    def __init__(self, name, owner=None, **kwargs):
        self.owner = owner
        super().__init__(name, **kwargs)


@task
def greet(who):
    return f"hello {who}"


with TeamFlow("team-flow", owner="data") as flow:
    who = Parameter("who", default="world")
    greet(who)


if __name__ == "__main__":
    flow.run()
