"""The rules, in the order they run.

Each rule is one module named after the construct it rewrites, holding one :class:`Rule` subclass
with a stable code. The order matters: rules that remove statements referring to a flow variable
(``flow.run``, ``flow.storage = ...``) run before the ``with Flow`` block becomes a function; rules
that adapt ``@flow``/``@task`` options run after the definitions exist; ``PF001`` (imports and
leftovers) always runs last.
"""

from __future__ import annotations

from importlib import import_module

from meta_flows.core.codemod.base import Rule

# (code, module) in execution order.
_ORDER: tuple[tuple[str, str], ...] = (
    ("PF015", "run_register"),
    ("PF016", "deployment_config"),
    ("PF006", "task_subclass"),
    ("PF002", "flow_definition"),
    ("PF003", "parameters"),
    ("PF014", "executors"),
    ("PF012", "state_handlers"),
    ("PF009", "triggers"),
    ("PF004", "task_options"),
    ("PF005", "task_calls"),
    ("PF008", "case_merge"),
    ("PF007", "context"),
    ("PF010", "secrets"),
    ("PF011", "signals"),
    ("PF013", "task_library"),
    ("PF001", "imports"),
)


def _load() -> list[type[Rule]]:
    rules = []
    for code, module in _ORDER:
        mod = import_module(f"meta_flows.core.codemod.rules.{module}")
        cls = mod.RULE
        if cls.CODE != code:
            raise RuntimeError(f"rules/{module}.py declares {cls.CODE}, expected {code}")
        rules.append(cls)
    return rules


RULES: list[type[Rule]] = _load()
RULES_BY_CODE: dict[str, type[Rule]] = {r.CODE: r for r in RULES}


def gather_rules(disabled: frozenset[str] | set[str] = frozenset()) -> list[type[Rule]]:
    """The rules to run, in order, without the disabled codes (``{"PF008"}``)."""
    unknown = set(disabled) - set(RULES_BY_CODE)
    if unknown:
        raise ValueError(f"unknown rule code(s): {', '.join(sorted(unknown))}")
    return [r for r in RULES if r.CODE not in disabled]
