"""PF010 secrets: PrefectSecret / Secret / EnvVarSecret become Secret blocks and os.environ."""

import pytest
from libcst.codemod import CodemodContext

from meta_flows.core.codemod.base import SCRATCH_BLOCKS, todo_text
from meta_flows.core.codemod.rules.secrets import SecretsRule, block_name
from meta_flows.core.codemod.testing import apply_rule, assert_noop, assert_rewrite

P1 = "from prefect.tasks.secrets import PrefectSecret, EnvVarSecret\n"


def _flow(imports: str, line: str) -> str:
    return f"{imports}\n@flow(name='x')\ndef x_flow():\n    v = {line}\n"


@pytest.mark.parametrize(
    ("name", "block"),
    [
        ("MY_SECRET", "my-secret"),
        ("GITHUB_TOKEN", "github-token"),
        ("db.pass", "db-pass"),
        ("x", "x"),
    ],
)
def test_block_name(name, block):
    assert block_name(name) == block


@pytest.mark.parametrize(
    ("expr", "after"),
    [
        ('PrefectSecret("MY_SECRET")', 'Secret.load("my-secret").get()'),
        ('PrefectSecret("MY_SECRET")()', 'Secret.load("my-secret").get()'),
        ('PrefectSecret("MY_SECRET").run()', 'Secret.load("my-secret").get()'),
        ('PrefectSecret(name="MY_SECRET")', 'Secret.load("my-secret").get()'),
        ("f(PrefectSecret('A_B'))", 'f(Secret.load("a-b").get())'),
    ],
)
def test_prefect_secret(expr, after):
    assert_rewrite(
        SecretsRule,
        _flow("from prefect import flow\n" + P1.replace(", EnvVarSecret", ""), expr),
        _flow("from prefect import flow\nfrom prefect.blocks.system import Secret\n", after),
    )


@pytest.mark.parametrize(
    ("expr", "after"),
    [
        ('EnvVarSecret("HOME")', 'os.environ.get("HOME")'),
        ('EnvVarSecret("HOME")()', 'os.environ.get("HOME")'),
        ('EnvVarSecret("HOME", raise_if_missing=False)', 'os.environ.get("HOME")'),
        ('EnvVarSecret("HOME", raise_if_missing=True)', 'os.environ["HOME"]'),
        ('EnvVarSecret("PORT", cast=int, raise_if_missing=True)', 'int(os.environ["PORT"])'),
        ('EnvVarSecret(env_var="HOME")', 'os.environ.get("HOME")'),
    ],
)
def test_env_var_secret(expr, after):
    assert_rewrite(
        SecretsRule,
        _flow("from prefect import flow\n" + P1.replace("PrefectSecret, ", ""), expr),
        _flow("import os\n\nfrom prefect import flow\n", after),
    )


def test_env_var_secret_cast_without_raise_is_flagged():
    out = apply_rule(SecretsRule, _flow(P1, 'EnvVarSecret("PORT", cast=int)'))
    assert out.splitlines()[-1] == '    v = int(os.environ["PORT"])'
    assert 'PF010 Prefect 1 returned None when "PORT" was unset' in out.splitlines()[-2]
    todo = todo_text(
        "PF010",
        'Prefect 1 returned None when "PORT" was unset (raise_if_missing=False); this raises '
        "KeyError: use os.environ.get and handle None if the variable may be missing",
    )
    assert out == (
        "import os\n\n@flow(name='x')\ndef x_flow():\n"
        f'    {todo}\n    v = int(os.environ["PORT"])\n'
    )


def test_client_secret_and_module_path_import():
    assert_rewrite(
        SecretsRule,
        "import prefect\n\ndef t():\n    return prefect.client.Secret('DB_PASS').get()\n",
        "import prefect\nfrom prefect.blocks.system import Secret\n\ndef t():\n"
        '    return Secret.load("db-pass").get()\n',
    )


def test_client_secret_name_clash_uses_an_alias():
    assert_rewrite(
        SecretsRule,
        "from prefect.client import Secret\n\ndef t():\n    s = Secret('DB_PASS')\n    return s.get()\n",
        "from prefect.blocks.system import Secret as SecretBlock\n\ndef t():\n"
        '    s = SecretBlock.load("db-pass")\n    return s.get()\n',
    )


def test_module_level_secret_task_becomes_a_function():
    assert_rewrite(
        SecretsRule,
        P1.replace(", EnvVarSecret", "") + "\ntoken = PrefectSecret('TOKEN')\n",
        "from prefect.blocks.system import Secret\n\n\ndef token():\n"
        '    return Secret.load("token").get()\n',
    )


MODULE_SECRET = """\
from prefect import Flow, task
from prefect.tasks.secrets import PrefectSecret

TOKEN = PrefectSecret("X")


@task
def use(t):
    return len(t)


with Flow("d") as flow:
    use(TOKEN)
    use(TOKEN())
    use(TOKEN.run())

print(TOKEN)
"""


def test_module_level_secret_read_in_a_flow_is_called():
    """Issue #14: ``use(TOKEN)`` passed the task (evaluated at run time) in Prefect 1; once
    ``TOKEN`` is a function, the flow must call it. Other reads get one TODO on the function."""
    from meta_flows.core.codemod.testing import migrate

    code = migrate(MODULE_SECRET).code
    body = code.split("def d():\n", 1)[1]
    assert body.startswith(
        "    use(TOKEN(), return_state=True)\n    use(TOKEN(), return_state=True)\n    use(TOKEN())\n"
    )
    todo = todo_text(
        "PF010",
        "`TOKEN` was a Prefect 1 secret task (read when a flow ran) and is now a function "
        "returning the secret; its uses in @flow functions call it, but those in `print(TOKEN)` "
        "still get the function: call `TOKEN()` where the value is needed",
    )
    assert f"{todo}\ndef TOKEN():\n" in code
    assert code.count("TODO(prefect2-migration)") == 1
    assert code.endswith("print(TOKEN)\n")


def test_module_level_secret_used_only_in_flows_gets_no_todo():
    from meta_flows.core.codemod.testing import migrate

    code = migrate(MODULE_SECRET.replace("print(TOKEN)\n", "")).code
    assert "TODO" not in code and "use(TOKEN())" in code


def test_dynamic_name_is_converted_at_runtime_with_todo():
    out = apply_rule(SecretsRule, _flow(P1, "PrefectSecret(name)"))
    assert out.splitlines()[-1] == '    v = Secret.load(name.lower().replace("_", "-")).get()'
    assert out.splitlines()[-2].strip().startswith(todo_text("PF010", "the secret name name is"))
    todo = todo_text(
        "PF010",
        "the secret name name is computed at run time: create a Secret block for each possible "
        "name, lowercase with '_' replaced by '-'",
    )
    assert out == (
        "from prefect.blocks.system import Secret\n\n@flow(name='x')\ndef x_flow():\n"
        f'    {todo}\n    v = Secret.load(name.lower().replace("_", "-")).get()\n'
    )


def test_required_blocks_are_recorded():
    import libcst as cst

    context = CodemodContext(filename="x.py", full_module_name="x")
    SecretsRule(context).transform_module(
        cst.parse_module(_flow(P1, "(PrefectSecret('MY_SECRET'), PrefectSecret('OTHER'))"))
    )
    assert context.scratch[SCRATCH_BLOCKS] == {
        "Secret block 'my-secret' (was Prefect 1 secret MY_SECRET)",
        "Secret block 'other' (was Prefect 1 secret OTHER)",
    }


@pytest.mark.parametrize(
    "src",
    [
        "from mylib import Secret\nx = Secret('A').get()\n",
        "from prefect.blocks.system import Secret\nx = Secret.load('a').get()\n",
        "class PrefectSecret:\n    pass\nx = PrefectSecret('A')\n",
        "from prefect.tasks.secrets import PrefectSecret\ndef f(PrefectSecret):\n    return PrefectSecret('A')\n",
        "import os\nx = os.environ.get('A')\n",
    ],
)
def test_noop(src):
    assert_noop(SecretsRule, src)


def test_whole_pipeline_output_imports_under_prefect2():
    from meta_flows.core.codemod.testing import migrate

    result = migrate(
        """
        import prefect
        from prefect import task, Flow, Parameter
        from prefect.tasks.secrets import PrefectSecret, EnvVarSecret

        def notify(obj, old_state, new_state):
            if new_state.is_failed():
                print("failed", obj.name)
            return new_state

        @task(state_handlers=[notify], max_retries=2)
        def extract(token, home, day):
            logger = prefect.context.get("logger")
            logger.info("day %s", day)
            return prefect.context.today

        with Flow("etl") as flow:
            day = Parameter("day", default="x")
            token = PrefectSecret("API_TOKEN")
            extract(token, EnvVarSecret("HOME"), day)
        """
    )
    code = result.code
    assert 'token = Secret.load("api-token").get()' in code
    assert "@task(on_failure=[notify_on_failure], retries=2)" in code
    assert "logger = get_run_logger()" in code and "return _prefect1_today()" in code
    assert result.blocks == ["Secret block 'api-token' (was Prefect 1 secret API_TOKEN)"]
    assert result.todos == []
    assert code == (
        "\n"
        "import os\n"
        "\n"
        "from prefect import flow, get_run_logger, runtime, task\n"
        "from prefect.blocks.system import Secret\n"
        "\n"
        "\n"
        'def _prefect1_today(offset_days=0, fmt="%Y-%m-%d"):\n'
        '    """Prefect 1\'s context ``today`` (+/- days): '
        'the flow run\'s scheduled start date."""\n'
        "    from datetime import timedelta\n"
        "\n"
        "    return (runtime.flow_run.scheduled_start_time + timedelta(days=offset_days))"
        ".strftime(fmt)\n"
        "\n"
        "\n"
        "def notify_on_failure(task, task_run, state):\n"
        '    print("failed", task.name)\n'
        "\n"
        "@task(on_failure=[notify_on_failure], retries=2)\n"
        "def extract(token, home, day):\n"
        "    logger = get_run_logger()\n"
        '    logger.info("day %s", day)\n'
        "    return _prefect1_today()\n"
        "\n"
        '@flow(name="etl")\n'
        'def etl(day: str = "x"):\n'
        '    token = Secret.load("api-token").get()\n'
        '    return extract(token, os.environ.get("HOME"), day)\n'
    )
    exec(compile(code, "etl.py", "exec"), {"__name__": "etl"})  # imports under Prefect 2.20
