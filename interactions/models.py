"""Interactions: the touch points (calls, visits, samples…) logged against organizations."""

from __future__ import annotations

from django.conf import settings
from django.contrib.postgres.indexes import GinIndex
from django.contrib.postgres.search import SearchVector, SearchVectorField
from django.db import models
from django.db.models import Q

from crm.db import Ref, member_check, references_trigger
from crm.models import TenantModel, tenant_row_triggers
from crm.text import max_length_check

NOTES_MAX_LENGTH = 10_000


class InteractionType(models.TextChoices):
    CALL = "call", "Call"
    EMAIL = "email", "Email"
    MEETING = "meeting", "Meeting"
    SITE_VISIT = "site_visit", "Site visit"
    DEMO = "demo", "Demo"
    SAMPLE = "sample", "Sample"
    TASTING = "tasting", "Tasting"
    TRADE_SHOW = "trade_show", "Trade show"
    PROPOSAL = "proposal", "Proposal"
    FOLLOW_UP = "follow_up", "Follow-up"
    NOTE = "note", "Note"
    OTHER = "other", "Other"


class Sentiment(models.TextChoices):
    POSITIVE = "positive", "Positive"
    NEUTRAL = "neutral", "Neutral"
    NEGATIVE = "negative", "Negative"


# An interaction at a principal's own organization is that principal's (so it is never shared); the
# contact must work at the interaction's organization.
_INTERACTION_RULES = """
        SELECT scope_principal_id INTO organization_scope FROM organization
         WHERE id = NEW.organization_id AND tenant_id = NEW.tenant_id;
        IF organization_scope IS NOT NULL THEN
            IF NEW.principal_id IS NOT NULL AND NEW.principal_id <> organization_scope THEN
                RAISE EXCEPTION 'principal must be the organization itself when logging at a principal'
                    USING ERRCODE = 'check_violation', COLUMN = 'principal_id', TABLE = TG_TABLE_NAME;
            END IF;
            NEW.principal_id := organization_scope;
        END IF;
        IF NEW.contact_id IS NOT NULL AND (TG_OP = 'INSERT' OR NEW.contact_id IS DISTINCT FROM OLD.contact_id
                                           OR NEW.organization_id IS DISTINCT FROM OLD.organization_id) THEN
            PERFORM 1 FROM contact
              WHERE id = NEW.contact_id AND tenant_id = NEW.tenant_id AND organization_id = NEW.organization_id
                -- A contact deleted since may stay (as any reference may) when only the organization
                -- changes: a merge moves the interaction with its contact (ADR 0029).
                AND (deleted_at IS NULL OR (TG_OP = 'UPDATE' AND NEW.contact_id = OLD.contact_id));
            IF NOT FOUND THEN
                RAISE EXCEPTION 'contact must belong to the interaction''s organization'
                    USING ERRCODE = 'check_violation', COLUMN = 'contact_id', TABLE = TG_TABLE_NAME;
            END IF;
        END IF;"""


class Interaction(TenantModel):
    # Lists of a non-admin merge one index range per principal of their book (crm.api.pagination).
    book_scope_column = "principal_id"
    # A common word matches too many interactions for an id list: the search function stops at this many
    # and the list then walks its own index instead (crm.api.filters.search).
    search_id_cap = 2000

    type = models.CharField(max_length=16, choices=InteractionType.choices)
    occurred_at = models.DateTimeField()
    duration_minutes = models.PositiveIntegerField(null=True, blank=True)
    subject = models.CharField(max_length=300)
    notes = models.TextField(blank=True, max_length=NOTES_MAX_LENGTH)
    # These three are indexed by interaction_organization, interaction_contact and
    # interaction_opportunity (Meta.indexes): an index of the key alone would only cost writes.
    organization = models.ForeignKey(
        "organizations.Organization",
        on_delete=models.PROTECT,
        related_name="interactions",
        db_index=False,
        db_constraint=False,
    )
    contact = models.ForeignKey(
        "contacts.Contact",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="interactions",
        db_index=False,
        db_constraint=False,
    )
    opportunity = models.ForeignKey(
        "opportunities.Opportunity",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="interactions",
        db_index=False,
        db_constraint=False,
    )
    # The row's scope key: taken from the opportunity when one is given (kept by the database).
    principal = models.ForeignKey(
        "organizations.Organization",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="principal_interactions",
        db_constraint=False,
    )
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    outcome = models.CharField(max_length=300, blank=True)
    sentiment = models.CharField(max_length=16, choices=Sentiment.choices, blank=True)
    follow_up_on = models.DateField(null=True, blank=True)
    follow_up_done = models.BooleanField(default=False)
    search_vector = models.GeneratedField(
        expression=SearchVector("subject", "outcome", config="simple"),
        output_field=SearchVectorField(),
        db_persist=True,
    )

    class Meta:
        db_table = "interaction"
        ordering = ["-occurred_at", "-id"]
        indexes = [
            # A principal's (or, principal NULL, the shared) live interactions, newest first, the key last:
            # `?principal=` lists and a manager's list merged per principal of the book (crm.api.pagination).
            models.Index(
                fields=["tenant", "principal", "-occurred_at", "-id"],
                condition=Q(deleted_at__isnull=True),
                name="interaction_live_principal",
            ),
            # The shared (principal NULL) live interactions, newest first: the shared branch of a manager's
            # merged list. `principal_id IS NULL` in interaction_live_principal is an index condition but
            # not an equality, so the planner does not see the range as ordered and sorted every shared row
            # of the firm (23,741 of them per page at 100 firms).
            models.Index(
                fields=["tenant", "-occurred_at", "-id"],
                condition=Q(principal__isnull=True, deleted_at__isnull=True),
                name="interaction_live_shared",
            ),
            models.Index(fields=["tenant", "-occurred_at", "-id"], name="interaction_recent"),
            models.Index(fields=["organization", "-occurred_at"], name="interaction_organization"),
            models.Index(fields=["opportunity"], name="interaction_opportunity"),
            models.Index(fields=["contact"], name="interaction_contact"),
            models.Index(
                fields=["user", "follow_up_on"],
                condition=Q(follow_up_done=False, follow_up_on__isnull=False, deleted_at__isnull=True),
                name="interaction_follow_up_open",
            ),
            # A user's open follow-ups in the list's order (`?user=&follow_up_due=`): walked newest first
            # until a page is full, where interaction_follow_up_open (by due date, for the reports) made
            # the list fetch and sort every open follow-up of the user.
            models.Index(
                fields=["user", "-occurred_at", "-id"],
                condition=Q(follow_up_done=False, follow_up_on__isnull=False, deleted_at__isnull=True),
                name="interaction_follow_up_recent",
            ),
            GinIndex(fields=["search_vector"], name="interaction_search"),
        ]
        constraints = [
            models.CheckConstraint(
                condition=Q(type__in=InteractionType.values), name="interaction_type_valid"
            ),
            models.CheckConstraint(
                condition=Q(sentiment__in=[*Sentiment.values, ""]), name="interaction_sentiment_valid"
            ),
            models.CheckConstraint(
                condition=Q(duration_minutes__isnull=True) | Q(duration_minutes__gte=0),
                name="interaction_duration_not_negative",
                violation_error_message="duration_minutes must be zero or more.",
            ),
            models.CheckConstraint(condition=~Q(subject=""), name="interaction_subject_not_blank"),
            max_length_check("interaction", "notes", NOTES_MAX_LENGTH),
        ]
        triggers = [
            *tenant_row_triggers("principal_id"),
            references_trigger(
                Ref("organization_id", "organization"),
                Ref("opportunity_id", "opportunity", copy=(("principal_id", "principal_id"),)),
                Ref("principal_id", "organization", ("principal",), "a principal"),
                extra=member_check("user_id") + _INTERACTION_RULES,
                declare=(("organization_scope", "bigint"),),
            ),
        ]

    def __str__(self) -> str:
        return self.subject
