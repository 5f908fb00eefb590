"""PF011 signals: signals become exceptions and states (§10).

Not implemented yet: this rule changes nothing.
"""

from __future__ import annotations

from meta_flows.codemod.base import Rule


class SignalsRule(Rule):
    """Signals become exceptions and states (§10)."""

    CODE = "PF011"
    NAME = "signals"
    DESCRIPTION = "signals become exceptions and states (§10)"
    TRIGGERS = ('signals', 'FAIL', 'SUCCESS', 'SKIP', 'ENDRUN', 'RETRY', 'LOOP', 'PAUSE')


RULE = SignalsRule
