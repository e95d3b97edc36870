"""The imports API: upload a file (multipart), follow its import, download its errors and row report."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from django.conf import settings
from django.db.models import QuerySet
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import mixins, status, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import APIException, ErrorDetail, ValidationError
from rest_framework.parsers import MultiPartParser
from rest_framework.renderers import BrowsableAPIRenderer
from rest_framework.request import Request
from rest_framework.response import Response

from crm.api.exports import FormatParameterNegotiation
from crm.api.renderers import ORJSONRenderer
from crm.api.viewsets import LocatedCreateMixin
from crm.rls import context_of
from imports import services
from imports.models import Import, ImportKind
from imports.parsing import FileRefused
from imports.serializers import (
    ImportErrorSerializer,
    ImportRowsSerializer,
    ImportSerializer,
    ImportUploadSerializer,
)
from reports.renderers import CSVRenderer
from sales.services import sales_import_options

FORMAT_PARAMETER = OpenApiParameter(
    "format", str, OpenApiParameter.QUERY, enum=["json", "csv"], description="`csv` downloads a CSV file."
)


class PayloadTooLarge(APIException):
    status_code = status.HTTP_413_REQUEST_ENTITY_TOO_LARGE
    default_detail = "The file is too large."
    default_code = "too_large"

    def __init__(self, detail: str) -> None:
        super().__init__(detail)
        self.problem_extra = {"errors": [{"field": "file", "code": "too_large", "detail": detail}]}


def refusal(refused: FileRefused) -> APIException:
    if refused.status == status.HTTP_413_REQUEST_ENTITY_TOO_LARGE:
        return PayloadTooLarge(refused.message)
    # "unreadable": what the file (or the mapping) holds, which no schema can describe.
    return ValidationError({refused.field: [ErrorDetail(refused.message, code="unreadable")]})


class ImportViewSet(
    mixins.ListModelMixin, mixins.RetrieveModelMixin, LocatedCreateMixin, viewsets.GenericViewSet
):
    """Imports of organizations, contacts, products and their links, and distributors' sales reports
    (kind=sales, with the distributor), from CSV or XLSX files.

    POST a file (multipart) to start one: it is checked at once (a bad file is a 4xx) and run by a
    background job as you, under your access; GET it to follow its state, progress and summary. Members
    see their own imports, admins every import of the firm; viewers cannot import.
    """

    serializer_class = ImportSerializer
    queryset = Import.objects.none()  # the schema's model; every request goes through get_queryset()
    parser_classes = [MultiPartParser]
    ordering = ("-id",)
    ordering_fields = ("id",)
    filterset_class = None

    def get_queryset(self) -> QuerySet[Import]:
        queryset = Import.objects.filter(tenant_id=context_of(self.request).member_tenant_id)
        if self.action not in ("errors", "report"):  # the file is never read back; the report only by them
            queryset = queryset.defer("content", "report")
        else:
            queryset = queryset.defer("content")
        return queryset.order_by("-id")

    @extend_schema(
        request={"multipart/form-data": ImportUploadSerializer},
        responses={202: ImportSerializer},
    )
    def create(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        """Upload a file and start its import (202: queued; follow `Location`)."""
        # A body past IMPORT_MAX_BYTES (and the envelope) was refused from its Content-Length before it was
        # read (crm.api.limits, settings.BODY_LIMITS_BY_PATH): a 1 GB upload is never spooled to disk.
        upload = ImportUploadSerializer(data=request.data)
        upload.is_valid(raise_exception=True)
        data = upload.validated_data
        file = data["file"]
        if file.size > settings.IMPORT_MAX_BYTES:
            raise PayloadTooLarge(
                f"The file is {file.size} bytes; an import takes at most {settings.IMPORT_MAX_BYTES}."
            )
        mapping = data.get("mapping") or {}
        options: dict[str, Any] = {}
        if data["kind"] == ImportKind.SALES:
            # The distributor checked as the importer sees it; its saved mapping when none is given.
            mapping, options = sales_import_options(
                context=context_of(request),
                distributor_id=data["distributor"],
                mapping=mapping,
                period_kind=data.get("period_kind", ""),
                currency=data.get("currency", ""),
            )
        try:
            record = services.import_create(
                context=context_of(request),
                content=file.read(),
                file_name=file.name or "upload",
                kind=data["kind"],
                dry_run=data["dry_run"],
                mode=data["mode"],
                encoding=data.get("encoding", ""),
                mapping=mapping,
                options=options,
            )
        except FileRefused as refused:
            raise refusal(refused) from None
        body = ImportSerializer(Import.objects.defer("content", "report").get(pk=record.pk)).data
        return Response(body, status=status.HTTP_202_ACCEPTED, headers=self.get_success_headers(body))

    @extend_schema(
        parameters=[FORMAT_PARAMETER],
        responses={
            (200, "application/json"): ImportErrorSerializer(many=True),
            (200, "text/csv"): OpenApiTypes.STR,
        },
        filters=False,
    )
    @action(
        detail=True,
        methods=["get"],
        renderer_classes=[ORJSONRenderer, BrowsableAPIRenderer, CSVRenderer],
        content_negotiation_class=FormatParameterNegotiation,
        pagination_class=None,
    )
    def errors(self, request: Request, pk: Any = None) -> Response:
        """Every error of the import: row, column (as headed in the file) and message. `?format=csv`
        downloads them."""
        record = self.get_object()
        rows = [{"row": r, "column": c, "message": m} for r, c, m in services.import_errors(record)]
        return self._download(request, rows, record, "errors")

    @extend_schema(
        parameters=[FORMAT_PARAMETER],
        responses={
            (200, "application/json"): ImportRowsSerializer,
            (200, "text/csv"): OpenApiTypes.STR,
        },
        filters=False,
    )
    @action(
        detail=True,
        methods=["get"],
        renderer_classes=[ORJSONRenderer, BrowsableAPIRenderer, CSVRenderer],
        content_negotiation_class=FormatParameterNegotiation,
        pagination_class=None,
    )
    def report(self, request: Request, pk: Any = None) -> Response:
        """What each data row did (or, in a dry run, would do): create, update, unchanged or error, with
        the record's id and the row's errors. `?format=csv` downloads it."""
        record = self.get_object()
        rows = [
            {
                "row": row,
                "action": row_action,
                "id": record_id,
                "errors": [{"column": c, "message": m} for c, m in errors],
            }
            for row, row_action, record_id, errors in record.report
        ]
        return self._download(request, rows, record, "report")

    def _download(self, request: Request, rows: list[dict[str, Any]], record: Import, what: str) -> Response:
        response = Response(rows)
        if request.query_params.get("format") == "csv":
            response["Content-Disposition"] = f'attachment; filename="import-{record.pk}-{what}.csv"'
        return response

    def csv_rows(self, data: Any) -> Iterable[Mapping[str, Any]]:
        if isinstance(data, Mapping):  # not a list of rows (OPTIONS' description): one row
            return [data]
        return [
            {**row, "errors": "; ".join(f"{e['column']}: {e['message']}" for e in row["errors"])}
            if isinstance(row.get("errors"), list)
            else row
            for row in data
        ]
