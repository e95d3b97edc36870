"""Row level security of the organizations app's tables as it is today (crm.policy_declarations; the
migrations carry the literal SQL of each step). Change a policy here, then
`manage.py makepolicymigration organizations`."""

from crm.policy_declarations import declare_table_policy
from crm.rls import TablePolicy

POLICIES = (
    declare_table_policy(TablePolicy("organization", "scope_principal_id", viewers_see_shared=True)),
    declare_table_policy(TablePolicy("distributor_authorization", "principal_id")),
    declare_table_policy(TablePolicy("customer_distributor", None, viewers_see_shared=True)),
)
