"""The value helpers both sides use: JSON value when lossless, stable repr always, file hashes."""

import hashlib
import math

import pytest

from meta_flows.sandbox.legacy.run_probe import file_hashes, result_fields, stable_repr


class Point:
    def __init__(self, x):
        self.x = x


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ({"b": 1, "a": {2, 1}}, "{'a': {1, 2}, 'b': 1}"),
        (frozenset({"y", "x"}), "frozenset({'x', 'y'})"),
        (set(), "set()"),
        ((1,), "(1,)"),
        ([{"z": 0, "y": (1, 2)}], "[{'y': (1, 2), 'z': 0}]"),
        ({2: "b", 1: "a"}, "{1: 'a', 2: 'b'}"),
    ],
)
def test_stable_repr_sorts_keys_and_sets(value, expected):
    assert stable_repr(value) == expected


def test_stable_repr_drops_addresses():
    assert " at 0x" not in stable_repr(Point(1))
    assert stable_repr(Point(1)) == stable_repr(Point(2))  # default repr: the class only


@pytest.mark.parametrize(
    ("value", "json_value"),
    [
        (None, None),
        (3, 3),
        (True, True),
        (1.5, 1.5),
        ((1, [2, "x"]), [1, [2, "x"]]),
        ({"a": {"b": [1.0]}}, {"a": {"b": [1.0]}}),
    ],
)
def test_result_fields_json(value, json_value):
    fields = result_fields(value)
    assert fields["result_json"] is True
    assert fields["result"] == json_value
    assert fields["result_repr"] == stable_repr(value)


@pytest.mark.parametrize(
    "value", [{1: "a"}, {1, 2}, math.nan, math.inf, Point(1), b"x", [Point(1)]]
)
def test_result_fields_not_json(value):
    fields = result_fields(value)
    assert fields["result_json"] is False
    assert fields["result"] is None
    assert fields["result_repr"] == stable_repr(value)


def test_pandas_frame_as_json():
    pd = pytest.importorskip("pandas")
    fields = result_fields(pd.DataFrame({"a": [1, 2], "b": ["x", "y"]}))
    assert fields["result_json"] is True
    assert fields["result"]["__pandas__"] == "DataFrame"
    assert fields["result"]["split"]["columns"] == ["a", "b"]
    assert fields["result"]["split"]["data"] == [[1, "x"], [2, "y"]]


def test_file_hashes(tmp_path):
    (tmp_path / "out" / "__pycache__").mkdir(parents=True)
    (tmp_path / "out" / "__pycache__" / "x.pyc").write_bytes(b"\0")
    (tmp_path / "out" / "a.txt").write_text("hello")
    (tmp_path / "b.json").write_text("{}")
    assert file_hashes(str(tmp_path)) == {
        "b.json": hashlib.sha256(b"{}").hexdigest(),
        "out/a.txt": hashlib.sha256(b"hello").hexdigest(),
    }
