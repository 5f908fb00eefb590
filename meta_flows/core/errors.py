"""The one base of the errors meta-flows raises on purpose.

Each says what failed and where (a project's step, a file, a field), so the wave can record it as
that project's reason and carry on. They also keep the built-in base they had (``ValueError`` for
bad input, ``RuntimeError`` for a failed operation), so ``except ValueError`` still catches them.
Records of problems that are reported rather than raised are named ``...Problem``
(:class:`~meta_flows.core.registry.RegistryProblem`,
:class:`~meta_flows.core.inventory.model.InventoryProblem`).
"""

from __future__ import annotations


class MetaFlowsError(Exception):
    """Something meta-flows was asked to do failed; the message names what and where."""


class StepError(MetaFlowsError, RuntimeError):
    """A step of one project failed; the message says which step and why."""
