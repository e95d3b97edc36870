"""Tenancy and users: the firm, its people, their roles, and the base every business table builds on."""

from __future__ import annotations

from typing import Any, ClassVar

import pgtrigger
from django.contrib.auth.base_user import AbstractBaseUser, BaseUserManager
from django.contrib.auth.models import PermissionsMixin
from django.db import connection, models
from django.db.models.functions import Length, Now
from django.db.models.lookups import Exact
from django.utils.crypto import salted_hmac

from crm.db import Ref, member_check, references_trigger
from crm.text import NameKey, normalized_text_check, visible_text_check


def time_zone_valid(column: str) -> models.Func:
    """crm_time_zone_valid(column): an IANA-shaped name PostgreSQL knows (crm migration 0028)."""
    return models.Func(models.F(column), function="crm_time_zone_valid", output_field=models.BooleanField())


class Tenant(models.Model):
    """One brokerage firm. Every business row carries its id."""

    normalized_text_fields = ("name",)

    name = models.CharField(max_length=200)
    created_at = models.DateTimeField(db_default=Now(), editable=False)
    # Set by the firm's admins through crm_set_firm_time_zone() (crm migration 0028, ADR 0028).
    time_zone = models.CharField(
        max_length=64,
        default="UTC",
        db_default="UTC",
        help_text="IANA time zone the firm's reports count days and weeks in.",
    )

    class Meta:
        db_table = "tenant"
        constraints = [
            models.CheckConstraint(condition=time_zone_valid("time_zone"), name="tenant_time_zone_valid"),
            normalized_text_check("tenant", "name"),
            visible_text_check("tenant", "name"),
            # Compared as people read them (crm_name_key: NFKC, case, spaces).
            models.UniqueConstraint(NameKey("name"), name="tenant_name_key_unique"),
        ]

    def __str__(self) -> str:
        return self.name


class UserManager(BaseUserManager["User"]):
    def get_by_natural_key(self, username: str | None) -> User:
        return self.get(email__iexact=username)

    def create_user(self, email: str, password: str | None = None, **extra: Any) -> User:
        user = self.model(email=self.normalize_email(email).lower(), **extra)
        user.set_password(password)
        user.save(using=self._db)
        return user

    def create_superuser(self, email: str, password: str | None = None, **extra: Any) -> User:
        return self.create_user(email, password, is_staff=True, is_superuser=True, **extra)


class User(AbstractBaseUser, PermissionsMixin):
    """A person who signs in with an email address. Belongs to one tenant through Membership."""

    email = models.EmailField(max_length=254, unique=True)
    first_name = models.CharField(max_length=150, blank=True)
    last_name = models.CharField(max_length=150, blank=True)
    is_active = models.BooleanField(default=True)
    is_staff = models.BooleanField(default=False, help_text="May sign in to the Django admin.")
    date_joined = models.DateTimeField(db_default=Now(), editable=False)
    # Kept by the database alone (crm migration 0010): it moves on when the password or is_active changes
    # and when the membership's role changes or ends; tokens carry the epoch they were issued under.
    credentials_epoch = models.BigIntegerField(db_default=0, editable=False)

    objects: ClassVar[UserManager] = UserManager()

    USERNAME_FIELD = "email"
    EMAIL_FIELD = "email"
    REQUIRED_FIELDS: ClassVar[list[str]] = []
    normalized_text_fields = ("email",)

    class Meta:
        db_table = "crm_user"
        constraints = [
            normalized_text_check("crm_user", "email"),
            visible_text_check("crm_user", "email"),
            models.UniqueConstraint(NameKey("email"), name="crm_user_email_key_unique"),
        ]

    def __str__(self) -> str:
        return self.get_full_name() or self.email

    def get_full_name(self) -> str:
        return f"{self.first_name} {self.last_name}".strip()

    def get_short_name(self) -> str:
        return self.first_name or self.email

    def _get_session_auth_hash(self, secret: str | None = None) -> str:
        # Django's session check (every request) compares this with what login() stored. Its own HMAC
        # covers the password only, so a deactivated and reactivated member's browser session lived on
        # while their tokens died; with the credentials epoch in it, sessions die with the tokens.
        # Django's get_session_auth_hash() and its SECRET_KEY_FALLBACKS variant both call this.
        # The epoch is read afresh: the database moves it on (a password just set through this very
        # object, by login's re-hash or update_session_auth_hash), so the attribute may be stale.
        with connection.cursor() as cursor:
            cursor.execute("SELECT credentials_epoch FROM crm_token_user(%s)", [self.pk])
            row = cursor.fetchone()
        return salted_hmac(
            "django.contrib.auth.models.AbstractBaseUser.get_session_auth_hash",
            f"{self.password}:{row[0] if row else -1}",
            secret=secret,
            algorithm="sha256",
        ).hexdigest()


class Role(models.TextChoices):
    ADMIN = "admin", "Admin"
    MANAGER = "manager", "Sales Manager"
    VIEWER = "viewer", "Viewer"


class Membership(models.Model):
    """A user's one tenant and role there."""

    # Indexed by membership_tenant_role (Meta.indexes), which leads with it.
    tenant = models.ForeignKey(Tenant, on_delete=models.PROTECT, related_name="memberships", db_index=False)
    user = models.OneToOneField(User, on_delete=models.CASCADE, related_name="membership")
    role = models.CharField(max_length=16, choices=Role.choices, default=Role.MANAGER)
    created_at = models.DateTimeField(db_default=Now(), editable=False)
    updated_at = models.DateTimeField(db_default=Now(), editable=False)
    # The member's own day (NULL: the firm's zone); set by crm_set_member_time_zone() (crm migration 0028).
    time_zone = models.CharField(
        max_length=64,
        null=True,
        blank=True,
        help_text="IANA time zone of the member's day (empty: the firm's).",
    )

    class Meta:
        db_table = "membership"
        indexes = [models.Index(fields=["tenant", "role"], name="membership_tenant_role")]
        constraints = [
            models.CheckConstraint(  # type: ignore[call-overload]  # a Q OR-ed with a boolean Func is a Q
                condition=models.Q(time_zone__isnull=True) | time_zone_valid("time_zone"),
                name="membership_time_zone_valid",
            ),
            models.CheckConstraint(condition=models.Q(role__in=Role.values), name="membership_role_valid"),
        ]

    def __str__(self) -> str:
        return f"{self.user} ({self.role})"


# Database-kept audit columns: raw SQL, the admin and the API all get the same values. The actor comes
# from the request's `crm.user_id` setting (crm/rls.py); tenant_id defaults to `crm.tenant_id` and can
# never change once written.
_AUDIT_FUNC = """
        actor := nullif(current_setting('crm.user_id', true), '')::bigint;
        IF TG_OP = 'INSERT' THEN
            NEW.tenant_id := coalesce(NEW.tenant_id, nullif(current_setting('crm.tenant_id', true), '')::bigint);
            NEW.created_at := now();
            NEW.created_by_id := coalesce(actor, NEW.created_by_id);
            NEW.version := 1;
            NEW.deleted_by_id := CASE WHEN NEW.deleted_at IS NOT NULL THEN coalesce(actor, NEW.deleted_by_id) END;
        ELSE
            IF NEW.tenant_id IS DISTINCT FROM OLD.tenant_id THEN
                RAISE EXCEPTION 'a row cannot move to another tenant'
                    USING ERRCODE = 'check_violation', COLUMN = 'tenant_id', TABLE = TG_TABLE_NAME;
            END IF;
            NEW.created_at := OLD.created_at;
            NEW.created_by_id := OLD.created_by_id;
            -- Optimistic concurrency: every update bumps the version the API hands out as an ETag.
            NEW.version := OLD.version + 1;
            IF OLD.deleted_at IS NULL AND NEW.deleted_at IS NOT NULL THEN
                NEW.deleted_by_id := coalesce(actor, NEW.deleted_by_id);
            ELSIF NEW.deleted_at IS NULL THEN
                NEW.deleted_by_id := NULL;
            ELSE
                NEW.deleted_by_id := OLD.deleted_by_id;  -- who deleted it is history, not an input
            END IF;
        END IF;
        NEW.updated_at := now();
        NEW.updated_by_id := coalesce(actor, NEW.updated_by_id);
        RETURN NEW;
"""


AUDIT_TRIGGER = pgtrigger.Trigger(
    name="audit_columns",
    operation=pgtrigger.Insert | pgtrigger.Update,
    when=pgtrigger.Before,
    declare=[("actor", "bigint")],
    func=_AUDIT_FUNC,
)


# Rows are soft-deleted (deleted_at). A hard DELETE, from any client, is refused unless the transaction
# says it is purging (crm.purge = on, set by the purge command), and RLS lets only admins purge.
REFUSE_HARD_DELETE = pgtrigger.Trigger(
    name="refuse_hard_delete",
    operation=pgtrigger.Delete,
    when=pgtrigger.Before,
    func="""
        IF coalesce(current_setting('crm.purge', true), '') <> 'on' THEN
            RAISE EXCEPTION 'rows are soft-deleted: set deleted_at, or purge with manage.py purge'
                USING ERRCODE = 'restrict_violation', TABLE = TG_TABLE_NAME;
        END IF;
        RETURN OLD;
""",
)


class TransactionIdField(models.Field):  # type: ignore[type-arg]
    """A PostgreSQL xid8: a transaction's 64-bit id (pg_current_xact_id()), compared as a number."""

    description = "A PostgreSQL transaction id (xid8)"

    def db_type(self, connection: Any) -> str:
        return "xid8"


class HistoryOperation(models.TextChoices):
    INSERT = "insert", "Insert"
    UPDATE = "update", "Update"
    DELETE = "delete", "Delete (soft)"
    RESTORE = "restore", "Restore"
    PURGE = "purge", "Purge (hard delete)"


class HistoryEntry(models.Model):
    """One change of a business row, written by the row's `record_history` trigger and never changed.

    `changes` holds the changed fields' old and new values: {"stage": ["new_lead", "demo_scheduled"]}.
    Rows carry the scope key of the row they describe, so the same RLS rules decide who reads them.
    """

    tenant = models.ForeignKey(Tenant, on_delete=models.PROTECT, related_name="+", db_index=False)
    table_name = models.CharField(max_length=63)
    row_id = models.BigIntegerField()
    operation = models.CharField(max_length=8, choices=HistoryOperation.choices)
    actor = models.ForeignKey(
        User, on_delete=models.PROTECT, null=True, related_name="+", db_constraint=False
    )
    request_id = models.CharField(max_length=64, blank=True)
    occurred_at = models.DateTimeField(db_default=Now())
    changes = models.JSONField(default=dict)
    scope_principal_id = models.BigIntegerField(null=True)
    viewers_see_shared = models.BooleanField(default=False)
    # The feed's position (ADR 0026, crm migration 0026): the writing transaction's id, or the record's
    # previous entry's when higher; '0' for entries written before it existed. Set by the writer function.
    xact = TransactionIdField(db_default=models.Value("0"), editable=False)

    class Meta:
        db_table = "history"
        ordering = ["-id"]
        verbose_name_plural = "history"
        indexes = [
            models.Index(fields=["table_name", "row_id", "-id"], name="history_row"),
            models.Index(fields=["tenant", "-occurred_at"], name="history_tenant_time"),
            models.Index(fields=["tenant", "xact", "id"], name="history_feed"),
        ]
        triggers = [
            pgtrigger.Protect(name="append_only", operation=pgtrigger.Update | pgtrigger.Delete),
        ]

    def __str__(self) -> str:
        return f"{self.operation} {self.table_name} {self.row_id}"


def tenant_row_triggers(
    scope_column: str | None, *, viewers_see_shared: bool = False, history: bool = True
) -> list[pgtrigger.Trigger]:
    """The triggers every business table has: audit columns, no hard delete, and its history (whose
    scope matches the table's RLS policy: the same scope column, the same viewers rule)."""
    from crm.db import history_trigger

    triggers = [AUDIT_TRIGGER, REFUSE_HARD_DELETE]
    if history:
        triggers.append(history_trigger(scope_column, viewers_see_shared=viewers_see_shared))
    return triggers


class TenantModel(models.Model):
    """Base of every business table: tenant, audit columns kept by the database, soft delete.

    A foreign key to another business table is declared `db_constraint=False`: the database holds it as
    `(x_id, tenant_id) REFERENCES t (id, tenant_id)` instead (the `…_in_firm` constraints, added by each
    app's migrations, which Django cannot declare), so a row can never point into another firm, and the
    key stays enforceable when firms are spread across shards (docs/scaling.md). Its `Ref` in the table's
    references_trigger checks the rest: live, visible, of the right type.
    tests/integrity/test_foreign_keys_hold_the_tenant.py holds every such key to this.
    """

    tenant = models.ForeignKey(
        Tenant, on_delete=models.PROTECT, related_name="+", editable=False, db_index=False
    )
    created_at = models.DateTimeField(db_default=Now(), editable=False)
    updated_at = models.DateTimeField(db_default=Now(), editable=False)
    created_by = models.ForeignKey(
        User, on_delete=models.PROTECT, null=True, blank=True, related_name="+", editable=False
    )
    updated_by = models.ForeignKey(
        User, on_delete=models.PROTECT, null=True, blank=True, related_name="+", editable=False
    )
    deleted_at = models.DateTimeField(null=True, blank=True, editable=False)
    deleted_by = models.ForeignKey(
        User, on_delete=models.PROTECT, null=True, blank=True, related_name="+", editable=False
    )
    # Bumped by the database on every update; the API's ETag.
    version = models.PositiveIntegerField(default=1, editable=False)

    class Meta:
        abstract = True
        triggers = [AUDIT_TRIGGER, REFUSE_HARD_DELETE]


# The organization type a book holds (organizations.OrganizationType.PRINCIPAL; crm_request_context() and
# the book's reference check spell it the same way).
PRINCIPAL = "principal"


class PrincipalAssignment(TenantModel):
    """A principal in a user's book: what a manager or viewer sees (crm_request_context() reads it)."""

    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="book")
    # Indexed by principal_assignment_principal (Meta.indexes). The core names the organizations app's
    # table by string only: it imports no entity app.
    principal = models.ForeignKey(
        "organizations.Organization",
        on_delete=models.PROTECT,
        related_name="assignments",
        db_index=False,
        db_constraint=False,
    )

    class Meta:
        db_table = "principal_assignment"
        ordering = ["id"]
        indexes = [
            models.Index(fields=["principal"], name="principal_assignment_principal"),
            # The tenant key (TenantModel leaves it unindexed) with the user the policies compare:
            # a firm's assignments, and the foreign key check when a tenant row is deleted.
            models.Index(fields=["tenant", "user"], name="principal_assignment_tenant"),
        ]
        constraints = [
            models.UniqueConstraint(
                fields=["user", "principal", "tenant"],
                condition=models.Q(deleted_at__isnull=True),
                name="principal_assignment_unique_in_firm",
                violation_error_message="This principal is already in this user's book.",
            ),
        ]
        triggers = [
            *tenant_row_triggers(None, history=False),
            references_trigger(
                Ref("principal_id", "organization", (PRINCIPAL,), "a principal"),
                extra=member_check("user_id"),
            ),
        ]

    def __str__(self) -> str:
        return f"{self.user_id} → {self.principal_id}"


def book_organizations() -> type[models.Model]:
    """The model a book's principals are rows of (organizations' Organization), reached through the book's
    foreign key: the core names the app by string only."""
    model = PrincipalAssignment._meta.get_field("principal").related_model
    assert not isinstance(model, str), "resolved once the apps are loaded"
    return model


class ApiKey(models.Model):
    """An integration's credential (a BI export, a mailer, a field app): it acts as its backing user, a
    member of the firm made for the key alone (role manager or viewer, never admin; its principal
    assignments are the key's book), so the request context, the policies and history apply unchanged.
    The secret's hash is in ApiKeySecret, which only the owner reads (crm migration 0023)."""

    # Indexed by api_key_tenant (Meta.indexes), which leads with it.
    tenant = models.ForeignKey(Tenant, on_delete=models.PROTECT, related_name="+", db_index=False)
    user = models.OneToOneField(User, on_delete=models.PROTECT, related_name="api_key")
    name = models.CharField(max_length=100)
    # The key's public part, in every key it names (crm_<key_id>_<secret>): found by it, never by the secret.
    key_id = models.CharField(max_length=16, unique=True, editable=False)
    created_at = models.DateTimeField(db_default=Now(), editable=False)
    created_by = models.ForeignKey(
        User, on_delete=models.PROTECT, null=True, related_name="+", editable=False
    )
    expires_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True, editable=False)
    revoked_by = models.ForeignKey(
        User, on_delete=models.PROTECT, null=True, related_name="+", editable=False
    )
    # Written by crm_api_key_context() at most once a minute per key, never by a request of its own.
    last_used_at = models.DateTimeField(null=True, blank=True, editable=False)

    class Meta:
        db_table = "api_key"
        ordering = ["id"]
        indexes = [models.Index(fields=["tenant", "id"], name="api_key_tenant")]
        constraints = [
            visible_text_check("api_key", "name"),
            models.CheckConstraint(condition=~models.Q(name=""), name="api_key_name_not_blank"),
        ]

    def __str__(self) -> str:
        return self.name


class ApiKeySecret(models.Model):
    """The SHA-256 of an API key's secret (256 random bits: a fast hash is enough, and a slow one per
    request would cost every call). The owner's alone: the runtime role holds no privilege on it; only
    crm_create_api_key() writes it and crm_api_key_context() compares with it."""

    api_key = models.OneToOneField(ApiKey, on_delete=models.PROTECT, primary_key=True, related_name="+")
    digest = models.BinaryField(max_length=32, editable=False)

    class Meta:
        db_table = "api_key_secret"
        constraints = [
            models.CheckConstraint(
                condition=Exact(Length("digest"), 32), name="api_key_secret_digest_is_sha256"
            ),
        ]

    def __str__(self) -> str:
        return f"secret of API key {self.api_key_id}"  # never the digest
