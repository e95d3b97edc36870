"""Declared row level security: what each table's policies are today, compared with the migrated catalog.

Migrations carry the literal SQL of each step (`crm.migration_operations.RunPolicySQL`), frozen when they
were written, so replaying them reproduces history. The policies as they are *now* are declared in each
app's `policies.py` (`POLICIES = (...)`, built with the helpers below and crm.rls's conditions), and:

- `tests/rls/test_policies_frozen.py` fails when the migrated catalog (pg_policy, as PostgreSQL deparses
  it) differs from the declarations;
- `manage.py makepolicymigration <app>` writes the migration for a changed declaration: the declared
  SQL forwards, the current catalog's backwards, and the table's search functions re-created around the
  new SELECT policy (they copy it verbatim, crm.rls).

Declared and migrated expressions are compared as PostgreSQL deparses them: each declared policy is
created under a scratch name on its own table inside a savepoint that is rolled back, and read back with
pg_get_expr, so spelling (casts, parentheses, `IN` against `= ANY`) does not matter, meaning does.
"""

from __future__ import annotations

import importlib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from django.apps import apps
from django.db import connection, transaction

from crm import rls
from crm.migration_operations import RUNTIME_ROLE

COMMANDS = ("select", "insert", "update", "delete")
ALL_PRIVILEGES = frozenset({"SELECT", "INSERT", "UPDATE", "DELETE"})
# A PostgreSQL role list as the comparison spells it: everyone (PUBLIC) or the table's owner only.
PUBLIC = "public"
OWNER = "owner"


@dataclass(frozen=True)
class Policy:
    """One policy as CREATE POLICY takes it: `using` and `check` are SQL conditions (None: no clause)."""

    name: str
    command: str  # SELECT, INSERT, UPDATE, DELETE
    using: str | None
    check: str | None
    roles: str = PUBLIC  # or OWNER (TO CURRENT_USER: the owner's SECURITY DEFINER functions)
    permissive: bool = True

    def create_sql(self, table: str, name: str | None = None) -> str:
        kind = "" if self.permissive else " AS RESTRICTIVE"
        clause = f"CREATE POLICY {name or self.name} ON {table}{kind} FOR {self.command}"
        if self.roles == OWNER:
            clause += " TO CURRENT_USER"
        if self.using is not None:
            clause += f" USING ({self.using})"
        if self.check is not None:
            clause += f" WITH CHECK ({self.check})"
        return clause + ";"


@dataclass(frozen=True)
class TableRules:
    """A table's row level security: enabled, forced or not, and its policies."""

    table: str
    policies: tuple[Policy, ...]
    force: bool = True
    # The runtime role's table privileges (column grants, like crm_user's UPDATE, are the migrations').
    grant: frozenset[str] = ALL_PRIVILEGES


def declare(
    table: str,
    *,
    select: str | None,
    insert: str | None,
    update: str | None,
    delete: str | None,
    force: bool = True,
    owner: Sequence[Policy] = (),
    grant: str = "SELECT, INSERT, UPDATE, DELETE",
) -> TableRules:
    """One policy per command for everyone, each requiring the verified request context
    (crm.rls.verified); a None command admits nothing (`false`), so every command has its policy.
    UPDATE uses its condition for both USING and WITH CHECK. `owner`: extra policies for the owner.
    `grant`: the runtime role's privileges on the table ("": none, a table reached only through definer
    functions)."""
    conditions = {"select": select, "insert": insert, "update": update, "delete": delete}
    policies = []
    for command in COMMANDS:
        condition = rls.verified(conditions[command] or "false")
        using = None if command == "insert" else condition
        check = condition if command in ("insert", "update") else None
        policies.append(Policy(f"{table}_{command}", command.upper(), using, check))
    privileges = frozenset(p.strip().upper() for p in grant.split(",") if p.strip())
    return TableRules(table, (*policies, *owner), force=force, grant=privileges)


def declare_table_policy(policy: rls.TablePolicy) -> TableRules:
    """A tenant table scoped by crm.rls.TablePolicy: read, write (insert and update) and delete (purge)."""
    write = policy.write_condition()
    return declare(
        policy.table,
        select=policy.read_condition(),
        insert=write,
        update=write,
        delete=policy.delete_condition(),
    )


def app_declarations(label: str) -> tuple[TableRules, ...]:
    """`<app>.policies.POLICIES`, or () for an app that declares none."""
    module_name = f"{apps.get_app_config(label).name}.policies"
    try:
        module = importlib.import_module(module_name)
    except ModuleNotFoundError as error:
        if error.name == module_name:
            return ()
        raise
    return tuple(module.POLICIES)


def all_declarations() -> dict[str, tuple[TableRules, ...]]:
    """Every project app's declarations, by app label."""
    from crm.migration_lint import project_app_labels

    return {label: app_declarations(label) for label in project_app_labels()}


# ---------------------------------------------------------------------------------------------------
# The catalog, as PostgreSQL deparses it.


@dataclass(frozen=True)
class Found:
    """A policy as the catalog holds it."""

    command: str
    roles: str
    using: str | None
    check: str | None
    permissive: bool = True

    def policy(self, name: str) -> Policy:
        return Policy(name, self.command, self.using, self.check, self.roles, self.permissive)


@dataclass
class TableState:
    rls: bool = False
    force: bool = False
    policies: dict[str, Found] = field(default_factory=dict)
    grant: frozenset[str] = frozenset()


_COMMAND = {"r": "SELECT", "a": "INSERT", "w": "UPDATE", "d": "DELETE", "*": "ALL"}
_CATALOG = """
SELECT c.relname, c.relrowsecurity, c.relforcerowsecurity, p.polname, p.polcmd::text,
       CASE WHEN p.polroles = '{0}' THEN 'public' WHEN p.polroles = ARRAY[c.relowner] THEN 'owner'
            ELSE p.polroles::regrole[]::text END,
       pg_get_expr(p.polqual, p.polrelid), pg_get_expr(p.polwithcheck, p.polrelid), p.polpermissive
  FROM pg_class c LEFT JOIN pg_policy p ON p.polrelid = c.oid
 WHERE c.relnamespace = 'public'::regnamespace AND c.relkind IN ('r', 'p')
   AND (c.relrowsecurity OR c.relforcerowsecurity OR p.oid IS NOT NULL)
"""


def catalog(cursor: Any) -> dict[str, TableState]:
    """Every public table under RLS (or with a policy): its flags and its policies, deparsed."""
    tables: dict[str, TableState] = {}
    cursor.execute(_CATALOG)
    for table, enabled, force, name, command, roles, using, check, permissive in cursor.fetchall():
        state = tables.setdefault(table, TableState(rls=enabled, force=force))
        if name is not None:
            state.policies[name] = Found(_COMMAND[command], roles, using, check, permissive)
    cursor.execute(
        "SELECT c.relname, array_agg(a.privilege_type) FROM pg_class c, aclexplode(c.relacl) a"
        " WHERE c.relnamespace = 'public'::regnamespace AND a.grantee = to_regrole(%s) GROUP BY c.relname",
        [rls.runtime_role()],
    )
    for table, privileges in cursor.fetchall():
        if table in tables:
            tables[table].grant = frozenset(privileges)
    return tables


_SCRATCH = "crm_declared_scratch"


def deparsed(cursor: Any, rules: TableRules) -> dict[str, Found]:
    """`rules`' policies as PostgreSQL deparses them on their table: each created under a scratch name
    in a savepoint that is rolled back, so nothing is left behind."""
    found: dict[str, Found] = {}
    with transaction.atomic():
        sid = transaction.savepoint()
        try:
            for index, policy in enumerate(rules.policies):
                scratch = f"{_SCRATCH}_{index}"
                cursor.execute(policy.create_sql(rules.table, scratch))
                cursor.execute(
                    "SELECT pg_get_expr(polqual, polrelid), pg_get_expr(polwithcheck, polrelid) FROM pg_policy"
                    " WHERE polrelid = %s::regclass AND polname = %s",
                    [rules.table, scratch],
                )
                using, check = cursor.fetchone()
                found[policy.name] = Found(policy.command, policy.roles, using, check, policy.permissive)
        finally:
            transaction.savepoint_rollback(sid)
    return found


def differences(declarations: Iterable[TableRules], *, complete: bool = True) -> list[str]:
    """How the migrated catalog differs from `declarations`, one line each; [] when it matches.
    `complete`: also report tables under RLS that nothing declares."""
    lines: list[str] = []
    declared = list(declarations)
    with connection.cursor() as cursor:
        current = catalog(cursor)
        for rules in declared:
            state = current.get(rules.table, TableState())
            if not state.rls:
                lines.append(f"{rules.table}: row level security is not enabled")
            if state.force != rules.force:
                lines.append(f"{rules.table}: FORCE is {state.force}, declared {rules.force}")
            if state.grant != rules.grant:
                lines.append(
                    f"{rules.table}: the runtime role holds {', '.join(sorted(state.grant)) or 'nothing'},"
                    f" declared {', '.join(sorted(rules.grant))}"
                )
            wanted = deparsed(cursor, rules)
            for name, policy in sorted(wanted.items()):
                have = state.policies.get(name)
                if have is None:
                    lines.append(f"{rules.table}.{name}: declared, not in the catalog")
                elif have != policy:
                    lines.append(f"{rules.table}.{name}: catalog {have}, declared {policy}")
            for name in sorted(set(state.policies) - set(wanted)):
                lines.append(f"{rules.table}.{name}: in the catalog, not declared")
    if complete:
        names = {rules.table for rules in declared}
        lines += [
            f"{table}: under row level security, not declared" for table in sorted(set(current) - names)
        ]
    return lines


# ---------------------------------------------------------------------------------------------------
# The migration for a changed declaration.


@dataclass
class Step:
    """Literal forward and reverse statements of a migration (RunPolicySQL)."""

    tables: list[str] = field(default_factory=list)
    forward: list[str] = field(default_factory=list)
    reverse: list[str] = field(default_factory=list)


def _search_functions(cursor: Any, table: str) -> list[str]:
    """pg_get_functiondef of `table`'s search functions (crm.rls.search_function and its keyed one)."""
    names = [rls.search_function(table), rls.keyed_search_function(table)]
    cursor.execute(
        "SELECT pg_get_functiondef(p.oid) FROM pg_proc p"
        " WHERE p.pronamespace = 'public'::regnamespace AND p.proname = ANY(%s) ORDER BY p.proname",
        [names],
    )
    return [str(row[0]) for row in cursor.fetchall()]


def policy_step(declarations: Iterable[TableRules]) -> Step:
    """The statements that take the catalog to `declarations` (forward) and back to what it is (reverse)."""
    step = Step()
    with connection.cursor() as cursor:
        current = catalog(cursor)
        for rules in declarations:
            table = rules.table
            state = current.get(table, TableState())
            wanted = deparsed(cursor, rules)
            forward: list[str] = []
            reverse: list[str] = []
            if not state.rls:
                forward.append(f"ALTER TABLE {table} ENABLE ROW LEVEL SECURITY;")
            if state.force != rules.force:
                forward.append(
                    f"ALTER TABLE {table} {'FORCE' if rules.force else 'NO FORCE'} ROW LEVEL SECURITY;"
                )
            for name in sorted(set(state.policies) - set(wanted)):
                forward.append(f"DROP POLICY IF EXISTS {name} ON {table};")
                reverse.append(state.policies[name].policy(name).create_sql(table))
            for policy in rules.policies:
                have = state.policies.get(policy.name)
                if have == wanted[policy.name]:
                    continue
                forward += [f"DROP POLICY IF EXISTS {policy.name} ON {table};", policy.create_sql(table)]
                reverse.append(f"DROP POLICY IF EXISTS {policy.name} ON {table};")
                if have is not None:
                    reverse.append(have.policy(policy.name).create_sql(table))
            role = '"' + RUNTIME_ROLE + '"'
            if missing := sorted(rules.grant - state.grant):
                forward.append(f"GRANT {', '.join(missing)} ON {table} TO {role};")
                reverse.append(f"REVOKE {', '.join(missing)} ON {table} FROM {role};")
            if extra := sorted(state.grant - rules.grant):
                forward.append(f"REVOKE {', '.join(extra)} ON {table} FROM {role};")
                reverse.append(f"GRANT {', '.join(extra)} ON {table} TO {role};")
            if state.force != rules.force:
                reverse.append(
                    f"ALTER TABLE {table} {'FORCE' if state.force else 'NO FORCE'} ROW LEVEL SECURITY;"
                )
            if not state.rls:
                reverse.append(f"ALTER TABLE {table} DISABLE ROW LEVEL SECURITY;")
            if not forward:
                continue
            select = f"{table}_select"
            old, new = state.policies.get(select), wanted.get(select)
            if old is not None and new is not None and old.using != new.using:
                for definition in _search_functions(cursor, table):
                    verbatim = f"AND ({old.using})"
                    if verbatim not in definition:
                        continue
                    forward.append(definition.replace(verbatim, f"AND ({new.using})").strip() + ";")
                    reverse.append(definition.strip() + ";")
            step.tables.append(table)
            step.forward += forward
            step.reverse += reverse
    return step


def python_literal(text: str) -> str:
    """`text` as a Python string literal, triple-quoted when it spans lines."""
    if "\\" in text:
        return repr(text)
    if "\n" in text and '"""' not in text and not text.endswith('"'):
        return '"""' + text + '"""'
    if '"' not in text and "\n" not in text:
        return f'"{text}"'
    return repr(text)


def migration_source(app_label: str, dependency: tuple[str, str] | None, step: Step) -> str:
    """A migration module applying `step` with RunPolicySQL."""
    lines = [
        f'"""Row level security of {", ".join(step.tables)} as declared in {app_label}/policies.py',
        '(written by `manage.py makepolicymigration`: the literal SQL, frozen)."""',
        "",
        "from django.db import migrations",
        "",
        "from crm.migration_operations import RunPolicySQL",
        "",
        "",
        "class Migration(migrations.Migration):",
        f'    dependencies = [("{dependency[0]}", "{dependency[1]}")]'
        if dependency
        else "    dependencies = []",
        "",
        "    operations = [",
        "        RunPolicySQL(",
    ]
    for keyword, statements in (("sql", step.forward), ("reverse_sql", step.reverse)):
        lines.append(f"            {keyword}=[")
        lines += [f"                {python_literal(statement)}," for statement in statements]
        lines.append("            ],")
    lines += ["        ),", "    ]", ""]
    return "\n".join(lines)
