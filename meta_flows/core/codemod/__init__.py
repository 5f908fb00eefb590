"""The Prefect 1 -> Prefect 2 codemod (LibCST): one rule per module under ``rules/``."""

from meta_flows.core.codemod.engine import MigrationResult, migrate_source
from meta_flows.core.codemod.rules import RULES, gather_rules

__all__ = ["RULES", "MigrationResult", "gather_rules", "migrate_source"]
