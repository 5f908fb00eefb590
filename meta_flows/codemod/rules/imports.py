"""PF001 imports: Prefect imports: new paths, unused ones removed, Prefect 1-only ones flagged (§1).

Not implemented yet: this rule changes nothing.
"""

from __future__ import annotations

from meta_flows.codemod.base import Rule


class ImportsRule(Rule):
    """Prefect imports: new paths, unused ones removed, Prefect 1-only ones flagged (§1)."""

    CODE = "PF001"
    NAME = "imports"
    DESCRIPTION = "Prefect imports: new paths, unused ones removed, Prefect 1-only ones flagged (§1)"
    TRIGGERS = ()


RULE = ImportsRule
