"""Schemathesis hooks for the fuzz run: no other firm's data in any response; which refusals of
schema-valid requests no schema can prevent; and the schema's known inaccuracies, until fixed.

Loaded by the `st` process (schemathesis.toml names this module), not by pytest, so it imports nothing
from Django. Before the run the test writes what belongs only to the other firm (texts, and ids per
record kind) to the JSON file named by CRM_FUZZ_FOREIGN.
"""

from __future__ import annotations

import ast
import json
import os
import re
import sys
import uuid
from collections.abc import Callable
from functools import cache
from threading import Lock
from types import SimpleNamespace
from typing import Any, NamedTuple

import schemathesis
from schemathesis import CheckContext, HookContext, Response
from schemathesis.core.failures import AcceptedNegativeData, Failure
from schemathesis.generation.case import Case
from schemathesis.openapi.checks import JsonSchemaError, RejectedPositiveData

# --- a CPython 3.11 race ---------------------------------------------------------------------------

# Before 3.11.8, ast.parse keeps its recursion depth in interpreter-wide state, and the GIL can pass to
# another thread mid-parse (a garbage collection), so two threads parsing at once may fail with
# "SystemError: AST constructor recursion depth mismatch" (python/cpython#106905, fixed by #113035).
# Hypothesis parses source to describe lambdas, and schemathesis runs `workers` threads: on such a
# Python the run then reports a runtime error that is no fault of the API. Parsing one at a time is
# the fix's effect; later Pythons are left alone.
if sys.version_info < (3, 11, 8):
    _unsafe_parse = ast.parse
    _parse_lock = Lock()

    def _parse_one_at_a_time(*args: Any, **kwargs: Any) -> Any:
        with _parse_lock:
            return _unsafe_parse(*args, **kwargs)

    ast.parse = _parse_one_at_a_time


# --- another firm's data ----------------------------------------------------------------------------

# Which record kind a response key names, for the ids in bodies (foreign keys and embedded objects).
KIND_OF_KEY = {
    "organization": "organization",
    "principal": "organization",
    "customer": "organization",
    "distributor": "organization",
    "parent": "organization",
    "book": "organization",
    "contact": "contact",
    "reports_to": "contact",
    "product": "product",
    "interaction": "interaction",
    "lines": "sample_line",
    "opportunity": "opportunity",
    "user": "user",
    "owner": "user",
    "account_manager": "user",
    "assignee": "user",
    "actor": "user",
    "created_by": "user",
    "updated_by": "user",
    "tenant": "tenant",
}

# The record kind of the objects an operation returns, by its path's resource segment.
KIND_OF_RESOURCE = {
    "organizations": "organization",
    "contacts": "contact",
    "products": "product",
    "opportunities": "opportunity",
    "interactions": "interaction",
    "tasks": "task",
    "members": "membership",
    "principal-assignments": "principal_assignment",
    "distributor-authorizations": "distributor_authorization",
    "customer-distributors": "customer_distributor",
    "product-distributors": "product_distributor",
    "opportunity-products": "opportunity_product",
    "opportunity-contacts": "opportunity_contact",
    "samples": "sample",
    "me": "user",
}


@cache
def foreign() -> tuple[tuple[str, ...], dict[str, frozenset[int]]]:
    """(texts, ids by kind) that belong only to the other firm."""
    with open(os.environ["CRM_FUZZ_FOREIGN"], encoding="utf-8") as file:
        data = json.load(file)
    return tuple(data["texts"]), {kind: frozenset(ids) for kind, ids in data["ids"].items()}


def resource_kind(path: str) -> str | None:
    """`/api/v1/organizations/{id}/` → "organization". A history entry's or timeline event's own id is
    not a record's, so those lists have none (the ids they refer to are still checked, by key)."""
    segments = [s for s in path.split("/") if s]
    if len(segments) < 3 or segments[-1] in ("history", "timeline"):
        return None
    return KIND_OF_RESOURCE.get(segments[2])


def foreign_ids(value: Any, kind: str | None, found: list[str]) -> None:
    """Appends `kind id` for every id in `value` that belongs to the other firm."""
    ids = foreign()[1]
    if isinstance(value, list):
        for item in value:
            foreign_ids(item, kind, found)
    elif isinstance(value, dict):
        if kind and isinstance(value.get("id"), int) and value["id"] in ids.get(kind, ()):
            found.append(f"{kind} {value['id']}")
        for key, item in value.items():
            if key == "results":
                foreign_ids(item, kind, found)
            elif key in KIND_OF_KEY:
                child = KIND_OF_KEY[key]
                if isinstance(item, int) and not isinstance(item, bool):
                    if item in ids.get(child, ()):
                        found.append(f"{key}: {child} {item}")
                else:
                    foreign_ids(item, child, found)


def json_of(response: Response) -> Any:
    """The response's JSON body, or None."""
    try:
        return json.loads(response.content)
    except ValueError:
        return None


@schemathesis.check
def no_other_firm_data(ctx: CheckContext, response: Response, case: Case) -> bool | None:
    """Nothing that belongs only to the other firm (a name, an email, an id) is ever in a response."""
    text = response.content.decode("utf-8", errors="replace")
    leaked = [marker for marker in foreign()[0] if marker in text]
    foreign_ids(json_of(response), resource_kind(case.path), leaked)
    if leaked:
        raise AssertionError(f"Response holds another firm's data: {', '.join(sorted(set(leaked))[:10])}")
    return None


# --- requests that reach the body ------------------------------------------------------------------------

# An If-Match that is not a list of entity-tags (or `*`) matches no version, so the API answers 412 before
# it reads the body (as it should, RFC 9110 §13.1.1): left alone, nearly every PUT and PATCH the coverage
# phase builds around a body value would stop there. Such a header is sent as `*` instead; well-formed
# stale tags (`"1"` on a record since updated) still get their 412.
ENTITY_TAGS = re.compile(r'^\s*(\*|(W/)?"[^"]*"(\s*,\s*(W/)?"[^"]*")*)\s*$')


# Schemathesis draws Idempotency-Key values from a small space ("0", "00", …) and sends one again with
# another request, which the API rightly refuses (422, crm/idempotency.py). A well-formed key is made
# unique per generated request, so that each request's own answer stays under test; a malformed one is
# sent as drawn (its 400 stays under test). Replays and reuse have their own tests (tests/api/).
IDEMPOTENCY_KEY = re.compile(r"^[!-~]{1,255}$")


@schemathesis.hook
def map_case(context: HookContext, case: Case) -> Case:
    value = case.headers.get("If-Match") if case.headers else None
    if value is not None and not ENTITY_TAGS.match(str(value)):
        case.headers["If-Match"] = "*"
    key = case.headers.get("Idempotency-Key") if case.headers else None
    if isinstance(key, str) and IDEMPOTENCY_KEY.match(key):
        case.headers["Idempotency-Key"] = f"fuzz-{uuid.uuid4()}"
    return case


# --- refusals no schema can prevent -------------------------------------------------------------------

# A schema says what a request looks like, not what the database holds: these refusals of a
# schema-valid request depend on other rows (an id that does not exist or is hidden, a value already
# taken), on the record's current state, on a rule between fields, or on the caller's role. A refusal
# is forgiven only when every error it lists is one of them; any other 400 is a schema inaccuracy or a bug.
# Django's password validators (settings.AUTH_PASSWORD_VALIDATORS) judge a password against a list of
# common ones and the member's own name and email, which no schema can state.
PASSWORD_POLICY_CODES = frozenset(
    {"password_too_short", "password_too_common", "password_too_similar", "password_entirely_numeric"}
)
DATA_DEPENDENT_CODES = frozenset({"does_not_exist", "unique"}) | PASSWORD_POLICY_CODES
DATA_DEPENDENT_FIELDS = frozenset(
    {"cursor", "after"}
)  # opaque: only a previous page (or feed read) holds a valid one
DATA_DEPENDENT_RULES = tuple(
    re.compile(rule)
    for rule in (
        # state: fields fixed once set, and the type changes an organization allows
        r"cannot change once set",
        r"^type can change only between customer and prospect$",
        # role: principals are added and renamed by admins only
        r"^Only an admin can add a principal\.$",
        r"^only an admin can rename a principal$",
        # rules between fields or rows (CHECK constraints and reference triggers)
        r"^((win|loss)_reason is r|R)equired when the opportunity is closed (won|lost)\.$",
        r"^closed_on is required once the opportunity is closed\.$",
        r"^Only a closed opportunity has a close date\.$",
        r"^expires_on must not be before authorized_on\.$",
        r"^parent must be a principal exactly when this organization is one$",
        r"^a contact cannot report to themselves$",
        r"^Invalid value for parent\.$",  # organization_parent_not_self: its own id as its parent
        r"^reports_to must be a contact of the same organization$",
        r"^product must be one of the opportunity's principal's products$",
        r"^contact must be shared or work at the opportunity's principal$",
        r"^principal must be the organization itself when logging at a principal$",
        r"^contact must belong to the interaction's organization$",
        # samples: the interaction's type and principal, the products of that principal, the status so far
        r"^Only a sample interaction has a sample\.$",
        r"^A sample is of a principal's products: give the interaction a principal\.$",
        r"^Must be one of the sample's principal's products\.$",
        r"^This product is already on this sample\.$",
        r"^This interaction already has a sample\.$",
        r"^A sample stays with its interaction\.$",
        r"^a sample moves forward: it cannot go back from \w+ to \w+$",
        r"^a sample whose status is \w+ keeps it$",
        r"^feedback is required once the feedback is received\.$",
        r"^feedback comes with the status feedback_received",
        r"^sentiment comes with the status feedback_received\.$",
        r"^an interaction with a sample keeps its type and principal$",
        r"^contact must belong to the task's organization$",
        r"^principal must be the organization itself for a task at a principal$",
        # an interaction's follow-up task: only with follow_up_on, and only when it is created
        r"^Needs follow_up_on: the day it is due\.$",
        r"^Only when the interaction is created: create a task at tasks/\.$",
        r"^\w+ must be an? [\w ]+$",  # a reference to the wrong kind of organization
        r"^This customer already has a primary distributor\.$",
        # a batch names each record once: `uniqueItems` cannot say it of one property of the items
        r"^Operation \d+ names this record already: one operation per record\.$",
        r'^Invalid pk "[^"]*" - object does not exist\.$',  # as reports word it (code "invalid")
        # reports: rules between their parameters, and today's date
        r"^Must not be after (date_to|today \(or date_to\))\.$",
        r"^The period may span at most \d+ days\.$",
        r"^Give \w+ or date_from, not both\.$",
        # members: the caller themself, and an email fixed once the member exists
        r"^You cannot deactivate yourself\.$",
        r"^You cannot change your own role\.$",
        r"^A member's email cannot change here\.$",
        r"^This email is already in use\.$",
        # today's date
        r"^An expiry must be in the future\.$",
        # an API key's book: ids of the firm's principals
        r"^Not principals of the firm: [\d, ]+\.$",
        # webhook URLs: what the host name resolves to, in DNS, now
        r"^The host \S+ does not resolve\.$",
        r"^The host \S+ resolves to an? [\w -]+ address \(",
        # webhook URLs: Django's URLValidator (a public host name or address, a port in range) is stricter
        # than `format: uri`; http(s) only and no credentials, which `format: uri` does not say either
        r"^Enter a valid URL\.$",
        r"^Only http and https URLs are allowed\.$",
        r"^Credentials in the URL are not allowed; use the signature to authenticate\.$",
        # merges (ADR 0029): the survivor's own id (the path's) among those merged; `uniqueItems` is not
        # said of `merge` either (a ListField of integers)
        r"^A record is not merged into itself\.$",
        r"^An id is listed twice\.$",
        # sales imports and kept rows (the sales app): a distributor the caller sees, the fields a kind takes,
        # which side of a kept row is still to confirm
        r"^No distributor \d+ that you can see\.$",
        r"^A sales import needs its distributor\.$",
        r"^For kind=sales only\.$",
        r"^Not fields of a sales file: ",
        r"^Give the customer, the product, or both\.$",
        r"^This row's (customer|product) was already recognised\.$",
        # exports: every row, so no page parameters with format=csv|xlsx (crm.api.exports)
        r"^An export \(format=csv or xlsx\) has every row: it takes no page parameters\.$",
    )
)


def data_dependent(error: dict[str, Any]) -> str | None:
    """Why this error depends on data rather than on the request's shape, or None."""
    if error.get("code") == "unreadable":  # an import's file (or mapping): its content, not its shape
        return f"content: {error.get('field')}"
    if error.get("code") in DATA_DEPENDENT_CODES:
        return f"data: {error['code']}"
    if error.get("field") in DATA_DEPENDENT_FIELDS:
        return f"data: {error['field']}"
    rule = next((r for r in DATA_DEPENDENT_RULES if r.search(str(error.get("detail", "")))), None)
    return f"data: rule {rule.pattern}" if rule else None


# --- schema inaccuracies, until the committed schema fixes them -----------------------------------------

# Each entry is a place where the schema does not say what the API does (reported to the schema work).
# A failure it explains is dropped; everything else about the same request is still checked. Remove an
# entry once the committed openapi.yaml fixes it: the run then proves it.


class SchemaGap(NamedTuple):
    name: str
    issue: str
    explains: Callable[[dict[str, Any], Case], bool]  # (error in the 400's problem, request) → bool


def query_of(case: Case) -> dict[str, Any]:
    return case.query if isinstance(case.query, dict) else {}


def body_of(case: Case) -> dict[str, Any]:
    return case.body if isinstance(case.body, dict) else {}


def body_value(case: Case, field: Any) -> Any:
    """The body's value an error's field names, nested ones too (`lines.0.quantity`), or None."""
    value: Any = body_of(case)
    for part in str(field).split("."):
        if isinstance(value, dict):
            value = value.get(part)
        elif isinstance(value, list) and part.isdigit() and int(part) < len(value):
            value = value[int(part)]
        else:
            return None
    return value


SCHEMA_GAPS = (
    SchemaGap(
        "price filters unbounded",
        "`?min_price=`/`?max_price=` (django-filter NumberFilter) refuse values above 1e50; the schema gives "
        "no `maximum`.",
        lambda error, case: error.get("code") == "max_value" and error.get("field") in query_of(case),
    ),
    SchemaGap(
        "decimal pattern",
        "Decimal body fields (`weekly_case_volume`, `list_price`): drf-spectacular's pattern "
        '`^-?\\d{0,10}(?:\\.\\d{0,2})?$` admits "", "-" and ".", and a minus sign where the '
        "serializer has min_value=0.",
        lambda error, case: (
            isinstance(body_value(case, error.get("field")), str)
            and (error.get("code") == "min_value" or error.get("detail") == "A valid number is required.")
        ),
    ),
    SchemaGap(
        "decimal places of a number",
        "Decimal body fields taken as a JSON number: the schema bounds the number (`minimum`, `maximum`) but "
        "cannot say 'at most 2 decimal places' for one (a `multipleOf: 0.01` is checked in binary floating "
        "point by validators, so 0.29 would fail it); `1e-300` or `0.001` are refused.",
        lambda error, case: (
            isinstance(body_value(case, error.get("field")), (int, float))
            and error.get("code") in ("max_decimal_places", "max_digits")
        ),
    ),
    SchemaGap(
        "whitespace-only text",
        "Text fields are trimmed (DRF's trim_whitespace), so a required one holding only whitespace is "
        "blank; the schema's `minLength: 1` admits it (a `pattern: \\S` would not).",
        lambda error, case: (
            error.get("code") == "blank"
            and str(body_of(case).get(str(error.get("field")), "x")).strip() == ""
        ),
    ),
    SchemaGap(
        "NUL in text",
        "Text fields refuse NUL characters (PostgreSQL text cannot hold them; DRF's "
        "ProhibitNullCharactersValidator); the schema's strings admit them.",
        lambda error, case: error.get("code") == "null_characters_not_allowed",
    ),
    SchemaGap(
        "control characters in names",
        "Names, emails and SKUs refuse Unicode Cc/Cf and other invisible characters (crm.text, code "
        "`forbidden_characters`); "
        "the schema's strings admit them.",
        lambda error, case: error.get("code") == "forbidden_characters",
    ),
    SchemaGap(
        "report dates bounded",
        "Reports' `date_from`/`date_to` must fall in 1900–2999 (reports.serializers.ReportDateField); "
        "the schema's `format: date` admits any year.",
        lambda error, case: str(error.get("detail", "")).startswith("Must be from 1900-01-01 to 2999-12-31"),
    ),
    SchemaGap(
        "website uri",
        "`website` is documented as `format: uri`; Django's URLValidator takes only http(s)/ftp(s) URLs "
        "with a host name of at most 253 characters.",
        lambda error, case: error.get("field") == "website" and error.get("code") == "invalid",
    ),
)


def schema_gap(error: dict[str, Any], case: Case) -> str | None:
    return next((f"schema gap: {gap.name}" for gap in SCHEMA_GAPS if gap.explains(error, case)), None)


def sent_empty(value: Any) -> bool:
    """Whether a generated query value goes on the wire as nothing (`?user=`, `?expand=,,`): "", null,
    an empty object, or a list of such."""
    if value is None or value == {}:
        return True
    if isinstance(value, str):
        return value.replace(",", "") == ""
    return isinstance(value, list) and all(sent_empty(item) for item in value)


def empty_query_value(failure: Failure, case: Case) -> str | None:
    """Schema gap: an optional query parameter sent empty (`?updated_before=`, `?expand=,`) means "not
    given", as in HTML forms (django-filter; StrictBooleanField and `expand` too), but the schema does not
    say so (`allowEmptyValue: true`). Forgiven only when every parameter the failure names was empty."""
    named = re.search(r"parameters? (`[^`]+`(?:, `[^`]+`)*) in query", failure.message)
    if not named:
        return None
    names = re.findall(r"`([^`]+)`", named.group(1))
    if all(sent_empty(query_of(case).get(name)) for name in names):
        return "schema gap: empty query value"
    return None


def refused_by_http_server(response: Response) -> str | None:
    """414 and 431 come from gunicorn (a request line over 4094 bytes, too many or too large headers)
    before the request reaches the API: no operation's schema is the place to document them, and no
    check on such a response says anything about the API."""
    return f"http server: {response.status_code}" if response.status_code in (414, 431) else None


def deleted_reference_expanded(failure: Failure, case: Case) -> str | None:
    """Schema gap: `?expand=product` embeds null when the product is soft-deleted (crm.api.serializers:
    "a deleted record is not embedded") while the row stays live; the schema's `oneOf: [integer,
    ProductSummary]` is not nullable."""
    if not isinstance(failure, JsonSchemaError) or failure.instance is not None or not failure.instance_path:
        return None
    expand = query_of(case).get("expand", [])
    expanded = expand.split(",") if isinstance(expand, str) else expand
    if failure.instance_path[-1] in expanded and failure.schema_path[-1:] == ["oneOf"]:
        return "schema gap: deleted reference expanded to null"
    return None


def forgiven(failure: Failure, case: Case, response: Response) -> list[str]:
    """Why the failure is no fault of the API nor a new schema gap (one reason per error), or []."""
    if reason := refused_by_http_server(response):
        return [reason]
    if isinstance(failure, AcceptedNegativeData):
        reason = empty_query_value(failure, case)
        return [reason] if reason else []
    if isinstance(failure, JsonSchemaError):
        reason = deleted_reference_expanded(failure, case)
        return [reason] if reason else []
    if not isinstance(failure, RejectedPositiveData) or response.status_code not in (400, 422):
        return []
    problem = json_of(response)
    problem = problem if isinstance(problem, dict) else {}
    if response.status_code == 422:
        return batch_failure_forgiven(problem, case)
    errors = problem.get("errors") or [{"field": None, "code": None, "detail": problem.get("detail")}]
    reasons = [data_dependent(error) or schema_gap(error, case) for error in errors]
    return [r for r in reasons if r] if all(reasons) else []


# A batch's failed operation (crm/api/batch.py) whose own request's refusal depends on the data: a record
# not found or hidden, a stale If-Match, live dependents, or a write the caller's role may not make.
BATCH_DATA_DEPENDENT_CODES = frozenset({"not_found", "precondition_failed", "conflict", "permission_denied"})
BATCH_FIELD = re.compile(r"^operations\.(\d+)(?:\.data(?:\.(.+))?)?")


def batch_failure_forgiven(problem: dict[str, Any], case: Case) -> list[str]:
    """A schema-valid batch refused (422 `batch_failed`) only for reasons no schema can prevent: each
    failing operation's errors are judged as its own request's would be, against that operation's `data`."""
    if problem.get("code") != "batch_failed" or not problem.get("errors"):
        return []
    operations = body_of(case).get("operations")
    operations = operations if isinstance(operations, list) else []
    reasons: list[str | None] = []
    for error in problem["errors"]:
        if error.get("code") in BATCH_DATA_DEPENDENT_CODES:
            reasons.append(f"data: batch {error['code']}")
            continue
        place = BATCH_FIELD.match(str(error.get("field") or ""))
        if place is None or int(place.group(1)) >= len(operations):
            reasons.append(None)
            continue
        operation = operations[int(place.group(1))]
        data = operation.get("data") if isinstance(operation, dict) else None
        own = SimpleNamespace(body=data if isinstance(data, dict) else {}, query=query_of(case))
        own_error = {**error, "field": place.group(2)}
        reasons.append(data_dependent(own_error) or schema_gap(own_error, own))  # type: ignore[arg-type]
    return [f"batch {r}" for r in reasons if r] if all(reasons) else []


_record_lock = Lock()


@schemathesis.hook
def filter_failure(context: HookContext, failure: Failure, case: Case, response: Response) -> bool:
    """Drops the failures `forgiven` explains; each one dropped is recorded (CRM_FUZZ_FORGIVEN) so the
    test can show what was forgiven and why."""
    reasons = forgiven(failure, case, response)
    if reasons and os.environ.get("CRM_FUZZ_FORGIVEN"):
        line = json.dumps({"operation": f"{case.method} {case.path}", "reasons": sorted(set(reasons))})
        with _record_lock, open(os.environ["CRM_FUZZ_FORGIVEN"], "a", encoding="utf-8") as file:
            file.write(line + "\n")
    return not reasons
