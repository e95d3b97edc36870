"""Row level security of the opportunities app's tables as it is today (crm.policy_declarations; the
migrations carry the literal SQL of each step). Change a policy here, then
`manage.py makepolicymigration opportunities`."""

from crm.policy_declarations import declare_table_policy
from crm.rls import TablePolicy

POLICIES = (
    declare_table_policy(TablePolicy("opportunity", "principal_id")),
    declare_table_policy(TablePolicy("opportunity_product", "scope_principal_id")),
    declare_table_policy(TablePolicy("opportunity_contact", "scope_principal_id")),
)
