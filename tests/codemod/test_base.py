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
