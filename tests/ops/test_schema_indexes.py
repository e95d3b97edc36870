"""The project's own migrated schema passes dbhealth's index checks: no duplicate or redundant index, no
foreign key without an index leading with it (each extra index costs every write; a missing one turns a
delete in the referenced table into a scan of the referencing one)."""

from __future__ import annotations

import pytest
from django.apps import apps
from django.db import connection

from crm.ops.dbhealth import Check, Thresholds, run_checks

# Apps whose tables Django builds (contrib apps, and the auto-created tables of many-to-many fields, such as
# crm_user_groups): their indexes are Django's to choose, and they hold a handful of rows.
DJANGO_APP_PREFIX = "django.contrib."


def check(name: str) -> Check:
    (result,) = run_checks(connection, thresholds=Thresholds(), only=[name]).checks
    return result


def built_by_django(table: str) -> bool:
    """Whether Django, not a model of this project, decides this table's indexes."""
    name = table.removeprefix("public.")  # regclass names carry the schema only off the search_path
    for model in apps.get_models(include_auto_created=True):
        if model._meta.db_table == name:
            return model._meta.auto_created is not False or model._meta.app_config.name.startswith(
                DJANGO_APP_PREFIX
            )
    return False


@pytest.mark.django_db
def test_migrated_schema_has_no_duplicate_index() -> None:
    result = check("duplicate_indexes")
    assert result.details == []
    assert result.status == "ok"


@pytest.mark.django_db
def test_migrated_schema_has_no_foreign_key_without_an_index_leading_with_it() -> None:
    result = check("foreign_keys_without_index")
    assert result.details == []
    assert result.status == "ok"


@pytest.mark.django_db
def test_only_djangos_own_tables_keep_a_redundant_index() -> None:
    result = check("redundant_indexes")
    ours = [
        (row["table"], row["index"], row["covered_by"])
        for row in result.details
        if not built_by_django(row["table"])
    ]
    assert ours == []
    # The exemption is narrow: each of these has a foreign key's index next to a unique pair leading with it.
    assert {row["table"] for row in result.details} <= {
        "auth_permission",
        "auth_group_permissions",
        "crm_user_groups",
        "crm_user_user_permissions",
    }


@pytest.mark.django_db
def test_the_checks_see_an_index_planted_next_to_a_projects_foreign_key_index() -> None:
    """Guards the three tests above against passing vacuously (wrong schema, a check that finds nothing)."""
    with connection.cursor() as cursor:
        cursor.execute("CREATE INDEX interaction_contact_again ON interaction (contact_id)")
        cursor.execute("CREATE INDEX interaction_user_occurred ON interaction (user_id, occurred_at)")
    assert [row["index"] for row in check("duplicate_indexes").details] == ["interaction_contact_again"]
    redundant = {row["index"]: row["covered_by"] for row in check("redundant_indexes").details}
    assert redundant["interaction_user_id_55257d33"] == "interaction_user_occurred"
    assert not built_by_django("interaction")
    with connection.cursor() as cursor:
        cursor.execute("DROP INDEX principal_assignment_tenant")  # the tenant key's only index
    unindexed = check("foreign_keys_without_index").details
    assert [(row["table"], row["columns"]) for row in unindexed] == [("principal_assignment", ["tenant_id"])]
    assert built_by_django("crm_user_groups")
