"""RFC 9457 problem details for every error, including the ones only the database catches."""

from __future__ import annotations

import logging
from typing import Any

from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import DatabaseError, IntegrityError, transaction
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.views import defaults
from rest_framework import exceptions, status
from rest_framework.response import Response
from rest_framework.serializers import as_serializer_error
from rest_framework.views import exception_handler

from crm.api.constraints import describe_database_error, refused_by_policy

logger = logging.getLogger(__name__)

PROBLEM_CONTENT_TYPE = "application/problem+json"


def _flatten(detail: Any, prefix: str = "") -> list[dict[str, str | None]]:
    """DRF's nested error dict → a flat list of {field, code, detail} (field is a dotted path)."""
    if isinstance(detail, dict):
        errors: list[dict[str, str | None]] = []
        for key, value in detail.items():
            name = "" if key in ("non_field_errors", "detail") else str(key)
            path = f"{prefix}.{name}" if prefix and name else (name or prefix)
            errors.extend(_flatten(value, path))
        return errors
    if isinstance(detail, list):
        errors = []
        for index, value in enumerate(detail):
            path = f"{prefix}.{index}" if isinstance(value, dict) else prefix
            errors.extend(_flatten(value, path))
        return errors
    code = getattr(detail, "code", "invalid")
    return [{"field": prefix or None, "code": str(code), "detail": str(detail)}]


def _message(detail: Any) -> str:
    """The human message of an exception's detail; simplejwt's is a dict {detail, code, messages}."""
    if isinstance(detail, dict) and "detail" in detail:
        return str(detail["detail"])
    return str(detail)


def problem_response(
    status_code: int,
    title: str,
    detail: str,
    errors: list[dict[str, str | None]] | None = None,
    headers: dict[str, str] | None = None,
    **extra: Any,
) -> Response:
    body: dict[str, Any] = {
        "type": "about:blank",
        "title": title,
        "status": status_code,
        "detail": detail,
    }
    if errors:
        body["errors"] = errors
    body.update(extra)
    response = Response(body, status=status_code, headers=headers)
    response.content_type = PROBLEM_CONTENT_TYPE
    return response


def problem_details_handler(exc: Exception, context: dict[str, Any]) -> Response | None:
    # Whatever went wrong, nothing of this request may be committed.
    if transaction.get_connection().in_atomic_block:
        transaction.set_rollback(True)

    if isinstance(exc, Http404):
        exc = exceptions.NotFound()
    elif isinstance(exc, DjangoPermissionDenied):
        exc = exceptions.PermissionDenied()
    elif isinstance(exc, DjangoValidationError):
        # Raised by Django code the view called (password validators, model validation): bad input.
        exc = exceptions.ValidationError(as_serializer_error(exc))
    elif isinstance(exc, IntegrityError | DatabaseError) and refused_by_policy(exc):
        # A row level security policy refused the write: the row is outside what this user may write.
        logger.warning("Write refused by the database: %s", exc)
        return problem_response(status.HTTP_403_FORBIDDEN, "Forbidden", "You may not write this record.")
    elif isinstance(exc, IntegrityError | DatabaseError):
        described = describe_database_error(exc)
        if described is None:
            logger.exception("Unmapped database error", exc_info=exc)
            return problem_response(
                500, "Internal Server Error", "The server could not complete the request."
            )
        field, code, message = described
        return problem_response(
            status.HTTP_400_BAD_REQUEST,
            "Invalid input",
            message,
            errors=[{"field": field, "code": code, "detail": message}],
        )

    response = exception_handler(exc, context)
    if response is None:
        return None
    if isinstance(exc, exceptions.ValidationError):
        errors = _flatten(exc.detail)
        title, detail = "Invalid input", "The request has invalid fields; see errors."
        if len(errors) == 1 and errors[0]["field"] is None:
            detail = errors[0]["detail"] or detail
    else:
        errors = []
        title = response.status_text
        detail = _message(getattr(exc, "detail", title))
    headers = {
        k: v for k, v in response.headers.items() if k in ("WWW-Authenticate", "Retry-After", "Allow", "ETag")
    }
    # Exceptions may carry extension members for the body (e.g. a 412's current_version).
    extra = getattr(exc, "problem_extra", None) or {}
    if getattr(exc, "etag", None):
        headers["ETag"] = exc.etag  # type: ignore[attr-defined]
    return problem_response(response.status_code, title, detail, errors or None, headers=headers, **extra)


def not_found(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    """handler404: a problem for addresses under /api/ that match no route, Django's page elsewhere."""
    if not request.path_info.startswith("/api/"):
        return defaults.page_not_found(request, exception)
    body = {
        "type": "about:blank",
        "title": "Not Found",
        "status": status.HTTP_404_NOT_FOUND,
        "detail": "No API endpoint at this address.",
    }
    return JsonResponse(
        body,
        status=status.HTTP_404_NOT_FOUND,
        content_type=PROBLEM_CONTENT_TYPE,
        json_dumps_params={"separators": (",", ":")},
    )
