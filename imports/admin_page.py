"""The import page of the admin (/admin/imports/): upload a file, follow the member's imports, read one's
report. Runs in the admin's request transaction as the member, so RLS decides as it does for the API."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin, messages
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import reverse

from crm.rls import context_of
from imports import services
from imports.models import Import, ImportKind, ImportMode
from imports.parsing import ENCODING_CHOICES, FileRefused

SHOWN_IMPORTS = 20
SHOWN_ERRORS = 200


class ImportForm(forms.Form):
    file = forms.FileField(help_text="CSV or XLSX; row 1 is the header.")
    kind = forms.ChoiceField(choices=ImportKind.choices)
    mode = forms.ChoiceField(choices=ImportMode.choices, initial=ImportMode.ALL_OR_NOTHING)
    dry_run = forms.BooleanField(required=False, initial=True, help_text="Validate and report only.")
    encoding = forms.ChoiceField(
        choices=[("", "detect")] + [(name, name) for name in ENCODING_CHOICES], required=False
    )


def import_page(request: HttpRequest) -> HttpResponse:
    context = context_of(request)
    form = ImportForm()
    if request.method == "POST":
        if not context.can_write:
            messages.error(request, "Viewers cannot import.")
            return HttpResponseRedirect(reverse("admin:imports_page"))
        form = ImportForm(request.POST, request.FILES)
        if form.is_valid():
            upload = form.cleaned_data["file"]
            try:
                record = services.import_create(
                    context=context,
                    content=upload.read(),
                    file_name=upload.name or "upload",
                    kind=form.cleaned_data["kind"],
                    dry_run=form.cleaned_data["dry_run"],
                    mode=form.cleaned_data["mode"],
                    encoding=form.cleaned_data["encoding"],
                )
            except FileRefused as refused:
                form.add_error("encoding" if refused.field == "encoding" else "file", refused.message)
            else:
                messages.success(
                    request, f"Import {record.pk} is queued: this page shows it when it has run."
                )
                return HttpResponseRedirect(f"{reverse('admin:imports_page')}?id={record.pk}")
    imports = Import.objects.filter(tenant_id=context.member_tenant_id).defer("content", "report")[
        :SHOWN_IMPORTS
    ]
    shown: Import | None = None
    errors: list[tuple[int, str, str]] = []
    wanted = request.GET.get("id", "")
    if wanted.isdigit():
        shown = (
            Import.objects.filter(tenant_id=context.member_tenant_id, pk=int(wanted)).defer("content").first()
        )
        if shown is not None:
            errors = services.import_errors(shown)
    page: dict[str, Any] = {
        **admin.site.each_context(request),
        "title": "Imports",
        "form": form if context.can_write else None,
        "imports": imports,
        "shown": shown,
        "errors": errors[:SHOWN_ERRORS],
        "more_errors": max(0, len(errors) - SHOWN_ERRORS),
        "api": "/api/v1/imports/",
    }
    return TemplateResponse(request, "imports/import_page.html", page)
