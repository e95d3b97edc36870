"""The words duplicates are compared by (ADR 0029): crm.text.name_tokens mirrors the SQL of
organizations.selectors, over names with case, accents' forms, punctuation, dashes and corporate words."""

from __future__ import annotations

import pytest
from django.db import connection

from crm.text import CORPORATE_WORDS, TOKEN_SEPARATOR_PATTERN, name_tokens

pytestmark = pytest.mark.django_db

NAMES = [
    "Sysco Boston",
    "SYSCO – Boston",
    "SYSCO—BOSTON",
    "Sysco-Boston, Inc.",
    "The Blue Door Grill & Bar, LLC",
    "Café Ünïcode’s «Bistro»",
    "ＦＵＬＬ Width Co.",
    "Straße 1½ Deli",
    "Ω Foods ltd",
    "   spaced\tout   name  ",
    "The Company Inc",
    "Smith's/Jones' (Wholesale) Corp.",
]

SQL = """
SELECT ARRAY(SELECT DISTINCT word FROM regexp_split_to_table(crm_name_key(%s), %s) AS word
              WHERE word <> '' AND word <> ALL (%s::text[]))
"""


@pytest.mark.parametrize("name", NAMES)
def test_python_and_sql_split_a_name_into_the_same_words(name: str) -> None:
    with connection.cursor() as cursor:
        cursor.execute(SQL, [name, TOKEN_SEPARATOR_PATTERN, list(CORPORATE_WORDS)])
        in_sql = cursor.fetchone()[0]
    assert sorted(in_sql) == name_tokens(name)


def test_sysco_boston_spellings_are_the_same_words() -> None:
    words = {tuple(name_tokens(name)) for name in NAMES[:4]}
    assert words == {("boston", "sysco")}
    assert name_tokens("The Company Inc") == []


@pytest.mark.parametrize("name", NAMES)
def test_crm_name_words_is_name_tokens(name: str) -> None:
    """The function the match keys are kept by (crm 0031) splits as the Python mirror does."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT crm_name_words(%s)", [name])
        assert cursor.fetchone()[0] == name_tokens(name)
