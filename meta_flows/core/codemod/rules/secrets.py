"""PF010 secrets: Prefect 1 secret tasks and the secrets client become Secret blocks and os.environ.

Spec: docs/spec.md §9.

Before::

    @task
    def connect():
        password = PrefectSecret("DB_PASSWORD").run()
        user = EnvVarSecret("DB_USER").run()

After::

    @task
    def connect():
        password = Secret.load("db-password").get()
        user = os.environ.get("DB_USER")

- ``PrefectSecret("MY_SECRET")`` (also called: ``PrefectSecret("MY_SECRET")()`` / ``.run()``)
  -> ``Secret.load("my-secret").get()`` with ``from prefect.blocks.system import Secret`` (C:
  the block must exist; every block is recorded with ``require_block``).
- ``Secret("MY_SECRET")`` of ``prefect.client`` -> ``Secret.load("my-secret")`` (its ``.get()``
  stays valid on the block).
- ``EnvVarSecret("VAR")`` -> ``os.environ.get("VAR")`` (Prefect 1's default
  ``raise_if_missing=False`` returns None when unset); ``raise_if_missing=True`` ->
  ``os.environ["VAR"]``; ``cast=f`` -> ``f(...)`` (with a TODO when the variable may be unset).
- A module-level ``x = PrefectSecret("X")`` / ``EnvVarSecret("X")`` (a task instance evaluated at
  run time in Prefect 1) becomes ``def x(): return <value>`` so nothing is read at import time;
  its reads in ``@flow`` functions (``use(x)``, evaluated when the flow ran) become ``x()``,
  ``x()`` stays and ``x.run()`` becomes ``x()``. Reads outside flows (``print(x)``) and other
  modules importing ``x`` would get the function: one TODO on the function names them (H).
- Secret names computed at run time -> ``Secret.load(<expr>.lower().replace("_", "-"))`` with a
  TODO naming the blocks to create (C).

Block names are lowercase-dashed (``MY_SECRET`` -> ``my-secret``). Never copies a secret value:
only names travel. ``prefect.context.secrets`` is PF007's (H).
"""

from __future__ import annotations

import re

import libcst as cst

from meta_flows.core.codemod.analysis.scope import References
from meta_flows.core.codemod.base import (
    Rule,
    dotted_name,
    get_arg,
    literal_value,
    remove_p1_imports,
    with_todo,
)

PREFECT_SECRET = "prefect.tasks.secrets.PrefectSecret"
ENV_VAR_SECRET = "prefect.tasks.secrets.EnvVarSecret"
CLIENT_SECRET = "prefect.client.Secret"
SECRET_TASKS = (PREFECT_SECRET, ENV_VAR_SECRET, "prefect.tasks.secrets.Secret")
P1_NAMES = (*SECRET_TASKS, CLIENT_SECRET, "prefect.tasks.secrets.SecretBase")
BLOCK_MODULE = "prefect.blocks.system"


def block_name(secret_name: str) -> str:
    """``MY_SECRET`` -> ``my-secret`` (Prefect 2 block names: lowercase letters, digits, dashes)."""
    name = re.sub(r"[^a-z0-9]+", "-", secret_name.lower()).strip("-")
    return name or "secret"


class SecretsRule(Rule):
    """PrefectSecret / Secret / EnvVarSecret become Secret blocks and os.environ (§9)."""

    CODE = "PF010"
    NAME = "secrets"
    DESCRIPTION = "PrefectSecret / Secret / EnvVarSecret become Secret blocks and os.environ (§9)"
    TRIGGERS = ("Secret",)

    def __init__(self, context) -> None:
        super().__init__(context)
        self._produced: set[int] = set()  # ids of replacement expressions we built
        self._secret_name = "Secret"
        self._changed = False
        self._imported = False
        # module-level ``x = PrefectSecret(...)`` that become ``def x()``: their reads in @flow
        # functions (ids of Name nodes) become ``x()``, ``x.run()`` anywhere becomes ``x()``, and
        # the lines of the other reads go into one TODO on the function
        self._module_secrets: dict[str, int] = {}  # name -> id of its assignment statement
        self._call_in_flow: set[int] = set()
        self._run_calls: set[int] = set()
        self._outside: dict[str, list[str]] = {}  # name -> the statements reading it

    # ------------------------------------------------------------------ scopes

    def visit_Module(self, node: cst.Module) -> bool:
        super().visit_Module(node)
        self._secret_name = self._pick_secret_name(node)
        self._plan_module_secrets(node)
        return True

    def _plan_module_secrets(self, module: cst.Module) -> None:
        for stmt in module.body:
            if isinstance(stmt, cst.SimpleStatementLine) and len(stmt.body) == 1:
                small = stmt.body[0]
                if (
                    isinstance(small, cst.Assign)
                    and len(small.targets) == 1
                    and isinstance(small.targets[0].target, cst.Name)
                    and isinstance(small.value, cst.Call)
                    and self.prefect_name(small.value) in SECRET_TASKS
                ):
                    self._module_secrets[small.targets[0].target.value] = id(stmt)
        if self._module_secrets:
            module.visit(_SecretUses(self))

    def leave_Module(self, original_node: cst.Module, updated_node: cst.Module) -> cst.Module:
        if self._changed:
            remove_p1_imports(self, original_node, lambda q: q in P1_NAMES)
        return updated_node

    def _pick_secret_name(self, module: cst.Module) -> str:
        """``Secret`` unless the module binds that name to something else (e.g. P1's Secret)."""
        for stmt in module.body:
            if isinstance(stmt, (cst.FunctionDef, cst.ClassDef)) and stmt.name.value == "Secret":
                return "SecretBlock"
            if isinstance(stmt, cst.SimpleStatementLine):
                for small in stmt.body:
                    if isinstance(small, cst.ImportFrom) and not isinstance(
                        small.names, cst.ImportStar
                    ):
                        mod = dotted_name(small.module) if small.module else None
                        for alias in small.names:
                            bound = (
                                alias.asname.name.value
                                if alias.asname and isinstance(alias.asname.name, cst.Name)
                                else dotted_name(alias.name)
                            )
                            if bound == "Secret" and not (
                                mod == BLOCK_MODULE and dotted_name(alias.name) == "Secret"
                            ):
                                return "SecretBlock"
        return "Secret"

    def visit_Import(self, node) -> bool:
        return False

    def visit_ImportFrom(self, node) -> bool:
        return False

    # ------------------------------------------------------------------ rewrites

    def leave_Name(self, original_node: cst.Name, updated_node: cst.Name) -> cst.BaseExpression:
        if id(original_node) in self._call_in_flow:
            self.mark_applied()
            return cst.Call(func=updated_node)
        return updated_node

    def leave_Call(self, original_node: cst.Call, updated_node: cst.Call) -> cst.BaseExpression:
        if id(original_node) in self._run_calls:  # TOKEN.run() -> TOKEN()
            self.mark_applied()
            return updated_node.with_changes(func=updated_node.func.value)
        # ``PrefectSecret("X")()`` / ``PrefectSecret("X").run()``: the inner call became a value.
        func = updated_node.func
        if not updated_node.args:
            if id(func) in self._produced:
                return func
            if (
                isinstance(func, cst.Attribute)
                and func.attr.value == "run"
                and id(func.value) in self._produced
            ):
                return func.value
        name = self.prefect_name(original_node.func)
        if name in (PREFECT_SECRET, "prefect.tasks.secrets.Secret"):
            new = self._block_value(original_node, get_value=True)
        elif name == CLIENT_SECRET:
            new = self._block_value(original_node, get_value=False)
            if new is not None and self.function_depth == 0:
                self.add_todo(
                    "the Secret block is now loaded at import time (Prefect 1 read it lazily): "
                    "move the load into the flow or task that uses it"
                )
        elif name == ENV_VAR_SECRET:
            new = self._env_value(original_node)
        else:
            return updated_node
        if new is None:
            return updated_node
        self._produced.add(self.new_node_id(new))
        self._changed = True
        self.mark_applied()
        return new

    def _block_value(self, call: cst.Call, get_value: bool) -> cst.BaseExpression | None:
        arg = get_arg(call, "name", 0)
        if arg is None:
            self.add_todo("secret without a name: load the matching Prefect 2 Secret block")
            return None
        secret = self._secret_name
        if not self._imported:
            # Once: AddImportsVisitor repeats an aliased import each time it is asked for it.
            self.add_import(BLOCK_MODULE, "Secret", None if secret == "Secret" else secret)
            self._imported = True
        try:
            value = literal_value(arg.value)
        except Exception:
            value = None
        if isinstance(value, str):
            block = block_name(value)
            self.require_block(f"Secret block '{block}' (was Prefect 1 secret {value})")
            name_expr: cst.BaseExpression = cst.SimpleString(repr(block).replace("'", '"'))
        else:
            # A name computed at run time: convert it the same way, at run time.
            code = self.code_for(arg.value)
            if not isinstance(arg.value, (cst.Name, cst.Attribute, cst.Call, cst.Subscript)):
                code = f"({code})"
            name_expr = cst.parse_expression(f'{code}.lower().replace("_", "-")')
            self.require_block(
                f"Secret blocks for the secret names computed by {self.code_for(arg.value)} "
                "(lowercase-dashed)"
            )
            self.add_todo(
                f"the secret name {self.code_for(arg.value)} is computed at run time: create a "
                "Secret block for each possible name, lowercase with '_' replaced by '-'"
            )
        load = cst.Call(
            func=cst.Attribute(value=cst.Name(secret), attr=cst.Name("load")),
            args=[cst.Arg(name_expr)],
        )
        if not get_value:
            return load
        return cst.Call(func=cst.Attribute(value=load, attr=cst.Name("get")))

    def _env_value(self, call: cst.Call) -> cst.BaseExpression | None:
        arg = get_arg(call, "name", 0) or get_arg(call, "env_var")
        if arg is None:
            self.add_todo("EnvVarSecret without a variable name: read os.environ by hand")
            return None
        raise_arg = get_arg(call, "raise_if_missing", 2)
        try:
            must_exist = bool(literal_value(raise_arg.value)) if raise_arg else False
        except Exception:
            self.add_todo(
                "EnvVarSecret(raise_if_missing=...) is dynamic: check the os.environ read"
            )
            must_exist = False
        cast_arg = get_arg(call, "cast", 1)
        environ = cst.Attribute(value=cst.Name("os"), attr=cst.Name("environ"))
        name = arg.value
        if must_exist or cast_arg is not None:
            value: cst.BaseExpression = cst.Subscript(
                value=environ, slice=[cst.SubscriptElement(cst.Index(name))]
            )
        else:
            value = cst.Call(
                func=cst.Attribute(value=environ, attr=cst.Name("get")), args=[cst.Arg(name)]
            )
        if cast_arg is not None:
            value = cst.Call(func=cast_arg.value, args=[cst.Arg(value)])
            if not must_exist:
                self.add_todo(
                    f"Prefect 1 returned None when {self.code_for(arg.value)} was unset "
                    "(raise_if_missing=False); this raises KeyError: use os.environ.get and "
                    "handle None if the variable may be missing"
                )
        self.add_import("os")
        return value

    # ------------------------------------------------------------------ module-level tasks

    def leave_SimpleStatementLine(self, original_node, updated_node):
        """``x = PrefectSecret("X")`` at module level -> ``def x(): return <value>``."""
        if self.function_depth or len(updated_node.body) != 1:
            return updated_node
        stmt = updated_node.body[0]
        orig = original_node.body[0]
        if not (
            isinstance(stmt, cst.Assign)
            and len(stmt.targets) == 1
            and isinstance(stmt.targets[0].target, cst.Name)
            and id(stmt.value) in self._produced
            and isinstance(orig, cst.Assign)
            and self.prefect_name(orig.value) in SECRET_TASKS
        ):
            return updated_node
        leading = list(updated_node.leading_lines)
        if leading and all(line.comment is None for line in leading):
            leading = [cst.EmptyLine(), cst.EmptyLine()]  # a def after imports: two blank lines
        func = cst.FunctionDef(
            name=stmt.targets[0].target,
            params=cst.Parameters(),
            body=cst.IndentedBlock(
                body=[cst.SimpleStatementLine(body=[cst.Return(value=stmt.value)])]
            ),
            leading_lines=leading,
        )
        name = stmt.targets[0].target.value
        uses = list(dict.fromkeys(self._outside.get(name, ())))
        elsewhere = self.project.is_imported_elsewhere(self.context.full_module_name, name)
        if not (uses or elsewhere):
            return func
        where = []
        if uses:
            where.append(", ".join(uses))
        if elsewhere:
            where.append("the modules importing it")
        return with_todo(
            func,
            self.CODE,
            f"`{name}` was a Prefect 1 secret task (read when a flow ran) and is now a function "
            f"returning the secret; its uses in @flow functions call it, but those in "
            f"{' and '.join(where)} still get the function: call `{name}()` where the value is "
            "needed",
        )


class _SecretUses(References):
    """Reads of the module-level secrets ``rule._module_secrets`` (original nodes): in a @flow
    function, outside one, or ``x.run()``."""

    def __init__(self, rule: SecretsRule) -> None:
        self.rule = rule
        self.names = set(rule._module_secrets)
        self.in_flow: list[bool] = []
        self.skip: set[int] = set()
        self.statement: cst.CSTNode | None = None

    def visit_SimpleStatementLine(self, node: cst.SimpleStatementLine) -> bool:
        self.statement = node
        return id(node) not in self.rule._module_secrets.values()

    def visit_FunctionDef(self, node: cst.FunctionDef) -> None:
        flow = any(self.rule.is_prefect(d.decorator, "prefect.flow") for d in node.decorators)
        self.in_flow.append(flow)

    def leave_FunctionDef(self, original_node: cst.FunctionDef) -> None:
        self.in_flow.pop()

    def visit_Lambda(self, node: cst.Lambda) -> None:
        self.in_flow.append(False)

    def leave_Lambda(self, original_node: cst.Lambda) -> None:
        self.in_flow.pop()

    def visit_ClassDef(self, node: cst.ClassDef) -> None:
        self.in_flow.append(False)

    def leave_ClassDef(self, original_node: cst.ClassDef) -> None:
        self.in_flow.pop()

    def visit_Call(self, node: cst.Call) -> None:
        func = node.func
        if isinstance(func, cst.Name):
            self.skip.add(id(func))  # x(): already a call of the function
        elif (
            isinstance(func, cst.Attribute)
            and func.attr.value == "run"
            and not node.args
            and self.rule.binds_at_module_level(func.value, self.names)
        ):
            self.skip.add(id(func.value))
            self.rule._run_calls.add(id(node))

    def visit_Name(self, node: cst.Name) -> None:
        if id(node) in self.skip or not self.rule.binds_at_module_level(node, self.names):
            return
        if self.in_flow and self.in_flow[-1]:
            self.rule._call_in_flow.add(id(node))
        else:
            where = self.statement if self.statement is not None else node
            code = " ".join(self.rule.code_for(where).split())
            self.rule._outside.setdefault(node.value, []).append(f"`{code}`")


RULE = SecretsRule
