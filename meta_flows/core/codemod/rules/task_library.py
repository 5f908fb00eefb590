"""PF013 task_library: ``prefect.tasks.*`` library tasks become Prefect 2 code (docs/spec.md §12).

Rewrites (A/C)::

    shell = ShellTask(return_all=True, helper_script="cd /data")
    ->  @task(name="ShellTask")
        def shell(command=None, env=None, helper_script="cd /data"):
            return _run_shell_task(command, env, helper_script, return_all=True)

``_run_shell_task`` (written once into the module) runs the script with prefect-shell's
``ShellOperation(commands=[...]).run()`` and adapts its result to Prefect 1's ``ShellTask``: stderr
merged into stdout (``exec 2>&1``), each line right-stripped, the last line (``None`` without
output) or every line with ``return_all=True``; a non-zero exit fails the task. Known difference:
ShellOperation strips trailing blank lines of the output (Prefect 1 returned ``""`` for a final
empty line) and may split a line that the command wrote in several pieces with pauses between them.
An inline ``ShellTask(...)`` (``StringFormatter``, ``JinjaTemplate``, the database tasks below)
is hoisted to a module-level task placed just before the flow when it sits directly in a flow
body (Prefect 1 built a ``with Flow`` block when the module ran it), is called directly or with
``.map`` (no ``task_args=``), and its arguments have the same value there: literals, builtins,
``timedelta(...)``, and module names bound before the flow that neither the flow's own statement
nor a function using ``global`` rebinds (a later rebinding does not matter: Prefect 1 had read
the value). Otherwise (inside a task, a flow parameter or local, another call, an attribute the
flow may change first) the code stays and the class is given up, under one TODO above its
stand-in (as below) saying which argument or use prevented it. The def's name avoids every name
the module uses.

    rows = PostgresFetch("db", "etl", HOST, fetch="all", max_retries=2)
    ->  @task(name="PostgresFetch", retries=2)
        def rows(db_name="db", user="etl", host=HOST, port=5432, fetch="all", fetch_count=10,
                 query=None, data=None, commit=False, password=None, col_names=False):
            return _prefect1_postgres("fetch", query, data, fetch=fetch, ..., port=port)

The database tasks (``PostgresExecute``, ``PostgresExecuteMany``, ``PostgresFetch``,
``MySQLExecute``, ``MySQLFetch``; ``library_databases``) become a @task def taking Prefect 1's
``run()`` parameters in their order, defaulting to the constructor's values, that calls one helper
written once into the module (``_prefect1_postgres`` / ``_prefect1_mysql``): the driver Prefect 1
used (psycopg2, pymysql) with the same placeholders, row types, transactions, return values and
errors. The driver is recorded with ``require_package`` (``psycopg2-binary``, ``pymysql``).
Constructor arguments the rule cannot read (``**options``) give the class up instead.

    fmt = StringFormatter(template="Hi {name}")  ->  @task(name="StringFormatter")
                                                      def fmt(template="Hi {name}", **format_kwargs):
                                                          return template.format(**format_kwargs)
    msg = JinjaTemplate(template=T, max_retries=1)  ->  @task(name="JinjaTemplate", retries=1)
                                                        def msg(template=T, **format_kwargs):
                                                            return _render_jinja_template(
                                                                template, format_kwargs)
    FunctionTask(fn, name="x")                   ->  task(fn, name="x")
    Constant(value)                              ->  value
    start = StartFlowRun(flow_name="child", project_name="p", wait=True);  start(parameters=p)
        ->  _raise_unless_completed(run_deployment(name="child/etl", parameters=p))
                                                   (the project's deployments are known, as in a
                                                    wave: "child/etl" is the child's deployment)
        ->  child_flow(**p)                        (not known, and the child @flow(name="child") is
                                                    in this module; without wait=True, + TODO: the
                                                    call now waits)
        ->  _raise_unless_completed(run_deployment(name="child/child", parameters=p))
                                                   + TODO about the deployment name
    v = create_flow_run(flow_name="child", parameters=p)   ->  v = run_deployment(name="child/etl",
                                                                 parameters=p, timeout=0)
        (without ``timeout=0`` when a ``wait_for_flow_run(v)`` follows; that call becomes ``v``,
        with ``raise_final_state=True`` an ``if not v.state.is_completed(): raise ...``)

Prefect 1's JinjaTemplate rendered with ``prefect.context`` merged with the keyword arguments (these
win). ``_render_jinja_template`` (written once into the module, with PF007's ``_prefect1_today``)
renders with ``jinja2.Template(template).render(...)`` and supplies the Prefect 1 context names the
template reads that PF007 maps to ``prefect.runtime``, with the same values and types
(``scheduled_start_time``/``date`` a pendulum DateTime, ``today``/``yesterday``/``tomorrow`` and
their ``*_nodash`` strings, ``flow_name``, ``flow_run_id``, ``flow_run_name``, ``parameters``,
``task_name``, ``task_run_id``, ``task_run_name``, ``task_run_count``), each read only when the
template uses it and no keyword argument gives it. A literal template (or a module-level string
constant bound once) reading a Prefect 1 context name Prefect 2 has no value for (``map_index``,
``task_slug``, ``config`` ...) gets one TODO naming them. A template the rule cannot read (built
at run time, passed at the call) gets no TODO: the helper supplies the same names, and a Prefect 1
name it cannot supply renders empty (jinja2's undefined) where Prefect 1 rendered its value -- a
TODO on every such task would mostly name nothing the template reads. jinja2 is a requirement of
Prefect 2 itself: no package is recorded. Calls keep their keyword arguments (Prefect 2 resolves
futures among them as for any task argument); ``upstream_tasks=`` becomes ``wait_for=``, for these
and the ShellTask and StringFormatter tasks, hoisted ones too.

The deployment a child flow runs is the one the deployment translator gives it
(``ProjectIndex.deployments``: Prefect 1 flow name -> ``"<flow>/<deployment>"``, which a wave
computes from its translation before the rewrite). Prefect 1's semantics are kept:
``StartFlowRun(wait=True)`` and ``wait_for_flow_run(raise_final_state=True)`` failed when the child
run did not succeed, so the FlowRun ``run_deployment`` returns once the child run is final passes
through ``_raise_unless_completed`` (written once into the module), which raises unless it ended
``Completed``; ``wait=False`` and ``create_flow_run`` alone start the run with ``timeout=0``. A child
the deployments do not name (a flow of another repository) gets ``run_deployment`` with the name
``<flow>/<flow>`` and one TODO asking for its deployment's name. Without known deployments
(``meta-flows rewrite``) the name is guessed the same way, under the same TODO; the wait and the
failure when the child did not end ``Completed`` are kept all the same.

Task options of the library constructors (``name``, ``tags``, ``max_retries`` ...) move to the
``@task`` decorator in their Prefect 2 spelling (PF004 already ran); the others are dropped with a
TODO.

Flagged (H; the package is recorded with ``require_package``): dbt, snowflake, sql_server, aws,
gcp, airbyte, notifications (Slack, Email), jupyter, great_expectations, kubernetes,
databricks and every other ``prefect.tasks.*`` task. The code stays code: the class no rule
migrates is given up (``Rule.give_up``), so PF001 binds its imported name to a stand-in under ONE
TODO naming the Prefect 2 package and function and every line using the class -- instances built
at module level or inside a flow alike (at import a stand-in returns a stand-in; a flow reaching
it fails loudly). A class read another way (``tasks.S3Download(...)``), or PF001 switched off:
the instantiation is commented out under that TODO instead. The StartFlowRun, ShellTask,
StringFormatter and JinjaTemplate forms the rule cannot follow are commented out under a TODO.
``control_flow`` (PF008) and ``secrets`` (PF010) are left to their rules.

``get_task_run_result(run, "slug")`` has no rewrite (H): Prefect 2 has no task slugs and reads no
task result of another flow run, and which task of the child a slug names is not known. The call
stays code and PF001 binds ``get_task_run_result`` to a stand-in, under one TODO: return the value
from the child flow, persist its result (``@flow(persist_result=True)``) and read
``run.state.result()`` off the FlowRun ``run_deployment`` returned (``run`` named when it came
from a ``create_flow_run`` this rule rewrote).
"""

from __future__ import annotations

import ast
import datetime
import string
from dataclasses import dataclass, field

import jinja2
import jinja2.meta
import libcst as cst
from libcst.metadata import (
    BuiltinScope,
    GlobalScope,
    ParentNodeProvider,
    QualifiedNameProvider,
    QualifiedNameSource,
    ScopeProvider,
)

from meta_flows.core.codemod.analysis.decorators import decorator_name
from meta_flows.core.codemod.analysis.scope import References
from meta_flows.core.codemod.base import (
    SCRATCH_DISABLED,
    Rule,
    code_of,
    dotted_name,
    get_arg,
    insert_helper,
    is_literal,
    literal_value,
)
from meta_flows.core.codemod.library_databases import DATABASE_TASKS, HELPERS
from meta_flows.core.codemod.options import number, numeric_value, total_seconds_code
from meta_flows.core.codemod.rules.context import (
    PREFECT1_KEYS,
    RUNTIME_KEYS,
    TODAY_HELPER,
    TODAY_HELPER_CODE,
    runtime_code,
)

TASKS = "prefect.tasks."

# (library module, class) -> (Prefect 2 package, what to use instead)
LIBRARY: dict[tuple[str, str | None], tuple[str, str]] = {
    ("dbt", "DbtShellTask"): (
        "prefect-dbt",
        "prefect_dbt.cli.commands.DbtCoreOperation(commands=['dbt ...'], project_dir=..., "
        "profiles_dir=...).run() inside a @task",
    ),
    ("dbt", None): (
        "prefect-dbt",
        "prefect_dbt (DbtCoreOperation, or run_dbt_cloud_job for dbt Cloud)",
    ),
    ("snowflake", None): (
        "prefect-snowflake",
        "prefect_snowflake.database.snowflake_query(query, snowflake_connector) with a "
        "SnowflakeConnector block holding the account/user/password arguments",
    ),
    ("postgres", None): (
        "prefect-sqlalchemy",
        "a prefect_sqlalchemy.SqlAlchemyConnector block (postgresql+psycopg2 URL) and its "
        ".execute(query, parameters) / .fetch_all(query, parameters)",
    ),
    ("mysql", None): (
        "prefect-sqlalchemy",
        "a prefect_sqlalchemy.SqlAlchemyConnector block (mysql+pymysql URL) and its "
        ".execute(query, parameters) / .fetch_all(query, parameters)",
    ),
    ("aws", "S3Download"): (
        "prefect-aws",
        "prefect_aws.S3Bucket(bucket_name=..., credentials=AwsCredentials.load(...)).read_path(key)",
    ),
    ("aws", "S3Upload"): (
        "prefect-aws",
        "prefect_aws.S3Bucket(bucket_name=..., credentials=AwsCredentials.load(...))"
        ".write_path(key, data)",
    ),
    ("aws", "LambdaInvoke"): (
        "prefect-aws",
        "prefect_aws.lambda_function.LambdaFunction(function_name=..., credentials=...)"
        ".invoke(payload)",
    ),
    ("aws", None): ("prefect-aws", "the matching prefect_aws block (AwsCredentials, S3Bucket ...)"),
    ("gcp", "BigQueryTask"): (
        "prefect-gcp",
        "prefect_gcp.bigquery.bigquery_query(query, gcp_credentials=GcpCredentials.load(...))",
    ),
    ("gcp", "GCSUpload"): (
        "prefect-gcp",
        "prefect_gcp.cloud_storage.GcsBucket(bucket=..., gcp_credentials=...).write_path(path, data)",
    ),
    ("gcp", "GCSDownload"): (
        "prefect-gcp",
        "prefect_gcp.cloud_storage.GcsBucket(bucket=..., gcp_credentials=...).read_path(path)",
    ),
    ("gcp", None): (
        "prefect-gcp",
        "the matching prefect_gcp block (GcpCredentials, GcsBucket ...)",
    ),
    ("airbyte", None): (
        "prefect-airbyte",
        "prefect_airbyte.flows.run_connection_sync with an AirbyteConnection block",
    ),
    ("great_expectations", None): (
        "prefect-great-expectations",
        "prefect_great_expectations.run_checkpoint_validation(checkpoint_name=..., data_context_root_dir=...)",
    ),
    ("notifications", "SlackTask"): (
        "prefect-slack",
        "prefect_slack.messages.send_incoming_webhook_message(slack_webhook=SlackWebhook.load(...), "
        "text=...)",
    ),
    ("notifications", "EmailTask"): (
        "prefect-email",
        "prefect_email.email_send_message(email_server_credentials=EmailServerCredentials.load(...), "
        "subject=..., msg=..., email_to=...)",
    ),
    ("notifications", None): ("prefect-slack", "prefect_slack / prefect_email notification tasks"),
    ("jupyter", None): (
        "prefect-jupyter",
        "prefect_jupyter.notebook.execute_notebook(path, parameters=...)",
    ),
    ("kubernetes", None): (
        "prefect-kubernetes",
        "prefect_kubernetes.jobs.KubernetesJob / run_namespaced_job (or a kubernetes work pool)",
    ),
    ("databricks", None): (
        "prefect-databricks",
        "prefect_databricks.flows.jobs_runs_submit_and_wait_for_completion with DatabricksCredentials",
    ),
    ("azure", None): ("prefect-azure", "the matching prefect_azure block or task"),
    ("docker", None): ("prefect-docker", "the matching prefect_docker task"),
    ("github", None): ("prefect-github", "the matching prefect_github task"),
    ("sql_server", None): ("prefect-sqlalchemy", "a prefect_sqlalchemy.SqlAlchemyConnector block"),
}

# Prefect 1 Task constructor options -> Prefect 2 ``@task`` spelling (None: dropped quietly).
_TASK_OPTIONS = {
    "name": "name",
    "tags": "tags",
    "max_retries": "retries",
    "log_stdout": "log_prints",
    "checkpoint": "persist_result",
    "nout": None,
    "slug": None,
}
_SHELL_RUN_ARGS = ("command", "env", "helper_script")  # overridable at call time
_SHELL_INIT_ARGS = ("shell", "return_all", "log_stderr", "stream_output")
_SHELL_POSITIONAL = _SHELL_RUN_ARGS + _SHELL_INIT_ARGS
_POSIX_SHELLS = {"bash", "sh", "zsh", "dash", "ksh"}
_P1_CONTEXT_KEYS = {
    "today", "yesterday", "tomorrow", "today_nodash", "yesterday_nodash", "tomorrow_nodash",
    "date", "flow_name", "flow_run_name", "flow_run_id", "flow_id", "task_name", "task_run_id",
    "task_full_name", "task_slug", "map_index", "parameters", "scheduled_start_time",
}  # fmt: skip

SHELL_HELPER = '''\
def _run_shell_task(command, env=None, helper_script=None, shell="bash", return_all=False, stream_output=False):
    """Prefect 1 ShellTask semantics on prefect-shell: stderr merged into stdout; returns the last
    line (None without output), or every line with return_all=True; a non-zero exit fails."""
    if command is None:
        raise TypeError("run() missing required argument: 'command'")
    commands = ["exec 2>&1", *([helper_script] if helper_script else []), command]
    operation = ShellOperation(
        commands=commands, env=env or {}, shell=shell, stream_output=bool(stream_output)
    )
    lines = [line.rstrip() for line in operation.run()]
    if return_all:
        return lines
    return lines[-1] if lines else None
'''


CHILD_HELPER = '''\
def _raise_unless_completed(flow_run):
    """Prefect 1's StartFlowRun(wait=True) / wait_for_flow_run(raise_final_state=True): the
    child flow run once it is final; an error failing this flow when it did not end Completed."""
    if not flow_run.state.is_completed():
        raise RuntimeError(f"child flow run {flow_run.name} ended in state {flow_run.state.name}")
    return flow_run
'''


JINJA_HELPER_NAME = "_render_jinja_template"
_JINJA_CONTEXT = "".join(f'        "{key}": lambda: {runtime_code(key)},\n' for key in RUNTIME_KEYS)
JINJA_HELPER = f'''\
def {JINJA_HELPER_NAME}(template, format_kwargs):
    """Prefect 1's JinjaTemplate: the template rendered by jinja2 with the keyword arguments and
    the Prefect 1 context names it reads that prefect.runtime has (the arguments win)."""
    context = {{
{_JINJA_CONTEXT}    }}
    names = jinja2.meta.find_undeclared_variables(jinja2.Environment().parse(template))
    values = {{name: context[name]() for name in names - format_kwargs.keys() if name in context}}
    return jinja2.Template(template).render(**values, **format_kwargs)
'''
# Prefect 1 context names with no Prefect 2 value: the helper cannot supply them.
_CONTEXT_WITHOUT_RUNTIME = PREFECT1_KEYS - set(RUNTIME_KEYS)
# Library classes this rule rewrites into a @task def (module level, or hoisted there).
DEFINED_AS_TASKS = (
    ("shell", "ShellTask"),
    ("templates", "StringFormatter"),
    ("templates", "JinjaTemplate"),
    *DATABASE_TASKS,
)


def library_key(qualified: str | None) -> tuple[str, str] | None:
    """``prefect.tasks.aws.s3.S3Download`` -> ``("aws", "S3Download")``."""
    if not qualified or not qualified.startswith(TASKS):
        return None
    parts = qualified[len(TASKS) :].split(".")
    if len(parts) < 2:
        return None
    return parts[0], parts[-1]


def library_advice(key: tuple[str, str]) -> tuple[str | None, str]:
    """The Prefect 2 package and what to use for a library task class."""
    found = LIBRARY.get(key) or LIBRARY.get((key[0], None))
    if found:
        return found
    return None, "a plain @task (no Prefect 2 integration replaces it)"


def quote(text: str) -> str:
    """A double-quoted Python string literal."""
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def call_kwargs(call: cst.Call, positional: tuple[str, ...] = ()) -> dict[str, cst.Arg] | None:
    """Keyword -> argument of a call (positionals named after ``positional``); None with ``*``."""
    out: dict[str, cst.Arg] = {}
    index = 0
    for arg in call.args:
        if arg.star:
            return None
        if arg.keyword is None:
            if index >= len(positional):
                return None
            out[positional[index]] = arg
            index += 1
        else:
            out[arg.keyword.value] = arg
    return out


def task_options(kwargs: dict[str, str], default_name: str) -> tuple[list[str], list[str]]:
    """Prefect 1 Task constructor options (code) -> Prefect 2 ``@task`` options and dropped ones."""
    options = [f"name={kwargs.get('name', quote(default_name))}"]
    dropped = []
    for key, value in kwargs.items():
        if key == "name":
            continue
        if key in _TASK_OPTIONS:
            if _TASK_OPTIONS[key]:
                options.append(f"{_TASK_OPTIONS[key]}={value}")
        elif key == "retry_delay":
            options.append(f"retry_delay_seconds={_retry_delay_seconds(value)}")
        elif key == "timeout":
            try:
                number = literal_value(cst.parse_expression(value))
            except Exception:
                number = None
            if isinstance(number, int):
                options.append(f"timeout_seconds={value}")
            else:
                dropped.append(f"timeout={value}")
        else:
            dropped.append(f"{key}={value}")
    return options, dropped


def _retry_delay_seconds(value: str) -> str:
    """A Prefect 1 ``retry_delay`` (code of a timedelta) in seconds: a literal
    ``timedelta(...)`` or a number becomes the number, anything else ``int(x.total_seconds())``
    (never ``.total_seconds()`` on a number)."""
    try:
        node = cst.parse_expression(value)
    except Exception:
        return f"int(({value}).total_seconds())"
    seconds = numeric_value(node)
    if seconds is None and isinstance(node, cst.Call) and not any(a.star for a in node.args):
        name = code_of(node.func)
        if name in ("timedelta", "datetime.timedelta"):
            values = [numeric_value(a.value) for a in node.args]
            if all(v is not None for v in values):
                pos = [v for a, v in zip(node.args, values, strict=True) if a.keyword is None]
                kw = {
                    a.keyword.value: v
                    for a, v in zip(node.args, values, strict=True)
                    if a.keyword is not None
                }
                try:
                    seconds = datetime.timedelta(*pos, **kw).total_seconds()
                except (TypeError, ValueError, OverflowError):
                    seconds = None
    if seconds is not None:
        return code_of(number(seconds))
    return total_seconds_code(node)


@dataclass
class Instance:
    """A module-level ``name = LibraryTask(...)`` assignment."""

    name: str
    key: tuple[str, str]
    call: cst.Call
    uses: int = 0
    direct_calls: int = 0


@dataclass
class _Scan(cst.CSTVisitor):
    names: set[str]
    uses: dict[str, int] = field(default_factory=dict)
    calls: list[cst.Call] = field(default_factory=list)
    all_names: set[str] = field(default_factory=set)

    def visit_AssignTarget(self, node: cst.AssignTarget) -> bool:
        if isinstance(node.target, cst.Name):
            self.all_names.add(node.target.value)
            return False
        return True

    def visit_Arg(self, node: cst.Arg) -> bool:
        if node.keyword is not None:
            self.all_names.add(node.keyword.value)
        node.value.visit(self)
        return False

    def visit_Attribute(self, node: cst.Attribute) -> bool:
        node.value.visit(self)
        return False

    def visit_Call(self, node: cst.Call) -> None:
        self.calls.append(node)

    def visit_Name(self, node: cst.Name) -> None:
        self.all_names.add(node.value)
        if node.value in self.names:
            self.uses[node.value] = self.uses.get(node.value, 0) + 1


class TaskLibraryRule(Rule):
    """Prefect.tasks.* library tasks become the integration packages (§12)."""

    CODE = "PF013"
    NAME = "task-library"
    DESCRIPTION = "prefect.tasks.* library tasks become the integration packages (§12)"
    TRIGGERS = ("prefect.tasks", "StartFlowRun", "create_flow_run")

    def __init__(self, context) -> None:
        super().__init__(context)
        self._instances: dict[str, Instance] = {}
        self._child_flows: dict[str, str] = {}  # Prefect flow name -> function in this module
        self._waited: set[str] = set()  # variables passed to wait_for_flow_run
        self._runs: set[str] = set()  # variables bound to a create_flow_run made run_deployment
        self._module_names: set[str] = set()
        self._functions: set[str] = set()  # module-level ``def`` names
        self._library_imports: list[tuple[str, str]] = []
        self._comment_out: dict[int, str] = {}  # statement id -> TODO message
        self._hoisted: list[tuple[int, list[cst.BaseStatement]]] = []
        self._shell_helper_written = False
        self._child_helper_written = False
        self._jinja_helper_written = False
        self._database_helpers: list[str] = []  # helpers of library_databases to write
        self._top_index: dict[int, int] = {}  # id of a module-level statement -> its index
        self._all_names: set[str] = set()  # every name the module uses, at any depth
        # module-level names bound once, to a string literal: their value (JinjaTemplate templates)
        self._strings: dict[str, str | None] = {}
        self._generated: set[int] = set()  # ids of generated module-level statements
        self._wait_statements: dict[int, tuple[str, bool]] = {}
        self._changed = False

    def mark_applied(self) -> None:
        self._changed = True
        super().mark_applied()

    # ------------------------------------------------------------------ module scan

    def visit_Module(self, node: cst.Module) -> bool:
        super().visit_Module(node)
        self._top_index = {id(stmt): index for index, stmt in enumerate(node.body)}
        for stmt in node.body:
            if isinstance(stmt, cst.FunctionDef):
                self._module_names.add(stmt.name.value)
                self._functions.add(stmt.name.value)
                for dec in stmt.decorators:
                    if isinstance(dec.decorator, cst.Call) and self.is_prefect(dec, "prefect.flow"):
                        name = get_arg(dec.decorator, "name")
                        if name is not None and is_literal(name.value):
                            self._child_flows[str(literal_value(name.value))] = stmt.name.value
            elif isinstance(stmt, cst.ClassDef):
                self._module_names.add(stmt.name.value)
            if not isinstance(stmt, cst.SimpleStatementLine):
                continue
            for small in stmt.body:
                if isinstance(small, cst.ImportFrom) and not isinstance(
                    small.names, cst.ImportStar
                ):
                    module = dotted_name(small.module) if small.module else None
                    for alias in small.names:
                        name = dotted_name(alias.name)
                        if module and name and (module + ".").startswith(TASKS):
                            self._library_imports.append((module, name))
                        self._module_names.add(
                            alias.asname.name.value
                            if alias.asname and isinstance(alias.asname.name, cst.Name)
                            else (name or "").split(".")[0]
                        )
                if isinstance(small, cst.Assign):
                    for target in small.targets:
                        if isinstance(target.target, cst.Name):
                            self._module_names.add(target.target.value)
                            self._learn_string(target.target.value, small.value)
                    if (
                        len(small.targets) == 1
                        and isinstance(small.targets[0].target, cst.Name)
                        and isinstance(small.value, cst.Call)
                    ):
                        key = library_key(self.prefect_name(small.value.func))
                        if key and key[0] not in ("control_flow", "secrets"):
                            name = small.targets[0].target.value
                            self._instances[name] = Instance(name, key, small.value)
        scan = _Scan(set(self._instances))
        node.visit(scan)
        self._all_names = scan.all_names
        for name, count in scan.uses.items():
            self._instances[name].uses = count
        for call in scan.calls:
            if self.is_prefect(call.func, "prefect.tasks.prefect.wait_for_flow_run"):
                first = get_arg(call, "flow_run_id", 0)
                if first is not None and isinstance(first.value, cst.Name):
                    self._waited.add(first.value.value)
            instance = self._instance_of(call.func)
            if instance is not None:
                instance.direct_calls += 1
        return True

    def _learn_string(self, name: str, value: cst.BaseExpression) -> None:
        """Record ``name = "literal"``; a name bound twice (or to anything else) is unknown."""
        text = _string(value)
        known = name not in self._strings and text is not None
        self._strings[name] = text if known else None

    def _instance_of(self, node: cst.BaseExpression) -> Instance | None:
        """The module-level library task instance a Name refers to (not a shadowing local)."""
        if not self.binds_at_module_level(node, self._instances):
            return None
        return self._instances[node.value]

    def _unique(self, base: str) -> str:
        name, n = base, 2
        while name in self._module_names or name in self._all_names:
            name, n = f"{base}_{n}", n + 1
        self._module_names.add(name)
        return name

    def _flat(self, node: cst.CSTNode) -> str:
        return " ".join(self.code_for(node).split())

    def _is_module_level(self, stmt: cst.CSTNode) -> bool:
        return isinstance(self.get_metadata(ParentNodeProvider, stmt, None), cst.Module)

    # ------------------------------------------------------------------ generated code

    def _shell_task_def(
        self, name: str, call: cst.Call
    ) -> tuple[list[cst.BaseStatement], str | None]:
        """The @task def replacing ``name = ShellTask(...)``, or (``[]``, reason)."""
        kwargs = call_kwargs(call, _SHELL_POSITIONAL)
        if kwargs is None:
            return [], "ShellTask arguments could not be read"
        code = {k: self.code_for(a.value) for k, a in kwargs.items()}
        shell = kwargs.get("shell")
        if shell is not None and (
            not is_literal(shell.value) or literal_value(shell.value) not in _POSIX_SHELLS
        ):
            return [], f"ShellTask(shell={code['shell']}) is not a POSIX shell the rule knows"
        params = ", ".join(f"{k}={code.get(k, 'None')}" for k in _SHELL_RUN_ARGS)
        extra = "".join(
            f", {k}={code[k]}" for k in ("shell", "return_all", "stream_output") if k in code
        )
        options, dropped = task_options(
            {k: v for k, v in code.items() if k not in _SHELL_POSITIONAL}, "ShellTask"
        )
        decorator = decorator_name(self, "task")
        source = (
            f"@{decorator}({', '.join(options)})\n"
            f"def {name}({params}):\n"
            f"    return _run_shell_task(command, env, helper_script{extra})\n"
        )
        stmts: list[cst.BaseStatement] = []
        if not self._shell_helper_written:
            self._shell_helper_written = True
            stmts.extend(cst.parse_module(SHELL_HELPER).body)
        stmts.extend(cst.parse_module(source).body)
        self.add_import("prefect_shell", "ShellOperation")
        self.require_package("prefect-shell")
        return stmts, self._dropped_todo(dropped)

    def _template_task(
        self, name: str, call: cst.Call, cls: str, body: str
    ) -> tuple[dict[str, cst.Arg], str, list[str]] | None:
        """For ``name = <cls>(template=..., <task options>)``: its arguments, the source of the
        ``@task`` def taking ``template`` and ``**format_kwargs`` and returning ``body``, and
        the options dropped (None: the arguments cannot be read)."""
        kwargs = call_kwargs(call, ("template",))
        if kwargs is None:
            return None
        code = {k: self.code_for(a.value) for k, a in kwargs.items()}
        options, dropped = task_options({k: v for k, v in code.items() if k != "template"}, cls)
        template = code.get("template", '""')
        source = (
            f"@{decorator_name(self, 'task')}({', '.join(options)})\n"
            f"def {name}(template={template}, **format_kwargs):\n"
            f"    return {body}\n"
        )
        return kwargs, source, dropped

    def _formatter_def(
        self, name: str, call: cst.Call
    ) -> tuple[list[cst.BaseStatement], str | None]:
        found = self._template_task(
            name, call, "StringFormatter", "template.format(**format_kwargs)"
        )
        if found is None:
            return [], "StringFormatter arguments could not be read"
        kwargs, source, dropped = found
        todo = self._dropped_todo(dropped)
        template_arg = kwargs.get("template")
        fields = _template_fields(template_arg.value if template_arg else None)
        if fields is None or fields & _P1_CONTEXT_KEYS:
            todo = (
                "StringFormatter also formatted with prefect.context (today, flow_name ...): pass "
                "those values as keyword arguments (prefect.runtime has them)"
            )
        return list(cst.parse_module(source).body), todo

    def _jinja_def(self, name: str, call: cst.Call) -> tuple[list[cst.BaseStatement], str | None]:
        """The @task def replacing ``name = JinjaTemplate(...)``, rendering with the helper
        written once into the module; the TODO names what a literal template reads of the
        Prefect 1 context that Prefect 2 does not have."""
        found = self._template_task(
            name, call, "JinjaTemplate", f"{JINJA_HELPER_NAME}(template, format_kwargs)"
        )
        if found is None:
            return [], "JinjaTemplate arguments could not be read"
        kwargs, source, dropped = found
        stmts: list[cst.BaseStatement] = []
        if not self._jinja_helper_written:
            self._jinja_helper_written = True
            stmts.extend(cst.parse_module(JINJA_HELPER).body)
        stmts.extend(cst.parse_module(source).body)
        self.add_import("jinja2")
        self.add_import("jinja2.meta")
        self.add_import("prefect", "runtime")
        todos = [self._dropped_todo(dropped)] if dropped else []
        template = kwargs.get("template")
        read = self._jinja_names(template.value) if template else set()
        missing = sorted(read & _CONTEXT_WITHOUT_RUNTIME)
        if missing:
            todos.append(
                f"the template reads the Prefect 1 context {', '.join(missing)}, which Prefect 2 "
                f"does not have ({JINJA_HELPER_NAME} supplies only what prefect.runtime has): "
                "pass the value as a keyword argument of the call"
            )
        return stmts, "; ".join(todos) or None

    def _jinja_names(self, node: cst.BaseExpression) -> set[str]:
        """The names a Jinja template reads (a literal or a module-level string constant); an
        empty set when the template is not known or does not parse."""
        text = self._strings.get(node.value) if isinstance(node, cst.Name) else _string(node)
        if not isinstance(text, str):
            return set()
        try:
            return set(jinja2.meta.find_undeclared_variables(jinja2.Environment().parse(text)))
        except jinja2.TemplateError:
            return set()  # Prefect 2 fails on it as Prefect 1 did

    def _dropped_todo(self, dropped: list[str]) -> str | None:
        if not dropped:
            return None
        return f"task options {', '.join(dropped)} were dropped: set their Prefect 2 form on @task"

    def _definition(self, key, name, call):
        if key == ("shell", "ShellTask"):
            return self._shell_task_def(name, call)
        if key == ("templates", "StringFormatter"):
            return self._formatter_def(name, call)
        if key == ("templates", "JinjaTemplate"):
            return self._jinja_def(name, call)
        if key in DATABASE_TASKS:
            return self._database_def(key, name, call)
        return [], None

    def _database_def(self, key, name: str, call: cst.Call):
        """The @task def replacing ``name = PostgresFetch(...)`` (or another database task of
        library_databases): Prefect 1's run() parameters, the constructor's values as defaults."""
        spec = DATABASE_TASKS[key]
        kwargs = call_kwargs(call, tuple(p for p, _ in spec.init))
        if kwargs is None:
            return [], (
                "its arguments could not be read (`*`, `**`, or more positional arguments than "
                "Prefect 1 took), and passed by name or position it would become a @task def"
            )
        if spec.helper in self._module_names:
            return [], f"the module defines its own {spec.helper}, the name of the helper it needs"
        code = {k: self.code_for(a.value) for k, a in kwargs.items()}
        defaults = dict(spec.init + spec.run)
        params = [f"{p}={code.get(p, defaults[p])}" for p in spec.parameters]
        options, dropped = task_options(
            {k: v for k, v in code.items() if k not in defaults}, key[1]
        )
        signature = f"def {name}({', '.join(params)}):"
        if len(signature) > 99 or "\n" in signature:
            signature = f"def {name}(\n" + "".join(f"    {p},\n" for p in params) + "):"
        arguments = "".join(f"        {argument},\n" for argument in spec.arguments)
        source = (
            f"@{decorator_name(self, 'task')}({', '.join(options)})\n"
            f"{signature}\n"
            f"    return {spec.helper}(\n{arguments}    )\n"
        )
        if spec.helper not in self._database_helpers:
            self._database_helpers.append(spec.helper)
        self.add_import(spec.driver)
        self.require_package(spec.requirement)
        return list(cst.parse_module(source).body), self._dropped_todo(dropped)

    # ------------------------------------------------------------------ statements

    def leave_SimpleStatementLine(
        self, original_node: cst.SimpleStatementLine, updated_node: cst.SimpleStatementLine
    ):
        wait = self._wait_statements.pop(id(original_node), None)
        if wait is not None:
            variable, raise_final = wait
            self.mark_applied()
            if not raise_final:
                return cst.RemovalSentinel.REMOVE
            check = cst.parse_statement(
                f"if not {variable}.state.is_completed():\n"
                f'    raise RuntimeError(f"child flow run {{{variable}.name}} ended in state '
                f'{{{variable}.state.name}}")\n'
            )
            return check.with_changes(leading_lines=updated_node.leading_lines)
        message = self._comment_out.pop(id(original_node), None)
        if message is not None:
            self._changed = True
            return self.comment_out(updated_node, message)
        if len(original_node.body) != 1 or not self._is_module_level(original_node):
            return updated_node
        small = original_node.body[0]
        if not (
            isinstance(small, cst.Assign)
            and len(small.targets) == 1
            and isinstance(small.targets[0].target, cst.Name)
        ):
            return updated_node
        instance = self._instances.get(small.targets[0].target.value)
        if instance is None or instance.call is not small.value:
            return updated_node
        return self._module_instance(instance, original_node, updated_node)

    def _module_instance(self, instance: Instance, original_node, updated_node):
        key, name = instance.key, instance.name
        self._changed = True
        if key in DEFINED_AS_TASKS:
            stmts, todo = self._definition(key, name, instance.call)
            if stmts:
                stmts[0] = stmts[0].with_changes(
                    leading_lines=[*original_node.leading_lines, *stmts[0].leading_lines]
                )
                if todo:
                    stmts[-1] = stmts[-1].with_changes(
                        leading_lines=[
                            *stmts[-1].leading_lines,
                            cst.EmptyLine(comment=cst.Comment(_todo(self.CODE, todo))),
                        ]
                    )
                self.mark_applied()
                self._generated.update(id(stmt) for stmt in stmts)
                return cst.FlattenSentinel(stmts)
            if key in DATABASE_TASKS and self._give_up_class(instance.call.func, key, todo):
                return updated_node  # code kept: the class becomes a stand-in under one TODO
            return self.comment_out(updated_node, f"{todo}: rewrite it as a @task by hand")
        if key == ("prefect", "StartFlowRun"):
            if instance.uses and instance.uses == instance.direct_calls:
                # Every call site becomes a subflow call or run_deployment (see leave_Call).
                self.mark_applied()
                return cst.RemovalSentinel.REMOVE
            return self.comment_out(
                updated_node,
                "StartFlowRun: call the child @flow directly (same repository) or "
                "prefect.deployments.run_deployment(name='<flow name>/<deployment>', parameters=...)",
            )
        if key == ("core", "FunctionTask") or key == ("core", "Constant"):
            return updated_node  # leave_Call rewrote the value
        if self._give_up_class(instance.call.func, key):
            return updated_node  # code kept: the class becomes a stand-in under one TODO
        return self.comment_out(updated_node, self._library_todo(key))

    def _give_up_class(
        self, func: cst.BaseExpression, key: tuple[str, str], why: str | None = None
    ) -> bool:
        """One TODO for a library class no rule migrates (or, with ``why``, one the rule could
        not rewrite here), above the stand-in PF001 binds its name to, listing every line using
        it; the code using it stays code (False: PF001 is off, or the class is not read through a
        name PF001 can bind)."""
        qualified = self.prefect_name(func)
        if qualified is None or not isinstance(func, cst.Name):
            return False
        package, advice = library_advice(key)
        if package:
            self.require_package(package)
            advice = f"{package}: {advice}"
        if why:
            return self.give_up(
                qualified,
                f"could not be rewritten: {why}. Else use {advice}",
            )
        return self.give_up(qualified, f"has no automatic migration: use {advice}")

    def _library_todo(self, key: tuple[str, str]) -> str:
        package, advice = library_advice(key)
        if package:
            self.require_package(package)
            return f"Prefect 1 {key[1]} has no automatic migration: use {package}: {advice}"
        return (
            f"Prefect 1 {key[1]} (prefect.tasks.{key[0]}) has no automatic migration: use {advice}"
        )

    # ------------------------------------------------------------------ calls

    def leave_Call(self, original_node: cst.Call, updated_node: cst.Call) -> cst.BaseExpression:
        func = original_node.func
        # Calls of module-level instances.
        instance = self._instance_of(func)
        if instance is None and isinstance(func, cst.Attribute):
            instance = self._instance_of(func.value)
            if instance is not None and instance.key == ("prefect", "StartFlowRun"):
                self.add_todo(f"{self._flat(original_node)}: {instance.name} was a StartFlowRun")
                return updated_node
        if instance is not None:
            return self._instance_call(instance, original_node, updated_node)
        if (
            isinstance(func, cst.Attribute)
            and isinstance(func.value, cst.Call)
            and library_key(self.prefect_name(func.value.func)) is not None
        ):
            # ``Library(...).map(...)``: a method of the instance the inner call made (a stand-in
            # under its class's TODO, or a @task def): that call was handled
            return updated_node
        if isinstance(func, cst.Call):
            # ``Library(...)(...)``: the inner call was handled; only StartFlowRun merges both.
            if self.is_prefect(func.func, "prefect.tasks.prefect.StartFlowRun"):
                return self._start_flow_run(func, original_node, updated_node)
            hoisted = library_key(self.prefect_name(func.func)) in DEFINED_AS_TASKS
            if hoisted and isinstance(updated_node.func, cst.Name):  # now a module-level @task
                return self._wait_for(updated_node)
            return updated_node
        key = library_key(self.prefect_name(func))
        if key is None or key[0] in ("control_flow", "secrets"):
            return updated_node
        if key == ("core", "Constant"):
            value = get_arg(updated_node, "value", 0)
            if value is not None:
                self.mark_applied()
                return value.value
            return updated_node
        if key == ("core", "FunctionTask"):
            return self._function_task(original_node, updated_node)
        if key == ("prefect", "StartFlowRun"):
            return updated_node  # an instance: handled with its statement
        if key == ("prefect", "create_flow_run"):
            return self._create_flow_run(original_node, updated_node)
        if key == ("prefect", "wait_for_flow_run"):
            return self._wait_for_flow_run(original_node, updated_node)
        if key == ("prefect", "get_task_run_result"):
            reason = self._task_run_result_reason(updated_node)
            if not self.give_up(self.prefect_name(func), reason):
                self._flag_statement(f"get_task_run_result {reason}")
            return updated_node
        if any(i.call is original_node for i in self._instances.values()):
            return updated_node  # a module-level instance: handled with its statement
        if key in DEFINED_AS_TASKS:
            hoisted = self._hoist(key, original_node)
            if hoisted is not None:
                return hoisted
            return updated_node
        if not self._give_up_class(func, key):
            self._flag_statement(self._library_todo(key))
        return updated_node

    def _flag_statement(self, message: str) -> None:
        stmt = self._statement_stack[-1] if self._statement_stack else None
        if isinstance(stmt, cst.SimpleStatementLine):
            self._comment_out.setdefault(id(stmt), message)
        elif stmt is not None:
            self.add_todo(message)

    def _hoist(self, key, call: cst.Call) -> cst.BaseExpression | None:
        """Move an inline library task to a module-level @task def; the call site uses its name."""
        why = self._not_hoistable(call)
        stmts: list[cst.BaseStatement] = []
        name = ""
        if why is None:
            base = {
                "ShellTask": "shell_task",
                "JinjaTemplate": "jinja_template",
                "StringFormatter": "format_string",
            }.get(key[1]) or _snake_case(key[1].replace("MySQL", "Mysql"))
            name = self._unique(base)
            stmts, todo = self._definition(key, name, call)
            if not stmts:
                why = todo
        if why is not None:
            if not self._give_up_class(
                call.func, key, f"{why}, while built at module level it would become a @task def"
            ):
                self._flag_statement(
                    f"{key[1]} could not be rewritten: {why}: define it as a module-level @task "
                    "(see the other migrated library tasks)"
                )
            return None
        if todo:
            stmts[-1] = stmts[-1].with_changes(
                leading_lines=[cst.EmptyLine(comment=cst.Comment(_todo(self.CODE, todo)))]
            )
        top = self._statement_stack[0]
        self._hoisted.append((id(top), stmts))
        self._generated.update(id(stmt) for stmt in stmts)
        self._changed = True
        self.mark_applied()
        return cst.Name(name)

    def _not_hoistable(self, call: cst.Call) -> str | None:
        """Why ``Library(...)`` cannot become a module-level @task def placed just before the
        statement holding it, or None: it must sit in a @flow body (a ``with Flow`` block PF002
        converted, which Prefect 1 built when the module ran that statement), be called
        directly or with ``.map`` (no ``task_args=``), and its arguments must have the same
        value just before that statement -- literals, builtins, ``timedelta(...)``, and module
        names nothing in the flow's statement (or a function using ``global``) rebinds."""
        top_stmt = self._statement_stack[0] if self._statement_stack else None
        top = self._top_index.get(id(top_stmt))
        if (
            top is None
            or self.function_depth != 1
            or not isinstance(top_stmt, cst.FunctionDef)
            or not any(self.is_prefect(d, "prefect.flow") for d in top_stmt.decorators)
        ):
            return "it is built outside a flow body, when the code around it runs"
        parent = self.get_metadata(ParentNodeProvider, call, None)
        holder = parent
        while holder is not None and holder is not top_stmt:
            if isinstance(holder, (cst.Param, cst.Decorator)):
                return "it is built in the flow's signature"
            holder = self.get_metadata(ParentNodeProvider, holder, None)
        if isinstance(parent, cst.Attribute) and parent.attr.value == "map":
            parent = self.get_metadata(ParentNodeProvider, parent, None)
        if (
            not isinstance(parent, cst.Call)
            or get_arg(parent, "task_args") is not None
            or any(a.star == "**" for a in parent.args)
            or (
                parent.func is not call
                and not (isinstance(parent.func, cst.Attribute) and parent.func.value is call)
            )
        ):
            return "it is not simply called or mapped (`.run()`, `task_args=`, `**options`)"
        for arg in call.args:
            if arg.star:
                return "its arguments could not be read (`*`, `**`)"
            reads = _Reads()
            arg.value.visit(reads)
            shown = self._flat(arg.value)
            if reads.other:
                return f"its argument `{shown}` is computed when the flow runs"
            for inner in reads.calls:
                qnames = self.get_metadata(QualifiedNameProvider, inner.func, set())
                if not qnames or not all(
                    q.source == QualifiedNameSource.BUILTIN or q.name == "datetime.timedelta"
                    for q in qnames
                ):
                    return f"its argument `{shown}` is computed when the flow runs"
            if reads.attributes:
                return f"its argument `{shown}` reads an attribute the flow may change first"
            for read in reads.names:
                problem = self._not_module_value(read, top)
                if problem:
                    return f"its argument `{read.value}` {problem}"
        return None

    def _not_module_value(self, name: cst.Name, top: int) -> str | None:
        """Why ``name``, read in the module-level statement at index ``top``, may not hold there
        what the module bound before that statement, or None (nothing in the statement itself
        binds it, nor a function with ``global``)."""
        scope = self.get_metadata(ScopeProvider, name, None)
        if scope is None:
            return "is not a module name"
        bound_before = False
        for assignment in scope[name.value]:
            if isinstance(assignment.scope, BuiltinScope):
                bound_before = True
                continue
            if not isinstance(assignment.scope, GlobalScope):
                return "is a flow parameter or a local"
            node = getattr(assignment, "node", None)
            holder = node
            while holder is not None and id(holder) not in self._top_index:
                holder = self.get_metadata(ParentNodeProvider, holder, None)
            if holder is None:
                return "is not a module name"
            index = self._top_index[id(holder)]
            if index > top:
                continue  # bound again after the flow was built: Prefect 1 read the value before
            if index == top or (
                isinstance(holder, (cst.FunctionDef, cst.ClassDef)) and holder is not node
            ):
                return "is rebound by the flow itself or by a function using `global`"
            bound_before = True
        return None if bound_before else "is bound only after the flow"

    def _wait_for(self, call: cst.Call) -> cst.Call:
        """A call of a @task this rule wrote: Prefect 1's ``upstream_tasks=`` is ``wait_for=``."""
        upstream = get_arg(call, "upstream_tasks")
        if upstream is None:
            return call
        self.mark_applied()
        return call.with_changes(
            args=[
                a.with_changes(keyword=cst.Name("wait_for")) if a is upstream else a
                for a in call.args
            ]
        )

    def _instance_call(self, instance: Instance, original: cst.Call, updated: cst.Call):
        key = instance.key
        if key == ("prefect", "StartFlowRun"):
            return self._start_flow_run(instance.call, original, updated)
        if key in DEFINED_AS_TASKS:
            return self._wait_for(updated)
        if key in (("core", "FunctionTask"), ("core", "Constant")):
            return updated
        if "PF001" not in self.context.scratch.get(SCRATCH_DISABLED, ()):
            # one TODO per root cause: PF001 binds the name to a stand-in and the TODO of the
            # commented-out instance names the lines calling it
            return updated
        package, advice = library_advice(key)
        self.add_todo(
            f"{instance.name} (a Prefect 1 {key[1]}) was commented out: call {advice} here instead"
        )
        return updated

    def _function_task(self, original: cst.Call, updated: cst.Call) -> cst.BaseExpression:
        kwargs = call_kwargs(updated, ("fn",))
        if kwargs is None or "fn" not in kwargs:
            return updated
        code = {k: self.code_for(a.value) for k, a in kwargs.items() if k != "fn"}
        fn = kwargs["fn"].value
        fn_code = self.code_for(fn)
        options, dropped = task_options(code, "")
        if "name" not in code:
            options = options[1:]  # Prefect 1 named the task after the function, as Prefect 2 does
        if not (isinstance(fn, cst.Name) and fn.value in self._functions) and not isinstance(
            fn, cst.Lambda
        ):
            # Prefect 2's task() needs a Python function (builtins and callables fail).
            if "name" not in code:
                options.insert(0, f"name={fn_code}.__name__")
            fn_code = f"lambda *args, **kwargs: {fn_code}(*args, **kwargs)"
        decorator = decorator_name(self, "task")
        if dropped:
            self.add_todo(self._dropped_todo(dropped))
        self.mark_applied()
        return cst.parse_expression(f"{decorator}({', '.join([fn_code, *options])})")

    # ------------------------------------------------------------------ flow runs

    @property
    def _deployments(self) -> dict[str, str] | None:
        """Prefect 1 flow name -> ``"<flow>/<deployment>"`` (a wave's); None: not known."""
        return self.project.deployments

    def _deployment_call(self, kwargs: dict[str, str], wait: bool, raises: bool = False) -> str:
        """``run_deployment(...)`` starting the child flow ``kwargs["flow_name"]`` (a literal):
        with the deployment the project gives it, else a guessed name and one TODO; ``wait``:
        until the child run is final (else ``timeout=0``); ``raises``: wrapped to fail when the
        child did not end Completed."""
        flow_name = kwargs["flow_name"]
        literal = str(literal_value(cst.parse_expression(flow_name)))
        known = self._deployments
        name = (known or {}).get(literal) or f"{literal}/{literal}"
        args = [f"name={quote(name)}"]
        if "parameters" in kwargs:
            args.append(f"parameters={kwargs['parameters']}")
        if "run_name" in kwargs:
            args.append(f"flow_run_name={kwargs['run_name']}")
        if "scheduled_start_time" in kwargs:
            args.append(f"scheduled_time={kwargs['scheduled_start_time']}")
        if "idempotency_key" in kwargs:
            args.append(f"idempotency_key={kwargs['idempotency_key']}")
        if not wait:
            args.append("timeout=0")
        self.add_import("prefect.deployments", "run_deployment")
        call = f"run_deployment({', '.join(args)})"
        if known is None:
            self.add_todo(
                f"check the deployment name {name} (Prefect 2 runs a deployment of the "
                "child flow, not the flow by name)"
            )
        elif literal not in known:
            self.add_todo(
                f"flow {literal!r} is not a flow of this project: give the name of its deployment "
                f"(<flow name>/<deployment name>) instead of {name}"
            )
        return self._raise_unless_completed(call) if raises else call

    def _raise_unless_completed(self, code: str) -> str:
        """``_raise_unless_completed(<code>)``; the helper is written once into the module."""
        if not self._child_helper_written:
            self._child_helper_written = True
            stmts = list(cst.parse_module(CHILD_HELPER).body)
            top = self._statement_stack[0]
            self._hoisted.append((id(top), stmts))
            self._generated.update(id(stmt) for stmt in stmts)
            self._changed = True
        return f"_raise_unless_completed({code})"

    def _subflow_call(self, function: str, kwargs: dict[str, str], parameters) -> str:
        if parameters is None:
            return f"{function}()"
        if isinstance(parameters, cst.Dict) and all(
            isinstance(e, cst.DictElement)
            and isinstance(e.key, cst.SimpleString)
            and str(literal_value(e.key)).isidentifier()
            for e in parameters.elements
        ):
            args = ", ".join(
                f"{literal_value(e.key)}={self.code_for(e.value)}" for e in parameters.elements
            )
            return f"{function}({args})"
        return f"{function}(**{kwargs['parameters']})"

    def _start_flow_run(self, init: cst.Call, original: cst.Call, updated: cst.Call):
        names = ("flow_name", "project_name", "parameters")
        init_kwargs = call_kwargs(init, names)
        run_kwargs = call_kwargs(updated, names)
        if init_kwargs is None or run_kwargs is None:
            self._flag_statement("StartFlowRun arguments could not be read: use run_deployment")
            return updated
        merged_args = {**init_kwargs, **run_kwargs}
        kwargs = {k: self.code_for(a.value) for k, a in merged_args.items()}
        flow_name = merged_args.get("flow_name")
        if flow_name is None or not is_literal(flow_name.value):
            self._flag_statement(
                "StartFlowRun with a non-literal flow_name: use "
                "prefect.deployments.run_deployment(name='<flow name>/<deployment>', parameters=...)"
            )
            return updated
        wait = merged_args.get("wait")
        waits = wait is not None and is_literal(wait.value) and bool(literal_value(wait.value))
        literal = str(literal_value(flow_name.value))
        child = self._child_flows.get(literal)
        self.mark_applied()
        if literal in (self._deployments or {}):
            child = None  # its own deployment, as Prefect 1 ran it: a flow run of its own
        if child is not None:
            parameters = merged_args.get("parameters")
            if not waits:
                self.add_todo(
                    "StartFlowRun did not wait: the child ran on its own and its failure did not "
                    "fail this flow; this subflow call waits for it and fails with it (to keep "
                    "Prefect 1's behaviour, deploy the child and use run_deployment(..., "
                    "timeout=0))"
                )
            if self._statement_stack and _binds_result(self._statement_stack[-1]):
                self.add_todo(
                    "StartFlowRun returned the child flow run's id; the subflow call returns the "
                    "child flow's return value"
                )
            return cst.parse_expression(
                self._subflow_call(child, kwargs, parameters.value if parameters else None)
            )
        # StartFlowRun(wait=True) raised the child's final state: a failed child failed it
        return cst.parse_expression(self._deployment_call(kwargs, waits, raises=waits))

    def _task_run_result_reason(self, call: cst.Call) -> str:
        """Why ``get_task_run_result(flow_run_id, task_slug)`` stays (a stand-in, PF001) and what
        replaces it: Prefect 2 has no task slugs and reads no task result of another flow run,
        only the child flow run's own result."""
        run = get_arg(call, "flow_run_id", 0)
        slug = get_arg(call, "task_slug", 1)
        head = "has no Prefect 2 equivalent: a task run's result cannot be read by task slug"
        if slug is not None:
            head += f" ({self._flat(slug.value)})"
        advice = (
            "; return that value from the child flow, persist the child's result "
            "(`@flow(persist_result=True)` on it) and read it instead with "
        )
        if run is not None and isinstance(run.value, cst.Name) and run.value.value in self._runs:
            name = run.value.value
            advice += f"`{name}.state.result()` (`{name}` is the FlowRun run_deployment returned"
            if name in self._waited:
                return f"{head}{advice}, once the child run was over)"
            return f"{head}{advice}; drop its timeout=0 so that it waits for the child run)"
        read = (
            "`flow_run.state.result()`, where `flow_run` is the FlowRun that run_deployment(...) "
            "returns once the child run is over"
        )
        return f"{head}{advice}{read}"

    def _create_flow_run(self, original: cst.Call, updated: cst.Call):
        kwargs_args = call_kwargs(updated, ("flow_id", "flow_name", "project_name", "parameters"))
        flow_name = kwargs_args.get("flow_name") if kwargs_args else None
        if flow_name is None or not is_literal(flow_name.value):
            self._flag_statement(
                "create_flow_run: use prefect.deployments.run_deployment(name='<flow name>/"
                "<deployment>', parameters=...) (timeout=0 to not wait)"
            )
            return updated
        kwargs = {k: self.code_for(a.value) for k, a in kwargs_args.items()}
        waited = False
        stmt = self._statement_stack[-1] if self._statement_stack else None
        target = _assigned_name(stmt)
        if target is not None:
            self._runs.add(target)
        if target is not None and target in self._waited:
            waited = True
        self.mark_applied()
        return cst.parse_expression(self._deployment_call(kwargs, waited))

    def _wait_for_flow_run(self, original: cst.Call, updated: cst.Call):
        first = get_arg(updated, "flow_run_id", 0)
        if (
            first is None
            or not isinstance(first.value, cst.Name)
            or first.value.value not in self._waited
        ):
            self._flag_statement(
                "wait_for_flow_run: run the child with prefect.deployments.run_deployment(...), "
                "which waits for it (timeout=None)"
            )
            return updated
        raise_final = get_arg(updated, "raise_final_state")
        raises = raise_final is not None and not (
            is_literal(raise_final.value) and not literal_value(raise_final.value)
        )
        stmt = self._statement_stack[-1] if self._statement_stack else None
        if (
            isinstance(stmt, cst.SimpleStatementLine)
            and len(stmt.body) == 1
            and isinstance(stmt.body[0], cst.Expr)
            and stmt.body[0].value is original
        ):
            # A bare ``wait_for_flow_run(v, raise_final_state=...)`` statement.
            self._wait_statements[id(stmt)] = (first.value.value, raises)
            return first.value
        if self._deployments is not None:
            # the child's FlowRun (final: run_deployment waited), as Prefect 1 gave its view
            self.mark_applied()
            return (
                cst.parse_expression(self._raise_unless_completed(first.value.value))
                if raises
                else first.value
            )
        message = f"run_deployment above already waited for {first.value.value}; it is the child's FlowRun"
        if raises:
            message += f": raise if not {first.value.value}.state.is_completed()"
        self.add_todo(message)
        self.mark_applied()
        return first.value

    # ------------------------------------------------------------------ module

    def on_leave(self, original_node, updated_node):  # type: ignore[override]
        result = super().on_leave(original_node, updated_node)
        if self._hoisted and isinstance(
            self.get_metadata(ParentNodeProvider, original_node, None), cst.Module
        ):
            hoisted = [stmts for top, stmts in self._hoisted if top == id(original_node)]
            if hoisted:
                before = [stmt for stmts in hoisted for stmt in stmts]
                if isinstance(result, cst.FlattenSentinel):
                    return cst.FlattenSentinel([*before, *result.nodes])
                if isinstance(result, cst.RemovalSentinel):
                    return cst.FlattenSentinel(before)
                return cst.FlattenSentinel([*before, result])
        return result

    def leave_Module(self, original_node: cst.Module, updated_node: cst.Module) -> cst.Module:
        if self._generated:
            updated_node = updated_node.with_changes(body=self._spaced(updated_node.body))
        for helper in reversed(self._database_helpers):
            updated_node = insert_helper(updated_node, helper, HELPERS[helper])
        if self._jinja_helper_written:  # its date names use PF007's helper
            updated_node = insert_helper(updated_node, TODAY_HELPER, TODAY_HELPER_CODE)
        if self._changed:
            for module, name in self._library_imports:
                self.remove_import_if_unused(module, name)
        return updated_node

    def _spaced(self, body) -> list[cst.BaseStatement]:
        """Two blank lines around generated definitions (PEP 8), other statements untouched."""
        out: list[cst.BaseStatement] = []
        previous_generated = False
        for index, stmt in enumerate(body):
            generated = id(stmt) in self._generated
            lines = list(stmt.leading_lines)
            blank = next(
                (i for i, line in enumerate(lines) if line.comment is not None), len(lines)
            )
            if index and (generated or previous_generated) and blank < 2:
                missing = [cst.EmptyLine() for _ in range(2 - blank)]
                stmt = stmt.with_changes(leading_lines=[*missing, *lines])
            out.append(stmt)
            previous_generated = generated
        return out


def _todo(code: str, message: str) -> str:
    from meta_flows.core.codemod.base import todo_text

    return todo_text(code, message)


class _Reads(References):
    """What an expression reads: names (not attribute names, nor keywords of calls in it), the
    calls in it, and whether it holds anything else evaluated at run time (subscripts, lambdas,
    comprehensions, ``:=``, ``await``)."""

    def __init__(self) -> None:
        self.names: list[cst.Name] = []
        self.calls: list[cst.Call] = []
        self.attributes = False
        self.other = False

    def visit_Call(self, node: cst.Call) -> None:
        self.calls.append(node)

    def visit_Attribute(self, node: cst.Attribute) -> bool:
        self.attributes = True
        return super().visit_Attribute(node)

    def visit_Name(self, node: cst.Name) -> None:
        self.names.append(node)

    def on_visit(self, node: cst.CSTNode) -> bool:
        if isinstance(
            node,
            (
                cst.Subscript,
                cst.Lambda,
                cst.ListComp,
                cst.SetComp,
                cst.DictComp,
                cst.GeneratorExp,
                cst.NamedExpr,
                cst.Await,
                cst.Yield,
            ),
        ):
            self.other = True
            return False
        return super().on_visit(node)


def _snake_case(name: str) -> str:
    """``PostgresExecuteMany`` -> ``postgres_execute_many``."""
    out = ""
    for i, char in enumerate(name):
        if char.isupper() and i and (name[i - 1].islower() or name[i + 1 : i + 2].islower()):
            out += "_"
        out += char.lower()
    return out


def _template_fields(node: cst.BaseExpression | None) -> set[str] | None:
    """The replacement field names of a literal template (None when unknown)."""
    if node is None:
        return set()
    try:
        template = literal_value(node)
        return {
            name.split(".")[0].split("[")[0]
            for _, name, _, _ in string.Formatter().parse(template)
            if name
        }
    except Exception:
        return None


def _string(node: cst.BaseExpression) -> str | None:
    """The value of a string literal (implicit concatenations over several lines too)."""
    try:
        value = ast.literal_eval(f"({code_of(node)})")
    except (ValueError, SyntaxError, TypeError, MemoryError, RecursionError):
        return None
    return value if isinstance(value, str) else None


def _assigned_name(stmt: cst.CSTNode | None) -> str | None:
    if isinstance(stmt, cst.SimpleStatementLine) and len(stmt.body) == 1:
        small = stmt.body[0]
        if isinstance(small, cst.Assign) and len(small.targets) == 1:
            target = small.targets[0].target
            if isinstance(target, cst.Name):
                return target.value
    return None


def _binds_result(stmt: cst.CSTNode) -> bool:
    return isinstance(stmt, cst.SimpleStatementLine) and any(
        isinstance(s, (cst.Assign, cst.AnnAssign, cst.Return)) for s in stmt.body
    )


RULE = TaskLibraryRule
