"""PF007 context: prefect.context becomes get_run_logger() / prefect.runtime (§6).

Not implemented yet: this rule changes nothing.
"""

from __future__ import annotations

from meta_flows.codemod.base import Rule


class ContextRule(Rule):
    """Prefect.context becomes get_run_logger() / prefect.runtime (§6)."""

    CODE = "PF007"
    NAME = "context"
    DESCRIPTION = "prefect.context becomes get_run_logger() / prefect.runtime (§6)"
    TRIGGERS = ('context',)


RULE = ContextRule
