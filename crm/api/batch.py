"""Batch writes: up to 100 creates, updates and deletes of one resource in one request and one transaction
(`POST /api/v1/<resource>/batch/`). Why it is built this way: ADR 0020.

Each operation is applied as its own request would be (the same serializer, validation, If-Match, soft
delete, row level security and history, by the viewset's own `save_new`, `save_changes` and `soft_delete`),
in order, in the request's transaction. What a batch shares instead of repeating per operation: the
request (authentication, the RLS context, the transaction and its commit), one locking read of every row it
updates or deletes, one read per foreign key of every row its bodies name, and one read of the rows it
wrote for the answer.

Atomic (the default): every operation is tried, so the answer names every one that fails, and if any
does, nothing is written (a 422 problem). `"atomic": false`: each operation in a savepoint of its own;
those that succeed are written, and the answer (200) gives each one's outcome. A database refusal (a
unique name, a CHECK, a policy) aborts the transaction: an atomic batch is then run again with a savepoint
per operation, so that the others are still tried and reported. Savepoints cost two statements each; a
batch that goes through pays for one, its own.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, cast

from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import DatabaseError, InterfaceError, OperationalError, transaction
from django.db.models import Model
from django.http import Http404
from drf_spectacular.utils import PolymorphicProxySerializer, extend_schema_field
from rest_framework import serializers, status
from rest_framework.decorators import action
from rest_framework.exceptions import APIException, ErrorDetail, NotFound, ValidationError
from rest_framework.request import Request
from rest_framework.response import Response

from crm.api.limits import MAX_ID
from crm.api.problems import problem_for, stale_prepared_statement
from crm.api.schema import ProblemFieldErrorSerializer
from crm.api.serializers import ReferenceField, StrictJSONTypes, TenantModelSerializer
from crm.records import etag_of, record_check_version

if TYPE_CHECKING:
    from crm.api.viewsets import TenantModelViewSet

MAX_OPERATIONS = 100
CREATE, UPDATE, DELETE = "create", "update", "delete"
OPERATIONS = (CREATE, UPDATE, DELETE)
# What an If-Match header may hold (RFC 9110 §13.1.1): `*`, or entity-tags (`"3"`, `W/"3"`) separated by
# commas, spaces and tabs around them. The schema gives the same pattern: ASCII classes only, which Python
# and ECMAScript read alike (their `\s` differ), matched whole (Python's `$` also matches before a "\n").
ENTITY_TAGS = re.compile(r'^[ \t]*(\*|(W/)?"[^"]*"([ \t]*,[ \t]*(W/)?"[^"]*")*)[ \t]*$')
ENTITY_TAGS_PATTERN = ENTITY_TAGS.pattern
MAX_IF_MATCH_LENGTH = 1024


def _error(message: str, code: str) -> list[ErrorDetail]:
    return [ErrorDetail(message, code=code)]


class ClosedSerializer(StrictJSONTypes):
    """Refuses keys it does not know (400 naming each): a misspelt `if_match` must not become a write
    without its precondition, nor a misspelt `atomic` a batch that commits half of itself."""

    def to_internal_value(self, data: Any) -> Any:
        if isinstance(data, Mapping):
            unknown = sorted(str(key) for key in data if key not in self.fields)
            if unknown:
                raise ValidationError({key: _error("Unknown key.", "unknown") for key in unknown})
        return super().to_internal_value(data)


class BatchOperationSerializer(ClosedSerializer):
    """One operation of a batch, as the service reads it (the schema has one component per kind)."""

    op = serializers.ChoiceField(choices=OPERATIONS)
    id = serializers.IntegerField(required=False, min_value=1, max_value=MAX_ID)
    if_match = serializers.CharField(required=False, max_length=MAX_IF_MATCH_LENGTH, trim_whitespace=False)
    data = serializers.DictField(required=False)  # type: ignore[assignment]

    def validate_if_match(self, value: str) -> str:
        if not ENTITY_TAGS.fullmatch(value):
            raise ValidationError(
                'An If-Match value: `*`, or the ETag you read (`"3"`), several separated by commas.',
                code="invalid",
            )
        return value

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        op = attrs["op"]
        errors: dict[str, list[ErrorDetail]] = {}
        if op == CREATE:
            for name in ("id", "if_match"):
                if name in attrs:
                    errors[name] = _error(f"A create takes no {name}.", "not_allowed")
        elif "id" not in attrs:
            errors["id"] = _error(f"An {op} names its record.", "required")
        if op == DELETE and "data" in attrs:
            errors["data"] = _error("A delete takes no data.", "not_allowed")
        elif op != DELETE and "data" not in attrs:
            errors["data"] = _error(
                f"A{'n' if op == UPDATE else ''} {op} takes its fields in data.", "required"
            )
        if errors:
            raise ValidationError(errors)
        return attrs


class BatchSerializer(ClosedSerializer):
    operations = serializers.ListField(
        child=BatchOperationSerializer(),
        min_length=1,
        max_length=MAX_OPERATIONS,
        error_messages={
            "max_length": f"A batch holds at most {MAX_OPERATIONS} operations; send the rest in another.",
            "min_length": "A batch holds at least one operation.",
        },
    )
    atomic = serializers.BooleanField(default=True)

    def validate_operations(self, operations: list[dict[str, Any]]) -> list[dict[str, Any]]:
        first: dict[int, int] = {}
        errors: dict[int, dict[str, list[ErrorDetail]]] = {}
        for index, operation in enumerate(operations):
            pk = operation.get("id")
            if pk is None:
                continue
            if pk in first:
                message = f"Operation {first[pk]} names this record already: one operation per record."
                errors[index] = {"id": _error(message, "duplicate")}
            else:
                first[pk] = index
        if errors:
            raise ValidationError(cast(Any, errors))  # by index: `operations.3.id`
        return operations


# --- running a batch ---------------------------------------------------------------------------------


@dataclass
class Outcome:
    """What became of one operation: its status as its own request would have had it, the record's id,
    and for a failure the problem that request would have answered (its fields named within the batch)."""

    index: int
    status: int
    id: int | None = None
    problem: dict[str, Any] | None = None
    data: Any = None
    location: str | None = None

    @property
    def failed(self) -> bool:
        return self.problem is not None

    def result(self) -> dict[str, Any]:
        version = self.data.get("version") if isinstance(self.data, dict) else None
        return {
            "index": self.index,
            "status": self.status,
            "id": self.id,
            "etag": etag_of(version) if version is not None else None,
            "location": self.location,
            "data": self.data,
            "problem": self.problem,
        }


class BatchFailed(APIException):
    """422: an atomic batch in which an operation failed; nothing was written."""

    status_code = status.HTTP_422_UNPROCESSABLE_ENTITY
    default_code = "batch_failed"
    problem_title = "Unprocessable Content"  # RFC 9110's name, as the Idempotency-Key's 422 says it

    def __init__(self, failed: list[Outcome], total: int) -> None:
        super().__init__(
            f"{len(failed)} of {total} operation{'s' if total != 1 else ''} failed; nothing was written. "
            "`failed` gives each one's problem, `errors` each field at fault."
        )
        self.problem_extra = {
            "errors": [error for outcome in failed for error in (outcome.problem or {}).get("errors", [])],
            "failed": [{"index": outcome.index, **(outcome.problem or {})} for outcome in failed],
        }


class _Refused(Exception):
    """The database refused an operation of a batch run without savepoints: the transaction is aborted
    up to the batch's savepoint, and the batch must run again, with a savepoint per operation."""


# The field an operation's problem names when its own request's problem names none, by status.
_FIELD_AT_FAULT = {404: "id", 412: "if_match"}
# Its code when that problem has none (a write a row level security policy refused: a 403 of the database's).
_CODE_OF_STATUS = {403: "permission_denied", 404: "not_found", 409: "conflict", 412: "precondition_failed"}


class _Run:
    """One attempt at a batch, in a savepoint of its own."""

    def __init__(self, view: TenantModelViewSet, operations: list[dict[str, Any]], savepoints: bool) -> None:
        self.view = view
        self.operations = operations
        self.savepoints = savepoints
        self.serializer_class = cast(type[TenantModelSerializer], view.get_serializer_class())
        self.model: type[Model] = self.serializer_class.Meta.model
        self.references: dict[str, dict[Any, Any]] = {}
        self.context = {**view.get_serializer_context(), "references": self.references}
        self.rows: dict[int, Any] = {}
        self._own_references: list[str] = []  # fields naming rows of the batch's own table
        # One serializer for the creates and one for the updates, as a ListSerializer has one child for
        # all its items: building a ModelSerializer's fields costs more than validating a body with them.
        self.creator = self.serializer_class(context=self.context)
        self.updater = self.serializer_class(context=self.context, partial=True)

    def apply(self) -> list[Outcome]:
        self._read_rows()
        self._read_references()
        return [self._one(index, operation) for index, operation in enumerate(self.operations)]

    def _read_rows(self) -> None:
        """Every row the batch updates or deletes, in one query, locked (as a single write locks its row),
        in id order (two batches lock their common rows in the same order: no deadlock). A row this user
        cannot see (another firm's, outside the book, deleted) is simply not found."""
        ids = [operation["id"] for operation in self.operations if operation["op"] != CREATE]
        if ids:
            rows = self.view.scope(self.model._default_manager.all()).filter(pk__in=ids)
            self.rows = {row.pk: row for row in rows.select_for_update(of=("self",)).order_by("pk")}

    def _read_references(self) -> None:
        """The rows the bodies' foreign keys name, one query per field, with the field's own queryset (what
        this user may point at); ids not found are left to the field, which answers as it always does."""
        fields = self.creator.fields
        for name, field in fields.items():
            if not isinstance(field, ReferenceField) or field.read_only:
                continue
            ids = {
                value
                for operation in self.operations
                if operation["op"] != DELETE
                for value in (operation["data"].get(name),)
                if type(value) is int and 0 < value <= MAX_ID
            }
            if ids:
                queryset = field.get_queryset()
                assert queryset is not None
                self.references[name] = queryset.in_bulk(ids)
                if queryset.model is self.model:
                    self._own_references.append(name)

    def _forget(self, pk: Any) -> None:
        """A row the batch writes may no longer be a valid reference (deleted): later operations look it up."""
        for name in self._own_references:
            self.references[name].pop(pk, None)

    def _one(self, index: int, operation: dict[str, Any]) -> Outcome:
        try:
            if self.savepoints:
                with transaction.atomic():
                    return self._apply(index, operation)
            return self._apply(index, operation)
        except (OperationalError, InterfaceError):
            raise  # the database is unreachable: the whole request is a 503
        except DatabaseError as exc:
            if stale_prepared_statement(exc):
                raise
            if not self.savepoints:
                raise _Refused from exc
            return self._failed(index, operation, exc)
        except (APIException, Http404, DjangoValidationError, DjangoPermissionDenied) as exc:
            return self._failed(index, operation, exc)

    def _apply(self, index: int, operation: dict[str, Any]) -> Outcome:
        view, op = self.view, operation["op"]
        if op == CREATE:
            serializer = _fresh(self.creator, None, operation["data"])
            if not serializer.is_valid():
                raise ValidationError(cast(Any, serializer.errors))
            view.save_new(serializer)
            assert isinstance(serializer.instance, Model)
            return Outcome(index, status.HTTP_201_CREATED, serializer.instance.pk)
        row = self.rows.get(operation["id"])
        if row is None:
            raise NotFound()
        view.check_object_permissions(view.request, row)
        record_check_version(instance=row, if_match=operation.get("if_match"))
        self._forget(row.pk)
        if op == UPDATE:
            serializer = _fresh(self.updater, row, operation["data"])
            if not serializer.is_valid():
                raise ValidationError(cast(Any, serializer.errors))
            view.save_changes(serializer)
            return Outcome(index, status.HTTP_200_OK, row.pk)
        view.soft_delete(row, cascade=False)
        return Outcome(index, status.HTTP_204_NO_CONTENT, row.pk)

    def _failed(self, index: int, operation: dict[str, Any], exc: Exception) -> Outcome:
        """The operation's outcome: the problem its own request would have got, its fields named within
        the batch (`operations.3.data.name`, `operations.3.if_match`)."""
        response = problem_for(exc, {"request": self.view.request, "view": self.view})
        if response is None or response.status_code >= 500:
            raise exc  # not the client's mistake: the whole request fails, as that request would have
        problem = dict(response.data)
        place = f"operations.{index}"
        if response.status_code == status.HTTP_400_BAD_REQUEST:
            errors = [
                {**error, "field": f"{place}.data.{error['field']}" if error["field"] else f"{place}.data"}
                for error in problem.get("errors") or []
            ]
        else:
            at_fault = _FIELD_AT_FAULT.get(response.status_code)
            code = problem.get("code") or _CODE_OF_STATUS.get(response.status_code, "invalid")
            errors = [
                {
                    "field": f"{place}.{at_fault}" if at_fault else place,
                    "code": str(code),
                    "detail": str(problem["detail"]),
                }
            ]
        problem["errors"] = errors
        return Outcome(index, response.status_code, problem=problem)


def _fresh(serializer: TenantModelSerializer, instance: Any, data: Any) -> TenantModelSerializer:
    """`serializer` as if just made with `instance` and `data`: what validation and saving left on it
    goes (DRF keeps them in these attributes), its bound fields stay."""
    for kept in ("_validated_data", "_errors", "_data"):
        serializer.__dict__.pop(kept, None)
    serializer.instance = instance
    serializer.initial_data = data
    return serializer


def run_batch(view: TenantModelViewSet, operations: list[dict[str, Any]], *, atomic: bool) -> list[Outcome]:
    """Apply `operations` in order; atomic: all or none. The outcomes, in order, the records' bodies in."""
    if atomic:
        try:
            return _attempt(view, operations, savepoints=False, atomic=True)
        except _Refused:
            pass  # rolled back to the batch's savepoint: again, each operation in its own
    return _attempt(view, operations, savepoints=True, atomic=atomic)


def _attempt(
    view: TenantModelViewSet, operations: list[dict[str, Any]], *, savepoints: bool, atomic: bool
) -> list[Outcome]:
    with transaction.atomic():
        outcomes = _Run(view, operations, savepoints).apply()
        if atomic and any(outcome.failed for outcome in outcomes):
            transaction.set_rollback(True)
            return outcomes
    written = [o.id for o in outcomes if o.status in (status.HTTP_200_OK, status.HTTP_201_CREATED)]
    bodies = view.representations_of(written) if written else {}
    for outcome in outcomes:
        if outcome.status in (status.HTTP_200_OK, status.HTTP_201_CREATED):
            outcome.data = bodies.get(outcome.id)
        if outcome.status == status.HTTP_201_CREATED:
            outcome.location = view.location_of(outcome.id)
    return outcomes


class BatchWriteMixin:
    """`POST <resource>/batch/` for a TenantModelViewSet: many creates, updates and deletes at once."""

    @action(detail=False, methods=["post"], url_path="batch")
    def batch(self, request: Request) -> Response:
        """Create, change and delete up to 100 records in one request and one transaction.

        Each operation is applied in order as its own request would be (`create` as a POST, `update` as a
        PATCH, `delete` as a DELETE without `cascade`), with `if_match` as its If-Match. Atomic by default:
        if any operation fails, nothing is written and the answer is a 422 problem whose `failed` gives
        each failing operation's problem and whose `errors` name each field at fault
        (`operations.3.data.name`). With `"atomic": false` each operation stands alone: the answer is a
        200 whose `results` give each one's outcome, failures included.
        """
        view = cast("TenantModelViewSet", self)
        envelope = BatchSerializer(data=request.data)
        envelope.is_valid(raise_exception=True)
        operations: list[dict[str, Any]] = envelope.validated_data["operations"]
        atomic: bool = envelope.validated_data["atomic"]
        view.requested_expansions()  # an unknown ?expand= is a 400 before anything is written
        outcomes = run_batch(view, operations, atomic=atomic)
        failed = [outcome for outcome in outcomes if outcome.failed]
        if atomic and failed:
            raise BatchFailed(failed, len(outcomes))
        return Response({"results": [outcome.result() for outcome in outcomes]})


# --- the schema: one request and one result component per resource ---------------------------------------


# Field classes, not instances, carry the schema: DRF copies a serializer's declared fields from their
# arguments when it binds them, and anything set on an instance is lost.
@functools.cache
def _constant(value: str) -> type[serializers.CharField]:
    return extend_schema_field({"type": "string", "enum": [value], "description": f"`{value}`"})(
        type(f"{value.title()}OpField", (serializers.CharField,), {})
    )


@extend_schema_field(
    {
        "type": "string",
        "maxLength": MAX_IF_MATCH_LENGTH,
        "pattern": ENTITY_TAGS_PATTERN,
        "description": 'The record\'s ETag as you read it (`"3"`; several comma-separated, or `*`): if the '
        "record has another version now, the operation fails with 412. Without it the last write wins.",
    }
)
class IfMatchField(serializers.CharField):
    pass


class BatchDeleteSerializer(serializers.Serializer):
    """Delete a record (soft), as `DELETE` does without `cascade`."""

    op = _constant(DELETE)()
    id = serializers.IntegerField(min_value=1, max_value=MAX_ID)
    if_match = IfMatchField(required=False)
    closed = True


class BatchProblemSerializer(serializers.Serializer):
    """The problem an operation's own request would have answered; `errors` name its fields within the
    batch (`operations.3.data.name`)."""

    type = serializers.CharField()
    title = serializers.CharField()
    status = serializers.IntegerField()
    detail = serializers.CharField()
    code = serializers.CharField(required=False)
    errors = ProblemFieldErrorSerializer(many=True)  # type: ignore[assignment]
    current_version = serializers.IntegerField(required=False, help_text="A 412's: the record's version now.")
    dependents = serializers.DictField(
        child=serializers.IntegerField(), required=False, help_text="A 409's: the live dependents by kind."
    )


class BatchFailureSerializer(BatchProblemSerializer):
    """A failed operation of an atomic batch: its place and the problem its own request would have had."""

    index = serializers.IntegerField(help_text="The operation's place in `operations`, from 0.")


def _serializer(name: str, doc: str, fields: dict[str, Any]) -> type[serializers.Serializer]:
    return type(name, (serializers.Serializer,), {"__doc__": doc, "closed": True, **fields})


@functools.cache
def batch_schema_serializers(
    serializer_class: type[TenantModelSerializer],
) -> tuple[type[serializers.Serializer], type[serializers.Serializer]]:
    """(request body, response body) of the batch of `serializer_class`'s resource, for the schema only: the
    service reads the body with BatchSerializer and the resource's own serializer."""
    name = serializer_class.__name__.removesuffix("Serializer")
    meta = cast(Any, serializer_class.Meta.model)._meta
    noun, plural = str(meta.verbose_name), str(meta.verbose_name_plural)
    create = _serializer(
        f"{name}BatchCreateSerializer",
        f"Add a{'n' if noun[:1] in 'aeiou' else ''} {noun}: `data` is the body a POST takes.",
        {"op": _constant(CREATE)(), "data": serializer_class()},
    )
    update = _serializer(
        f"{name}BatchUpdateSerializer",
        f"Change a{'n' if noun[:1] in 'aeiou' else ''} {noun}: `data` holds the fields to change, as a PATCH "
        "takes them.",
        {
            "op": _constant(UPDATE)(),
            "id": serializers.IntegerField(min_value=1, max_value=MAX_ID),
            "if_match": IfMatchField(required=False),
            "data": serializer_class(partial=True),
        },
    )
    operation = PolymorphicProxySerializer(
        component_name=f"{name}BatchOperation",
        serializers={CREATE: create, UPDATE: update, DELETE: BatchDeleteSerializer},
        resource_type_field_name="op",
    )
    request = _serializer(
        f"{name}BatchSerializer",
        f"Up to {MAX_OPERATIONS} operations on {plural}, applied in order.",
        {
            "operations": serializers.ListField(
                child=operation,
                min_length=1,
                max_length=MAX_OPERATIONS,
                help_text="Applied in order. One operation per record: an `id` appears at most once.",
            ),
            "atomic": serializers.BooleanField(
                default=True,
                help_text="All or nothing (the default): if any operation fails, nothing is written (422). "
                "`false`: each operation stands alone, and the answer gives each one's outcome.",
            ),
        },
    )
    result = _serializer(
        f"{name}BatchResultSerializer",
        "One operation's outcome.",
        {
            "index": serializers.IntegerField(help_text="The operation's place in `operations`, from 0."),
            "status": serializers.IntegerField(
                help_text="What the operation's own request would have answered: 201 created, 200 changed, "
                "204 deleted; 400, 403, 404, 409 or 412 when it failed (`atomic: false` only)."
            ),
            "id": serializers.IntegerField(
                allow_null=True, help_text="The record's id; null when the operation failed."
            ),
            "etag": serializers.CharField(
                allow_null=True, help_text='The record\'s ETag now (`"<version>"`), for a later If-Match.'
            ),
            "location": serializers.URLField(allow_null=True, help_text="A created record's absolute URL."),
            "data": serializer_class(
                allow_null=True, help_text="The record as a GET answers it, after the write."
            ),
            "problem": BatchProblemSerializer(allow_null=True, help_text="Why the operation failed."),
        },
    )
    response = _serializer(
        f"{name}BatchResultsSerializer",
        "Each operation's outcome, in the order sent.",
        {"results": result(many=True)},
    )
    return request, response
