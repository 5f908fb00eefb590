"""PF008 case_merge: case/merge/ifelse/switch become if/elif (§7).

Not implemented yet: this rule changes nothing.
"""

from __future__ import annotations

from meta_flows.codemod.base import Rule


class CaseMergeRule(Rule):
    """Case/merge/ifelse/switch become if/elif (§7)."""

    CODE = "PF008"
    NAME = "case-merge"
    DESCRIPTION = "case/merge/ifelse/switch become if/elif (§7)"
    TRIGGERS = ('case', 'merge', 'ifelse', 'switch')


RULE = CaseMergeRule
