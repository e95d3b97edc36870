"""Organizations (principals, distributors, customers, prospects), their relationships, and books."""

from __future__ import annotations

from django.conf import settings
from django.contrib.postgres.fields import ArrayField
from django.contrib.postgres.indexes import GinIndex
from django.contrib.postgres.search import SearchVector, SearchVectorField
from django.db import models

from crm.db import Ref, match_keys_trigger, member_check, merge_checks, merge_trigger, references_trigger
from crm.models import PRINCIPAL as BOOK_HOLDS
from crm.models import TenantModel, name_of, tenant_row_triggers
from crm.text import NameKey, max_length_check, normalized_text_check, visible_text_check

NOTES_MAX_LENGTH = 10_000


class OrganizationType(models.TextChoices):
    PRINCIPAL = BOOK_HOLDS, "Principal"
    DISTRIBUTOR = "distributor", "Distributor"
    CUSTOMER = "customer", "Customer"
    PROSPECT = "prospect", "Prospect"


class Priority(models.TextChoices):
    A = "A", "A"
    B = "B", "B"
    C = "C", "C"
    D = "D", "D"


class Segment(models.TextChoices):
    FINE_DINING = "fine_dining", "Fine dining"
    CASUAL_DINING = "casual_dining", "Casual dining"
    FAST_CASUAL = "fast_casual", "Fast casual"
    QSR = "qsr", "QSR"
    HEALTHCARE = "healthcare", "Healthcare"
    EDUCATION = "education", "Education"
    HOTEL = "hotel", "Hotel"
    CATERING = "catering", "Catering"
    BAR = "bar", "Bar"
    CAFE = "cafe", "Cafe"
    CORPORATE = "corporate", "Corporate dining"
    GROCERY = "grocery", "Grocery"
    OTHER = "other", "Other"


class OrganizationStatus(models.TextChoices):
    ACTIVE = "active", "Active"
    INACTIVE = "inactive", "Inactive"


# A principal's scope key is its own id; every other organization is shared (NULL). Whether a row is a
# principal is fixed at creation (only customer <-> prospect may change), so scope keys of dependent rows
# never need a cascade. (Code constants only, joined with crm.db's member check: nothing from input.)
_ORGANIZATION_RULES = (
    """
        IF TG_OP = 'UPDATE' AND NEW.type IS DISTINCT FROM OLD.type
           AND NOT (OLD.type IN ('customer', 'prospect') AND NEW.type IN ('customer', 'prospect')) THEN
            -- Other rows were checked against this type (an opportunity's distributor, a product's
            -- principal…): only a prospect becoming a customer, or back, keeps them all true.
            RAISE EXCEPTION 'type can change only between customer and prospect'
                USING ERRCODE = 'check_violation', COLUMN = 'type', TABLE = TG_TABLE_NAME;
        END IF;
        IF TG_OP = 'UPDATE' AND NEW.type = 'principal' AND NEW.name IS DISTINCT FROM OLD.name
           AND coalesce(current_setting('crm.role', true), '') IN ('manager', 'viewer') THEN
            -- Principal names are unique among principals; a manager's rename could otherwise probe
            -- the names of principals outside their book through the unique index.
            RAISE EXCEPTION 'only an admin can rename a principal'
                USING ERRCODE = 'check_violation', COLUMN = 'name', TABLE = TG_TABLE_NAME;
        END IF;
        IF NEW.parent_id IS NOT NULL THEN
            SELECT type INTO parent_type FROM organization
             WHERE id = NEW.parent_id AND tenant_id = NEW.tenant_id;
            IF (parent_type = 'principal') IS DISTINCT FROM (NEW.type = 'principal') THEN
                -- A chain stays within one visibility scope, so a visible row never points at a hidden one.
                RAISE EXCEPTION 'parent must be a principal exactly when this organization is one'
                    USING ERRCODE = 'check_violation', COLUMN = 'parent_id', TABLE = TG_TABLE_NAME;
            END IF;
        END IF;
        NEW.scope_principal_id := CASE WHEN NEW.type = 'principal' THEN NEW.id END;"""  # noqa: S608
    + member_check("account_manager_id")
)


class Organization(TenantModel):
    # Stored NFC, without control or invisible characters (crm.text); the API and admin normalise them.
    normalized_text_fields = ("name", "email")

    name = models.CharField(max_length=200)
    type = models.CharField(max_length=16, choices=OrganizationType.choices)
    priority = models.CharField(max_length=1, choices=Priority.choices, default=Priority.C)
    segment = models.CharField(max_length=32, choices=Segment.choices, blank=True)
    parent = models.ForeignKey(
        "self", on_delete=models.PROTECT, null=True, blank=True, related_name="children", db_constraint=False
    )
    account_manager = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    status = models.CharField(
        max_length=16, choices=OrganizationStatus.choices, default=OrganizationStatus.ACTIVE
    )
    phone = models.CharField(max_length=40, blank=True)
    email = models.EmailField(max_length=254, blank=True)
    website = models.URLField(max_length=300, blank=True)
    street = models.CharField(max_length=200, blank=True)
    city = models.CharField(max_length=100, blank=True)
    state = models.CharField(max_length=100, blank=True)
    postal_code = models.CharField(max_length=20, blank=True)
    country = models.CharField(max_length=2, default="US", help_text="ISO 3166-1 alpha-2 code.")
    notes = models.TextField(blank=True, max_length=NOTES_MAX_LENGTH)
    # Kept by the database (trigger): the row's RLS scope key.
    scope_principal_id = models.BigIntegerField(null=True, editable=False)
    # Set by a merge (organizations.services.organization_merge, ADR 0029): the organization this one was
    # merged into. The database holds it: same firm and type, not a principal, not itself, and a merged row
    # is deleted and stays merged (organizations migration 0020).
    merged_into = models.ForeignKey(
        "self",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        editable=False,
        related_name="+",
        db_index=False,
        db_constraint=False,
    )
    # Kept by the database (the match_keys trigger, organizations migration 0023): what the duplicates
    # list compares (ADR 0029), folded once a write instead of on every page. The name's words
    # (crm_name_words: crm.text.name_tokens), the city's crm_name_key, the phone's last ten digits.
    match_words = ArrayField(models.TextField(), null=True, editable=False)
    match_city = models.TextField(null=True, editable=False)
    match_phone = models.TextField(null=True, editable=False)
    # Columns a writer leaves to the database (bulk writers such as imports skip them).
    kept_by_database = ("match_words", "match_city", "match_phone")
    search_vector = models.GeneratedField(
        expression=SearchVector("name", "email", "city", config="simple"),
        output_field=SearchVectorField(),
        db_persist=True,
    )

    class Meta:
        db_table = "organization"
        ordering = ["name", "id"]
        indexes = [
            models.Index(fields=["tenant", "scope_principal_id"], name="organization_scope"),
            # Lists show live rows only, in the list's order with the key last: a page (first or deep)
            # is one index range that stops after page_size + 1 rows, with no sort.
            models.Index(
                fields=["tenant", "name", "id"],
                condition=models.Q(deleted_at__isnull=True),
                name="organization_live_name",
            ),
            models.Index(
                fields=["tenant", "type", "name", "id"],
                condition=models.Q(deleted_at__isnull=True),
                name="organization_live_type_name",
            ),
            GinIndex(fields=["search_vector"], name="organization_search"),
            # The few merged rows, by survivor: the composite key's check when a survivor is purged.
            models.Index(
                fields=["merged_into"],
                condition=models.Q(merged_into__isnull=False),
                name="organization_merged_into",
            ),
        ]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(type__in=OrganizationType.values), name="organization_type_valid"
            ),
            models.CheckConstraint(
                condition=models.Q(priority__in=Priority.values), name="organization_priority_valid"
            ),
            models.CheckConstraint(
                condition=models.Q(segment__in=[*Segment.values, ""]), name="organization_segment_valid"
            ),
            models.CheckConstraint(
                condition=models.Q(status__in=OrganizationStatus.values), name="organization_status_valid"
            ),
            models.CheckConstraint(
                condition=~models.Q(parent=models.F("id")), name="organization_parent_not_self"
            ),
            models.CheckConstraint(condition=~models.Q(name=""), name="organization_name_not_blank"),
            *merge_checks("organization"),
            normalized_text_check("organization", "name"),
            visible_text_check("organization", "name"),
            normalized_text_check("organization", "email"),
            visible_text_check("organization", "email"),
            max_length_check("organization", "notes", NOTES_MAX_LENGTH),
            # Names are unique per tenant among live rows, within the principals and within the shared
            # accounts: so a manager's clash can only be with a row they can see (no existence leak).
            # Compared as people read them (crm_name_key: NFKC, case, spaces), not byte for byte.
            models.UniqueConstraint(
                "tenant",
                NameKey("name"),
                condition=models.Q(deleted_at__isnull=True, type="principal"),
                name="organization_principal_name_key_unique",
                violation_error_message="A principal with this name already exists.",
            ),
            models.UniqueConstraint(
                "tenant",
                NameKey("name"),
                condition=models.Q(deleted_at__isnull=True) & ~models.Q(type="principal"),
                name="organization_name_key_unique",
                violation_error_message="An organization with this name already exists.",
            ),
        ]
        triggers = [
            *tenant_row_triggers("scope_principal_id", viewers_see_shared=True),
            references_trigger(
                Ref("parent_id", "organization"),
                extra=_ORGANIZATION_RULES,
                declare=(("parent_type", "text"),),
            ),
            match_keys_trigger(
                match_words="crm_name_words(NEW.name)",
                match_city="crm_name_key(NEW.city)",
                match_phone="crm_phone_key(NEW.phone)",
            ),
            merge_trigger(
                "organization",
                same=("type", "an organization merges only into one of its type"),
                refuse="NEW.type = 'principal'",
                refusal="principals are not merged",
            ),
        ]

    def __str__(self) -> str:
        return self.name


class DistributorAuthorization(TenantModel):
    """A distributor carries a principal's line."""

    # Indexed by distributor_auth_distributor (Meta.indexes).
    distributor = models.ForeignKey(
        Organization,
        on_delete=models.PROTECT,
        related_name="authorized_principals",
        db_index=False,
        db_constraint=False,
    )
    principal = models.ForeignKey(
        Organization, on_delete=models.PROTECT, related_name="authorized_distributors", db_constraint=False
    )
    authorized_on = models.DateField(null=True, blank=True)
    expires_on = models.DateField(null=True, blank=True)
    notes = models.TextField(blank=True, max_length=NOTES_MAX_LENGTH)

    class Meta:
        db_table = "distributor_authorization"
        ordering = ["id"]
        indexes = [
            models.Index(fields=["tenant", "principal"], name="distributor_auth_principal"),
            models.Index(fields=["distributor"], name="distributor_auth_distributor"),
        ]
        constraints = [
            models.UniqueConstraint(
                fields=["distributor", "principal", "tenant"],
                condition=models.Q(deleted_at__isnull=True),
                name="distributor_authorization_unique_in_firm",
                violation_error_message="This distributor is already authorized for this principal.",
            ),
            models.CheckConstraint(
                condition=models.Q(expires_on__isnull=True)
                | models.Q(authorized_on__isnull=True)
                | models.Q(expires_on__gte=models.F("authorized_on")),
                name="distributor_authorization_expires_after_authorized",
                violation_error_message="expires_on must not be before authorized_on.",
            ),
            max_length_check("distributor_authorization", "notes", NOTES_MAX_LENGTH),
        ]
        triggers = [
            *tenant_row_triggers("principal_id"),
            references_trigger(
                Ref("distributor_id", "organization", ("distributor",), "a distributor"),
                Ref("principal_id", "organization", ("principal",), "a principal"),
            ),
        ]

    def __str__(self) -> str:
        return f"{name_of(self, 'distributor')} carries {name_of(self, 'principal')}"


class CustomerDistributor(TenantModel):
    """A distributor delivers to a customer (operator); at most one primary per customer."""

    customer = models.ForeignKey(
        Organization, on_delete=models.PROTECT, related_name="distributors", db_constraint=False
    )
    # Indexed by customer_distributor_distrib (Meta.indexes).
    distributor = models.ForeignKey(
        Organization, on_delete=models.PROTECT, related_name="customers", db_index=False, db_constraint=False
    )
    is_primary = models.BooleanField(default=False)

    class Meta:
        db_table = "customer_distributor"
        ordering = ["id"]
        indexes = [
            models.Index(fields=["tenant", "customer"], name="customer_distributor_customer"),
            models.Index(fields=["distributor"], name="customer_distributor_distrib"),
        ]
        constraints = [
            models.UniqueConstraint(
                fields=["customer", "distributor", "tenant"],
                condition=models.Q(deleted_at__isnull=True),
                name="customer_distributor_unique_in_firm",
                violation_error_message="This distributor already serves this customer.",
            ),
            models.UniqueConstraint(
                fields=["customer", "tenant"],
                condition=models.Q(deleted_at__isnull=True, is_primary=True),
                name="customer_distributor_one_primary_in_firm",
                violation_error_message="This customer already has a primary distributor.",
            ),
        ]
        triggers = [
            *tenant_row_triggers(None, viewers_see_shared=True),
            references_trigger(
                Ref("customer_id", "organization", ("customer", "prospect"), "a customer or prospect"),
                Ref("distributor_id", "organization", ("distributor",), "a distributor"),
            ),
        ]

    def __str__(self) -> str:
        return f"{name_of(self, 'distributor')} serves {name_of(self, 'customer')}"
