"""Row level security of the contacts app's tables as it is today (crm.policy_declarations; the
migrations carry the literal SQL of each step). Change a policy here, then
`manage.py makepolicymigration contacts`."""

from crm.policy_declarations import declare_table_policy
from crm.rls import TablePolicy

POLICIES = (declare_table_policy(TablePolicy("contact", "scope_principal_id", viewers_see_shared=False)),)
