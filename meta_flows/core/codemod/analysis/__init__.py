"""The shared static analysis of Prefect 1 flows (LibCST), used by the rules and the inventory.

- :mod:`.scope`: what names refer to, where they are bound and read, task calls;
- :mod:`.uses`: how a flow variable is used (``flow.run()``, ``flow.storage = ...``, ...);
- :mod:`.graph`: the task order of a flow built with the imperative API;
- :mod:`.flows`: where a module's flows are and the ``@flow`` function each becomes.
"""
