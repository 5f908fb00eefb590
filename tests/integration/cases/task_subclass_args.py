"""Task subclasses made inside the flow with arguments of their own: an inline instance
(`Scale(factor=3, max_retries=1, ...)(xs)`), one bound to a name in the flow block, and a class whose
`__init__` keeps its `**kwargs` for itself (they are not Prefect options)."""

from datetime import timedelta

from prefect import Flow, Task, task


class Scale(Task):
    def __init__(self, factor=1, **kwargs):
        self.factor = factor
        super().__init__(**kwargs)

    def describe(self):
        return f"x{self.factor}"

    def run(self, values):
        return {"how": self.describe(), "values": [v * self.factor for v in values]}


class Options(Task):
    def __init__(self, *args, task_kwargs=None, **kwargs):
        self.options = dict(kwargs, positional=list(args))
        super().__init__(**(task_kwargs or {}))

    def run(self, key):
        return [self.options.get(key), self.options["positional"]]


@task
def numbers():
    return [1, 2, 3]


with Flow("task-subclass-args") as flow:
    xs = numbers()
    tripled = Scale(factor=3, max_retries=1, retry_delay=timedelta(0))(xs)
    double = Scale(factor=2)
    doubled = double(xs)
    picked = Options(7, color="red", task_kwargs={"tags": ["pick"]})("color")


if __name__ == "__main__":
    flow.run()
