"""How many of each thing a generated firm has, for a scale split over some number of firms."""

from __future__ import annotations

from dataclasses import dataclass, fields


@dataclass(frozen=True)
class FirmPlan:
    """Row counts of the core entities of one firm (relationship tables follow from these)."""

    managers: int
    principals: int
    distributors: int
    operators: int  # customers and prospects, chains' head offices included
    contacts: int
    products: int
    opportunities: int
    interactions: int

    def scaled(self, factor: float) -> FirmPlan:
        """This plan times `factor`, never below what a working firm needs (MINIMUM)."""
        return FirmPlan(
            **{
                f.name: max(getattr(MINIMUM, f.name), round(getattr(self, f.name) * factor))
                for f in fields(self)
            }
        )


# Scale 1: one mid-sized brokerage with three years of history.
SCALE_ONE = FirmPlan(
    managers=10,
    principals=120,
    distributors=60,
    operators=5000,
    contacts=20000,
    products=2400,
    opportunities=20000,
    interactions=200000,
)

# The smallest firm that still has every relationship (tests run at --scale 0.01).
MINIMUM = FirmPlan(
    managers=1,
    principals=2,
    distributors=2,
    operators=6,
    contacts=12,
    products=4,
    opportunities=6,
    interactions=20,
)


def firm_plans(scale: float, tenants: int = 1) -> list[FirmPlan]:
    """`scale` split evenly over `tenants` firms: `--scale 100 --tenants 100` is 100 firms of scale 1."""
    if scale <= 0:
        raise ValueError("scale must be positive")
    if tenants < 1:
        raise ValueError("tenants must be at least 1")
    return [SCALE_ONE.scaled(scale / tenants)] * tenants
