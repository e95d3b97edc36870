"""DRF permissions from the request's tenant role (the database enforces the same through RLS)."""

from __future__ import annotations

from typing import Any

from rest_framework.permissions import SAFE_METHODS, BasePermission
from rest_framework.request import Request

from crm.rls import context_of


class IsTenantMember(BasePermission):
    """Signed in, member of a firm; viewers only read."""

    message = "You must be a member of a firm; viewers may only read."

    def has_permission(self, request: Request, view: Any) -> bool:
        context = context_of(request)
        if not (request.user and request.user.is_authenticated and context.is_member):
            return False
        return request.method in SAFE_METHODS or context.can_write


class IsSignedInMember(BasePermission):
    """Signed in, member of a firm, whatever the role: for what members do to their own account."""

    message = "You must be a member of a firm."

    def has_permission(self, request: Request, view: Any) -> bool:
        return bool(request.user and request.user.is_authenticated and context_of(request).is_member)


class IsTenantAdminOrReadOnly(IsTenantMember):
    """Admins manage members and books; others read what RLS shows them (their own)."""

    message = "Only an admin of the firm may change this."

    def has_permission(self, request: Request, view: Any) -> bool:
        if not super().has_permission(request, view):
            return False
        return request.method in SAFE_METHODS or context_of(request).is_admin


class IsTenantAdmin(IsTenantMember):
    """Admins of the firm only, reads included (API keys: what exists and when each was last used)."""

    message = "Only an admin of the firm may do this."

    def has_permission(self, request: Request, view: Any) -> bool:
        return super().has_permission(request, view) and context_of(request).is_admin
