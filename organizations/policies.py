"""Row level security of the organizations app's tables as it is today (crm.policy_declarations; the
migrations carry the literal SQL of each step). Change a policy here, then
`manage.py makepolicymigration organizations`."""

from crm.policy_declarations import declare, declare_table_policy
from crm.rls import ROLE, TENANT, USER, TablePolicy

ADMIN_OF_TENANT = f"tenant_id = {TENANT} AND {ROLE} = 'admin'"

POLICIES = (
    declare_table_policy(TablePolicy("organization", "scope_principal_id", viewers_see_shared=True)),
    declare_table_policy(TablePolicy("distributor_authorization", "principal_id")),
    declare_table_policy(TablePolicy("customer_distributor", None, viewers_see_shared=True)),
    # Books: admins manage them; everyone else reads their own.
    declare(
        "principal_assignment",
        select=f"tenant_id = {TENANT} AND ({ROLE} = 'admin' OR user_id = {USER})",
        insert=ADMIN_OF_TENANT,
        update=ADMIN_OF_TENANT,
        delete=ADMIN_OF_TENANT,
    ),
)
