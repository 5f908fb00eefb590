"""Prefect 1 deployment configuration -> Prefect 2.20 ``prefect.yaml`` deployments and work pools.

- :mod:`.translate`: an :class:`~meta_flows.core.inventory.model.Inventory` -> a :class:`~.translate.Plan`
  (deployments, work pools, blocks to create, TODOs), per MIGRATION_RULES §13-§16 and §19.
- :mod:`.kubernetes`: the Kubernetes work pool base job template with Prefect 1's resource and
  image-pull-secret settings as variables.
- :mod:`.render`: the plan as ``prefect.yaml`` and ``work-pools.yaml`` text.
- :mod:`.pools`: create or update the planned work pools on a Prefect API.
"""
