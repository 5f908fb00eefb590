"""PF015 run_register: flow.run() / flow.register() / __main__ (MIGRATION_RULES §17).

Not implemented yet: this rule changes nothing.
"""

from __future__ import annotations

from meta_flows.codemod.base import Rule


class RunRegisterRule(Rule):
    """Flow.run() / flow.register() / __main__ (MIGRATION_RULES §17)."""

    CODE = "PF015"
    NAME = "run-register"
    DESCRIPTION = "flow.run() / flow.register() / __main__ (MIGRATION_RULES §17)"
    TRIGGERS = ('run', 'register', 'visualize', 'serialize')


RULE = RunRegisterRule
