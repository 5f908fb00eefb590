"""Every ``ast.parse`` of meta-flows goes through the lock in meta_flows/pyast.py (threads)."""

import ast
import re
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from meta_flows import pyast

PACKAGE = Path(__file__).resolve().parents[1] / "meta_flows"


def test_no_bare_ast_parse_in_the_package():
    bare = re.compile(r"(?<![\w.])ast\.parse\(")
    offenders = [
        f"{path.relative_to(PACKAGE)}:{number}"
        for path in PACKAGE.rglob("*.py")
        if path.name != "pyast.py"
        for number, line in enumerate(path.read_text().splitlines(), start=1)
        if bare.search(line)
    ]
    assert offenders == []


def test_parse_from_threads_gives_what_ast_parse_gives():
    source = "def f(x):\n    return [y for y in x if (y and (y or (not y)))]\n" * 50
    expected = ast.dump(ast.parse(source))
    with ThreadPoolExecutor(max_workers=8) as pool:
        dumps = list(pool.map(lambda _: ast.dump(pyast.parse(source)), range(64)))
    assert set(dumps) == {expected}
