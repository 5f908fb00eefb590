"""PF010 secrets: PrefectSecret / Secret / EnvVarSecret become Secret blocks and os.environ (§9).

Not implemented yet: this rule changes nothing.
"""

from __future__ import annotations

from meta_flows.codemod.base import Rule


class SecretsRule(Rule):
    """PrefectSecret / Secret / EnvVarSecret become Secret blocks and os.environ (§9)."""

    CODE = "PF010"
    NAME = "secrets"
    DESCRIPTION = "PrefectSecret / Secret / EnvVarSecret become Secret blocks and os.environ (§9)"
    TRIGGERS = ('Secret',)


RULE = SecretsRule
