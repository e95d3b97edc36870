"""Names as people read them: NFC storage, no control or invisible characters, and a uniqueness key.

The database is the last word (CHECK constraints and the unique indexes on `crm_name_key(column)`,
crm migration 0009); this module mirrors it in Python so the API and the admin can normalise what they
store and give a friendly message first, and holds the model declarations of those rules.
"""

from __future__ import annotations

import re
import unicodedata

from django.db import models
from django.db.models.functions import Length
from django.db.models.lookups import LessThanOrEqual

# Unicode general categories Cc (controls) and Cf (format: zero-width space and joiners, BOM,
# bidirectional overrides, soft hyphen, tags…) as of Unicode 15.0, without NUL (PostgreSQL text
# cannot hold it). Literal ranges rather than regex classes: PostgreSQL's [[:cntrl:]] and \s follow
# the database's LC_CTYPE (under "C" they know only ASCII) and it has no \p{Cf}; these do not.
FORBIDDEN_RANGES: tuple[tuple[int, int], ...] = (
    (0x0001, 0x001F),
    (0x007F, 0x009F),
    (0x00AD, 0x00AD),
    (0x0600, 0x0605),
    (0x061C, 0x061C),
    (0x06DD, 0x06DD),
    (0x070F, 0x070F),
    (0x0890, 0x0891),
    (0x08E2, 0x08E2),
    (0x180E, 0x180E),
    (0x200B, 0x200F),
    (0x202A, 0x202E),
    (0x2060, 0x2064),
    (0x2066, 0x206F),
    (0xFEFF, 0xFEFF),
    (0xFFF9, 0xFFFB),
    (0x110BD, 0x110BD),
    (0x110CD, 0x110CD),
    (0x13430, 0x1343F),
    (0x1BCA0, 0x1BCA3),
    (0x1D173, 0x1D17A),
    (0xE0001, 0xE0001),
    (0xE0020, 0xE007F),
)


def _pg_escape(code: int) -> str:
    return f"\\u{code:04x}" if code <= 0xFFFF else f"\\U{code:08x}"


# A PostgreSQL (ARE) bracket expression of FORBIDDEN_RANGES, with \u/\U escapes (UTF8 databases).
FORBIDDEN_PATTERN = (
    "["
    + "".join(
        _pg_escape(start) if start == end else f"{_pg_escape(start)}-{_pg_escape(end)}"
        for start, end in FORBIDDEN_RANGES
    )
    + "]"
)

FORBIDDEN = re.compile(
    "["
    + "".join(re.escape(chr(a)) + ("" if a == b else "-" + re.escape(chr(b))) for a, b in FORBIDDEN_RANGES)
    + "]"
)

# The whitespace crm_name_key() collapses: ASCII's, NEL, and Unicode's space separators and line and
# paragraph separators. NFKC already maps most of them to U+0020; U+1680, U+2028 and U+2029 it keeps.
_WHITESPACE_RUN = re.compile("[\t-\r \x85\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]+")


class ForbiddenCharacter(ValueError):
    """The text holds a control or format (invisible) character."""

    def __init__(self, character: str) -> None:
        self.character = character
        name = unicodedata.name(character, "")
        super().__init__(
            f"Must not contain control or invisible formatting characters (U+{ord(character):04X}"
            + (f" {name}" if name else "")
            + ")."
        )


def forbidden_character(value: str) -> str | None:
    """The first Cc/Cf character of `value`, or None."""
    match = FORBIDDEN.search(value)
    return match.group() if match else None


def normalized(value: str) -> str:
    """`value` in NFC, as it is stored; raises ForbiddenCharacter for control or format characters."""
    found = forbidden_character(value)
    if found is not None:
        raise ForbiddenCharacter(found)
    return unicodedata.normalize("NFC", value)


def name_key(value: str) -> str:
    """Python mirror of crm_name_key(): NFKC, lower case, whitespace runs as one space, trimmed.

    PostgreSQL's lower() follows the database's LC_CTYPE (C.UTF-8 and the usual UTF-8 locales fold
    letters beyond ASCII); the unique indexes, not this function, decide a clash."""
    return _WHITESPACE_RUN.sub(" ", unicodedata.normalize("NFKC", value).lower()).strip(" ")


# -- Model declarations -----------------------------------------------------------------------------


class NameKey(models.Func):
    """crm_name_key(column): the uniqueness key of a name, email or code."""

    function = "crm_name_key"
    output_field = models.TextField()


class NFC(models.Func):
    """normalize(column, NFC)."""

    template = "normalize(%(expressions)s, NFC)"
    output_field = models.TextField()


def normalized_text_check(table: str, column: str) -> models.CheckConstraint:
    """`column` is stored NFC-normalised and holds no control or format character."""
    return models.CheckConstraint(
        condition=models.Q(**{column: NFC(models.F(column))})
        & ~models.Q(**{f"{column}__regex": FORBIDDEN_PATTERN}),
        name=f"{table}_{column}_normalized",
        violation_error_message=(
            f"{column} must be NFC-normalised and must not contain control or invisible formatting characters."
        ),
    )


def max_length_check(table: str, column: str, limit: int) -> models.CheckConstraint:
    """Free text of at most `limit` characters."""
    return models.CheckConstraint(
        condition=LessThanOrEqual(Length(column), limit),
        name=f"{table}_{column}_max_length",
        violation_error_message=f"Ensure {column} has no more than {limit} characters.",
    )
