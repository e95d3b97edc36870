"""Row level security of the samples app's tables as it is today (crm.policy_declarations; the migrations
carry the literal SQL of each step). Change a policy here, then `manage.py makepolicymigration samples`."""

from crm.policy_declarations import declare_table_policy
from crm.rls import TablePolicy

POLICIES = (
    # A sample and its lines are seen by whoever sees their interaction: its principal, copied by the
    # database (a sample interaction always has one, so none is shared).
    declare_table_policy(TablePolicy("sample", "scope_principal_id")),
    declare_table_policy(TablePolicy("sample_line", "scope_principal_id")),
)
