"""The demo firm: a deterministic, realistic data set across every entity, loaded once by `load_demo`."""

from __future__ import annotations

import datetime as dt
import random
import re
from dataclasses import dataclass
from decimal import Decimal

from django.contrib.auth.hashers import make_password
from django.db import DatabaseError, connection, models, transaction
from django.utils import timezone

from contacts.models import Contact, ContactRole
from crm.models import Membership, PrincipalAssignment, Role, Tenant, User
from crm.services import tenant_create
from interactions.models import Interaction, InteractionType, Sentiment
from opportunities.models import (
    Opportunity,
    OpportunityContact,
    OpportunityPriority,
    OpportunityProduct,
    OpportunityStatus,
    Stage,
)
from organizations.models import (
    CustomerDistributor,
    DistributorAuthorization,
    Organization,
    OrganizationStatus,
    OrganizationType,
    Segment,
)
from products.models import Product, ProductCategory, ProductDistributor, ProductStatus
from sales.models import ColumnMapping, SalesFact, SalesUnmatched
from samples.models import Sample, SampleLine, SampleStatus, SampleUnit
from tasks.models import Task
from workbench.datagen import vocabulary
from workbench.demo_sales import add_demo_sales
from workbench.demo_tasks import add_demo_tasks

DEMO_TENANT_NAME = "Harbor Foodservice Brokers"
# The firm works Gulf Coast accounts: its reports count Central days and weeks.
DEMO_TIME_ZONE = "America/Chicago"
# One shared password: these are public demo accounts, printed by `manage.py demo_logins`.
DEMO_PASSWORD = "demo-pass-2026"
SEED = 2026


@dataclass(frozen=True)
class DemoUser:
    email: str
    first_name: str
    last_name: str
    role: str


ADMIN = DemoUser("dana.whitfield@harbor-brokers.example", "Dana", "Whitfield", Role.ADMIN)
MANAGERS = (
    DemoUser("marcus.reyes@harbor-brokers.example", "Marcus", "Reyes", Role.MANAGER),
    DemoUser("priya.shah@harbor-brokers.example", "Priya", "Shah", Role.MANAGER),
    DemoUser("tom.kowalski@harbor-brokers.example", "Tom", "Kowalski", Role.MANAGER),
)
VIEWER = DemoUser("lena.ortiz@harbor-brokers.example", "Lena", "Ortiz", Role.VIEWER)
DEMO_USERS = (ADMIN, *MANAGERS, VIEWER)

# (name, city, state, category, products: (name, pack size, unit, list price))
PRINCIPALS: tuple[tuple[str, str, str, str, tuple[tuple[str, str, str, str], ...]], ...] = (
    (
        "Blue Ridge Creamery",
        "Roanoke",
        "VA",
        ProductCategory.DAIRY,
        (
            ("Whole Milk", "4/1 gal", "case", "24.80"),
            ("Heavy Whipping Cream 40%", "12/1 qt", "case", "46.20"),
            ("Sharp Cheddar Block", "2/5 lb", "case", "38.90"),
            ("Greek Yogurt Plain", "6/32 oz", "case", "27.40"),
            ("Unsalted Butter Solids", "36/1 lb", "case", "129.00"),
        ),
    ),
    (
        "Golden Prairie Poultry",
        "Wichita",
        "KS",
        ProductCategory.MEAT_POULTRY,
        (
            ("Fully Cooked Chicken Breast Fillet 4 oz", "2/5 lb", "case", "58.75"),
            ("Breaded Chicken Tenders", "4/5 lb", "case", "72.10"),
            ("Jumbo Bone-In Chicken Wings", "4/10 lb", "case", "118.40"),
            ("Ground Turkey 93/7", "4/5 lb", "case", "61.30"),
            ("Diced Chicken Thigh Meat", "2/5 lb", "case", "49.95"),
        ),
    ),
    (
        "Cascade Coffee Roasters",
        "Tacoma",
        "WA",
        ProductCategory.BEVERAGES,
        (
            ("House Blend Whole Bean", "6/2 lb", "case", "96.00"),
            ("Dark Roast Fractional Pack 2.5 oz", "42/2.5 oz", "case", "64.50"),
            ("Cold Brew Concentrate", "4/0.5 gal", "case", "52.80"),
            ("Colombian Decaf Ground", "6/2 lb", "case", "101.40"),
            ("Chai Tea Latte Concentrate", "6/32 oz", "case", "39.90"),
        ),
    ),
    (
        "Gulf Coast Seafood Co.",
        "Bayou La Batre",
        "AL",
        ProductCategory.SEAFOOD,
        (
            ("Wild Gulf Shrimp 16/20 Peeled & Deveined", "5/2 lb", "case", "112.50"),
            ("Blackened Redfish Fillet 6 oz", "10 lb", "case", "139.00"),
            ("Pasteurized Lump Crab Meat", "12/1 lb", "case", "289.00"),
            ("Beer-Battered Cod 4 oz", "10 lb", "case", "84.60"),
            ("Crawfish Tail Meat", "12/1 lb", "case", "131.20"),
        ),
    ),
    (
        "Sunfield Fresh Produce",
        "Salinas",
        "CA",
        ProductCategory.FRESH_PRODUCE,
        (
            ("Romaine Hearts", "24 ct", "case", "34.50"),
            ("Grape Tomatoes", "12/1 pt", "case", "26.75"),
            ("Spring Mix", "3 lb", "case", "18.90"),
            ("Diced Yellow Onion", "4/5 lb", "case", "29.40"),
            ("Hass Avocados #48", "48 ct", "case", "61.00"),
        ),
    ),
    (
        "Heartland Bakehouse",
        "Des Moines",
        "IA",
        ProductCategory.BAKING,
        (
            ("Brioche Burger Bun 4.5 in", "8/12 ct", "case", "41.60"),
            ("Sourdough Sandwich Loaf", "8/24 oz", "case", "33.20"),
            ("Par-Baked Butter Croissant", "60/2.75 oz", "case", "68.40"),
            ("Chocolate Chip Cookie Dough 1.5 oz", "240 ct", "case", "57.90"),
            ("Sliced Texas Toast", "6/22 oz", "case", "24.30"),
        ),
    ),
    (
        "Red Mesa Salsa Co.",
        "Las Cruces",
        "NM",
        ProductCategory.CONDIMENTS,
        (
            ("Restaurant-Style Salsa Roja", "4/1 gal", "case", "44.00"),
            ("Roasted Tomatillo Salsa Verde", "4/1 gal", "case", "46.50"),
            ("Chipotle Aioli", "4/1 gal", "case", "52.30"),
            ("Fresh Pico de Gallo", "2/5 lb", "case", "31.80"),
            ("Queso Blanco Dip", "6/5 lb", "case", "88.20"),
        ),
    ),
    (
        "Northwoods Frozen Foods",
        "Eau Claire",
        "WI",
        ProductCategory.FROZEN,
        (
            ("Crinkle-Cut Fries 3/8 in", "6/5 lb", "case", "36.40"),
            ("Sweet Potato Waffle Fries", "6/4.5 lb", "case", "54.10"),
            ("Beer-Battered Onion Rings", "4/2.5 lb", "case", "39.70"),
            ("Garden Vegetable Medley", "12/2.5 lb", "case", "42.60"),
            ("IQF Wild Blueberries", "4/5 lb", "case", "71.50"),
        ),
    ),
    (
        "Bayou Spice Company",
        "Lafayette",
        "LA",
        ProductCategory.DRY_GOODS,
        (
            ("Cajun Seasoning Blend", "6/22 oz", "case", "38.40"),
            ("Blackening Spice", "6/21 oz", "case", "41.10"),
            ("Liquid Seafood Boil Concentrate", "4/1 gal", "case", "67.80"),
            ("Gumbo File Powder", "6/16 oz", "case", "45.00"),
            ("Creole Remoulade Sauce", "4/1 gal", "case", "49.60"),
        ),
    ),
    (
        "Prairie Mills Pasta",
        "Fargo",
        "ND",
        ProductCategory.DRY_GOODS,
        (
            ("Penne Rigate", "2/10 lb", "case", "22.80"),
            ("Spaghetti 10 in", "2/10 lb", "case", "21.90"),
            ("Elbow Macaroni", "2/10 lb", "case", "21.40"),
            ("Whole Wheat Rotini", "2/10 lb", "case", "26.30"),
            ("Gluten-Free Fusilli", "12/1 lb", "case", "34.70"),
        ),
    ),
    (
        "Crunch Valley Snacks",
        "Hanover",
        "PA",
        ProductCategory.SNACKS,
        (
            ("Sea Salt Kettle Chips 1.5 oz", "64 ct", "case", "38.40"),
            ("Restaurant-Cut Tortilla Chips", "6/2 lb", "case", "27.60"),
            ("Soft Pretzel Bites", "6/2.5 lb", "case", "44.90"),
            ("Trail Mix Single-Serve 1 oz", "100 ct", "case", "52.00"),
            ("Veggie Straws 1 oz", "60 ct", "case", "31.20"),
        ),
    ),
    (
        "Lone Star Smokehouse",
        "Lockhart",
        "TX",
        ProductCategory.MEAT_POULTRY,
        (
            ("Sliced Smoked Brisket", "2/5 lb", "case", "124.00"),
            ("Fully Cooked Pulled Pork", "4/5 lb", "case", "96.80"),
            ("Jalapeño Cheddar Sausage", "2/5 lb", "case", "58.30"),
            ("Smoked Turkey Breast", "2/8 lb", "case", "87.50"),
            ("Pit-Smoked St. Louis Ribs", "12 ct", "each", "11.75"),
        ),
    ),
)

# Items filed under another category than their principal's main line.
CONDIMENT_ITEMS = frozenset({"Liquid Seafood Boil Concentrate", "Creole Remoulade Sauce"})

DISTRIBUTORS: tuple[tuple[str, str, str, str], ...] = (
    ("Sysco", "Houston", "TX", "www.sysco.com"),
    ("US Foods", "Rosemont", "IL", "www.usfoods.com"),
    ("Gordon Food Service", "Wyoming", "MI", "www.gfs.com"),
    ("Performance Food Group", "Richmond", "VA", "www.pfgc.com"),
    ("Shamrock Foods", "Phoenix", "AZ", "www.shamrockfoods.com"),
    ("Ben E. Keith", "Fort Worth", "TX", "www.benekeith.com"),
    ("Reinhart Foodservice", "La Crosse", "WI", "www.rfsdelivers.com"),
    ("Cheney Brothers", "Riviera Beach", "FL", "www.cheneybrothers.com"),
)

# Chains: (parent name, segment, children).
CHAINS: tuple[tuple[str, str, tuple[str, ...]], ...] = (
    (
        "Coastal Grill Group",
        Segment.CASUAL_DINING,
        ("Coastal Grill - Harbor Point", "Coastal Grill - Midtown", "Coastal Grill - Airport Plaza"),
    ),
    (
        "Riverside Health System",
        Segment.HEALTHCARE,
        ("Riverside General Hospital", "Riverside Children's Hospital", "Riverside Senior Living"),
    ),
    (
        "Lakeview Unified School District",
        Segment.EDUCATION,
        ("Lakeview High School", "Lakeview Middle School", "Lakeview Elementary School"),
    ),
    ("Meridian Hotels & Resorts", Segment.HOTEL, ("Meridian Grand Hotel", "Meridian Airport Inn")),
    ("Fresh Fork Kitchens", Segment.FAST_CASUAL, ("Fresh Fork - University Ave", "Fresh Fork - Riverwalk")),
    (
        "Burger Barn Franchise Group",
        Segment.QSR,
        ("Burger Barn #112", "Burger Barn #118", "Burger Barn #131"),
    ),
)

INDEPENDENTS: tuple[tuple[str, str], ...] = (
    ("The Copper Table", Segment.FINE_DINING),
    ("Maison Laurent", Segment.FINE_DINING),
    ("Ember & Oak", Segment.FINE_DINING),
    ("Saltwater Kitchen", Segment.FINE_DINING),
    ("Vine Street Chophouse", Segment.FINE_DINING),
    ("Main Street Tavern", Segment.CASUAL_DINING),
    ("Rusty Anchor Pub & Grill", Segment.CASUAL_DINING),
    ("Magnolia Southern Kitchen", Segment.CASUAL_DINING),
    ("Big Sky Diner", Segment.CASUAL_DINING),
    ("Luigi's Trattoria", Segment.CASUAL_DINING),
    ("Tres Hermanos Cantina", Segment.CASUAL_DINING),
    ("Gulfside Oyster Bar", Segment.CASUAL_DINING),
    ("Smokehouse 54 BBQ", Segment.CASUAL_DINING),
    ("Bella Napoli Pizzeria", Segment.CASUAL_DINING),
    ("Golden Dragon Bistro", Segment.CASUAL_DINING),
    ("Green Bowl Co.", Segment.FAST_CASUAL),
    ("Pita Pit Stop", Segment.FAST_CASUAL),
    ("Taco Loco Express", Segment.FAST_CASUAL),
    ("Chick'n Shack", Segment.QSR),
    ("Sunrise Donuts & Coffee", Segment.QSR),
    ("St. Agnes Medical Center", Segment.HEALTHCARE),
    ("Mercy Valley Hospital", Segment.HEALTHCARE),
    ("Oak Hill Rehabilitation Center", Segment.HEALTHCARE),
    ("Westbrook University Dining", Segment.EDUCATION),
    ("Pine Ridge Community College", Segment.EDUCATION),
    ("Cedar Park Academy", Segment.EDUCATION),
    ("The Harborview Inn", Segment.HOTEL),
    ("Stonegate Conference Resort", Segment.HOTEL),
    ("Elite Events Catering", Segment.CATERING),
    ("Silver Spoon Catering Co.", Segment.CATERING),
    ("The Tap Room", Segment.BAR),
    ("Hops & Barley Brewpub", Segment.BAR),
    ("Daily Grind Cafe", Segment.CAFE),
    ("Bluebird Bakery Cafe", Segment.CAFE),
    ("Corner Perk Coffeehouse", Segment.CAFE),
    ("Apex Tech Campus Cafe", Segment.CORPORATE),
    ("Northgate Corporate Dining", Segment.CORPORATE),
    ("Fresh Market Deli & Prepared Foods", Segment.GROCERY),
)

CITIES = (
    ("Houston", "TX", "713"),
    ("Dallas", "TX", "214"),
    ("Austin", "TX", "512"),
    ("San Antonio", "TX", "210"),
    ("Fort Worth", "TX", "817"),
    ("New Orleans", "LA", "504"),
    ("Baton Rouge", "LA", "225"),
    ("Mobile", "AL", "251"),
)
STREETS = ("Main St", "Commerce St", "Market St", "Oak Ave", "Bayou Rd", "Harbor Blvd", "Elm St", "Travis St")

# People and deal words from the data generator's vocabulary (the demo keeps its first few, as before).
FIRST_NAMES = vocabulary.FIRST_NAMES[:32]
LAST_NAMES = vocabulary.LAST_NAMES[:30]
CUSTOMER_TITLES = (
    ("Executive Chef", ContactRole.DECISION_MAKER),
    ("Owner", ContactRole.DECISION_MAKER),
    ("Food & Beverage Director", ContactRole.DECISION_MAKER),
    ("Purchasing Manager", ContactRole.BUYER),
    ("General Manager", ContactRole.INFLUENCER),
    ("Kitchen Manager", ContactRole.END_USER),
    ("Sous Chef", ContactRole.CHAMPION),
    ("Office Manager", ContactRole.GATEKEEPER),
)
INSTITUTION_TITLES = (
    ("Director of Nutrition Services", ContactRole.DECISION_MAKER),
    ("Food Service Director", ContactRole.DECISION_MAKER),
    ("Purchasing Coordinator", ContactRole.BUYER),
    ("Production Supervisor", ContactRole.END_USER),
    ("Registered Dietitian", ContactRole.INFLUENCER),
)
DISTRIBUTOR_TITLES = (
    ("District Sales Manager", ContactRole.DECISION_MAKER),
    ("Category Manager", ContactRole.BUYER),
    ("Distributor Sales Representative", ContactRole.INFLUENCER),
)
PRINCIPAL_TITLES = (
    ("Regional Sales Manager", ContactRole.DECISION_MAKER),
    ("Foodservice Marketing Manager", ContactRole.INFLUENCER),
)

# Stage → how many. Probability is the database's: the firm's figure for the stage (ADR 0032).
STAGE_PLAN = (
    (Stage.NEW_LEAD, 10),
    (Stage.INITIAL_OUTREACH, 10),
    (Stage.SAMPLE_VISIT_OFFERED, 9),
    (Stage.FEEDBACK_LOGGED, 8),
    (Stage.DEMO_SCHEDULED, 7),
    (Stage.CLOSED_WON, 9),
    (Stage.CLOSED_LOST, 7),
)
# How far back the demo's activity goes (about six months), and its closed deals (the last four quarters,
# as the win/loss report shows them by default).
HISTORY_DAYS = 182
CLOSED_DAYS = 330
WIN_REASONS = vocabulary.WIN_REASONS
LOSS_REASONS = vocabulary.LOSS_REASONS
NEXT_ACTIONS = vocabulary.NEXT_ACTIONS
OUTCOMES = vocabulary.OUTCOMES[:8]
# What a kitchen says about a sample, by its sentiment.
SAMPLE_FEEDBACK = {
    "positive": "Chef loved the yield and wants pricing for a menu test.",
    "neutral": "Liked the product; waiting on the owner's price approval.",
    "negative": "Too salty for the house recipe; try the low-sodium line.",
}


def _slug(name: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-")


def demo_tenant() -> Tenant | None:
    return Tenant.objects.filter(name__iexact=DEMO_TENANT_NAME).first()


def demo_members() -> list[Membership]:
    """The demo tenant's members, admin first; empty when the demo is not loaded."""
    tenant = demo_tenant()
    if tenant is None:
        return []
    order = {Role.ADMIN: 0, Role.MANAGER: 1, Role.VIEWER: 2}
    members = list(Membership.objects.filter(tenant=tenant).select_related("user"))
    return sorted(members, key=lambda m: (order.get(Role(m.role), 9), m.user.email))


def demo_load() -> dict[str, int] | None:
    """Load the demo firm once; None when it already exists (nothing is changed then)."""
    with transaction.atomic():
        if demo_tenant() is not None:
            return None
        return _DemoBuilder(random.Random(SEED)).build()


class _DemoBuilder:
    """Writes as the database owner (outside RLS), naming the acting user in created_by/updated_by."""

    def __init__(self, rng: random.Random) -> None:
        self.rng = rng
        self.now = timezone.now()
        self.today = timezone.localdate()

    def build(self) -> dict[str, int]:
        self._users()
        self._organizations()
        self._books()
        self._relationships()
        self._contacts()
        self._products()
        self._opportunities()
        self._stage_ages()
        self._admin_follow_ups()
        self._interactions()
        self._samples()
        add_demo_tasks(self)
        add_demo_sales(self)
        return demo_counts(self.tenant)

    # -- helpers --------------------------------------------------------------------------------

    def _audit(self, user: User) -> dict[str, object]:
        return {"tenant": self.tenant, "created_by": user, "updated_by": user}

    def _phone(self, area: str) -> str:
        # 555-0100..0199 are reserved for fiction.
        return f"({area}) 555-01{self.rng.randrange(100):02d}"

    def _address(self) -> dict[str, str]:
        city, state, _ = self.rng.choice(CITIES)
        return {
            "street": f"{self.rng.randrange(100, 9900)} {self.rng.choice(STREETS)}",
            "city": city,
            "state": state,
            "postal_code": f"{self.rng.randrange(70000, 79999)}",
        }

    def _days_ago(self, low: int, high: int) -> dt.datetime:
        day = self.now - dt.timedelta(days=self.rng.randint(low, high))
        moment = day.replace(
            hour=self.rng.randint(8, 17), minute=self.rng.choice((0, 15, 30, 45)), second=0, microsecond=0
        )
        # Business hours "today" may still be ahead: nothing is logged in the future.
        return moment if moment <= self.now else moment - dt.timedelta(days=1)

    # -- users and tenancy ------------------------------------------------------------------------

    def _users(self) -> None:
        self.tenant = tenant_create(
            name=DEMO_TENANT_NAME,
            admin_email=ADMIN.email,
            admin_password=DEMO_PASSWORD,
            time_zone=DEMO_TIME_ZONE,
        )
        self.admin = User.objects.get(email=ADMIN.email)
        self.admin.first_name, self.admin.last_name = ADMIN.first_name, ADMIN.last_name
        self.admin.save(update_fields=["first_name", "last_name"])
        # One hash for the other accounts (same public password): hashing dominates the load time.
        password = make_password(DEMO_PASSWORD)
        others = User.objects.bulk_create(
            User(email=u.email, first_name=u.first_name, last_name=u.last_name, password=password)
            for u in (*MANAGERS, VIEWER)
        )
        Membership.objects.bulk_create(
            Membership(tenant=self.tenant, user=user, role=spec.role)
            for user, spec in zip(others, (*MANAGERS, VIEWER), strict=True)
        )
        self.managers = others[: len(MANAGERS)]
        self.viewer = others[-1]
        self.writers = [self.admin, *self.managers]

    # -- organizations --------------------------------------------------------------------------

    def _organizations(self) -> None:
        rng = self.rng
        # Books: four principals per manager, in order.
        self.principal_manager: dict[int, User] = {}
        principals = []
        for index, (name, city, state, _, _) in enumerate(PRINCIPALS):
            manager = self.managers[index // 4]
            principals.append(
                Organization(
                    **self._audit(self.admin),
                    name=name,
                    type=OrganizationType.PRINCIPAL,
                    priority=rng.choice("AAB"),
                    account_manager=manager,
                    city=city,
                    state=state,
                    website=f"https://www.{_slug(name)}.example",
                    phone=self._phone("800"),
                    email=f"foodservice@{_slug(name)}.example",
                    notes=f"Line brokered in the Gulf region since {rng.randint(2009, 2022)}.",
                )
            )
        self.principals = Organization.objects.bulk_create(principals)
        for index, principal in enumerate(self.principals):
            self.principal_manager[principal.pk] = self.managers[index // 4]

        self.distributors = Organization.objects.bulk_create(
            Organization(
                **self._audit(self.admin),
                name=name,
                type=OrganizationType.DISTRIBUTOR,
                priority="A" if index < 4 else "B",
                city=city,
                state=state,
                website=f"https://{site}",
                phone=self._phone("800"),
                account_manager=self.admin,
            )
            for index, (name, city, state, site) in enumerate(DISTRIBUTORS)
        )

        def operator(
            name: str, segment: str, *, kind: str | None = None, parent: Organization | None = None
        ) -> Organization:
            manager = rng.choice(self.managers)
            address = self._address()
            area = next(code for city, _, code in CITIES if city == address["city"])
            if kind is None:
                kind = OrganizationType.PROSPECT if rng.random() < 0.25 else OrganizationType.CUSTOMER
            return Organization(
                **self._audit(manager),
                name=name,
                type=kind,
                segment=segment,
                priority=rng.choice("AABBBCCD"),
                parent=parent,
                account_manager=manager,
                phone=self._phone(area),
                email=f"info@{_slug(name)}.example",
                website=f"https://{_slug(name)}.example",
                **address,
            )

        # A chain's head office and its units are customers; prospects are independents.
        parents = Organization.objects.bulk_create(
            operator(name, segment, kind=OrganizationType.CUSTOMER) for name, segment, _ in CHAINS
        )
        children = Organization.objects.bulk_create(
            operator(child, segment, kind=OrganizationType.CUSTOMER, parent=parent)
            for parent, (_, segment, names) in zip(parents, CHAINS, strict=True)
            for child in names
        )
        independents = Organization.objects.bulk_create(
            operator(name, segment) for name, segment in INDEPENDENTS
        )
        self.operators = [*parents, *children, *independents]
        # Some statuses: a few accounts went quiet.
        inactive = rng.sample(independents, 3)
        Organization.objects.filter(pk__in=[o.pk for o in inactive]).update(
            status=OrganizationStatus.INACTIVE
        )

    def _books(self) -> None:
        assignments = [
            PrincipalAssignment(**self._audit(self.admin), user=self.principal_manager[p.pk], principal=p)
            for p in self.principals
        ]
        # The viewer: staff of Blue Ridge Creamery and Golden Prairie Poultry, seeing their lines.
        assignments += [
            PrincipalAssignment(**self._audit(self.admin), user=self.viewer, principal=p)
            for p in self.principals[:2]
        ]
        PrincipalAssignment.objects.bulk_create(assignments)

    def _relationships(self) -> None:
        rng = self.rng
        self.authorized: dict[int, list[Organization]] = {}
        authorizations = []
        for principal in self.principals:
            carriers = rng.sample(self.distributors, rng.randint(3, 5))
            self.authorized[principal.pk] = carriers
            for distributor in carriers:
                start = self.today - dt.timedelta(days=rng.randint(120, 1500))
                expires = start + dt.timedelta(days=rng.choice((730, 1095))) if rng.random() < 0.4 else None
                authorizations.append(
                    DistributorAuthorization(
                        **self._audit(self.admin),
                        distributor=distributor,
                        principal=principal,
                        authorized_on=start,
                        expires_on=expires,
                    )
                )
        DistributorAuthorization.objects.bulk_create(authorizations)

        self.primary_distributor: dict[int, Organization] = {}
        links = []
        for operator in self.operators:
            served_by = rng.sample(self.distributors, rng.choice((1, 1, 2, 2, 3)))
            self.primary_distributor[operator.pk] = served_by[0]
            links += [
                CustomerDistributor(
                    **self._audit(self.admin), customer=operator, distributor=d, is_primary=i == 0
                )
                for i, d in enumerate(served_by)
            ]
        CustomerDistributor.objects.bulk_create(links)

    # -- contacts -------------------------------------------------------------------------------

    def _contacts(self) -> None:
        rng = self.rng
        leads: list[Contact] = []
        staff: list[tuple[int, Contact]] = []  # (index of their lead, contact)
        used_emails: set[tuple[int, str]] = set()
        self.contacts_by_org: dict[int, list[Contact]] = {}

        def person(org: Organization, title: str, role: str, author: User) -> Contact:
            while True:
                first, last = rng.choice(FIRST_NAMES), rng.choice(LAST_NAMES)
                email = f"{first}.{last}@{_slug(org.name)}.example".lower()
                if (org.pk, email) not in used_emails:
                    used_emails.add((org.pk, email))
                    break
            return Contact(
                **self._audit(author),
                organization=org,
                first_name=first,
                last_name=last,
                title=title,
                role=role,
                email=email,
                phone=org.phone,
                mobile=self._phone("832") if rng.random() < 0.6 else "",
            )

        def staff_for(
            org: Organization, titles: tuple[tuple[str, str], ...], count: int, author: User
        ) -> None:
            chosen = rng.sample(titles, min(count, len(titles)))
            lead = person(org, *chosen[0], author)
            lead.is_primary = True
            leads.append(lead)
            staff.extend((len(leads) - 1, person(org, *t, author)) for t in chosen[1:])

        for org in self.operators:
            institutional = org.segment in (Segment.HEALTHCARE, Segment.EDUCATION)
            titles = INSTITUTION_TITLES if institutional else CUSTOMER_TITLES
            staff_for(org, titles, rng.choice((1, 2, 2, 2, 3)), org.account_manager or self.admin)
        for org in self.distributors:
            staff_for(org, DISTRIBUTOR_TITLES, rng.choice((1, 2, 2)), self.admin)
        for org in self.principals:
            staff_for(org, PRINCIPAL_TITLES, 2, self.principal_manager[org.pk])

        leads = Contact.objects.bulk_create(leads)
        # Colleagues report to the lead contact of their organization (same organization: trigger-checked).
        for lead_index, contact in staff:
            contact.reports_to = leads[lead_index]
        reports = Contact.objects.bulk_create([c for _, c in staff])
        for contact in (*leads, *reports):
            self.contacts_by_org.setdefault(contact.organization_id, []).append(contact)

    # -- products -------------------------------------------------------------------------------

    def _products(self) -> None:
        rng = self.rng
        products = []
        for principal, (name, _, _, category, items) in zip(self.principals, PRINCIPALS, strict=True):
            prefix = "".join(word[0] for word in re.findall(r"[A-Za-z]+", name))[:3].upper()
            for index, (item, pack, unit, price) in enumerate(items):
                status = ProductStatus.ACTIVE
                if rng.random() < 0.12:
                    status = rng.choice(
                        (ProductStatus.SEASONAL, ProductStatus.COMING_SOON, ProductStatus.DISCONTINUED)
                    )
                item_category = ProductCategory.CONDIMENTS if item in CONDIMENT_ITEMS else category
                products.append(
                    Product(
                        **self._audit(self.principal_manager[principal.pk]),
                        principal=principal,
                        name=item,
                        sku=f"{prefix}-{1001 + index * 7}",
                        category=item_category,
                        status=status,
                        pack_size=pack,
                        unit_of_measure=unit,
                        list_price=Decimal(price),
                        description=f"{item}, {pack}. From {name}'s foodservice line.",
                    )
                )
        self.products = Product.objects.bulk_create(products)
        self.products_by_principal: dict[int, list[Product]] = {}
        for product in self.products:
            self.products_by_principal.setdefault(product.principal_id, []).append(product)

        item_codes: list[ProductDistributor] = []
        for product in self.products:
            carriers = self.authorized[product.principal_id]
            for distributor in rng.sample(carriers, rng.randint(1, min(3, len(carriers)))):
                item_codes.append(
                    ProductDistributor(
                        **self._audit(self.admin),
                        product=product,
                        distributor=distributor,
                        vendor_item_number=f"{rng.randrange(1000000, 9999999)}",
                    )
                )
        ProductDistributor.objects.bulk_create(item_codes)

    # -- opportunities --------------------------------------------------------------------------

    def _opportunities(self) -> None:
        rng = self.rng
        accounts = self._accounts()
        opportunities: list[Opportunity] = []
        lead_products: list[Product] = []
        for stage, count in STAGE_PLAN:
            for _ in range(count):
                principal = rng.choice(self.principals)
                customer = rng.choice(accounts)
                owner = self.principal_manager[principal.pk]
                lead_product = rng.choice(self.products_by_principal[principal.pk])
                closed = stage in (Stage.CLOSED_WON, Stage.CLOSED_LOST)
                closed_on = self.today - dt.timedelta(days=rng.randint(1, CLOSED_DAYS)) if closed else None
                volume = Decimal(rng.choice((4, 6, 8, 10, 12, 15, 20, 25, 30, 40, 60)))
                opportunities.append(
                    Opportunity(
                        **self._audit(owner),
                        principal=principal,
                        customer=customer,
                        owner=owner,
                        stage=stage,
                        name=f"{lead_product.name} at {customer.name}"[:200],
                        distributor=self.primary_distributor[customer.pk],
                        status=(
                            OpportunityStatus.ACTIVE
                            if closed or rng.random() < 0.7
                            else rng.choice(
                                (
                                    OpportunityStatus.ON_HOLD,
                                    OpportunityStatus.NURTURING,
                                    OpportunityStatus.STALLED,
                                )
                            )
                        ),
                        priority=rng.choice(
                            (
                                OpportunityPriority.LOW,
                                OpportunityPriority.MEDIUM,
                                OpportunityPriority.MEDIUM,
                                OpportunityPriority.HIGH,
                                OpportunityPriority.CRITICAL,
                            )
                        ),
                        weekly_case_volume=volume,
                        expected_close_date=closed_on or self.today + dt.timedelta(days=rng.randint(7, 120)),
                        closed_on=closed_on,
                        win_reason=rng.choice(WIN_REASONS) if stage == Stage.CLOSED_WON else "",
                        loss_reason=rng.choice(LOSS_REASONS) if stage == Stage.CLOSED_LOST else "",
                        next_action="" if closed else rng.choice(NEXT_ACTIONS),
                        next_action_date=None
                        if closed
                        else self.today + dt.timedelta(days=rng.randint(-7, 21)),
                    )
                )
                lead_products.append(lead_product)
        self.opportunities = Opportunity.objects.bulk_create(opportunities)

        lines: list[OpportunityProduct] = []
        people: list[OpportunityContact] = []
        for opportunity, lead in zip(self.opportunities, lead_products, strict=True):
            owner = self.principal_manager[opportunity.principal_id]
            others = [p for p in self.products_by_principal[opportunity.principal_id] if p.pk != lead.pk]
            for product in [lead, *rng.sample(others, rng.randint(0, 2))]:
                lines.append(
                    OpportunityProduct(
                        **self._audit(owner),
                        opportunity=opportunity,
                        product=product,
                        weekly_case_volume=Decimal(rng.choice((2, 3, 5, 8, 10))),
                    )
                )
            contacts = self.contacts_by_org.get(opportunity.customer_id, [])
            for contact in rng.sample(contacts, min(len(contacts), rng.randint(1, 2))):
                people.append(
                    OpportunityContact(
                        **self._audit(owner),
                        opportunity=opportunity,
                        contact=contact,
                        role=contact.role,
                    )
                )
        OpportunityProduct.objects.bulk_create(lines)
        OpportunityContact.objects.bulk_create(people)

    # -- stage ages -------------------------------------------------------------------------------

    def _stage_ages(self) -> None:
        """Date each opportunity's stage and creation in the past, so days in stage, stale deals and the
        pipeline's ages read as a real book does: most open deals moved within weeks, some sit for months;
        a closed deal's stage changed the day it closed.

        The database stamps stage_changed_at and created_at with now() on every insert (no client may
        set them), so the demo, as the owner, rewrites them in one statement with the user triggers off for
        that statement alone (`SET LOCAL session_replication_role = replica`, then back to `origin`): no
        trigger learns a setting a request could forge, no table is locked, and history keeps the load's
        own entries. A role without that privilege (an owner that is not a superuser, PostgreSQL < 15
        without `GRANT SET`) loads the demo with ages of zero and says so.
        """
        rng = random.Random(SEED + 1)  # its own draws: the other builders' data stays as it was
        # Days in the current stage for an open deal: fresh, a few weeks, stale (over 21 days), long stuck.
        ages = ((0, 6), (7, 20), (21, 60), (61, 150))
        weights = (3, 4, 3, 1)
        ids, changed, created = [], [], []
        for opportunity in self.opportunities:
            if opportunity.closed_on is not None:
                day = opportunity.closed_on
                at = dt.datetime.combine(
                    day, dt.time(rng.randint(9, 17), rng.choice((0, 15, 30, 45))), dt.UTC
                )
            else:
                low, high = rng.choices(ages, weights)[0]
                at = self.now - dt.timedelta(days=rng.randint(low, high), minutes=rng.randint(0, 600))
            earlier = 0 if opportunity.stage == Stage.NEW_LEAD else rng.randint(7, 75)
            ids.append(opportunity.pk)
            changed.append(min(at, self.now))
            created.append(min(at, self.now) - dt.timedelta(days=earlier))
        with connection.cursor() as cursor:
            try:
                with transaction.atomic():
                    cursor.execute("SET LOCAL session_replication_role = replica")
            except DatabaseError:
                print(
                    "The demo's opportunities keep the load time as their stage's date: this role may not"
                    " set session_replication_role."
                )
                return
            cursor.execute(
                """UPDATE opportunity o
                      SET stage_changed_at = v.changed, created_at = v.created, updated_at = v.changed
                     FROM unnest(%s::bigint[], %s::timestamptz[], %s::timestamptz[]) AS v (id, changed, created)
                    WHERE o.id = v.id""",
                [ids, changed, created],
            )
            cursor.execute("SET LOCAL session_replication_role = origin")

    def _admin_follow_ups(self) -> None:
        """A few calls of the admin's own with follow-ups due this week or just overdue, so the dashboard
        the admin signs in to first has follow-ups to show (the managers' come with their deals)."""
        rng = random.Random(SEED + 2)
        follow_ups = []
        for days_ago, due_in in ((9, -2), (6, 0), (4, 1), (2, 3), (1, 6)):
            account = rng.choice(self._accounts())
            follow_ups.append(
                Interaction(
                    **self._audit(self.admin),
                    type=InteractionType.CALL,
                    occurred_at=self.now - dt.timedelta(days=days_ago, hours=rng.randint(1, 6)),
                    subject=f"Account review with {account.name}"[:300],
                    organization=account,
                    user=self.admin,
                    outcome=rng.choice(OUTCOMES),
                    follow_up_on=self.today + dt.timedelta(days=due_in),
                )
            )
        Interaction.objects.bulk_create(follow_ups)

    def _accounts(self) -> list[Organization]:
        """Operators where product is bought: chain units and independents, not the chains' head offices."""
        parent_ids = {o.parent_id for o in self.operators if o.parent_id}
        return [o for o in self.operators if o.pk not in parent_ids]

    # -- interactions ---------------------------------------------------------------------------

    def _interactions(self) -> None:
        rng = self.rng
        interactions = []
        open_stages = {
            Stage.NEW_LEAD,
            Stage.INITIAL_OUTREACH,
            Stage.SAMPLE_VISIT_OFFERED,
            Stage.FEEDBACK_LOGGED,
            Stage.DEMO_SCHEDULED,
        }
        touch_types = (
            InteractionType.CALL,
            InteractionType.EMAIL,
            InteractionType.MEETING,
            InteractionType.SITE_VISIT,
            InteractionType.SAMPLE,
            InteractionType.TASTING,
            InteractionType.DEMO,
            InteractionType.PROPOSAL,
            InteractionType.FOLLOW_UP,
        )

        def interaction(
            *,
            organization: Organization,
            user: User,
            kind: str,
            subject: str,
            occurred_at: dt.datetime,
            opportunity: Opportunity | None = None,
            principal: Organization | None = None,
        ) -> Interaction:
            contacts = self.contacts_by_org.get(organization.pk, [])
            contact = rng.choice(contacts) if contacts and rng.random() < 0.8 else None
            follow_up_on, done = None, False
            if rng.random() < 0.35:
                follow_up_on = occurred_at.date() + dt.timedelta(days=rng.randint(2, 14))
                # Past follow-ups are mostly done; some recent ones are left overdue on purpose.
                overdue = (self.today - follow_up_on).days
                done = overdue > 0 and (rng.random() < 0.6 or overdue > 30)
            return Interaction(
                **self._audit(user),
                type=kind,
                occurred_at=occurred_at,
                subject=subject[:300],
                duration_minutes=rng.choice((5, 10, 15, 30, 45, 60, 90))
                if kind != InteractionType.EMAIL
                else None,
                notes=rng.choice(
                    (
                        "",
                        "",
                        "Brought spec sheets and a price sheet.",
                        "Chef asked about pack size and yield per case.",
                    )
                ),
                organization=organization,
                contact=contact,
                opportunity=opportunity,
                principal=opportunity.principal if opportunity else principal,
                user=user,
                outcome=rng.choice(OUTCOMES),
                sentiment=rng.choice(
                    (Sentiment.POSITIVE, Sentiment.POSITIVE, Sentiment.NEUTRAL, Sentiment.NEGATIVE, "")
                ),
                follow_up_on=follow_up_on,
                follow_up_done=done,
            )

        # About two thirds of the touches move an opportunity.
        for _ in range(165):
            opportunity = rng.choice(self.opportunities)
            latest = 0
            if opportunity.stage not in open_stages and opportunity.closed_on is not None:
                latest = (self.today - opportunity.closed_on).days
            kind = rng.choice(touch_types)
            principal = opportunity.principal
            owner = self.principal_manager[principal.pk]
            interactions.append(
                interaction(
                    organization=opportunity.customer,
                    user=owner,
                    kind=kind,
                    opportunity=opportunity,
                    subject=f"{InteractionType(kind).label}: {principal.name} at {opportunity.customer.name}",
                    occurred_at=self._days_ago(latest, max(latest, HISTORY_DAYS)),
                )
            )
        # Account calls about a principal's line, and shared account upkeep.
        accounts = self._accounts()
        for index in range(50):
            account = rng.choice(accounts)
            line = rng.choice(self.principals) if index % 2 == 0 else None
            user = self.principal_manager[line.pk] if line else rng.choice(self.writers)
            kind = rng.choice(
                (
                    InteractionType.CALL,
                    InteractionType.EMAIL,
                    InteractionType.SITE_VISIT,
                    InteractionType.NOTE,
                )
            )
            topic = f"{line.name} line review" if line else "Account check-in"
            interactions.append(
                interaction(
                    organization=account,
                    user=user,
                    kind=kind,
                    principal=line,
                    subject=f"{topic} with {account.name}",
                    occurred_at=self._days_ago(0, HISTORY_DAYS),
                )
            )
        # Distributor work: ride-alongs, food shows, item loads.
        for _ in range(35):
            distributor = rng.choice(self.distributors)
            principal = rng.choice(self.principals)
            kind = rng.choice(
                (
                    InteractionType.MEETING,
                    InteractionType.TRADE_SHOW,
                    InteractionType.CALL,
                    InteractionType.EMAIL,
                )
            )
            what = {
                InteractionType.MEETING: "Ride-along with the DSR team",
                InteractionType.TRADE_SHOW: "Food show booth",
                InteractionType.CALL: "Item load request",
                InteractionType.EMAIL: "New item forms sent",
            }[kind]
            interactions.append(
                interaction(
                    organization=distributor,
                    user=self.principal_manager[principal.pk],
                    kind=kind,
                    principal=principal,
                    subject=f"{what}: {principal.name} at {distributor.name}",
                    occurred_at=self._days_ago(0, HISTORY_DAYS),
                )
            )
        Interaction.objects.bulk_create(interactions)

    # -- samples --------------------------------------------------------------------------------

    def _samples(self) -> None:
        """Every sample interaction of a principal gets its sample: the principal's products, and a status
        as far as its age allows (recent ones still out, most older ones with feedback, a few cancelled)."""
        rng, now = self.rng, self.now
        sampled = Interaction.objects.filter(
            tenant=self.tenant, type=InteractionType.SAMPLE, principal__isnull=False
        ).order_by("id")
        samples, lines = [], []
        for interaction in sampled:
            assert interaction.principal_id is not None
            requested_at = interaction.occurred_at
            sent_at = requested_at + dt.timedelta(days=rng.randint(0, 2), hours=rng.randint(1, 6))
            delivered_at = sent_at + dt.timedelta(days=rng.randint(1, 3))
            heard_at = delivered_at + dt.timedelta(days=rng.randint(2, 12))
            # How far it got: never past now, and some samples stall or are called off on the way.
            reached = [t for t in (requested_at, sent_at, delivered_at, heard_at) if t <= now]
            if now - requested_at < dt.timedelta(days=21):
                steps = rng.randint(1, len(reached))  # the last weeks' samples: still on their way
            else:
                steps = len(reached) - (1 if len(reached) > 1 and rng.random() < 0.2 else 0)
            status = (
                SampleStatus.REQUESTED,
                SampleStatus.SENT,
                SampleStatus.DELIVERED,
                SampleStatus.FEEDBACK_RECEIVED,
            )[steps - 1]
            cancelled = (
                status != SampleStatus.FEEDBACK_RECEIVED and steps < len(reached) and rng.random() < 0.4
            )
            sentiment = rng.choice(
                (Sentiment.POSITIVE, Sentiment.POSITIVE, Sentiment.NEUTRAL, Sentiment.NEGATIVE)
            )
            samples.append(
                Sample(
                    **self._audit(interaction.user or self.admin),
                    interaction=interaction,
                    status=SampleStatus.CANCELLED if cancelled else status,
                    requested_at=requested_at,
                    sent_at=sent_at if steps >= 2 else None,
                    delivered_at=delivered_at if steps >= 3 else None,
                    feedback_received_at=heard_at if steps >= 4 else None,
                    cancelled_at=reached[steps] if cancelled else None,
                    feedback=SAMPLE_FEEDBACK[sentiment]
                    if status == SampleStatus.FEEDBACK_RECEIVED
                    else ("Chef left before the cutting." if cancelled else ""),
                    sentiment=sentiment if status == SampleStatus.FEEDBACK_RECEIVED else "",
                )
            )
            products = self.products_by_principal.get(interaction.principal_id, [])
            for product in rng.sample(products, min(len(products), rng.randint(1, 3))):
                quantity, unit = rng.choice(
                    ((Decimal(1), SampleUnit.CASE), (Decimal(2), SampleUnit.CASE), (Decimal(5), SampleUnit.POUND),
                     (Decimal("2.5"), SampleUnit.KILOGRAM), (Decimal(6), SampleUnit.EACH), (Decimal(1), SampleUnit.PACK))
                )  # fmt: skip
                lines.append(
                    SampleLine(
                        **self._audit(interaction.user or self.admin),
                        interaction=interaction,
                        product=product,
                        quantity=quantity,
                        unit=unit,
                    )
                )
        Sample.objects.bulk_create(samples)
        SampleLine.objects.bulk_create(lines)


DEMO_MODELS: tuple[type[models.Model], ...] = (
    Organization,
    PrincipalAssignment,
    DistributorAuthorization,
    CustomerDistributor,
    Contact,
    Product,
    ProductDistributor,
    Opportunity,
    OpportunityProduct,
    OpportunityContact,
    Interaction,
    Sample,
    SampleLine,
    Task,
    SalesFact,
    SalesUnmatched,
    ColumnMapping,
)


def demo_counts(tenant: Tenant) -> dict[str, int]:
    """Rows per table for one tenant (as the owner: row level security does not apply)."""
    counts = {"membership": Membership.objects.filter(tenant=tenant).count()}
    for model in DEMO_MODELS:
        counts[model._meta.db_table] = model._default_manager.filter(tenant=tenant).count()  # type: ignore[misc]
    return counts
