"""PF003 parameters: Parameter(...) becomes a typed flow function argument (§2.2).

Not implemented yet: this rule changes nothing.
"""

from __future__ import annotations

from meta_flows.codemod.base import Rule


class ParametersRule(Rule):
    """Parameter(...) becomes a typed flow function argument (§2.2)."""

    CODE = "PF003"
    NAME = "parameters"
    DESCRIPTION = "Parameter(...) becomes a typed flow function argument (§2.2)"
    TRIGGERS = ('Parameter',)


RULE = ParametersRule
