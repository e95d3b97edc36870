"""Which API resource a history table is: the router's URL name of the viewset serving that table's model.

Written out (the schema names them, before any URL is loaded); `tests/changes/test_resources.py` checks it
against crm.urls's router, for every table whose changes history records (a `record_history` trigger),
so a new resource fails there until it is added.
"""

from __future__ import annotations

RESOURCE_OF_TABLE = {
    "organization": "organizations",
    "distributor_authorization": "distributor-authorizations",
    "customer_distributor": "customer-distributors",
    "contact": "contacts",
    "product": "products",
    "product_distributor": "product-distributors",
    "opportunity": "opportunities",
    "opportunity_product": "opportunity-products",
    "opportunity_contact": "opportunity-contacts",
    "interaction": "interactions",
    # A sample's lines are part of it (samples/): a change of its lines moves its version on.
    "sample": "samples",
    "task": "tasks",
}
RESOURCES = tuple(sorted(RESOURCE_OF_TABLE.values()))


def routed_resources() -> dict[str, str]:
    """The same, as crm.urls's router has it today (for the test)."""
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
