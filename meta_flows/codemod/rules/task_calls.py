"""PF005 task_calls: task call conventions: upstream_tasks, set_upstream, task_args, flatten, apply_map (§4).

Not implemented yet: this rule changes nothing.
"""

from __future__ import annotations

from meta_flows.codemod.base import Rule


class TaskCallsRule(Rule):
    """Task call conventions: upstream_tasks, set_upstream, task_args, flatten, apply_map (§4)."""

    CODE = "PF005"
    NAME = "task-calls"
    DESCRIPTION = "task call conventions: upstream_tasks, set_upstream, task_args, flatten, apply_map (§4)"
    TRIGGERS = ('upstream', 'downstream', 'task_args', 'flatten', 'apply_map', 'set_dependencies', 'add_edge')


RULE = TaskCallsRule
