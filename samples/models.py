"""Samples: the products a sample interaction put in front of a customer, and what became of them (sent,
delivered, the feedback): the step that wins placements."""

from __future__ import annotations

from django.db import models
from django.db.models import F, Q
from django.db.models.functions import Coalesce, Now

from crm.db import Ref, immutable, references_trigger
from crm.models import TenantModel, tenant_row_triggers
from crm.text import max_length_check
from interactions.models import NOTES_MAX_LENGTH, Interaction, Sentiment


class SampleStatus(models.TextChoices):
    REQUESTED = "requested", "Requested"
    SENT = "sent", "Sent"
    DELIVERED = "delivered", "Delivered"
    FEEDBACK_RECEIVED = "feedback_received", "Feedback received"
    CANCELLED = "cancelled", "Cancelled"


# The steps a sample moves through, in order (cancelled ends any open one). A sample may skip steps
# forward (a rep hands it over: requested → delivered), never go back; the last two end it.
SAMPLE_STEPS = (
    SampleStatus.REQUESTED,
    SampleStatus.SENT,
    SampleStatus.DELIVERED,
    SampleStatus.FEEDBACK_RECEIVED,
)
OPEN_SAMPLE_STATUSES = (SampleStatus.REQUESTED, SampleStatus.SENT, SampleStatus.DELIVERED)
# Out with the customer and no feedback yet: what the scorecard and `?awaiting_feedback=true` count.
AWAITING_FEEDBACK_STATUSES = (SampleStatus.SENT, SampleStatus.DELIVERED)


class SampleUnit(models.TextChoices):
    CASE = "case", "Case"
    EACH = "each", "Each"
    PACK = "pack", "Pack"
    BOX = "box", "Box"
    BAG = "bag", "Bag"
    POUND = "lb", "lb"
    OUNCE = "oz", "oz"
    KILOGRAM = "kg", "kg"
    GRAM = "g", "g"
    GALLON = "gal", "gal"
    LITRE = "l", "l"


# The column each step's time is kept in (sample.<step>_at).
_STEP_COLUMNS = {step.value: f"{step.value}_at" for step in (*SAMPLE_STEPS, SampleStatus.CANCELLED)}


def _sample_step_times() -> str:
    """Each step's time is the database's: once dated it never changes; a step reached by this write is
    dated now, or at the earlier time the writer gives (a sample logged after the fact); a step not
    reached has none. A cancelled sample keeps the times of the steps it had passed. "Now" is the statement's
    time (requested_at's default, Django's Now()), not the transaction's: steps taken in one transaction
    stay in order."""
    lines = []
    for rank, step in enumerate(SAMPLE_STEPS, start=1):
        column = _STEP_COLUMNS[step.value]
        lines.append(
            f"""
        NEW.{column} := CASE WHEN reached >= {rank}
            THEN coalesce(CASE WHEN TG_OP = 'UPDATE' THEN OLD.{column} END, NEW.{column}, statement_timestamp()) END;"""
        )
    lines.append(
        """
        NEW.cancelled_at := CASE WHEN NEW.status = 'cancelled'
            THEN coalesce(CASE WHEN TG_OP = 'UPDATE' THEN OLD.cancelled_at END, NEW.cancelled_at, statement_timestamp()) END;"""
    )
    return "".join(lines)


_STEP_ARRAY = "ARRAY[" + ", ".join(f"'{step.value}'" for step in SAMPLE_STEPS) + "]"

# A sample belongs to a sample interaction of a principal (its products are the principal's); its status
# moves forward only (or to cancelled), and feedback_received and cancelled are final.
_SAMPLE_RULES = f"""
        IF NEW.deleted_at IS NULL THEN
            PERFORM 1 FROM interaction
             WHERE id = NEW.interaction_id AND tenant_id = NEW.tenant_id AND type = 'sample';
            IF NOT FOUND THEN
                RAISE EXCEPTION 'only a sample interaction has a sample'
                    USING ERRCODE = 'check_violation', COLUMN = 'interaction_id', TABLE = TG_TABLE_NAME;
            END IF;
            IF NEW.scope_principal_id IS NULL THEN
                RAISE EXCEPTION 'a sample is of a principal''s products: its interaction needs a principal'
                    USING ERRCODE = 'check_violation', COLUMN = 'interaction_id', TABLE = TG_TABLE_NAME;
            END IF;
        END IF;
        new_rank := array_position({_STEP_ARRAY}, NEW.status::text);
        IF TG_OP = 'UPDATE' THEN
            old_rank := array_position({_STEP_ARRAY}, OLD.status::text);
            IF NEW.status IS DISTINCT FROM OLD.status THEN
                IF OLD.status IN ('feedback_received', 'cancelled') THEN
                    RAISE EXCEPTION 'a sample whose status is % keeps it', OLD.status
                        USING ERRCODE = 'check_violation', COLUMN = 'status', TABLE = TG_TABLE_NAME;
                END IF;
                IF new_rank IS NOT NULL AND new_rank < old_rank THEN
                    RAISE EXCEPTION 'a sample moves forward: it cannot go back from % to %', OLD.status, NEW.status
                        USING ERRCODE = 'check_violation', COLUMN = 'status', TABLE = TG_TABLE_NAME;
                END IF;
            END IF;
        END IF;
        -- How far the sample got: its status, or, cancelled, the steps it had passed (as they were, or as
        -- the insert of a sample logged already cancelled gives them).
        reached := coalesce(new_rank, CASE WHEN TG_OP = 'UPDATE' THEN old_rank END,
            CASE WHEN TG_OP = 'UPDATE' THEN
                CASE WHEN OLD.delivered_at IS NOT NULL THEN 3 WHEN OLD.sent_at IS NOT NULL THEN 2 ELSE 1 END
            ELSE
                CASE WHEN NEW.delivered_at IS NOT NULL THEN 3 WHEN NEW.sent_at IS NOT NULL THEN 2 ELSE 1 END
            END);{_sample_step_times()}
        IF greatest(NEW.requested_at, NEW.sent_at, NEW.delivered_at, NEW.feedback_received_at, NEW.cancelled_at)
           > statement_timestamp() THEN
            RAISE EXCEPTION 'a sample''s step cannot be dated in the future'
                USING ERRCODE = 'check_violation', COLUMN = 'status', TABLE = TG_TABLE_NAME;
        END IF;"""


class Sample(TenantModel):
    """What became of a sample interaction's products: its status through the steps and the feedback."""

    interaction = models.ForeignKey(
        Interaction, on_delete=models.CASCADE, related_name="samples", db_index=False, db_constraint=False
    )
    status = models.CharField(max_length=20, choices=SampleStatus.choices, default=SampleStatus.REQUESTED)
    # Kept by the database (_SAMPLE_RULES): when each step was reached.
    requested_at = models.DateTimeField(db_default=Now(), editable=False)
    sent_at = models.DateTimeField(null=True, blank=True, editable=False)
    delivered_at = models.DateTimeField(null=True, blank=True, editable=False)
    feedback_received_at = models.DateTimeField(null=True, blank=True, editable=False)
    cancelled_at = models.DateTimeField(null=True, blank=True, editable=False)
    feedback = models.TextField(blank=True, max_length=NOTES_MAX_LENGTH)
    sentiment = models.CharField(max_length=16, choices=Sentiment.choices, blank=True)
    # Kept by the database: the interaction's principal (which cannot change while it has a sample).
    scope_principal_id = models.BigIntegerField(null=True, editable=False)

    class Meta:
        db_table = "sample"
        ordering = ["-id"]
        indexes = [
            # The interaction's key in its firm (the foreign key sample_interaction_in_firm): a deleted
            # interaction's check finds its samples, live or not, without a scan (the unique index is
            # partial, live rows only).
            models.Index(fields=["interaction", "tenant"], name="sample_interaction_tenant"),
            # The firm's samples, newest first, deleted ones too (the tenant key's foreign key).
            models.Index(fields=["tenant", "-id"], name="sample_tenant_newest"),
            # A principal's open samples, newest first: `/samples/?principal=`, and the scorecard's counts.
            models.Index(
                fields=["tenant", "scope_principal_id", "status", "-id"],
                condition=Q(deleted_at__isnull=True),
                name="sample_live_principal_status",
            ),
            # The firm's open samples, newest first: the list's default (open only).
            models.Index(
                fields=["tenant", "-id"],
                condition=Q(deleted_at__isnull=True, status__in=OPEN_SAMPLE_STATUSES),
                name="sample_live_open",
            ),
        ]
        constraints = [
            # One live sample per interaction (the lines are the interaction's).
            models.UniqueConstraint(
                fields=["interaction", "tenant"],
                condition=Q(deleted_at__isnull=True),
                name="sample_interaction_unique_in_firm",
                violation_error_message="This interaction already has a sample.",
            ),
            models.CheckConstraint(condition=Q(status__in=SampleStatus.values), name="sample_status_valid"),
            models.CheckConstraint(
                condition=Q(sentiment__in=[*Sentiment.values, ""]), name="sample_sentiment_valid"
            ),
            # The field to fix comes first: an error names a constraint's first field (crm.api.constraints).
            models.CheckConstraint(
                condition=~Q(feedback="") | ~Q(status=SampleStatus.FEEDBACK_RECEIVED),
                name="sample_feedback_when_received",
                violation_error_message="feedback is required once the feedback is received.",
            ),
            # Feedback is what came back from the customer; a cancelled sample may say why in it.
            models.CheckConstraint(
                condition=Q(feedback="")
                | Q(status__in=(SampleStatus.FEEDBACK_RECEIVED, SampleStatus.CANCELLED)),
                name="sample_feedback_only_when_received",
                violation_error_message="feedback comes with the status feedback_received (or says why a"
                " sample was cancelled).",
            ),
            models.CheckConstraint(
                condition=Q(sentiment="") | Q(status=SampleStatus.FEEDBACK_RECEIVED),
                name="sample_sentiment_only_when_received",
                violation_error_message="sentiment comes with the status feedback_received.",
            ),
            models.CheckConstraint(
                condition=(Q(sent_at__isnull=True) | Q(sent_at__gte=F("requested_at")))
                & (Q(delivered_at__isnull=True) | Q(delivered_at__gte=Coalesce("sent_at", "requested_at")))
                & (
                    Q(feedback_received_at__isnull=True)
                    | Q(feedback_received_at__gte=Coalesce("delivered_at", "sent_at", "requested_at"))
                )
                & (
                    Q(cancelled_at__isnull=True)
                    | Q(cancelled_at__gte=Coalesce("delivered_at", "sent_at", "requested_at"))
                ),
                name="sample_steps_in_order",
                violation_error_message="A sample's steps are dated in their order.",
            ),
            max_length_check("sample", "feedback", NOTES_MAX_LENGTH),
        ]
        triggers = [
            *tenant_row_triggers("scope_principal_id"),
            references_trigger(
                Ref("interaction_id", "interaction", copy=(("scope_principal_id", "principal_id"),)),
                extra=immutable("interaction_id") + _SAMPLE_RULES,
                declare=(("new_rank", "integer"), ("old_rank", "integer"), ("reached", "integer")),
            ),
        ]

    def __str__(self) -> str:
        return f"Sample ({self.get_status_display().lower()})"

    @property
    def lines(self) -> list[SampleLine]:
        """The live lines of the sample's interaction (prefetched by samples.selectors.samples())."""
        interaction = self.interaction
        prefetched: list[SampleLine] | None = getattr(interaction, "live_sample_lines", None)
        if prefetched is not None:
            return prefetched
        return list(interaction.sample_lines.filter(deleted_at__isnull=True).select_related("product"))


class SampleLine(TenantModel):
    """A product of the sample interaction's principal that was sampled, how much of it."""

    interaction = models.ForeignKey(
        Interaction,
        on_delete=models.CASCADE,
        related_name="sample_lines",
        db_index=False,
        db_constraint=False,
    )
    # Indexed by sample_line_product (Meta.indexes).
    product = models.ForeignKey(
        "products.Product", on_delete=models.PROTECT, related_name="+", db_index=False, db_constraint=False
    )
    quantity = models.DecimalField(max_digits=12, decimal_places=2)
    unit = models.CharField(max_length=8, choices=SampleUnit.choices, default=SampleUnit.CASE)
    # Kept by the database: the interaction's principal.
    scope_principal_id = models.BigIntegerField(null=True, editable=False)

    class Meta:
        db_table = "sample_line"
        ordering = ["id"]
        indexes = [
            models.Index(fields=["product"], name="sample_line_product"),
            # The sample's lines, deleted ones too (sample_line_interaction_in_firm; the unique index is
            # partial), and the tenant key's foreign key.
            models.Index(fields=["interaction"], name="sample_line_interaction"),
            models.Index(fields=["tenant", "id"], name="sample_line_tenant"),
        ]
        constraints = [
            models.UniqueConstraint(
                fields=["interaction", "product", "tenant"],
                condition=Q(deleted_at__isnull=True),
                name="sample_line_unique_in_firm",
                violation_error_message="This product is already on this sample.",
            ),
            models.CheckConstraint(
                condition=Q(quantity__gt=0),
                name="sample_line_quantity_positive",
                violation_error_message="quantity must be more than zero.",
            ),
            models.CheckConstraint(condition=Q(unit__in=SampleUnit.values), name="sample_line_unit_valid"),
        ]
        triggers = [
            *tenant_row_triggers("scope_principal_id"),
            references_trigger(
                Ref("interaction_id", "interaction", copy=(("scope_principal_id", "principal_id"),)),
                Ref("product_id", "product"),
                extra=immutable("interaction_id")
                + """
        IF NEW.deleted_at IS NULL THEN
            PERFORM 1 FROM sample
             WHERE interaction_id = NEW.interaction_id AND tenant_id = NEW.tenant_id AND deleted_at IS NULL;
            IF NOT FOUND THEN
                RAISE EXCEPTION 'only a sample interaction with its sample has sample lines'
                    USING ERRCODE = 'check_violation', COLUMN = 'interaction_id', TABLE = TG_TABLE_NAME;
            END IF;
            PERFORM 1 FROM product
             WHERE id = NEW.product_id AND tenant_id = NEW.tenant_id AND principal_id = NEW.scope_principal_id;
            IF NOT FOUND THEN
                RAISE EXCEPTION 'product must be one of the sample''s principal''s products'
                    USING ERRCODE = 'check_violation', COLUMN = 'product_id', TABLE = TG_TABLE_NAME;
            END IF;
        END IF;""",
            ),
        ]

    def __str__(self) -> str:
        return self.product.name
