"""The rules' metadata: the same answers as LibCST's own providers, with less work."""

import gc
from pathlib import Path

import libcst as cst
import libcst.matchers as m
import pytest
from libcst.codemod import CodemodContext
from libcst.codemod.visitors import RemoveImportsVisitor
from libcst.metadata import (
    ExpressionContextProvider,
    MetadataWrapper,
    ParentNodeProvider,
    PositionProvider,
    QualifiedNameProvider,
    ScopeProvider,
)

from meta_flows.core.codemod.base import Rule
from meta_flows.core.codemod.metadata import SharedMetadataWrapper, nodes_unique, transform_with

CASES = Path(__file__).resolve().parents[1] / "integration" / "cases"

SOURCES = [
    "from prefect import Flow, task\nimport prefect as p\n\n@task\ndef t(x: 'List[int]'):\n"
    "    return p.context.get('a')\n\nwith Flow('x') as flow:\n    t.map([1], y=lambda q: q)\n",
    "from prefect import *\nclass MyFlow(Flow):\n    def run(self, *a, **k):\n"
    "        return [i for i in a if i]\n\nf = MyFlow('x')\n",
    *sorted(p.read_text() for p in CASES.rglob("*.py"))[:6],
]


def all_nodes(module: cst.Module) -> list[cst.CSTNode]:
    found: list[cst.CSTNode] = []

    class Collect(cst.CSTVisitor):
        def on_visit(self, node: cst.CSTNode) -> bool:
            found.append(node)
            return True

    module.visit(Collect())
    return found


def resolved(value):
    return value() if callable(value) else value


@pytest.mark.parametrize("source", SOURCES)
def test_qualified_names_match_libcst_for_every_node(source):
    module = cst.parse_module(source)
    ours = SharedMetadataWrapper(module).resolve(QualifiedNameProvider)
    theirs = MetadataWrapper(module, unsafe_skip_copy=True).resolve(QualifiedNameProvider)
    nodes = all_nodes(module)
    assert len(nodes) > 20
    for node in nodes:
        assert resolved(ours[node]) == resolved(theirs[node]), type(node).__name__
        assert resolved(ours.get(node, set())) == resolved(theirs.get(node, set()))
        assert resolved(ours.get(node, "default")) == resolved(theirs.get(node, "default"))
    stranger = cst.Name("Flow")  # a node a rule just built: not in the module
    assert ours.get(stranger, set()) == set() == theirs.get(stranger, set())
    assert ours.get(stranger, "default") == "default"
    with pytest.raises(KeyError):
        ours[stranger]
    assert len(ours) == len(theirs)


@pytest.mark.parametrize("source", SOURCES)
@pytest.mark.parametrize(
    "provider", [ExpressionContextProvider, ParentNodeProvider, PositionProvider, ScopeProvider]
)
def test_other_providers_hold_what_libcst_computes(source, provider):
    module = cst.parse_module(source)
    ours = SharedMetadataWrapper(module).resolve(provider)
    theirs = MetadataWrapper(module, unsafe_skip_copy=True).resolve(provider)
    # (the scope analysis also maps nodes it parses out of string annotations, new each time)
    assert len(ours) == len(theirs)
    for node in all_nodes(module):
        assert (node in ours) == (node in theirs)
        if node not in ours:
            continue
        if provider is ScopeProvider:  # scopes are objects: compare what they hold
            assert type(ours[node]) is type(theirs[node])
            assert sorted(ours[node]._assignments) == sorted(theirs[node]._assignments)
        else:
            assert ours[node] == theirs[node]


def test_module_is_copied_only_when_a_node_occurs_twice():
    module = cst.parse_module("x = 1\ny = 2\n")
    assert nodes_unique(module)
    assert SharedMetadataWrapper(module).module is module
    twice = module.with_changes(body=[module.body[0], module.body[0]])
    assert not nodes_unique(twice)
    wrapper = SharedMetadataWrapper(twice)
    assert wrapper.module is not twice
    assert wrapper.module.code == twice.code
    assert nodes_unique(wrapper.module)
    shared_leaf = cst.Name("a")
    call = cst.parse_expression("f(a, a)").with_changes(
        args=[cst.Arg(shared_leaf), cst.Arg(shared_leaf)]
    )
    assert not nodes_unique(cst.Module(body=[cst.SimpleStatementLine([cst.Expr(call)])]))


def test_transform_with_reuses_the_wrapper_and_matches_libcst():
    source = "import os\nfrom prefect import Flow, task\n\n@task\ndef t():\n    return 1\n"
    module = cst.parse_module(source)
    results = []
    for reuse in (True, False):
        context = CodemodContext(full_module_name="m")
        RemoveImportsVisitor.remove_unused_import(context, "prefect", "Flow")
        RemoveImportsVisitor.remove_unused_import(context, "os")
        visitor = RemoveImportsVisitor(context)
        if reuse:
            wrapper = SharedMetadataWrapper(module)
            wrapper.resolve(ScopeProvider)
            results.append(transform_with(visitor, wrapper).code)
        else:
            results.append(visitor.transform_module(module).code)
    assert results[0] == results[1] == "from prefect import task\n\n@task\ndef t():\n    return 1\n"


class _Decorated(m.MatcherDecoratableTransformer):
    """Renames names only inside calls of ``f``: needs LibCST's matcher bookkeeping."""

    @m.call_if_inside(m.Call(func=m.Name("f")))
    def leave_Name(self, original_node, updated_node):
        return updated_node.with_changes(value=updated_node.value.upper())


class _Plain(m.MatcherDecoratableTransformer):
    def leave_Name(self, original_node, updated_node):
        return updated_node.with_changes(value=updated_node.value + "_")


def test_matcher_decorated_visitors_keep_their_bookkeeping():
    module = cst.parse_module("f(a)\ng(b)\n")
    assert module.visit(_Decorated()).code == "F(A)\ng(b)\n"
    assert module.visit(_Plain()).code == "f_(a_)\ng_(b_)\n"


def test_new_node_id_is_not_reused_by_a_later_node():
    """A freed node's id goes to the next node made (CPython): ``new_node_id`` prevents it."""
    rule = Rule(CodemodContext())
    key = rule.new_node_id(cst.Name("made_and_dropped"))
    gc.collect()
    later = [cst.Name(f"n{i}") for i in range(1000)]
    assert key not in {id(node) for node in later}
