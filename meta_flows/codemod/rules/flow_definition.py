"""PF002 flow_definition: `with Flow(...)` blocks and the functional API become @flow functions (§2.1).

Not implemented yet: this rule changes nothing.
"""

from __future__ import annotations

from meta_flows.codemod.base import Rule


class FlowDefinitionRule(Rule):
    """`with Flow(...)` blocks and the functional API become @flow functions (§2.1)."""

    CODE = "PF002"
    NAME = "flow-definition"
    DESCRIPTION = "`with Flow(...)` blocks and the functional API become @flow functions (§2.1)"
    TRIGGERS = ('Flow',)


RULE = FlowDefinitionRule
