"""A ``Task`` subclass whose ``__init__`` stores kwargs, with ``defaults_from_attrs`` on ``run``."""

import datetime

from prefect import Flow, Task
from prefect.utilities.tasks import defaults_from_attrs


class Repeat(Task):
    def __init__(self, word="hello", times=2, **kwargs):
        self.word = word
        self.times = times
        super().__init__(**kwargs)

    @defaults_from_attrs("word", "times")
    def run(self, word=None, times=None):
        return " ".join([word] * times)


repeat_hi = Repeat(word="hi", times=3, max_retries=2, retry_delay=datetime.timedelta(seconds=1))
repeat_default = Repeat(name="repeat-default")


with Flow("task-subclass-init") as flow:
    greeting = repeat_hi()
    shouted = repeat_hi(word="hey")
    plain = repeat_default()


if __name__ == "__main__":
    flow.run()
