"""The admin's main pages in headless Chromium: signed in as a member, each page's width measured (does it fit
a 1400 px window?) and, for `manage.py admin_screenshots`, saved as a PNG. Shared with tests/browser.

Playwright drives Debian's Chromium launched by path (no browser download), as tests/browser does.
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from django.db.models import Count, Q

from crm import rls

WINDOW_WIDTH = 1400
WINDOW_HEIGHT = 900
# What this machine's Chromium needs headless (Playwright adds --headless and a fresh profile of its own).
CHROMIUM_FLAGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


def chromium() -> str | None:
    return shutil.which("chromium") or shutil.which("chromium-browser")


@dataclass(frozen=True)
class AdminPage:
    name: str  # the screenshot's file name, without .png
    path: str  # under the server's base URL


@dataclass(frozen=True)
class Measured:
    page: AdminPage
    status: int
    scroll_width: int
    overflowing: list[str]  # the widest elements past the window's right edge, for a message
    # Boxes that scroll sideways inside the page (a list's table wider than its column): the page fits,
    # these need a scroll to read whole.
    scrolling: list[str]


def main_pages(user_id: int) -> list[AdminPage]:
    """The pages a manager lives in, with the busiest rows of their book (most lines on the page), found
    as that member (row level security): the dashboard, lists, and change pages with their inlines."""
    from interactions.models import Interaction
    from opportunities.models import Opportunity
    from organizations.models import Organization, OrganizationType
    from products.models import Product

    def busiest(queryset: Any, *counted: str) -> Any:
        live = [
            Count(name, filter=Q(**{f"{name}__deleted_at__isnull": True}), distinct=True) for name in counted
        ]
        total = sum(live[1:], live[0])
        return queryset.filter(deleted_at__isnull=True).annotate(lines=total).order_by("-lines", "id").first()

    pages = [
        AdminPage("01-index", "/admin/"),
        AdminPage("02-dashboard", "/admin/dashboard/"),
        AdminPage("03-organization-list", "/admin/organizations/organization/"),
    ]
    with rls.acting_as(user_id):
        organizations = Organization.objects.all()
        principal = busiest(
            organizations.filter(type=OrganizationType.PRINCIPAL),
            "contacts",
            "products",
            "authorized_distributors",
        )
        distributor = busiest(
            organizations.filter(type=OrganizationType.DISTRIBUTOR), "contacts", "authorized_principals"
        )
        customer = busiest(organizations.filter(type=OrganizationType.CUSTOMER), "contacts", "distributors")
        opportunity = busiest(
            Opportunity.objects.all(), "opportunity_products", "opportunity_contacts", "interactions"
        )
        product = busiest(Product.objects.all(), "distributor_items")
        has_interactions = Interaction.objects.exists()
    change = "/admin/{}/{}/{}/change/"
    if principal is not None:
        pages.append(
            AdminPage(
                "04-organization-principal", change.format("organizations", "organization", principal.pk)
            )
        )
    if distributor is not None:
        pages.append(
            AdminPage(
                "05-organization-distributor", change.format("organizations", "organization", distributor.pk)
            )
        )
    if customer is not None:
        pages.append(
            AdminPage("06-organization-customer", change.format("organizations", "organization", customer.pk))
        )
    if opportunity is not None:
        pages.append(
            AdminPage("07-opportunity", change.format("opportunities", "opportunity", opportunity.pk))
        )
        pages.append(
            AdminPage("08-opportunity-history", f"/admin/opportunities/opportunity/{opportunity.pk}/history/")
        )
    if product is not None:
        pages.append(AdminPage("09-product", change.format("products", "product", product.pk)))
    if has_interactions:
        pages.append(AdminPage("10-interaction-list", "/admin/interactions/interaction/"))
    pages.append(AdminPage("11-opportunity-list", "/admin/opportunities/opportunity/"))
    return pages


@contextmanager
def signed_in_page(base_url: str, email: str, password: str) -> Iterator[Any]:
    """A 1400 × 900 Chromium page signed in to the admin at `base_url`."""
    from playwright.sync_api import sync_playwright

    executable = chromium()
    if executable is None:
        raise RuntimeError("Chromium is not installed (make chromium, or apt-get install chromium)")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=executable, args=CHROMIUM_FLAGS)
        try:
            page = browser.new_page(viewport={"width": WINDOW_WIDTH, "height": WINDOW_HEIGHT})
            page.set_default_timeout(30_000)
            page.goto(f"{base_url}/admin/login/?next=/admin/")
            page.fill("#id_username", email)
            page.fill("#id_password", password)
            page.click("input[type=submit]")
            page.wait_for_load_state("networkidle")
            if "/admin/login/" in page.url:
                raise RuntimeError(f"could not sign in to {base_url}/admin/ as {email}")
            yield page
        finally:
            browser.close()


# The elements whose right edge is past the window: what to fix when a page is too wide.
_OVERFLOWING = """(width) => Array.from(document.querySelectorAll('body *'))
  .map((e) => [e, e.getBoundingClientRect()])
  .filter(([e, r]) => r.right > width + 1 && r.width > 0)
  .sort((a, b) => b[1].right - a[1].right)
  .slice(0, 5)
  .map(([e, r]) => `${e.tagName.toLowerCase()}${e.id ? '#' + e.id : ''}${e.className && typeof e.className === 'string' ? '.' + e.className.trim().split(/\\s+/).join('.') : ''} right=${Math.round(r.right)}`)"""


_SCROLLING = """() => Array.from(document.querySelectorAll('body *'))
  .filter((e) => e.scrollWidth > e.clientWidth + 1 && ['auto', 'scroll'].includes(getComputedStyle(e).overflowX))
  .map((e) => `${e.tagName.toLowerCase()}.${e.className} ${e.scrollWidth}px in ${e.clientWidth}px`)"""


def measure(page: Any, base_url: str, admin_page: AdminPage) -> Measured:
    response = page.goto(f"{base_url}{admin_page.path}")
    page.wait_for_load_state("networkidle")
    width = int(page.evaluate("document.documentElement.scrollWidth"))
    overflowing = list(page.evaluate(_OVERFLOWING, WINDOW_WIDTH)) if width > WINDOW_WIDTH else []
    scrolling = list(page.evaluate(_SCROLLING))
    return Measured(admin_page, response.status if response else 0, width, overflowing, scrolling)


def screenshot(page: Any, out: Path, admin_page: AdminPage) -> Path:
    path = out / f"{admin_page.name}.png"
    page.screenshot(path=str(path), full_page=True)
    return path
