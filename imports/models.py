"""An import: the uploaded file (kept in PostgreSQL, so a worker on any machine reads it), what it asked
for, and where it stands: state, progress, summary and the per-row report."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Value
from django.db.models.functions import Now

from crm.models import Tenant


class ImportKind(models.TextChoices):
    ORGANIZATIONS = "organizations", "Organizations"
    CONTACTS = "contacts", "Contacts"
    PRODUCTS = "products", "Products"
    DISTRIBUTOR_AUTHORIZATIONS = "distributor_authorizations", "Distributor authorizations"
    CUSTOMER_DISTRIBUTORS = "customer_distributors", "Customer distributors"
    PRODUCT_DISTRIBUTORS = "product_distributors", "Product distributors (item numbers)"
    SALES = "sales", "Distributor sales (depletions)"


class ImportState(models.TextChoices):
    QUEUED = "queued", "Queued"
    RUNNING = "running", "Running"
    SUCCEEDED = "succeeded", "Succeeded"
    FAILED = "failed", "Failed"


class ImportMode(models.TextChoices):
    # Any row in error and nothing is written (the report still says what each row would have done).
    ALL_OR_NOTHING = "all_or_nothing", "All or nothing"
    # Rows in error are skipped; every other row is written.
    PER_ROW = "per_row", "Per row"


class FileType(models.TextChoices):
    CSV = "csv", "CSV"
    XLSX = "xlsx", "XLSX"


class RowAction(models.TextChoices):
    CREATE = "create", "Create"
    UPDATE = "update", "Update"
    UNCHANGED = "unchanged", "Unchanged"
    # Kept aside until a person confirms a match (sales imports: product or customer not recognised).
    UNMATCHED = "unmatched", "Unmatched"
    ERROR = "error", "Error"


class Import(models.Model):
    """One upload and its run. `report` holds a row per data row of the file:
    [row number, action, record id or null, [[column, message], …]] (row 1 is the header).

    Not a business record (no soft delete, no history of its own): a log of work done, which its importer
    and the firm's admins read under RLS and the job acting as the importer updates."""

    # Both indexed by Meta.indexes, which lead with them.
    tenant = models.ForeignKey(
        Tenant, on_delete=models.PROTECT, related_name="+", editable=False, db_index=False
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+", editable=False, db_index=False
    )
    created_at = models.DateTimeField(db_default=Now(), editable=False)

    kind = models.CharField(max_length=32, choices=ImportKind.choices)
    dry_run = models.BooleanField(default=False)
    mode = models.CharField(max_length=16, choices=ImportMode.choices, default=ImportMode.ALL_OR_NOTHING)
    # Header in the file → field, overriding the synonyms (imports.columns).
    mapping = models.JSONField(default=dict, blank=True)
    # What a kind takes beyond the file and the mapping (a sales import: its distributor, its period kind).
    options = models.JSONField(
        db_default=Value({}, output_field=models.JSONField()), default=dict, blank=True
    )
    file_name = models.CharField(max_length=255)
    file_type = models.CharField(max_length=8, choices=FileType.choices)
    file_size = models.PositiveIntegerField()
    file_sha256 = models.CharField(max_length=64)
    # The encoding a CSV was read in (declared, or detected at upload); blank for XLSX.
    encoding = models.CharField(max_length=32, blank=True)
    # The file itself, at most IMPORT_MAX_BYTES; never read by lists (deferred).
    content = models.BinaryField(editable=False)
    state = models.CharField(max_length=16, choices=ImportState.choices, default=ImportState.QUEUED)
    rows_total = models.PositiveIntegerField(default=0)
    rows_processed = models.PositiveIntegerField(default=0)
    summary = models.JSONField(default=dict, blank=True)
    report = models.JSONField(default=list, blank=True, editable=False)
    # The first errors of the report ({"row", "column", "message"}), for lists and the detail, which
    # then never read the whole report.
    first_errors = models.JSONField(default=list, blank=True, editable=False)
    # Why the whole import failed (a row's errors are in the report).
    error = models.TextField(blank=True)
    job_id = models.BigIntegerField(null=True, blank=True, editable=False)
    started_at = models.DateTimeField(null=True, blank=True, editable=False)
    finished_at = models.DateTimeField(null=True, blank=True, editable=False)

    class Meta:
        db_table = "import_run"
        ordering = ["-id"]
        indexes = [
            # A firm's imports, newest first (admins' list), and each member's own (everyone else's).
            models.Index(fields=["tenant", "-id"], name="import_run_tenant"),
            models.Index(fields=["created_by", "-id"], name="import_run_created_by"),
        ]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(kind__in=ImportKind.values), name="import_run_kind_known"
            ),
            models.CheckConstraint(
                condition=models.Q(state__in=ImportState.values), name="import_run_state_valid"
            ),
            models.CheckConstraint(
                condition=models.Q(mode__in=ImportMode.values), name="import_run_mode_valid"
            ),
            models.CheckConstraint(
                condition=models.Q(rows_processed__lte=models.F("rows_total")),
                name="import_run_processed_within_total",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} from {self.file_name}"
