"""Names, emails and SKUs through the API: stored NFC, compared as people read them, invisible characters refused."""

from __future__ import annotations

import unicodedata
from typing import Any

import pytest
from rest_framework.test import APIClient

from crm.models import User
from organizations.models import Organization
from products.models import Product
from tests import factories as f
from tests.api.support import API, assert_problem, ok
from tests.conftest import Firm

NAME = "Café Zürich"

# The same name as a reader sees it, spelled another way each time.
SAME_NAME = {
    "NFD (decomposed accents)": unicodedata.normalize("NFD", NAME),
    "a no-break space": "Café\u00a0Zürich",
    "fullwidth letters": "Ｃａｆé Ｚüｒｉｃｈ",
    "another case": "CAFÉ ZÜRICH",
    "extra inner spaces": "Café   Zürich",
    "an ideographic space": "Café\u3000Zürich",
}

# Unicode Cc and Cf characters a name must not hold.
INVISIBLE = {
    "zero-width space U+200B": "\u200b",
    "zero-width joiner U+200D": "\u200d",
    "byte order mark U+FEFF": "\ufeff",
    "right-to-left override U+202E": "\u202e",
    "soft hyphen U+00AD": "\u00ad",
    "tab": "\t",
    "newline": "\n",
    "escape U+001B": "\x1b",
    "C1 control U+0085": "\x85",
    "tag character U+E0041": "\U000e0041",
}


def _organization(admin: APIClient, name: str, type_: str = "customer") -> Any:
    return admin.post(f"{API}/organizations/", {"name": name, "type": type_})


@pytest.mark.parametrize("spelling", SAME_NAME.values(), ids=SAME_NAME.keys())
def test_organization_name_read_the_same_is_a_duplicate(firm: Firm, admin: APIClient, spelling: str) -> None:
    ok(_organization(admin, NAME), 201)
    body = assert_problem(_organization(admin, spelling), 400, field="name", code="unique")
    assert "already exists" in body["errors"][0]["detail"]
    assert Organization.objects.filter(tenant=firm.tenant, name__icontains="rich").count() == 1


def test_the_name_with_a_zero_width_space_is_refused_before_any_comparison(
    firm: Firm, admin: APIClient
) -> None:
    ok(_organization(admin, NAME), 201)
    assert_problem(_organization(admin, "Café\u200b Zürich"), 400, field="name", code="forbidden_characters")


def test_principal_name_read_the_same_is_a_duplicate(firm: Firm, admin: APIClient) -> None:
    ok(_organization(admin, NAME, "principal"), 201)
    assert_problem(_organization(admin, "ＣＡＦÉ  zürich ", "principal"), 400, field="name", code="unique")


def test_renaming_to_a_name_read_the_same_is_a_duplicate(firm: Firm, admin: APIClient) -> None:
    ok(_organization(admin, NAME), 201)
    other = f.CustomerFactory(tenant=firm.tenant)
    response = admin.patch(f"{API}/organizations/{other.pk}/", {"name": "CAFE\u0301 ZU\u0308RICH"})
    assert_problem(response, 400, field="name", code="unique")


def test_decomposed_name_is_stored_composed(firm: Firm, admin: APIClient) -> None:
    body = ok(_organization(admin, unicodedata.normalize("NFD", NAME)), 201)
    assert body["name"] == NAME
    assert Organization.objects.get(pk=body["id"]).name == NAME


def test_different_names_are_not_clashes(firm: Firm, admin: APIClient) -> None:
    ok(_organization(admin, NAME), 201)
    ok(_organization(admin, "Cafe Zurich"), 201)  # no accents: another name
    ok(_organization(admin, "Café Zürich Nord"), 201)


@pytest.mark.parametrize("character", INVISIBLE.values(), ids=INVISIBLE.keys())
def test_organization_name_with_control_or_invisible_character_is_400_naming_name(
    firm: Firm, admin: APIClient, character: str
) -> None:
    body = assert_problem(
        _organization(admin, f"Café{character}Zürich"), 400, field="name", code="forbidden_characters"
    )
    assert "invisible" in body["errors"][0]["detail"]
    assert not Organization.objects.filter(tenant=firm.tenant, name__startswith="Café").exists()


def test_organization_email_with_invisible_character_is_400_naming_email(
    firm: Firm, admin: APIClient
) -> None:
    response = admin.post(
        f"{API}/organizations/",
        {"name": "Harbor Deli", "type": "customer", "email": "deli\u200b@harbor.test"},
    )
    assert_problem(response, 400, field="email", code="forbidden_characters")


# A zero-width joiner (Cf) and a variation selector (invisible, not Cf: crm migration 0016).
@pytest.mark.parametrize("character", ["\u200d", "\ufe0f"], ids=["U+200D", "U+FE0F"])
@pytest.mark.parametrize("field", ["first_name", "last_name", "email"])
def test_contact_names_and_email_refuse_invisible_characters(
    firm: Firm, admin: APIClient, field: str, character: str
) -> None:
    names = {"first_name": "Sam", "last_name": "Lee", "email": "sam@bistro.test"}
    names[field] = names[field][:2] + character + names[field][2:]
    body = {"organization": firm.customer.pk, **names}
    assert_problem(admin.post(f"{API}/contacts/", body), 400, field=field, code="forbidden_characters")


def test_contact_names_are_stored_composed(firm: Firm, admin: APIClient) -> None:
    decomposed = unicodedata.normalize("NFD", "Zoë")
    body = ok(
        admin.post(
            f"{API}/contacts/",
            {"organization": firm.customer.pk, "first_name": decomposed, "last_name": decomposed},
        ),
        201,
    )
    assert body["first_name"] == body["last_name"] == "Zoë"


@pytest.mark.parametrize(
    "spelling",
    ["CHEF@BISTRO.TEST", "ｃｈｅｆ@ｂｉｓｔｒｏ.test", unicodedata.normalize("NFD", "CHEF@ZÜRICH.TEST")],
    ids=["case", "fullwidth", "nfd"],
)
def test_contact_email_read_the_same_at_one_organization_is_a_duplicate(
    firm: Firm, admin: APIClient, spelling: str
) -> None:
    first = "chef@zürich.test" if "\u0308" in spelling else "chef@bistro.test"
    ok(
        admin.post(f"{API}/contacts/", {"organization": firm.customer.pk, "first_name": "A", "email": first}),
        201,
    )
    response = admin.post(
        f"{API}/contacts/", {"organization": firm.customer.pk, "first_name": "B", "email": spelling}
    )
    # Fullwidth letters are not a valid email to the email validator: refused either way, naming email.
    assert_problem(response, 400, field="email")


def _product(admin: APIClient, firm: Firm, sku: str, name: str = "Crinkle Fries") -> Any:
    return admin.post(f"{API}/products/", {"principal": firm.principal_a.pk, "name": name, "sku": sku})


@pytest.mark.parametrize("spelling", ["fry-38", "ＦＲＹ-３８", "FRY-38 ", "Fry-38"])
def test_sku_read_the_same_for_one_principal_is_a_duplicate(
    firm: Firm, admin: APIClient, spelling: str
) -> None:
    ok(_product(admin, firm, "FRY-38"), 201)
    assert_problem(_product(admin, firm, spelling), 400, field="sku", code="unique")
    assert Product.objects.filter(principal=firm.principal_a).count() == 1


@pytest.mark.parametrize("field", ["sku", "name"])
def test_product_sku_and_name_refuse_invisible_characters(firm: Firm, admin: APIClient, field: str) -> None:
    values = {"sku": "FRY-38", "name": "Crinkle Fries"}
    values[field] = values[field][:3] + "\ufeff" + values[field][3:]
    assert_problem(
        _product(admin, firm, values["sku"], values["name"]), 400, field=field, code="forbidden_characters"
    )


def test_member_email_read_the_same_is_taken(firm: Firm, admin: APIClient) -> None:
    url = f"{API}/members/"
    ok(admin.post(url, {"email": "nia.rep@acme.test", "role": "manager"}), 201)
    for spelling in ("NIA.REP@ACME.TEST", " nia.rep@acme.test"):
        assert_problem(admin.post(url, {"email": spelling, "role": "viewer"}), 400, field="email")
    assert User.objects.filter(email__icontains="nia.rep").count() == 1


def test_member_email_with_invisible_character_is_400_naming_email(firm: Firm, admin: APIClient) -> None:
    response = admin.post(f"{API}/members/", {"email": "nia\u200b.rep@acme.test", "role": "manager"})
    assert_problem(response, 400, field="email", code="forbidden_characters")


def test_member_email_taken_in_another_firm_is_refused_by_the_database(
    firm: Firm, other_firm: Firm, admin: APIClient
) -> None:
    # The other firm's user is invisible here (RLS); the unique index on crm_name_key(email) still holds.
    taken = other_firm.admin.email
    response = admin.post(f"{API}/members/", {"email": taken.upper(), "role": "viewer"})
    assert_problem(response, 400, field="email", code="unique")


# -- invisible characters that are not Cc/Cf, and full case folding ----------------------------------

# Unicode Default_Ignorable_Code_Point characters of other categories, and the braille blank: a name
# holding one reads like the name without it.
IGNORABLE = {
    "combining grapheme joiner U+034F": "\u034f",
    "variation selector-16 U+FE0F": "\ufe0f",
    "Mongolian free variation selector U+180B": "\u180b",
    "Hangul filler U+3164": "\u3164",
    "Hangul choseong filler U+115F": "\u115f",
    "braille pattern blank U+2800": "\u2800",
    "variation selector-17 U+E0100": "\U000e0100",
}

# The same name under Unicode's full case folding, which lower() told apart.
FOLDED = {
    "sharp s": ("Straße Grill", "STRASSE GRILL"),
    "final sigma": ("ΟΔΟΣ", "οδος"),
    "capital sharp s": ("GROẞHANDEL NORD", "Großhandel Nord"),
}


@pytest.mark.parametrize("character", IGNORABLE.values(), ids=IGNORABLE.keys())
def test_organization_name_with_an_invisible_character_beside_the_plain_one_is_400(
    firm: Firm, admin: APIClient, character: str
) -> None:
    ok(_organization(admin, NAME), 201)
    body = assert_problem(
        _organization(admin, f"Café{character} Zürich"), 400, field="name", code="forbidden_characters"
    )
    assert f"U+{ord(character):04X}" in body["errors"][0]["detail"]
    assert Organization.objects.filter(tenant=firm.tenant, name__startswith="Café").count() == 1


@pytest.mark.parametrize("character", IGNORABLE.values(), ids=IGNORABLE.keys())
def test_sku_and_product_name_with_an_invisible_character_are_400(
    firm: Firm, admin: APIClient, character: str
) -> None:
    ok(_product(admin, firm, "RV-Ä100"), 201)
    assert_problem(
        _product(admin, firm, f"RV-Ä100{character}"), 400, field="sku", code="forbidden_characters"
    )
    assert_problem(
        _product(admin, firm, "RV-Ä101", name=f"Crinkle{character} Fries"),
        400,
        field="name",
        code="forbidden_characters",
    )
    assert Product.objects.filter(principal=firm.principal_a).count() == 1


def test_member_email_with_a_combining_grapheme_joiner_is_400_naming_email(
    firm: Firm, admin: APIClient
) -> None:
    response = admin.post(f"{API}/members/", {"email": "nia\u034f.rep@acme.test", "role": "manager"})
    assert_problem(response, 400, field="email", code="forbidden_characters")


@pytest.mark.parametrize(("first", "second"), FOLDED.values(), ids=FOLDED.keys())
def test_organization_names_equal_under_case_folding_are_duplicates(
    firm: Firm, admin: APIClient, first: str, second: str
) -> None:
    ok(_organization(admin, first), 201)
    assert_problem(_organization(admin, second), 400, field="name", code="unique")


@pytest.mark.parametrize(("first", "second"), FOLDED.values(), ids=FOLDED.keys())
def test_principal_names_equal_under_case_folding_are_duplicates(
    firm: Firm, admin: APIClient, first: str, second: str
) -> None:
    ok(_organization(admin, first, "principal"), 201)
    assert_problem(_organization(admin, second, "principal"), 400, field="name", code="unique")


def test_skus_equal_under_case_folding_are_duplicates(firm: Firm, admin: APIClient) -> None:
    ok(_product(admin, firm, "MASS-1"), 201)
    assert_problem(_product(admin, firm, "maß-1"), 400, field="sku", code="unique")


def test_contact_emails_equal_under_case_folding_are_duplicates(firm: Firm, admin: APIClient) -> None:
    url = f"{API}/contacts/"
    ok(
        admin.post(url, {"organization": firm.customer.pk, "first_name": "A", "email": "chef@straße.test"}),
        201,
    )
    response = admin.post(
        url, {"organization": firm.customer.pk, "first_name": "B", "email": "CHEF@STRASSE.TEST"}
    )
    assert_problem(response, 400, field="email", code="unique")


def test_member_emails_equal_under_case_folding_are_taken(firm: Firm, admin: APIClient) -> None:
    url = f"{API}/members/"
    ok(admin.post(url, {"email": "nia@straße.test", "role": "manager"}), 201)
    assert_problem(admin.post(url, {"email": "NIA@STRASSE.TEST", "role": "viewer"}), 400, field="email")
