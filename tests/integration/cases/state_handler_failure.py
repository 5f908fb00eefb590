"""State handlers: a task failure handler writing a file; the flow fails by design."""

import json

from prefect import Flow, task


def record_failure(task_obj, old_state, new_state):
    if new_state.is_failed():
        with open("failure_record.json", "w") as fh:
            json.dump({"task": task_obj.name, "message": str(new_state.message)}, fh)
    return new_state


def flow_finished(flow_obj, old_state, new_state):
    if new_state.is_failed():
        with open("flow_failed.txt", "w") as fh:
            fh.write(flow_obj.name)
    return new_state


@task(state_handlers=[record_failure])
def divide(a, b):
    return a / b


with Flow("state-handler-failure", state_handlers=[flow_finished]) as flow:
    quotient = divide(1, 0)


if __name__ == "__main__":
    flow.run()
