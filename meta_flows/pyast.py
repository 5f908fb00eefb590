"""``ast.parse`` made safe to call from several threads.

CPython 3.11 (before 3.11.9) and 3.12 (before 3.12.4) track the AST constructor's recursion depth
in shared state, so two threads parsing at once can fail with ``SystemError: AST constructor
recursion depth mismatch`` (python/cpython#106905). The wave inventories and rewrites projects in
parallel task threads, so every ``ast.parse`` of meta-flows goes through one lock.
"""

from __future__ import annotations

import ast
import threading
from typing import Any

_LOCK = threading.Lock()


def parse(source: str | bytes, *args: Any, **kwargs: Any) -> Any:
    """``ast.parse`` under a process-wide lock (same arguments, same result)."""
    with _LOCK:
        return ast.parse(source, *args, **kwargs)
