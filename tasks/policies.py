"""Row level security of the tasks app's tables as it is today (crm.policy_declarations; the migrations
carry the literal SQL of each step). Change a policy here, then `manage.py makepolicymigration tasks`.

Tasks are scoped like interactions: a principal's are seen by those whose book holds it (and admins), the
shared ones (no principal) by admins and managers, not viewers. task_digest is the worker's alone (no
tenant rows, no privilege for the runtime role)."""

from crm.policy_declarations import declare_table_policy
from crm.rls import TablePolicy

POLICIES = (declare_table_policy(TablePolicy("task", "principal_id", viewers_see_shared=False)),)
