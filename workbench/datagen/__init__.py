"""Generated data at any scale, for load and performance work: `manage.py generate_data` (see load.py)."""

from workbench.datagen.load import (
    GENERATED_MARK,
    GENERATED_PASSWORD,
    GenerationError,
    GenerationReport,
    generate,
)
from workbench.datagen.plan import SCALE_ONE, FirmPlan, firm_plans

__all__ = [
    "GENERATED_MARK",
    "GENERATED_PASSWORD",
    "SCALE_ONE",
    "FirmPlan",
    "GenerationError",
    "GenerationReport",
    "firm_plans",
    "generate",
]
