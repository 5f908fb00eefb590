"""PF006 task_subclass: Task subclasses and their instances become @task functions."""

import textwrap

import pytest

from meta_flows.core.codemod.rules.task_subclass import RULE
from meta_flows.core.codemod.testing import apply_rule, assert_noop, assert_rewrite, migrate
from tests.codemod.test_task_options import run_under_prefect2

SIMPLE_BEFORE = """\
from prefect import Task
from prefect.utilities.tasks import defaults_from_attrs


class Extract(Task):
    def __init__(self, table=None, **kwargs):
        self.table = table
        super().__init__(**kwargs)

    @defaults_from_attrs("table")
    def run(self, table=None):
        return read(table)


# users
extract = Extract(table="users", max_retries=2)
"""

SIMPLE_AFTER = """\
from prefect import task


# users
@task(name="Extract", max_retries=2)
def extract(table="users"):
    return read(table)
"""

RUN_ONLY_BEFORE = """\
from prefect import Task, Flow

class Add(Task):
    def run(self, x, y=1):
        self.logger.info("adding")
        return x + y

add = Add(name="adder")

with Flow("f") as flow:
    add(1)
"""

RUN_ONLY_AFTER = """\
from prefect import Flow, get_run_logger, task

@task(name="adder")
def add(x, y=1):
    get_run_logger().info("adding")
    return x + y

with Flow("f") as flow:
    add(1)
"""

INLINE_BEFORE = """\
import prefect

class Double(prefect.Task):
    def run(self, x):
        return 2 * x

@prefect.flow
def f():
    a = Double()(1)
    b = Double(max_retries=3, name="twice")(a)
    t = Double()
    return t(b)
"""

INLINE_AFTER = """\
import prefect
from prefect import task

@task(name="Double")
def double(x):
    return 2 * x

@prefect.flow
def f():
    a = double(1)
    b = double.with_options(retries=3, name="twice")(a)
    t = double
    return t(b)
"""


@pytest.mark.parametrize(
    ("before", "after"),
    [
        pytest.param(SIMPLE_BEFORE, SIMPLE_AFTER, id="init-and-defaults-from-attrs"),
        pytest.param(RUN_ONLY_BEFORE, RUN_ONLY_AFTER, id="run-only-with-logger"),
        pytest.param(INLINE_BEFORE, INLINE_AFTER, id="instances-inside-flow"),
    ],
)
def test_rewrites(before, after):
    assert_rewrite(RULE, before, after)


def test_several_instances_get_one_function_each():
    src = SIMPLE_BEFORE + 'orders = Extract(table="orders", name="orders")\n'
    out = apply_rule(RULE, src)
    assert '@task(name="Extract", max_retries=2)\ndef extract(table="users"):' in out
    assert '@task(name="orders")\ndef orders(table="orders"):' in out
    assert "class Extract" not in out
    assert out == SIMPLE_AFTER + (
        '\n\n@task(name="orders")\ndef orders(table="orders"):\n    return read(table)\n'
    )
    compile(out, "x", "exec")


def test_inline_instance_with_class_arguments_passes_them_to_the_call():
    src = SIMPLE_BEFORE + '@prefect.flow\ndef f():\n    return Extract(table="orders")()\n'
    src = "import prefect\n" + src
    out = apply_rule(RULE, src)
    assert '@task(name="Extract")\ndef extract_task(table=None):' in out
    assert 'return extract_task(table="orders")' in out
    assert out == (
        "import prefect\n"
        "from prefect import task\n"
        "\n"
        "\n"
        '@task(name="Extract")\n'
        "def extract_task(table=None):\n"
        "    return read(table)\n"
        "\n"
        "\n"
        "# users\n"
        '@task(name="Extract", max_retries=2)\n'
        'def extract(table="users"):\n'
        "    return read(table)\n"
        "@prefect.flow\n"
        "def f():\n"
        '    return extract_task(table="orders")\n'
    )


WRAP_BEFORE = """\
from prefect import Task
from prefect.utilities.tasks import defaults_from_attrs

class Scale(Task):
    def __init__(self, factor=2, **kwargs):
        self.factor = factor
        self.calls = 0
        super().__init__(**kwargs)

    def helper(self, x):
        return x * self.factor

    @defaults_from_attrs("factor")
    def run(self, x, factor=None):
        self.calls += 1
        return self.helper(x) + factor

scale = Scale(factor=3, max_retries=1)
"""

WRAP_AFTER = """\
from prefect import task

# TODO(prefect2-migration): PF006 Task subclass Scale is kept as a plain helper class; \
its instances became @task functions calling .run() -- check state kept on the instance
class Scale:
    def __init__(self, factor=2, **kwargs):
        self.factor = factor
        self.calls = 0

    def helper(self, x):
        return x * self.factor

    def run(self, x, factor=None):
        factor = self.factor if factor is None else factor
        self.calls += 1
        return self.helper(x) + factor

@task(name="Scale", max_retries=1)
def scale(x, factor=None):
    return Scale(factor=3).run(x=x, factor=factor)
"""


def test_class_with_state_is_kept_as_helper_and_wrapped():
    out = apply_rule(RULE, WRAP_BEFORE)
    assert "class Scale:\n" in out
    assert "super().__init__" not in out and "defaults_from_attrs" not in out
    assert "        factor = self.factor if factor is None else factor\n" in out
    assert '@task(name="Scale", max_retries=1)\ndef scale(x, factor=None):\n' in out
    assert "    return Scale(factor=3).run(x=x, factor=factor)\n" in out
    assert "# TODO(prefect2-migration): PF006 Task subclass Scale is kept as a plain helper" in out
    assert out == WRAP_AFTER
    assert apply_rule(RULE, out) == out


READS_ONLY_BEFORE = """\
from prefect import Task

class Offset(Task):
    def __init__(self, base: int, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.base = base

    def shift(self, x):
        return x + self.base

    def run(self, x, y=None):
        return self.shift(x) + (self.base if y is None else y)

offset = Offset(base=5, max_retries=2)
"""

READS_ONLY_AFTER = """\
from prefect import task

class Offset:
    def __init__(self, base: int, *args, **kwargs):
        self.base = base

    def shift(self, x):
        return x + self.base

    def run(self, x, y=None):
        return self.shift(x) + (self.base if y is None else y)

@task(name="Offset", max_retries=2)
def offset(x, y=None):
    return Offset(base=5).run(x=x, y=y)
"""


def test_class_arguments_beside_star_args_go_to_the_class_and_reads_need_no_todo():
    """An ``__init__(self, base, *args, **kwargs)`` argument is the class's, not a task option;
    a class whose methods only read what ``__init__`` stored gets no TODO (a fresh instance per
    call is the same task)."""
    assert_rewrite(RULE, READS_ONLY_BEFORE, READS_ONLY_AFTER)


@pytest.mark.parametrize(
    "run_body",
    [
        "self.base += 1\n        return x",  # writes its state
        "self.seen.append(x)\n        return x",  # mutates an attribute
        "return helper(self, x)",  # hands itself to other code
        "return x + self.max_retries",  # reads a Task attribute
    ],
)
def test_a_class_touching_its_state_keeps_the_todo(run_body):
    source = READS_ONLY_BEFORE.replace(
        "return self.shift(x) + (self.base if y is None else y)", run_body
    )
    assert "check state kept on the instance" in apply_rule(RULE, source)


INSTANCE_TODO = "# TODO(prefect2-migration): PF006 instance of the Task subclass T: see the class\n"


@pytest.mark.parametrize(
    ("source", "reason", "after"),
    [
        (
            "from prefect import Task\nclass T(Task):\n    def __call__(self, x):\n        pass\n"
            "    def run(self):\n        pass\nt = T()\n",
            "overrides Prefect internals (__call__)",
            "# TODO(prefect2-migration): PF006 Task subclass T overrides Prefect internals "
            "(__call__): rewrite it as a @task function by hand\n"
            "# class T(Task):\n#     def __call__(self, x):\n#         pass\n"
            "#     def run(self):\n#         pass\n" + INSTANCE_TODO + "# t = T()\n",
        ),
        (
            "from prefect.tasks.shell import ShellTask\nclass T(ShellTask):\n    def run(self):\n"
            "        return super().run(command='ls')\nt = T()\n",
            "inherits the task-library class ShellTask",
            "from prefect.tasks.shell import ShellTask\n"
            "# TODO(prefect2-migration): PF006 Task subclass T inherits the task-library class "
            "ShellTask: rewrite it as a @task function by hand\n"
            "# class T(ShellTask):\n#     def run(self):\n"
            "#         return super().run(command='ls')\n" + INSTANCE_TODO + "# t = T()\n",
        ),
    ],
)
def test_human_cases_are_commented_out(source, reason, after):
    out = apply_rule(RULE, source)
    assert reason in out
    assert "# t = T()" in out
    assert out == after
    compile(out, "x", "exec")
    assert apply_rule(RULE, out) == out


NOOPS = [
    "from luigi import Task\nclass T(Task):\n    def run(self):\n        pass\nt = T()\n",
    "class Task:\n    pass\nclass T(Task):\n    def run(self):\n        pass\nt = T()\n",
    "from prefect import task\n@task\ndef t(x):\n    return x\n",
    "from prefect import Task\nx = 1\n",
]


@pytest.mark.parametrize("source", NOOPS)
def test_noops(source):
    assert_noop(RULE, source)


def test_migrated_subclass_module_runs_under_prefect2(tmp_path, prefect_env):
    before = textwrap.dedent(
        """\
        from prefect import Task
        from prefect.utilities.tasks import defaults_from_attrs

        ATTEMPTS = []

        class Extract(Task):
            def __init__(self, table=None, **kwargs):
                self.table = table
                super().__init__(**kwargs)

            @defaults_from_attrs("table")
            def run(self, table=None):
                ATTEMPTS.append(table)
                if len(ATTEMPTS) < 2:
                    raise RuntimeError("flaky")
                return f"rows of {table}"

        class Scale(Task):
            def __init__(self, factor=2, **kwargs):
                self.factor = factor
                super().__init__(**kwargs)

            def helper(self, x):
                return x * self.factor

            def run(self, x):
                return self.helper(x)

        extract = Extract(table="users", max_retries=1)
        scale = Scale(factor=3)
        """
    )
    from meta_flows.core.codemod.rules.task_options import RULE as OPTIONS

    migrated = apply_rule(OPTIONS, apply_rule(RULE, before))
    assert '@task(name="Extract", retries=1)\ndef extract(table="users"):' in migrated
    script = migrated + textwrap.dedent(
        """
        from prefect import flow

        @flow
        def f():
            return extract(), Extract_or_none(), scale(5), scale.name, extract.name

        def Extract_or_none():
            return globals().get("Extract")

        assert f() == ("rows of users", None, 15, "Scale", "Extract"), f()
        assert ATTEMPTS == ["users", "users"]
        print("OK")
        """
    )
    assert "OK" in run_under_prefect2(tmp_path, script, prefect_env)


def test_whole_pipeline_subclass_options_and_calls():
    from meta_flows.core.codemod.testing import migrate

    result = migrate(
        """\
        from datetime import timedelta
        from prefect import Flow, Task, task
        from prefect.utilities.tasks import defaults_from_attrs

        class Extract(Task):
            def __init__(self, table=None, **kwargs):
                self.table = table
                super().__init__(**kwargs)

            @defaults_from_attrs("table")
            def run(self, table=None):
                return [table]

        extract = Extract(table="users", max_retries=2, retry_delay=timedelta(seconds=1))

        @task(max_retries=1, nout=2)
        def load(rows):
            return len(rows)

        with Flow("etl") as flow:
            rows = extract()
            load(rows, upstream_tasks=[rows])
        """
    )
    code = result.code
    assert (
        '@task(name="Extract", retries=2, retry_delay_seconds=1)\ndef extract(table="users"):'
        in code
    )
    assert "@task(retries=1)\ndef load(rows):" in code
    assert "load(rows, wait_for=[rows])" in code
    assert "Task" not in code.replace("@task", "") and "timedelta" not in code
    assert code == textwrap.dedent(
        """\
        from prefect import flow, task

        @task(name="Extract", retries=2, retry_delay_seconds=1)
        def extract(table="users"):
            return [table]

        @task(retries=1)
        def load(rows):
            return len(rows)

        @flow(name="etl")
        def etl():
            rows = extract()
            return load(rows, wait_for=[rows])
        """
    )
    compile(code, "etl.py", "exec")


def test_a_module_binding_task_itself_imports_the_decorator_under_another_name():
    """Issue #14: ``task = load_config()`` of the user's own would shadow Prefect 2's ``task``
    decorator the new ``@task`` function needs: it is imported as ``prefect_task``."""
    assert_rewrite(
        RULE,
        """\
        from prefect import Task
        task = {"factor": 3}
        class Scale(Task):
            def run(self, x):
                return x * task["factor"]
        scale = Scale()
        """,
        """\
        from prefect import task as prefect_task

        task = {"factor": 3}


        @prefect_task(name="Scale")
        def scale(x):
            return x * task["factor"]
        """,
    )


def test_prefect_task_import_is_not_the_users_own_name():
    out = apply_rule(
        RULE,
        "from prefect import Task, task\n@task\ndef a():\n    return 1\n"
        "class B(Task):\n    def run(self):\n        return 2\nb = B()\n",
    )
    assert '@task(name="B")' in out and "prefect_task" not in out


ATTRIBUTE_FLOW = """\
import datetime
import prefect


class Flaky(prefect.Task):
    def __init__(self, name):
        super().__init__(
            name=name, max_retries=1, retry_delay=datetime.timedelta(seconds=0)
        )

    def run(self):
        if prefect.context.task_run_count < 2:
            raise ValueError("again")


flow = prefect.Flow("attrs")
flow.first = Flaky("first")
flow.second = Flaky("second")
flow.add_edge(flow.first, flow.second)
flow.register("proj")
"""

ATTRIBUTE_FLOW_AFTER = """\
from prefect import flow, runtime, task


@flow(name="attrs")
def attrs():
    first_result = first()
    return second(wait_for=[first_result])


@task(name="first", retries=1, retry_delay_seconds=0)
def first():
    if runtime.task_run.run_count < 2:
        raise ValueError("again")


@task(name="second", retries=1, retry_delay_seconds=0)
def second():
    if runtime.task_run.run_count < 2:
        raise ValueError("again")
"""


def test_tasks_kept_as_flow_attributes_become_module_tasks_of_the_functional_flow():
    """``flow.first = Flaky("first")``: the instance becomes the task ``first`` (its name from the
    argument super().__init__ got), ``flow.first`` names it, and the functional flow is static."""
    result = migrate(ATTRIBUTE_FLOW)
    assert result.code == ATTRIBUTE_FLOW_AFTER, result.code
    assert result.todos == []
    assert migrate(result.code).code == result.code


@pytest.mark.parametrize(
    "change",
    [
        ('flow.second = Flaky("second")\n', 'flow.second = Flaky("second")\nflow.second = None\n'),
        ('flow.second = Flaky("second")\n', 'flow.second = Flaky("second")\nsecond = 1\n'),
    ],
    ids=["stored-twice", "name-taken"],
)
def test_flow_attributes_left_for_a_human_when_not_provable(change):
    out = migrate(ATTRIBUTE_FLOW.replace(*change)).code
    assert "# TODO(prefect2-migration): PF002 Flow built with the functional API" in out
    assert "def second(" not in out and "\n# flow.add_edge(" in out


def test_class_option_naming_an_init_parameter_takes_the_instance_argument():
    source = (
        "from prefect import Task\n"
        "class T(Task):\n"
        "    def __init__(self, name=None, tags=None):\n"
        "        super().__init__(name=name, tags=tags)\n"
        "    def run(self):\n"
        "        return 1\n"
        't = T("custom")\n'
        "u = T()\n"
    )
    out = apply_rule(RULE, source)
    assert '@task(name="custom")\ndef t():\n' in out
    assert '@task(name="T")\ndef u():\n' in out  # None: Prefect 1's default, the class name


# --- instances made inside the flow with arguments of their class ---------------------------------

INSIDE_BEFORE = """\
from prefect import Flow, Task

class Scale(Task):
    def __init__(self, factor=1, **kwargs):
        self.factor = factor
        super().__init__(**kwargs)

    def describe(self):
        return f"x{self.factor}"

    def run(self, values):
        return self.describe(), [v * self.factor for v in values]

class Options(Task):
    def __init__(self, *args, task_kwargs=None, **kwargs):
        self.options = dict(kwargs, positional=list(args))
        super().__init__(**(task_kwargs or {}))

    def run(self, key):
        return self.options.get(key)

with Flow("f") as flow:
    tripled = Scale(factor=3, max_retries=1)([1])
    double = Scale(factor=2)
    doubled = double([1])
    picked = Options(7, color="red", name="x")("color")
"""


def test_instances_made_in_the_flow_with_class_arguments_are_tasks_of_their_run():
    """A class kept as a helper (its run() reads more than its arguments) has no task function
    taking its ``__init__`` arguments: an instance made in the flow block with such arguments,
    inline or bound to a name, becomes ``task(Cls(<class args>).run, name="Cls", <options>)``.
    An ``__init__`` keeping ``**kwargs`` for itself takes every keyword that is no parameter of
    it (``name=`` too: Prefect 1 never saw it)."""
    out = apply_rule(RULE, INSIDE_BEFORE)
    assert '    tripled = task(Scale(factor=3).run, name="Scale", retries=1)([1])\n' in out
    assert (
        '    double = task(Scale(factor=2).run, name="Scale")\n    doubled = double([1])\n' in out
    )
    assert (
        '    picked = task(Options(7, color="red", name="x").run, name="Options")("color")\n'
        in (out)
    )
    assert "def scale(" not in out and "def options(" not in out  # no unused base task
    assert apply_rule(RULE, out) == out


def test_an_own_kwargs_class_keeps_unknown_keywords_of_a_module_level_instance():
    source = INSIDE_BEFORE.split("with Flow")[0] + 'pick = Options(color="red", max_retries=2)\n'
    out = migrate(source, "flows.pick").code  # PF004 leaves the class's own keywords alone too
    assert '@task(name="Options")\ndef pick(key):\n' in out
    assert '    return Options(color="red", max_retries=2).run(key=key)\n' in out
    assert "TODO(prefect2-migration): PF004" not in out and " retries=2" not in out


@pytest.mark.parametrize(
    "init",
    [
        # **kwargs reach Task through a local name, or in a nested statement: not the class's
        'opts = {"tags": ["t"], **kwargs}\n        super().__init__(**opts)',
        "if kwargs:\n            super().__init__(**kwargs)",
    ],
)
def test_kwargs_passed_on_to_task_some_other_way_are_still_task_options(init):
    source = INSIDE_BEFORE.replace("super().__init__(**kwargs)", init, 1)
    out = migrate(source, "flows.inside").code
    assert 'task(Scale(factor=3).run, name="Scale", retries=1)([1])' in out, out
    assert "max_retries" not in out


def test_instances_made_in_the_flow_run_under_prefect2(tmp_path, prefect_env):
    code = migrate(INSIDE_BEFORE, "flows.inside").code
    todos = [line for line in code.splitlines() if "TODO(prefect2-migration)" in line]
    assert len(todos) == 1 and "Task subclass Options is kept" in todos[0], code
    script = code + textwrap.dedent(
        """
        assert f(return_state=True).is_completed()
        from prefect import flow as _flow

        @_flow
        def check():
            return (
                task(Scale(factor=3).run, name="Scale")([1, 2]),
                task(Options(7, color="red").run, name="Options")("color"),
            )

        assert check() == (("x3", [3, 6]), "red"), check()
        print("OK")
        """
    )
    assert "OK" in run_under_prefect2(tmp_path, script, prefect_env)
