"""``import prefect`` style: every Prefect object is reached through the module."""

import datetime

import prefect


@prefect.task
def words():
    return ["alpha", "beta", "gamma"]


@prefect.task(max_retries=1, retry_delay=datetime.timedelta(seconds=0))
def decorate(word, suffix):
    return word.upper() + suffix


@prefect.task
def join(parts, sep):
    return sep.join(parts)


with prefect.Flow("import-module-style") as flow:
    sep = prefect.Parameter("sep", default="-")
    shouted = decorate.map(words(), suffix=prefect.unmapped("!"))
    joined = join(shouted, sep)


if __name__ == "__main__":
    flow.run()
