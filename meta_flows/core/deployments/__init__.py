"""Prefect 1 deployment configuration -> Prefect 2.20 ``prefect.yaml`` deployments and work pools.

- :mod:`.translate`: an :class:`~meta_flows.core.inventory.model.Inventory` -> a
  :class:`~.plan.Plan` (deployments, work pools, blocks to create, TODOs), per docs/spec.md
  §13-§16 and §19, with :mod:`.schedules` (§16), :mod:`.storage` (§14) and :mod:`.run_configs`
  (§15) doing one part each.
- :mod:`.kubernetes`: the Kubernetes work pool base job template with Prefect 1's resource and
  image-pull-secret settings as variables.
- :mod:`.render`: the plan as ``prefect.yaml`` and ``work-pools.yaml`` text.

Creating the pools on an API is an adapter's job: :mod:`meta_flows.adapters.prefect2.work_pools`.
"""
