"""Prefect 1 task options mapped onto Prefect 2.20 task options.

The conversion behind PF004 (``@task(...)``), also used where tasks are built another way: task
calls with ``task_args=`` (PF005) and ``Task`` subclasses made into ``@task`` functions (PF006).
The option table is in the rules reference (docs/rules.md, PF004).
"""

from __future__ import annotations

import datetime
import re
from collections.abc import Sequence
from dataclasses import dataclass, field

import libcst as cst
from libcst.metadata import QualifiedNameProvider

from meta_flows.core.codemod.analysis.scope import bound_names
from meta_flows.core.codemod.base import Rule, code_of, is_literal, literal_value
from meta_flows.core.codemod.names import PREFECT2_TASK_OPTIONS

# inspect.signature(prefect.task) in Prefect 2.20.27, without the function itself.
P2_TASK_OPTIONS = PREFECT2_TASK_OPTIONS


# Task.with_options accepts the same minus ``version``.
P2_WITH_OPTIONS = P2_TASK_OPTIONS - {"version"}


# Every option Prefect 1.4's Task.__init__ takes (the ones this rule knows how to handle).
P1_TASK_OPTIONS = frozenset(
    {
        "name",
        "slug",
        "tags",
        "max_retries",
        "retry_delay",
        "retry_on",
        "timeout",
        "trigger",
        "skip_on_upstream_skip",
        "cache_for",
        "cache_validator",
        "cache_key",
        "checkpoint",
        "state_handlers",
        "on_failure",
        "log_stdout",
        "result",
        "target",
        "task_run_name",
        "nout",
    }
)


# Simple renames (value unchanged).
RENAMED = {"max_retries": "retries", "log_stdout": "log_prints", "checkpoint": "persist_result"}


DROPPED = frozenset({"nout", "slug"})


_INPUT_VALIDATORS = {"all_inputs", "all_parameters"}


_PARTIAL_VALIDATORS = {"partial_inputs_only", "partial_parameters_only"}


_CLOUD_RESULTS = {
    "S3Result": ("prefect-aws", "S3Bucket"),
    "GCSResult": ("prefect-gcp", "GcsBucket"),
    "AzureResult": ("prefect-azure", "AzureBlobStorageContainer"),
}


# Prefect 1 ``target``/``location`` template fields -> Prefect 2 ``result_storage_key`` fields.
_TEMPLATE_FIELDS = {
    "task_name": "task_run.task_name",
    "task_full_name": "task_run.name",
    "task_run_id": "task_run.id",
    "flow_name": "flow_run.flow_name",
    "flow_run_name": "flow_run.name",
    "flow_run_id": "flow_run.id",
    "task_tags": "task_run.tags",
}


_FIELD_RE = re.compile(r"(?<!\{)\{([A-Za-z_][A-Za-z0-9_]*)([^{}]*)\}(?!\})")


_STRINGS = (cst.SimpleString, cst.ConcatenatedString, cst.FormattedString)


_COMMA = cst.Comma(whitespace_after=cst.SimpleWhitespace(" "))


@dataclass
class Converted:
    """The result of :func:`convert_options`."""

    args: list[cst.Arg]
    todos: list[str] = field(default_factory=list)
    changed: bool = False


def seconds_literal(rule: Rule, node: cst.BaseExpression) -> float | None:
    """Seconds of a literal ``timedelta(...)``, a number or arithmetic on numbers (``5 * 60``),
    else None."""
    number = numeric_value(node)
    if number is not None:
        return number
    if not isinstance(node, cst.Call) or "datetime.timedelta" not in rule.qualified_names(
        node.func
    ):
        return None
    pos, kw = [], {}
    for arg in node.args:
        if arg.star:
            return None
        value = numeric_value(arg.value)
        if value is None:
            return None
        if arg.keyword is None:
            pos.append(value)
        else:
            kw[arg.keyword.value] = value
    try:
        return datetime.timedelta(*pos, **kw).total_seconds()
    except (TypeError, ValueError, OverflowError):
        return None


_ARITHMETIC = {
    cst.Add: lambda a, b: a + b,
    cst.Subtract: lambda a, b: a - b,
    cst.Multiply: lambda a, b: a * b,
    cst.Divide: lambda a, b: a / b,
    cst.FloorDivide: lambda a, b: a // b,
}


def numeric_value(node: cst.BaseExpression) -> float | None:
    """The value of a number literal or of ``+ - * / //`` on number literals, else None."""
    if isinstance(node, (cst.Integer, cst.Float)):
        value = literal_value(node)
        return None if isinstance(value, bool) else value
    if isinstance(node, cst.UnaryOperation) and isinstance(node.operator, cst.Minus):
        inner = numeric_value(node.expression)
        return -inner if inner is not None else None
    if isinstance(node, cst.BinaryOperation) and type(node.operator) in _ARITHMETIC:
        left, right = numeric_value(node.left), numeric_value(node.right)
        if left is None or right is None:
            return None
        try:
            return _ARITHMETIC[type(node.operator)](left, right)
        except (ZeroDivisionError, OverflowError):
            return None
    return None


def constant_kind(rule: Rule, node: cst.BaseExpression) -> str | None:
    """``"number"`` or ``"timedelta"`` when ``node`` is a name the module binds once, at module
    level, to a number (arithmetic on numbers) or a literal ``timedelta(...)``; else None."""
    module = rule.source_module
    if not isinstance(node, cst.Name) or module is None:
        return None
    values = []
    for stmt in module.body:
        assign = stmt.body[0] if isinstance(stmt, cst.SimpleStatementLine) else None
        if (
            isinstance(assign, cst.Assign)
            and len(stmt.body) == 1
            and len(assign.targets) == 1
            and isinstance(assign.targets[0].target, cst.Name)
            and assign.targets[0].target.value == node.value
        ):
            values.append(assign.value)
        elif node.value in bound_names([stmt]):
            return None  # bound some other way too
    if len(values) != 1 or seconds_literal(rule, values[0]) is None:
        return None
    return "number" if numeric_value(values[0]) is not None else "timedelta"


def number(value: float) -> cst.BaseExpression:
    if float(value).is_integer():
        return cst.Integer(str(int(value)))
    return cst.Float(repr(float(value)))


def total_seconds_code(node: cst.BaseExpression) -> str:
    """``int(x.total_seconds())`` for the code of a timedelta expression (parenthesized when
    needed)."""
    inner = code_of(node)
    if not isinstance(node, (cst.Name, cst.Attribute, cst.Call, cst.Subscript)):
        inner = f"({inner})"
    return f"int({inner}.total_seconds())"


def seconds_expr(rule: Rule, node: cst.BaseExpression) -> cst.BaseExpression:
    """A Prefect 1 ``retry_delay`` (a timedelta) in seconds: ``timedelta(minutes=1)`` -> ``60``,
    a number stays, a module constant holding a number stays; any other expression ->
    ``int(x.total_seconds())``."""
    value = seconds_literal(rule, node)
    if value is not None:
        return number(value)
    if constant_kind(rule, node) == "number":
        return node
    return cst.parse_expression(total_seconds_code(node))


def convert_template(template: str, params: Sequence[str] | None) -> tuple[str, list[str]]:
    """A Prefect 1 ``target`` template as a Prefect 2 ``result_storage_key``; unknown fields."""
    unknown: list[str] = []

    def repl(match: re.Match) -> str:
        name, rest = match.group(1), match.group(2)
        if name in _TEMPLATE_FIELDS:
            return "{" + _TEMPLATE_FIELDS[name] + rest + "}"
        if params is not None and name in params:
            return "{parameters[" + name + "]" + rest + "}"
        unknown.append(name)
        return match.group(0)

    return _FIELD_RE.sub(repl, template), unknown


def _fmt(arg: cst.Arg) -> str:
    return code_of(arg.with_changes(comma=cst.MaybeSentinel.DEFAULT)).strip()


def _kw(name: str, value: cst.BaseExpression, like: cst.Arg | None = None) -> cst.Arg:
    if like is not None:
        return like.with_changes(keyword=cst.Name(name), value=value)
    return cst.Arg(
        keyword=cst.Name(name),
        value=value,
        equal=cst.AssignEqual(
            whitespace_before=cst.SimpleWhitespace(""), whitespace_after=cst.SimpleWhitespace("")
        ),
    )


def convert_options(
    rule: Rule,
    args: Sequence[cst.Arg],
    *,
    label: str | None = None,
    params: Sequence[str] | None = None,
    allowed: frozenset[str] | None = P2_TASK_OPTIONS,
) -> Converted:
    """Map Prefect 1 task options in ``args`` onto Prefect 2 ones.

    ``label`` names the task (for a constant cache key), ``params`` are the task's parameters (for
    ``target`` templates). With ``allowed`` set, any other keyword is removed with a TODO (the
    safety net); with ``allowed=None`` only known Prefect 1 options are touched (class kwargs).
    Imports the new code needs are scheduled on ``rule``.
    """
    out: list[tuple[cst.Arg, cst.Arg]] = []  # (new arg, original arg it came from)
    todos: list[str] = []
    changed = False
    by_kw = {a.keyword.value: a for a in args if a.keyword is not None}
    seen: set[str] = set()

    def emit(new: cst.Arg, orig: cst.Arg) -> None:
        key = new.keyword.value if new.keyword is not None else None
        if key is not None and key in seen:
            return  # e.g. checkpoint=False and result=LocalResult(): the first one wins
        if key is not None:
            seen.add(key)
        out.append((new, orig))

    def forget(node: cst.CSTNode) -> None:
        _forget_imports(rule, node)

    for arg in args:
        kw = arg.keyword.value if arg.keyword is not None else None
        value = arg.value
        if kw is None:
            emit(arg, arg)
            continue
        if allowed is None and kw not in P1_TASK_OPTIONS:
            emit(arg, arg)
            continue
        if kw in (allowed or P2_TASK_OPTIONS) and not (
            kw == "task_run_name" and not isinstance(value, _STRINGS)
        ):
            emit(arg, arg)
            continue
        changed = True
        if kw == "max_retries":
            if is_literal(value) and literal_value(value) == 0:
                continue
            emit(arg.with_changes(keyword=cst.Name("retries")), arg)
        elif kw in RENAMED:
            emit(arg.with_changes(keyword=cst.Name(RENAMED[kw])), arg)
        elif kw in DROPPED:
            continue
        elif kw == "retry_delay":
            if isinstance(value, cst.Name) and value.value == "None":
                continue
            emit(_kw("retry_delay_seconds", seconds_expr(rule, value), arg), arg)
            forget(value)
        elif kw == "timeout":
            if isinstance(value, cst.Name) and value.value == "None":
                continue
            seconds = seconds_literal(rule, value)
            kind = constant_kind(rule, value) if seconds is None else None
            if seconds is not None:
                emit(_kw("timeout_seconds", number(seconds), arg), arg)
                forget(value)
            elif kind == "number":
                emit(_kw("timeout_seconds", value, arg), arg)
            elif kind == "timedelta":
                seconds_code = cst.parse_expression(total_seconds_code(value))
                emit(_kw("timeout_seconds", seconds_code, arg), arg)
            else:
                emit(_kw("timeout_seconds", value, arg), arg)
                todos.append(
                    f"timeout_seconds takes seconds; if `{code_of(value)}` is a timedelta use "
                    f"{total_seconds_code(value)}"
                )
        elif kw == "task_run_name" and (template := _run_name_template(value, params)) is not None:
            # `lambda **kwargs: f"{kwargs['x']}"` read the task's inputs: Prefect 2 formats a
            # task_run_name string with the task's parameters
            quoted = f'"{template}"' if '"' not in template else repr(template)
            emit(_kw("task_run_name", cst.SimpleString(quoted), arg), arg)
        elif kw == "task_run_name":
            todos.append(
                f"`{_fmt(arg)}` was removed: a Prefect 1 callable got the task's inputs as "
                "kwargs; Prefect 2 calls task_run_name() with no arguments (read "
                "prefect.runtime.task_run.parameters) -- rewrite it by hand"
            )
        elif kw in ("cache_for", "cache_validator", "cache_key"):
            if kw != _first_of(args, ("cache_for", "cache_validator", "cache_key")):
                continue
            for new in _cache_args(rule, by_kw, label, todos):
                emit(new, arg)
        elif kw == "result":
            for new in _result_args(rule, arg, params, todos):
                emit(new, arg)
        elif kw == "target":
            new = _target_arg(arg, params, todos)
            if new is not None:
                emit(new, arg)
                emit(_kw("persist_result", cst.Name("True")), arg)
        elif kw == "skip_on_upstream_skip":
            todos.append(
                f"`{_fmt(arg)}` was removed: Prefect 2 has no Skipped state (§10); decide by hand "
                "whether this task must run when an upstream branch did not"
            )
        elif kw == "retry_on":
            todos.append(
                f"`{_fmt(arg)}` was removed: use retry_condition_fn=lambda task, task_run, state: "
                "isinstance(state.result(raise_on_failure=False), <exception types>)"
            )
        else:
            todos.append(
                f"`{_fmt(arg)}` was removed: Prefect 2's task() has no `{kw}` option"
                + (" (§8/§11: see PF009/PF012)" if kw in ("trigger", "state_handlers") else "")
            )
    kept = {id(orig) for _, orig in out}
    for arg in args:
        if id(arg) not in kept:
            forget(arg.value)
    if not changed:
        return Converted(list(args), todos, False)
    return Converted(_with_commas([new for new, _ in out], out, args), todos, True)


def _first_of(args: Sequence[cst.Arg], names: Sequence[str]) -> str | None:
    for a in args:
        if a.keyword is not None and a.keyword.value in names:
            return a.keyword.value
    return None


def _with_commas(
    new_args: list[cst.Arg], pairs: list[tuple[cst.Arg, cst.Arg]], original: Sequence[cst.Arg]
) -> list[cst.Arg]:
    """Give every argument but the last a comma; the last keeps the original last's tail."""
    if not new_args:
        return []
    fixed: list[cst.Arg] = []
    for i, arg in enumerate(new_args):
        if i < len(new_args) - 1:
            if not isinstance(arg.comma, cst.Comma) or (
                i + 1 < len(pairs) and pairs[i + 1][1] is pairs[i][1]
            ):
                arg = arg.with_changes(comma=_separator(pairs[i][1], original))
        fixed.append(arg)
    last_orig = original[-1]
    fixed[-1] = fixed[-1].with_changes(
        comma=last_orig.comma, whitespace_after_arg=last_orig.whitespace_after_arg
    )
    return fixed


def _separator(arg: cst.Arg, original: Sequence[cst.Arg]) -> cst.Comma:
    """The comma to put after a newly split argument: the layout of its neighbours."""
    idx = next((i for i, a in enumerate(original) if a is arg), -1)
    if idx > 0 and isinstance(original[idx - 1].comma, cst.Comma):
        return original[idx - 1].comma
    if isinstance(arg.comma, cst.Comma):
        return arg.comma
    return _COMMA


def _cache_args(rule: Rule, by_kw: dict[str, cst.Arg], label, todos) -> list[cst.Arg]:
    cache_for = by_kw.get("cache_for")
    validator = by_kw.get("cache_validator")
    cache_key = by_kw.get("cache_key")
    out: list[cst.Arg] = []
    if cache_key is not None:
        key_fn = cst.parse_expression(f"lambda *_: {code_of(cache_key.value)}")
        out.append(_kw("cache_key_fn", key_fn, cache_key))
    elif cache_for is not None:
        kind = None
        if validator is not None:
            vname = rule.prefect_name(validator.value) or ""
            kind = (
                vname.rsplit(".", 1)[-1]
                if vname.startswith("prefect.engine.cache_validators")
                else "?"
            )
            _forget_imports(rule, validator.value)
        if kind == "never_use":
            return []
        if kind in _INPUT_VALIDATORS or kind in _PARTIAL_VALIDATORS:
            rule.add_import("prefect.tasks", "task_input_hash")
            out.append(_kw("cache_key_fn", cst.Name("task_input_hash"), cache_for))
            if kind in _PARTIAL_VALIDATORS:
                todos.append(
                    f"`{_fmt(validator)}` validated only some inputs; task_input_hash hashes all "
                    "of them -- write a cache_key_fn over the inputs that matter"
                )
        elif kind in (None, "duration_only"):
            if label is None:
                todos.append(
                    "cache_for without input validation: give this task a constant cache key "
                    "(cache_key_fn=lambda *_: '<task name>')"
                )
            else:
                key = f'"{label}"' if '"' not in label and "\\" not in label else repr(label)
                out.append(
                    _kw("cache_key_fn", cst.parse_expression(f"lambda *_: {key}"), cache_for)
                )
        else:
            rule.add_import("prefect.tasks", "task_input_hash")
            out.append(_kw("cache_key_fn", cst.Name("task_input_hash"), cache_for))
            todos.append(
                f"custom `{_fmt(validator)}` has no Prefect 2 equivalent; cache_key_fn now hashes "
                "all inputs -- port the validation into a cache_key_fn"
            )
    if cache_for is not None:
        out.append(_kw("cache_expiration", cache_for.value, cache_for))
    return out


def _result_args(rule: Rule, arg: cst.Arg, params, todos) -> list[cst.Arg]:
    value = arg.value
    name = rule.prefect_name(value) if isinstance(value, cst.Call) else None
    short = name.rsplit(".", 1)[-1] if name and name.startswith("prefect.engine.results") else None
    if short == "LocalResult" and isinstance(value, cst.Call):
        extra = [
            a
            for a in value.args
            if not (a.keyword is None or a.keyword.value in ("dir", "location"))
        ]
        dir_arg = next(
            (a for a in value.args if (a.keyword and a.keyword.value == "dir")), None
        ) or next((a for a in value.args[:1] if a.keyword is None and not a.star), None)
        out = [_kw("persist_result", cst.Name("True"), arg)]
        if dir_arg is not None:
            rule.add_import("prefect.filesystems", "LocalFileSystem")
            storage = cst.Call(
                func=cst.Name("LocalFileSystem"),
                args=[_kw("basepath", dir_arg.value)],
            )
            out.append(_kw("result_storage", storage, arg))
        location = next(
            (a for a in value.args if a.keyword and a.keyword.value == "location"), None
        )
        if location is not None:
            new = _target_arg(location, params, todos)
            if new is not None:
                out.append(_kw("result_storage_key", new.value, arg))
        if extra:
            todos.append(
                f"LocalResult options {', '.join(_fmt(a) for a in extra)} were dropped "
                "(Prefect 2: result_serializer=...)"
            )
        _forget_imports(rule, value.func)
        return out
    if short in _CLOUD_RESULTS:
        package, block = _CLOUD_RESULTS[short]
        rule.require_package(package)
        todos.append(
            f"`{_fmt(arg)}` was removed: create a {package} {block} block and pass "
            f"persist_result=True, result_storage={block}.load('<name>')"
        )
        return []
    todos.append(
        f"`{_fmt(arg)}` was removed: set persist_result=True and result_storage=<a storage block> "
        "by hand"
    )
    return []


def _run_name_template(value: cst.BaseExpression, params: Sequence[str] | None) -> str | None:
    """The Prefect 2 ``task_run_name`` template for a Prefect 1 callable that only formats the
    task's inputs: ``lambda **kwargs: f"{kwargs['val']}-x"`` -> ``"{val}-x"`` (also
    ``kwargs['val']`` and ``str(kwargs['val'])`` alone). None: anything else (another context
    key, a call, a format spec with fields...)."""
    if not (
        isinstance(value, cst.Lambda)
        and params
        and not value.params.params
        and not value.params.kwonly_params
        and not value.params.posonly_params
        and isinstance(value.params.star_arg, cst.MaybeSentinel)
        and isinstance(value.params.star_kwarg, cst.Param)
    ):
        return None
    kwargs = value.params.star_kwarg.name.value

    def field(node: cst.BaseExpression) -> str | None:
        if not (
            isinstance(node, cst.Subscript)
            and isinstance(node.value, cst.Name)
            and node.value.value == kwargs
            and len(node.slice) == 1
            and isinstance(node.slice[0].slice, cst.Index)
            and isinstance(node.slice[0].slice.value, cst.SimpleString)
        ):
            return None
        key = literal_value(node.slice[0].slice.value)
        return key if isinstance(key, str) and key in params and key.isidentifier() else None

    body = value.body
    if isinstance(body, cst.Call) and isinstance(body.func, cst.Name) and body.func.value == "str":
        body = body.args[0].value if len(body.args) == 1 and not body.args[0].keyword else body
    single = field(body)
    if single is not None:
        return "{" + single + "}"
    if not isinstance(body, cst.FormattedString) or body.prefix.lower() != "f":
        return None
    out = []
    for part in body.parts:
        if isinstance(part, cst.FormattedStringText):
            if "\\" in part.value:
                return None
            out.append(part.value)  # already doubles its braces, as str.format wants
            continue
        name = field(part.expression)
        if name is None:
            return None
        spec = ""
        if part.format_spec is not None:
            if not all(isinstance(p, cst.FormattedStringText) for p in part.format_spec):
                return None
            spec = ":" + "".join(p.value for p in part.format_spec)
        conversion = f"!{part.conversion}" if part.conversion else ""
        out.append("{" + name + conversion + spec + "}")
    return "".join(out)


def _target_arg(arg: cst.Arg, params, todos) -> cst.Arg | None:
    value = arg.value
    if isinstance(value, cst.SimpleString) and is_literal(value):
        template = literal_value(value)
        new, unknown = convert_template(template, params)
        prefix = value.value[: len(value.value) - len(value.value.lstrip("rRbBuU"))]
        quote = value.quote
        text = new if "\\" not in new and quote not in new else None
        expr = (
            cst.SimpleString(f"{prefix}{quote}{text}{quote}")
            if text is not None
            else cst.SimpleString(repr(new))
        )
        if unknown:
            fields = ", ".join("{" + u + "}" for u in unknown)
            todos.append(
                f"`{_fmt(arg)}` was removed: its field(s) {fields} have no Prefect 2 equivalent; "
                f"set result_storage_key={code_of(expr)} with fields of {{parameters[name]}}, "
                "{task_run.*}, {flow_run.*} by hand (Prefect 2 would fail on an unknown field)"
            )
            return None
        todos.append(
            "Prefect 1 skipped this task when its target existed; Prefect 2 recomputes and "
            "overwrites the key -- add a cache_key_fn if the skip matters"
        )
        return _kw("result_storage_key", expr, arg)
    todos.append(
        f"`{_fmt(arg)}` was removed: set result_storage_key= with Prefect 2 template fields by hand"
    )
    return None


def _forget_imports(rule: Rule, node: cst.CSTNode) -> None:
    """Schedule removal of the import binding ``node``'s head name if nothing uses it any more."""
    head = node
    while isinstance(head, (cst.Attribute, cst.Call)):
        head = head.value if isinstance(head, cst.Attribute) else head.func
    if not isinstance(head, cst.Name):
        return
    try:
        qnames = rule.get_metadata(QualifiedNameProvider, head, set())
    except KeyError:
        return
    for q in qnames:
        if q.source.name != "IMPORT":
            continue
        if "." in q.name:
            module, _, name = q.name.rpartition(".")
            rule.remove_import_if_unused(module, name)
        else:
            rule.remove_import_if_unused(q.name)
    if isinstance(node, cst.Call):
        for a in node.args:
            _forget_imports(rule, a.value)
