"""PF006 task_subclass: Task subclasses and their instances become @task functions (§5).

Not implemented yet: this rule changes nothing.
"""

from __future__ import annotations

from meta_flows.codemod.base import Rule


class TaskSubclassRule(Rule):
    """Task subclasses and their instances become @task functions (§5)."""

    CODE = "PF006"
    NAME = "task-subclass"
    DESCRIPTION = "Task subclasses and their instances become @task functions (§5)"
    TRIGGERS = ('Task',)


RULE = TaskSubclassRule
