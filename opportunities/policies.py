"""Row level security of the opportunities app's tables as it is today (crm.policy_declarations; the
migrations carry the literal SQL of each step). Change a policy here, then
`manage.py makepolicymigration opportunities`."""

from crm.policy_declarations import OWNER, Policy, declare, declare_table_policy
from crm.rls import ROLE, TENANT, TablePolicy

OF_TENANT = f"tenant_id = {TENANT}"
ADMIN_OF_TENANT = f"tenant_id = {TENANT} AND {ROLE} = 'admin'"

POLICIES = (
    declare_table_policy(TablePolicy("opportunity", "principal_id")),
    declare_table_policy(TablePolicy("opportunity_product", "scope_principal_id")),
    declare_table_policy(TablePolicy("opportunity_contact", "scope_principal_id")),
    # A firm's stage probabilities (ADR 0032): every member reads them (the opportunity trigger looks its
    # stage up as the writer), the firm's admins change them. Rows are created with the firm, by the owner
    # (the migration's seed, the tenant trigger), and go with it: no member inserts or deletes one. The
    # owner reads them too, so a command or the demo loader writing opportunities as the owner follows
    # the firm's figures, not the defaults.
    declare(
        "stage_probability",
        select=OF_TENANT,
        insert=None,
        update=ADMIN_OF_TENANT,
        delete=None,
        owner=(
            Policy("stage_probability_owner_select", "SELECT", "true", None, OWNER),
            Policy("stage_probability_owner_insert", "INSERT", None, "true", OWNER),
        ),
        grant="SELECT, UPDATE",
    ),
)
