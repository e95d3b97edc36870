"""Merging duplicate records: every reference to the merged rows moved onto the survivor (ADR 0029).

The references are found from the model graph (every foreign key to the model, hidden ones included), not
from a list, so a table added later (tasks, sample lines, sales facts) is moved without a change here;
`tests/crm/test_merges.py` holds the graph to pg_constraint. Everything runs as the caller, under row level
security, in the caller's transaction: the database's triggers check each moved row as they check any
write, and `crm_merge_left_behind()` (crm migration 0030) refuses a merge that left a reference behind (a
row the caller cannot reach).
"""

from __future__ import annotations

import functools
import graphlib
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from django.db import connection, models, transaction
from django.db.models import F, Q
from django.db.models.fields.reverse_related import ForeignObjectRel
from django.utils import timezone

from crm.models import TenantModel
from crm.records import Conflict

MERGED_INTO = "merged_into"


@dataclass(frozen=True)
class Reference:
    """One foreign key to the merged model: `model.field` (a column of `model`'s table)."""

    model: type[models.Model]
    field: models.ForeignKey[Any, Any]

    @property
    def label(self) -> str:
        return f"{self.model._meta.db_table}.{self.field.column}"


@dataclass
class MergePlan:
    """What a merge will write, worked out before it writes anything."""

    survivor: TenantModel
    merged: list[TenantModel]
    # Rows of plain links that duplicate a link of the survivor's once moved (same values): soft-deleted.
    folded: dict[type[models.Model], set[Any]] = field(default_factory=lambda: defaultdict(set))
    # Rows of a mergeable model that would clash with their twin on the survivor's side: merged into it.
    twins: list[tuple[TenantModel, TenantModel]] = field(default_factory=list)
    clashes: list[dict[str, Any]] = field(default_factory=list)


def mergeable(model: type[models.Model]) -> bool:
    return any(f.name == MERGED_INTO for f in model._meta.concrete_fields)


@functools.cache
def references_to(model: type[models.Model]) -> list[Reference]:
    """Every foreign key to `model`, from the model graph, in the order a merge moves them: a model before
    the models that reference it among them (contacts before the interactions naming them), since each
    moved row is checked against the rows it references as they are then."""
    found = [
        Reference(relation.related_model, relation.field)  # type: ignore[arg-type]
        for relation in model._meta.get_fields(include_hidden=True)
        if isinstance(relation, ForeignObjectRel)
        and not relation.many_to_many
        and relation.field.concrete
        and isinstance(relation.related_model, type)
    ]
    models_found = {reference.model for reference in found}
    graph: dict[type[models.Model], set[type[models.Model]]] = {}
    for referencing in sorted(models_found, key=lambda m: m._meta.label):
        graph[referencing] = {
            f.related_model  # type: ignore[misc]
            for f in referencing._meta.concrete_fields
            if f.is_relation and f.related_model in models_found and f.related_model is not referencing
        }
    try:
        ordered = list(graphlib.TopologicalSorter(graph).static_order())
    except graphlib.CycleError:  # tables referring to each other: no order helps, the triggers decide
        ordered = list(graph)
    order = {m: i for i, m in enumerate(ordered)}
    return sorted(found, key=lambda r: (order[r.model], r.field.name))


def _business_columns(model: type[models.Model], moved: models.Field[Any, Any]) -> list[str]:
    """The columns a person set: two links agreeing on them (and on the moved key) say the same thing."""
    return [
        f.attname
        for f in model._meta.concrete_fields
        if f.editable and not f.primary_key and f is not moved and not getattr(f, "generated", False)
    ]


def _unique_keys(model: type[models.Model], moved: models.Field[Any, Any]) -> list[models.UniqueConstraint]:
    keys = []
    for constraint in model._meta.constraints:
        if not isinstance(constraint, models.UniqueConstraint):
            continue
        names = set(constraint.fields) | {e.name for e in constraint.expressions if isinstance(e, F)}
        if names & {moved.name, moved.attname}:
            keys.append(constraint)
    return keys


def merge_plan(*, survivor: TenantModel, merged: Sequence[TenantModel]) -> MergePlan:
    """Which moved rows would break a unique key of their table, and what to do about each: a link
    identical to the survivor's is folded, a row of a mergeable model is merged into its twin, anything
    else is a clash (the merge is refused, naming it). Reads only: nothing is written."""
    plan = MergePlan(survivor=survivor, merged=list(merged))
    ids = [survivor.pk, *(row.pk for row in merged)]
    for reference in references_to(type(survivor)):
        model, moved = reference.model, reference.field
        for key in _unique_keys(model, moved):
            expressions: list[Any] = [F(name) for name in key.fields] or list(key.expressions)
            position = next(
                i
                for i, e in enumerate(expressions)
                if isinstance(e, F) and e.name in (moved.name, moved.attname)
            )
            annotations = {f"merge_key_{i}": e for i, e in enumerate(expressions)}
            columns = _business_columns(model, moved)
            rows = (
                model._default_manager.filter(key.condition or Q())
                .filter(**{f"{moved.attname}__in": ids})
                .annotate(**annotations)
                .values("pk", moved.attname, *annotations, *columns)
            )
            groups: dict[tuple[Any, ...], list[dict[str, Any]]] = defaultdict(list)
            for row in rows:
                values = [row[name] for name in annotations]
                values[position] = survivor.pk
                groups[tuple(values)].append(row)
            for group in groups.values():
                if len(group) < 2:
                    continue
                group.sort(key=lambda row: (row[moved.attname] != survivor.pk, row["pk"]))
                keeper, others = group[0], group[1:]
                for other in others:
                    differing = [c for c in columns if other[c] != keeper[c]]
                    if any(twin.pk == other["pk"] for _, twin in plan.twins):
                        continue
                    if mergeable(model) and keeper[moved.attname] == survivor.pk:
                        by_pk = model._default_manager.in_bulk([keeper["pk"], other["pk"]])
                        plan.twins.append((by_pk[keeper["pk"]], by_pk[other["pk"]]))  # type: ignore[arg-type]
                    elif not differing and not mergeable(model):  # a record is merged, never folded
                        plan.folded[model].add(other["pk"])
                    else:
                        plan.clashes.append(
                            {
                                "resource": model._meta.db_table,
                                "constraint": key.name,
                                "detail": str(key.violation_error_message or key.name),
                                "records": [keeper["pk"], other["pk"]],
                                "differing": [c.removesuffix("_id") for c in differing],
                            }
                        )
    return plan


def record_merge(*, survivor: TenantModel, merged: Sequence[TenantModel]) -> MergePlan:
    """Merge `merged` (live rows of survivor's model, locked by the caller) into `survivor`, in one
    transaction: each is marked merged (deleted, `merged_into` set: history records a merge on both
    sides), every reference to them is moved onto the survivor, identical links folded, twins of a
    mergeable model merged in turn. A clash of unique links is a 409 naming each, before anything is
    written; a reference the caller cannot move (outside their reach) is a 409 after, and the
    transaction is rolled back with it."""
    plan = merge_plan(survivor=survivor, merged=merged)
    if plan.clashes:
        raise Conflict(
            "Some links of the merged records clash with the survivor's and differ from them; change or "
            "delete one of each pair, then merge.",
            code="merge_clash",
            clashes=plan.clashes,
        )
    with transaction.atomic():
        _apply(plan, mark=True)
    return plan


def _apply(plan: MergePlan, *, mark: bool) -> None:
    model = type(plan.survivor)
    merged_ids = [row.pk for row in plan.merged]
    stamp = timezone.now()
    if mark:  # first: a contact may follow its organization only once that one is merged (ADR 0029)
        model._default_manager.filter(pk__in=merged_ids).update(
            merged_into=plan.survivor.pk, deleted_at=stamp
        )
    for keeper, twin in plan.twins:  # out of the unique keys before their rows move
        type(twin)._default_manager.filter(pk=twin.pk).update(merged_into=keeper.pk, deleted_at=stamp)
    for folded_model, pks in plan.folded.items():
        folded_model._default_manager.filter(pk__in=pks, deleted_at__isnull=True).update(deleted_at=stamp)
    for reference in references_to(model):
        rows = reference.model._default_manager.filter(**{f"{reference.field.attname}__in": merged_ids})
        if reference.model is model:
            # The survivor's own link to a merged row (its parent, its manager) would point at itself.
            rows.filter(pk=plan.survivor.pk).update(**{reference.field.attname: None})
            rows = rows.exclude(pk__in=[plan.survivor.pk, *merged_ids])
        rows.update(**{reference.field.attname: plan.survivor.pk})
    for keeper, twin in plan.twins:
        # The twin is marked already; its own references now follow it onto the keeper.
        _apply(MergePlan(survivor=keeper, merged=[twin], **_plan_parts(keeper, twin)), mark=False)
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT crm_merge_left_behind(%s::regclass, %s::bigint[])", [model._meta.db_table, merged_ids]
        )
        left_behind = cursor.fetchone()[0]
    if left_behind:
        raise Conflict(
            "Records you cannot see refer to the records being merged; an admin can merge them.",
            code="merge_out_of_reach",
        )


def _plan_parts(keeper: TenantModel, twin: TenantModel) -> dict[str, Any]:
    plan = merge_plan(survivor=keeper, merged=[twin])
    if plan.clashes:
        raise Conflict(
            "Some links of the merged records clash with the survivor's and differ from them; change or "
            "delete one of each pair, then merge.",
            code="merge_clash",
            clashes=plan.clashes,
        )
    return {"folded": plan.folded, "twins": plan.twins, "clashes": []}
