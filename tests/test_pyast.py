"""Every ``ast.parse`` of meta-flows goes through the lock in meta_flows/patches/pyast.py (threads)."""

import ast
import re
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from meta_flows.patches import pyast

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


def test_on_an_affected_python_every_parse_of_the_process_takes_the_lock():
    """``ast.literal_eval`` (LibCST's ``evaluated_value``, the codemod's literals) parses too,
    and so may any library in another thread: on 3.11 < 3.11.9 and 3.12 < 3.12.4 they wait for
    the lock like meta-flows' own parses."""
    import threading
    import time

    if not pyast.AFFECTED:
        assert pyast.install() is False and ast.parse is not pyast.parse
        return
    assert pyast.install() is True and ast.parse is pyast.parse
    done = threading.Event()

    def evaluate():
        assert ast.literal_eval("[1, (2, 'three')]") == [1, (2, "three")]
        done.set()

    with pyast._LOCK:
        thread = threading.Thread(target=evaluate)
        thread.start()
        time.sleep(0.3)
        assert not done.is_set()  # waiting for the lock held here
    assert done.wait(5)
    thread.join()
