"""Tests of the comparison core: two RunCaptures -> a CaseVerdict (issue 4 item 4)."""

from __future__ import annotations

import pytest

from meta_flows.core.validation.compare import (
    NOTES,
    compare_runs,
    load_comparator,
    render_markdown,
    skipped_verdict,
    summary,
    task_name_from_run,
    verdict_table,
)
from meta_flows.core.validation.model import CompareOptions, RunCapture, TaskCapture

_UNSET = object()


def t(name, result=None, map_index=None, *, state=None, ok=True, repr_=_UNSET, **kw):
    """A task capture; JSON result unless ``result_json=False`` is given."""
    kw.setdefault("result_json", True)
    return TaskCapture(
        name=name,
        map_index=map_index,
        state=state or ("Success" if ok else "Failed"),
        ok=ok,
        result=result if kw["result_json"] else None,
        result_repr=repr(result) if repr_ is _UNSET else repr_,
        **kw,
    )


def m(name, result=None, map_index=None, *, state=None, ok=True, **kw):
    """A migrated-side task capture (Prefect 2 state names)."""
    return t(name, result, map_index, state=state or ("Completed" if ok else "Failed"), ok=ok, **kw)


def legacy(*tasks, ok=True, **kw):
    kw.setdefault("final_state", "Success" if ok else "Failed")
    return RunCapture(side="legacy", flow_name="etl", tasks=list(tasks), ok=ok, **kw)


def migrated(*tasks, ok=True, **kw):
    kw.setdefault("final_state", "Completed" if ok else "Failed")
    return RunCapture(side="migrated", flow_name="etl", tasks=list(tasks), ok=ok, **kw)


def verdict(lg, mg, **options):
    return compare_runs(lg, mg, CompareOptions(**options))


# --- user comparators (imported by path in the tests) --------------------------------------------


def same_length(a, b):
    return len(a) == len(b)


def with_message(a, b):
    return a == b, f"custom says {a} vs {b}"


def raises(a, b):
    raise RuntimeError("kaput")


def sees_pruned(a, b):
    return "ts" not in a and "ts" not in b


# --- equal ---------------------------------------------------------------------------------------


def test_equal_runs():
    v = verdict(
        legacy(t("extract", [1, 2]), t("load", {"n": 2}), duration_s=1.5),
        migrated(m("extract", [1, 2]), m("load", {"n": 2}), duration_s=2.0),
    )
    assert v.verdict == "equal"
    assert v.diff == [] and v.notes == []
    assert (v.flow_name, v.case) == ("etl", "default")
    assert (v.legacy_duration_s, v.migrated_duration_s) == (1.5, 2.0)


def test_both_failed_same_task_is_equal():
    v = verdict(
        legacy(t("boom", ok=False, message="ValueError: x"), ok=False),
        migrated(m("boom", ok=False, message="ValueError('x')"), ok=False),
    )
    assert v.verdict == "equal"


# --- exact equality ------------------------------------------------------------------------------


def test_changed_constant_is_different_and_names_the_task():
    v = verdict(legacy(t("add", 3)), migrated(m("add", 4)))
    assert v.verdict == "different"
    assert v.diff == ["task 'add': legacy 3 != migrated 4"]


def test_nested_difference_names_the_path():
    v = verdict(
        legacy(t("load", {"rows": [{"price": 1.5}], "n": 1})),
        migrated(m("load", {"rows": [{"price": 2.5}], "n": 1})),
    )
    assert v.diff == ["task 'load' rows[0].price: legacy 1.5 != migrated 2.5"]


def test_missing_and_extra_keys_and_list_items():
    v = verdict(legacy(t("x", {"a": 1, "l": [1, 2, 3]})), migrated(m("x", {"b": 1, "l": [1, 2]})))
    assert v.diff == [
        "task 'x' a: only in legacy: 1",
        "task 'x' b: only in migrated: 1",
        "task 'x' l: length legacy 3 != migrated 2",
        "task 'x' l[2]: only in legacy: 3",
    ]


def test_bool_is_not_int_and_types_matter():
    assert verdict(legacy(t("x", True)), migrated(m("x", 1))).verdict == "different"
    assert verdict(legacy(t("x", "1")), migrated(m("x", 1))).verdict == "different"
    assert verdict(legacy(t("x", 1)), migrated(m("x", 1.0))).verdict == "equal"


def test_repr_used_when_either_side_has_no_json():
    lg = legacy(t("obj", result_json=False, repr_="<Thing a=1>"))
    assert (
        verdict(lg, migrated(m("obj", result_json=False, repr_="<Thing a=1>"))).verdict == "equal"
    )
    v = verdict(lg, migrated(m("obj", result_json=False, repr_="<Thing a=2>")))
    assert v.diff == ['task \'obj\': legacy "<Thing a=1>" != migrated "<Thing a=2>"']


def test_long_values_are_shown_around_the_first_difference():
    a = "x" * 200 + "AAA" + "y" * 50
    b = "x" * 200 + "BBB" + "y" * 50
    (line,) = verdict(legacy(t("s", a)), migrated(m("s", b))).diff
    assert "AAA" in line and "BBB" in line and len(line) < 200


def test_many_differences_are_capped_per_task():
    v = verdict(legacy(t("x", list(range(30)))), migrated(m("x", [i + 1 for i in range(30)])))
    assert len(v.diff) == 21 and v.diff[-1].endswith("… and 10 more differences")


# --- float tolerance -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("options", "expected"),
    [
        ({}, "different"),
        ({"rel_tol": 1e-6}, "equal"),
        ({"abs_tol": 1e-3}, "equal"),
        ({"rel_tol": 1e-12}, "different"),
    ],
)
def test_float_tolerance_recursive(options, expected):
    lg = legacy(t("stats", {"mean": [0.1 + 0.2, 1.0], "n": 2}))
    mg = migrated(m("stats", {"mean": [0.3 + 1e-9, 1.0], "n": 2}))
    assert verdict(lg, mg, **options).verdict == expected


def test_nan_equals_nan():
    assert verdict(legacy(t("x", float("nan"))), migrated(m("x", float("nan")))).verdict == "equal"


def test_per_task_override_of_tolerance():
    lg = legacy(t("a", 1.0), t("b", 1.0))
    mg = migrated(m("a", 1.001), m("b", 1.001))
    v = verdict(lg, mg, tasks={"a": {"abs_tol": 0.01}})
    assert v.diff == ["task 'b': legacy 1.0 != migrated 1.001"]


# --- unordered collections -----------------------------------------------------------------------


def test_unordered_lists_compare_as_multisets():
    lg = legacy(t("ids", [3, 1, 2, 2]))
    assert verdict(lg, migrated(m("ids", [1, 2, 2, 3]))).verdict == "different"
    assert verdict(lg, migrated(m("ids", [1, 2, 2, 3])), unordered=True).verdict == "equal"
    v = verdict(lg, migrated(m("ids", [1, 2, 3, 3])), unordered=True)
    assert v.diff == [
        "task 'ids': only in legacy (unordered): [2]",
        "task 'ids': only in migrated (unordered): [3]",
    ]


def test_unordered_at_a_path_with_tolerance():
    lg = legacy(t("r", {"rows": [{"v": 1.0}, {"v": 2.0}], "order": [1, 2]}))
    mg = migrated(m("r", {"rows": [{"v": 2.0000001}, {"v": 1.0}], "order": [2, 1]}))
    v = verdict(lg, mg, unordered=["rows"], rel_tol=1e-3)
    assert v.verdict == "different"
    assert all(line.startswith("task 'r' order[") for line in v.diff)


# --- DataFrames (JSON form; pandas not needed to compare) ----------------------------------------


def df(columns, rows, index=None, dtypes=None):
    """A DataFrame as the capture side puts it in ``result``."""
    return {
        "__pandas__": "DataFrame",
        "split": {
            "columns": columns,
            "index": index if index is not None else list(range(len(rows))),
            "data": rows,
        },
        "dtypes": dict(zip(columns, dtypes or ["int64"] * len(columns), strict=True)),
    }


def series(name, values, dtype="int64"):
    return {
        "__pandas__": "Series",
        "split": {"name": name, "index": list(range(len(values))), "data": values},
        "dtypes": dtype,
    }


def test_dataframe_equal_and_cell_difference():
    a = df(["id", "price"], [[1, 10], [2, 20]])
    assert verdict(legacy(t("frame", a)), migrated(m("frame", a))).verdict == "equal"
    b = df(["id", "price"], [[1, 10], [2, 21]])
    v = verdict(legacy(t("frame", a)), migrated(m("frame", b)))
    assert v.diff == ["task 'frame' [row 1, col \"price\"]: legacy 20 != migrated 21"]


def test_dataframe_columns_dtypes_and_index():
    a = df(["id", "price"], [[1, 10]], dtypes=["int64", "int64"])
    b = df(["id", "qty"], [[1, 10]], dtypes=["int64", "float64"], index=[5])
    v = verdict(legacy(t("frame", a)), migrated(m("frame", b)))
    assert "task 'frame': columns only in legacy: [\"price\"]" in v.diff
    assert "task 'frame': columns only in migrated: [\"qty\"]" in v.diff
    assert "task 'frame': index legacy [0] != migrated [5]" in v.diff
    c = df(["id", "price"], [[1, 10]], dtypes=["int64", "float64"])
    v = verdict(legacy(t("frame", a)), migrated(m("frame", c)))
    assert v.diff == ["task 'frame' price: dtype legacy int64 != migrated float64"]
    assert verdict(legacy(t("frame", a)), migrated(m("frame", c)), check_dtype=False).verdict == (
        "equal"
    )


def test_dataframe_row_order_tolerance_and_ignored_column():
    a = df(["id", "x", "ts"], [[1, 0.5, "t1"], [2, 1.5, "t2"]])
    b = df(["id", "x", "ts"], [[2, 1.5000001, "u2"], [1, 0.5, "u1"]], index=[1, 0])
    mg = migrated(m("frame", b))
    assert verdict(legacy(t("frame", a)), mg).verdict == "different"
    v = verdict(legacy(t("frame", a)), mg, unordered=True, rel_tol=1e-3, ignore_keys=["ts"])
    assert v.verdict == "equal", v.diff


def test_series_and_frame_vs_series():
    a = series("x", [1, 2])
    assert verdict(legacy(t("s", a)), migrated(m("s", series("x", [1, 2])))).verdict == "equal"
    v = verdict(legacy(t("s", a)), migrated(m("s", series("x", [1, 3]))))
    assert v.diff == ["task 's' [row 1, col \"x\"]: legacy 2 != migrated 3"]
    v = verdict(legacy(t("s", a)), migrated(m("s", df(["x"], [[1], [2]]))))
    assert v.diff == ["task 's': legacy pandas Series != migrated DataFrame"]


def test_frames_from_the_capture_code():
    pd = pytest.importorskip("pandas")
    from meta_flows.sandbox.legacy.run_probe import result_fields

    def frame(x):
        fields = result_fields(pd.DataFrame({"id": [1, 2], "x": [0.5, x]}))
        return TaskCapture(name="f", state="Success", ok=True, **fields)

    assert verdict(legacy(frame(1.5)), migrated(frame(1.5))).verdict == "equal"
    v = verdict(legacy(frame(1.5)), migrated(frame(2.5)))
    assert v.diff == ["task 'f' [row 1, col \"x\"]: legacy 1.5 != migrated 2.5"]


# --- file trees ----------------------------------------------------------------------------------


def test_file_tree_differences():
    lg = legacy(files={"out/a.csv": "a" * 64, "out/b.csv": "b" * 64, "log.txt": "c" * 64})
    mg = migrated(files={"out/a.csv": "f" * 64, "out/c.csv": "c" * 64, "log.txt": "d" * 64})
    v = verdict(lg, mg, ignore_files=["*.txt"])
    assert v.verdict == "different"
    assert v.diff == [
        "file 'out/a.csv': content differs (sha256 legacy aaaaaaaaaaaa, migrated ffffffffffff)",
        "file 'out/b.csv': only in legacy",
        "file 'out/c.csv': only in migrated",
    ]
    assert verdict(lg, mg, compare_files=False).verdict == "equal"


def test_same_file_tree_is_equal():
    files = {"out/a.csv": "a" * 64}
    assert verdict(legacy(files=files), migrated(files=dict(files))).verdict == "equal"


# --- verdicts ------------------------------------------------------------------------------------


def test_legacy_error_wins():
    v = verdict(legacy(error="ImportError: no module named x"), migrated(m("a", 1)))
    assert (v.verdict, v.reason) == ("legacy-error", "ImportError: no module named x")


def test_legacy_timeout():
    v = verdict(legacy(timed_out=True, duration_s=60.0), migrated())
    assert (v.verdict, v.reason) == ("legacy-error", "legacy run timed out after 60 s")


def test_migrated_crash():
    v = verdict(legacy(t("a", 1)), migrated(error="Traceback ... SyntaxError"))
    assert (v.verdict, v.reason) == ("migrated-error", "Traceback ... SyntaxError")


def test_migrated_flow_raises_while_legacy_succeeds():
    v = verdict(
        legacy(t("a", 1), t("b", 2)),
        migrated(
            m("a", 1), m("b", ok=False, message="ZeroDivisionError: division by zero"), ok=False
        ),
    )
    assert v.verdict == "migrated-error"
    assert v.reason == "migrated run ended Failed while the legacy run succeeded"
    assert v.diff == [
        "final state: legacy Success (ok), migrated Failed (failed)",
        "task 'b': state legacy Success, migrated Failed: ZeroDivisionError: division by zero",
    ]


def test_legacy_failed_migrated_succeeded_is_different():
    v = verdict(legacy(t("a", ok=False), ok=False), migrated(m("a", 1)))
    assert v.verdict == "different"
    assert v.diff[0] == "final state: legacy Failed (failed), migrated Completed (ok)"


def test_skip_option_and_skipped_verdict():
    v = verdict(legacy(), migrated(), skip="flaky external API")
    assert (v.verdict, v.reason) == ("skipped", "flaky external API")
    s = skipped_verdict("etl", "default", "required parameter 'day' has no case")
    assert (s.verdict, s.reason) == ("skipped", "required parameter 'day' has no case")


def test_dropped_task_is_different():
    v = verdict(legacy(t("a", 1), t("b", 2)), migrated(m("a", 1)))
    assert v.diff == ["task 'b': only in legacy (Success, result 2)"]


def test_extra_task_is_different():
    v = verdict(legacy(t("a", 1)), migrated(m("a", 1), m("c", 3)))
    assert v.diff == ["task 'c': only in migrated (Completed, result 3)"]


# --- parameters and auto-generated tasks ---------------------------------------------------------


def test_parameters_are_compared():
    v = verdict(legacy(parameters={"day": "2024-01-01", "n": 3}), migrated(parameters={"n": 4}))
    assert v.diff == [
        'parameters day: only in legacy: "2024-01-01"',
        "parameters n: legacy 3 != migrated 4",
    ]
    v = verdict(
        legacy(parameters={"n": 3, "run_id": "a"}),
        migrated(parameters={"n": 3, "run_id": "b"}),
        ignore_keys=["parameters:run_id"],
    )
    assert v.verdict == "equal"


def test_auto_generated_legacy_tasks_do_not_count():
    lg = legacy(
        t("n", 3, auto_generated=True, state="Success"),
        t("List", [1, 2], auto_generated=True),
        t("GetItem", 1, auto_generated=True),
        t("total", 6),
    )
    assert verdict(lg, migrated(m("total", 6))).verdict == "equal"


def test_legacy_mapped_parent_is_ignored():
    lg = legacy(t("double", [2, 4], state="Mapped"), t("double", 2, 0), t("double", 4, 1))
    assert verdict(lg, migrated(m("double", 2, 0), m("double", 4, 1))).verdict == "equal"


def test_prefect2_unmapped_index_minus_one():
    assert verdict(legacy(t("a", 1)), migrated(m("a", 1, -1))).verdict == "equal"


# --- mapped tasks --------------------------------------------------------------------------------


def test_mapped_child_difference_names_the_index():
    lg = legacy(t("sq", 1, 0), t("sq", 4, 1), t("sq", 9, 2))
    v = verdict(lg, migrated(m("sq", 1, 0), m("sq", 4, 1), m("sq", 10, 2)))
    assert v.diff == ["task 'sq' [map_index=2]: legacy 9 != migrated 10"]


def test_reordered_map_is_different_and_named():
    lg = legacy(t("sq", 1, 0), t("sq", 4, 1), t("sq", 9, 2))
    v = verdict(lg, migrated(m("sq", 9, 0), m("sq", 4, 1), m("sq", 1, 2)))
    assert v.verdict == "different"
    assert v.diff == [
        "task 'sq' [map_index=0]: legacy 1 != migrated 9",
        "task 'sq' [map_index=2]: legacy 9 != migrated 1",
        "task 'sq': mapped children hold the same values at different map indices "
        "(a reordered map)",
    ]


def test_missing_mapped_child():
    v = verdict(legacy(t("sq", 1, 0), t("sq", 4, 1)), migrated(m("sq", 1, 0)))
    assert v.diff == ["task 'sq' [map_index=1]: only in legacy (Success, result 4)"]


def test_map_without_mapped_argument_pairs_its_children_with_the_submitted_calls():
    # Prefect 1: t.map(upstream_tasks=[xs]) (3 children); Prefect 2 cannot map without an
    # iterable argument: the rewrite submits t once per item
    lg = legacy(
        t("fail", None, state="Mapped"),
        t("fail", 1, 0),
        t("fail", 2, 1),
        t("fail", None, 2, ok=False),
    )
    calls = migrated(m("fail", 1), m("fail", 2), m("fail", None, ok=False))
    assert verdict(lg, calls).verdict == "equal"
    v = verdict(lg, migrated(m("fail", 1), m("fail", 3), m("fail", None, ok=False)))
    assert v.diff == ["task 'fail' [map_index=1]: legacy 2 != migrated 3"]
    # not as many calls as children: each side as it is
    v = verdict(lg, migrated(m("fail", 1), m("fail", 2)))
    assert "task 'fail' [map_index=0]: only in legacy (Success, result 1)" in v.diff


def test_task_called_twice_pairs_equal_calls_regardless_of_order():
    lg = legacy(t("fetch", "a"), t("fetch", "b"))
    assert verdict(lg, migrated(m("fetch", "b"), m("fetch", "a"))).verdict == "equal"
    v = verdict(lg, migrated(m("fetch", "b"), m("fetch", "c")))
    assert v.diff == ['task \'fetch\' (call #1): legacy "a" != migrated "c"']


# --- ignore rules --------------------------------------------------------------------------------


def test_ignore_tasks_by_glob():
    lg = legacy(t("now_ts", 1), t("now_date", 1), t("a", 1))
    mg = migrated(m("now_ts", 2), m("a", 1))
    assert verdict(lg, mg, ignore_tasks=["now_*"]).verdict == "equal"


@pytest.mark.parametrize(
    "ignore",
    [["meta.created_at"], ["report:meta.created_at"], ["meta.*_at"], ["rep*:meta"]],
)
def test_ignore_keys(ignore):
    lg = legacy(t("report", {"n": 1, "meta": {"created_at": "t1"}}))
    mg = migrated(m("report", {"n": 1, "meta": {"created_at": "t2"}}))
    assert verdict(lg, mg).verdict == "different"
    assert verdict(lg, mg, ignore_keys=ignore).verdict == "equal"


def test_ignore_keys_scoped_to_another_task_does_not_apply():
    lg = legacy(t("report", {"ts": 1}))
    mg = migrated(m("report", {"ts": 2}))
    assert verdict(lg, mg, ignore_keys=["other:ts"]).verdict == "different"


def test_ignore_keys_inside_lists():
    lg = legacy(t("rows", [{"id": 1, "ts": "a"}, {"id": 2, "ts": "b"}]))
    mg = migrated(m("rows", [{"id": 1, "ts": "c"}, {"id": 2, "ts": "d"}]))
    assert verdict(lg, mg, ignore_keys=["*.ts"]).verdict == "equal"
    assert verdict(lg, mg, ignore_keys=["0.ts"]).diff == [
        'task \'rows\' [1].ts: legacy "b" != migrated "d"'
    ]


# --- user comparator -----------------------------------------------------------------------------

HERE = __name__


def test_user_comparator_bool():
    lg, mg = legacy(t("x", [1, 2])), migrated(m("x", [3, 4]))
    assert verdict(lg, mg, comparator=f"{HERE}:same_length").verdict == "equal"
    v = verdict(lg, migrated(m("x", [3])), comparator=f"{HERE}:same_length")
    assert v.diff == [f"task 'x': comparator {HERE}:same_length: legacy [1, 2] != migrated [3]"]


def test_user_comparator_message_and_per_task():
    lg, mg = legacy(t("x", 1), t("y", 1)), migrated(m("x", 2), m("y", 1))
    v = verdict(lg, mg, tasks={"x": {"comparator": f"{HERE}:with_message"}})
    assert v.diff == [f"task 'x': comparator {HERE}:with_message: custom says 1 vs 2"]


def test_user_comparator_that_raises_is_a_difference():
    v = verdict(legacy(t("x", 1)), migrated(m("x", 1)), comparator=f"{HERE}:raises")
    assert v.diff == [f"task 'x': comparator {HERE}:raises raised RuntimeError: kaput"]


def test_user_comparator_sees_values_without_ignored_keys():
    lg, mg = legacy(t("x", {"ts": 1, "a": 1})), migrated(m("x", {"ts": 2, "a": 1}))
    v = verdict(lg, mg, comparator=f"{HERE}:sees_pruned", ignore_keys=["ts"])
    assert v.verdict == "equal"


@pytest.mark.parametrize("spec", ["nocolon", "no_such_module_xyz:f", f"{__name__}:missing"])
def test_bad_comparator_spec(spec):
    with pytest.raises(ValueError, match="comparator"):
        load_comparator(spec)
    with pytest.raises(ValueError):
        verdict(legacy(t("x", 1)), migrated(m("x", 1)), comparator=spec)


def test_options_reject_unknown_fields():
    with pytest.raises(ValueError):
        CompareOptions(ignore_key=["x"])


# --- §18 notes -----------------------------------------------------------------------------------


def test_trigger_failed_downstream_is_not_a_difference():
    lg = legacy(
        t("a", ok=False, message="boom"),
        t("b", ok=False, state="TriggerFailed"),
        t("c", ok=False, state="TriggerFailed"),
        ok=False,
    )
    assert verdict(lg, migrated(m("a", ok=False), ok=False)).verdict == "equal"


def test_independent_branch_after_failure_notes_failure_propagation():
    lg = legacy(
        t("a", ok=False, message="boom"),
        t("b", ok=False, state="TriggerFailed"),
        t("side", 7),
        ok=False,
    )
    v = verdict(lg, migrated(m("a", ok=False), ok=False))
    assert v.verdict == "different"
    assert v.diff == ["task 'side': only in legacy (Success, result 7)"]
    assert v.notes == [NOTES["18.1"]]


@pytest.mark.parametrize("skipped_ok", [True, False])
def test_legacy_skipped_branch_without_migrated_task_is_equal(skipped_ok):
    lg = legacy(t("cond", False), t("branch", None, state="Skipped", ok=skipped_ok))
    assert verdict(lg, migrated(m("cond", False))).verdict == "equal"


@pytest.mark.parametrize("skipped_ok", [True, False])
def test_legacy_skipped_but_migrated_ran_notes_skips(skipped_ok):
    lg = legacy(t("branch", None, state="Skipped", ok=skipped_ok))
    v = verdict(lg, migrated(m("branch", 5)))
    assert v.diff == ["task 'branch': legacy Skipped, migrated ran (Completed, result 5)"]
    assert v.notes == [NOTES["18.2"]]


def test_empty_map_notes_reduce():
    lg = legacy(t("double", [], state="Mapped"), t("total", 0))
    v = verdict(lg, migrated())
    assert v.diff == ["task 'total': only in legacy (Success, result 0)"]
    assert v.notes == [NOTES["18.3"]]


def test_dask_executor_notes_parallelism_only_when_different():
    lg = legacy(t("a", 1), executor="LocalDaskExecutor")
    assert verdict(lg, migrated(m("a", 1))).notes == []
    assert verdict(lg, migrated(m("a", 2))).notes == [NOTES["18.4"]]


def test_cached_and_retries_notes():
    v = verdict(legacy(t("a", 1, state="Cached", attempts=1)), migrated(m("a", 2, attempts=3)))
    assert v.notes == [NOTES["18.7"], NOTES["18.8"]]
    v = verdict(legacy(t("a", 1, attempts=1)), migrated(m("a", 1, attempts=3)))
    assert (v.verdict, v.notes) == ("equal", [])


# --- helpers and artifacts -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("run_name", "key", "expected"),
    [
        ("extract-0", "0", "extract"),
        ("extract-12", None, "extract"),
        ("load-data-3", "3", "load-data"),
        ("plain", None, "plain"),
        ("x-abc", None, "x-abc"),
    ],
)
def test_task_name_from_run(run_name, key, expected):
    assert task_name_from_run(run_name, key) == expected


def test_render_markdown_and_table():
    v = verdict(
        legacy(t("a", 1), t("side", 2), ok=True, duration_s=1.234, executor="DaskExecutor"),
        migrated(m("a", 3), duration_s=2.0),
    )
    md = render_markdown(v)
    assert md.startswith("## etl — case `default`: **different**\n")
    assert "legacy 1.23 s, migrated 2.00 s" in md
    assert "```text\ntask 'a': legacy 1 != migrated 3\n" in md
    assert "- §18.4 parallelism" in md
    rows = verdict_table([v, skipped_verdict("other", "c1", "no case")])
    assert rows[0] == {
        "flow": "etl",
        "case": "default",
        "verdict": "different",
        "differences": 2,
        "summary": "task 'a': legacy 1 != migrated 3",
        "notes": "§18.4",
        "legacy_s": 1.23,
        "migrated_s": 2.0,
    }
    assert rows[1]["verdict"] == "skipped" and rows[1]["summary"] == "no case"


def test_render_markdown_equal_has_no_diff_section():
    md = render_markdown(verdict(legacy(t("a", 1)), migrated(m("a", 1))))
    assert "**equal**" in md and "```" not in md


def test_what_a_run_attempted_outside_itself_is_reported_not_judged():
    call = "run_deployment('child/child', {'day': 1})"
    v = verdict(legacy(t("a", 1)), migrated(m("a", 1), effects=[call]))
    assert (v.verdict, v.reason) == ("equal", None)
    assert v.effects == [f"migrated: {call}"]
    assert summary(v) == f"attempted, stopped by the sandbox: migrated: {call}"
    assert f"- `migrated: {call}`" in render_markdown(v)
    assert verdict_table([v])[0]["summary"].startswith(
        "attempted, stopped by the sandbox: migrated: run_deployment("
    )
    # with a difference, the summary leads with it
    different = verdict(
        legacy(t("a", 1), effects=["create_flow_run('child')"]), migrated(m("a", 2))
    )
    assert different.verdict == "different"
    assert summary(different) == (
        "task 'a': legacy 1 != migrated 2; "
        "attempted, stopped by the sandbox: legacy: create_flow_run('child')"
    )
    # and an error keeps what was attempted before it
    failed = verdict(legacy(t("a", 1)), migrated(effects=[call], error="boom"))
    assert (failed.verdict, failed.effects) == ("migrated-error", [f"migrated: {call}"])


def test_two_runs_that_ended_failed_are_compared_not_errors():
    # Prefect 1 flows may fail by design (a state handler test, a validation flow): a run that
    # happened and ended Failed is a result to compare; legacy-error is for runs that could not run.
    lg = legacy(
        t("load", 1),
        t("check", None, state="Failed", ok=False),
        ok=False,
        final_state="Failed",
        message="Some reference tasks failed.",
    )
    mg = migrated(
        m("load", 1),
        m("check", None, state="Failed", ok=False),
        ok=False,
        final_state="Failed",
        message="1/2 states failed.",
    )
    assert verdict(lg, mg).verdict == "equal"
    mg_ok = migrated(m("load", 1), m("check", 2), final_state="Completed")
    v = verdict(lg, mg_ok)
    assert v.verdict == "different"
    assert any("check" in line for line in v.diff)


def test_migrated_failure_reason_carries_the_final_message():
    lg = legacy(t("load", 1), final_state="Success")
    mg = migrated(
        m("load", None, state="Failed", ok=False),
        ok=False,
        final_state="Failed",
        message="Flow run encountered an exception. RuntimeError: boom",
    )
    v = verdict(lg, mg)
    assert v.verdict == "migrated-error"
    assert v.reason.endswith("RuntimeError: boom")
    assert any("load" in line for line in v.diff)


# --- a side whose environment lacks a module -----------------------------------------------------


def test_a_legacy_task_that_cannot_import_a_module_is_a_legacy_error():
    lg = legacy(
        t(
            "extract",
            ok=False,
            message="Unexpected error: ModuleNotFoundError(\"No module named 'boto3'\")",
        ),
        t("load", ok=False, state="TriggerFailed"),
        ok=False,
    )
    v = verdict(lg, migrated(m("extract", 1), m("load", 2)))
    assert v.verdict == "legacy-error"
    assert v.reason.startswith("the legacy run could not import boto3 (task 'extract')")


def test_a_migrated_task_that_cannot_import_a_module_is_a_migrated_error():
    mg = migrated(
        m("extract", ok=False, message="ModuleNotFoundError: No module named 'prefect_aws.s3'"),
        ok=False,
    )
    v = verdict(legacy(t("extract", 1)), mg)
    assert (v.verdict, v.reason.split(" (")[0]) == (
        "migrated-error",
        "the migrated run could not import prefect_aws.s3",
    )


def test_a_task_failing_otherwise_is_still_compared():
    lg = legacy(t("extract", ok=False, message="ValueError('bad row')"), ok=False)
    assert verdict(lg, migrated(m("extract", 1))).verdict == "different"


def test_a_legacy_task_that_finds_no_secret_is_a_legacy_error_naming_how_to_give_one():
    lg = legacy(
        t("GetValue", 1),
        t(
            "SlackTask",
            ok=False,
            message="Error during execution of task: ValueError('Local Secret "
            '"SLACK_WEBHOOK_URL" was not found.\')',
        ),
        ok=False,
    )
    v = verdict(lg, migrated(m("GetValue", 1)))
    assert v.verdict == "legacy-error"
    assert v.reason.startswith(
        "the legacy run could not read the secret 'SLACK_WEBHOOK_URL' (task 'SlackTask')"
    )
    assert "PREFECT__CONTEXT__SECRETS__SLACK_WEBHOOK_URL" in v.reason


def test_a_legacy_task_that_reaches_no_docker_daemon_is_a_legacy_error():
    lg = legacy(
        t(
            "CreateContainer",
            ok=False,
            message='Error during execution of task: DockerException("Error while fetching '
            "server API version: ('Connection aborted.', FileNotFoundError(2, 'No such file'))\")",
        ),
        t("see_output", ok=False, state="TriggerFailed"),
        ok=False,
    )
    v = verdict(lg, migrated(m("see_output", None)))
    assert v.verdict == "legacy-error"
    assert v.reason.startswith(
        "the legacy run could not reach a Docker daemon (task 'CreateContainer')"
    )


def test_a_secret_or_docker_message_in_a_run_that_succeeded_changes_nothing():
    lg = legacy(t("log", "Local Secret 'X' was not found"))
    assert verdict(lg, migrated(m("log", "Local Secret 'X' was not found"))).verdict == "equal"


# --- a second legacy run: what the flow itself does not reproduce -------------------------------


def test_results_that_differ_between_two_legacy_runs_are_not_compared_and_a_note_names_them():
    lg = legacy(
        t("stamp", {"at": "19:53:17", "rows": 3}),
        t("print_date", result_json=False, repr_="'Sun Dec  6 19:53:17'"),
        t("total", 6),
    )
    again = legacy(
        t("stamp", {"at": "19:53:18", "rows": 3}),
        t("print_date", result_json=False, repr_="'Sun Dec  6 19:53:18'"),
        t("total", 6),
    )
    mg = migrated(
        m("stamp", {"at": "19:53:19", "rows": 3}),
        m("print_date", result_json=False, repr_="'Sun Dec  6 19:53:19'"),
        m("total", 6),
    )
    assert verdict(lg, mg).verdict == "different"  # without the second run
    v = compare_runs(lg, mg, legacy_again=again)
    assert (v.verdict, v.diff) == ("equal", [])
    assert v.notes == [
        "Not compared: results that differed between two Prefect 1 runs of this case (the "
        "clock, randomness beyond the seed): task 'print_date'; task 'stamp' at at."
    ]


def test_what_is_stable_between_the_legacy_runs_is_still_compared():
    lg = legacy(t("stamp", {"at": "19:53:17", "rows": 3}), t("total", 6))
    again = legacy(t("stamp", {"at": "19:53:18", "rows": 3}), t("total", 6))
    mg = migrated(m("stamp", {"at": "19:53:19", "rows": 4}), m("total", 7))
    v = compare_runs(lg, mg, legacy_again=again)
    assert v.verdict == "different"
    assert v.diff == [
        "task 'stamp' rows: legacy 3 != migrated 4",
        "task 'total': legacy 6 != migrated 7",
    ]


def test_legacy_runs_that_take_another_course_keep_the_differences_with_a_note():
    lg = legacy(t("draw", 0.7), t("report", "high"))
    again = legacy(t("draw", ok=False, message="ValueError('low')"), ok=False)
    mg = migrated(m("draw", ok=False, message="ValueError('low')"), ok=False)
    v = compare_runs(lg, mg, legacy_again=again)
    assert v.verdict == "migrated-error"
    assert v.diff
    assert v.notes[-1].startswith(
        "Two Prefect 1 runs of this case did not behave the same (final state Success then "
        "Failed; task 'draw' ended Success then Failed; task 'report' ran 1 then 0 time(s))"
    )


def test_a_second_legacy_run_that_crashed_is_not_used():
    lg = legacy(t("stamp", "19:53:17"))
    again = legacy(error="the interpreter died", ok=False)
    v = compare_runs(lg, migrated(m("stamp", "19:53:19")), legacy_again=again)
    assert (v.verdict, v.notes) == ("different", [])


def test_a_file_whose_content_differs_between_two_legacy_runs_is_not_compared():
    lg = legacy(t("write", None), files={"out/stamp.txt": "aa", "out/data.csv": "cc"})
    again = legacy(t("write", None), files={"out/stamp.txt": "bb", "out/data.csv": "cc"})
    mg = migrated(m("write", None), files={"out/stamp.txt": "dd", "out/data.csv": "ee"})
    v = compare_runs(lg, mg, legacy_again=again)
    assert v.diff == ["file 'out/data.csv': content differs (sha256 legacy cc, migrated ee)"]
    assert v.notes[-1].endswith("file 'out/stamp.txt'.")


def test_what_is_left_out_is_per_call_and_per_map_index():
    """One call (or mapped child) of a task whose result differs between the legacy runs leaves
    out that call's result only: another call's real difference still shows."""
    lg = legacy(t("t", 1.5), t("t", 10), t("m", 1, 0), t("m", 10, 1))
    again = legacy(t("t", 3.5), t("t", 10), t("m", 2, 0), t("m", 10, 1))
    mg = migrated(m("t", 2.5), m("t", 99), m("m", 3, 0), m("m", 99, 1))
    v = compare_runs(lg, mg, legacy_again=again)
    assert v.verdict == "different"
    assert v.diff == [
        "task 'm' [map_index=1]: legacy 10 != migrated 99",
        "task 't' (call #2): legacy 10 != migrated 99",
    ]
    assert v.notes[-1].endswith("task 'm' [map_index=0]; task 't' (call #1).")


def test_a_part_left_out_of_a_json_result_does_not_hide_a_text_result_on_the_other_side():
    lg = legacy(t("b", {"id": "x1", "rows": 3}))
    again = legacy(t("b", {"id": "x2", "rows": 3}))
    mg = migrated(m("b", result_json=False, repr_="<Batch rows=3>"))
    v = compare_runs(lg, mg, legacy_again=again)
    assert v.verdict == "different" and v.diff[0].startswith("task 'b': legacy ")


def test_a_user_comparator_is_not_asked_about_a_value_left_out():
    lg = legacy(t("s", 1))
    again = legacy(t("s", 2))
    v = compare_runs(
        lg,
        migrated(m("s", 3)),
        CompareOptions(comparator="tests.validate.test_compare:same_length"),
        legacy_again=again,
    )
    assert (v.verdict, v.diff) == ("equal", [])


def test_calls_of_one_task_in_another_order_between_the_legacy_runs_are_stable():
    """Prefect 1 orders independent task runs by object hashes: two calls of the same task may
    swap places between runs. That is no instability: the differences stay visible."""
    lg = legacy(t("fetch", [["apple", 3], ["pear", 5]]), t("fetch", ["apple", 3]))
    again = legacy(t("fetch", ["apple", 3]), t("fetch", [["apple", 3], ["pear", 5]]))
    mg = migrated(m("fetch", [["apple", 3], ["pear", 6]]), m("fetch", ["apple", 3]))
    v = compare_runs(lg, mg, legacy_again=again)
    assert v.verdict == "different"
    assert v.diff == ["task 'fetch' (call #1) [1][1]: legacy 5 != migrated 6"]
    assert v.notes == []
