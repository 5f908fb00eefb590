"""Signals: ``FAIL`` handled by a downstream trigger, ``SKIP`` and ``SUCCESS``."""

from prefect import Flow, task
from prefect.engine import signals
from prefect.triggers import any_failed


@task
def validate(rows):
    if len(rows) < 5:
        raise signals.FAIL(f"only {len(rows)} rows")
    return rows


@task(trigger=any_failed)
def report_failure():
    return "validation failed"


@task
def optional_step(enabled):
    if not enabled:
        raise signals.SKIP("optional step disabled")
    return "optional ran"


@task
def quick_exit():
    raise signals.SUCCESS("nothing to do")


with Flow("signals") as flow:
    checked = validate([1, 2, 3])
    failure_note = report_failure(upstream_tasks=[checked])
    skipped = optional_step(False)
    done = quick_exit()


if __name__ == "__main__":
    flow.run()
