"""Access tokens validated once are not decoded again, yet expire and stay unforgeable as before."""

from __future__ import annotations

import time

from crm.tokens import tokens_for
from tests.api.support import API, assert_problem, bearer, ok


def test_a_token_already_seen_is_refused_once_it_expires(firm):
    token = tokens_for(firm.manager).access_token
    expires = int(time.time()) + 2
    token["exp"] = expires
    client = bearer(str(token))
    ok(client.get(f"{API}/me/"))
    ok(client.get(f"{API}/me/"))  # from the cache of validated tokens
    time.sleep(max(0.0, expires - time.time()) + 0.1)
    assert_problem(client.get(f"{API}/me/"), 401)


def test_a_token_seen_does_not_vouch_for_one_with_its_claims_and_another_signature(firm):
    token = str(tokens_for(firm.manager).access_token)
    ok(bearer(token).get(f"{API}/me/"))
    header, payload, signature = token.split(".")
    assert_problem(bearer(f"{header}.{payload}.{signature[::-1]}").get(f"{API}/me/"), 401)
