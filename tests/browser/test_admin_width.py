"""The admin's main pages fit a 1400 px window in a real browser: headless Chromium, signed in as a manager,
measures `document.documentElement.scrollWidth` of every change page with inlines (organizations of each
type, an opportunity, a product), the lists, the dashboard and the History page, with long names and many
rows. Needs Debian's chromium (`make chromium`); without it this is skipped, loudly.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from django.conf import global_settings

from tests import factories as f
from tests.conftest import Firm, make_firm
from tests.live import runserver
from workbench.admin_pages import WINDOW_WIDTH, AdminPage, chromium, main_pages, measure, signed_in_page

pytestmark = pytest.mark.skipif(
    chromium() is None,
    reason="CHROMIUM NOT INSTALLED: the admin's width test is SKIPPED (make chromium, or apt-get install chromium)",
)

PASSWORD = "Harbor-admin-width-1"
LONG = "Fresh Market Delicatessen & Prepared Foods of Greater Boston"


@pytest.fixture
def busy_firm(transactional_db: Any, settings: Any) -> Iterator[Firm]:
    """A manager's book with every inline full of rows and long values (the server is another process:
    the rows are committed)."""
    firm = make_firm("Harbor")
    settings.PASSWORD_HASHERS = global_settings.PASSWORD_HASHERS  # the server checks as deployed
    firm.manager.set_password(PASSWORD)
    firm.manager.save(update_fields=["password"])
    tenant, principal = firm.tenant, firm.principal_a
    customer = f.CustomerFactory(tenant=tenant, name=LONG, website="https://www.example.com/" + "x" * 60)
    for n in range(4):
        f.ContactFactory(
            tenant=tenant,
            organization=principal,
            title="Regional Foodservice Marketing Manager",
            email=f"someone.with.a.long.address.{n}@fresh-market-delicatessen.example",
        )
        f.ContactFactory(  # the longest names: a name chosen in an inline must not widen its column
            tenant=tenant,
            organization=customer,
            first_name=f"Maximiliana-Christabel {n}",
            last_name="Vandenberghe-Montgomery",
            title="Executive Chef and Purchasing",
        )
        distributor = f.DistributorFactory(tenant=tenant, name=f"{LONG} Distribution {n}")
        f.DistributorAuthorizationFactory(
            tenant=tenant, principal=principal, distributor=distributor, notes="Carries the whole line " * 8
        )
        f.CustomerDistributorFactory(tenant=tenant, customer=customer, distributor=distributor)
        product = f.ProductFactory(
            tenant=tenant, principal=principal, name=f"Dark Roast Fractional Pack {n} {LONG}"
        )
        f.ProductDistributorFactory(tenant=tenant, product=product, distributor=distributor)
    opportunity = f.OpportunityFactory(
        tenant=tenant,
        principal=principal,
        customer=customer,
        name=f"Dark Roast at {LONG}",
        owner=firm.manager,
    )
    for line in principal.products.all():
        f.OpportunityProductFactory(
            tenant=tenant, opportunity=opportunity, product=line, notes="Weekly " * 20
        )
    for contact in customer.contacts.all():
        f.OpportunityContactFactory(tenant=tenant, opportunity=opportunity, contact=contact)
        f.InteractionFactory(
            tenant=tenant,
            organization=customer,
            contact=contact,
            opportunity=opportunity,
            principal=principal,
            user=firm.manager,
            subject=f"Site visit: tasting of the whole line at {LONG}",
        )
    yield firm


def test_the_admins_main_pages_fit_a_1400px_window(busy_firm: Firm, monkeypatch: Any) -> None:
    pages = main_pages(busy_firm.manager.pk)
    assert {p.name for p in pages} >= {
        "04-organization-principal",
        "05-organization-distributor",
        "06-organization-customer",
        "07-opportunity",
        "08-opportunity-history",
        "09-product",
    }
    # Playwright's sync API keeps an event loop on this thread, which Django takes for an async context.
    monkeypatch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "1")
    too_wide: list[tuple[AdminPage, int, list[str]]] = []
    with runserver() as base, signed_in_page(base, busy_firm.manager.email, PASSWORD) as page:
        for admin_page in pages:
            measured = measure(page, base, admin_page)
            assert measured.status == 200, admin_page
            if measured.scroll_width > WINDOW_WIDTH:
                too_wide.append((admin_page, measured.scroll_width, measured.overflowing))
            if "/change/" in admin_page.path:  # nor does an inline table scroll sideways inside the page
                assert measured.scrolling == [], (admin_page, measured.scrolling)
            if admin_page.name == "07-opportunity":
                # The inline rows are labelled by names, and the CSS that compacts them is loaded.
                assert page.locator(".inline-group td.original p", has_text=" in Dark Roast at ").count() == 4
    assert too_wide == []
