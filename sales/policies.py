"""Row level security of the sales app's tables as it is today (crm.policy_declarations; the migrations
carry the literal SQL of each step). Change a policy here, then `manage.py makepolicymigration sales`.

Facts are the product's principal's (the scope key, kept by the database): admins and the principal's
book read them, writers of the book write and replace them (a re-imported period deletes them: not
business records, no soft delete, ADR 0034). An unmatched row with a product recognised is the product's
principal's too; with none, its importer's and the admins' alone (the raw row may be any principal's).
Aliases and mappings are shared, as customer–distributor links are: every role reads them, writers
write and remove them."""

from crm.policy_declarations import declare
from crm.rls import BOOK, ROLE, TENANT, USER

WRITER = f"{ROLE} IN ('admin', 'manager')"
IN_BOOK = f"({ROLE} = 'admin' OR principal_id = ANY ({BOOK}::bigint[]))"
FACT_READ = f"tenant_id = {TENANT} AND {IN_BOOK}"
FACT_WRITE = f"tenant_id = {TENANT} AND {WRITER} AND {IN_BOOK}"
UNMATCHED_SCOPE = (
    f"({ROLE} = 'admin' OR principal_id = ANY ({BOOK}::bigint[])"
    f" OR (principal_id IS NULL AND created_by_id = {USER}))"
)
UNMATCHED_READ = f"tenant_id = {TENANT} AND {UNMATCHED_SCOPE}"
UNMATCHED_WRITE = f"tenant_id = {TENANT} AND {WRITER} AND {UNMATCHED_SCOPE}"
# Rows are kept by the import acting as its importer: each is written as its own.
UNMATCHED_INSERT = f"{UNMATCHED_WRITE} AND created_by_id = {USER}"
SHARED_READ = f"tenant_id = {TENANT}"
SHARED_WRITE = f"tenant_id = {TENANT} AND {WRITER}"

POLICIES = (
    declare("sales_fact", select=FACT_READ, insert=FACT_WRITE, update=FACT_WRITE, delete=FACT_WRITE),
    declare(
        "sales_unmatched",
        select=UNMATCHED_READ,
        insert=UNMATCHED_INSERT,
        update=UNMATCHED_WRITE,
        delete=UNMATCHED_WRITE,
    ),
    declare(
        "sales_customer_alias",
        select=SHARED_READ,
        insert=SHARED_WRITE,
        update=SHARED_WRITE,
        delete=SHARED_WRITE,
    ),
    declare(
        "sales_column_mapping",
        select=SHARED_READ,
        insert=SHARED_WRITE,
        update=SHARED_WRITE,
        delete=SHARED_WRITE,
    ),
)
