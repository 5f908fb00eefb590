"""PF013 task_library: prefect.tasks.* library tasks become the integration packages (§12).

Not implemented yet: this rule changes nothing.
"""

from __future__ import annotations

from meta_flows.codemod.base import Rule


class TaskLibraryRule(Rule):
    """Prefect.tasks.* library tasks become the integration packages (§12)."""

    CODE = "PF013"
    NAME = "task-library"
    DESCRIPTION = "prefect.tasks.* library tasks become the integration packages (§12)"
    TRIGGERS = ('prefect.tasks', 'StartFlowRun', 'create_flow_run')


RULE = TaskLibraryRule
