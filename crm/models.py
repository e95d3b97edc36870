"""Tenancy and users: the firm, its people, their roles, and the base every business table builds on."""

from __future__ import annotations

from typing import Any, ClassVar

import pgtrigger
from django.contrib.auth.base_user import AbstractBaseUser, BaseUserManager
from django.contrib.auth.models import PermissionsMixin
from django.db import models
from django.db.models.functions import Lower, Now


class Tenant(models.Model):
    """One brokerage firm. Every business row carries its id."""

    name = models.CharField(max_length=200)
    created_at = models.DateTimeField(db_default=Now(), editable=False)

    class Meta:
        db_table = "tenant"
        constraints = [models.UniqueConstraint(Lower("name"), name="tenant_name_unique")]

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

    objects: ClassVar[UserManager] = UserManager()

    USERNAME_FIELD = "email"
    EMAIL_FIELD = "email"
    REQUIRED_FIELDS: ClassVar[list[str]] = []

    class Meta:
        db_table = "crm_user"
        constraints = [models.UniqueConstraint(Lower("email"), name="crm_user_email_unique")]

    def __str__(self) -> str:
        return self.get_full_name() or self.email

    def get_full_name(self) -> str:
        return f"{self.first_name} {self.last_name}".strip()

    def get_short_name(self) -> str:
        return self.first_name or self.email


class Role(models.TextChoices):
    ADMIN = "admin", "Admin"
    MANAGER = "manager", "Sales Manager"
    VIEWER = "viewer", "Viewer"


class Membership(models.Model):
    """A user's one tenant and role there."""

    tenant = models.ForeignKey(Tenant, on_delete=models.PROTECT, related_name="memberships")
    user = models.OneToOneField(User, on_delete=models.CASCADE, related_name="membership")
    role = models.CharField(max_length=16, choices=Role.choices, default=Role.MANAGER)
    created_at = models.DateTimeField(db_default=Now(), editable=False)
    updated_at = models.DateTimeField(db_default=Now(), editable=False)

    class Meta:
        db_table = "membership"
        indexes = [models.Index(fields=["tenant", "role"], name="membership_tenant_role")]
        constraints = [
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
        ELSE
            IF NEW.tenant_id IS DISTINCT FROM OLD.tenant_id THEN
                RAISE EXCEPTION 'a row cannot move to another tenant'
                    USING ERRCODE = 'check_violation', COLUMN = 'tenant_id', TABLE = TG_TABLE_NAME;
            END IF;
            NEW.created_at := OLD.created_at;
            NEW.created_by_id := OLD.created_by_id;
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


class TenantModel(models.Model):
    """Base of every business table: tenant, audit columns kept by the database, soft delete."""

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

    class Meta:
        abstract = True
        triggers = [AUDIT_TRIGGER]
