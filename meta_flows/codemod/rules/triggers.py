"""PF009 triggers: task triggers become explicit state checks (§8).

Not implemented yet: this rule changes nothing.
"""

from __future__ import annotations

from meta_flows.codemod.base import Rule


class TriggersRule(Rule):
    """Task triggers become explicit state checks (§8)."""

    CODE = "PF009"
    NAME = "triggers"
    DESCRIPTION = "task triggers become explicit state checks (§8)"
    TRIGGERS = ('trigger',)


RULE = TriggersRule
