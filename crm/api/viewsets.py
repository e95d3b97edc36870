"""The viewset every business resource builds on: selector for reads, RLS-scoped writes, soft delete."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from functools import partial
from typing import Any, cast

import orjson
from django.core.exceptions import MultipleObjectsReturned
from django.db import transaction
from django.db.models import Model, QuerySet
from django.http import Http404, StreamingHttpResponse
from django.utils import timezone
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import mixins, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import ValidationError
from rest_framework.generics import get_object_or_404
from rest_framework.permissions import BasePermission
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.serializers import BaseSerializer

from crm.api import exports, reads, sql_json
from crm.api.fast import ReadPlan, read_plan
from crm.api.filtering import query_flag
from crm.api.filters import ordering_of
from crm.api.pagination import CursorPagination
from crm.api.renderers import ORJSONRenderer
from crm.api.serializers import HistoryEntrySerializer, TenantModelSerializer
from crm.models import HistoryEntry, TenantModel
from crm.postgresql.base import prepared
from crm.records import Conflict, etag_of, record_check_version, record_restore, record_soft_delete
from crm.rls import RequestContext, context_of


def _json_array(rows: Any) -> orjson.Fragment:
    """Rows read with ReadPlan.json_rows() as one JSON array, for the renderer to embed as it is."""
    return orjson.Fragment("[" + ",".join(row.crm_json for row in rows) + "]")


# Actions that write one row: they lock it (SELECT … FOR UPDATE) and honour If-Match.
LOCKING_ACTIONS = frozenset({"update", "partial_update", "destroy", "restore", "change_stage", "merge"})
# Actions that also reach soft-deleted rows.
DELETED_ROW_ACTIONS = frozenset({"restore", "history"})


class LocatedCreateMixin(mixins.CreateModelMixin):
    """A 201 from a create names the new record's absolute URL in `Location` (RFC 9110 §15.3.2), so a
    client follows it rather than building the URL itself. DRF's own header is only for serializers with a
    `url` field, which ours have not."""

    def get_success_headers(self, data: Any) -> dict[str, str]:
        return {"Location": self.location_of(data["id"])}

    def location_of(self, pk: Any) -> str:
        """The absolute URL of the record with this id (a create's `Location`, a batch's `location`)."""
        view = cast(viewsets.GenericViewSet, self)
        lookup = view.lookup_url_kwarg or view.lookup_field
        return view.reverse_action("detail", kwargs={lookup: pk})


class TenantModelViewSet(exports.ExportableListMixin, LocatedCreateMixin, viewsets.ModelViewSet):
    """CRUD over one tenant table.

    Reads: `scope()` (the firm's live rows) plus whatever `?expand=` asks for, represented by the
    serializer compiled into a read plan (crm.api.fast) or, when it cannot be, by DRF; PostgreSQL's
    policies decide which rows exist for this user. Writes: the tenant comes from the request's context,
    never from the body; the database checks the rest.
    """

    serializer_class: type[TenantModelSerializer]
    searchable = False
    ordering_fields: tuple[str, ...] = ("id", "created_at", "updated_at")
    http_method_names = ["get", "post", "patch", "put", "delete", "head", "options"]

    @property
    def crm(self) -> RequestContext:
        # Schema generation builds views without going through the middleware: nobody, no rows.
        return context_of(self.request)

    @reads.firm_only
    def scope_conditions(self) -> dict[str, Any]:
        """The filter() conditions of this action's rows: the request's firm, live ones (any, for restore
        and history)."""
        conditions: dict[str, Any] = {"tenant_id": self.crm.tenant_id}
        if getattr(self, "action", None) not in DELETED_ROW_ACTIONS:
            conditions["deleted_at__isnull"] = True
        return conditions

    def scope(self, queryset: QuerySet[Any]) -> QuerySet[Any]:
        """This action's rows of `queryset` (scope_conditions), locked (SELECT … FOR UPDATE) for the
        actions that write one."""
        queryset = queryset.filter(**self.scope_conditions())
        if getattr(self, "action", None) in LOCKING_ACTIONS:
            queryset = queryset.select_for_update(of=("self",))
        return queryset

    def requested_expansions(self) -> tuple[str, ...]:
        # Asked for by the queryset, the serializer context and the read plan: parsed once a request.
        cached: tuple[str, ...] | None = getattr(self, "_expansions", None)
        if cached is None:
            cached = self._expansions = self._parse_expansions()
        return cached

    def _parse_expansions(self) -> tuple[str, ...]:
        raw = self.request.query_params.get("expand", "") if self.request else ""
        names = tuple(dict.fromkeys(n.strip() for n in raw.split(",") if n.strip()))
        allowed = self.serializer_class.expandable
        unknown = [n for n in names if n not in allowed]
        if unknown:
            raise ValidationError(
                {
                    "expand": [
                        f"Cannot expand {', '.join(unknown)}. Allowed: {', '.join(sorted(allowed)) or 'none'}."
                    ]
                }
            )
        return names

    def get_queryset(self) -> QuerySet[Any]:
        model: type[Model] = self.serializer_class.Meta.model
        queryset = self.scope(model._default_manager.all())
        expansions = self.requested_expansions()
        if expansions:
            queryset = queryset.select_related(*expansions)
        return queryset

    # --- reads: the compiled representation (crm.api.fast) ----------------------------------------

    def read_plan(self) -> ReadPlan | None:
        """The serializer compiled for this request's expansions, or None to serialize with DRF.

        Not for views that change how rows are read (their own get_queryset) or checked (object
        permissions look at model instances); the plan reads named rows, not instances.
        """
        serializer_class = self.get_serializer_class()
        if (
            not issubclass(serializer_class, TenantModelSerializer)
            or type(self).get_queryset is not TenantModelViewSet.get_queryset
            or any(
                type(permission).has_object_permission is not BasePermission.has_object_permission
                for permission in self.get_permissions()
            )
        ):
            return None
        # The ordering columns travel with the rows: the cursor is made of them.
        ordering = dict.fromkeys(
            name.lstrip("-")
            for name in (*(getattr(self, "ordering", None) or ()), *self.ordering_fields, "id")
        )
        return read_plan(serializer_class, self.requested_expansions(), tuple(ordering))

    def sql_json_possible(self, plan: ReadPlan) -> bool:
        """Whether rows can be read as JSON written by PostgreSQL (crm.api.sql_json): the plan has it,
        the view scopes its rows as json_rows does, and the current time zone is UTC. A JSON list also
        needs its renderer's conditions (writes_sql_json); an export writes its file itself."""
        return (
            plan.has_json
            and type(self).scope is TenantModelViewSet.scope  # json_rows applies scope_conditions itself
            and sql_json.usable_now()
        )

    def writes_sql_json(self, plan: ReadPlan) -> bool:
        """Whether this response's rows come as JSON written by PostgreSQL: possible (sql_json_possible),
        and the body is rendered by orjson as it is (not the browsable API, not indented), the renderer
        that embeds the rows' text."""
        renderer = getattr(self.request, "accepted_renderer", None)
        return (
            self.sql_json_possible(plan)
            and type(renderer) is ORJSONRenderer
            and renderer.compact
            and not renderer.ensure_ascii
            and renderer.get_indent(self.request.accepted_media_type or "", {}) is None
        )

    def list(self, request: Request, *args: Any, **kwargs: Any) -> Any:
        if exports.wanted(request):
            return self.export(request)
        with prepared():  # a page's plan does not rest on its values: planned once per connection
            return self._list(request, *args, **kwargs)

    def export(self, request: Request) -> StreamingHttpResponse:
        """Every row the list's filters, search and ordering match, as a streamed file (crm.api.exports):
        read the way a page is (a read plan's JSON written by PostgreSQL, its Python representation, or
        DRF's), without the page."""
        plan = self.read_plan()
        if plan is None:
            return super().export(request)
        exports.refuse_paging(request)
        self.exporting = True
        if self.sql_json_possible(plan):
            queryset = self.filter_queryset(plan.json_rows((), self.scope_conditions()))
            represent: Callable[[Any], Any] = exports.json_row
        else:
            queryset = self.filter_queryset(self.scope(plan.rows()))
            zone = timezone.get_current_timezone()
            represent = partial(plan.represent, zone=zone)
        columns = exports.columns_of(self.get_serializer(), self.requested_expansions())
        return exports.export_response(request, queryset, represent, columns)

    def retrieve(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        with prepared():
            return self._retrieve(request, *args, **kwargs)

    def _list(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        plan = self.read_plan()
        if plan is None:
            return super().list(request, *args, **kwargs)
        if self.writes_sql_json(plan):
            read = reads.parse_read(self, request, plan, detail=False)
            if read is not None:
                assert read.window is not None
                rows, self.read_strategy = reads.read_rows(self, plan, read)
                paginator = self.paginator
                assert isinstance(paginator, CursorPagination)
                return self.get_paginated_response(_json_array(paginator.take(request, read.window, rows)))
            try:
                keys = ["id" if f.lstrip("-") == "pk" else f.lstrip("-") for f in ordering_of(request, self)]
            except ValidationError:
                keys = []  # the filter backends refuse the request, in their order (unknown parameters first)
            queryset = self.filter_queryset(plan.json_rows(keys, self.scope_conditions()))
            page = self.paginate_queryset(queryset)
            if page is None:
                return Response(_json_array(queryset))
            return self.get_paginated_response(_json_array(page))
        queryset = self.filter_queryset(self.scope(plan.rows()))
        page = self.paginate_queryset(queryset)
        if page is None:
            return Response(plan.represent_many(queryset))
        return self.get_paginated_response(plan.represent_many(page))

    def _retrieve(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        plan = self.read_plan()
        if plan is None:
            return super().retrieve(request, *args, **kwargs)
        sql_json_body = self.writes_sql_json(plan)
        lookup_url_kwarg = self.lookup_url_kwarg or self.lookup_field
        read = reads.parse_read(self, request, plan, detail=True) if sql_json_body else None
        if read is not None:
            found, self.read_strategy = reads.read_rows(self, plan, read, self.kwargs[lookup_url_kwarg])
            if not found:
                raise Http404
            if len(found) > 1:  # QuerySet.get()'s rule; a primary key never repeats
                raise MultipleObjectsReturned
            row = found[0]
        else:
            # GenericAPIView.get_object(), on named rows: the same filters, 404s and permission checks.
            if sql_json_body:  # scope() for a read, kept built with the rows (ReadPlan.json_rows)
                queryset = self.filter_queryset(plan.json_rows((), self.scope_conditions()))
            else:
                queryset = self.filter_queryset(self.scope(plan.rows()))
            row = get_object_or_404(queryset, **{self.lookup_field: self.kwargs[lookup_url_kwarg]})
        self.check_object_permissions(request, row)
        if not sql_json_body:
            return Response(plan.represent(row))
        response = Response(orjson.Fragment(row.crm_json))
        version = getattr(row, "version", None)
        if plan.shows_version and version is not None:  # what finalize_response gives a represented record
            response["ETag"] = etag_of(version)
        return response

    def representation_of(self, pk: Any) -> Any:
        """The response body for stored row `pk`, re-read: the database keeps some of its columns
        (audit, scope keys, weighted volume, stage dates), and expansions come in the same query."""
        plan = self.read_plan()
        if plan is None:
            return self.get_serializer(self.get_queryset().get(pk=pk)).data
        return plan.represent(self.scope(plan.rows()).get(pk=pk))

    def representations_of(self, pks: Sequence[Any]) -> dict[Any, Any]:
        """representation_of() for many stored rows in one query: id → response body (a batch's)."""
        plan = self.read_plan()
        if plan is None:
            rows = list(self.get_queryset().filter(pk__in=pks))
            return {
                row.pk: body
                for row, body in zip(rows, self.get_serializer(rows, many=True).data, strict=True)
            }
        bodies = plan.represent_many(self.scope(plan.rows()).filter(pk__in=pks))
        return {body["id"]: body for body in bodies}

    def get_object(self) -> Any:
        instance = super().get_object()
        if self.action in LOCKING_ACTIONS:
            record_check_version(instance=instance, if_match=self.request.headers.get("If-Match"))
        return instance

    def finalize_response(self, request: Request, response: Response, *args: Any, **kwargs: Any) -> Response:
        # A single record's representation carries its version as a strong ETag (for If-Match).
        data = getattr(response, "data", None)
        if response.status_code < 300 and isinstance(data, dict) and "version" in data and "id" in data:
            response["ETag"] = etag_of(data["version"])
        return super().finalize_response(request, response, *args, **kwargs)

    def get_serializer_context(self) -> dict[str, Any]:
        context = super().get_serializer_context()
        context["expand"] = self.requested_expansions() if self.request else ()
        return context

    def create_defaults(self, validated_data: dict[str, Any]) -> dict[str, Any]:
        """Values a new row takes from the request rather than the body."""
        return {
            "tenant_id": self.crm.tenant_id,
            "created_by_id": self.crm.user_id,
            "updated_by_id": self.crm.user_id,
        }

    def save_new(self, serializer: BaseSerializer[Any]) -> None:
        """Insert the validated record: what a create writes, alone or in a batch (crm.api.batch)."""
        serializer.save(**self.create_defaults(serializer.validated_data))  # type: ignore[arg-type]

    def save_changes(self, serializer: BaseSerializer[Any]) -> None:
        """Update the validated record: what an update writes, alone or in a batch."""
        serializer.save(updated_by_id=self.crm.user_id)

    def perform_create(self, serializer: BaseSerializer[Any]) -> None:
        with transaction.atomic():
            self.save_new(serializer)
        self._refresh(serializer)

    def perform_update(self, serializer: BaseSerializer[Any]) -> None:
        with transaction.atomic():
            self.save_changes(serializer)
        self._refresh(serializer)

    def _refresh(self, serializer: BaseSerializer[Any]) -> None:
        # The response shows the row as stored (see representation_of); handing it to the serializer
        # as its `data` spares DRF representing the instance again.
        instance = serializer.instance
        assert isinstance(instance, Model)
        if self.read_plan() is None:
            serializer.instance = self.get_queryset().get(pk=instance.pk)
        else:
            serializer._data = self.representation_of(instance.pk)  # type: ignore[attr-defined]

    # --- soft delete, restore, history ------------------------------------------------------------

    def deletion_dependents(self, instance: Any) -> Sequence[QuerySet[Any]]:
        """Rows soft-deleted (and restored) together with `instance`, children first."""
        return []

    def blocking_dependents(self, instance: Any) -> dict[str, int]:
        """Live dependents that make a plain DELETE a 409 (name → count); `?cascade=true` takes them along."""
        return {}

    def perform_destroy(self, instance: Any) -> None:
        # strict: `?cascade=yes` is a 400, as the schema says
        self.soft_delete(instance, cascade=query_flag(self.request, "cascade"))

    def soft_delete(self, instance: Any, *, cascade: bool) -> None:
        """Soft delete: the row stays (history, restore) but vanishes from every list and detail. Live
        dependents make it a 409 unless `cascade` takes them along. Alone or in a batch."""
        blocking = {name: count for name, count in self.blocking_dependents(instance).items() if count}
        if blocking and not cascade:
            raise Conflict(
                "This record still has live dependents; delete them first or pass ?cascade=true.",
                dependents=blocking,
            )
        record_soft_delete(
            instance=instance, dependents=self.deletion_dependents(instance) if cascade else []
        )

    @extend_schema(
        request=None,
        parameters=[OpenApiParameter("If-Match", OpenApiTypes.STR, OpenApiParameter.HEADER, required=False)],
    )
    @action(detail=True, methods=["post"])
    def restore(self, request: Request, pk: Any = None) -> Response:
        """Bring back a deleted record, with whatever was deleted together with it."""
        instance: TenantModel = self.get_object()
        merged_into = getattr(instance, "merged_into_id", None)
        if merged_into is not None:  # ADR 0029: its references live on the survivor now
            raise Conflict(
                "This record was merged into another and cannot come back.",
                code="merged",
                merged_into=merged_into,
            )
        record_restore(instance=instance, dependents=self.deletion_dependents(instance))
        self.action = "retrieve"
        return Response(self.representation_of(instance.pk))

    @extend_schema(responses=HistoryEntrySerializer(many=True), filters=False)
    @action(detail=True, methods=["get"])
    def history(self, request: Request, pk: Any = None) -> Response:
        """Every recorded change of this record, newest first (kept by database triggers)."""
        instance = self.get_object()
        entries = HistoryEntry.objects.filter(table_name=instance._meta.db_table, row_id=instance.pk)
        paginator = CursorPagination()
        page = paginator.paginate(entries, request, ["-id"])
        return paginator.get_paginated_response(HistoryEntrySerializer(page, many=True).data)
