"""PF016 deployment_config: storage, run_config and schedule leave the code for prefect.yaml (§2.1, §13-16).

Not implemented yet: this rule changes nothing.
"""

from __future__ import annotations

from meta_flows.codemod.base import Rule


class DeploymentConfigRule(Rule):
    """Storage, run_config and schedule leave the code for prefect.yaml (§2.1, §13-16)."""

    CODE = "PF016"
    NAME = "deployment-config"
    DESCRIPTION = "storage, run_config and schedule leave the code for prefect.yaml (§2.1, §13-16)"
    TRIGGERS = ('storage', 'run_config', 'schedule', 'executor')


RULE = DeploymentConfigRule
