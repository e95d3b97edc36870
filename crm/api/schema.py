"""The OpenAPI schema (drf-spectacular), made to describe the API exactly: front ends generate clients from it.

Besides what drf-spectacular infers, `CrmAutoSchema` documents what the shared base classes do to every
operation: RFC 9457 problem responses (crm/api/problems.py), `?expand=` and what it does to a foreign
key, `If-Match`/`ETag` (crm/records.py), `?cascade=`, `X-Request-ID`, and stable operation ids. The
hook `postprocess_schema` points filter parameters at the named enum components.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any, cast

import django_filters
from django.db.models import Model
from drf_spectacular.contrib.django_filters import DjangoFilterExtension
from drf_spectacular.contrib.rest_framework_simplejwt import SimpleJWTScheme
from drf_spectacular.drainage import has_override
from drf_spectacular.extensions import OpenApiAuthenticationExtension, OpenApiSerializerFieldExtension
from drf_spectacular.openapi import AutoSchema
from drf_spectacular.plumbing import ResolvedComponent, force_instance, get_doc
from drf_spectacular.utils import OpenApiParameter
from rest_framework import serializers
from rest_framework.generics import GenericAPIView

from crm import idempotency
from crm.api.exports import CSV_MEDIA_TYPE, EXPORT_RENDERERS, XLSX_MEDIA_TYPE, ExportableListMixin
from crm.api.filtering import IdFilter
from crm.api.pagination import CursorPagination
from crm.api.problems import PROBLEM_CONTENT_TYPE
from crm.api.serializers import TenantModelSerializer

# Not imported here: crm.api.viewsets (and every views module) use @extend_schema, which needs this
# module's CrmAutoSchema at class-definition time. See _resource().

# --- authentication -----------------------------------------------------------------------------------


class RequestJWTScheme(SimpleJWTScheme):
    target_class = "crm.authentication.RequestJWTAuthentication"
    name = "jwtAuth"


class RequestApiKeyScheme(OpenApiAuthenticationExtension):
    target_class = "crm.authentication.RequestApiKeyAuthentication"
    name = "ApiKeyAuth"

    def get_security_definition(self, auto_schema: Any) -> dict[str, str]:
        return {
            "type": "apiKey",
            "in": "header",
            "name": "Authorization",
            "description": "An API key an admin created at `api-keys/`, sent as `Api-Key <key>`.",
        }


class RequestSessionScheme(OpenApiAuthenticationExtension):
    target_class = "crm.authentication.RequestSessionAuthentication"
    name = "cookieAuth"
    priority = -1

    def get_security_definition(self, auto_schema: Any) -> dict[str, str]:
        return {"type": "apiKey", "in": "cookie", "name": "sessionid"}


# --- problem details: the body of every error (see crm/api/problems.py) ---------------------------------


class ProblemFieldErrorSerializer(serializers.Serializer):
    """One thing wrong with the request."""

    field = serializers.CharField(
        allow_null=True,
        help_text="The body field (a dotted path for nested ones) or query parameter at fault; "
        "null when the request as a whole is.",
    )
    code = serializers.CharField(
        help_text="Machine-readable: `required`, `invalid`, `invalid_choice`, `unique`, `does_not_exist`, …"
    )
    detail = serializers.CharField(help_text="Human-readable explanation.")


class ProblemSerializer(serializers.Serializer):
    """An RFC 9457 problem: the body of every error response (`application/problem+json`)."""

    type = serializers.CharField(help_text="Always `about:blank`: `status` and `title` say what happened.")
    title = serializers.CharField(help_text="The status code's phrase, or `Invalid input` for a 400.")
    status = serializers.IntegerField(help_text="The HTTP status code.")
    detail = serializers.CharField(help_text="Human-readable explanation of this occurrence.")
    request_id = serializers.CharField(
        help_text="The request's id (also the `X-Request-ID` header): quote it when reporting a problem."
    )
    code = serializers.CharField(
        required=False,
        help_text="Machine-readable reason, outside 400s: `not_authenticated`, `authentication_failed`, "
        "`token_not_valid`, `token_revoked` (sign in again), `signin_locked`, `rate_limited`, `permission_denied`, "
        "`not_found`, …",
    )
    # A declared field (DRF moves it off the class): the `errors` property of serializers is unaffected.
    errors = ProblemFieldErrorSerializer(  # type: ignore[assignment]
        many=True, required=False, help_text="For invalid input (400): each field or parameter at fault."
    )


# Problems with extension members, as `allOf: [Problem, {their members}]`: component name → members (all
# required, unless the component is in OPTIONAL_PROBLEM_MEMBERS).
PROBLEM_EXTENSIONS: dict[str, tuple[str, dict[str, dict[str, Any]]]] = {
    "ConflictProblem": (
        "A problem (409) naming the live dependents that keep a record from being deleted.",
        {
            "dependents": {
                "type": "object",
                "additionalProperties": {"type": "integer", "minimum": 1},
                "description": "Live dependents by kind (`contacts`, `open_opportunities`) with their counts.",
            }
        },
    ),
    "TooManyRequestsProblem": (
        "A problem (429): a rate limit is used up (`code` `rate_limited`, `violated_policies` naming it), or "
        "too many failed sign-ins (`code` `signin_locked`).",
        {
            "violated_policies": {
                "type": "array",
                "items": {"type": "string"},
                "description": "With `code` `rate_limited`: the policies used up, by the names "
                "`RateLimit-Policy` gives them (`burst`, `sustained`, `writes`).",
            }
        },
    ),
    "PreconditionFailedProblem": (
        "A problem (412): `If-Match` named a version the record no longer has.",
        {
            "current_version": {
                "type": "integer",
                "description": "The record's version now (also in the `ETag` header).",
            }
        },
    ),
}


OPTIONAL_PROBLEM_MEMBERS = frozenset({"TooManyRequestsProblem"})


def _header(description: str, schema: dict[str, Any] | None = None) -> dict[str, Any]:
    return {"description": description, "required": True, "schema": schema or {"type": "string"}}


HEADERS: dict[str, dict[str, Any]] = {
    "XRequestId": _header(
        "The request's id, recorded in history with every change it made: the caller's `X-Request-ID` "
        "when it is a plain token (1–64 of `A-Za-z0-9._:-`), else a new one."
    ),
    "ETag": _header(
        'The record\'s version as a strong entity tag (`"<version>"`): send it back as `If-Match` to '
        "write only if nobody changed the record since.",
    ),
    "Location": _header("The new record's absolute URL.", {"type": "string", "format": "uri"}),
    "WWWAuthenticate": _header("The authentication scheme to use: `Bearer`."),
    "RetryAfter": _header("Seconds to wait before trying again.", {"type": "integer", "minimum": 0}),
    "RateLimitPolicy": {
        "description": "The rate limits this request counted against (draft-ietf-httpapi-ratelimit-headers): "
        'each policy\'s name, quota `q` and window `w` in seconds, e.g. `"burst";q=20;w=1, '
        '"sustained";q=600;w=60` (and `"writes";q=120;w=60` on writes). Absent when rate limits are off.',
        "required": False,
        "schema": {"type": "string"},
    },
    "RateLimit": {
        "description": "What is left of each policy for you: `r` requests, and `t` the seconds within which no "
        'more than those are available (left out when the quota is whole), e.g. `"burst";r=19;t=1, '
        '"sustained";r=599;t=1`. Absent when rate limits are off.',
        "required": False,
        "schema": {"type": "string"},
    },
    "IdempotentReplayed": {
        "description": "`true` when this is the stored answer to the first request sent with this "
        "`Idempotency-Key`: nothing was run again.",
        "required": False,
        "schema": {"type": "string", "enum": ["true"]},
    },
}
HEADER_NAMES = {
    "XRequestId": "X-Request-ID",
    "ETag": "ETag",
    "Location": "Location",
    "WWWAuthenticate": "WWW-Authenticate",
    "RetryAfter": "Retry-After",
    "IdempotentReplayed": "Idempotent-Replayed",
    "RateLimitPolicy": "RateLimit-Policy",
    "RateLimit": "RateLimit",
}
# On every response under /api/ while rate limits are on (crm/rate_limits.py).
RATE_LIMIT_HEADERS = ("RateLimit", "RateLimitPolicy")

# status → (response component name, its problem schema, description, extra headers)
PROBLEM_RESPONSES: dict[int, tuple[str, str, str, tuple[str, ...]]] = {
    400: (
        "BadRequest",
        "Problem",
        "Invalid input: a body field, or a query parameter (an unknown one, an unknown `expand` or "
        "`ordering` name, a bad `cursor` or `page_size` included). `errors` names each.",
        (),
    ),
    401: (
        "Unauthorized",
        "Problem",
        "Not signed in, wrong credentials, or a token that is invalid or expired (`code` `token_not_valid`: "
        "refresh the access token) or revoked (`token_revoked`: the password, access or role changed since "
        "it was issued, or its session ended; sign in again), or a refresh token already spent "
        "(`token_reused`: its session is ended everywhere).",
        ("WWWAuthenticate",),
    ),
    403: (
        "Forbidden",
        "Problem",
        "Signed in but not allowed: viewers only read, only admins manage members and books, and nobody "
        "writes outside what they may see.",
        (),
    ),
    404: (
        "NotFound",
        "Problem",
        "No such record, or none you can see: another firm's id and one outside your book get the same "
        "answer as an id that does not exist.",
        (),
    ),
    409: (
        "Conflict",
        "ConflictProblem",
        "A DELETE: the record still has live dependents (counted in `dependents`): delete them first or pass "
        "`?cascade=true`. A POST or PATCH: a request with the same `Idempotency-Key` is still being processed "
        "(`code` `idempotency_key_in_use`): send it again once that one has finished.",
        (),
    ),
    412: (
        "PreconditionFailed",
        "PreconditionFailedProblem",
        "`If-Match` names an old version: the record changed since it was read. Nothing was written; "
        "`current_version` and `ETag` give the version now.",
        ("ETag",),
    ),
    422: (
        "UnprocessableContent",
        "Problem",
        "The `Idempotency-Key` was already used for another request (method, path, query or body) within "
        "its 24 hours (`code` `idempotency_key_reused`): nothing was run; use a new key for a new request.",
        (),
    ),
    413: (
        "ContentTooLarge",
        "Problem",
        "The body is larger than the service accepts (`API_MAX_BODY_BYTES`, 1 MiB by default); it was not read.",
        (),
    ),
    415: (
        "UnsupportedMediaType",
        "Problem",
        "The body is not JSON: send `Content-Type: application/json`.",
        (),
    ),
    429: (
        "TooManyRequests",
        "TooManyRequestsProblem",
        "A rate limit is used up (`code` `rate_limited`): per member, API key or client address, a burst "
        "(20 a second), a sustained rate (600 a minute) and writes (120 a minute) by default; nothing was run. "
        "Or, at sign-in and the password change, too many failed sign-ins for this account or from this "
        "address (`code` `signin_locked`: `SIGNIN_MAX_FAILURES`, `SIGNIN_MAX_FAILURES_PER_CLIENT` within "
        "`SIGNIN_WINDOW_SECONDS`): even the right password is refused. Either way, try again after "
        "`Retry-After` seconds.",
        ("RetryAfter", *RATE_LIMIT_HEADERS),
    ),
    503: (
        "ServiceUnavailable",
        "Problem",
        "The database cannot be reached (down, restarting, failing over, the connection lost): retry after "
        "`Retry-After` seconds. Nothing was written, unless the connection was lost after the database "
        "received the commit: then the write was made, and a retried create may find it already there.",
        ("RetryAfter",),
    ),
}

# Actions whose response is one record, sent with its ETag (TenantModelViewSet.finalize_response).
ETAG_ACTIONS = frozenset(
    {"retrieve", "create", "update", "partial_update", "restore", "change_stage", "merge"}
)
# Actions whose response is built by the serializer that honours `?expand=`.
EXPAND_ACTIONS = ETAG_ACTIONS | {"list", "batch"}
# A batch's 422 (crm.api.batch.BatchFailed): the response and problem components, and its description.
BATCH_FAILED = (
    "BatchFailed",
    "BatchFailedProblem",
    "An operation of an atomic batch failed (`code` `batch_failed`): nothing was written. `failed` gives each "
    "failing operation's place and the problem its own request would have answered (400, 403, 404, 409, "
    "412), `errors` each field at fault by its place in the body (`operations.3.data.name`, "
    "`operations.3.if_match`). Or the `Idempotency-Key` was already used for another request "
    "(`code` `idempotency_key_reused`): nothing was run.",
)

SUMMARIES = {
    "list": "List {plural}",
    "create": "Add {a}",
    "retrieve": "Get {a}",
    "update": "Replace {a}",
    "partial_update": "Change {a}",
    "destroy": "Delete {a}",
    "batch": "Add, change and delete {plural} in one request",
}


def _with_article(noun: str) -> str:
    return f"{'an' if noun[:1] in 'aeiou' else 'a'} {noun}"


def cursor_page_parameters() -> list[OpenApiParameter]:
    """`cursor` and `page_size`, as the cursor paginator describes them, for views that page themselves."""
    return [
        OpenApiParameter(
            name=parameter["name"],
            type=parameter["schema"],
            location=OpenApiParameter.QUERY,
            required=False,
            description=parameter["description"],
        )
        for parameter in CursorPagination().get_schema_operation_parameters(view=None)
    ]


@dataclass(frozen=True)
class Resource:
    """What a TenantModelViewSet does beyond plain CRUD, as far as the schema is concerned."""

    locking_actions: frozenset[str]  # If-Match honoured, 412 possible
    expandable: tuple[str, ...]  # names `?expand=` accepts
    delete_can_conflict: bool  # live dependents make a DELETE a 409
    delete_cascades: bool  # `?cascade=true` takes something along


def _resource(view: Any) -> Resource | None:
    """The view as a business resource; None for any other view."""
    from crm.api.viewsets import LOCKING_ACTIONS, TenantModelViewSet

    if not isinstance(view, TenantModelViewSet):
        return None
    cls = type(view)
    return Resource(
        locking_actions=LOCKING_ACTIONS,
        expandable=tuple(sorted(view.serializer_class.expandable)),
        delete_can_conflict=cls.blocking_dependents is not TenantModelViewSet.blocking_dependents,
        delete_cascades=cls.deletion_dependents is not TenantModelViewSet.deletion_dependents,
    )


class CrmAutoSchema(AutoSchema):
    """AutoSchema that also documents what the shared base classes do to every operation."""

    # --- identity -------------------------------------------------------------------------------------

    def get_operation_id(self) -> str:
        # An extra action's id is its path (`opportunities_change_stage`, `contacts_restore`), without
        # the HTTP method drf-spectacular would append.
        handler = getattr(self.view, getattr(self.view, "action", None) or "", None)
        mapping = getattr(handler, "mapping", None)
        if mapping is not None and len(mapping) == 1:
            return "_".join(token.replace("-", "_") for token in self._tokenize_path())
        return str(super().get_operation_id())

    def get_summary(self) -> str | None:
        summary = super().get_summary()
        action = getattr(self.view, "action", None)
        model = self._model()
        if summary or action not in SUMMARIES or model is None:
            return summary
        meta = model._meta
        return SUMMARIES[action].format(
            plural=meta.verbose_name_plural, a=_with_article(str(meta.verbose_name))
        )

    def _model(self) -> type[Model] | None:
        serializer_class = getattr(self.view, "serializer_class", None)
        meta = getattr(serializer_class, "Meta", None)
        return getattr(meta, "model", None)

    # --- batches (crm.api.batch): bodies built from the resource's serializer --------------------------

    def _batch_serializers(self) -> tuple[Any, Any] | None:
        if getattr(self.view, "action", None) != "batch" or _resource(self.view) is None:
            return None
        from crm.api.batch import batch_schema_serializers

        return batch_schema_serializers(cast(Any, self.view).serializer_class)

    def get_request_serializer(self) -> Any:
        batch = self._batch_serializers()
        return batch[0] if batch else super().get_request_serializer()

    def get_response_serializers(self) -> Any:
        batch = self._batch_serializers()
        return batch[1] if batch else super().get_response_serializers()

    # --- parameters -----------------------------------------------------------------------------------

    def get_override_parameters(self) -> list[Any]:
        # Ours first: an @extend_schema parameter of the same name and location wins.
        return [*self._crm_parameters(), *super().get_override_parameters()]

    def _crm_parameters(self) -> list[OpenApiParameter]:
        parameters = [
            OpenApiParameter(
                "X-Request-ID",
                str,
                OpenApiParameter.HEADER,
                required=False,
                description="Your id for this request (1–64 of `A-Za-z0-9._:-`): recorded in history and "
                "echoed back; anything else is replaced by a new one.",
            )
        ]
        if self._idempotent():
            parameters.append(
                OpenApiParameter(
                    idempotency.HEADER,
                    {"type": "string", "pattern": f"^[!-~]{{1,{idempotency.MAX_KEY_LENGTH}}}$"},
                    OpenApiParameter.HEADER,
                    required=False,
                    description="A key of your choosing, unique per request you mean (a UUID, say), so the "
                    "request can be sent again safely: within 24 hours the same request with the same key gets "
                    "the first answer (`Idempotent-Replayed: true`) and nothing runs again; the key with another "
                    "request is a 422, while the first is still running a 409. 1–255 printable ASCII "
                    'characters, or an RFC 8941 quoted string (`"…"`). Your own keys only: another user\'s or '
                    "firm's same key is theirs.",
                )
            )
        action = getattr(self.view, "action", None)
        if self._exports():
            parameters.append(
                OpenApiParameter(
                    "format",
                    {"type": "string", "enum": ["json", *(r.format for r in EXPORT_RENDERERS)]},
                    OpenApiParameter.QUERY,
                    required=False,
                    description="`csv` or `xlsx`: every row the filters, search and ordering match (not a "
                    "page; `cursor` and `page_size` are refused), streamed as a file named after the list "
                    "and the day. The columns are the list's fields; an expanded relation is a column per "
                    "field of it (`organization.name`). `Accept: text/csv` (or the XLSX type) asks the same. "
                    "JSON pages by default.",
                )
            )
        resource = _resource(self.view)
        if resource is None:
            return parameters
        expandable = list(resource.expandable)
        if action in EXPAND_ACTIONS and expandable:
            parameters.append(
                OpenApiParameter(
                    "expand",
                    {"type": "array", "items": {"type": "string", "enum": expandable}},
                    OpenApiParameter.QUERY,
                    required=False,
                    style="form",
                    explode=False,
                    description="Comma-separated relations to embed as objects instead of ids "
                    "(`?expand=" + ",".join(expandable) + "`), at no extra query. An unknown name is a 400.",
                )
            )
        if action in resource.locking_actions:
            parameters.append(
                OpenApiParameter(
                    "If-Match",
                    str,
                    OpenApiParameter.HEADER,
                    required=False,
                    description='The `ETag` you read (`"<version>"`; several comma-separated, or `*`): '
                    "anything else is refused with 412 and nothing is written. Without it the last write "
                    "wins.",
                )
            )
        if action == "destroy":
            parameters.append(
                OpenApiParameter(
                    "cascade",
                    bool,
                    OpenApiParameter.QUERY,
                    required=False,
                    description=self._cascade_description(resource),
                )
            )
        return parameters

    def _idempotent(self) -> bool:
        """POST and PATCH operations under /api/ take an Idempotency-Key (not sign-in, refresh, password)."""
        from crm.middleware import own_signin_paths, signin_paths

        return (
            self.method in idempotency.METHODS
            and self.path.startswith("/api/")
            and self.path not in signin_paths() | own_signin_paths()
        )

    def _cascade_description(self, resource: Resource) -> str:
        if resource.delete_can_conflict:
            return (
                "Also soft-delete the live dependents (without it, having any is a 409); `restore` "
                "brings back exactly what was deleted together."
            )
        if resource.delete_cascades:
            return (
                "Also soft-delete what belongs to this record; `restore` brings back exactly what was "
                "deleted together."
            )
        return "Accepted on every DELETE; nothing belongs to this kind of record, so it changes nothing."

    # --- responses ------------------------------------------------------------------------------------

    def _get_response_bodies(self, direction: Any = "response") -> dict[str, Any]:
        responses: dict[str, Any] = super()._get_response_bodies(direction)
        action = getattr(self.view, "action", None)
        is_resource = _resource(self.view) is not None
        for code, response in responses.items():
            headers = response.setdefault("headers", {})
            headers["X-Request-ID"] = self._header_ref("XRequestId")
            if code.startswith("2") and is_resource and action in ETAG_ACTIONS:
                headers["ETag"] = self._header_ref("ETag")
            if code[0] in "24" and self._idempotent():
                headers[idempotency.REPLAYED_HEADER] = self._header_ref("IdempotentReplayed")
            if code == "201":  # crm.api.viewsets.LocatedCreateMixin
                headers["Location"] = self._header_ref("Location")
            for name in RATE_LIMIT_HEADERS:
                headers[HEADER_NAMES[name]] = self._header_ref(name)
        for status in sorted(self._problem_statuses()):
            responses.setdefault(str(status), self._problem_response_ref(status))
        if self._batch_serializers() is not None:
            responses["422"] = self._batch_failed_response_ref()
        if self._exports() and "200" in responses:
            content = responses["200"].setdefault("content", {})
            content[CSV_MEDIA_TYPE] = {"schema": {"type": "string"}}
            content[XLSX_MEDIA_TYPE] = {"schema": {"type": "string", "format": "binary"}}
            responses["200"]["headers"]["Content-Disposition"] = {
                "description": 'With `format=csv` or `xlsx`: `attachment; filename="<list>-<YYYY-MM-DD>.<format>"`.',
                "required": False,
                "schema": {"type": "string"},
            }
        return responses

    def _exports(self) -> bool:
        """A list that can be exported (crm.api.exports)."""
        return getattr(self.view, "action", None) == "list" and isinstance(self.view, ExportableListMixin)

    def _problem_statuses(self) -> set[int]:
        from rest_framework_simplejwt.views import TokenViewBase

        statuses: set[int] = set()
        has_body = self.method in ("POST", "PUT", "PATCH") and self.get_request_serializer() is not None
        statuses |= {429, 503}  # every operation is rate limited (crm/rate_limits.py)
        if has_body:
            statuses |= {413, 415}
        # Bodies are validated, and a generic view's query parameters too (unknown ones are a 400).
        if has_body or isinstance(self.view, GenericAPIView) or self.method != "GET":
            statuses.add(400)
        if isinstance(self.view, TokenViewBase):
            statuses.add(401)
        elif self.get_auth():
            statuses |= {401, 403}
        if "{" in self.path:
            statuses.add(404)
        # Views that answer more (sign-in and the password change: 429) say so.
        statuses |= set(getattr(self.view, "problem_statuses", ()))
        if self._idempotent():
            statuses |= {409, 422}
        resource = _resource(self.view)
        if resource is not None:
            action = getattr(self.view, "action", None)
            if action in resource.locking_actions:
                statuses.add(412)
            if action == "destroy" and resource.delete_can_conflict:
                statuses.add(409)
        return statuses

    def _header_ref(self, name: str) -> dict[str, str]:
        component = ResolvedComponent(
            name=name, type=ResolvedComponent.HEADER, schema=HEADERS[name], object=f"header:{name}"
        )
        self.registry.register_on_missing(component)
        return dict(component.ref)

    def _problem_response_ref(self, status: int) -> dict[str, str]:
        name, problem, description, extra_headers = PROBLEM_RESPONSES[status]
        schema = self._problem_schema_ref(problem)
        headers = {
            HEADER_NAMES[h]: self._header_ref(h) for h in ("XRequestId", *RATE_LIMIT_HEADERS, *extra_headers)
        }
        component = ResolvedComponent(
            name=name,
            type=ResolvedComponent.RESPONSE,
            schema={
                "description": description,
                "headers": dict(sorted(headers.items())),
                "content": {PROBLEM_CONTENT_TYPE: {"schema": schema}},
            },
            object=f"response:{name}",
        )
        self.registry.register_on_missing(component)
        return dict(component.ref)

    def _batch_failed_response_ref(self) -> dict[str, str]:
        from crm.api.batch import BatchFailureSerializer

        name, problem_name, description = BATCH_FAILED
        failure = self.resolve_serializer(BatchFailureSerializer, "response").ref
        problem = ResolvedComponent(
            name=problem_name,
            type=ResolvedComponent.SCHEMA,
            schema={
                "description": "A problem (422) about a batch: each failing operation's own problem.",
                "allOf": [
                    self.resolve_serializer(ProblemSerializer, "response").ref,
                    {
                        "type": "object",
                        "properties": {
                            "failed": {
                                "type": "array",
                                "items": failure,
                                "description": "Each failing operation, in order (`code` `batch_failed`).",
                            }
                        },
                    },
                ],
            },
            object=f"problem:{problem_name}",
        )
        self.registry.register_on_missing(problem)
        component = ResolvedComponent(
            name=name,
            type=ResolvedComponent.RESPONSE,
            schema={
                "description": description,
                "headers": {"X-Request-ID": self._header_ref("XRequestId")},
                "content": {PROBLEM_CONTENT_TYPE: {"schema": dict(problem.ref)}},
            },
            object=f"response:{name}",
        )
        self.registry.register_on_missing(component)
        return dict(component.ref)

    def _problem_schema_ref(self, name: str) -> dict[str, str]:
        problem = self.resolve_serializer(ProblemSerializer, "response").ref
        if name == "Problem":
            return dict(problem)
        description, members = PROBLEM_EXTENSIONS[name]
        component = ResolvedComponent(
            name=name,
            type=ResolvedComponent.SCHEMA,
            schema={
                "description": description,
                "allOf": [
                    problem,
                    {"type": "object", "properties": members}
                    | ({} if name in OPTIONAL_PROBLEM_MEMBERS else {"required": sorted(members)}),
                ],
            },
            object=f"problem:{name}",
        )
        self.registry.register_on_missing(component)
        return dict(component.ref)

    # --- serializers ----------------------------------------------------------------------------------

    def _map_basic_serializer(self, serializer: Any, direction: Any) -> dict[str, Any]:
        schema: dict[str, Any] = super()._map_basic_serializer(serializer, direction)
        serializer = force_instance(serializer)
        # A component says what its own class's docstring says, not what a base class is for.
        if not has_override(serializer, "description"):
            own_doc = vars(type(serializer)).get("__doc__")
            if own_doc:
                schema["description"] = get_doc(type(serializer))
            else:
                schema.pop("description", None)
        if getattr(serializer, "closed", False):  # crm.api.batch.ClosedSerializer's rule: no other keys
            schema["additionalProperties"] = False
        if direction != "response":
            return schema
        properties = schema.get("properties", {})
        # A model's representation always has every readable field: none is optional in a response.
        if isinstance(serializer, serializers.ModelSerializer) and properties:
            schema["required"] = sorted(properties)
        if isinstance(serializer, TenantModelSerializer):
            for name, summary in sorted(serializer.expandable.items()):
                if name in properties:
                    properties[name] = self._expandable_schema(name, properties[name], summary())
        return schema

    def _expandable_schema(
        self, name: str, schema: dict[str, Any], summary: type[serializers.Serializer]
    ) -> dict[str, Any]:
        """A foreign key is its id, or with `?expand=<name>` the related object's summary."""
        noun = str(summary.Meta.model._meta.verbose_name)  # type: ignore[attr-defined]
        identifier = {key: schema[key] for key in ("type", "format") if key in schema}
        described = schema.get("description", "")
        expanded: dict[str, Any] = {
            "oneOf": [identifier, self.resolve_serializer(summary, "response").ref],
            "description": (f"{described} " if described else "")
            + f"The {noun}'s id; with `?expand={name}`, the {noun} itself.",
        }
        for key in ("readOnly", "nullable"):
            if schema.get(key):
                expanded[key] = True
        return expanded


# --- decimals -------------------------------------------------------------------------------------


class DecimalFieldExtension(OpenApiSerializerFieldExtension):
    """A decimal is returned as a string (no client's float rounds it) and taken as a string or a JSON
    number: the parser reads a number from its own digits (crm.api.parsers), so `0.1` stays 0.1."""

    target_class = "rest_framework.fields.DecimalField"
    match_subclasses = True

    def map_serializer_field(self, auto_schema: Any, direction: Any) -> dict[str, Any]:
        text: dict[str, Any] = auto_schema._map_serializer_field(
            self.target, direction, bypass_extensions=True
        )
        if direction != "request":
            return text
        field: serializers.DecimalField = self.target
        places = field.decimal_places or 0
        largest = float(f"{'9' * ((field.max_digits or 15) - places)}.{'9' * places}")
        number: dict[str, Any] = {
            "type": "number",
            "minimum": float(field.min_value) if field.min_value is not None else -largest,
            "maximum": float(field.max_value) if field.max_value is not None else largest,
        }
        places_said = f"at most {places} decimal place{'' if places == 1 else 's'}"
        schema: dict[str, Any] = {
            "oneOf": [text, number],
            "description": f'A decimal, {places_said}: a string (`"12.50"`) or a JSON number (`12.5`), '
            "read exactly from its digits. Returned as a string.",
        }
        if text.pop("nullable", False):
            schema["nullable"] = True
        return schema


class CrmDjangoFilterExtension(DjangoFilterExtension):
    """django-filter parameters, with id filters as integers (drf-spectacular sees a foreign key: number)."""

    priority = 1

    def resolve_filter_field(
        self, auto_schema: Any, model: Any, filterset_class: Any, field_name: str, filter_field: Any
    ) -> list[dict[str, Any]]:
        parameters: list[dict[str, Any]] = super().resolve_filter_field(
            auto_schema, model, filterset_class, field_name, filter_field
        )
        if isinstance(filter_field, IdFilter):
            for parameter in parameters:
                parameter["schema"] = {"type": "integer"}
        if isinstance(filter_field, django_filters.MultipleChoiceFilter):
            for parameter in parameters:
                # Repeated is what generated clients send (style form, explode); commas work too.
                rule = (
                    f"Any of several values: repeat the parameter (`?{field_name}=a&{field_name}=b`) or "
                    f"separate them with commas (`?{field_name}=a,b`)."
                )
                said = parameter.get("description", "")
                parameter["description"] = f"{rule}\n\n{said}" if said else rule
        return parameters


# Parameters whose enums are their own (relation and field names), not a model's choices.
_OWN_ENUM_PARAMETERS = frozenset({"expand", "ordering"})


_SAME_LABEL_CHOICE = re.compile(r"^\* `(.+)` - \1$")


def _without_same_label_choices(description: str) -> str:
    """A property's description without drf-spectacular's list of its choices when each choice's label is
    its value (`* `America/Chicago` - America/Chicago`): the enum component already lists them, and for
    the time zones that list was 600 lines in every property that takes one."""
    lines = description.split("\n")
    bullets = [line for line in lines if line.startswith("* `")]
    if not bullets or not all(_SAME_LABEL_CHOICE.match(line) for line in bullets):
        return description
    return "\n".join(line for line in lines if not line.startswith("* `")).strip()


def postprocess_schema(result: dict[str, Any], generator: Any, request: Any, public: bool) -> dict[str, Any]:
    """Filter parameters name the enum component of their choices (`StageEnum`) instead of repeating it;
    properties do not repeat choices whose labels are their values."""
    components = result.get("components", {}).get("schemas", {})
    for component in components.values():
        for prop in component.get("properties", {}).values():
            if isinstance(prop.get("description"), str):
                stripped = _without_same_label_choices(prop["description"])
                if stripped:
                    prop["description"] = stripped
                else:
                    del prop["description"]
    by_values: dict[frozenset[str], list[str]] = {}
    for name, component in components.items():
        if component.get("type") == "string" and component.get("enum"):
            by_values.setdefault(frozenset(component["enum"]), []).append(name)
    for path_item in result.get("paths", {}).values():
        for operation in path_item.values():
            for parameter in operation.get("parameters", []):
                if parameter.get("name") in _OWN_ENUM_PARAMETERS or "schema" not in parameter:
                    continue
                schema = parameter["schema"]
                holder, key = (schema, "items") if schema.get("type") == "array" else (parameter, "schema")
                target = holder[key]
                names = by_values.get(frozenset(target.get("enum") or ()), [])
                if len(names) == 1:
                    holder[key] = {"$ref": f"#/components/schemas/{names[0]}"}
    return result
