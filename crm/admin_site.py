"""The CRM's admin site: open to every active member of a firm (staff flag or not), nobody else."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from django.contrib import admin, messages
from django.contrib.admin.actions import delete_selected
from django.contrib.admin.forms import AdminAuthenticationForm
from django.contrib.admin.forms import AdminPasswordChangeForm as SitePasswordChangeForm
from django.contrib.auth.forms import AdminPasswordChangeForm, AuthenticationForm
from django.contrib.auth.views import PasswordChangeView
from django.core.exceptions import ValidationError
from django.db import DatabaseError, models, transaction
from django.http import HttpRequest, HttpResponse
from django.template.response import TemplateResponse
from django.urls import URLPattern, URLResolver, path, reverse

from crm import rls
from crm.admin_base import database_refusal
from crm.models import User
from crm.signin import SignInLocked


class MemberAuthenticationForm(AdminAuthenticationForm):
    """Admin sign-in without Django's `is_staff` requirement: the firm membership is what lets a user
    in, and CrmAdminSite.has_permission checks it on every request once the user is known.

    The membership cannot be checked here: before sign-in the request runs as nobody, and the runtime
    role may not look up another user's firm (crm_request_context is not granted to it). A signed-in
    non-member gets Django's "authenticated, but not authorized" login page.
    """

    error_messages = {
        **AdminAuthenticationForm.error_messages,
        "invalid_login": "Please enter the correct email address and password of a member of your firm.",
    }

    def clean(self) -> dict[str, Any]:
        try:
            return super().clean()
        except SignInLocked as locked:
            minutes = max(1, -(-locked.retry_after // 60))
            raise ValidationError(
                "Too many failed sign-ins for this account or from this address. "
                f"Try again in {minutes} minute{'s' if minutes != 1 else ''}.",
                code="signin_locked",
            ) from None

    def confirm_login_allowed(self, user: Any) -> None:
        # Active, as AuthenticationForm checks; not AdminAuthenticationForm's is_staff.
        AuthenticationForm.confirm_login_allowed(self, user)


class PasswordOnlySave:
    """Saves the password column alone: the runtime role may update only some columns of crm_user,
    and Django's password forms would write them all."""

    user: User

    def save(self, commit: bool = True) -> User:
        user: User = super().save(commit=False)  # type: ignore[misc]
        if commit:
            user.save(update_fields=["password"])
        return user


class MemberPasswordForm(PasswordOnlySave, AdminPasswordChangeForm):
    """An admin sets a member's password."""


class OwnPasswordForm(PasswordOnlySave, SitePasswordChangeForm):
    """A member changes their own password (old password required)."""


@admin.action(permissions=["delete"], description="Delete selected %(verbose_name_plural)s")
def soft_delete_selected(
    modeladmin: admin.ModelAdmin, request: HttpRequest, queryset: models.QuerySet[Any]
) -> TemplateResponse | None:
    """Django's delete_selected (confirmation page, log entries) in a savepoint, so a delete the
    database refuses leaves nothing behind and shows why."""
    try:
        with transaction.atomic():
            return delete_selected(modeladmin, request, queryset)
    except DatabaseError as exc:
        refusal = database_refusal(exc)
        if refusal is None:
            raise
        modeladmin.message_user(request, f"Nothing was deleted: {refusal.message}", messages.ERROR)
        return None


@dataclass(frozen=True)
class AdminPage:
    """A page another app adds to the site (the reports dashboard): served behind the site's sign-in
    (admin_view) at `/admin/<route>`, and listed on the index and in the sidebar as `section` › `title`."""

    route: str
    name: str
    view: Callable[[HttpRequest], HttpResponse]
    title: str
    section: str


class CrmAdminSite(admin.AdminSite):
    site_header = "Food-service broker CRM"
    site_title = "Broker CRM admin"
    index_title = "Accounts, lines and pipeline"
    site_url = None  # no public site to link to: the API's documentation lives under /api/v1/docs/
    login_form = MemberAuthenticationForm

    def __init__(self, name: str = "admin") -> None:
        super().__init__(name)
        # Deleting sets deleted_at (the ModelAdmins' delete_queryset); see crm.admin_base.
        self.add_action(soft_delete_selected, "delete_selected")
        self.pages: list[AdminPage] = []

    def register_page(self, page: AdminPage) -> None:
        self.pages.append(page)

    def get_urls(self) -> list[URLResolver | URLPattern]:
        pages: list[URLResolver | URLPattern] = [
            path(page.route, self.admin_view(page.view), name=page.name) for page in self.pages
        ]
        return [*pages, *super().get_urls()]

    def index(self, request: HttpRequest, extra_context: dict[str, Any] | None = None) -> TemplateResponse:
        # The pages are listed above the models (crm/templates/admin/index.html), as app-list sections.
        pages = []
        for page in self.pages:
            url = reverse(f"{self.name}:{page.name}", current_app=self.name)
            link = {"name": page.title, "object_name": page.name, "admin_url": url}
            pages.append({"name": page.section, "app_label": page.name, "app_url": url, "models": [link]})
        return super().index(request, {"pages": pages, **(extra_context or {})})

    def password_change(self, request: HttpRequest, extra_context: dict[str, Any] | None = None) -> Any:
        """Django's own-password page, with a form that writes only the password column."""
        request.current_app = self.name  # type: ignore[attr-defined]
        return PasswordChangeView.as_view(
            form_class=OwnPasswordForm,
            success_url=reverse("admin:password_change_done", current_app=self.name),
            extra_context={**self.each_context(request), **(extra_context or {})},
        )(request)

    def has_permission(self, request: HttpRequest) -> bool:
        """Any active member of a firm; Django superusers without a membership get nothing."""
        return bool(request.user.is_active and rls.context_of(request).is_member)
