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
  ``x()`` in the flow keeps working.
- Secret names computed at run time -> ``Secret.load(<expr>.lower().replace("_", "-"))`` with a
  TODO naming the blocks to create (C).

Block names are lowercase-dashed (``MY_SECRET`` -> ``my-secret``). Never copies a secret value:
only names travel. ``prefect.context.secrets`` is PF007's (H).
"""

from __future__ import annotations

import re

import libcst as cst

from meta_flows.core.codemod.base import (
    Rule,
    dotted_name,
    get_arg,
    literal_value,
    remove_p1_imports,
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

    # ------------------------------------------------------------------ scopes

    def visit_Module(self, node: cst.Module) -> bool:
        super().visit_Module(node)
        self._secret_name = self._pick_secret_name(node)
        return True

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

    def leave_Call(self, original_node: cst.Call, updated_node: cst.Call) -> cst.BaseExpression:
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
        return cst.FunctionDef(
            name=stmt.targets[0].target,
            params=cst.Parameters(),
            body=cst.IndentedBlock(
                body=[cst.SimpleStatementLine(body=[cst.Return(value=stmt.value)])]
            ),
            leading_lines=updated_node.leading_lines,
        )


RULE = SecretsRule
