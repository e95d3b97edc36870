"""The base every admin class builds on: tenant roles instead of Django permissions, soft delete,
database refusals shown as form errors, and lists that stay fast at 100k rows."""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from django import forms
from django.contrib import admin, messages
from django.contrib.admin.utils import unquote
from django.contrib.admin.views.main import PAGE_VAR
from django.contrib.admin.widgets import AutocompleteSelect, RelatedFieldWidgetWrapper
from django.core.exceptions import FieldDoesNotExist, PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.db import DatabaseError, models, router, transaction
from django.db.models.functions import Now
from django.forms.models import BaseInlineFormSet, InlineForeignKeyField, construct_instance
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils.functional import cached_property
from django.utils.html import format_html
from django.utils.text import capfirst

from crm import text
from crm.api.constraints import constraint_field, describe_database_error
from crm.api.filters import search
from crm.rls import context_of

RECORD_FIELDS = ("created_at", "created_by", "updated_at", "updated_by")
_REFUSAL_ATTR = "_crm_database_refusal"
_AUTOCOMPLETE_PARAMS = ("app_label", "model_name", "field_name")


def has_field(model: type[models.Model], name: str) -> bool:
    try:
        model._meta.get_field(name)
    except FieldDoesNotExist:
        return False
    return True


# ---------------------------------------------------------------------------------------------------
# Which rows a foreign key may point at (the admin's limit_choices_to, kept out of the models).

_CHOICE_LOOKUPS: dict[tuple[str, str, str], dict[str, Any]] = {}


def limit_choices(model: type[models.Model], field_name: str, **lookups: Any) -> None:
    """Narrow what the admin offers for `model.field_name`: both the form field's queryset and the
    autocomplete results. The database still has the last word (its triggers check the same)."""
    _CHOICE_LOOKUPS[(model._meta.app_label, model._meta.model_name or "", field_name)] = lookups


def choice_lookups(app_label: str, model_name: str, field_name: str) -> dict[str, Any]:
    return _CHOICE_LOOKUPS.get((app_label, model_name.lower(), field_name), {})


def live(queryset: models.QuerySet[Any]) -> models.QuerySet[Any]:
    """Rows that are not soft-deleted (unchanged for models without deleted_at)."""
    if has_field(queryset.model, "deleted_at"):
        return queryset.filter(deleted_at__isnull=True)
    return queryset


# ---------------------------------------------------------------------------------------------------
# Counting at scale.


class CappedCountPaginator(Paginator):
    """Counts at most `count_cap + 1` rows, so a list over 100k rows never pays a full COUNT(*).

    Not an estimate from pg_class.reltuples: under row level security the table holds other firms'
    rows and, for a manager, the principals outside the book, so the table's size would be both wrong
    and a leak. Past the cap the list says "more than N" and asks for a search or a filter.
    """

    count_cap = 10_000

    @cached_property
    def count(self) -> int:
        objects = self.object_list
        if isinstance(objects, models.QuerySet):
            return objects.order_by()[: self.count_cap + 1].count()
        return len(objects)

    @property
    def count_is_capped(self) -> bool:
        return self.count > self.count_cap


# ---------------------------------------------------------------------------------------------------
# Database refusals.


@dataclass(frozen=True)
class DatabaseRefusal:
    """A write the database refused because of the data (a constraint, a trigger, a policy)."""

    field: str | None
    message: str
    table: str | None


def database_refusal(exc: DatabaseError) -> DatabaseRefusal | None:
    """The refusal behind `exc`, or None when it is not the data's fault (a real 500)."""
    cause = exc.__cause__ or exc
    diag = getattr(cause, "diag", None)
    table = getattr(diag, "table_name", None)
    described = describe_database_error(exc)
    if described is not None:
        field, _code, message = described
        return DatabaseRefusal(field, message, table)
    if getattr(cause, "sqlstate", None) == "42501":  # a row level security policy refused the row
        return DatabaseRefusal(None, "You are not allowed to make this change.", table)
    return None


def _refusal(request: HttpRequest) -> DatabaseRefusal | None:
    return getattr(request, _REFUSAL_ATTR, None)


def _field_label(form: forms.BaseForm, field: str | None) -> str:
    if field and field in form.fields:
        return str(form.fields[field].label or field)
    return field or ""


_NAME = re.compile(r"\b[a-z][a-z0-9]*(?:_[a-z0-9]+)*\b")


def labelled(form: forms.BaseForm, message: str) -> str:
    """A rule's message as the form says it: the model's and the database's messages name columns
    ("loss_reason is required…", "product_id must be…"); the form has labels ("Loss reason")."""

    def label(match: re.Match[str]) -> str:
        name = match.group(0)
        field = name if name in form.fields else name.removesuffix("_id")
        # Inside the sentence only column-like names: "the opportunity is closed" keeps its words.
        if field not in form.fields or ("_" not in name and match.start() > 0):
            return name
        text = str(form.fields[field].label or field.replace("_", " "))
        return text if match.start() == 0 else text.lower()

    return capfirst(_NAME.sub(label, message)) or message


# ---------------------------------------------------------------------------------------------------
# Forms and widgets.


class LabelledAutocompleteSelect(AutocompleteSelect):
    """An autocomplete that renders the selected row's label from the instance when it is loaded,
    instead of one query per rendered widget (per inline row)."""

    known_labels: dict[str, str]

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.known_labels = {}

    def optgroups(self, name: str, value: Any, attr: Any = None) -> list[Any]:
        selected = [str(v) for v in value if str(v) not in self.choices.field.empty_values]
        if not selected or any(v not in self.known_labels for v in selected):
            return super().optgroups(name, value, attr)
        options = []
        if not self.is_required:
            options.append(self.create_option(name, "", "", False, 0))
        for v in selected:
            options.append(self.create_option(name, v, self.known_labels[v], True, len(options)))
        return [(None, options, 0)]


class NormalizedTextFormField(forms.CharField):
    """A name or code as the API takes it: stored NFC, a control or invisible character refused (crm.text)."""

    def to_python(self, value: Any) -> Any:
        value = super().to_python(value)
        try:
            return text.normalized(value) if isinstance(value, str) else value
        except text.ForbiddenCharacter as error:
            raise ValidationError(str(error), code="forbidden_characters") from error


class NormalizedEmailFormField(NormalizedTextFormField, forms.EmailField):
    """An email, normalised as NormalizedTextFormField."""


class CrmModelForm(forms.ModelForm):
    """Hands the autocompletes the labels of the rows the instance already loaded (select_related), and
    shows a broken model constraint (the same rule the database checks) beside the field it names, in the
    form's words: "Loss reason is required when the opportunity is closed lost." under Loss reason.

    `constraints_the_database_completes` names constraints a trigger satisfies before checking them
    (closing an opportunity dates it today unless a date is given): Python would refuse what the
    database accepts, so the form leaves them to the database.
    """

    constraints_the_database_completes: tuple[str, ...] = ()

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        cache = self.instance._state.fields_cache
        for name, field in self.fields.items():
            widget = getattr(field.widget, "widget", field.widget)
            related = cache.get(name)
            if isinstance(widget, LabelledAutocompleteSelect) and related is not None:
                label_from_instance = getattr(field, "label_from_instance", str)
                widget.known_labels = {str(related.pk): label_from_instance(related)}

    def _post_clean(self) -> None:
        # ModelForm._post_clean, with the model's constraints validated by validate_constraints() below
        # instead of inside full_clean(), where their errors would all land above the form.
        form: Any = self  # ModelForm's private helpers, which django-stubs leave out
        exclude: set[str] = form._get_validation_exclusions()
        exclude.update(name for name, f in self.fields.items() if isinstance(f, InlineForeignKeyField))
        try:
            self.instance = construct_instance(self, self.instance, self._meta.fields, self._meta.exclude)
        except ValidationError as error:
            form._update_errors(error)
        try:
            self.instance.full_clean(exclude=exclude, validate_unique=False, validate_constraints=False)
        except ValidationError as error:
            form._update_errors(error)
        self.validate_constraints(exclude)
        if form._validate_unique:
            self.validate_unique()

    def validate_constraints(self, exclude: set[str]) -> None:
        skipped = set(self.constraints_the_database_completes)
        using = router.db_for_write(type(self.instance), instance=self.instance)
        for model, constraints in self.instance.get_constraints():
            for constraint in constraints:
                if constraint.name in skipped:
                    continue
                try:
                    constraint.validate(model, self.instance, exclude=exclude, using=using)
                except ValidationError as error:
                    field = constraint_field(constraint.name)
                    for message in error.messages:
                        self._add_labelled_error(field, message)

    def _add_labelled_error(self, field: str | None, message: str) -> None:
        if field in self.fields and field not in self.errors:
            self.add_error(field, labelled(self, message))
        elif field not in self.fields:
            self.add_error(None, labelled(self, message))


# ---------------------------------------------------------------------------------------------------
# Permissions, tenant, soft delete: shared by model admins and inlines.


class CrmAdminMixin:
    """What every admin class does the same way.

    Visibility is PostgreSQL's (row level security on the request's transaction); this only hides
    soft-deleted rows. Permissions come from the tenant role: every member reads, admins and managers
    write; `admin_only` models (tenancy) are written by the firm's admins only.
    """

    admin_only = False
    model: type[models.Model]
    admin_site: admin.AdminSite
    form: type[forms.ModelForm] = CrmModelForm

    def can_write(self, request: HttpRequest) -> bool:
        context = context_of(request)
        return context.is_admin if self.admin_only else context.can_write

    def has_module_permission(self, request: HttpRequest) -> bool:
        return context_of(request).is_member

    def has_view_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return context_of(request).is_member

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return self.can_write(request)

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return self.can_write(request)

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return self.can_write(request)

    def get_queryset(self, request: HttpRequest) -> models.QuerySet[Any]:
        return live(super().get_queryset(request))  # type: ignore[misc]

    def formfield_for_dbfield(
        self, db_field: models.Field[Any, Any], request: HttpRequest, **kwargs: Any
    ) -> Any:
        if isinstance(db_field, models.URLField):
            kwargs.setdefault("assume_scheme", "https")  # Django 6's default, without the warning
        if db_field.name in getattr(db_field.model, "normalized_text_fields", ()):
            email = isinstance(db_field, models.EmailField)
            kwargs["form_class"] = NormalizedEmailFormField if email else NormalizedTextFormField
        return super().formfield_for_dbfield(db_field, request, **kwargs)  # type: ignore[misc]

    def formfield_for_foreignkey(
        self, db_field: models.ForeignKey[Any, Any], request: HttpRequest, **kwargs: Any
    ) -> forms.ModelChoiceField | None:
        remote = db_field.remote_field.model
        if "queryset" not in kwargs and isinstance(remote, type):
            lookups = choice_lookups(
                db_field.model._meta.app_label, db_field.model._meta.model_name or "", db_field.name
            )
            kwargs["queryset"] = live(remote._default_manager.all()).filter(**lookups)
        if "widget" not in kwargs and db_field.name in self.get_autocomplete_fields(request):  # type: ignore[attr-defined]
            kwargs["widget"] = LabelledAutocompleteSelect(
                db_field, self.admin_site, using=kwargs.get("using")
            )
        return super().formfield_for_foreignkey(db_field, request, **kwargs)  # type: ignore[misc]


class CrmModelAdmin(CrmAdminMixin, admin.ModelAdmin):
    """Base ModelAdmin: see CrmAdminMixin, plus lists fit for 100k rows and database refusals as
    form errors (never a 500)."""

    list_per_page = 50
    list_max_show_all = 200
    show_full_result_count = False
    paginator = CappedCountPaginator
    # Facet counts run one aggregate per filter choice over the whole list: not at 100k rows.
    show_facets = admin.ShowFacets.NEVER

    # --- lists and search

    def get_search_results(
        self, request: HttpRequest, queryset: models.QuerySet[Any], search_term: str
    ) -> tuple[models.QuerySet[Any], bool]:
        """Models with a GIN-indexed `search_vector` search it, every word as a prefix (as the API
        does); their `search_fields` only say what it covers and turn on the search box and the
        autocomplete. An autocomplete also gets the limit_choices() of the field it fills."""
        source = [request.GET.get(p) for p in _AUTOCOMPLETE_PARAMS]
        if all(source) and request.path.endswith("/autocomplete/"):
            queryset = queryset.filter(**choice_lookups(*source))  # type: ignore[arg-type]
        if has_field(self.model, "search_vector"):
            return search(queryset, search_term), False
        return super().get_search_results(request, queryset, search_term)

    # --- forms

    def get_fieldsets(self, request: HttpRequest, obj: Any = None) -> Any:
        fieldsets = list(super().get_fieldsets(request, obj))
        record = self._record_fields(obj)
        shown = {name for _title, options in fieldsets for name in _flatten(options.get("fields", ()))}
        if record and not shown.intersection(record):
            fieldsets.append(("Record", {"fields": record, "classes": ("collapse",)}))
        return fieldsets

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> list[str]:
        readonly = list(super().get_readonly_fields(request, obj))
        return readonly + [name for name in self._record_fields(obj) if name not in readonly]

    def _record_fields(self, obj: Any) -> tuple[str, ...]:
        if obj is None:
            return ()
        return tuple(name for name in RECORD_FIELDS if has_field(self.model, name))

    def get_form(self, request: HttpRequest, obj: Any = None, change: bool = False, **kwargs: Any) -> Any:
        form = super().get_form(request, obj, change=change, **kwargs)
        refusal = _refusal(request)
        if refusal is None or refusal.table in self._inline_tables(request, obj):
            return form
        return _form_with_refusal(form, refusal)

    def _inline_tables(self, request: HttpRequest, obj: Any) -> set[str]:
        return {inline.model._meta.db_table for inline in self.get_inline_instances(request, obj)}

    # --- writes

    def save_model(self, request: HttpRequest, obj: Any, form: Any, change: bool) -> None:
        if not change and has_field(type(obj), "tenant"):
            obj.tenant_id = context_of(request).tenant_id
        super().save_model(request, obj, form, change)

    def save_formset(self, request: HttpRequest, form: Any, formset: Any, change: bool) -> None:
        tenant_id = context_of(request).tenant_id
        instances = formset.save(commit=False)
        for deleted in formset.deleted_objects:
            if has_field(type(deleted), "deleted_at"):
                soft_delete(type(deleted)._base_manager.filter(pk=deleted.pk))
            else:
                deleted.delete()
        for instance in instances:
            if instance._state.adding and has_field(type(instance), "tenant"):
                instance.tenant_id = tenant_id
            instance.save()
        formset.save_m2m()

    def changeform_view(
        self,
        request: HttpRequest,
        object_id: str | None = None,
        form_url: str = "",
        extra_context: dict[str, Any] | None = None,
    ) -> HttpResponse:
        try:
            return super().changeform_view(request, object_id, form_url, extra_context)
        except DatabaseError as exc:
            # The write ran in the view's own savepoint, rolled back by now: show the form again, with
            # the database's reason on the field it names.
            refusal = database_refusal(exc)
            if refusal is None or _refusal(request) is not None:
                raise
            setattr(request, _REFUSAL_ATTR, refusal)
            return super().changeform_view(request, object_id, form_url, extra_context)

    # --- history

    history_per_page = 50

    def history_view(
        self, request: HttpRequest, object_id: str, extra_context: dict[str, Any] | None = None
    ) -> HttpResponse:
        """The database's history of the row and of the rows on its page (crm.admin_history, ADR 0033),
        read as the signed-in member: a row they cannot see has no page here (404), as in the API."""
        from crm import admin_history

        if not admin_history.has_history(self.model):
            return super().history_view(request, object_id, extra_context)  # tenancy: Django's log
        obj = self.get_object(request, unquote(object_id))
        if obj is None:
            raise Http404(f"No {self.opts.verbose_name} with this id.")
        if not self.has_view_or_change_permission(request, obj):
            raise PermissionDenied
        listed = admin_history.listed_tables(self.model, self.get_inline_instances(request, obj))
        paginator = self.get_paginator(request, admin_history.entries_of(obj, listed), self.history_per_page)
        page = paginator.get_page(request.GET.get(PAGE_VAR, 1))
        entries = admin_history.render_entries(obj, list(page.object_list), listed, self.admin_site.name)
        context = {
            **self.admin_site.each_context(request),
            "title": f"Change history: {obj}",
            "subtitle": None,
            "entries": entries,
            "page_obj": page,
            "page_range": paginator.get_elided_page_range(page.number),
            "page_var": PAGE_VAR,
            "pagination_required": paginator.num_pages > 1,
            "listed": [capfirst(str(t.model._meta.verbose_name_plural)) for t in listed[1:]],
            "module_name": str(capfirst(self.opts.verbose_name_plural)),
            "object": obj,
            "opts": self.opts,
            "preserved_filters": self.get_preserved_filters(request),
            **(extra_context or {}),
        }
        request.current_app = self.admin_site.name  # type: ignore[attr-defined]
        return TemplateResponse(request, "admin/crm/history.html", context)

    # --- soft delete

    def delete_model(self, request: HttpRequest, obj: Any) -> None:
        soft_delete(type(obj)._base_manager.filter(pk=obj.pk))

    def delete_queryset(self, request: HttpRequest, queryset: models.QuerySet[Any]) -> None:
        soft_delete(queryset)

    def delete_view(
        self, request: HttpRequest, object_id: str, extra_context: dict[str, Any] | None = None
    ) -> HttpResponse:
        try:
            return super().delete_view(request, object_id, extra_context)
        except DatabaseError as exc:
            refusal = database_refusal(exc)
            if refusal is None:
                raise
            self.message_user(request, f"Not deleted: {refusal.message}", messages.ERROR)
            url = reverse(
                f"{self.admin_site.name}:{self.opts.app_label}_{self.opts.model_name}_change",
                args=[object_id],
            )
            return HttpResponseRedirect(url)

    def get_deleted_objects(
        self, objs: Iterable[Any], request: HttpRequest
    ) -> tuple[list[Any], dict[str, int], set[str], list[Any]]:
        """What the confirmation page lists. Deleting sets deleted_at: nothing else is removed, but a
        row that live rows still point at (PROTECT) is refused, as Django would refuse a delete."""
        shown = list(objs[:101]) if isinstance(objs, models.QuerySet) else list(objs)
        if not shown:
            return [], {}, set(), []
        names = [self._object_link(obj) for obj in shown[:100]]
        if len(shown) > 100:
            names.append("…")
        count = objs.count() if isinstance(objs, models.QuerySet) else len(shown)
        model_count = {str(self.opts.verbose_name_plural): count}
        return names, model_count, set(), live_dependents(type(shown[0]), [obj.pk for obj in shown])

    def _object_link(self, obj: Any) -> str:
        url = reverse(
            f"{self.admin_site.name}:{self.opts.app_label}_{self.opts.model_name}_change", args=[obj.pk]
        )
        return format_html('{}: <a href="{}">{}</a>', capfirst(str(self.opts.verbose_name)), url, obj)


class CrmInline(CrmAdminMixin, admin.TabularInline):
    """Base inline: no blank rows unless asked for, rows link to their own page, soft delete; compact rows
    (no add/change/delete/view icons beside each key: the row's own page has them), so an inline table
    fits a 1400 px window (crm/templates/admin/base_site.html)."""

    extra = 0
    show_change_link = True
    list_select_related: Sequence[str] = ()

    def formfield_for_dbfield(
        self, db_field: models.Field[Any, Any], request: HttpRequest, **kwargs: Any
    ) -> Any:
        formfield = super().formfield_for_dbfield(db_field, request, **kwargs)
        widget = getattr(formfield, "widget", None)
        if isinstance(widget, RelatedFieldWidgetWrapper):
            widget.can_add_related = widget.can_change_related = False
            widget.can_delete_related = widget.can_view_related = False
        return formfield

    def get_queryset(self, request: HttpRequest) -> models.QuerySet[Any]:
        queryset = super().get_queryset(request)
        return queryset.select_related(*self.list_select_related) if self.list_select_related else queryset

    def get_formset(self, request: HttpRequest, obj: Any = None, **kwargs: Any) -> Any:
        formset = super().get_formset(request, obj, **kwargs)
        refusal = _refusal(request)
        if refusal is None or refusal.table != self.model._meta.db_table:
            return formset
        return _formset_with_refusal(formset, refusal)


def _flatten(fields: Iterable[Any]) -> list[str]:
    out: list[str] = []
    for field in fields:
        out.extend(_flatten(field) if isinstance(field, list | tuple) else [field])
    return out


class _RefusedForm:
    """Mixed into the change form when the database refused its save: shows the reason on the field."""

    refusal: DatabaseRefusal
    fields: dict[str, forms.Field]

    def _post_clean(self) -> None:
        super()._post_clean()  # type: ignore[misc]
        refusal = self.refusal
        form: Any = self
        message = labelled(form, refusal.message)
        if refusal.field and refusal.field in self.fields:
            if refusal.field not in form.errors:
                form.add_error(refusal.field, message)
        else:
            label = _field_label(form, refusal.field)
            form.add_error(None, f"{capfirst(label)}: {message}" if label else message)


def _form_with_refusal(form: type[forms.ModelForm], refusal: DatabaseRefusal) -> type[forms.ModelForm]:
    return type(form.__name__, (_RefusedForm, form), {"refusal": refusal})


def _formset_with_refusal(
    formset: type[BaseInlineFormSet], refusal: DatabaseRefusal
) -> type[BaseInlineFormSet]:
    def clean(self: BaseInlineFormSet) -> None:
        formset.clean(self)
        label = _field_label(self.empty_form, refusal.field)
        message = labelled(self.empty_form, refusal.message)
        raise ValidationError(f"{capfirst(label)}: {message}" if label else message)

    return type(formset.__name__, (formset,), {"clean": clean})


# ---------------------------------------------------------------------------------------------------
# Soft delete.


def _reverse_relations(model: type[models.Model]) -> list[models.ForeignObjectRel]:
    """One-to-many relations from soft-deletable models pointing at `model` (hidden ones included)."""
    return [
        rel
        for rel in model._meta.get_fields(include_hidden=True)
        if isinstance(rel, models.ManyToOneRel) and has_field(rel.related_model, "deleted_at")  # type: ignore[arg-type]
    ]


def live_dependents(model: type[models.Model], pks: Sequence[Any], limit: int = 10) -> list[str]:
    """Live rows (that this user can see) still pointing at the rows `pks` through a PROTECT key."""
    found: list[str] = []
    for rel in _reverse_relations(model):
        if rel.on_delete is not models.PROTECT:
            continue
        related: Any = rel.related_model
        rows = related._base_manager.filter(**{f"{rel.field.name}__in": pks, "deleted_at__isnull": True})
        if related is model:  # rows deleted together do not protect each other
            rows = rows.exclude(pk__in=pks)
        found += [f"{capfirst(related._meta.verbose_name)}: {row}" for row in rows[:limit]]
    return found


def soft_delete(queryset: models.QuerySet[Any]) -> int:
    """Set deleted_at on the rows (and on the live rows that CASCADE from them), in one savepoint."""
    model = queryset.model
    with transaction.atomic():
        pks = list(queryset.filter(deleted_at__isnull=True).values_list("pk", flat=True))
        for rel in _reverse_relations(model):
            if rel.on_delete is models.CASCADE:
                related: Any = rel.related_model
                related._base_manager.filter(
                    **{f"{rel.field.name}__in": pks, "deleted_at__isnull": True}
                ).update(deleted_at=Now())
        return int(model._base_manager.filter(pk__in=pks).update(deleted_at=Now()))


# ---------------------------------------------------------------------------------------------------
# List filters.


class RelatedChoicesFilter(admin.SimpleListFilter):
    """A filter on a foreign key listing the rows the form would offer (limit_choices, live, visible).

    Only for keys to small sets such as principals (a firm has tens): Django's RelatedFieldListFilter
    would list every organization, and RelatedOnlyFieldListFilter scans the whole list for them.
    """

    field_name = ""

    def __init__(self, request: HttpRequest, params: dict[str, Any], model: Any, model_admin: Any) -> None:
        self.field: Any = model._meta.get_field(self.field_name)
        super().__init__(request, params, model, model_admin)

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, str]]:
        lookups = choice_lookups(
            self.field.model._meta.app_label, self.field.model._meta.model_name, self.field.name
        )
        rows = live(self.field.remote_field.model._default_manager.all()).filter(**lookups)
        return [(str(row.pk), str(row)) for row in rows]

    def queryset(self, request: HttpRequest, queryset: models.QuerySet[Any]) -> models.QuerySet[Any]:
        value = self.value()
        if not value:
            return queryset
        if not str(value).isdigit():
            return queryset.none()
        return queryset.filter(**{self.field.attname: int(value)})


def related_filter(field_name: str, title: str | None = None) -> type[RelatedChoicesFilter]:
    attrs = {
        "field_name": field_name,
        "parameter_name": field_name,
        "title": title or field_name.replace("_", " "),
    }
    return type(f"{field_name.title().replace('_', '')}Filter", (RelatedChoicesFilter,), attrs)


class MineFilter(admin.SimpleListFilter):
    """Rows whose user column (owner, account manager, logged by) is the signed-in user."""

    field_path = "user"
    parameter_name = "mine"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, str]]:
        return [("yes", "Mine")]

    def queryset(self, request: HttpRequest, queryset: models.QuerySet[Any]) -> models.QuerySet[Any]:
        if self.value() == "yes":
            return queryset.filter(**{f"{self.field_path}_id": request.user.pk})
        return queryset


def mine_filter(field_path: str, title: str) -> type[MineFilter]:
    return type(f"Mine{field_path.title()}Filter", (MineFilter,), {"field_path": field_path, "title": title})
