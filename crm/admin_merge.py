"""The admin's merge of selected records (ADR 0029): an action that asks which one survives, on a
confirmation page, then runs the same service as the API (organizations' or contacts')."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from django.contrib import admin, messages
from django.contrib.admin import helpers
from django.db import DatabaseError, models, transaction
from django.http import HttpRequest
from django.template.response import TemplateResponse
from rest_framework.exceptions import APIException

from crm.admin_base import database_refusal

# The service a merge runs: survivor (locked) and the ids merged into it.
MergeService = Callable[..., Any]
MAX_SELECTED = 20


def merge_action(service: MergeService) -> Callable[..., Any]:
    """An admin action merging the selected records into the one chosen on its confirmation page."""

    @admin.action(description="Merge selected %(verbose_name_plural)s into one…")
    def merge_selected(
        modeladmin: admin.ModelAdmin[Any], request: HttpRequest, queryset: models.QuerySet[Any]
    ) -> TemplateResponse | None:
        if not modeladmin.has_change_permission(request):
            modeladmin.message_user(request, "You may not merge records.", messages.ERROR)
            return None
        rows = list(queryset.order_by("pk")[: MAX_SELECTED + 1])
        if not 2 <= len(rows) <= MAX_SELECTED:
            modeladmin.message_user(
                request, f"Select between 2 and {MAX_SELECTED} records to merge.", messages.WARNING
            )
            return None
        survivor_id = request.POST.get("survivor")
        if request.POST.get("confirm") == "yes" and survivor_id:
            _merge(modeladmin, request, service, rows, survivor_id)
            return None
        opts = modeladmin.model._meta
        return TemplateResponse(
            request,
            "admin/merge_confirmation.html",
            {
                **modeladmin.admin_site.each_context(request),
                "title": f"Merge {opts.verbose_name_plural}",
                "opts": opts,
                "rows": rows,
                "action_checkbox_name": helpers.ACTION_CHECKBOX_NAME,
                "action": "merge_selected",
            },
        )

    return merge_selected


def _merge(
    modeladmin: admin.ModelAdmin[Any],
    request: HttpRequest,
    service: MergeService,
    rows: Sequence[Any],
    survivor_id: str,
) -> None:
    chosen = [row for row in rows if str(row.pk) == survivor_id]
    if not chosen:
        modeladmin.message_user(request, "Choose the record that stays among those selected.", messages.ERROR)
        return
    survivor = chosen[0]
    merged_ids = [row.pk for row in rows if row.pk != survivor.pk]
    try:
        with transaction.atomic():  # a refusal after writes (out of reach) rolls them back here
            locked = type(survivor)._default_manager.select_for_update(of=("self",)).get(pk=survivor.pk)
            service(survivor=locked, merged_ids=merged_ids)
    except APIException as exc:  # a 404 or 409 of the service: its words
        clashes = getattr(exc, "problem_extra", {}).get("clashes") or []
        named = "; ".join(f"{c['detail']} ({c['resource']} {c['records']})" for c in clashes)
        modeladmin.message_user(
            request, f"Not merged: {exc.detail}{' ' + named if named else ''}", messages.ERROR
        )
        return
    except DatabaseError as exc:
        refusal = database_refusal(exc)
        if refusal is None:
            raise
        modeladmin.message_user(request, f"Not merged: {refusal.message}", messages.ERROR)
        return
    modeladmin.message_user(
        request,
        f"Merged {len(merged_ids)} {modeladmin.model._meta.verbose_name_plural} into “{survivor}”.",
        messages.SUCCESS,
    )
