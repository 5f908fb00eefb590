"""A plain ``Task`` subclass that only overrides ``run``."""

from prefect import Flow, Task


class AddTen(Task):
    def run(self, x):
        return x + 10


class Describe(Task):
    def run(self, value, label="value"):
        return {label: value}


add_ten = AddTen()
describe = Describe(name="describe")


with Flow("task-subclass-run-only") as flow:
    bigger = add_ten(5)
    described = describe(bigger, label="result")


if __name__ == "__main__":
    flow.run()
