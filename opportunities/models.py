"""Opportunities: placements of a principal's products at a customer, moving through the pipeline."""

from __future__ import annotations

from typing import Any

import pgtrigger
from django.conf import settings
from django.contrib.postgres.indexes import GinIndex
from django.contrib.postgres.search import SearchVector, SearchVectorField
from django.db import models
from django.db.models import F, Q, Value
from django.db.models.functions import Cast, Now

from contacts.models import ContactRole
from crm.db import Ref, immutable, member_check, references_trigger
from crm.models import Tenant, TenantModel, User, name_of, tenant_row_triggers
from crm.text import max_length_check

NOTES_MAX_LENGTH = 10_000
REASON_MAX_LENGTH = 2_000


class Stage(models.TextChoices):
    NEW_LEAD = "new_lead", "New lead"
    INITIAL_OUTREACH = "initial_outreach", "Initial outreach"
    SAMPLE_VISIT_OFFERED = "sample_visit_offered", "Sample / visit offered"
    FEEDBACK_LOGGED = "feedback_logged", "Feedback logged"
    DEMO_SCHEDULED = "demo_scheduled", "Demo scheduled"
    CLOSED_WON = "closed_won", "Closed won"
    CLOSED_LOST = "closed_lost", "Closed lost"


CLOSED_STAGES = (Stage.CLOSED_WON, Stage.CLOSED_LOST)


class OpportunityStatus(models.TextChoices):
    ACTIVE = "active", "Active"
    ON_HOLD = "on_hold", "On hold"
    NURTURING = "nurturing", "Nurturing"
    STALLED = "stalled", "Stalled"
    EXPIRED = "expired", "Expired"


class OpportunityPriority(models.TextChoices):
    LOW = "low", "Low"
    MEDIUM = "medium", "Medium"
    HIGH = "high", "High"
    CRITICAL = "critical", "Critical"


# stage_changed_at is the database's; closing an opportunity dates it (today unless given), and
# reopening it clears the date.
_OPPORTUNITY_RULES = """
        IF TG_OP = 'INSERT' OR NEW.stage IS DISTINCT FROM OLD.stage THEN
            NEW.stage_changed_at := now();
        ELSE
            NEW.stage_changed_at := OLD.stage_changed_at;
        END IF;
        IF NEW.stage IN ('closed_won', 'closed_lost') THEN
            NEW.closed_on := coalesce(NEW.closed_on, current_date);
        ELSE
            NEW.closed_on := NULL;
        END IF;"""

# The owner defaults to whoever creates the opportunity (the request's verified user, crm.user_id), through
# the API, the admin and raw SQL alike; before the member check, which then holds it to the firm too.
_OWNER_DEFAULT = """
        IF TG_OP = 'INSERT' AND NEW.owner_id IS NULL THEN
            NEW.owner_id := nullif(current_setting('crm.user_id', true), '')::bigint;
        END IF;"""

# The probability follows the stage (ADR 0032): on insert without one (NULL), and on a stage change that
# does not change the probability too, it becomes the firm's figure for the new stage (stage_probability;
# the default figure should the firm's row be missing). A statement that changes probability keeps its
# value; one that sets it to the value it already had cannot be told from one that leaves it alone, and
# follows. Closed won is 100 and closed lost 0: an explicit other value is refused, and a closed row
# written without a new probability (a legacy row touched by an edit) gets the fixed figure.
_PROBABILITY_RULES = """
        IF NEW.stage IN ('closed_won', 'closed_lost') THEN
            IF NEW.probability IS NULL
               OR (TG_OP = 'UPDATE' AND NEW.probability IS NOT DISTINCT FROM OLD.probability) THEN
                NEW.probability := opportunity_default_probability(NEW.stage);
            ELSIF NEW.probability <> opportunity_default_probability(NEW.stage) THEN
                RAISE EXCEPTION 'probability must be % when the opportunity is %',
                    opportunity_default_probability(NEW.stage), replace(NEW.stage, '_', ' ')
                    USING ERRCODE = 'check_violation', COLUMN = 'probability', TABLE = TG_TABLE_NAME;
            END IF;
        ELSIF NEW.probability IS NULL
              OR (TG_OP = 'UPDATE' AND NEW.stage IS DISTINCT FROM OLD.stage
                  AND NEW.probability IS NOT DISTINCT FROM OLD.probability) THEN
            -- 0 only for a stage that is none (opportunity_stage_valid then refuses the row, by name).
            NEW.probability := coalesce(
                (SELECT probability FROM stage_probability
                  WHERE tenant_id = NEW.tenant_id AND stage = NEW.stage),
                opportunity_default_probability(NEW.stage),
                0
            );
        END IF;"""


class Opportunity(TenantModel):
    # Lists of a non-admin merge one index range per principal of their book (crm.api.pagination).
    book_scope_column = "principal_id"

    name = models.CharField(max_length=200)
    principal = models.ForeignKey(
        "organizations.Organization",
        on_delete=models.PROTECT,
        related_name="principal_opportunities",
        db_constraint=False,
    )
    # customer, distributor and owner are indexed by opportunity_customer, opportunity_distributor and
    # opportunity_owner_next_action (Meta.indexes): an index of the key alone would only cost writes.
    customer = models.ForeignKey(
        "organizations.Organization",
        on_delete=models.PROTECT,
        related_name="customer_opportunities",
        db_index=False,
        db_constraint=False,
    )
    distributor = models.ForeignKey(
        "organizations.Organization",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="distributor_opportunities",
        db_index=False,
        db_constraint=False,
    )
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        db_index=False,
    )
    stage = models.CharField(max_length=24, choices=Stage.choices, default=Stage.NEW_LEAD)
    status = models.CharField(
        max_length=16, choices=OpportunityStatus.choices, default=OpportunityStatus.ACTIVE
    )
    priority = models.CharField(
        max_length=16, choices=OpportunityPriority.choices, default=OpportunityPriority.MEDIUM
    )
    weekly_case_volume = models.DecimalField(max_digits=12, decimal_places=2, default=0)
    # Kept by the database (_PROBABILITY_RULES): no Python default, so an insert that does not give one
    # sends NULL and the trigger fills in the firm's figure for the stage.
    probability = models.PositiveSmallIntegerField(
        blank=True, help_text="0–100 (percent); follows the stage unless set (ADR 0032)."
    )
    weighted_weekly_volume = models.GeneratedField(
        expression=Cast(
            F("weekly_case_volume") * F("probability") / Value(100),
            output_field=models.DecimalField(max_digits=14, decimal_places=2),
        ),
        output_field=models.DecimalField(max_digits=14, decimal_places=2),
        db_persist=True,
    )
    expected_close_date = models.DateField(null=True, blank=True)
    closed_on = models.DateField(null=True, blank=True)
    win_reason = models.TextField(blank=True, max_length=REASON_MAX_LENGTH)
    loss_reason = models.TextField(blank=True, max_length=REASON_MAX_LENGTH)
    next_action = models.CharField(max_length=300, blank=True)
    next_action_date = models.DateField(null=True, blank=True)
    stage_changed_at = models.DateTimeField(null=True, editable=False)
    notes = models.TextField(blank=True, max_length=NOTES_MAX_LENGTH)
    products: models.ManyToManyField[Any, Any] = models.ManyToManyField(
        "products.Product", through="OpportunityProduct", related_name="opportunities", blank=True
    )
    contacts: models.ManyToManyField[Any, Any] = models.ManyToManyField(
        "contacts.Contact", through="OpportunityContact", related_name="opportunities", blank=True
    )
    search_vector = models.GeneratedField(
        expression=SearchVector("name", "next_action", config="simple"),
        output_field=SearchVectorField(),
        db_persist=True,
    )

    class Meta:
        db_table = "opportunity"
        ordering = ["-updated_at", "-id"]
        verbose_name_plural = "opportunities"
        indexes = [
            models.Index(fields=["tenant", "principal", "stage"], name="opportunity_principal_stage"),
            models.Index(fields=["customer"], name="opportunity_customer"),
            models.Index(fields=["distributor"], name="opportunity_distributor"),
            models.Index(fields=["owner", "next_action_date"], name="opportunity_owner_next_action"),
            models.Index(fields=["tenant", "-updated_at", "-id"], name="opportunity_recent"),
            # A principal's live deals, most recently updated first: `?principal=` lists, and a manager's
            # list merged from one such range per principal of the book (crm.api.pagination).
            models.Index(
                fields=["tenant", "principal", "-updated_at", "-id"],
                condition=Q(deleted_at__isnull=True),
                name="opportunity_live_principal",
            ),
            GinIndex(fields=["search_vector"], name="opportunity_search"),
        ]
        constraints = [
            models.CheckConstraint(condition=Q(stage__in=Stage.values), name="opportunity_stage_valid"),
            max_length_check("opportunity", "win_reason", REASON_MAX_LENGTH),
            max_length_check("opportunity", "loss_reason", REASON_MAX_LENGTH),
            max_length_check("opportunity", "notes", NOTES_MAX_LENGTH),
            models.CheckConstraint(
                condition=Q(status__in=OpportunityStatus.values), name="opportunity_status_valid"
            ),
            models.CheckConstraint(
                condition=Q(priority__in=OpportunityPriority.values), name="opportunity_priority_valid"
            ),
            models.CheckConstraint(
                condition=Q(probability__gte=0, probability__lte=100),
                name="opportunity_probability_range",
                violation_error_message="probability must be between 0 and 100.",
            ),
            models.CheckConstraint(
                condition=Q(weekly_case_volume__gte=0),
                name="opportunity_weekly_case_volume_not_negative",
                violation_error_message="weekly_case_volume must be zero or more.",
            ),
            # The field to fix comes first: an error names a constraint's first field (crm.api.constraints).
            models.CheckConstraint(
                condition=~Q(win_reason="") | ~Q(stage=Stage.CLOSED_WON),
                name="opportunity_win_reason_when_won",
                violation_error_message="win_reason is required when the opportunity is closed won.",
            ),
            models.CheckConstraint(
                condition=~Q(loss_reason="") | ~Q(stage=Stage.CLOSED_LOST),
                name="opportunity_loss_reason_when_lost",
                violation_error_message="loss_reason is required when the opportunity is closed lost.",
            ),
            models.CheckConstraint(
                condition=Q(closed_on__isnull=False) | ~Q(stage__in=CLOSED_STAGES),
                name="opportunity_closed_on_when_closed",
                violation_error_message="closed_on is required once the opportunity is closed.",
            ),
            models.CheckConstraint(condition=~Q(name=""), name="opportunity_name_not_blank"),
        ]
        triggers = [
            *tenant_row_triggers("principal_id"),
            references_trigger(
                Ref("principal_id", "organization", ("principal",), "a principal"),
                Ref("customer_id", "organization", ("customer", "prospect"), "a customer or prospect"),
                Ref("distributor_id", "organization", ("distributor",), "a distributor"),
                extra=immutable("principal_id")
                + _OWNER_DEFAULT
                + member_check("owner_id")
                + _OPPORTUNITY_RULES
                + _PROBABILITY_RULES,
            ),
        ]

    def __str__(self) -> str:
        return self.name


class OpportunityProduct(TenantModel):
    """A product of the opportunity's principal being placed."""

    opportunity = models.ForeignKey(
        Opportunity, on_delete=models.CASCADE, related_name="opportunity_products", db_constraint=False
    )
    # Indexed by opportunity_product_product (Meta.indexes).
    product = models.ForeignKey(
        "products.Product", on_delete=models.PROTECT, related_name="+", db_index=False, db_constraint=False
    )
    weekly_case_volume = models.DecimalField(max_digits=12, decimal_places=2, null=True, blank=True)
    notes = models.TextField(blank=True, max_length=NOTES_MAX_LENGTH)
    # Kept by the database: the opportunity's principal.
    scope_principal_id = models.BigIntegerField(null=True, editable=False)

    class Meta:
        db_table = "opportunity_product"
        ordering = ["id"]
        indexes = [
            models.Index(fields=["tenant", "scope_principal_id"], name="opportunity_product_scope"),
            models.Index(fields=["product"], name="opportunity_product_product"),
        ]
        constraints = [
            models.UniqueConstraint(
                fields=["opportunity", "product", "tenant"],
                condition=Q(deleted_at__isnull=True),
                name="opportunity_product_unique_in_firm",
                violation_error_message="This product is already on this opportunity.",
            ),
            models.CheckConstraint(
                condition=Q(weekly_case_volume__isnull=True) | Q(weekly_case_volume__gte=0),
                name="opportunity_product_volume_not_negative",
                violation_error_message="weekly_case_volume must be zero or more.",
            ),
            max_length_check("opportunity_product", "notes", NOTES_MAX_LENGTH),
        ]
        triggers = [
            *tenant_row_triggers("scope_principal_id"),
            references_trigger(
                Ref("opportunity_id", "opportunity", copy=(("scope_principal_id", "principal_id"),)),
                Ref("product_id", "product"),
                extra="""
        PERFORM 1 FROM product
         WHERE id = NEW.product_id AND tenant_id = NEW.tenant_id AND principal_id = NEW.scope_principal_id;
        IF NOT FOUND THEN
            RAISE EXCEPTION 'product must be one of the opportunity''s principal''s products'
                USING ERRCODE = 'check_violation', COLUMN = 'product_id', TABLE = TG_TABLE_NAME;
        END IF;""",
            ),
        ]

    def __str__(self) -> str:
        return f"{name_of(self, 'product')} in {name_of(self, 'opportunity')}"


class OpportunityContact(TenantModel):
    """A contact involved in an opportunity, with their role in it."""

    opportunity = models.ForeignKey(
        Opportunity, on_delete=models.CASCADE, related_name="opportunity_contacts", db_constraint=False
    )
    # Indexed by opportunity_contact_contact (Meta.indexes).
    contact = models.ForeignKey(
        "contacts.Contact", on_delete=models.PROTECT, related_name="+", db_index=False, db_constraint=False
    )
    role = models.CharField(max_length=20, choices=ContactRole.choices, default=ContactRole.OTHER)
    # Kept by the database: the opportunity's principal.
    scope_principal_id = models.BigIntegerField(null=True, editable=False)

    class Meta:
        db_table = "opportunity_contact"
        ordering = ["id"]
        indexes = [
            models.Index(fields=["tenant", "scope_principal_id"], name="opportunity_contact_scope"),
            models.Index(fields=["contact"], name="opportunity_contact_contact"),
        ]
        constraints = [
            models.UniqueConstraint(
                fields=["opportunity", "contact", "tenant"],
                condition=Q(deleted_at__isnull=True),
                name="opportunity_contact_unique_in_firm",
                violation_error_message="This contact is already on this opportunity.",
            ),
            models.CheckConstraint(
                condition=Q(role__in=ContactRole.values), name="opportunity_contact_role_valid"
            ),
        ]
        triggers = [
            *tenant_row_triggers("scope_principal_id"),
            references_trigger(
                Ref("opportunity_id", "opportunity", copy=(("scope_principal_id", "principal_id"),)),
                Ref("contact_id", "contact"),
                extra="""
        -- A shared contact, or one at the opportunity's own principal: never one hidden from a user who
        -- sees the opportunity.
        IF TG_OP = 'INSERT' OR NEW.contact_id IS DISTINCT FROM OLD.contact_id THEN
            PERFORM 1 FROM contact
              WHERE id = NEW.contact_id AND tenant_id = NEW.tenant_id
                AND (scope_principal_id IS NULL OR scope_principal_id = NEW.scope_principal_id);
        END IF;
        IF (TG_OP = 'INSERT' OR NEW.contact_id IS DISTINCT FROM OLD.contact_id) AND NOT FOUND THEN
            RAISE EXCEPTION 'contact must be shared or work at the opportunity''s principal'
                USING ERRCODE = 'check_violation', COLUMN = 'contact_id', TABLE = TG_TABLE_NAME;
        END IF;""",
            ),
        ]

    def __str__(self) -> str:
        return f"{name_of(self, 'contact')} on {name_of(self, 'opportunity')}"


# The figures a firm starts with (ADR 0032); opportunity_default_probability() in the database holds the
# same (opportunities migration 0018), for the seed of a new firm and a firm's missing row.
DEFAULT_STAGE_PROBABILITIES: dict[str, int] = {
    Stage.NEW_LEAD: 10,
    Stage.INITIAL_OUTREACH: 20,
    Stage.SAMPLE_VISIT_OFFERED: 40,
    Stage.FEEDBACK_LOGGED: 50,
    Stage.DEMO_SCHEDULED: 70,
    Stage.CLOSED_WON: 100,
    Stage.CLOSED_LOST: 0,
}
OPEN_STAGES = tuple(stage for stage in Stage.values if stage not in CLOSED_STAGES)


class StageProbability(models.Model):
    """A firm's probability of winning an opportunity at an open stage: what the opportunity's probability
    becomes when it reaches that stage (ADR 0032). Closed won and closed lost are fixed (100, 0) and have
    no row. Every firm has a row per open stage (seeded when the firm is created); its admins change them."""

    tenant = models.ForeignKey(Tenant, on_delete=models.CASCADE, related_name="+", db_index=False)
    stage = models.CharField(max_length=24, choices=[(s, Stage(s).label) for s in OPEN_STAGES])
    # bigint for a percentage: the migration lint refuses narrower integers in new columns (squawk's
    # prefer-bigint rules), and 0–100 is held by stage_probability_range anyway.
    probability = models.PositiveBigIntegerField(help_text="0–100 (percent).")
    updated_at = models.DateTimeField(db_default=Now(), editable=False)
    updated_by = models.ForeignKey(
        User, on_delete=models.PROTECT, null=True, blank=True, related_name="+", editable=False
    )

    class Meta:
        db_table = "stage_probability"
        ordering = ["tenant", "id"]
        verbose_name = "stage probability"
        verbose_name_plural = "stage probabilities"
        constraints = [
            models.UniqueConstraint(fields=["tenant", "stage"], name="stage_probability_once_per_firm"),
            models.CheckConstraint(
                condition=Q(stage__in=OPEN_STAGES),
                name="stage_probability_open_stage",
                violation_error_message="Only an open stage has a firm's probability.",
            ),
            models.CheckConstraint(
                condition=Q(probability__gte=0, probability__lte=100),
                name="stage_probability_range",
                violation_error_message="probability must be between 0 and 100.",
            ),
        ]
        triggers = [
            # Who changed a firm's figures, and when: the request's verified user, as audit columns are.
            pgtrigger.Trigger(
                name="stamp_update",
                operation=pgtrigger.Update,
                when=pgtrigger.Before,
                func="""
        IF NEW.tenant_id IS DISTINCT FROM OLD.tenant_id OR NEW.stage IS DISTINCT FROM OLD.stage THEN
            RAISE EXCEPTION 'a firm''s stage probability keeps its firm and stage'
                USING ERRCODE = 'check_violation', COLUMN = 'stage', TABLE = TG_TABLE_NAME;
        END IF;
        NEW.updated_at := now();
        NEW.updated_by_id := nullif(current_setting('crm.user_id', true), '')::bigint;
        RETURN NEW;""",
            ),
        ]

    def __str__(self) -> str:
        return f"{Stage(self.stage).label}: {self.probability}%"
