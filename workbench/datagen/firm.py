"""One generated firm's rows, table by table, from a seeded random stream (no database access here).

Rows are tuples in the column order of `TABLES`, with every column the database's triggers would have
kept already filled in (audit columns, version, scope keys, stage_changed_at, closed_on), because the
loader copies them with triggers off. Ids come from ranges the loader reserved, so a row can name any
other row before it is written. Timestamps are text (`YYYY-MM-DD HH:MM:00+00`): cheap to make and to
copy. Activity is skewed as in real books: a few principals, distributors and accounts get most of it
(Zipf-like weights), and volume grows over the three years.
"""

from __future__ import annotations

import datetime as dt
import itertools
import random
import re
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass

from crm.models import Role
from interactions.models import InteractionType, Sentiment
from opportunities.models import OpportunityPriority, OpportunityStatus, Stage
from organizations.models import OrganizationType
from products.models import ProductStatus
from samples.models import SampleStatus, SampleUnit
from workbench.datagen import vocabulary as v
from workbench.datagen.plan import FirmPlan

Row = tuple[object, ...]

AUDIT = (
    "id",
    "tenant_id",
    "created_at",
    "updated_at",
    "created_by_id",
    "updated_by_id",
    "deleted_at",
    "deleted_by_id",
    "version",
)

# COPY column lists, in load order (a row only names rows of earlier tables or its own). Generated
# columns (search_vector, weighted_weekly_volume) are left to the database.
TABLES: dict[str, tuple[str, ...]] = {
    "tenant": ("id", "name", "created_at"),
    "crm_user": (
        "id",
        "password",
        "last_login",
        "is_superuser",
        "email",
        "first_name",
        "last_name",
        "is_active",
        "is_staff",
        "date_joined",
    ),
    "membership": ("id", "tenant_id", "user_id", "role", "created_at", "updated_at"),
    "organization": (
        *AUDIT,
        "name",
        "type",
        "priority",
        "segment",
        "parent_id",
        "account_manager_id",
        "status",
        "phone",
        "email",
        "website",
        "street",
        "city",
        "state",
        "postal_code",
        "country",
        "notes",
        "scope_principal_id",
    ),
    "principal_assignment": (*AUDIT, "user_id", "principal_id"),
    "distributor_authorization": (
        *AUDIT,
        "distributor_id",
        "principal_id",
        "authorized_on",
        "expires_on",
        "notes",
    ),
    "customer_distributor": (*AUDIT, "customer_id", "distributor_id", "is_primary"),
    "contact": (
        *AUDIT,
        "organization_id",
        "first_name",
        "last_name",
        "title",
        "role",
        "email",
        "phone",
        "mobile",
        "is_primary",
        "reports_to_id",
        "notes",
        "scope_principal_id",
    ),
    "product": (
        *AUDIT,
        "principal_id",
        "name",
        "sku",
        "category",
        "status",
        "pack_size",
        "unit_of_measure",
        "list_price",
        "description",
    ),
    "product_distributor": (
        *AUDIT,
        "product_id",
        "distributor_id",
        "vendor_item_number",
        "scope_principal_id",
    ),
    "opportunity": (
        *AUDIT,
        "name",
        "principal_id",
        "customer_id",
        "distributor_id",
        "owner_id",
        "stage",
        "status",
        "priority",
        "weekly_case_volume",
        "probability",
        "expected_close_date",
        "closed_on",
        "win_reason",
        "loss_reason",
        "next_action",
        "next_action_date",
        "stage_changed_at",
        "notes",
    ),
    "opportunity_product": (
        *AUDIT,
        "opportunity_id",
        "product_id",
        "weekly_case_volume",
        "notes",
        "scope_principal_id",
    ),
    "opportunity_contact": (*AUDIT, "opportunity_id", "contact_id", "role", "scope_principal_id"),
    "interaction": (
        *AUDIT,
        "type",
        "occurred_at",
        "duration_minutes",
        "subject",
        "notes",
        "organization_id",
        "contact_id",
        "opportunity_id",
        "principal_id",
        "user_id",
        "outcome",
        "sentiment",
        "follow_up_on",
        "follow_up_done",
    ),
    "sample": (
        *AUDIT,
        "interaction_id",
        "status",
        "requested_at",
        "sent_at",
        "delivered_at",
        "feedback_received_at",
        "cancelled_at",
        "feedback",
        "sentiment",
        "scope_principal_id",
    ),
    "sample_line": (*AUDIT, "interaction_id", "product_id", "quantity", "unit", "scope_principal_id"),
    # A year of weekly distributor sales (the sales app, ADR 0034); the principal is the product's.
    "sales_fact": (
        "id",
        "tenant_id",
        "distributor_id",
        "product_id",
        "customer_id",
        "principal_id",
        "period_kind",
        "period_start",
        "cases",
        "dollars",
        "currency",
        "created_at",
    ),
}

SALES_WEEKS = 52  # the last full ISO weeks before as_of
# Points of distribution (a product bought by an operator through one of its distributors) per operator.
SALES_POINTS = (0, 1, 1, 1, 2, 2, 3)

GENERATED_MARK = "(generated #"
HISTORY_DAYS = 3 * 365  # interactions and opportunities span the last three years
OPEN_STAGES = (
    (Stage.NEW_LEAD, 30, 10),
    (Stage.INITIAL_OUTREACH, 25, 20),
    (Stage.SAMPLE_VISIT_OFFERED, 18, 35),
    (Stage.FEEDBACK_LOGGED, 15, 50),
    (Stage.DEMO_SCHEDULED, 12, 70),
)
TYPE_LABELS = {t.value: t.label for t in InteractionType}


class Ids:
    """The next free id of each table, inside the ranges the loader reserved."""

    def __init__(self, bases: dict[str, int]) -> None:
        self.next = dict(bases)

    def take(self, table: str) -> int:
        value = self.next[table]
        self.next[table] = value + 1
        return value


class Clock:
    """Days as indexes, 0 = five years before `as_of`, last = the day before `as_of`; text timestamps."""

    def __init__(self, as_of: dt.date, years: int = 5) -> None:
        start = as_of - dt.timedelta(days=years * 365)
        self.days = [(start + dt.timedelta(days=i)).isoformat() for i in range(years * 365)]
        self.weekday = [(start + dt.timedelta(days=i)).weekday() for i in range(years * 365)]
        self.last = len(self.days) - 1
        self.window_start = len(self.days) - HISTORY_DAYS
        self._clock = [f" {m // 60:02d}:{m % 60:02d}:00+00" for m in range(24 * 60)]

    def at(self, day: int, minute: int) -> str:
        return self.days[day] + self._clock[minute]

    def date(self, day: int) -> str:
        """A date; days past the last one (follow-ups, expected closes) are computed, not tabulated."""
        if day <= self.last:
            return self.days[day]
        return (dt.date.fromisoformat(self.days[self.last]) + dt.timedelta(days=day - self.last)).isoformat()

    def business_day(self, day: int) -> int:
        """Weekends move to the Friday before (when that is still inside the calendar)."""
        weekday = self.weekday[day]
        return day - (weekday - 4) if weekday >= 5 and day >= weekday - 4 else day


@dataclass(slots=True)
class Org:
    id: int
    name: str
    kind: str
    created_day: int
    manager_id: int
    phone: str
    domain: str
    contacts_first: int = 0
    contacts_count: int = 0


def _cumulative(weights: Sequence[float]) -> list[float]:
    return list(itertools.accumulate(weights))


def _zipf(rng: random.Random, n: int, exponent: float) -> list[float]:
    """Weights 1/rank^exponent, ranks dealt at random: a few heavy items, a long tail."""
    ranks = list(range(1, n + 1))
    rng.shuffle(ranks)
    return [1.0 / rank**exponent for rank in ranks]


def _allocate(rng: random.Random, total: int, weights: Sequence[float], floor: int = 1) -> list[int]:
    """`total` items over len(weights) holders: `floor` each while there are enough, the rest by weight."""
    n = len(weights)
    counts = [0] * n
    base = min(floor, total // n) if n else 0
    if base:
        counts = [base] * n
    remaining = total - base * n
    if remaining and base == 0:
        # Fewer items than holders: the heaviest holders get one each.
        order = sorted(range(n), key=lambda i: -weights[i])
        for i in order[:remaining]:
            counts[i] += 1
        return counts
    for i in rng.choices(range(n), weights=weights, k=remaining):
        counts[i] += 1
    return counts


def _weighted_distinct(rng: random.Random, cum: list[float], k: int) -> list[int]:
    """k distinct indexes drawn by cumulative weights (k well below the population)."""
    n = len(cum)
    k = min(k, n)
    chosen: dict[int, None] = {}
    population = range(n)
    for _ in range(k * 20):
        if len(chosen) == k:
            break
        chosen.setdefault(rng.choices(population, cum_weights=cum)[0], None)
    for i in population:  # heavy skew can starve the draw: fill up in order
        if len(chosen) == k:
            break
        chosen.setdefault(i, None)
    return list(chosen)


def _fixed(name: str) -> Callable[[], str]:
    return lambda: name


def _slug(name: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-")


class FirmBuilder:
    """Rows of one firm. Call the table methods in TABLES order: later tables use earlier tables' ids."""

    def __init__(
        self,
        *,
        plan: FirmPlan,
        rng: random.Random,
        ids: Ids,
        clock: Clock,
        index: int,
        password_hash: str,
    ) -> None:
        self.plan = plan
        self.rng = rng
        self.ids = ids
        self.clock = clock
        self.index = index
        self.password_hash = password_hash
        self.tenant_id = ids.take("tenant")
        self.counts: dict[str, int] = dict.fromkeys(TABLES, 0)

    def rows(self, table: str) -> Iterator[Row]:
        method = getattr(self, f"_{table}")
        for row in method():
            self.counts[table] += 1
            yield row

    # -- helpers --------------------------------------------------------------------------------

    def _audit(self, row_id: int, created: str, updated: str, author: int, version: int = 1) -> Row:
        return (row_id, self.tenant_id, created, updated, author, author, None, None, version)

    def _minute(self) -> int:
        """A business-hours minute (quarter hours, 7:00–18:45)."""
        return 420 + 15 * self.rng.randrange(48)

    def _phone(self, area: str) -> str:
        return f"({area}) 555-01{self.rng.randrange(100):02d}"  # 555-0100..0199: reserved for fiction

    def _fresh(self, taken: set[str], make: Callable[[], str]) -> str:
        """A name not taken yet: a few fresh draws, then the last one numbered."""
        name = make()
        for _ in range(8):
            if name.lower() not in taken:
                break
            name = make()
        return self._unique(taken, name)

    def _unique(self, taken: set[str], name: str) -> str:
        candidate, n = name, 2
        while candidate.lower() in taken:
            candidate = f"{name} #{n}"
            n += 1
        taken.add(candidate.lower())
        return candidate

    def _day_weights(self) -> list[float]:
        """Activity per day over the last three years: growing, quiet on weekends."""
        clock = self.clock
        weights = []
        for day in range(clock.window_start, clock.last + 1):
            growth = 1.0 + 1.5 * (day - clock.window_start) / HISTORY_DAYS
            weights.append(growth * (0.08 if clock.weekday[day] >= 5 else 1.0))
        return _cumulative(weights)

    # -- tenancy --------------------------------------------------------------------------------

    def _tenant(self) -> Iterator[Row]:
        firm = v.FIRM_NAMES[self.index % len(v.FIRM_NAMES)]
        self.founded = self.rng.randrange(0, 200)
        yield (self.tenant_id, f"{firm} {GENERATED_MARK}{self.tenant_id})", self.clock.at(self.founded, 540))

    def _crm_user(self) -> Iterator[Row]:
        rng = self.rng
        self.people: list[tuple[int, str]] = []  # (user id, role)
        taken: set[str] = set()
        roles = [Role.ADMIN, *([Role.MANAGER] * self.plan.managers), Role.VIEWER]
        for role in roles:
            user_id = self.ids.take("crm_user")
            first, last = rng.choice(v.FIRST_NAMES), rng.choice(v.LAST_NAMES)
            email = f"{first}.{last}".lower()
            local, n = email, 2
            while local in taken:
                local, n = f"{email}{n}", n + 1
            taken.add(local)
            self.people.append((user_id, role))
            yield (
                user_id,
                self.password_hash,
                None,
                False,
                f"{local}@firm{self.tenant_id}.generated.example",
                first,
                last,
                True,
                role == Role.ADMIN,
                self.clock.at(self.founded, 600),
            )
        self.admin = self.people[0][0]
        self.managers = [user for user, role in self.people if role == Role.MANAGER]
        self.viewer = self.people[-1][0]
        self.writers = [self.admin, *self.managers]

    def _membership(self) -> Iterator[Row]:
        joined = self.clock.at(self.founded, 600)
        for user_id, role in self.people:
            yield (self.ids.take("membership"), self.tenant_id, user_id, role, joined, joined)

    # -- organizations and books ----------------------------------------------------------------

    def _organization(self) -> Iterator[Row]:
        rng, plan = self.rng, self.plan
        self._plan_books()
        taken_principals: set[str] = set()
        taken_shared: set[str] = set()
        self.principals: list[Org] = []
        self.principal_category: list[str] = []
        categories = [c for c, _ in v.CATEGORY_WEIGHTS]
        category_weights = [w for _, w in v.CATEGORY_WEIGHTS]
        for i in range(plan.principals):
            category = rng.choices(categories, weights=category_weights)[0]
            name = self._fresh(taken_principals, self._principal_name(v.PRINCIPAL_KINDS[category]))
            org = Org(
                id=self.ids.take("organization"),
                name=name,
                kind=OrganizationType.PRINCIPAL,
                created_day=rng.randrange(self.founded, self.founded + 500),
                manager_id=self.principal_owner[i],
                phone=self._phone("800"),
                domain=f"{_slug(name)}.example",
            )
            self.principals.append(org)
            self.principal_category.append(category)
            yield self._org_row(
                org,
                priority=rng.choice("AAABBC"),
                segment="",
                parent=None,
                address=(f"{rng.randrange(100, 9900)} {rng.choice(v.STREETS)}", *rng.choice(v.CITIES)[:2]),
                notes=f"Line brokered since {2010 + rng.randrange(14)}.",
                author=self.admin,
            )
        self.principal_weights = _zipf(rng, plan.principals, 0.7)
        self.principal_cum = _cumulative(self.principal_weights)

        self.distributors: list[Org] = []
        for i in range(plan.distributors):
            if i < len(v.NATIONAL_DISTRIBUTORS):
                base, city, state, site = v.NATIONAL_DISTRIBUTORS[i]
                area = "800"
            else:
                city, state, area = rng.choice(v.CITIES)
                base = rng.choice(v.DISTRIBUTOR_PATTERNS).format(
                    c=city, s=rng.choice(v.LAST_NAMES), a=rng.choice(v.ADJECTIVES), n=rng.choice(v.NOUNS)
                )
                site = ""
            name = self._unique(taken_shared, base)
            org = Org(
                id=self.ids.take("organization"),
                name=name,
                kind=OrganizationType.DISTRIBUTOR,
                created_day=rng.randrange(self.founded, self.founded + 300),
                manager_id=self.admin,
                phone=self._phone(area),
                domain=site or f"{_slug(name)}.example",
            )
            self.distributors.append(org)
            yield self._org_row(
                org,
                priority="A" if i < 4 else rng.choice("BBC"),
                segment="",
                parent=None,
                address=(f"{rng.randrange(100, 9900)} {rng.choice(v.STREETS)}", city, state),
                notes="",
                author=self.admin,
            )
        # National distributors first and heaviest: most lines and most operators go through them.
        self.distributor_cum = _cumulative([1.0 / (i + 1) ** 1.1 for i in range(plan.distributors)])

        yield from self._operators(taken_shared)

    def _operators(self, taken: set[str]) -> Iterator[Row]:
        rng, plan = self.rng, self.plan
        segments = [s for s, _ in v.SEGMENT_WEIGHTS]
        segment_weights = [w for _, w in v.SEGMENT_WEIGHTS]
        self.operators: list[Org] = []
        self.operator_parent: list[int | None] = []  # index of the chain's head office
        self.operator_weight: list[float] = []
        # Chains: about one per hundred operators, Zipf-sized (a few big ones), 15–20% of operators.
        chains = max(1, plan.operators // 100) if plan.operators >= 12 else 0
        sizes = [max(2, round(80 / (i + 1) ** 0.7)) for i in range(chains)]
        while sum(sizes) + chains > plan.operators * 0.3 and max(sizes, default=0) > 2:
            sizes = [max(2, s - 1) for s in sizes]

        def operator(
            name: Callable[[], str], segment: str, kind: str, parent: int | None, weight: float
        ) -> Row:
            city, state, area = rng.choice(v.CITIES)
            org = Org(
                id=self.ids.take("organization"),
                name=self._fresh(taken, name),
                kind=kind,
                created_day=rng.randrange(self.founded, self.clock.last - 30),
                manager_id=rng.choice(self.managers),
                phone=self._phone(area),
                domain="",
            )
            org.domain = f"{_slug(org.name)}.example"
            self.operators.append(org)
            self.operator_parent.append(parent)
            priority = rng.choice("ABBBCCCCDD")
            self.operator_weight.append(weight * {"A": 3.0, "B": 1.8, "C": 1.0, "D": 0.5}[priority])
            return self._org_row(
                org,
                priority=priority,
                segment=segment,
                parent=None if parent is None else self.operators[parent].id,
                address=(f"{rng.randrange(100, 9900)} {rng.choice(v.STREETS)}", city, state),
                notes="",
                author=org.manager_id,
                status="inactive" if rng.random() < 0.04 else "active",
                website=f"https://www.{org.domain}",
            )

        for size in sizes:
            segment = rng.choices(segments, weights=segment_weights)[0]
            brand = f"{rng.choice(v.ADJECTIVES)} {rng.choice(v.NOUNS)}"
            suffix = v.CHAIN_SUFFIXES.get(segment, "Restaurant Group")
            head = len(self.operators)
            yield operator(_fixed(f"{brand} {suffix}"), segment, OrganizationType.CUSTOMER, None, 2.0)
            for store in rng.sample(range(100, 1000), size):
                yield operator(_fixed(f"{brand} #{store}"), segment, OrganizationType.CUSTOMER, head, 1.4)

        def independent(patterns: tuple[str, ...]) -> Callable[[], str]:
            def draw() -> str:
                return rng.choice(patterns).format(
                    a=rng.choice(v.ADJECTIVES),
                    n=rng.choice(v.NOUNS),
                    n2=rng.choice(v.NOUNS),
                    s=rng.choice(v.LAST_NAMES),
                    c=rng.choice(v.CITIES)[0],
                )

            return draw

        while len(self.operators) < plan.operators:
            segment = rng.choices(segments, weights=segment_weights)[0]
            kind = OrganizationType.PROSPECT if rng.random() < 0.3 else OrganizationType.CUSTOMER
            yield operator(independent(v.OPERATOR_PATTERNS[segment]), segment, kind, None, 1.0)
        # Where products are bought: chain units and independents, not head offices.
        heads = {p for p in self.operator_parent if p is not None}
        self.accounts = [i for i in range(len(self.operators)) if i not in heads] or [0]
        self.account_cum = _cumulative(
            [
                w * z
                for w, z in zip(
                    (self.operator_weight[i] for i in self.accounts),
                    _zipf(rng, len(self.accounts), 0.5),
                    strict=True,
                )
            ]
        )

    def _org_row(
        self,
        org: Org,
        *,
        priority: str,
        segment: str,
        parent: int | None,
        address: tuple[str, str, str],
        notes: str,
        author: int,
        status: str = "active",
        website: str = "",
    ) -> Row:
        created = self.clock.at(org.created_day, self._minute())
        street, city, state = address
        return (
            *self._audit(org.id, created, created, author),
            org.name,
            org.kind,
            priority,
            segment,
            parent,
            org.manager_id,
            status,
            org.phone,
            f"info@{org.domain}",
            website or f"https://www.{org.domain}",
            street,
            city,
            state,
            f"{self.rng.randrange(10000, 99999)}",
            "US",
            notes,
            org.id if org.kind == OrganizationType.PRINCIPAL else None,
        )

    def _principal_name(self, kinds: tuple[str, ...]) -> Callable[[], str]:
        return lambda: f"{self.rng.choice(v.PRINCIPAL_PLACES)} {self.rng.choice(kinds)}"

    def _plan_books(self) -> None:
        """Each manager's book: 8–12 principals; a few lines are nobody's (the admin works them)."""
        rng, plan = self.rng, self.plan
        order = list(range(plan.principals))
        rng.shuffle(order)
        cycle = itertools.cycle(order)
        self.books: list[tuple[int, list[int]]] = []  # (user id, principal indexes)
        self.principal_owner = [self.admin] * plan.principals
        for manager in self.managers:
            size = min(rng.randint(8, 12), plan.principals)
            book: dict[int, None] = {}
            while len(book) < size:
                book.setdefault(next(cycle), None)
            self.books.append((manager, list(book)))
            for principal in book:
                if self.principal_owner[principal] == self.admin:
                    self.principal_owner[principal] = manager
        # The viewer: a principal's own staff, reading two of the lines.
        self.books.append((self.viewer, self.books[0][1][:2]))

    def _principal_assignment(self) -> Iterator[Row]:
        for user, book in self.books:
            for principal in book:
                created = self.clock.at(self.principals[principal].created_day, 600)
                yield (
                    *self._audit(self.ids.take("principal_assignment"), created, created, self.admin),
                    user,
                    self.principals[principal].id,
                )

    def _distributor_authorization(self) -> Iterator[Row]:
        rng, clock = self.rng, self.clock
        self.carriers: list[list[int]] = []
        for principal in self.principals:
            carriers = _weighted_distinct(rng, self.distributor_cum, rng.randint(4, 12))
            self.carriers.append(carriers)
            for d in carriers:
                day = min(
                    clock.last,
                    max(principal.created_day, self.distributors[d].created_day) + rng.randrange(400),
                )
                expires = clock.date(day + rng.choice((730, 1095))) if rng.random() < 0.3 else None
                created = clock.at(day, self._minute())
                yield (
                    *self._audit(self.ids.take("distributor_authorization"), created, created, self.admin),
                    self.distributors[d].id,
                    principal.id,
                    clock.days[day],
                    expires,
                    "",
                )

    def _customer_distributor(self) -> Iterator[Row]:
        rng = self.rng
        self.primary_distributor: list[int] = []
        served: list[list[int]] = []
        for i, org in enumerate(self.operators):
            parent = self.operator_parent[i]
            # A chain's units buy through the chain's distributors.
            chosen = (
                served[parent]
                if parent is not None
                else _weighted_distinct(rng, self.distributor_cum, rng.choice((1, 1, 2, 2, 3)))
            )
            served.append(chosen)
            self.primary_distributor.append(chosen[0])
            self.served = served
            created = self.clock.at(org.created_day, self._minute())
            for n, d in enumerate(chosen):
                yield (
                    *self._audit(self.ids.take("customer_distributor"), created, created, org.manager_id),
                    org.id,
                    self.distributors[d].id,
                    n == 0,
                )

    # -- contacts and products ------------------------------------------------------------------

    def _contact(self) -> Iterator[Row]:
        rng, clock = self.rng, self.clock
        orgs = [*self.principals, *self.distributors, *self.operators]
        weights = [1.0] * len(self.principals) + [2.0] * len(self.distributors) + self.operator_weight
        counts = _allocate(rng, self.plan.contacts, weights)
        self.contact_base = self.ids.next["contact"]
        self.contact_roles: list[str] = []
        for org, count in zip(orgs, counts, strict=True):
            org.contacts_first, org.contacts_count = self.ids.next["contact"], count
            titles: tuple[tuple[str, str], ...]
            scope: int | None
            if org.kind == OrganizationType.PRINCIPAL:
                titles, scope = v.PRINCIPAL_TITLES, org.id
            elif org.kind == OrganizationType.DISTRIBUTOR:
                titles, scope = v.DISTRIBUTOR_TITLES, None
            else:
                titles, scope = v.OPERATOR_TITLES, None
            emails: set[str] = set()
            lead = org.contacts_first
            for n in range(count):
                contact_id = self.ids.take("contact")
                first, last = rng.choice(v.FIRST_NAMES), rng.choice(v.LAST_NAMES)
                title, role = rng.choice(titles)
                email = ""
                if rng.random() < 0.9:
                    local, k = f"{first}.{last}".lower(), 2
                    email = local
                    while email in emails:
                        email, k = f"{local}{k}", k + 1
                    emails.add(email)
                    email = f"{email}@{org.domain}"
                day = min(clock.last, org.created_day + rng.randrange(30 + 200 * n))
                created = clock.at(day, self._minute())
                self.contact_roles.append(role)
                yield (
                    *self._audit(contact_id, created, created, org.manager_id),
                    org.id,
                    first,
                    last,
                    title,
                    role,
                    email,
                    org.phone,
                    f"(832) 555-01{rng.randrange(100):02d}" if rng.random() < 0.6 else "",
                    n == 0,
                    lead if n and rng.random() < 0.5 else None,
                    "",
                    scope,
                )

    def _product(self) -> Iterator[Row]:
        rng, clock = self.rng, self.clock
        counts = _allocate(rng, self.plan.products, [w**0.5 for w in self.principal_weights])
        self.principal_products: list[tuple[int, int]] = []
        self.product_names: list[str] = []
        self.product_base = self.ids.next["product"]
        statuses = (ProductStatus.ACTIVE,) * 17 + (
            ProductStatus.SEASONAL,
            ProductStatus.COMING_SOON,
            ProductStatus.DISCONTINUED,
        )
        for i, (principal, count) in enumerate(zip(self.principals, counts, strict=True)):
            self.principal_products.append((self.ids.next["product"], count))
            prefix = "".join(word[0] for word in re.findall(r"[A-Za-z]+", principal.name))[:3].upper()
            category = self.principal_category[i]
            for n in range(count):
                product_id = self.ids.take("product")
                item_category = category if rng.random() < 0.85 else rng.choice(list(v.ITEMS))
                item, pack, unit, price = rng.choice(v.ITEMS[item_category])
                name = f"{rng.choice(v.ITEM_VARIANTS)}{item}"
                self.product_names.append(name)
                day = min(clock.last, principal.created_day + rng.randrange(900))
                created = clock.at(day, self._minute())
                yield (
                    *self._audit(product_id, created, created, principal.manager_id),
                    principal.id,
                    name,
                    f"{prefix}-{1001 + n}",
                    item_category,
                    rng.choice(statuses),
                    pack,
                    unit,
                    f"{price * rng.uniform(0.85, 1.2):.2f}",
                    f"{name}, {pack}. From {principal.name}'s foodservice line.",
                )

    def _product_distributor(self) -> Iterator[Row]:
        rng = self.rng
        # What each distributor carries: (product, principal), for the sales it reports.
        self.carried: dict[int, list[tuple[int, int]]] = {}
        for i, principal in enumerate(self.principals):
            first, count = self.principal_products[i]
            carriers = self.carriers[i]
            for product_id in range(first, first + count):
                created = self.clock.at(min(self.clock.last, principal.created_day + rng.randrange(900)), 600)
                for d in rng.sample(carriers, rng.randint(1, min(3, len(carriers)))):
                    self.carried.setdefault(d, []).append((product_id, principal.id))
                    yield (
                        *self._audit(self.ids.take("product_distributor"), created, created, self.admin),
                        product_id,
                        self.distributors[d].id,
                        f"{rng.randrange(1000000, 9999999)}",
                        principal.id,
                    )

    # -- the pipeline ---------------------------------------------------------------------------

    def _opportunity(self) -> Iterator[Row]:
        rng, clock = self.rng, self.clock
        count = self.plan.opportunities
        days = list(range(clock.window_start, clock.last + 1))
        day_cum = self._day_weights()
        principals = rng.choices(range(len(self.principals)), cum_weights=self.principal_cum, k=count)
        accounts = rng.choices(self.accounts, cum_weights=self.account_cum, k=count)
        created_days = rng.choices(days, cum_weights=day_cum, k=count)
        open_stages = [s for s, _, _ in OPEN_STAGES]
        open_weights = [w for _, w, _ in OPEN_STAGES]
        probability = {s: p for s, _, p in OPEN_STAGES} | {Stage.CLOSED_WON: 100, Stage.CLOSED_LOST: 0}
        statuses = (OpportunityStatus.ACTIVE,) * 14 + (
            OpportunityStatus.ON_HOLD,
            OpportunityStatus.NURTURING,
            OpportunityStatus.NURTURING,
            OpportunityStatus.STALLED,
            OpportunityStatus.STALLED,
            OpportunityStatus.EXPIRED,
        )
        priorities = (
            OpportunityPriority.LOW,
            OpportunityPriority.MEDIUM,
            OpportunityPriority.MEDIUM,
            OpportunityPriority.MEDIUM,
            OpportunityPriority.HIGH,
            OpportunityPriority.CRITICAL,
        )
        volumes = (
            "4.00",
            "6.00",
            "8.00",
            "10.00",
            "12.00",
            "15.00",
            "20.00",
            "25.00",
            "30.00",
            "40.00",
            "60.00",
        )
        # What interactions and the relationship tables need: (id, principal, account, first day, last day,
        # owner, lead product).
        self.deals: list[tuple[int, int, int, int, int, int, int]] = []
        for pi, account, created_day in zip(principals, accounts, created_days, strict=True):
            opportunity_id = self.ids.take("opportunity")
            principal, customer = self.principals[pi], self.operators[account]
            created_day = max(created_day, customer.created_day, principal.created_day)
            age = clock.last - created_day
            owner = principal.manager_id
            first_product, product_count = self.principal_products[pi]
            lead = first_product + rng.randrange(product_count)
            closed = rng.random() < min(0.9, age / 300)
            version = 1
            if closed:
                stage = Stage.CLOSED_WON if rng.random() < 0.45 else Stage.CLOSED_LOST
                end_day = min(clock.last, created_day + rng.randint(7, max(7, min(age, 270))))
                closed_on: str | None = clock.days[end_day]
                stage_changed = clock.at(end_day, self._minute())
                expected: str | None = closed_on
                next_action, next_action_date = "", None
                version = rng.randint(3, 7)
            else:
                stage = rng.choices(open_stages, weights=open_weights)[0]
                end_day = clock.last
                closed_on = None
                stage_changed = clock.at(created_day + rng.randint(0, age), self._minute())
                expected = clock.date(created_day + rng.randint(30, 240))
                next_action = rng.choice(v.NEXT_ACTIONS)
                next_action_date = clock.date(clock.last + rng.randint(-14, 28))
                version = 1 + open_stages.index(stage)
            created = clock.at(created_day, self._minute())
            updated = max(created, stage_changed)
            stage_changed = max(created, stage_changed)
            distributor_pick = rng.random()
            if distributor_pick < 0.75:
                distributor: int | None = self.distributors[self.primary_distributor[account]].id
            elif distributor_pick < 0.9:
                distributor = self.distributors[rng.choice(self.carriers[pi])].id
            else:
                distributor = None
            self.deals.append((opportunity_id, pi, account, created_day, end_day, owner, lead))
            yield (
                *self._audit(opportunity_id, created, updated, owner, version),
                f"{self.product_names[lead - self.product_base]} at {customer.name}"[:200],
                principal.id,
                customer.id,
                distributor,
                owner,
                stage,
                rng.choice(statuses) if not closed else OpportunityStatus.ACTIVE,
                rng.choice(priorities),
                rng.choice(volumes),
                probability[stage],
                expected,
                closed_on,
                rng.choice(v.WIN_REASONS) if stage == Stage.CLOSED_WON else "",
                rng.choice(v.LOSS_REASONS) if stage == Stage.CLOSED_LOST else "",
                next_action,
                next_action_date,
                stage_changed,
                "",
            )

    def _opportunity_product(self) -> Iterator[Row]:
        rng, clock = self.rng, self.clock
        for opportunity_id, pi, _, created_day, _, owner, lead in self.deals:
            first, count = self.principal_products[pi]
            products = [lead]
            for _ in range(rng.choice((0, 0, 1, 1, 2))):
                other = first + rng.randrange(count)
                if other not in products:
                    products.append(other)
            created = clock.at(created_day, self._minute())
            for product in products:
                yield (
                    *self._audit(self.ids.take("opportunity_product"), created, created, owner),
                    opportunity_id,
                    product,
                    rng.choice(("2.00", "3.00", "5.00", "8.00", "10.00")),
                    "",
                    self.principals[pi].id,
                )

    def _opportunity_contact(self) -> Iterator[Row]:
        rng, clock = self.rng, self.clock
        for opportunity_id, pi, account, created_day, _, owner, _ in self.deals:
            customer = self.operators[account]
            if not customer.contacts_count:
                continue
            picks = {
                customer.contacts_first + rng.randrange(customer.contacts_count)
                for _ in range(rng.choice((0, 1, 1, 2)))
            }
            created = clock.at(created_day, self._minute())
            for contact in sorted(picks):
                yield (
                    *self._audit(self.ids.take("opportunity_contact"), created, created, owner),
                    opportunity_id,
                    contact,
                    self.contact_roles[contact - self.contact_base],
                    self.principals[pi].id,
                )

    # -- activity -------------------------------------------------------------------------------

    def _interaction(self) -> Iterator[Row]:
        """About 60% touches on deals, the rest account, distributor and principal work."""
        rng, clock = self.rng, self.clock
        days = list(range(clock.window_start, clock.last + 1))
        day_cum = self._day_weights()
        touches = [v.DEAL_TOUCHES, v.ACCOUNT_TOUCHES, v.DISTRIBUTOR_TOUCHES, v.PRINCIPAL_TOUCHES]
        deal_types, account_types, distributor_types, principal_types = (
            [str(kind) for kind, _ in weighted] for weighted in touches
        )
        cums = [_cumulative([weight for _, weight in weighted]) for weighted in touches]
        sentiments = (
            Sentiment.POSITIVE,
            Sentiment.POSITIVE,
            Sentiment.NEUTRAL,
            Sentiment.NEUTRAL,
            Sentiment.NEGATIVE,
            "",
        )
        durations = (5, 10, 15, 15, 30, 30, 45, 60, 90)
        principals_range = range(len(self.principals))
        self.sampled: list[tuple[int, int, int, int, int]] = []
        remaining = self.plan.interactions
        while remaining:
            chunk = min(remaining, 10000)
            remaining -= chunk
            chunk_days = rng.choices(days, cum_weights=day_cum, k=chunk)
            chunk_principals = rng.choices(principals_range, cum_weights=self.principal_cum, k=chunk)
            chunk_accounts = rng.choices(self.accounts, cum_weights=self.account_cum, k=chunk)
            for day, pi, account in zip(chunk_days, chunk_principals, chunk_accounts, strict=True):
                pick = rng.random()
                opportunity_id: int | None = None
                line = self.principals[pi]
                principal: Org | None = line
                if pick < 0.6 and self.deals:
                    opportunity_id, pi, account, first_day, last_day, user, _ = self.deals[
                        rng.randrange(len(self.deals))
                    ]
                    line, org = self.principals[pi], self.operators[account]
                    principal = line
                    day = clock.business_day(rng.randint(first_day, last_day))
                    day = max(day, first_day)
                    kind = rng.choices(deal_types, cum_weights=cums[0])[0]
                    subject = f"{TYPE_LABELS[kind]}: {line.name} at {org.name}"
                elif pick < 0.75:  # a principal's line reviewed with an account
                    org = self.operators[account]
                    user = line.manager_id
                    kind = rng.choices(account_types, cum_weights=cums[1])[0]
                    subject = f"{line.name} line review with {org.name}"
                elif pick < 0.87:  # shared account upkeep: no principal
                    org, principal = self.operators[account], None
                    user = org.manager_id if rng.random() < 0.8 else rng.choice(self.writers)
                    kind = rng.choices(account_types, cum_weights=cums[1])[0]
                    subject = f"Account check-in with {org.name}"
                elif pick < 0.97:  # distributor work on a line: ride-alongs, food shows, item loads
                    org = self.distributors[
                        rng.choices(range(len(self.distributors)), cum_weights=self.distributor_cum)[0]
                    ]
                    user = line.manager_id
                    kind = rng.choices(distributor_types, cum_weights=cums[2])[0]
                    subject = f"{v.DISTRIBUTOR_WORK[kind]}: {line.name} at {org.name}"
                else:  # at the principal itself: the interaction is that principal's
                    org = line
                    user = line.manager_id
                    kind = rng.choices(principal_types, cum_weights=cums[3])[0]
                    subject = f"{TYPE_LABELS[kind]} with {line.name}"
                day = max(day, org.created_day)
                minute = self._minute()
                occurred = clock.at(day, minute)
                created = clock.at(day, min(1439, minute + rng.randrange(240)))
                contact = None
                if org.contacts_count and rng.random() < 0.8:
                    contact = org.contacts_first + rng.randrange(org.contacts_count)
                follow_up_on, follow_up_done = None, False
                if rng.random() < 0.3:
                    due = day + rng.randint(2, 14)
                    follow_up_on = clock.date(due)
                    follow_up_done = due < clock.last and rng.random() < 0.8
                row_id = self.ids.take("interaction")
                if kind == InteractionType.SAMPLE and principal is not None:
                    # (interaction, principal index, day, minute, logger): its sample and lines follow
                    self.sampled.append((row_id, pi, day, minute, user))
                if rng.random() < 0.01:  # soft-deleted later by whoever logged it
                    if self.sampled and self.sampled[-1][0] == row_id:
                        self.sampled.pop()  # a deleted interaction's sample went with it: none
                    deleted = clock.at(min(clock.last, day + rng.randint(0, 30)), 1080)
                    audit: Row = (
                        row_id,
                        self.tenant_id,
                        created,
                        max(created, deleted),
                        user,
                        user,
                        max(created, deleted),
                        user,
                        2,
                    )
                else:
                    audit = (row_id, self.tenant_id, created, created, user, user, None, None, 1)
                yield (
                    *audit,
                    kind,
                    occurred,
                    None if kind == InteractionType.EMAIL else rng.choice(durations),
                    subject[:300],
                    rng.choice(v.INTERACTION_NOTES),
                    org.id,
                    contact,
                    opportunity_id,
                    None if principal is None else principal.id,
                    user,
                    rng.choice(v.OUTCOMES),
                    rng.choice(sentiments),
                    follow_up_on,
                    follow_up_done,
                )

    def _sample(self) -> Iterator[Row]:
        """Each sample interaction of a principal: as far along as its age allows (the last three weeks'
        still on their way, older ones mostly with feedback, some stalled or cancelled), each step dated
        as the database would (in order, never after the last day)."""
        rng, clock = self.rng, self.clock
        sentiments = (Sentiment.POSITIVE, Sentiment.POSITIVE, Sentiment.NEUTRAL, Sentiment.NEGATIVE)
        statuses = (
            SampleStatus.REQUESTED,
            SampleStatus.SENT,
            SampleStatus.DELIVERED,
            SampleStatus.FEEDBACK_RECEIVED,
        )
        for interaction_id, pi, day, minute, user in self.sampled:
            sent = day + rng.randint(0, 2)
            delivered = sent + rng.randint(1, 3)
            heard = delivered + rng.randint(2, 12)
            reached = [d for d in (day, sent, delivered, heard) if d <= clock.last]
            if clock.last - day < 21:
                steps = rng.randint(1, len(reached))
            else:
                steps = len(reached) - (1 if len(reached) > 1 and rng.random() < 0.2 else 0)
            cancelled = steps < len(reached) and rng.random() < 0.4
            status = SampleStatus.CANCELLED if cancelled else statuses[steps - 1]
            dated = [clock.at(d, minute) for d in reached[:steps]]
            dates: list[str | None] = [*dated, *[None] * (4 - steps)]
            cancelled_at = clock.at(reached[steps], minute) if cancelled else None
            sentiment = rng.choice(sentiments) if status == SampleStatus.FEEDBACK_RECEIVED else ""
            feedback = v.SAMPLE_FEEDBACK[sentiment] if sentiment else ("Chef left." if cancelled else "")
            last = cancelled_at or dated[-1]
            yield (
                *self._audit(self.ids.take("sample"), dated[0], last, user, steps + int(cancelled)),
                interaction_id,
                status,
                *dates,
                cancelled_at,
                feedback,
                sentiment,
                self.principals[pi].id,
            )

    def _sample_line(self) -> Iterator[Row]:
        """One to three of the principal's products per sample."""
        rng, clock = self.rng, self.clock
        amounts = (
            ("1", SampleUnit.CASE),
            ("2", SampleUnit.CASE),
            ("5", SampleUnit.POUND),
            ("6", SampleUnit.EACH),
        )
        for interaction_id, pi, day, minute, user in self.sampled:
            first, count = self.principal_products[pi]
            created = clock.at(day, minute)
            for product_id in rng.sample(range(first, first + count), min(count, rng.randint(1, 3))):
                quantity, unit = rng.choice(amounts)
                yield (
                    *self._audit(self.ids.take("sample_line"), created, created, user),
                    interaction_id,
                    product_id,
                    quantity,
                    unit,
                    self.principals[pi].id,
                )

    # -- distributor sales ----------------------------------------------------------------------

    def _sales_fact(self) -> Iterator[Row]:
        """A year of weekly depletions: each operator buys a few products through its distributors, most
        weeks, at a steady rate with noise; some points start during the year (gained), some stop (lost)."""
        rng, clock = self.rng, self.clock
        last = dt.date.fromisoformat(clock.days[clock.last])
        first_week = last - dt.timedelta(days=last.weekday()) - dt.timedelta(weeks=SALES_WEEKS)
        weeks = [(first_week + dt.timedelta(weeks=n)).isoformat() for n in range(SALES_WEEKS)]
        loaded = clock.at(clock.last, 1080)
        for i, org in enumerate(self.operators):
            points: set[tuple[int, int, int]] = set()
            for _ in range(rng.choice(SALES_POINTS)):
                d = rng.choice(self.served[i])
                items = self.carried.get(d)
                if items:
                    product_id, principal_id = rng.choice(items)
                    points.add((d, product_id, principal_id))
            for d, product_id, principal_id in sorted(points):
                rate = rng.uniform(1, 12)
                price = rng.uniform(18, 65)
                start, stop = 0, SALES_WEEKS
                shape = rng.random()
                if shape < 0.15:
                    start = rng.randrange(SALES_WEEKS)
                elif shape < 0.3:
                    stop = rng.randrange(1, SALES_WEEKS)
                for week in weeks[start:stop]:
                    if rng.random() < 0.15:
                        continue  # no order that week
                    cases = max(1, round(rate * rng.uniform(0.5, 1.5)))
                    yield (
                        self.ids.take("sales_fact"),
                        self.tenant_id,
                        self.distributors[d].id,
                        product_id,
                        org.id,
                        principal_id,
                        "week",
                        week,
                        cases,
                        f"{cases * price:.2f}",
                        "USD",
                        loaded,
                    )
