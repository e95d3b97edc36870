"""Row level security of the interactions app's tables as it is today (crm.policy_declarations; the
migrations carry the literal SQL of each step). Change a policy here, then
`manage.py makepolicymigration interactions`."""

from crm.policy_declarations import declare_table_policy
from crm.rls import TablePolicy

POLICIES = (declare_table_policy(TablePolicy("interaction", "principal_id", viewers_see_shared=False)),)
