"""Row level security of the products app's tables as it is today (crm.policy_declarations; the
migrations carry the literal SQL of each step). Change a policy here, then
`manage.py makepolicymigration products`."""

from crm.policy_declarations import declare_table_policy
from crm.rls import TablePolicy

POLICIES = (
    declare_table_policy(TablePolicy("product", "principal_id")),
    declare_table_policy(TablePolicy("product_distributor", "scope_principal_id")),
)
