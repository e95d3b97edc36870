from crm import rls
from organizations.models import Organization


def test_manager_sees_book_and_shared_only(firm):
    with rls.acting_as(firm.manager.pk):
        names = set(Organization.objects.values_list("name", flat=True))
    assert firm.principal_a.name in names and firm.customer.name in names
    assert firm.principal_b.name not in names
