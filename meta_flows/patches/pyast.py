"""``ast.parse`` made safe to call from several threads.

CPython 3.11 (before 3.11.9) and 3.12 (before 3.12.4) track the AST constructor's recursion depth
in shared state, so two threads parsing at once can fail with ``SystemError: AST constructor
recursion depth mismatch`` (python/cpython#106905). The wave inventories and rewrites projects in
parallel task threads, so every ``ast.parse`` of meta-flows goes through one lock.

Calls made elsewhere race just the same: ``ast.literal_eval`` parses too (LibCST's
``evaluated_value`` uses it, so does the codemod), as do libraries in other threads. On the
affected versions, importing this module therefore routes the process's ``ast.parse`` (which
``ast.literal_eval`` calls) through the lock as well: a 450-flow benchmark wave failed one
project's rewrite on that race with only meta-flows' own parses locked.
"""

from __future__ import annotations

import ast
import sys
import threading
from typing import Any

_LOCK = threading.RLock()
# the standard library's parse, kept on the ast module so a reload of this one cannot lose it
_ORIGINAL_PARSE = getattr(ast, "_unlocked_parse", ast.parse)
ast._unlocked_parse = _ORIGINAL_PARSE
_VERSION = sys.version_info[:3]
AFFECTED = (3, 11) <= _VERSION < (3, 11, 9) or (3, 12) <= _VERSION < (3, 12, 4)


def parse(source: str | bytes, *args: Any, **kwargs: Any) -> Any:
    """``ast.parse`` under a process-wide lock (same arguments, same result)."""
    with _LOCK:
        return _ORIGINAL_PARSE(source, *args, **kwargs)


def install() -> bool:
    """On an affected Python, make ``ast.parse`` (and so ``ast.literal_eval``) take the lock for
    every caller in this process; idempotent. Returns whether it is installed."""
    if AFFECTED and ast.parse is not parse:
        ast.parse = parse
    return ast.parse is parse


install()
