"""Services shared by every tenant table: soft delete, restore, and optimistic concurrency."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from django.db import transaction
from django.db.models import QuerySet
from django.utils import timezone
from rest_framework import status
from rest_framework.exceptions import APIException

from crm.models import TenantModel


class PreconditionFailed(APIException):
    status_code = status.HTTP_412_PRECONDITION_FAILED
    default_detail = "The record changed since you read it (If-Match does not match its version)."
    default_code = "precondition_failed"

    def __init__(self, current_version: int) -> None:
        super().__init__()
        self.problem_extra = {"current_version": current_version}
        self.etag = etag_of(current_version)


class Conflict(APIException):
    status_code = status.HTTP_409_CONFLICT
    default_code = "conflict"

    def __init__(self, detail: str, **extra: Any) -> None:
        super().__init__(detail)
        self.problem_extra = extra


def etag_of(version: int) -> str:
    return f'"{version}"'


def record_check_version(*, instance: TenantModel, if_match: str | None) -> None:
    """Refuse with 412 unless `If-Match` names the row's current version (or is absent, or `*`).

    Callers hold the row locked (SELECT … FOR UPDATE), so of two clients racing with the same version
    exactly one gets past here and the other sees the bumped version.
    """
    if if_match is None or if_match.strip() == "*":
        return
    wanted = {tag.strip().removeprefix("W/") for tag in if_match.split(",")}
    if etag_of(instance.version) not in wanted:
        raise PreconditionFailed(instance.version)


def record_soft_delete(*, instance: TenantModel, dependents: Sequence[QuerySet[Any]] = ()) -> None:
    """Set deleted_at (the database records who) on the row and, first, on its dependents.

    All get the same timestamp, which is how record_restore finds them again.
    """
    stamp = timezone.now()
    # No savepoint of its own: it runs inside a request's transaction (or a batch operation's savepoint),
    # which a failure rolls back whole anyway; a batch of deletes would pay two statements a row for one.
    with transaction.atomic(savepoint=False):
        for queryset in dependents:
            queryset.filter(deleted_at__isnull=True).update(deleted_at=stamp)
        type(instance)._default_manager.filter(pk=instance.pk).update(deleted_at=stamp)


def record_restore(*, instance: TenantModel, dependents: Sequence[QuerySet[Any]] = ()) -> None:
    """Bring a soft-deleted row back, then the dependents deleted with it (same deleted_at).

    `dependents` is in deletion order (children first); restoring walks it backwards, so every row
    comes back after the rows it references.
    """
    deleted_at = instance.deleted_at
    if deleted_at is None:
        return
    with transaction.atomic():
        type(instance)._default_manager.filter(pk=instance.pk).update(deleted_at=None)
        for queryset in reversed(dependents):
            queryset.filter(deleted_at=deleted_at).update(deleted_at=None)
