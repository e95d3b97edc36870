"""Row level security plumbing: the runtime role, per-request session variables, and policy SQL.

Three layers: `context` (who is asking: begin/end, acting_as, the runtime role), `policy` (the
conditions apps declare their tables' policies with) and `search` (the SQL of the SECURITY DEFINER
search functions). Callers import from `crm.rls`; migrations only `runtime_role`.

How it fits together (README, "Row level security"):
- Migrations run as the owner. They create the runtime role (settings.DATABASE_RUNTIME_ROLE, NOLOGIN,
  NOSUPERUSER, NOBYPASSRLS) when missing, grant it the least it needs, ENABLE and FORCE RLS on every
  tenant table and create its policies: literal SQL frozen in each migration (RunPolicySQL), written by
  `manage.py makepolicymigration` from the policies each app declares today with the conditions of `policy`
  (`<app>/policies.py`, crm.policy_declarations; a test compares them with the migrated catalog).
- Every request runs inside one transaction that starts with `set_config('role', <runtime role>, true)`
  and `crm_request_context(user_id)`, which sets `crm.user_id`, `crm.tenant_id`, `crm.role` and
  `crm.book` with is_local = true: they vanish at commit or rollback, so nothing survives into the next
  request on a reused connection, even through a transaction pooler.
- Policies read the variables once per statement (`(SELECT current_setting(...))` is an InitPlan) and
  compare them with indexed columns. Unset variables are NULL: no row matches, nothing can be written.
- The variables are unforgeable: crm_request_context() also sets `crm.context_mac`, a MAC of them (bound
  to the backend and the transaction) keyed by a secret only the owner reads, and every policy the runtime
  role meets starts with `(SELECT crm_context_ok())`, which recomputes it. SQL running as the runtime role
  that sets `crm.tenant_id` itself sees nothing and writes nothing (crm migration 0012).
"""

from crm.rls.context import (
    ANONYMOUS,
    REVOKED,
    RequestContext,
    acting_as,
    begin,
    context_of,
    end,
    runtime_role,
)
from crm.rls.policy import (
    BOOK,
    CONTEXT_OK,
    ROLE,
    TENANT,
    USER,
    VERIFIED_PREFIX,
    TablePolicy,
    unverified,
    verified,
)
from crm.rls.search import (
    keyed_search_function,
    keyed_search_function_sql,
    search_function,
    search_function_sql,
    select_policy_qual,
)

__all__ = [
    "ANONYMOUS",
    "BOOK",
    "CONTEXT_OK",
    "REVOKED",
    "ROLE",
    "TENANT",
    "USER",
    "VERIFIED_PREFIX",
    "RequestContext",
    "TablePolicy",
    "acting_as",
    "begin",
    "context_of",
    "end",
    "keyed_search_function",
    "keyed_search_function_sql",
    "runtime_role",
    "search_function",
    "search_function_sql",
    "select_policy_qual",
    "unverified",
    "verified",
]
