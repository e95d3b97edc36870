"""Admin for tenancy: the firm, its members (users with a role) and their books. Firm admins only write."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin
from django.contrib.auth.admin import UserAdmin as DjangoUserAdmin
from django.contrib.auth.forms import AdminUserCreationForm, UserChangeForm
from django.http import HttpRequest

from crm import members
from crm.admin_base import CrmInline, CrmModelAdmin, limit_choices, related_filter
from crm.admin_site import MemberPasswordForm
from crm.models import PRINCIPAL, Membership, PrincipalAssignment, Role, Tenant, User

limit_choices(PrincipalAssignment, "principal", type=PRINCIPAL)


class PrincipalAssignmentInline(CrmInline):
    """On a user's page: their book."""

    model = PrincipalAssignment
    fk_name = "user"
    fields = ("principal",)
    autocomplete_fields = ("principal",)
    list_select_related = ("principal", "user")  # both named by the row's label
    admin_only = True
    show_change_link = False
    verbose_name = "principal in the book"
    verbose_name_plural = "book"


@admin.register(Tenant)
class TenantAdmin(CrmModelAdmin):
    """The firm itself, read only: row level security shows a member their own firm. Firms are created
    and renamed by the owner (create_tenant); a rename would tell whether another firm has a name."""

    list_display = ("name", "created_at")
    search_fields = ("name",)
    fields = ("name", "created_at")
    readonly_fields = ("created_at",)

    def can_write(self, request: HttpRequest) -> bool:
        return False


class MemberCreationForm(AdminUserCreationForm):
    """A new user of the firm: email login and the role of their membership."""

    role = forms.ChoiceField(choices=Role.choices, initial=Role.MANAGER)

    class Meta:
        model = User
        fields = ("email", "first_name", "last_name")

    def clean_email(self) -> str:
        return str(self.cleaned_data["email"]).strip().lower()


class MemberChangeForm(UserChangeForm):
    """Name and access. The email is the sign-in and stays as created (the runtime role may not update
    it); the password has its own form."""

    class Meta:
        model = User
        fields = ("first_name", "last_name", "is_active")


@admin.register(User)
class UserAdmin(CrmModelAdmin, DjangoUserAdmin):
    """The firm's members (row level security on crm_user: yourself and your firm's members).

    No staff, superuser, group or permission fields: the membership's role is the only authority.
    Users are deactivated (is_active), not deleted: their name stays on what they logged.
    """

    admin_only = True
    form = MemberChangeForm
    add_form = MemberCreationForm
    change_password_form = MemberPasswordForm
    list_display = ("email", "first_name", "last_name", "role", "is_active", "last_login")
    list_display_links = ("email",)
    list_filter = ("membership__role", "is_active")
    list_select_related = ("membership",)
    search_fields = ("email", "first_name", "last_name")
    ordering = ("email",)
    fieldsets = (
        (None, {"fields": ("email", "password")}),  # email is read only (see MemberChangeForm)
        ("Name", {"fields": ("first_name", "last_name")}),
        ("Access", {"fields": ("is_active",)}),
        ("Dates", {"fields": ("last_login", "date_joined"), "classes": ("collapse",)}),
    )
    add_fieldsets = (
        (
            None,
            {
                "classes": ("wide",),
                "fields": (
                    "email",
                    "first_name",
                    "last_name",
                    "role",
                    "usable_password",
                    "password1",
                    "password2",
                ),
            },
        ),
    )
    readonly_fields = ("email", "last_login", "date_joined")
    inlines = (PrincipalAssignmentInline,)

    @admin.display(description="role", ordering="membership__role")
    def role(self, obj: User) -> str:
        # Only admins read other members' memberships (RLS); the others see the role of their own.
        try:
            return obj.membership.get_role_display()
        except Membership.DoesNotExist:
            return "—"

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> list[str]:
        readonly = super().get_readonly_fields(request, obj)
        return readonly if obj is not None else [name for name in readonly if name != "email"]

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def save_model(self, request: HttpRequest, obj: Any, form: Any, change: bool) -> None:
        if change:
            # Through the members service, which writes only the columns that changed.
            members.member_update(
                membership=Membership.objects.select_related("user").get(user_id=obj.pk),
                first_name=obj.first_name,
                last_name=obj.last_name,
                is_active=obj.is_active,
            )
            return
        # A user and their membership are written together, in the request's firm, by the members
        # service (the form has validated the password).
        data = form.cleaned_data
        usable = data.get("usable_password") != "false"
        membership = members.member_create(
            email=obj.email,
            role=data["role"],
            password=data.get("password1") if usable else None,
            first_name=obj.first_name,
            last_name=obj.last_name,
        )
        obj.pk = membership.user_id  # what the admin logs, links and hangs the book inline on


@admin.register(Membership)
class MembershipAdmin(CrmModelAdmin):
    """Roles. Members are added as users (with their role) and removed by deactivating the user."""

    admin_only = True
    list_display = ("user", "role", "created_at")
    list_filter = ("role",)
    list_select_related = ("user",)
    search_fields = ("user__email", "user__first_name", "user__last_name")
    ordering = ("user__email",)
    fields = ("user", "role", "created_at", "updated_at")
    readonly_fields = ("user", "created_at", "updated_at")

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(PrincipalAssignment)
class PrincipalAssignmentAdmin(CrmModelAdmin):
    """Books: which principals each member works. Firm admins assign; members see their own."""

    admin_only = True
    list_display = ("user", "principal", "created_at")
    list_filter = (related_filter("principal"),)
    list_select_related = ("user", "principal")
    search_fields = ("user__email", "user__first_name", "user__last_name", "principal__name")
    autocomplete_fields = ("user", "principal")
    fields = ("user", "principal")
