"""Tasks: what a member of the firm has to do by a day (a call back, a sample to send), and the daily digest
that reminds them."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.db.models.functions import Now

from crm.db import Ref, member_check, references_trigger
from crm.models import TenantModel, tenant_row_triggers
from crm.text import max_length_check

NOTES_MAX_LENGTH = 10_000


class TaskStatus(models.TextChoices):
    OPEN = "open", "Open"
    DONE = "done", "Done"
    CANCELLED = "cancelled", "Cancelled"


class TaskPriority(models.TextChoices):
    LOW = "low", "Low"
    NORMAL = "normal", "Normal"
    HIGH = "high", "High"
    URGENT = "urgent", "Urgent"


# The assignee defaults to whoever creates the task (the request's user); completed_at is when the task was
# last marked done, kept by the database; a task no longer open is not snoozed. The scope follows the
# interactions' rules: the opportunity's principal (copied by its Ref), or the organization's when it is a
# principal's own; a contact alone gives its organization, and a contact must work at the task's
# organization.
_TASK_RULES = """
        IF TG_OP = 'INSERT' THEN
            NEW.assignee_id := coalesce(NEW.assignee_id, nullif(current_setting('crm.user_id', true), '')::bigint);
        END IF;
        IF NEW.status = 'done' THEN
            NEW.completed_at := CASE WHEN TG_OP = 'UPDATE' AND OLD.status = 'done' THEN OLD.completed_at
                                     ELSE now() END;
        ELSE
            NEW.completed_at := NULL;
        END IF;
        IF NEW.status <> 'open' THEN
            NEW.snoozed_until := NULL;
        END IF;
        IF NEW.contact_id IS NOT NULL AND NEW.organization_id IS NULL THEN
            SELECT organization_id INTO NEW.organization_id FROM contact
             WHERE id = NEW.contact_id AND tenant_id = NEW.tenant_id;
        END IF;
        IF NEW.organization_id IS NOT NULL THEN
            SELECT scope_principal_id INTO organization_scope FROM organization
             WHERE id = NEW.organization_id AND tenant_id = NEW.tenant_id;
            IF organization_scope IS NOT NULL THEN
                IF NEW.principal_id IS NOT NULL AND NEW.principal_id <> organization_scope THEN
                    RAISE EXCEPTION 'principal must be the organization itself for a task at a principal'
                        USING ERRCODE = 'check_violation', COLUMN = 'principal_id', TABLE = TG_TABLE_NAME;
                END IF;
                NEW.principal_id := organization_scope;
            END IF;
        END IF;
        IF NEW.contact_id IS NOT NULL AND (TG_OP = 'INSERT' OR NEW.contact_id IS DISTINCT FROM OLD.contact_id
                                           OR NEW.organization_id IS DISTINCT FROM OLD.organization_id) THEN
            PERFORM 1 FROM contact
              WHERE id = NEW.contact_id AND tenant_id = NEW.tenant_id AND organization_id = NEW.organization_id
                AND deleted_at IS NULL;
            IF NOT FOUND THEN
                RAISE EXCEPTION 'contact must belong to the task''s organization'
                    USING ERRCODE = 'check_violation', COLUMN = 'contact_id', TABLE = TG_TABLE_NAME;
            END IF;
        END IF;"""


class Task(TenantModel):
    """Something a member has to do by a day; its creator is the row's created_by (the database's)."""

    # Lists of a non-admin merge one index range per principal of their book (crm.api.pagination).
    book_scope_column = "principal_id"

    title = models.CharField(max_length=300)
    notes = models.TextField(blank=True, max_length=NOTES_MAX_LENGTH)
    # Indexed by task_assignee_open and task_assignee_due (Meta.indexes), which lead with it.
    assignee = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        related_name="+",
        db_index=False,
        blank=True,
        help_text="Who does it (a member of the firm); whoever creates the task by default.",
    )
    due_on = models.DateField()
    due_time = models.TimeField(null=True, blank=True, help_text="In the assignee's time zone.")
    priority = models.CharField(max_length=8, choices=TaskPriority.choices, default=TaskPriority.NORMAL)
    status = models.CharField(max_length=10, choices=TaskStatus.choices, default=TaskStatus.OPEN)
    completed_at = models.DateTimeField(null=True, blank=True, editable=False)
    snoozed_until = models.DateField(
        null=True, blank=True, help_text="Left out of the digest and of overdue lists until this day."
    )
    # Indexed by task_organization, task_contact and task_opportunity (Meta.indexes).
    organization = models.ForeignKey(
        "organizations.Organization",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="tasks",
        db_index=False,
        db_constraint=False,
    )
    contact = models.ForeignKey(
        "contacts.Contact",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="tasks",
        db_index=False,
        db_constraint=False,
    )
    opportunity = models.ForeignKey(
        "opportunities.Opportunity",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="tasks",
        db_index=False,
        db_constraint=False,
    )
    # The row's scope key: taken from the opportunity, or from the organization when it is a principal's own.
    principal = models.ForeignKey(
        "organizations.Organization",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="principal_tasks",
        db_constraint=False,
    )

    class Meta:
        db_table = "task"
        ordering = ["due_on", "id"]
        indexes = [
            # A principal's (or, principal NULL, the shared) live tasks by due day: `?principal=` lists and a
            # manager's list merged per principal of the book (crm.api.pagination).
            models.Index(
                fields=["tenant", "principal", "due_on", "id"],
                condition=Q(deleted_at__isnull=True),
                name="task_live_principal",
            ),
            models.Index(
                fields=["tenant", "due_on", "id"],
                condition=Q(principal__isnull=True, deleted_at__isnull=True),
                name="task_live_shared",
            ),
            # The firm's tasks by due day, deleted ones too (an admin's list with deleted rows, and the tenant
            # key's index: the partial ones above do not serve its foreign key).
            models.Index(fields=["tenant", "due_on", "id"], name="task_tenant_due"),
            # "My open tasks due by …" (`?assignee=me&status=open&due_before=`), the follow-ups report and
            # the digest.
            models.Index(
                fields=["assignee", "due_on", "id"],
                condition=Q(status=TaskStatus.OPEN, deleted_at__isnull=True),
                name="task_assignee_open",
            ),
            models.Index(fields=["assignee", "due_on", "id"], name="task_assignee_due"),
            models.Index(fields=["organization", "due_on"], name="task_organization"),
            models.Index(fields=["opportunity"], name="task_opportunity"),
            models.Index(fields=["contact"], name="task_contact"),
        ]
        constraints = [
            models.CheckConstraint(condition=Q(status__in=TaskStatus.values), name="task_status_valid"),
            models.CheckConstraint(condition=Q(priority__in=TaskPriority.values), name="task_priority_valid"),
            models.CheckConstraint(condition=~Q(title=""), name="task_title_not_blank"),
            models.CheckConstraint(
                condition=Q(status=TaskStatus.DONE) | Q(completed_at__isnull=True),
                name="task_completed_only_when_done",
            ),
            models.CheckConstraint(
                condition=Q(status=TaskStatus.OPEN) | Q(snoozed_until__isnull=True),
                name="task_snoozed_only_when_open",
            ),
            max_length_check("task", "notes", NOTES_MAX_LENGTH),
        ]
        triggers = [
            *tenant_row_triggers("principal_id"),
            references_trigger(
                Ref("organization_id", "organization"),
                Ref("contact_id", "contact"),
                Ref("opportunity_id", "opportunity", copy=(("principal_id", "principal_id"),)),
                Ref("principal_id", "organization", ("principal",), "a principal"),
                extra=_TASK_RULES + member_check("assignee_id"),
                declare=(("organization_scope", "bigint"),),
            ),
        ]

    def __str__(self) -> str:
        return self.title


class TaskDigest(models.Model):
    """One member's digest of one local day: claimed by the worker that sends it, in the transaction that
    sends it (ADR 0030), so however many workers run, a member gets one a day. The owner's alone: no
    tenant rows, no privilege for the runtime role."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+", db_index=False
    )
    local_date = models.DateField()
    time_zone = models.CharField(max_length=64)
    tasks = models.PositiveIntegerField(default=0)
    sent_at = models.DateTimeField(db_default=Now())

    class Meta:
        db_table = "task_digest"
        constraints = [
            models.UniqueConstraint(fields=["user", "local_date"], name="task_digest_once_a_day"),
        ]

    def __str__(self) -> str:
        return f"digest of {self.user_id} for {self.local_date}"
