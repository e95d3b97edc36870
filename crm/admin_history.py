"""The admin's History page from the database's history (ADR 0033): every recorded change of a row and of
the rows listed on its page (its inlines), with names instead of ids, read under row level security.

The entries are the `history` table's, written by the business tables' triggers (ADR 0003) for the API,
the admin, commands and raw SQL alike; Django's LogEntry only knows what was done in this admin. They are
read in the request's transaction as the signed-in member, as everything else in the admin is: the
history policy shows an entry to exactly those who see the row it describes.
"""

from __future__ import annotations

import datetime
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from typing import Any

from django.contrib.admin.options import InlineModelAdmin
from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import Q
from django.forms.models import _get_foreign_key  # type: ignore[attr-defined]
from django.urls import NoReverseMatch, reverse
from django.utils import formats, timezone
from django.utils.dateparse import parse_date, parse_datetime
from django.utils.text import Truncator, capfirst

from crm.models import HistoryEntry, HistoryOperation, User

# Shown by the operation itself ("Delete (soft)", "Restore"), not as a changed field.
_OPERATION_COLUMNS = {"deleted_at"}
_LONG_TEXT = 160
EMPTY = "—"


def has_history(model: type[models.Model]) -> bool:
    """Whether the model's table has the history trigger (crm.models.tenant_row_triggers)."""
    triggers = getattr(model._meta, "triggers", ())
    return any(getattr(trigger, "name", "") == "record_history" for trigger in triggers)


@dataclass(frozen=True)
class Listed:
    """A table whose entries the page shows: the row's own, or an inline's rows pointing at it."""

    model: type[models.Model]
    parent_key: str | None  # the inline's foreign key to the row; None for the row itself
    select_related: Sequence[str] = ()


def listed_tables(model: type[models.Model], inlines: Iterable[InlineModelAdmin[Any, Any]]) -> list[Listed]:
    listed = [Listed(model, None)]
    seen = {model}
    for inline in inlines:
        child = inline.model
        if child in seen or not has_history(child):
            continue
        seen.add(child)
        key: Any = _get_foreign_key(model, child, fk_name=inline.fk_name)
        listed.append(Listed(child, key.name, tuple(getattr(inline, "list_select_related", ()) or ())))
    return listed


def entries_of(obj: models.Model, listed: Sequence[Listed]) -> models.QuerySet[HistoryEntry]:
    """One query: the row's entries and its inline rows' (of every row ever linked to it, deleted ones
    too), newest first. Each branch is a range of the `history_row` index."""
    condition = Q()
    for table in listed:
        if table.parent_key is None:
            condition |= Q(table_name=table.model._meta.db_table, row_id=obj.pk)
        else:
            rows = table.model._base_manager.filter(**{table.parent_key: obj.pk}).values("pk")
            condition |= Q(table_name=table.model._meta.db_table, row_id__in=rows)
    return HistoryEntry.objects.filter(condition).order_by("-id")


@dataclass
class Change:
    field: str
    old: str
    new: str


@dataclass
class Entry:
    occurred_at: datetime.datetime
    actor: str
    operation: str
    operation_code: str
    request_id: str
    record: str  # "" for the page's own row
    record_url: str | None
    changes: list[Change] = field(default_factory=list)


class _Columns:
    """A model's fields by column name (the history stores columns: `principal_id`)."""

    def __init__(self) -> None:
        self._by_model: dict[type[models.Model], dict[str, models.Field[Any, Any]]] = {}

    def of(self, model: type[models.Model]) -> dict[str, models.Field[Any, Any]]:
        if model not in self._by_model:
            self._by_model[model] = {f.column: f for f in model._meta.concrete_fields}
        return self._by_model[model]


def render_entries(
    obj: models.Model, page: Sequence[HistoryEntry], listed: Sequence[Listed], admin_name: str
) -> list[Entry]:
    """The page's entries with names: one query for the actors, one per related model the changes
    point at, one per inline table for its rows' labels, whatever the number of entries."""
    models_by_table = {table.model._meta.db_table: table for table in listed}
    columns = _Columns()

    # What to look up, across the whole page.
    wanted: dict[type[models.Model], set[Any]] = defaultdict(set)
    child_rows: dict[str, set[int]] = defaultdict(set)
    actor_ids = {entry.actor_id for entry in page if entry.actor_id is not None}
    for entry in page:
        table = models_by_table.get(entry.table_name)
        if table is None:
            continue
        if table.parent_key is not None:
            child_rows[entry.table_name].add(entry.row_id)
        fields = columns.of(table.model)
        for column, values in (entry.changes or {}).items():
            model_field = fields.get(column)
            if model_field is not None and model_field.many_to_one:
                remote: Any = _remote(model_field)
                if remote is User:
                    actor_ids.update(_ids(values))
                else:
                    wanted[remote].update(_ids(values))

    users = {user.pk: _person(user) for user in User._base_manager.filter(pk__in=actor_ids)}
    names: dict[type[models.Model], dict[Any, str]] = {User: users, type(obj): {obj.pk: str(obj)}}
    for remote, ids in wanted.items():
        known = names.setdefault(remote, {})
        missing = ids - known.keys()
        if missing:
            # Deleted rows keep their name in history; rows this member may not see read as their id.
            known.update((row.pk, str(row)) for row in remote._base_manager.filter(pk__in=missing))
    labels: dict[str, dict[int, tuple[str, str | None]]] = {}
    for table_name, ids in child_rows.items():
        table = models_by_table[table_name]
        rows = table.model._base_manager.filter(pk__in=ids).select_related(*table.select_related)
        verbose = capfirst(str(table.model._meta.verbose_name))
        labels[table_name] = {row.pk: (f"{verbose}: {row}", _change_url(row, admin_name)) for row in rows}

    rendered = []
    for entry in page:
        table = models_by_table.get(entry.table_name)
        record, record_url = "", None
        if table is not None and table.parent_key is not None:
            verbose = capfirst(str(table.model._meta.verbose_name))
            record, record_url = labels[entry.table_name].get(
                entry.row_id, (f"{verbose} #{entry.row_id}", None)
            )
        fields = columns.of(table.model) if table is not None else {}
        order = {column: index for index, column in enumerate(fields)}
        changed = sorted((entry.changes or {}).items(), key=lambda item: order.get(item[0], len(order)))
        changes = [
            _change(column, values, fields.get(column), names)
            for column, values in changed
            if not (column in _OPERATION_COLUMNS and entry.operation != HistoryOperation.UPDATE)
            # A new row's blank fields are not news (the trigger already leaves out its empty ones).
            and not (entry.operation == HistoryOperation.INSERT and _blank(values))
            # An inline row's key to this page's row says only what the page already says.
            and not (table is not None and column == parent_column(table) and _points_at(values, obj.pk))
        ]
        rendered.append(
            Entry(
                occurred_at=entry.occurred_at,
                actor=users.get(entry.actor_id, f"Member #{entry.actor_id}") if entry.actor_id else "System",
                operation=str(HistoryOperation(entry.operation).label)
                if entry.operation in HistoryOperation.values
                else entry.operation,
                operation_code=entry.operation,
                request_id=entry.request_id,
                record=record,
                record_url=record_url,
                changes=changes,
            )
        )
    return rendered


def parent_column(table: Listed) -> str | None:
    if table.parent_key is None:
        return None
    return table.model._meta.get_field(table.parent_key).column  # type: ignore[union-attr]


def _points_at(values: Any, pk: Any) -> bool:
    return isinstance(values, list) and all(v in (None, pk) for v in values)


def _blank(values: Any) -> bool:
    return isinstance(values, list) and len(values) == 2 and values[1] in ("", [], {})


def _remote(model_field: models.Field[Any, Any]) -> Any:
    relation: Any = model_field.remote_field
    return relation.model


def _person(user: User) -> str:
    return user.get_full_name() or user.email


def _ids(values: Any) -> list[Any]:
    return [v for v in (values or []) if v is not None]


def _label(model_field: models.Field[Any, Any]) -> str:
    return str(capfirst(str(model_field.verbose_name)))


def _change(
    column: str,
    values: Any,
    model_field: models.Field[Any, Any] | None,
    names: dict[type[models.Model], dict[Any, str]],
) -> Change:
    old, new = [*values, None, None][:2] if isinstance(values, list) else (None, values)
    if model_field is None:  # a column the model no longer has
        return Change(column, _plain(old), _plain(new))
    return Change(_label(model_field), readable(model_field, old, names), readable(model_field, new, names))


def readable(
    model_field: models.Field[Any, Any], value: Any, names: dict[type[models.Model], dict[Any, str]]
) -> str:
    """A stored value (as to_jsonb wrote it) as the admin's forms would show it."""
    if value is None:
        return EMPTY
    if model_field.many_to_one:
        remote: Any = _remote(model_field)
        return names.get(remote, {}).get(value) or f"#{value}"
    if model_field.choices:
        return str(dict(model_field.flatchoices).get(value, value))
    if isinstance(model_field, models.BooleanField):
        return "Yes" if value else "No"
    if isinstance(model_field, models.DateTimeField):
        moment = parse_datetime(str(value))
        if moment is not None:
            return formats.date_format(timezone.localtime(moment), "DATETIME_FORMAT")
    elif isinstance(model_field, models.DateField):
        day = parse_date(str(value))
        if day is not None:
            return formats.date_format(day, "DATE_FORMAT")
    number = getattr(model_field, "output_field", model_field)  # a GeneratedField's type
    if isinstance(number, models.DecimalField):
        try:
            return formats.number_format(Decimal(str(value)), decimal_pos=number.decimal_places)
        except (InvalidOperation, ValidationError):
            pass
    if value == "":
        return "(blank)"
    return _plain(value)


def _plain(value: Any) -> str:
    if value is None:
        return EMPTY
    return Truncator(str(value)).chars(_LONG_TEXT)


def _change_url(row: models.Model, admin_name: str) -> str | None:
    opts = row._meta
    try:
        return reverse(f"{admin_name}:{opts.app_label}_{opts.model_name}_change", args=[row.pk])
    except NoReverseMatch:
        return None
