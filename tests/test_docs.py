"""The documentation says what the code does: generated references are current, every cited
section of the migration spec exists, every link resolves, and nothing cites outside the project."""

from __future__ import annotations

import re
from pathlib import Path

import click
import pytest
import typer

from meta_flows.cli import app
from meta_flows.core.codemod import reference
from meta_flows.core.codemod.rules import RULES

ROOT = Path(__file__).resolve().parents[1]
DOCS = ROOT / "docs"
SECTION = re.compile(r"§\s?(\d+(?:\.\d+)?)")
# Where a reader meets a § citation: code, TODO messages and reports, and the docs themselves.
CITING = [
    *sorted((ROOT / "meta_flows").rglob("*.py")),
    *sorted(DOCS.glob("*.md")),
    ROOT / "README.md",
    *sorted((ROOT / "examples").rglob("*.md")),
    ROOT / "flows_registry" / "README.md",
]
PROSE = [ROOT / "README.md", ROOT / "CHANGELOG.md", *sorted(DOCS.glob("*.md"))]


def test_rules_reference_is_current():
    assert (DOCS / "rules.md").read_text() == reference.render(), (
        "docs/rules.md is stale: python -m meta_flows.core.codemod.reference > docs/rules.md"
    )


def test_every_rule_is_documented_with_before_and_after_code():
    text = (DOCS / "rules.md").read_text()
    sections = re.split(r"^## ", text, flags=re.M)[1:]
    documented = {s.split("\n", 1)[0].strip(): s for s in sections}
    assert set(documented) == {rule.CODE for rule in RULES}
    for code, body in documented.items():
        assert body.count("```python") >= 1, f"{code} has no code example"


def _anchors() -> set[str]:
    return set(re.findall(r'<a id="([^"]+)"></a>', (DOCS / "spec.md").read_text()))


def test_every_cited_section_exists_in_the_spec():
    anchors = _anchors()
    assert "legend" in anchors
    missing = []
    for path in CITING:
        for number in SECTION.findall(path.read_text()):
            if "s" + number.replace(".", "-") not in anchors:
                missing.append(f"{path.relative_to(ROOT)}: §{number}")
    assert missing == []


def test_nothing_cites_outside_the_repository():
    outside = re.compile(r"MIGRATION_(RULES|CATALOG)|\.\./shared|/work/")
    found = [
        str(p.relative_to(ROOT))
        for p in CITING + PROSE + sorted((ROOT / "tests").rglob("*.py"))
        if p != Path(__file__) and outside.search(p.read_text())
    ]
    assert found == []


@pytest.mark.parametrize("path", PROSE, ids=lambda p: p.name)
def test_relative_links_resolve(path):
    anchors = _anchors()
    for target in re.findall(r"\]\(([^)\s]+)\)", path.read_text()):
        if "://" in target or target.startswith("#"):
            continue
        file, _, anchor = target.partition("#")
        resolved = (path.parent / file).resolve()
        assert resolved.exists(), f"{path.name}: {target}"
        if anchor and resolved == (DOCS / "spec.md").resolve():
            assert anchor in anchors, f"{path.name}: {target}"


def test_readme_is_a_users_page():
    text = (ROOT / "README.md").read_text()
    assert len(text.split()) < 1500
    assert not re.search(r"\bstops? \d+\b", text)
    # the two commands come first, and CI runs the second one exactly
    commands = re.findall(r"```bash\n(.+?)\n```", text)[:2]
    assert commands[0].endswith("meta-flows demo")
    assert commands[1] in (ROOT / ".ci" / "run").read_text()


def _commands(group: click.Group, prefix: str = "meta-flows"):
    for name, command in group.commands.items():
        yield f"{prefix} {name}", command
        if isinstance(command, click.Group):
            yield from _commands(command, f"{prefix} {name}")


def test_cli_reference_lists_every_command_and_option():
    text = (DOCS / "cli.md").read_text()
    root = typer.main.get_command(app)
    for path, command in _commands(root):
        assert f"`{path}`" in text, path
        for param in command.params:
            for opt in getattr(param, "opts", []):
                if opt.startswith("--"):
                    assert re.search(re.escape(opt) + r"\b", text), f"{path} {opt}"
