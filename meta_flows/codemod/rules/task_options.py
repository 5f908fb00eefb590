"""PF004 task_options: @task / Task(...) options are renamed for Prefect 2 (§3).

Not implemented yet: this rule changes nothing.
"""

from __future__ import annotations

from meta_flows.codemod.base import Rule


class TaskOptionsRule(Rule):
    """@task / Task(...) options are renamed for Prefect 2 (§3)."""

    CODE = "PF004"
    NAME = "task-options"
    DESCRIPTION = "@task / Task(...) options are renamed for Prefect 2 (§3)"
    TRIGGERS = ('task', 'Task')


RULE = TaskOptionsRule
