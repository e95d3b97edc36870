"""Row level security of the imports app's table as it is today (crm.policy_declarations; the migrations
carry the literal SQL of each step). Change a policy here, then `manage.py makepolicymigration imports`."""

from crm.policy_declarations import declare
from crm.rls import ROLE, TENANT, USER

POLICIES = (
    # An import holds a file of the firm's data: its importer reads it, and the firm's admins read them all.
    # Writers (admins, managers) start their own; the job acting as the importer updates its progress
    # (whatever the importer's role is by then: the writes it makes are checked by their own tables).
    # None is ever deleted through the runtime role.
    declare(
        "import_run",
        select=f"tenant_id = {TENANT} AND ({ROLE} = 'admin' OR created_by_id = {USER})",
        insert=f"tenant_id = {TENANT} AND {ROLE} IN ('admin', 'manager') AND created_by_id = {USER}",
        update=f"tenant_id = {TENANT} AND created_by_id = {USER}",
        delete=None,
        grant="SELECT, INSERT, UPDATE",
    ),
)
