"""Input limits enforced before a view runs (the numbers are settings: API_MAX_BODY_BYTES, API_MAX_JSON_DEPTH)."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from django.conf import settings
from django.http import HttpRequest, HttpResponse

# The largest id a token's user_id claim may hold (PostgreSQL bigint).
MAX_ID = 2**63 - 1


_DIGITS = re.compile(r"[1-9][0-9]{0,18}")


def valid_id(value: Any) -> int | None:
    """The id `value` holds when it is one PostgreSQL can hold (a positive bigint, as an int or the
    decimal string simplejwt writes into tokens; never a bool, float or anything else), else None."""
    if type(value) is str and _DIGITS.fullmatch(value):
        value = int(value)
    if type(value) is int and 0 < value <= MAX_ID:
        return value
    return None


class RequestBodyLimitMiddleware:
    """Refuses a body over API_MAX_BODY_BYTES (BODY_LIMITS_BY_PATH for file uploads) from its
    Content-Length, before anything reads it.

    A chunked body (no Content-Length) is never read by Django, whose length counts as 0: the view would
    answer a misleading "field required". Under /api/ it is a 411 problem instead (Length Required).
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        raw = request.META.get("CONTENT_LENGTH") or "0"
        try:
            length = int(raw)
        except ValueError:
            length = -1
        limit = settings.BODY_LIMITS_BY_PATH.get(request.path_info, settings.API_MAX_BODY_BYTES)
        if length < 0 or length > limit:
            from crm.api.problems import plain_problem

            too_big = length > 0
            return plain_problem(
                request,
                413 if too_big else 400,
                "Content Too Large" if too_big else "Bad Request",
                f"The request body may be at most {limit} bytes."
                if too_big
                else "The Content-Length header is not a number of bytes.",
                close=True,
            )
        if (
            "chunked" in request.META.get("HTTP_TRANSFER_ENCODING", "").lower()
            and request.path_info.startswith("/api/")
            and not request.META.get("CONTENT_LENGTH")
        ):
            from crm.api.problems import plain_problem

            return plain_problem(
                request,
                411,
                "Length Required",
                "Send the body with a Content-Length header; chunked bodies are not read.",
                close=True,
            )
        return self.get_response(request)
