"""RFC 9457 problem details for every error, including the ones only the database catches."""

from __future__ import annotations

import logging
import sys
from collections.abc import Callable
from http import HTTPStatus
from typing import Any

from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.core.exceptions import ValidationError as DjangoValidationError
from django.core.signals import got_request_exception
from django.db import DatabaseError, DataError, IntegrityError, InterfaceError, OperationalError, transaction
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.views import defaults
from rest_framework import exceptions, status
from rest_framework.response import Response
from rest_framework.serializers import as_serializer_error
from rest_framework.views import exception_handler

from crm.api.constraints import describe_database_error, refused_by_policy
from crm.api.renderers import ORJSONRenderer

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


def _code(exc: Exception) -> str | None:
    """The machine-readable code of a DRF or simplejwt exception (`token_revoked`, `signin_locked`, …)."""
    detail = getattr(exc, "detail", None)
    if isinstance(detail, dict) and isinstance(detail.get("code"), str):
        return str(detail["code"])
    code = getattr(detail, "code", None)
    return str(code) if code else None


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


RETRY_AFTER_SECONDS = "5"
UNAVAILABLE = (503, "Service Unavailable", "The database cannot be reached; try again shortly.")


def problem_details_handler(exc: Exception, context: dict[str, Any]) -> Response | None:
    """DRF's exception handler: every error a view raises, as a problem carrying the request id."""
    response = _problem(exc, context)
    if response is not None and isinstance(response.data, dict):
        request = context.get("request")
        response.data["request_id"] = _request_id(request)
        if request is not None:
            # A problem is JSON whatever the client accepts: not the browsable API's HTML page a browser's
            # Accept header (or ?format=api) would otherwise get under the problem's content type.
            request.accepted_renderer = ORJSONRenderer()
            request.accepted_media_type = PROBLEM_CONTENT_TYPE
    return response


def stale_prepared_statement(exc: BaseException) -> bool:
    """PostgreSQL refused a prepared statement whose result columns changed type since it was prepared
    (SQLSTATE 0A000, "cached plan must not change result type"): retried on a fresh connection, it runs."""
    cause = exc.__cause__ or exc
    return getattr(cause, "sqlstate", None) == "0A000" and "cached plan must not change" in str(cause)


def _request_id(request: Any) -> str | None:
    request = getattr(request, "_request", request)
    given = getattr(request, "request_id", None)
    if given is None and request is not None:
        from crm.middleware import request_id_of

        given = request_id_of(request)
        request.request_id = given
    return given


def _problem(exc: Exception, context: dict[str, Any]) -> Response | None:
    # Whatever went wrong, nothing of this request may be committed; except what an exception says must
    # be (a failed sign-in's record: crm.signin).
    if transaction.get_connection().in_atomic_block and not getattr(exc, "commit_anyway", False):
        transaction.set_rollback(True)
    return problem_for(exc, context)


def problem_for(exc: Exception, context: dict[str, Any]) -> Response | None:
    """The problem answering `exc` (None: not one DRF answers), leaving the transaction alone: a batch's
    operations (crm.api.batch) are each answered this way, as their own request would be."""
    if isinstance(exc, Http404):
        exc = exceptions.NotFound()
    elif isinstance(exc, DjangoPermissionDenied):
        exc = exceptions.PermissionDenied()
    elif isinstance(exc, DjangoValidationError):
        # Raised by Django code the view called (password validators, model validation): bad input.
        exc = exceptions.ValidationError(as_serializer_error(exc))
    elif (stale := stale_prepared_statement(exc)) or isinstance(exc, OperationalError | InterfaceError):
        # The database went away (down, restarting, a connection cut), or a statement this connection
        # prepared no longer fits its table (a migration changed a column's type): the client may retry
        # shortly; a connection with a stale statement is not reused (crm.postgresql).
        if stale:
            transaction.get_connection().stale_prepared_statements = True
        logger.error("Database unavailable: %s", exc)
        return problem_response(*UNAVAILABLE, headers={"Retry-After": RETRY_AFTER_SECONDS})
    elif isinstance(exc, DataError) and "NUL" in str(exc):
        return problem_response(
            status.HTTP_400_BAD_REQUEST, "Invalid input", "Text may not contain the NUL character."
        )
    elif isinstance(exc, IntegrityError | DatabaseError) and refused_by_policy(exc):
        # A row level security policy refused the write: the row is outside what this user may write.
        logger.warning("Write refused by the database: %s", exc)
        return problem_response(status.HTTP_403_FORBIDDEN, "Forbidden", "You may not write this record.")
    elif isinstance(exc, IntegrityError | DatabaseError):
        described = describe_database_error(exc)
        if described is None:
            logger.exception("Unmapped database error", exc_info=exc)
            return problem_response(500, "Internal Server Error", PAGE_DETAILS[500])
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
    reason: str | None = None
    if isinstance(exc, exceptions.ValidationError):
        errors = _flatten(exc.detail)
        title, detail = "Invalid input", "The request has invalid fields; see errors."
        if len(errors) == 1 and errors[0]["field"] is None:
            detail = errors[0]["detail"] or detail
    else:
        errors = []
        title = getattr(exc, "problem_title", None) or response.status_text
        detail = _message(getattr(exc, "detail", title))
        reason = _code(exc)
    headers = {
        k: v for k, v in response.headers.items() if k in ("WWW-Authenticate", "Retry-After", "Allow", "ETag")
    }
    # Exceptions may carry extension members for the body (e.g. a 412's current_version).
    extra = {**({"code": reason} if reason else {}), **(getattr(exc, "problem_extra", None) or {})}
    if getattr(exc, "etag", None):
        headers["ETag"] = exc.etag  # type: ignore[attr-defined]
    errors = errors or extra.pop("errors", None)  # a non-400 may name the field at fault too (a 403's)
    return problem_response(response.status_code, title, detail, errors or None, headers=headers, **extra)


def plain_problem(
    request: HttpRequest,
    status_code: int,
    title: str,
    detail: str,
    headers: dict[str, str] | None = None,
    close: bool = False,
    members: dict[str, Any] | None = None,
) -> JsonResponse:
    """A problem answered outside DRF (middleware, Django's error handlers), with the request id and any
    extension `members` (`code`, `errors`, …)."""
    request_id = _request_id(request)
    body: dict[str, Any] = {"type": "about:blank", "title": title, "status": status_code, "detail": detail}
    body["request_id"] = request_id
    body.update(members or {})
    response = JsonResponse(
        body,
        status=status_code,
        content_type=PROBLEM_CONTENT_TYPE,
        json_dumps_params={"separators": (",", ":")},
    )
    for name, value in (headers or {}).items():
        response[name] = value
    if request_id:
        response["X-Request-ID"] = request_id
    if close and not request.META.get("SERVER_SOFTWARE", "").startswith("WSGIServer/"):
        # The unread body must not be taken for the next request on this connection. Django's development
        # server (wsgiref, "WSGIServer/…") refuses hop-by-hop headers from an application with a 500 of its
        # own; it closes every connection after one response anyway.
        response["Connection"] = "close"
    return response


def invalid_header_problem(request: HttpRequest, header: str, detail: str) -> JsonResponse:
    """A 400 problem naming a request header, answered outside DRF (middleware)."""
    errors = [{"field": header, "code": "invalid", "detail": detail}]
    return plain_problem(
        request,
        400,
        "Invalid input",
        "The request has invalid fields; see errors.",
        members={"errors": errors},
    )


def header_problem(
    request: HttpRequest, status_code: int, title: str, header: str, code: str, detail: str
) -> JsonResponse:
    """A problem about a request header other than a malformed value (an Idempotency-Key in use, or used
    for another request), answered outside DRF: `code` says which, `errors` names the header."""
    errors = [{"field": header, "code": code, "detail": detail}]
    return plain_problem(request, status_code, title, detail, members={"code": code, "errors": errors})


# What a problem made outside DRF says, by status (Django's error handlers and ApiProblemsMiddleware).
PAGE_DETAILS = {
    400: "The request is malformed.",
    403: "You may not do this.",
    404: "No API endpoint at this address.",
    500: "The server could not complete the request.",
}


def _is_api(request: HttpRequest) -> bool:
    return request.path_info.startswith("/api/")


def not_found(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    """handler404: a problem for addresses under /api/ that match no route, Django's page elsewhere."""
    if not _is_api(request):
        return defaults.page_not_found(request, exception)
    return plain_problem(request, 404, "Not Found", PAGE_DETAILS[404])


def bad_request(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    """handler400 (a SuspiciousOperation: a bad Host header, a body over the limits Django checks)."""
    if not _is_api(request):
        return defaults.bad_request(request, exception)  # type: ignore[arg-type]
    return plain_problem(request, 400, "Bad Request", PAGE_DETAILS[400])


def permission_denied(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    if not _is_api(request):
        return defaults.permission_denied(request, exception)  # type: ignore[arg-type]
    return plain_problem(request, 403, "Forbidden", PAGE_DETAILS[403])


def server_error(request: HttpRequest) -> HttpResponse:
    """handler500, the last resort: an exception nothing else answered. Under /api/ a problem without
    internals (logged by Django with its traceback); a database that cannot be reached is a 503."""
    exc = sys.exc_info()[1]
    if not _is_api(request):
        if isinstance(exc, OperationalError | InterfaceError):  # the admin's pages: a 503 too, not a 500
            unavailable = HttpResponse(
                "<h1>Service unavailable</h1><p>The database cannot be reached; try again shortly.</p>",
                status=503,
            )
            unavailable["Retry-After"] = RETRY_AFTER_SECONDS
            return unavailable
        return defaults.server_error(request)
    if isinstance(exc, OperationalError | InterfaceError):
        return plain_problem(request, *UNAVAILABLE, headers={"Retry-After": RETRY_AFTER_SECONDS})
    return plain_problem(request, 500, "Internal Server Error", PAGE_DETAILS[500])


# --- the net under every /api/ response ------------------------------------------------------------


def _remember_uncaught(sender: Any, request: HttpRequest | None = None, **kwargs: Any) -> None:
    """Keeps the exception Django is about to turn into an error page, for ApiProblemsMiddleware."""
    if request is not None:
        request._crm_uncaught = sys.exc_info()[1]  # type: ignore[attr-defined]


got_request_exception.connect(_remember_uncaught, dispatch_uid="crm.api.problems.remember_uncaught")

_JSON_TYPES = ("application/json", PROBLEM_CONTENT_TYPE)


class ApiProblemsMiddleware:
    """Every error under /api/ is a problem, DEBUG or not.

    Django answers an exception outside a view (in middleware, a bad Host header, a resolver miss) with
    an error page: with DEBUG off our handlers (handler404 …) make those problems, but with DEBUG on
    (`make run`, where front ends are developed) Django shows its technical HTML pages instead of any
    handler. This middleware, just inside CORS, replaces any error response under /api/ that is not JSON
    with the problem of the same status and the request id; a database that cannot be reached is the
    usual 503 with Retry-After. The technical page is still logged by Django; its internals are not sent.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        if response.status_code < 400 or not _is_api(request):
            return response
        if response.get("Content-Type", "").split(";")[0].strip() in _JSON_TYPES:
            return response
        exc = getattr(request, "_crm_uncaught", None)
        if isinstance(exc, OperationalError | InterfaceError):
            return plain_problem(request, *UNAVAILABLE, headers={"Retry-After": RETRY_AFTER_SECONDS})
        status_code = response.status_code
        try:
            title = HTTPStatus(status_code).phrase
        except ValueError:
            title = "Error"
        detail = PAGE_DETAILS.get(status_code, PAGE_DETAILS[500] if status_code >= 500 else title)
        headers = {name: response[name] for name in ("Allow", "Retry-After") if response.has_header(name)}
        return plain_problem(request, status_code, title, detail, headers=headers)
