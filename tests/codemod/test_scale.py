"""The codemod's work grows linearly with the length of a flow body.

Counted, not timed: the CST nodes and Python AST nodes the codemod visits for flow bodies of 1, 2
and 3 times the same length. A rewrite that rescans the body (or the module) per statement makes
the third body cost more over the second than the second over the first;
benchmarks/codemod_scale.py measures the time.
"""

import ast

import pytest
from libcst._nodes.base import CSTNode

from meta_flows.core.codemod.engine import MIGRATED, migrate_source

HEADER = """from prefect import Flow, Parameter, case, task, unmapped
from prefect.tasks.control_flow import ifelse, merge


@task
def work(value, factor=1):
    return value


"""

# a sample of what flow bodies hold: keyword arguments, map/unmapped, upstream_tasks,
# set_upstream, case blocks joined by merge, ifelse, a consumer of a branch's output
GROUP = """\
    p{g} = Parameter("p{g}", default={g})
    a{g} = work(p{g}, factor=2)
    b{g} = work.map(a{g}, factor=unmapped(3))
    c{g} = work(b{g}, upstream_tasks=[a{g}])
    c{g}.set_upstream(p{g})
    with case(c{g}, True):
        d{g} = work(c{g})
    with case(c{g}, False):
        e{g} = work(b{g})
    m{g} = merge(d{g}, e{g})
    work(m{g})
    ifelse(a{g}, work(1), work(2))
    with case(p{g}, 1):
        f{g} = work(p{g})
    work(f{g}, factor=4)
"""


def module(groups: int) -> str:
    body = "".join(GROUP.format(g=g) for g in range(groups))
    return HEADER + 'with Flow("long") as flow:\n' + body + "\nflow.run()\n"


@pytest.fixture
def visits(monkeypatch):
    """The number of CST and Python AST nodes visited while ``migrate_source`` runs."""
    count = [0]
    cst_visit, ast_children = CSTNode.visit, ast.iter_child_nodes

    def counted_visit(self, visitor):
        count[0] += 1
        return cst_visit(self, visitor)

    def counted_children(node):
        count[0] += 1
        return ast_children(node)

    monkeypatch.setattr(CSTNode, "visit", counted_visit)
    monkeypatch.setattr(ast, "iter_child_nodes", counted_children)

    def run(source: str) -> int:
        count[0] = 0
        result = migrate_source(source, "long.py")
        assert result.status == MIGRATED, result.error
        return count[0]

    return run


def test_work_grows_linearly_with_the_flow_body(visits):
    one, two, three = (visits(module(n)) for n in (1, 2, 3))
    first, second = two - one, three - two
    assert first > 0
    # linear: each added stretch of body costs the same; a per-statement rescan of the body
    # makes the second stretch cost more (1.3x at these lengths with PF002 and PF008 rescanning)
    assert second <= first * 1.05, (one, two, three)
