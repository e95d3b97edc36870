"""Row level security of crm's own tables as it is today (crm.policy_declarations; the migrations carry
the literal SQL of each step). Change a policy here, then `manage.py makepolicymigration crm`."""

from crm.policy_declarations import OWNER, Policy, declare
from crm.rls import BOOK, ROLE, TENANT, USER, verified

SESSION_KEY = "(SELECT current_setting('crm.session_key', true))"
MEMBERS = "(SELECT crm_member_ids())::bigint[]"
ADMIN = f"{ROLE} = 'admin'"
ADMIN_OF_TENANT = f"tenant_id = {TENANT} AND {ADMIN}"
# Who sent the request, as idempotency keys are scoped: a signed-in user today (an API key: another prefix).
CALLER = "(SELECT 'user:' || nullif(current_setting('crm.user_id', true), ''))"
OWN_IDEMPOTENCY_KEY = verified(f"tenant_id = {TENANT} AND caller = {CALLER}")

POLICIES = (
    # Members read their own firm; firms are created and renamed by the owner only (names are unique
    # across firms: a rename would tell whether another firm has a name).
    declare("tenant", select=f"id = {TENANT}", insert=None, update=None, delete=None, grant="SELECT"),
    # Everyone reads their own membership; admins manage their firm's, but cannot remove themselves.
    declare(
        "membership",
        select=f"user_id = {USER} OR (tenant_id = {TENANT} AND {ADMIN})",
        insert=f"tenant_id = {TENANT} AND {ADMIN}",
        update=f"tenant_id = {TENANT} AND {ADMIN}",
        delete=f"tenant_id = {TENANT} AND {ADMIN} AND user_id <> {USER}",
        # The owner runs crm_is_member as definer; under FORCE it needs a policy too, limited to the
        # current tenant (the runtime role is not a member of the owner, so this does not widen its view).
        owner=(Policy("membership_definer_select", "SELECT", f"tenant_id = {TENANT}", None, OWNER),),
    ),
    # A request sees itself and its firm's members; admins edit members (never a superuser); users are
    # added through crm_create_member(). Not forced: the owner's sign-in lookup (crm_auth_user) reads it.
    declare(
        "crm_user",
        select=f"id = {USER} OR id = ANY ({MEMBERS})",
        insert=None,
        update=f"(id = {USER} OR ({ADMIN} AND id = ANY ({MEMBERS}))) AND NOT is_superuser",
        delete=None,
        force=False,
        # and UPDATE of first_name, last_name, password, is_active and last_login only (crm 0003)
        grant="SELECT",
    ),
    # A request reaches only the session whose key its cookie carries.
    declare(
        "django_session",
        select=f"session_key = {SESSION_KEY}",
        insert="true",
        update=f"session_key = {SESSION_KEY}",
        delete=f"session_key = {SESSION_KEY}",
        force=False,
    ),
    # The admin's log holds object names (tenant data): each user sees their own; only writers write.
    declare(
        "django_admin_log",
        select=f"user_id = {USER}",
        insert=f"user_id = {USER} AND {ROLE} IN ('admin', 'manager')",
        update=None,
        delete=None,
        grant="SELECT, INSERT",
    ),
    # History is read as the described row is; only the owner's writer function appends to it
    declare(
        "history",
        select=f"tenant_id = {TENANT} AND ({ROLE} = 'admin' OR scope_principal_id = ANY ({BOOK}::bigint[])"
        f" OR (scope_principal_id IS NULL AND (viewers_see_shared OR {ROLE} <> 'viewer')))",
        insert=None,
        update=None,
        delete=None,
        # (and reads a record's previous entry, for the feed's order: crm migration 0026, ADR 0026).
        owner=(
            Policy("history_writer_insert", "INSERT", None, "true", OWNER),
            Policy("history_writer_select", "SELECT", "true", None, OWNER),
        ),
        grant="SELECT",
    ),
    # Books: admins manage them; everyone else reads their own.
    declare(
        "principal_assignment",
        select=f"tenant_id = {TENANT} AND ({ROLE} = 'admin' OR user_id = {USER})",
        insert=ADMIN_OF_TENANT,
        update=ADMIN_OF_TENANT,
        delete=ADMIN_OF_TENANT,
    ),
    # Stored answers to writes (ADR 0016): reached only through crm_idempotency_claim() and _store(), which
    # run as the owner and are held by these owner policies to the verified caller's own keys; the runtime
    # role holds no privilege on the table and no policy admits it.
    declare(
        "idempotency_key",
        select=None,
        insert=None,
        update=None,
        delete=None,
        owner=(
            Policy("idempotency_key_definer_select", "SELECT", OWN_IDEMPOTENCY_KEY, None, OWNER),
            Policy("idempotency_key_definer_insert", "INSERT", None, OWN_IDEMPOTENCY_KEY, OWNER),
            Policy("idempotency_key_definer_delete", "DELETE", OWN_IDEMPOTENCY_KEY, None, OWNER),
        ),
        grant="",
    ),
    # API keys: the firm's admins list and revoke them (UPDATE of revoked_at only, crm 0023);
    # crm_create_api_key() alone creates them, with their backing user; none is ever deleted. A key does
    # not read its own row: it is a manager or a viewer. The secret's hash is in api_key_secret, which
    # the runtime role cannot read at all.
    declare(
        "api_key",
        select=ADMIN_OF_TENANT,
        insert=None,
        update=ADMIN_OF_TENANT,
        delete=None,
        grant="SELECT",
    ),
)
