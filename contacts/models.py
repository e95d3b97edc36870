"""Contacts: the people at organizations."""

from __future__ import annotations

from django.contrib.postgres.indexes import GinIndex
from django.contrib.postgres.search import SearchVector, SearchVectorField
from django.db import models
from django.db.models import Value
from django.db.models.functions import Replace

from crm.db import Ref, match_keys_trigger, merge_checks, merge_trigger, references_trigger
from crm.models import TenantModel, tenant_row_triggers
from crm.text import NameKey, max_length_check, normalized_text_check, visible_text_check

NOTES_MAX_LENGTH = 10_000


class ContactRole(models.TextChoices):
    DECISION_MAKER = "decision_maker", "Decision maker"
    INFLUENCER = "influencer", "Influencer"
    BUYER = "buyer", "Buyer"
    END_USER = "end_user", "End user"
    GATEKEEPER = "gatekeeper", "Gatekeeper"
    CHAMPION = "champion", "Champion"
    OTHER = "other", "Other"


# A contact's organization is fixed once set, except to follow its organization's merge: it moves to the
# organization its own was merged into (ADR 0029), and nowhere else.
_ORGANIZATION_FIXED = """
        IF TG_OP = 'UPDATE' AND NEW.organization_id IS DISTINCT FROM OLD.organization_id THEN
            PERFORM 1 FROM organization
              WHERE id = OLD.organization_id AND tenant_id = NEW.tenant_id
                AND merged_into_id = NEW.organization_id;
            IF NOT FOUND THEN
                RAISE EXCEPTION 'organization cannot change once set'
                    USING ERRCODE = 'check_violation', COLUMN = 'organization_id', TABLE = TG_TABLE_NAME;
            END IF;
        END IF;"""

# reports_to must be a colleague at the same organization.
_CONTACT_RULES = """
        IF NEW.reports_to_id IS NOT NULL
           AND (TG_OP = 'INSERT' OR NEW.reports_to_id IS DISTINCT FROM OLD.reports_to_id) THEN
            IF NEW.reports_to_id = NEW.id THEN
                RAISE EXCEPTION 'a contact cannot report to themselves'
                    USING ERRCODE = 'check_violation', COLUMN = 'reports_to_id', TABLE = TG_TABLE_NAME;
            END IF;
            PERFORM 1 FROM contact
              WHERE id = NEW.reports_to_id AND tenant_id = NEW.tenant_id AND organization_id = NEW.organization_id
                AND deleted_at IS NULL;
            IF NOT FOUND THEN
                RAISE EXCEPTION 'reports_to must be a contact of the same organization'
                    USING ERRCODE = 'foreign_key_violation', COLUMN = 'reports_to_id', TABLE = TG_TABLE_NAME;
            END IF;
        END IF;"""


class Contact(TenantModel):
    # A search list in the default order picks its page from the keyed search function's rows
    # (contacts migration 0012, crm.api.filters.search): a common last-name prefix matches thousands.
    search_keys = ("last_name", "first_name")
    # Stored NFC, without control or invisible characters (crm.text); the API and admin normalise them.
    normalized_text_fields = ("first_name", "last_name", "email")

    # Indexed by contact_organization (Meta.indexes), which leads with it.
    organization = models.ForeignKey(
        "organizations.Organization",
        on_delete=models.PROTECT,
        related_name="contacts",
        db_index=False,
        db_constraint=False,
    )
    first_name = models.CharField(max_length=100)
    last_name = models.CharField(max_length=100, blank=True)
    title = models.CharField(max_length=150, blank=True)
    role = models.CharField(max_length=20, choices=ContactRole.choices, default=ContactRole.OTHER)
    email = models.EmailField(max_length=254, blank=True)
    phone = models.CharField(max_length=40, blank=True)
    mobile = models.CharField(max_length=40, blank=True)
    is_primary = models.BooleanField(default=False)
    # Indexed by contact_reports_to (Meta.indexes).
    reports_to = models.ForeignKey(
        "self",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="direct_reports",
        db_index=False,
        db_constraint=False,
    )
    notes = models.TextField(blank=True, max_length=NOTES_MAX_LENGTH)
    # Set by a merge (contacts.services.contact_merge, ADR 0029): the contact this one was merged into. The
    # database holds it: same firm and organization, not itself, and a merged row is deleted and stays
    # merged (contacts migration 0021).
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
    # Kept by the database: the organization's scope key.
    scope_principal_id = models.BigIntegerField(null=True, editable=False)
    # The parser keeps an email whole, so a search for "jsmith@corner" (jsmith:* & corner:*) would miss
    # it: the email is indexed a second time as its words (jsmith corner deli test).
    # Kept by the database (the match_keys trigger, contacts migration 0024): what the duplicates list
    # compares (ADR 0029), folded once a write instead of on every page. The full name's crm_name_key, the
    # email's (NULL when blank), the phone's (else the mobile's) last ten digits.
    match_name = models.TextField(null=True, editable=False)
    match_email = models.TextField(null=True, editable=False)
    match_phone = models.TextField(null=True, editable=False)
    # Columns a writer leaves to the database (bulk writers such as imports skip them).
    kept_by_database = ("match_name", "match_email", "match_phone")
    search_vector = models.GeneratedField(
        expression=SearchVector(
            "first_name",
            "last_name",
            "email",
            Replace(
                Replace(Replace("email", Value("@"), Value(" ")), Value("."), Value(" ")),
                Value("-"),
                Value(" "),
            ),
            "title",
            config="simple",
        ),
        output_field=SearchVectorField(),
        db_persist=True,
    )

    class Meta:
        db_table = "contact"
        ordering = ["last_name", "first_name", "id"]
        indexes = [
            models.Index(fields=["tenant", "scope_principal_id"], name="contact_scope"),
            models.Index(fields=["organization", "last_name"], name="contact_organization"),
            # The default list order, live rows only: a page is an index range with no sort.
            models.Index(
                fields=["tenant", "last_name", "first_name", "id"],
                condition=models.Q(deleted_at__isnull=True),
                name="contact_live_name",
            ),
            models.Index(fields=["reports_to"], name="contact_reports_to"),
            GinIndex(fields=["search_vector"], name="contact_search"),
            # The few merged rows, by survivor: the composite key's check when a survivor is purged.
            models.Index(
                fields=["merged_into"],
                condition=models.Q(merged_into__isnull=False),
                name="contact_merged_into",
            ),
        ]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(role__in=ContactRole.values), name="contact_role_valid"
            ),
            models.CheckConstraint(condition=~models.Q(first_name=""), name="contact_first_name_not_blank"),
            *merge_checks("contact"),
            normalized_text_check("contact", "first_name"),
            visible_text_check("contact", "first_name"),
            normalized_text_check("contact", "last_name"),
            visible_text_check("contact", "last_name"),
            normalized_text_check("contact", "email"),
            visible_text_check("contact", "email"),
            max_length_check("contact", "notes", NOTES_MAX_LENGTH),
            # Emails compared as people read them (crm_name_key: NFKC, case, spaces).
            models.UniqueConstraint(
                "organization",
                NameKey("email"),
                "tenant",
                condition=models.Q(deleted_at__isnull=True) & ~models.Q(email=""),
                name="contact_email_key_unique_per_organization_in_firm",
                violation_error_message="A contact with this email already exists at this organization.",
            ),
        ]
        triggers = [
            *tenant_row_triggers("scope_principal_id"),
            references_trigger(
                Ref("organization_id", "organization", copy=(("scope_principal_id", "scope_principal_id"),)),
                extra=_ORGANIZATION_FIXED + _CONTACT_RULES,
            ),
            match_keys_trigger(
                match_name="crm_name_key(NEW.first_name || ' ' || NEW.last_name)",
                match_email="nullif(crm_name_key(NEW.email), '')",
                match_phone="crm_phone_key(coalesce(nullif(NEW.phone, ''), NEW.mobile))",
            ),
            merge_trigger(
                "contact",
                same=("organization_id", "a contact merges only into a contact of its organization"),
                follows="organization",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.first_name} {self.last_name}".strip()
