"""Which migrated function an inventoried flow is: by creation line, variable, then name."""

from meta_flows.core.codemod.analysis.flows import plan_flow_functions
from meta_flows.sandbox.inventory import _function_name

SOURCE = """\
from prefect import Flow, task

@task
def t():
    return 1

with Flow("first") as flow:
    t()

with Flow("twice") as flow:
    t()

with Flow("twice") as flow:
    t()
"""


def plans():
    return plan_flow_functions(SOURCE, "flows.example")


def test_flows_rebinding_one_variable_are_told_apart_by_their_line():
    found = {
        line: _function_name(plans(), variable, "twice", line)
        for line, variable in ((10, None), (13, "flow"))
    }
    assert found[10][0] != found[13][0]
    assert found[10][1] == 10 and found[13][1] == 13
    assert _function_name(plans(), None, "first", 7) == ("first", 7)


def test_without_a_line_the_variable_means_its_last_flow():
    # the variable names the flow it is bound to after import: the last one assigned
    assert _function_name(plans(), "flow", "twice")[1] == 13
    assert _function_name(plans(), "flow", "first")[1] == 7
    # two flows share the name and neither is bound: no guess
    assert _function_name(plans(), None, "twice") == (None, None)
