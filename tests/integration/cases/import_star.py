"""``from prefect import *`` style."""

from prefect import *


@task
def letters(word):
    return list(word)


@task
def count(items):
    return len(items)


with Flow("import-star") as flow:
    word = Parameter("word", default="prefect")
    n = count(letters(word))


if __name__ == "__main__":
    flow.run()
