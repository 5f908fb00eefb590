"""Every rule has a stable unique code, its own module and tests, and a row in the rules reference."""

import re
from pathlib import Path

from meta_flows.core.codemod.rules import RULES

ROOT = Path(__file__).resolve().parents[1]


def test_codes_are_unique_and_well_formed():
    codes = [r.CODE for r in RULES]
    assert len(codes) == len(set(codes))
    assert all(re.fullmatch(r"PF\d{3}", c) for c in codes)


def test_each_rule_has_a_test_module_and_a_reference_row():
    reference = (ROOT / "docs" / "rules.md").read_text()
    for rule in RULES:
        module = rule.__module__.rsplit(".", 1)[-1]
        assert (ROOT / "tests" / "codemod" / f"test_{module}.py").exists(), module
        assert re.search(
            rf"\| \[{rule.CODE}\]\(#{rule.CODE.lower()}\) \| `{rule.NAME}` \|", reference
        ), rule.CODE
        assert rule.__doc__ and rule.DESCRIPTION, rule.CODE


def test_ci_runs_the_readme_test_command():
    readme = (ROOT / "README.md").read_text()
    blocks = re.findall(r"```bash\n(.*?)\n```", readme, re.S)
    assert len(blocks) >= 2
    test_command = blocks[1].strip()
    assert test_command in (ROOT / ".ci" / "run").read_text()
