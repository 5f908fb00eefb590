"""The rule base: name resolution through imports, TODO comments, commenting out."""

import libcst as cst

from meta_flows.core.codemod.base import Rule, todo_text
from meta_flows.core.codemod.testing import apply_rule


class FlagFlows(Rule):
    """Flags every statement that calls prefect.Flow; comments out `signals.PAUSE` raises."""

    CODE = "PF999"
    NAME = "test"

    def visit_Call(self, node: cst.Call) -> None:
        if self.is_prefect(node.func, "prefect.Flow"):
            self.add_todo("found a Flow")

    def leave_SimpleStatementLine(self, original_node, updated_node):
        stmt = updated_node.body[0]
        if isinstance(stmt, cst.Raise) and self.is_prefect(
            original_node.body[0].exc, "prefect.engine.signals.PAUSE"
        ):
            return self.comment_out(updated_node, "pause by hand")
        return updated_node


TODO = todo_text("PF999", "found a Flow")


def test_resolves_plain_alias_module_and_star_imports():
    for src, after in (
        (
            "from prefect import Flow\nf = Flow('x')\n",
            f"from prefect import Flow\n{TODO}\nf = Flow('x')\n",
        ),
        (
            "from prefect import Flow as F\nf = F('x')\n",
            f"from prefect import Flow as F\n{TODO}\nf = F('x')\n",
        ),
        (
            "import prefect\nf = prefect.Flow('x')\n",
            f"import prefect\n{TODO}\nf = prefect.Flow('x')\n",
        ),
        (
            "import prefect as p\nf = p.Flow('x')\n",
            f"import prefect as p\n{TODO}\nf = p.Flow('x')\n",
        ),
        (
            "from prefect.core.flow import Flow\nf = Flow('x')\n",
            f"from prefect.core.flow import Flow\n{TODO}\nf = Flow('x')\n",
        ),
        (
            "from prefect import *\nf = Flow('x')\n",
            f"from prefect import *\n{TODO}\nf = Flow('x')\n",
        ),
    ):
        out = apply_rule(FlagFlows, src)
        assert TODO in out, src
        assert out.splitlines()[-2] == TODO and out.splitlines()[-1] == "f = Flow('x')".replace(
            "Flow", src.split("f = ")[1].split("(")[0]
        )
        assert out == after, src


def test_does_not_touch_other_libraries_or_shadowed_names():
    for src in (
        "from metaflow import Flow\nf = Flow('x')\n",
        "class Flow: pass\nf = Flow('x')\n",
        "from prefect import *\nclass Flow: pass\nf = Flow('x')\n",
    ):
        assert apply_rule(FlagFlows, src) == src


def test_wrapper_defined_in_same_module_is_followed():
    src = "from prefect import Flow\nclass MyFlow(Flow):\n    pass\nf = MyFlow('x')\n"
    assert TODO in apply_rule(FlagFlows, src)
    assert apply_rule(FlagFlows, src) == (
        f"from prefect import Flow\nclass MyFlow(Flow):\n    pass\n{TODO}\nf = MyFlow('x')\n"
    )


def test_todo_is_indented_and_idempotent():
    src = "from prefect import Flow\ndef make():\n    # keep me\n    return Flow('x')\n"
    once = apply_rule(FlagFlows, src)
    assert once == (
        "from prefect import Flow\ndef make():\n    # keep me\n    "
        + TODO
        + "\n    return Flow('x')\n"
    )
    assert apply_rule(FlagFlows, once) == once


def test_comment_out_keeps_code_and_block_valid():
    src = "from prefect.engine import signals\ndef t():\n    raise signals.PAUSE('wait')\n"
    out = apply_rule(FlagFlows, src)
    assert "    # raise signals.PAUSE('wait')\n    pass\n" in out
    assert todo_text("PF999", "pause by hand") in out
    compile(out, "x", "exec")
    assert apply_rule(FlagFlows, out) == out
    assert out == (
        "from prefect.engine import signals\ndef t():\n"
        f"    {todo_text('PF999', 'pause by hand')}\n"
        "    # raise signals.PAUSE('wait')\n    pass\n"
    )


class CommentOutWiths(Rule):
    """Flags every Flow call; comments out every ``with`` block (after its body was flagged)."""

    CODE = "PF998"
    NAME = "test"

    def visit_Call(self, node: cst.Call) -> None:
        if self.is_prefect(node.func, "prefect.Flow"):
            self.add_todo("found a Flow")

    def leave_With(self, original_node, updated_node):
        return self.comment_out(updated_node, "rewrite the block by hand")


def test_placeholder_pass_only_where_python_needs_a_statement():
    src = (
        "from prefect import Flow\n"
        "with open('x') as fh:\n    Flow('x')\n"
        "def f():\n    with open('y'):\n        pass\n    return 1\n"
        "def g():\n    with open('z'):\n        pass\n"
    )
    out = apply_rule(CommentOutWiths, src)
    block = todo_text("PF998", "rewrite the block by hand")
    assert out == (
        "from prefect import Flow\n"
        f"{block}\n# with open('x') as fh:\n#     Flow('x')\n"  # no TODO inside the comments
        f"def f():\n    {block}\n    # with open('y'):\n    #     pass\n    return 1\n"
        f"def g():\n    {block}\n    # with open('z'):\n    #     pass\n    pass\n"  # g needs one
    )
    compile(out, "x", "exec")
    assert apply_rule(CommentOutWiths, out) == out


def test_find_todos_skips_todos_quoted_in_commented_out_code():
    from meta_flows.core.codemod.engine import count_root_causes, find_todos, root_cause

    code = (
        "# TODO(prefect2-migration): PF001 `case` (used at lines 3, 4) has no equivalent\n"
        "x = 1\n"
        "# # TODO(prefect2-migration): PF005 set_upstream() does not exist\n"
        "    # TODO(prefect2-migration): PF005 set_upstream() does not exist in Prefect 2: x\n"
        "# TODO(prefect2-migration): PF005 set_upstream() does not exist in Prefect 2: y\n"
        "# TODO(prefect2-migration): PF008 `case` is used outside a @flow function\n"
        "s = '# TODO(prefect2-migration): PF001 not a comment'\n"
    )
    todos = find_todos(code)
    assert [t.line for t in todos] == [1, 4, 5, 6]
    assert [root_cause(t) for t in todos] == [
        ("PF001", "case"),
        ("PF005", "set_upstream() does not exist in Prefect #"),
        ("PF005", "set_upstream() does not exist in Prefect #"),
        ("PF008", "case"),
    ]
    assert count_root_causes(todos) == 3


def test_line_marks_name_the_lines_using_the_module_level_name():
    from meta_flows.core.codemod.stubs import lines_of, resolve_line_marks, same_todo

    code = (
        f"# TODO(prefect2-migration): PF001 `case` used at {lines_of('case')}\n"
        "case = object()\n"
        "x = case\n"
        "def f(case):\n"
        "    return case\n"
        "def g():\n"
        "    return case, prefect.Client\n"
        "y = lambda: case\n"
        "class C:\n"
        "    z = case\n"
        f"# TODO(prefect2-migration): PF001 `prefect.Client` at {lines_of('prefect.Client')}\n"
        f"# TODO(prefect2-migration): PF001 `gone` used at {lines_of('gone')}\n"
        f"label = '{lines_of('case')}'\n"
    )
    out = resolve_line_marks(code)
    lines = out.splitlines()
    assert lines[0].endswith("used at lines 3, 7, 8, 10")  # not f's own parameter
    assert lines[10].endswith("at line 7")
    assert lines[11].endswith("used at no line")
    assert lines[12] == "label = '<lines of case>'"  # only comments are rewritten
    assert same_todo(lines[0], code.splitlines()[0])
    assert not same_todo(lines[0], lines[10])
