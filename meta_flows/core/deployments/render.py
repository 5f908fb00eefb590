"""Write a translation :class:`~meta_flows.core.deployments.translate.Plan` as YAML files.

- ``prefect.yaml`` (Prefect 2.20's format: ``name``, ``prefect-version``, ``build``/``push``/``pull``,
  ``deployments``), with each TODO as a ``# TODO(prefect2-migration): ...`` comment on the line
  above the key it concerns, and the blocks to create in a comment block at the top;
- ``work-pools.yaml`` beside it: ``work_pools: [{name, type, base_job_template}]``, the input of
  ``meta-flows pools apply``.

Output is deterministic (keys in a fixed order, no timestamps), so re-running the translation on
an unchanged inventory changes nothing. A small block-style emitter writes the files because
YAML libraries drop comments; scalars are quoted by PyYAML (or as JSON strings when multi-line),
and tests load every file back with ``yaml.safe_load``.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import yaml

from meta_flows.core.deployments.plan import TODO_PREFIX, Plan, Todo

POOLS_FILE = "work-pools.yaml"


def scalar(value: Any) -> str:
    """One YAML scalar (or empty collection) in flow style."""
    if isinstance(value, str) and ("\n" in value or not value.isprintable()):
        return json.dumps(value, ensure_ascii=False)
    if isinstance(value, (dict, list)) and not value:
        return "{}" if isinstance(value, dict) else "[]"
    text = yaml.safe_dump(value, default_flow_style=True, allow_unicode=True, width=1 << 30)
    text = text.strip()
    if text.endswith("\n..."):
        text = text[: -len("\n...")]
    elif text.endswith("..."):
        text = text[:-3].rstrip()
    return text


def _is_block(value: Any) -> bool:
    return isinstance(value, (dict, list)) and bool(value)


def _todo_lines(todos: list[Todo] | list[str], pad: str) -> list[str]:
    lines = []
    for todo in todos:
        message = todo.message if isinstance(todo, Todo) else todo
        for i, part in enumerate(message.splitlines() or [""]):
            lines.append(f"{pad}# {TODO_PREFIX} {part}" if i == 0 else f"{pad}#   {part}")
    return lines


def emit(
    value: Any, indent: int = 0, comments: dict[str | None, list[Todo]] | None = None
) -> list[str]:
    """Block-style lines for a mapping or sequence; ``comments`` go above the mapping's keys."""
    pad = " " * indent
    lines: list[str] = []
    if isinstance(value, dict):
        for key, item in value.items():
            if comments and comments.get(key):
                lines += _todo_lines(comments[key], pad)
            if _is_block(item):
                lines.append(f"{pad}{scalar(key)}:")
                lines += emit(item, indent + 2)
            else:
                lines.append(f"{pad}{scalar(key)}: {scalar(item)}")
    elif isinstance(value, list):
        for item in value:
            if _is_block(item):
                inner = emit(item, indent + 2)
                inner[0] = f"{pad}- {inner[0][indent + 2 :]}"
                lines += inner
            else:
                lines.append(f"{pad}- {scalar(item)}")
    else:
        lines.append(f"{pad}{scalar(value)}")
    return lines


def blocks_report(plan: Plan) -> list[str]:
    """One line per block users must create (empty when none)."""
    return [block.describe() for block in plan.blocks]


def render_prefect_yaml(plan: Plan, prefect_version: str | None = None) -> str:
    if prefect_version is None:
        from importlib.metadata import version

        prefect_version = version("prefect")
    if plan.target is None:
        lines = [
            f"# prefect.yaml for {plan.project}, translated by meta-flows from the Prefect 1",
            "# deployment config (storage, run configs, schedules, labels, register(project_name=)).",
            "# Every schedule is created inactive (active: false): activate it when you promote the",
            "# deployment. Create the work pools first: meta-flows pools apply " + POOLS_FILE,
            "#",
        ]
    else:
        lines = [
            f"# prefect.yaml for {plan.project}: its Prefect 2 deployments, translated by meta-flows",
            "# from the Prefect 1 deployment config. The wave deploys exactly this file, as",
            "# `prefect deploy --all` does. Schedules stay off (active: false) while the deployments",
            "# shadow Prefect 1; promotion switches them on in this file. Work pools:",
            "# meta-flows pools apply " + POOLS_FILE,
            "#",
        ]
    report = blocks_report(plan)
    if report:
        lines.append("# Blocks to create before the first run:")
        lines += [f"#   - {line}" for line in report]
    else:
        lines.append("# Blocks to create before the first run: none")
    lines.append("")
    lines += _todo_lines(plan.todos, "")
    lines += [
        f"name: {scalar(plan.project)}",
        f"prefect-version: {scalar(prefect_version)}",
        "",
        "build: null",
        "push: null",
        "pull: null",
        "",
        "deployments:" if plan.deployments else "deployments: []",
    ]
    for deployment in plan.deployments:
        comments: dict[str | None, list[Todo]] = {}
        for todo in deployment.todos:
            key = todo.key if todo.key in deployment.to_dict() else None
            comments.setdefault(key, []).append(todo)
        lines += _todo_lines(comments.pop(None, []), "")
        # the entry's mapping at indent 2 with its key comments; "- " starts the first key
        body = emit(deployment.to_dict(), 2, comments)
        first = next(i for i, line in enumerate(body) if not line.lstrip().startswith("#"))
        body[first] = "- " + body[first][2:]
        lines += body
    return "\n".join(lines) + "\n"


def render_pools_yaml(plan: Plan) -> str:
    lines = [
        f"# Work pools for {plan.project}, translated by meta-flows from the Prefect 1 run configs.",
        f"# Create or update them with: meta-flows pools apply {POOLS_FILE}",
        "# A pool without base_job_template keeps its worker type's default template.",
        "",
        "work_pools:" if plan.pools else "work_pools: []",
    ]
    for pool in plan.pools:
        lines += [f"# {note}" for note in pool.notes]
        lines += _todo_lines(pool.todos, "")
        lines += emit([pool.to_dict()], 0)
    return "\n".join(lines) + "\n"


def write_plan(plan: Plan, out: Path) -> tuple[Path, Path]:
    """Write ``out`` (the prefect.yaml) and the pools file beside it; return both paths."""
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(render_prefect_yaml(plan), encoding="utf-8")
    pools = out.with_name(POOLS_FILE)
    pools.write_text(render_pools_yaml(plan), encoding="utf-8")
    return out, pools


def load_pools(path: Path) -> list[dict[str, Any]]:
    """The ``work_pools`` of a pools file, validated lightly (name and type required)."""
    data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    pools = data.get("work_pools") if isinstance(data, dict) else None
    if not isinstance(pools, list):
        raise ValueError(f"{path}: expected a mapping with a 'work_pools' list")
    for i, pool in enumerate(pools):
        if not isinstance(pool, dict) or not pool.get("name") or not pool.get("type"):
            raise ValueError(f"{path}: work_pools[{i}] needs a name and a type")
    return pools
