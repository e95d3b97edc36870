"""End-to-end flow through the API as a manager: sign in, create the records of a sales call."""

from rest_framework.test import APIClient


def test_manager_signs_in_and_logs_a_sales_call(firm, api):
    anon = APIClient()
    token = anon.post(
        "/api/v1/auth/token/", {"email": firm.manager.email, "password": "pw-for-tests-1"}, format="json"
    )
    assert token.status_code == 200, token.content
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {token.json()['access']}")

    me = client.get("/api/v1/me/").json()
    assert me["role"] == "manager" and [p["id"] for p in me["book"]] == [firm.principal_a.pk]

    org = client.post(
        "/api/v1/organizations/", {"name": "Corner Deli", "type": "customer", "segment": "cafe"}
    )
    assert org.status_code == 201, org.content
    contact = client.post(
        "/api/v1/contacts/",
        {"organization": org.json()["id"], "first_name": "Dana", "email": "dana@deli.test"},
    )
    assert contact.status_code == 201, contact.content
    opp = client.post(
        "/api/v1/opportunities/",
        {
            "name": "Fries at Corner Deli",
            "principal": firm.principal_a.pk,
            "customer": org.json()["id"],
            "weekly_case_volume": "12",
            "probability": 25,
        },
    )
    assert opp.status_code == 201, opp.content
    assert opp.json()["weighted_weekly_volume"] == "3.00"
    assert opp.json()["created_by"] == firm.manager.pk
    call = client.post(
        "/api/v1/interactions/",
        {
            "type": "call",
            "occurred_at": "2026-11-20T10:00:00Z",
            "subject": "Intro call",
            "organization": org.json()["id"],
            "contact": contact.json()["id"],
            "opportunity": opp.json()["id"],
        },
    )
    assert call.status_code == 201, call.content
    assert call.json()["principal"] == firm.principal_a.pk
    assert call.json()["user"] == firm.manager.pk

    listing = client.get("/api/v1/interactions/?expand=organization,contact")
    assert listing.status_code == 200
    assert listing.json()["results"][0]["organization"]["name"] == "Corner Deli"

    hidden = client.post(
        "/api/v1/opportunities/",
        {"name": "Not mine", "principal": firm.principal_b.pk, "customer": org.json()["id"]},
    )
    assert hidden.status_code == 400
    assert hidden["Content-Type"] == "application/problem+json"
    print(hidden.json())
