"""Row level security of webhooks' tables as it is today (crm.policy_declarations; the migrations carry the
literal SQL). Change a policy here, then `manage.py makepolicymigration webhooks`."""

from crm.policy_declarations import OWNER, Policy, declare
from crm.rls import ROLE, TENANT

ADMIN_OF_TENANT = f"tenant_id = {TENANT} AND {ROLE} = 'admin'"


def worker(table: str) -> tuple[Policy, ...]:
    """The worker runs as the owner (ADR 0023), across firms: it dispatches and sends every firm's events.
    Under FORCE the owner needs policies too; the runtime role is not the owner, so these do not widen it."""
    return (
        Policy(f"{table}_worker_select", "SELECT", "true", None, OWNER),
        Policy(f"{table}_worker_insert", "INSERT", None, "true", OWNER),
        Policy(f"{table}_worker_update", "UPDATE", "true", "true", OWNER),
    )


POLICIES = (
    # Endpoints: the firm's admins register, change and remove them.
    declare(
        "webhook_endpoint",
        select=ADMIN_OF_TENANT,
        insert=ADMIN_OF_TENANT,
        update=ADMIN_OF_TENANT,
        delete=ADMIN_OF_TENANT,
        owner=worker("webhook_endpoint"),
    ),
    # Deliveries: the firm's admins read the log and ask for a redelivery (an UPDATE); only the dispatcher
    # creates them, and they go with their endpoint.
    declare(
        "webhook_delivery",
        select=ADMIN_OF_TENANT,
        insert=None,
        update=ADMIN_OF_TENANT,
        delete=None,
        owner=worker("webhook_delivery"),
        grant="SELECT, UPDATE",
    ),
)
