"""PF012 state_handlers: state handlers become on_failure/on_completion hooks (§11).

Not implemented yet: this rule changes nothing.
"""

from __future__ import annotations

from meta_flows.codemod.base import Rule


class StateHandlersRule(Rule):
    """State handlers become on_failure/on_completion hooks (§11)."""

    CODE = "PF012"
    NAME = "state-handlers"
    DESCRIPTION = "state handlers become on_failure/on_completion hooks (§11)"
    TRIGGERS = ('state_handlers', 'on_failure')


RULE = StateHandlersRule
