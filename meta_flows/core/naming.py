"""The one naming function for migrated flows.

The codemod names the ``@flow`` function it writes for each Prefect 1 flow with
:func:`flow_function_name`, and the deployment translator writes
``entrypoint: path/to/file.py:<that name>`` with the same function, so both always agree.
"""

from __future__ import annotations

import keyword
import re
import unicodedata

# Names a migrated module may import from Prefect 2: a flow function must never shadow them.
RESERVED = frozenset(
    {
        "flow",
        "task",
        "unmapped",
        "allow_failure",
        "get_run_logger",
        "pause_flow_run",
        "Secret",
        "prefect",
        "runtime",
        "Completed",
        "Failed",
        "ConcurrentTaskRunner",
        "SequentialTaskRunner",
        "DaskTaskRunner",
        "task_input_hash",
        "os",
        "datetime",
    }
)


def snake_case(text: str) -> str:
    """``"ETL Flow"`` -> ``"etl_flow"``; ``"daily-sales v2"`` -> ``"daily_sales_v2"``."""
    text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode("ascii")
    text = re.sub(r"([a-z0-9])([A-Z])", r"\1_\2", text)
    text = re.sub(r"([A-Z]+)([A-Z][a-z])", r"\1_\2", text)
    text = re.sub(r"[^0-9A-Za-z]+", "_", text).strip("_").lower()
    return re.sub(r"_+", "_", text)


def identifier(text: str, fallback: str = "flow") -> str:
    """A valid, non-keyword Python identifier derived from ``text``."""
    name = snake_case(text)
    if not name:
        name = fallback
    if name[0].isdigit():
        name = f"{fallback}_{name}"
    if keyword.iskeyword(name) or keyword.issoftkeyword(name):
        name = f"{name}_{fallback}"
    return name


def flow_function_name(
    flow_name: str | None,
    variable: str | None = None,
    taken: set[str] | frozenset[str] = frozenset(),
) -> str:
    """The function name for a flow: snake_case of its name, else of its variable; unique.

    ``taken`` holds the names already bound in the module (and those earlier flows got); the
    result avoids them and :data:`RESERVED`, adding ``_flow`` and then a number when needed.
    """
    base = identifier(flow_name) if flow_name and snake_case(flow_name) else None
    if base is None:
        base = identifier(variable or "flow")
    candidates = [base]
    if not base.endswith("_flow"):
        candidates.append(f"{base}_flow")
    for candidate in candidates:
        if candidate not in taken and candidate not in RESERVED:
            return candidate
    n = 2
    while True:
        candidate = f"{candidates[-1]}_{n}"
        if candidate not in taken and candidate not in RESERVED:
            return candidate
        n += 1


# Characters Prefect 2.20 rejects in flow names (``prefect._internal.schemas.validators.
# BANNED_CHARACTERS``): ``@flow(name=...)`` raises InvalidNameError at decoration time.
BANNED_FLOW_NAME_CHARACTERS = ("/", "%", "&", ">", "<")
FLOW_NAME_REPLACEMENT = "-"


def prefect2_flow_name(name: str) -> str:
    """The Prefect 2 name of a Prefect 1 flow: verbatim, except that each character Prefect 2
    rejects (``/ % & > <``) becomes ``-`` (``"ETL a/b"`` -> ``"ETL a-b"``).

    The codemod writes this name in ``@flow(name=...)`` (with a note naming the old one) and the
    deployment translator must use it too. Function names are derived from the *original* name by
    :func:`flow_function_name`; both spellings give the same function name, since the replaced
    characters and ``-`` are all non-alphanumeric.
    """
    for char in BANNED_FLOW_NAME_CHARACTERS:
        name = name.replace(char, FLOW_NAME_REPLACEMENT)
    return name
