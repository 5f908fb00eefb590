"""PF014 executors: executors become task runners (§13).

Not implemented yet: this rule changes nothing.
"""

from __future__ import annotations

from meta_flows.codemod.base import Rule


class ExecutorsRule(Rule):
    """Executors become task runners (§13)."""

    CODE = "PF014"
    NAME = "executors"
    DESCRIPTION = "executors become task runners (§13)"
    TRIGGERS = ('Executor',)


RULE = ExecutorsRule
