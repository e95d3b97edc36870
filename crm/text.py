"""Names as people read them: NFC storage, no control or invisible characters, and a uniqueness key.

The database is the last word (CHECK constraints and the unique indexes on `crm_name_key(column)`,
crm migrations 0009 and 0016); this module mirrors it in Python so the API and the admin can normalise
what they store and give a friendly message first, and holds the model declarations of those rules.
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


def _pattern(ranges: tuple[tuple[int, int], ...]) -> str:
    """A PostgreSQL (ARE) bracket expression of `ranges`, with \\u/\\U escapes (UTF8 databases)."""
    return (
        "["
        + "".join(
            _pg_escape(start) if start == end else f"{_pg_escape(start)}-{_pg_escape(end)}"
            for start, end in ranges
        )
        + "]"
    )


def _regex(ranges: tuple[tuple[int, int], ...]) -> re.Pattern[str]:
    return re.compile(
        "["
        + "".join(re.escape(chr(a)) + ("" if a == b else "-" + re.escape(chr(b))) for a, b in ranges)
        + "]"
    )


FORBIDDEN_PATTERN = _pattern(FORBIDDEN_RANGES)
FORBIDDEN = _regex(FORBIDDEN_RANGES)

# Characters that show nothing yet are not Cc/Cf: Unicode's Default_Ignorable_Code_Point
# (DerivedCoreProperties.txt of Unicode 14.0, as perl's \p{Default_Ignorable_Code_Point} lists it:
# combining grapheme joiner, Hangul fillers, Khmer inherent vowels, Mongolian and other variation
# selectors, the reserved U+E0000 block…; it overlaps Cc/Cf) and U+2800 BRAILLE PATTERN BLANK, which renders as a space. The one list of them: the
# database's crm_strip_invisible() (crm migration 0016) holds the same ranges, and
# tests/integrity/test_names.py compares the two over every code point. Python's unicodedata does not
# expose the property.
INVISIBLE_RANGES: tuple[tuple[int, int], ...] = (
    (0x00AD, 0x00AD),
    (0x034F, 0x034F),
    (0x061C, 0x061C),
    (0x115F, 0x1160),
    (0x17B4, 0x17B5),
    (0x180B, 0x180F),
    (0x200B, 0x200F),
    (0x202A, 0x202E),
    (0x2060, 0x206F),
    (0x2800, 0x2800),
    (0x3164, 0x3164),
    (0xFE00, 0xFE0F),
    (0xFEFF, 0xFEFF),
    (0xFFA0, 0xFFA0),
    (0xFFF0, 0xFFF8),
    (0x1BCA0, 0x1BCA3),
    (0x1D173, 0x1D17A),
    (0xE0000, 0xE0FFF),
)


INVISIBLE_PATTERN = _pattern(INVISIBLE_RANGES)
INVISIBLE = _regex(INVISIBLE_RANGES)
# What a name, email or code must not hold: Cc/Cf, and the invisible characters.
REFUSED = _regex(FORBIDDEN_RANGES + INVISIBLE_RANGES)

# The whitespace crm_name_key() collapses: ASCII's, NEL, and Unicode's space separators and line and
# paragraph separators. NFKC already maps most of them to U+0020; U+1680, U+2028 and U+2029 it keeps.
_WHITESPACE_RUN = re.compile("[\t-\r \x85\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]+")


class ForbiddenCharacter(ValueError):
    """The text holds a control, format or otherwise invisible character."""

    def __init__(self, character: str) -> None:
        self.character = character
        name = unicodedata.name(character, "")
        super().__init__(
            f"Must not contain control or invisible formatting characters (U+{ord(character):04X}"
            + (f" {name}" if name else "")
            + ")."
        )


def forbidden_character(value: str) -> str | None:
    """The first Cc/Cf or invisible (INVISIBLE_RANGES) character of `value`, or None."""
    match = REFUSED.search(value)
    return match.group() if match else None


def normalized(value: str) -> str:
    """`value` in NFC, as it is stored; raises ForbiddenCharacter for control, format or invisible
    characters."""
    found = forbidden_character(value)
    if found is not None:
        raise ForbiddenCharacter(found)
    return unicodedata.normalize("NFC", value)


def name_key(value: str) -> str:
    """Python mirror of crm_name_key() (crm migration 0016): invisible characters dropped, NFKC, full
    Unicode case folding (ß and ẞ as ss, final sigma as σ), NFKC again (a fold may decompose: ΐ), every
    whitespace run one space, trimmed.

    The database folds with a table frozen from this Python's str.casefold (Unicode 14.0), not with
    lower(), so the key does not depend on the database's LC_CTYPE; tests/integrity/test_names.py
    compares the two over every code point."""
    folded = unicodedata.normalize("NFKC", unicodedata.normalize("NFKC", INVISIBLE.sub("", value)).casefold())
    return _WHITESPACE_RUN.sub(" ", folded).strip(" ")


# What separates the words of a name when duplicates are looked for (ADR 0029): whitespace, ASCII
# punctuation, Latin-1's signs, dashes, quotes and other general punctuation, the minus sign. Literal
# ranges, as above (PostgreSQL's [[:punct:]] follows LC_CTYPE). Applied to crm_name_key()'s output, which
# NFKC has already folded (full-width forms, ª, ², ¼).
TOKEN_SEPARATOR_RANGES: tuple[tuple[int, int], ...] = (
    (0x0009, 0x000D),
    (0x0020, 0x002F),
    (0x003A, 0x0040),
    (0x005B, 0x0060),
    (0x007B, 0x007E),
    (0x0085, 0x0085),
    (0x00A0, 0x00A9),
    (0x00AB, 0x00B1),
    (0x00B4, 0x00B4),
    (0x00B6, 0x00B8),
    (0x00BB, 0x00BB),
    (0x00BF, 0x00BF),
    (0x00D7, 0x00D7),
    (0x00F7, 0x00F7),
    (0x2010, 0x2027),
    (0x2030, 0x205E),
    (0x2212, 0x2212),
    (0x3000, 0x3003),
)
TOKEN_SEPARATOR_PATTERN = _pattern(TOKEN_SEPARATOR_RANGES) + "+"
TOKEN_SEPARATOR = re.compile(_regex(TOKEN_SEPARATOR_RANGES).pattern + "+")
# Words that say what kind of body a firm is, not which one: left out when names are compared.
CORPORATE_WORDS = (
    "and", "co", "company", "corp", "corporation", "gmbh", "inc", "incorporated", "limited", "llc", "llp",
    "lp", "ltd", "plc", "the",
)  # fmt: skip


def name_tokens(value: str) -> list[str]:
    """The words of a name as duplicates are compared (ADR 0029): its crm_name_key() split at punctuation,
    dashes and spaces, without corporate words, distinct and sorted. Python mirror of the SQL in
    organizations.selectors (tests/organizations/test_duplicates.py compares them)."""
    words = {word for word in TOKEN_SEPARATOR.split(name_key(value)) if word}
    return sorted(words - set(CORPORATE_WORDS))


# -- Model declarations -----------------------------------------------------------------------------


class NameKey(models.Func):
    """crm_name_key(column): the uniqueness key of a name, email or code."""

    function = "crm_name_key"
    output_field = models.TextField()


class StripInvisible(models.Func):
    """crm_strip_invisible(column): the value without its invisible characters (INVISIBLE_RANGES)."""

    function = "crm_strip_invisible"
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


def visible_text_check(table: str, column: str) -> models.CheckConstraint:
    """`column` holds no invisible character (INVISIBLE_RANGES: combining grapheme joiner, variation
    selectors, Hangul fillers, braille blank…), which its Cc/Cf check lets through."""
    return models.CheckConstraint(
        condition=models.Q(**{column: StripInvisible(models.F(column))}),
        name=f"{table}_{column}_visible",
        violation_error_message=f"{column} must not contain invisible characters.",
    )


def max_length_check(table: str, column: str, limit: int) -> models.CheckConstraint:
    """Free text of at most `limit` characters."""
    return models.CheckConstraint(
        condition=LessThanOrEqual(Length(column), limit),
        name=f"{table}_{column}_max_length",
        violation_error_message=f"Ensure {column} has no more than {limit} characters.",
    )
