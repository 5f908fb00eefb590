"""PF007 context: prefect.context reads become get_run_logger() / prefect.runtime."""

import importlib.util
import os
import subprocess
import sys
import textwrap
from datetime import date, timedelta

import pytest

from meta_flows.core.codemod.audit import prefect1_leftovers
from meta_flows.core.codemod.base import todo_text
from meta_flows.core.codemod.rules.context import (
    HUMAN,
    LOGGER_HELPER_CODE,
    OWN_LOGGER_HELPER,
    OWN_LOGGER_HELPER_CODE,
    ContextRule,
)
from meta_flows.core.codemod.stubs import CONFIG_SOURCE, STUB_SOURCE
from meta_flows.core.codemod.testing import apply_rule, assert_noop, assert_rewrite, migrate

HELPER = '''


def _prefect1_today(offset_days=0, fmt="%Y-%m-%d"):
    """Prefect 1's context ``today`` (+/- days): the flow run's scheduled start date."""
    from datetime import timedelta

    return (runtime.flow_run.scheduled_start_time + timedelta(days=offset_days)).strftime(fmt)

'''


def _in_task(imports: str, line: str) -> str:
    return f"{imports}\n\n@task\ndef t(x):\n    {line}\n"


@pytest.mark.parametrize(
    ("expr", "after"),
    [
        ('prefect.context.get("logger")', "get_run_logger()"),
        ("prefect.context.logger", "get_run_logger()"),
        ('prefect.context["logger"]', "get_run_logger()"),
        ('prefect.context.get("parameters")["x"]', 'runtime.flow_run.parameters["x"]'),
        ('prefect.context.get("parameters", {}).get("x")', 'runtime.flow_run.parameters.get("x")'),
        ('prefect.context.parameters["x"]', 'runtime.flow_run.parameters["x"]'),
        ("prefect.context.scheduled_start_time", "runtime.flow_run.scheduled_start_time"),
        ('prefect.context.get("date")', "runtime.flow_run.scheduled_start_time"),
        ('prefect.context.get("flow_run_id")', "runtime.flow_run.id"),
        ("prefect.context.flow_run_name", "runtime.flow_run.name"),
        ('prefect.context["flow_name"]', "runtime.flow_run.flow_name"),
        ('prefect.context.get("task_run_id")', "runtime.task_run.id"),
        ("prefect.context.task_name", "runtime.task_run.task_name"),
        ('prefect.context.get("task_run_name")', "runtime.task_run.name"),
        ('prefect.context.get("flow_run_id", "local")', 'runtime.flow_run.id or "local"'),
    ],
)
def test_reads_inside_a_task(expr, after):
    import_line = (
        "from prefect import get_run_logger, task"
        if "logger" in expr
        else "from prefect import runtime, task"
    )
    assert_rewrite(
        ContextRule,
        _in_task("import prefect\nfrom prefect import task", f"v = {expr}"),
        _in_task(import_line, f"v = {after}"),
    )


def test_from_prefect_import_context_and_import_cleanup():
    assert_rewrite(
        ContextRule,
        _in_task("from prefect import context, task", 'context.get("logger").info(x)'),
        _in_task("from prefect import get_run_logger, task", "get_run_logger().info(x)"),
    )


def test_default_is_parenthesised_inside_a_larger_expression():
    assert_rewrite(
        ContextRule,
        _in_task(
            "import prefect\nfrom prefect import task",
            'f(prefect.context.get("flow_name", "x") + "y")',
        ),
        _in_task(
            "from prefect import runtime, task", 'f((runtime.flow_run.flow_name or "x") + "y")'
        ),
    )


@pytest.mark.parametrize(
    ("key", "call"),
    [
        ("today", "_prefect1_today()"),
        ("yesterday", "_prefect1_today(-1)"),
        ("tomorrow", "_prefect1_today(1)"),
        ("today_nodash", '_prefect1_today(0, "%Y%m%d")'),
    ],
)
def test_dates_use_one_helper_after_the_imports(key, call):
    before = f'import prefect\nfrom prefect import task\n\n\n@task\ndef t():\n    return prefect.context.get("{key}")\n'
    after = f"from prefect import runtime, task{HELPER}\n@task\ndef t():\n    return {call}\n"
    assert_rewrite(ContextRule, before, after)


def test_helper_added_once_for_many_dates():
    out = apply_rule(
        ContextRule,
        "import prefect\n\n\ndef a():\n    return prefect.context.today\n\n\n"
        'def b():\n    return prefect.context.yesterday, prefect.context["tomorrow"]\n',
    )
    assert out.count("def _prefect1_today") == 1
    assert "return _prefect1_today(-1), _prefect1_today(1)" in out
    assert out == (
        f"from prefect import runtime{HELPER}\n"
        "def a():\n    return _prefect1_today()\n\n\n"
        "def b():\n    return _prefect1_today(-1), _prefect1_today(1)\n"
    )


def test_logger_in_plain_helper_function_and_task_run_method():
    assert_rewrite(
        ContextRule,
        "import prefect\n\ndef helper():\n    prefect.context.logger.info('x')\n\n"
        "class T(prefect.Task):\n    def run(self):\n        self.l = prefect.context.get('logger')\n",
        "import prefect\nfrom prefect import get_run_logger\n\ndef helper():\n    get_run_logger().info('x')\n\n"
        "class T(prefect.Task):\n    def run(self):\n        self.l = get_run_logger()\n",
    )


def _with_own_logger(imports: str, rest: str) -> str:
    """A module the rule rewrote: ``imports``, the task-logger helper, then ``rest``."""
    return f"{imports}\n\n\n{OWN_LOGGER_HELPER_CODE}\n\n{rest}"


def test_logger_handler_methods_go_to_a_logger_of_the_tasks_own():
    """What only a ``logging.Logger`` has goes to ``.logger`` of the adapter, on a name bound to
    the run logger only, or on the read itself; the adapter's own methods (``info``,
    ``setLevel``) stay. That adapter logs through a logger of the task's own
    (``_prefect1_task_logger()``), as Prefect 1's task logger did, so a handler added to it
    sees neither other tasks' records nor the engine's."""
    assert_rewrite(
        ContextRule,
        "import logging\nimport prefect\nfrom prefect import task\n\n@task\ndef t(path):\n"
        "    log = prefect.context.get('logger')\n    handler = logging.FileHandler(path)\n"
        "    log.addHandler(handler)\n    log.setLevel(logging.DEBUG)\n    log.propagate = False\n"
        "    log.info('x')\n    log.removeHandler(log.handlers[0])\n"
        "    prefect.context.logger.addFilter(logging.Filter('a'))\n"
        "    prefect.context.logger.info('y')\n",
        _with_own_logger(
            "import logging\nfrom prefect import get_run_logger, task",
            "@task\ndef t(path):\n"
            "    log = _prefect1_task_logger()\n    handler = logging.FileHandler(path)\n"
            "    log.logger.addHandler(handler)\n    log.setLevel(logging.DEBUG)\n"
            "    log.logger.propagate = False\n    log.info('x')\n"
            "    log.logger.removeHandler(log.logger.handlers[0])\n"
            "    _prefect1_task_logger().logger.addFilter(logging.Filter('a'))\n"
            "    _prefect1_task_logger().info('y')\n",
        ),
    )


def test_every_logger_read_of_a_task_giving_its_logger_a_handler_is_the_tasks_own():
    """Prefect 1 gave every read in one task the same logger: once a handler is added (through
    a name or a read), every read in that task, nested functions included, is its own logger."""
    out = apply_rule(
        ContextRule,
        "import prefect\nfrom prefect import task\n\n@task\ndef direct(h):\n"
        "    prefect.context.get('logger').addHandler(h)\n    prefect.context.get('logger').info('a')\n\n"
        "@task\ndef nested(h):\n    log = prefect.context.get('logger')\n\n    def inner():\n"
        "        prefect.context.get('logger').info('b')\n\n    log.addHandler(h)\n    inner()\n",
    )
    assert "get_run_logger()." not in out.split(OWN_LOGGER_HELPER_CODE)[1], out
    assert out.count("_prefect1_task_logger()") == 5, out


def test_a_logger_given_no_logger_only_api_stays_the_run_logger():
    out = apply_rule(
        ContextRule,
        "import prefect\nfrom prefect import task\n\n@task\ndef t():\n"
        "    log = prefect.context.get('logger')\n    log.info('x')\n",
    )
    assert "log = get_run_logger()" in out and OWN_LOGGER_HELPER not in out


def test_logger_handler_methods_in_a_nested_function_use_its_own_names():
    assert_rewrite(
        ContextRule,
        "import prefect\n\ndef outer(h):\n    log = prefect.context.get('logger')\n\n"
        "    def inner(log):\n        log.addHandler(h)\n\n    log.addHandler(h)\n",
        _with_own_logger(
            "from prefect import get_run_logger",
            "def outer(h):\n    log = _prefect1_task_logger()\n\n"
            "    def inner(log):\n        log.addHandler(h)\n\n    log.logger.addHandler(h)\n",
        ),
    )


@pytest.mark.parametrize(
    "src",
    [
        # the name is bound to something else too (or is a parameter): left alone
        "import logging\nimport prefect\n\ndef f(h, plain):\n"
        "    log = prefect.context.get('logger')\n    if plain:\n"
        "        log = logging.getLogger('x')\n    log.addHandler(h)\n",
        "import prefect\n\ndef f(log, h):\n    prefect.context.get('logger').info('x')\n"
        "    log.addHandler(h)\n",
        "import prefect\n\ndef f(h):\n    for log in [prefect.context.get('logger')]:\n"
        "        log.addHandler(h)\n",
        # a module-level logger is a logging.Logger
        "import logging\nimport prefect\n\nlog = prefect.context.get('logger')\n"
        "log.addHandler(logging.NullHandler())\n",
    ],
)
def test_logger_handler_methods_left_alone(src):
    out = apply_rule(ContextRule, src)
    assert ".logger.addHandler" not in out
    assert "log.addHandler(" in out


def test_loop_reads_in_a_task_raising_loop_are_left_to_pf011():
    """In a @task whose body raises LOOP, PF011 makes the body loop and reads the loop keys from
    its locals (§10.2): this rule leaves those reads alone, in every form."""
    assert_noop(
        ContextRule,
        "import prefect\nfrom prefect import context, task\nfrom prefect.engine.signals import LOOP\n\n"
        "@task\ndef t():\n    payload = prefect.context.get('task_loop_result', {'n': 1})\n"
        "    count = context.get('task_loop_count')\n    last = prefect.context.task_loop_count\n"
        "    first = context['task_loop_result']\n    n = payload['n']\n"
        "    if n > 3:\n        return n, count, last, first\n    raise LOOP(result={'n': n + 1})\n",
    )


def test_loop_reads_become_the_loop_locals_through_the_pipeline():
    src = (
        "import prefect\nfrom prefect import task\nfrom prefect.engine.signals import LOOP\n\n"
        "@task\ndef t():\n    payload = prefect.context.get('task_loop_result', {'n': 1})\n"
        "    count = prefect.context.get('task_loop_count')\n    n = payload['n']\n"
        "    if n > 3:\n        return n, count\n    raise LOOP(result={'n': n + 1})\n"
    )
    out = migrate(src).code
    assert (
        "            payload = loop_result if loop_count > 1 else {'n': 1}\n"
        "            count = loop_count if loop_count > 1 else None\n"
    ) in out
    assert "prefect.context" not in out and "import prefect\n" not in out
    assert "TODO(prefect2-migration)" not in out
    compile(out, "x", "exec")


def test_loop_read_without_loop_in_the_function_keeps_its_own_todo():
    todo = todo_text(
        "PF007",
        f"{HUMAN['task_loop_result']}: this read gives its value in the task's first run, the "
        "default (Prefect 2 has no LOOP)",
    )
    assert_rewrite(
        ContextRule,
        _in_task(
            "import prefect\nfrom prefect import task",
            'v = prefect.context.get("task_loop_result", 0)',
        ),
        _in_task("from prefect import task", f"{todo}\n    v = 0"),
    )


LOGGER_HEAD = (
    "import logging\n\nfrom prefect import get_run_logger\n"
    "from prefect.exceptions import MissingContextError\n\n\n" + LOGGER_HELPER_CODE + "\n\n"
)


def test_module_level_logger_becomes_the_run_logger_in_runs():
    assert_rewrite(
        ContextRule,
        'import prefect\n\nlogger = prefect.context.get("logger")\n',
        LOGGER_HEAD + "logger = _Prefect1Logger(__name__)\n",
    )


def test_get_logger_inside_and_outside_runs():
    assert_rewrite(
        ContextRule,
        "from prefect.utilities.logging import get_logger\n\nlog = get_logger('etl')\n\n"
        "def t():\n    get_logger().info('x')\n",
        LOGGER_HEAD + "log = _Prefect1Logger('etl')\n\ndef t():\n    get_run_logger().info('x')\n",
    )


@pytest.mark.prefect
def test_a_module_level_logger_logs_to_the_run_under_prefect2(tmp_path, prefect_env):
    """Used in a task, the migrated module-level logger logs through the task run's logger (the
    record carries the run, as Prefect 1's did); at import, through a standard logger."""
    src = (
        "import prefect\nfrom prefect import Flow, task\n\n"
        'logger = prefect.context.get("logger")\nlogger.setLevel("INFO")\n\n'
        "@task\ndef shout(x):\n    logger.warning('value %s', x)\n    return x\n\n"
        "with Flow('loud') as flow:\n    shout(3)\n\nflow.run()\n"
    )
    code = migrate(src, "flows.loud").code
    assert "TODO" not in code and "logger = _Prefect1Logger(__name__)" in code, code
    _assert_logged_once_by_the_run(tmp_path, code, prefect_env, "value 3", "shout")


def _assert_logged_once_by_the_run(tmp_path, code: str, env: dict, text: str, task: str) -> None:
    """Run the migrated ``code`` in ``tmp_path``; ``text`` is logged once, by a run of ``task``."""
    path = tmp_path / "migrated.py"
    path.write_text(code)
    proc = subprocess.run(
        [sys.executable, str(path)],
        capture_output=True,
        text=True,
        timeout=300,
        env=env,
        cwd=tmp_path,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    lines = [ln for ln in (proc.stdout + proc.stderr).splitlines() if text in ln]
    assert len(lines) == 1 and f"Task run '{task}-" in lines[0], proc.stderr[-3000:]


@pytest.mark.prefect
def test_a_handler_added_to_the_task_logger_gets_that_tasks_records_only(tmp_path, prefect_env):
    """As on Prefect 1's task logger: the file gets the task's own line, not Prefect 2's engine
    messages ("Finished in state ...") nor another task's records; the line still reaches the
    run logs (the console here)."""
    src = (
        "import logging\nimport prefect\nfrom prefect import Flow, task\n\n"
        "@task\ndef log_to_file():\n    logger = prefect.context.get('logger')\n"
        "    logger.addHandler(logging.FileHandler('task.log'))\n    logger.info('I am log.')\n\n"
        "@task\ndef other(x):\n    prefect.context.get('logger').info('not mine')\n\n"
        "with Flow('log-file') as flow:\n    other(log_to_file())\n\nflow.run()\n"
    )
    code = migrate(src, "flows.log_file").code
    assert "TODO" not in code and "logger = _prefect1_task_logger()" in code, code
    env = {**prefect_env, "PREFECT_LOGGING_LEVEL": "INFO"}  # the engine's lines too
    _assert_logged_once_by_the_run(tmp_path, code, env, "I am log.", "log_to_file")
    assert (tmp_path / "task.log").read_text() == "I am log.\n"


@pytest.mark.parametrize(
    ("line", "fragment", "message"),
    [
        (
            'prefect.context.get("map_index")',
            "map_index has no Prefect 2 equivalent",
            "context map_index has no Prefect 2 equivalent: pass the index to the task explicitly "
            "(e.g. map over enumerate(...))",
        ),
        (
            "prefect.context.task_loop_count",
            "LOOP signal",
            "context task_loop_count belongs to the LOOP signal: read it in the body of the @task "
            "that raises LOOP, where PF011 makes the body loop and counts its iterations",
        ),
        (
            'prefect.context.get("secrets")["TOKEN"]',
            "Secret.load(",
            "Prefect 1 context secrets: read each secret with "
            "Secret.load('<lowercase-dashed-name>').get() (from prefect.blocks.system) and create "
            "the Secret block",
        ),
        (
            "prefect.context.get(key)",
            "computed key",
            "`prefect.context.get(key)` reads a computed key of the Prefect 1 context: map it to "
            "prefect.runtime by hand",
        ),
        (
            'prefect.context.get("flow_id")',
            "'flow_id' has no direct Prefect 2 equivalent",
            "Prefect 1 context key 'flow_id' has no direct Prefect 2 equivalent: use "
            "prefect.runtime / get_run_context() by hand",
        ),
        (
            "prefect.context.update(a=1)",
            "different module in Prefect 2",
            "Prefect 1 context `prefect.context` is a different module in Prefect 2: use "
            "prefect.runtime or get_run_logger()",
        ),
    ],
)
def test_human_cases_get_a_todo_and_stay(line, fragment, message):
    src = _in_task("import prefect\nfrom prefect import task", f"v = {line}")
    out = apply_rule(ContextRule, src)
    lines = out.splitlines()
    assert lines[-1] == f"    v = {line}"
    assert (
        lines[-2].strip().startswith("# TODO(prefect2-migration): PF007") and fragment in lines[-2]
    )
    assert out == _in_task(
        "import prefect\nfrom prefect import task",
        f"{todo_text('PF007', message)}\n    v = {line}",
    )
    assert apply_rule(ContextRule, out) == out


def test_with_context_is_flagged():
    src = "import prefect\n\ndef f():\n    with prefect.context(a=1):\n        g()\n"
    out = apply_rule(ContextRule, src)
    assert "PF007 `with prefect.context(...)`" in out.splitlines()[3]
    assert out.endswith("    with prefect.context(a=1):\n        g()\n")
    todo = todo_text(
        "PF007",
        "`with prefect.context(...)` has no Prefect 2 equivalent: pass the values as flow/task "
        "parameters instead (the block below still uses Prefect 1 context)",
    )
    assert out == src.replace("    with ", f"    {todo}\n    with ")


def test_module_level_human_case_is_commented_out():
    out = apply_rule(ContextRule, 'import prefect\n\nidx = prefect.context.get("map_index")\n')
    assert out.endswith('# idx = prefect.context.get("map_index")\n')  # no placeholder pass
    todo = todo_text("PF007", HUMAN["map_index"])
    assert out == f'import prefect\n\n{todo}\n# idx = prefect.context.get("map_index")\n'
    compile(out, "x", "exec")
    assert apply_rule(ContextRule, out) == out


@pytest.mark.parametrize(
    "src",
    [
        # other libraries' context
        "from mylib import context\n\ndef f():\n    return context.get('logger')\n",
        "import contextvars\ncontext = contextvars.copy_context()\nx = context.get('logger')\n",
        # shadowed name
        "from prefect import context\n\ndef f(context):\n    return context.get('logger')\n",
        # already Prefect 2
        "from prefect import runtime, get_run_logger\n\ndef f():\n    get_run_logger().info(runtime.flow_run.id)\n",
        "import prefect\n\ndef f():\n    return prefect.context.get_run_context()\n",
        "from prefect.context import FlowRunContext\nctx = FlowRunContext.get()\n",
        "import logging\nlogger = logging.getLogger(__name__)\n",
        "import logging\n\ndef f(h):\n    log = logging.getLogger('x')\n    log.addHandler(h)\n",
        "from prefect import get_run_logger\n\ndef f():\n    get_run_logger().logger.addHandler(h)\n",
    ],
)
def test_noop(src):
    assert_noop(ContextRule, src)


def test_runtime_mappings_give_values_in_a_real_flow_run(tmp_path, prefect_api):
    """The rewritten reads run under Prefect 2.20 and return the run's values."""
    src = textwrap.dedent(
        """
        import prefect
        from prefect import flow, task


        @task(name="my-task")
        def info(x):
            prefect.context.get("logger").info("hello")
            return {
                "x": prefect.context.get("parameters")["x"],
                "today": prefect.context.today,
                "yesterday": prefect.context.get("yesterday"),
                "date": prefect.context.get("date"),
                "flow_run_id": prefect.context.get("flow_run_id"),
                "flow_name": prefect.context.flow_name,
                "flow_run_name": prefect.context.flow_run_name,
                "task_name": prefect.context.task_name,
                "task_run_id": prefect.context["task_run_id"],
            }


        @flow(name="ctx-flow")
        def ctx_flow(x: int = 1):
            return info(x)

        """
    )
    out = apply_rule(ContextRule, src)
    assert "prefect.context" not in out
    got = {k: str(v) for k, v in _run_module(out, tmp_path, "ctx_flow", x=7).items()}
    assert got["x"] == "7"
    assert got["flow_name"] == "ctx-flow"
    assert got["task_name"] == "my-task"
    assert got["flow_run_name"] not in ("", "None")
    assert len(got["flow_run_id"]) == 36 and len(got["task_run_id"]) == 36
    assert got["today"] == got["date"][:10]
    assert got["yesterday"] == (date.fromisoformat(got["today"]) - timedelta(days=1)).isoformat()


def _run_module(code, tmp_path, flow_name, **params):
    """Import ``code`` as a module and run its flow in this process (ephemeral Prefect 2 API)."""
    path = tmp_path / "migrated_module.py"
    path.write_text(code)
    spec = importlib.util.spec_from_file_location("migrated_module", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return getattr(module, flow_name)(**params)


# ---------------------------------------------------------------------- prefect.config

CONFIG_TODO = todo_text(
    "PF007",
    "Prefect 1 `prefect.config` is read at {lines}: Prefect 2 has no `prefect.config`. "
    "`prefect1_config` reads each key from the environment variable Prefect 1 read it from "
    "(`prefect.config.section.key`: PREFECT__SECTION__KEY) and fails at run time for a key not "
    "set there (Prefect 1 may have read it from config.toml): set those variables (a "
    "deployment's job_variables env) or move the values to Prefect 2 Variables or blocks",
)


def _config_prelude(imports: str, lines: str) -> str:
    """The module head the config rewrite writes: imports, the two classes, the binding."""
    return (
        f"{imports}\n\n\n{STUB_SOURCE}\n\n{CONFIG_SOURCE}\n\n"
        f"{CONFIG_TODO.format(lines=lines)}\nprefect1_config = _Prefect1Config()\n"
    )


@pytest.mark.parametrize(
    ("imports", "expr", "setting", "after"),
    [
        ("import prefect", "prefect.config.logging.level", "PREFECT_LOGGING_LEVEL", None),
        (
            "import prefect",
            "prefect.context.config.logging.log_to_cloud",
            "PREFECT_LOGGING_TO_API_ENABLED",
            None,
        ),
        ("from prefect import config", "config.flows.checkpointing", None, None),
        ("from prefect import context", "context.config.debug", "PREFECT_DEBUG_MODE", None),
        (
            "from prefect.configuration import config as cfg",
            "cfg.logging.extra_loggers",
            "PREFECT_LOGGING_EXTRA_LOGGERS",
            None,
        ),
        ("import prefect", "prefect.config.home_dir", "PREFECT_HOME", "str(PREFECT_HOME.value())"),
    ],
)
def test_config_keys_with_a_prefect2_setting_become_the_setting(imports, expr, setting, after):
    setting = setting or "PREFECT_RESULTS_PERSIST_BY_DEFAULT"
    assert_rewrite(
        ContextRule,
        f"{imports}\nfrom prefect import task\n\n\n@task\ndef t():\n    return {expr}\n",
        f"from prefect import task\nfrom prefect.settings import {setting}\n\n\n"
        f"@task\ndef t():\n    return {after or setting + '.value()'}\n",
    )


def test_other_config_reads_go_through_one_stand_in_under_one_todo():
    before = (
        "import os\n\nimport prefect\n\n"
        "BUCKET = prefect.config.context.bucket\n\n\n"
        "def f():\n"
        '    return prefect.context.get("config").get("x", os.sep), prefect.context["config"]\n'
    )
    got = apply_rule(ContextRule, before)
    head = _config_prelude("import inspect\nimport os", "LINES")
    first = head.count("\n") + 3
    assert got == (
        head.replace("LINES", f"lines {first}, {first + 4}")
        + "\n\nBUCKET = prefect1_config.context.bucket\n\n\n"
        "def f():\n"
        '    return prefect1_config.get("x", os.sep), prefect1_config\n'
    )
    assert got.count("TODO(prefect2-migration)") == 1
    assert_rewrite(ContextRule, before, got)


def test_config_reads_and_mapped_keys_together():
    before = (
        "from prefect import config, task\n\n\n"
        "@task\ndef t():\n    return config.logging.level, config.context.table\n"
    )
    got = apply_rule(ContextRule, before)
    head = _config_prelude(
        "import inspect\n\nfrom prefect import task\nfrom prefect.settings import PREFECT_LOGGING_LEVEL",
        "LINES",
    )
    line = head.count("\n") + 5
    assert got == head.replace("LINES", f"line {line}") + (
        "\n\n@task\ndef t():\n    return PREFECT_LOGGING_LEVEL.value(), prefect1_config.context.table\n"
    )
    assert_rewrite(ContextRule, before, got)


@pytest.mark.parametrize(
    "src",
    [
        # the project's own config
        "from myapp import config\n\nX = config.context.bucket\n",
        "import myapp.prefect_conf as prefect\n\nX = prefect.config.x\n",
        # a parameter named config
        "from prefect import config\n\n\ndef f(config):\n    return config.x\n",
        # already Prefect 2
        "from prefect.settings import PREFECT_API_URL\n\nURL = PREFECT_API_URL.value()\n",
        "import prefect.settings\n\nX = prefect.settings.PREFECT_HOME.value()\n",
    ],
)
def test_config_noop(src):
    assert_noop(ContextRule, src)


def _import_module(code: str, tmp_path, name: str):
    path = tmp_path / f"{name}.py"
    path.write_text(code)
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


CONFIG_MODULE = """\
import prefect
from prefect import Flow, task

BUCKET = prefect.config.context.bucket
RETRIES = prefect.config.context.get("retries", 2)
LEVEL = prefect.config.logging.level


@task
def where():
    return prefect.config.context.bucket, prefect.context.config.context.get("region", "eu")


with Flow("config-reads") as flow:
    where()
"""


def test_migrated_module_reading_config_at_import_time_imports(tmp_path, monkeypatch):
    """Under Prefect 2, a module reading ``prefect.config`` at import time imports; a key set
    the Prefect 1 way (PREFECT__SECTION__KEY) has its value, typed; one set nowhere is a
    stand-in at import time and an error naming the variable at run time."""
    result = migrate(CONFIG_MODULE)
    assert "prefect.config.context" not in result.code
    assert [t.rule for t in result.todos] == ["PF007"]
    assert prefect1_leftovers(result.code) == []

    for key in [k for k in os.environ if k.startswith("PREFECT__")]:
        monkeypatch.delenv(key)
    module = _import_module(result.code, tmp_path, "config_unset")
    assert type(module.BUCKET).__name__ == "_Prefect1Config"  # a stand-in
    assert module.RETRIES == 2
    assert module.LEVEL == os.environ.get("PREFECT_LOGGING_LEVEL", "INFO")
    bucket, region = module.where.fn()
    assert region == "eu"
    for value in (bucket, module.BUCKET):  # used as a value after the import
        with pytest.raises(AttributeError, match="environment variable PREFECT__CONTEXT__BUCKET"):
            f"s3://{value}/x"  # noqa: B018
        with pytest.raises(AttributeError, match="PREFECT__CONTEXT__BUCKET"):
            bool(value)

    monkeypatch.setenv("PREFECT__CONTEXT__BUCKET", "s3://data")
    monkeypatch.setenv("PREFECT__CONTEXT__RETRIES", "5")
    module = _import_module(result.code, tmp_path, "config_set")
    assert (module.BUCKET, module.RETRIES) == ("s3://data", 5)
    assert module.where.fn() == ("s3://data", "eu")
    monkeypatch.setenv("PREFECT__CONTEXT__REGION", "us")
    assert module.where.fn() == ("s3://data", "us")


def test_config_and_another_stand_in_in_one_module_import(tmp_path):
    """PF001's stand-ins go after the stand-in class PF007 wrote (not before it)."""
    code = migrate(
        "import prefect\nfrom prefect.engine.results import LocalResult\n\n"
        'RESULT = LocalResult(dir=prefect.config.context.get("dir", "/tmp"))\n'
    ).code
    assert code.index("class _Prefect1Stub") < code.index("LocalResult = _Prefect1Stub(")
    module = _import_module(code, tmp_path, "config_and_result")
    assert type(module.RESULT).__name__ == "_Prefect1Stub"
    assert migrate(code).code == code


def test_audit_flags_prefect_config_left():
    found = prefect1_leftovers("import prefect\n\nX = prefect.config.context.x\n")
    assert [f.what for f in found] == ["prefect.config (not in Prefect 2)"]
    found = prefect1_leftovers("from prefect import config\n\nX = config.x\n")
    assert found and all("config" in f.what for f in found)
