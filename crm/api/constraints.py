"""Turns a database error into (field, code, message) for a 400, using the models' own constraints.

The database is the last word on integrity (CHECKs, unique indexes, triggers); this module only makes
its refusals readable. Trigger errors name their column through `RAISE ... USING COLUMN`. A write that a
row level security policy refuses is told apart (`refused_by_policy`): it is a 403, not bad input.
"""

from __future__ import annotations

import re
from functools import cache

from django.apps import apps
from django.db import models

_KEY_COLUMN = re.compile(r"Key \((?:lower\()?\(?([a-z_]+)")


@cache
def _constraints() -> dict[str, tuple[str | None, str]]:
    """constraint name → (API field, message), from every model's Meta.constraints."""
    found: dict[str, tuple[str | None, str]] = {}
    for model in apps.get_models():
        for constraint in model._meta.constraints:
            message = str(constraint.violation_error_message)
            if message == str(constraint.default_violation_error_message):
                message = ""
            field = _first_field(constraint)
            if isinstance(constraint, models.UniqueConstraint):
                found[constraint.name] = (field, message or "This value is already in use.")
            else:
                found[constraint.name] = (field, message or f"Invalid value for {field or 'this record'}.")
    return found


def constraint_field(name: str) -> str | None:
    """The field a broken constraint is about (the admin shows its error there)."""
    return _constraints().get(name, (None, ""))[0]


def _first_field(constraint: models.BaseConstraint) -> str | None:
    """The field a user would fix: the last named field that is not the tenant."""
    names: list[str] = []
    if isinstance(constraint, models.UniqueConstraint):
        names = list(constraint.fields)
        for expression in constraint.expressions:
            names.extend(_expression_fields(expression))
    elif isinstance(constraint, models.CheckConstraint):
        names = _q_fields(constraint.condition)
    names = [n for n in names if n not in ("tenant", "deleted_at")]
    if not names:
        return None
    return names[-1] if isinstance(constraint, models.UniqueConstraint) else names[0]


def _q_fields(node: object) -> list[str]:
    if isinstance(node, models.Q):
        out: list[str] = []
        for child in node.children:
            out.extend(_q_fields(child))
        return out
    if isinstance(node, tuple):
        return [node[0].split("__")[0]]
    # A lookup used as a condition (char_length(notes) <= 10000): the fields it reads.
    return _expression_fields(node)


def _expression_fields(expression: object) -> list[str]:
    if isinstance(expression, models.F):
        return [expression.name]
    if isinstance(expression, str):
        return [expression]
    return [
        name
        for source in getattr(expression, "get_source_expressions", list)()
        for name in _expression_fields(source)
    ]


INSUFFICIENT_PRIVILEGE = "42501"


def _sqlstate(exc: BaseException) -> str | None:
    return getattr(exc.__cause__ or exc, "sqlstate", None)


def refused_by_policy(exc: BaseException) -> bool:
    """The database refused the statement for lack of privilege: a policy's WITH CHECK, most often."""
    return _sqlstate(exc) == INSUFFICIENT_PRIVILEGE


def describe_database_error(exc: BaseException) -> tuple[str | None, str, str] | None:
    """(field, code, message) for errors caused by bad input; None for anything else (a real 500)."""
    cause = exc.__cause__ or exc
    sqlstate = _sqlstate(exc)
    diag = getattr(cause, "diag", None)
    if not sqlstate or diag is None:
        return None
    column = diag.column_name
    field = column.removesuffix("_id") if column else None
    constraint = diag.constraint_name
    primary = diag.message_primary or "Invalid value."
    if sqlstate == "23505":  # unique_violation
        if constraint in _constraints():
            field_name, message = _constraints()[constraint or ""]
            return field_name, "unique", message
        # A field's own unique=True (e.g. crm_user_email_key): the key names the column.
        match = _KEY_COLUMN.search(diag.message_detail or "")
        return (
            (match.group(1).removesuffix("_id") if match else None),
            "unique",
            "This value is already in use.",
        )
    if sqlstate == "23514":  # check_violation: a CHECK constraint or one of our triggers
        if column:
            return field, "invalid", primary
        field_name, message = _constraints().get(constraint or "", (None, primary))
        return field_name, "invalid", message
    if sqlstate == "23503":  # foreign_key_violation
        if not column:
            match = _KEY_COLUMN.search(diag.message_detail or "")
            field = match.group(1).removesuffix("_id") if match else None
        message = "Invalid pk - object does not exist." if field else "A referenced object does not exist."
        if column:
            message = primary
        return field, "does_not_exist", message
    if sqlstate == "23502":  # not_null_violation
        return field, "required", "This field is required."
    if sqlstate.startswith("22"):  # data exception: out of range, too long, bad format…
        return field, "invalid", primary
    return None
