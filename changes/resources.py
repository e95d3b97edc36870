"""Which API resource a history table is: the router's URL prefix of the viewset serving that table's model.

Read from crm.urls's router (every entity app registers its routes there), for the tables whose changes
history records (those with a `record_history` trigger), so a new resource is in the feed by existing.
"""

from __future__ import annotations

from functools import cache


@cache
def resource_of_table() -> dict[str, str]:
    """{history table name: resource name}, e.g. {"organization": "organizations"}."""
    from crm.urls import router

    found: dict[str, str] = {}
    for prefix, viewset, _basename in router.registry:
        meta = getattr(getattr(viewset, "serializer_class", None), "Meta", None)
        model = getattr(meta, "model", None)
        if model is None:
            continue
        triggers = getattr(model._meta, "triggers", ())
        if any(getattr(trigger, "name", None) == "record_history" for trigger in triggers):
            found.setdefault(model._meta.db_table, prefix)
    return found


def table_of_resource() -> dict[str, str]:
    return {resource: table for table, resource in resource_of_table().items()}
