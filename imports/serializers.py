"""Serializers of imports: the upload (multipart) and the import as it stands."""

from __future__ import annotations

import json

from drf_spectacular.utils import inline_serializer
from rest_framework import serializers

from imports.models import Import, ImportKind, ImportMode, RowAction
from imports.parsing import ENCODING_CHOICES
from sales.models import PeriodKind


class ImportUploadSerializer(serializers.Serializer):
    """What POST /api/v1/imports/ takes, as multipart/form-data."""

    file = serializers.FileField(
        allow_empty_file=True,  # refused as unreadable, with what else a file's content may be
        help_text="A CSV (UTF-8 with or without BOM, UTF-16 with BOM, Windows-1252; or declare `encoding`) "
        "or an XLSX workbook (first sheet, values only: formulas are refused). Row 1 is the header.",
    )
    kind = serializers.ChoiceField(choices=ImportKind.choices)
    dry_run = serializers.BooleanField(
        default=False, help_text="Validate and report what each row would do; write nothing."
    )
    mode = serializers.ChoiceField(
        choices=ImportMode.choices,
        default=ImportMode.ALL_OR_NOTHING,
        help_text="all_or_nothing: any row in error and nothing is written. per_row: rows in error are "
        "skipped, the others written.",
    )
    encoding = serializers.ChoiceField(
        choices=ENCODING_CHOICES,
        required=False,
        allow_blank=True,
        help_text="A CSV's encoding, if not detected.",
    )
    mapping = serializers.CharField(
        required=False,
        allow_blank=True,
        max_length=20_000,
        help_text='A JSON object from a header in the file to a field ({"Company": "name"}), or to null to '
        "ignore that column; other headers are matched by name and the usual synonyms.",
    )

    # A sales import (kind=sales, ADR 0034): the distributor whose report the file is, and its periods.
    distributor = serializers.IntegerField(
        required=False, min_value=1, help_text="kind=sales: the distributor whose sales report the file is."
    )
    period_kind = serializers.ChoiceField(
        choices=PeriodKind.choices,
        required=False,
        help_text="kind=sales: whether the file's periods are weeks (each date counts for the Monday of its "
        "ISO week) or months; default the distributor's saved mapping's, else week.",
    )
    currency = serializers.RegexField(
        r"^[A-Za-z]{3}$",
        max_length=3,
        required=False,
        help_text="kind=sales: the currency of a dollars column without a currency column (default USD).",
    )

    def validate(self, attrs: dict[str, object]) -> dict[str, object]:
        sales_only = [name for name in ("distributor", "period_kind", "currency") if name in attrs]
        if attrs.get("kind") == ImportKind.SALES:
            if "distributor" not in attrs:
                raise serializers.ValidationError({"distributor": ["A sales import needs its distributor."]})
        elif sales_only:
            raise serializers.ValidationError({name: ["For kind=sales only."] for name in sales_only})
        return attrs

    def validate_mapping(self, value: str) -> dict[str, str | None]:
        if not value:
            return {}
        try:
            mapping = json.loads(value)
        except ValueError:
            raise serializers.ValidationError("Not JSON.", code="unreadable") from None
        if not isinstance(mapping, dict) or not all(
            isinstance(k, str) and (v is None or isinstance(v, str)) for k, v in mapping.items()
        ):
            raise serializers.ValidationError(
                "A JSON object of header → field name (or null).", code="unreadable"
            )
        return mapping


class ImportErrorSerializer(serializers.Serializer):
    row = serializers.IntegerField(help_text="The row in the file (the header is row 1).")
    column = serializers.CharField(help_text="The column's header in the file; empty for the row as a whole.")
    message = serializers.CharField()


# Built as inline serializers: their field names (`create`, `update`, `errors`) are methods and
# properties of a Serializer class. For the schema only: the views return the stored JSON.
ImportSummarySerializer = inline_serializer(
    "ImportSummary",
    {
        "create": serializers.IntegerField(required=False),
        "update": serializers.IntegerField(required=False),
        "unchanged": serializers.IntegerField(required=False),
        "error": serializers.IntegerField(required=False),
        "unmatched": serializers.IntegerField(
            required=False, help_text="kind=sales: rows kept aside until a product or customer is confirmed."
        ),
        "replaced_facts": serializers.IntegerField(
            required=False, help_text="kind=sales: the distributor's facts of the file's periods replaced."
        ),
        "replaced_unmatched": serializers.IntegerField(required=False),
        "periods": serializers.ListField(
            child=serializers.DateField(), required=False, help_text="kind=sales: the periods the file holds."
        ),
        "ignored_columns": serializers.ListField(child=serializers.CharField(), required=False),
        "written": serializers.BooleanField(
            required=False,
            help_text="Whether the rows were written (not a dry run, nor failed all-or-nothing).",
        ),
    },
)


class ImportSerializer(serializers.ModelSerializer):
    summary = ImportSummarySerializer
    # Not `errors`: that name is the serializer's own.
    first_errors = ImportErrorSerializer(
        many=True, read_only=True, help_text="The first 100 errors, in file order (…/errors/ has them all)."
    )

    class Meta:
        model = Import
        fields = (
            "id",
            "kind",
            "dry_run",
            "mode",
            "mapping",
            "options",
            "file_name",
            "file_type",
            "file_size",
            "file_sha256",
            "encoding",
            "state",
            "rows_total",
            "rows_processed",
            "summary",
            "error",
            "first_errors",
            "created_at",
            "created_by",
            "started_at",
            "finished_at",
        )
        read_only_fields = fields


# What one data row of the file did (or, in a dry run or a failed all-or-nothing import, would do).
ImportRowsSerializer = inline_serializer(
    "ImportRow",
    {
        "row": serializers.IntegerField(help_text="The row in the file (the header is row 1)."),
        "action": serializers.ChoiceField(choices=RowAction.choices),
        "id": serializers.IntegerField(
            allow_null=True,
            help_text="The record created, updated or left unchanged; null when nothing was written.",
        ),
        "errors": inline_serializer(
            "ImportRowError",
            {
                "column": serializers.CharField(help_text="The column's header in the file."),
                "message": serializers.CharField(),
            },
            many=True,
        ),
    },
    many=True,
)
