"""The example front end (examples/web/) in headless Chromium: a Sales Manager's whole story, end to end.

The app is built with Vite against a gunicorn of its own (VITE_API_URL) and served from another origin, as
it would be deployed; Playwright drives Debian's Chromium (launched by path: no browser is downloaded). The
manager signs in (after a wrong password, whose problem is shown), sees the pipeline with each open
opportunity of their book in its stage's column, logs an interaction (after a blank subject, whose field
error is shown), moves an opportunity on, then tries a move with an ETag someone else's edit made stale:
the 412 problem is shown, nothing is written, a reload reads the opportunity as it is and the retry passes.
Each write is checked in the database, history's actor included. Needs Node.js (20.19+) and chromium;
without either the test is skipped, loudly (`make test` installs chromium when it can).
"""

from __future__ import annotations

import http.server
import json
import os
import shutil
import subprocess
import threading
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Any

import pytest
from django.conf import global_settings
from playwright.sync_api import Locator, Page, expect, sync_playwright

from crm.models import HistoryEntry, User
from crm.tokens import tokens_for
from interactions.models import Interaction
from opportunities.models import Opportunity
from tests import factories as f
from tests.conftest import Firm, make_firm
from tests.live import gunicorn_server
from tests.pgbouncer.test_transaction_pooling import free_port

ROOT = Path(__file__).resolve().parents[2]
WEB = ROOT / "examples" / "web"
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
NODE, NPM = shutil.which("node"), shutil.which("npm")

needs_chromium = pytest.mark.skipif(
    CHROMIUM is None,
    reason="CHROMIUM NOT INSTALLED: the example front end's browser test is SKIPPED (apt-get install chromium)",
)
needs_node = pytest.mark.skipif(
    NODE is None or NPM is None,
    reason="NODE.JS/NPM NOT INSTALLED: the example front end's browser test is SKIPPED (install Node 20.19+)",
)

PASSWORD = "Harbor-web-example-1"
# What this machine's Chromium needs headless (Playwright adds --headless and a fresh profile of its own).
CHROMIUM_FLAGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


def test_the_example_pins_the_clients_runtime_dependencies() -> None:
    """The app compiles the client from client/src with its own copies of the client's dependencies
    (openapi-fetch): the same versions, each also in vite.config.ts's resolve.dedupe."""
    client = json.loads((ROOT / "client" / "package.json").read_text())["dependencies"]
    web = json.loads((WEB / "package.json").read_text())["dependencies"]
    config = (WEB / "vite.config.ts").read_text()
    for name, version in client.items():
        assert web.get(name) == version, f"examples/web/package.json: pin {name} at the client's {version}"
        assert f'"{name}"' in config, f"examples/web/vite.config.ts: add {name} to resolve.dedupe"


@pytest.fixture(scope="module")
def web_dependencies() -> None:
    """examples/web/node_modules as its package-lock.json pins them (`make test` installs them first)."""
    installed, lock = WEB / "node_modules" / ".package-lock.json", WEB / "package-lock.json"
    if installed.exists() and installed.stat().st_mtime >= lock.stat().st_mtime:
        return
    assert NPM is not None
    result = subprocess.run(
        [NPM, "ci", "--prefix", str(WEB), "--no-audit", "--no-fund", "--loglevel=error"],
        cwd=WEB,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert result.returncode == 0, f"npm ci failed:\n{result.stdout[-3000:]}\n{result.stderr[-3000:]}"


def build(api: str, out: Path) -> None:
    """The app as deployed (type-checked, then a production build) for the API at `api`."""
    assert NPM is not None
    result = subprocess.run(
        [NPM, "run", "--prefix", str(WEB), "build", "--", "--outDir", str(out), "--logLevel", "warn"],
        cwd=WEB,
        env={**os.environ, "VITE_API_URL": api},
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert result.returncode == 0, (
        f"the example's build failed:\n{result.stdout[-3000:]}\n{result.stderr[-3000:]}"
    )


class QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:
        pass


@pytest.fixture
def front_end(tmp_path: Path) -> Iterator[tuple[str, Path]]:
    """A static file server on its own port: the app's origin, and the directory it serves."""
    site = tmp_path / "site"
    site.mkdir()
    server = http.server.ThreadingHTTPServer(
        ("127.0.0.1", free_port()), partial(QuietHandler, directory=str(site))
    )
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}", site
    finally:
        server.shutdown()
        server.server_close()


@dataclass
class Story:
    firm: Firm
    fries: Opportunity  # new lead, in the manager's book
    cheddar: Opportunity  # sample / visit offered, in the book
    outside_book: Opportunity  # the other manager's principal: never shown to this one
    closed: Opportunity  # closed won: not on the board of open ones


@pytest.fixture
def story(transactional_db: Any, settings: Any) -> Story:
    firm = make_firm("Harbor")
    # The server hashes as deployed: the password must be stored with a hasher it knows.
    settings.PASSWORD_HASHERS = global_settings.PASSWORD_HASHERS
    firm.manager.set_password(PASSWORD)
    firm.manager.first_name, firm.manager.last_name = "Dana", "Reyes"
    firm.manager.save(update_fields=["password", "first_name", "last_name"])

    def opportunity(name: str, principal: Any, **fields: Any) -> Opportunity:
        return f.OpportunityFactory(
            tenant=firm.tenant, name=name, principal=principal, customer=firm.customer, **fields
        )

    return Story(
        firm=firm,
        fries=opportunity("Crinkle fries", firm.principal_a, weekly_case_volume=12),
        cheddar=opportunity("Aged cheddar", firm.principal_a, stage="sample_visit_offered"),
        outside_book=opportunity("Someone else's line", firm.principal_b),
        closed=opportunity("Won last year", firm.principal_a, stage="closed_won", win_reason="Menu slot"),
    )


def column(page: Page, stage: str) -> Locator:
    return page.locator(f'.column[data-stage="{stage}"]')


def card(within: Page | Locator, name: str) -> Locator:
    return within.locator(".opportunity", has_text=name)


@needs_chromium
@needs_node
def test_a_manager_signs_in_sees_the_pipeline_logs_an_interaction_and_moves_stages(
    web_dependencies: None, front_end: tuple[str, Path], story: Story, tmp_path: Path, monkeypatch: Any
) -> None:
    # Playwright's sync API keeps an event loop set on this thread, which Django takes for an async context;
    # the loop runs only inside a Playwright call, and the database checks come between them.
    monkeypatch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "1")
    origin, site = front_end
    firm, fries = story.firm, story.fries
    with (
        gunicorn_server(CORS_ALLOWED_ORIGINS=origin) as api,
        sync_playwright() as playwright,
    ):
        build(api, site)
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_FLAGS)
        page = browser.new_page(viewport={"width": 1360, "height": 900})
        # Generous: `make test` runs this beside other suites on two cores.
        page.set_default_timeout(20_000)
        expect.set_options(timeout=20_000)
        errors: list[str] = []
        page.on("pageerror", lambda error: errors.append(str(error)))
        try:
            run_story(page, origin, api, story, tmp_path)
        except Exception:
            page.screenshot(path=tmp_path / "failure.png", full_page=True)
            print(f"screenshot of the page when it failed: {tmp_path / 'failure.png'}")
            raise
        finally:
            browser.close()
    assert errors == [], errors
    fries.refresh_from_db()
    assert fries.stage == "demo_scheduled"
    moves = HistoryEntry.objects.filter(
        table_name="opportunity", row_id=fries.pk, operation="update", changes__has_key="stage"
    )
    assert [(e.actor_id, e.changes["stage"]) for e in moves.order_by("id")] == [
        (firm.manager.pk, ["new_lead", "initial_outreach"]),
        (firm.admin.pk, ["initial_outreach", "feedback_logged"]),  # behind the page's back
        (firm.manager.pk, ["feedback_logged", "demo_scheduled"]),
    ]


def run_story(page: Page, origin: str, api: str, story: Story, screenshots: Path) -> None:
    firm, fries = story.firm, story.fries
    manager: User = firm.manager
    page.goto(origin)

    # Sign in: a wrong password's problem is shown, then the right one opens the pipeline.
    sign_in = page.locator("#sign-in-form")
    sign_in.get_by_label("Email").fill(manager.email)
    sign_in.get_by_label("Password").fill("not-the-password")
    sign_in.get_by_role("button", name="Sign in").click()
    expect(page.locator("#sign-in-problem")).to_contain_text("401")
    page.screenshot(path=screenshots / "sign-in-refused.png")
    sign_in.get_by_label("Password").fill(PASSWORD)
    sign_in.get_by_role("button", name="Sign in").click()
    expect(page.locator("#who")).to_have_text("Dana Reyes")
    expect(page.locator("#sign-in-problem")).to_be_hidden()

    # The pipeline: each open opportunity of the book in its stage's column, with names through `expand`.
    expect(card(column(page, "new_lead"), "Crinkle fries")).to_contain_text("Harbor Bistro")
    expect(card(column(page, "new_lead"), "Crinkle fries")).to_contain_text("Harbor Principal A")
    expect(card(column(page, "sample_visit_offered"), "Aged cheddar")).to_be_visible()
    expect(page.locator(".column")).to_have_count(5)  # the open stages
    expect(page.locator(".opportunity")).to_have_count(2)  # not the other book's, not the closed one
    expect(page.locator("#board")).not_to_contain_text("Someone else's line")
    expect(page.locator("#board")).not_to_contain_text("Won last year")
    page.screenshot(path=screenshots / "pipeline.png", full_page=True)

    # Log an interaction: a blank subject is the API's 400 naming the field, shown by the field.
    form = page.locator("#interaction-form")
    form.get_by_label("Type").select_option(label="Tasting")
    form.get_by_label("Against").select_option(label="Crinkle fries (Harbor Bistro)")
    form.get_by_label("Notes").fill("Chef liked the crunch; wants pricing for 40 cases.")
    form.get_by_role("button", name="Log it").click()
    problem = page.locator("#interaction-problem")
    expect(problem.locator('[data-field="subject"]')).to_be_visible()
    expect(problem).to_contain_text("400")
    expect(form.get_by_label("Subject")).to_have_attribute("aria-invalid", "true")
    form.get_by_label("Subject").fill("Tasting with the chef")
    form.get_by_role("button", name="Log it").click()
    expect(page.locator("#interaction-status")).to_contain_text("Logged “Tasting with the chef”")
    expect(problem).to_be_hidden()
    logged = page.locator("#recent-interactions li").first
    expect(logged).to_contain_text("Tasting with the chef")
    expect(logged).to_contain_text("by Dana Reyes")
    interaction = Interaction.objects.get(subject="Tasting with the chef")
    assert (interaction.type, interaction.organization_id, interaction.opportunity_id) == (
        "tasting",
        firm.customer.pk,
        fries.pk,
    )
    assert interaction.principal_id == firm.principal_a.pk  # taken from the opportunity
    assert interaction.user_id == manager.pk
    assert interaction.notes == "Chef liked the crunch; wants pricing for 40 cases."
    created = HistoryEntry.objects.get(table_name="interaction", row_id=interaction.pk, operation="insert")
    assert created.actor_id == manager.pk

    # Move a stage: the card read with its ETag, moved on with If-Match.
    card(page, "Crinkle fries").click()
    details = page.locator("#opportunity-details")
    expect(details.locator("#opportunity-version")).to_have_text('"1"')
    details.get_by_label("Move to").select_option("initial_outreach")
    details.get_by_role("button", name="Move").click()
    expect(page.locator("#move-status")).to_have_text("Moved to Initial outreach.")
    expect(card(column(page, "initial_outreach"), "Crinkle fries")).to_be_visible()
    expect(details.locator("#opportunity-version")).to_have_text('"2"')
    fries.refresh_from_db()
    assert (fries.stage, fries.version) == ("initial_outreach", 2)

    # The firm's admin moves it meanwhile: the page's ETag is stale, its move gets the 412 and writes nothing.
    moved = call(
        api, f"/api/v1/opportunities/{fries.pk}/change-stage/", {"stage": "feedback_logged"}, firm.admin
    )
    assert moved["version"] == 3
    details.get_by_label("Move to").select_option("demo_scheduled")
    details.get_by_role("button", name="Move").click()
    stale = page.locator("#move-problem")
    expect(stale).to_contain_text("412")
    expect(stale).to_contain_text("Request id:")
    page.screenshot(path=screenshots / "stale-move.png", full_page=True)
    fries.refresh_from_db()
    assert (fries.stage, fries.version) == ("feedback_logged", 3)

    # Reload: the opportunity as it is now, then the same move again passes.
    stale.get_by_role("button", name="Reload the opportunity").click()
    expect(page.locator("#move-status")).to_contain_text("Reloaded")
    expect(stale).to_be_hidden()
    expect(details.locator("#opportunity-stage")).to_have_text("Feedback logged")
    expect(details.locator("#opportunity-version")).to_have_text('"3"')
    expect(card(column(page, "feedback_logged"), "Crinkle fries")).to_be_visible()
    details.get_by_label("Move to").select_option("demo_scheduled")
    details.get_by_role("button", name="Move").click()
    expect(page.locator("#move-status")).to_have_text("Moved to Demo scheduled.")
    expect(card(column(page, "demo_scheduled"), "Crinkle fries")).to_be_visible()
    page.screenshot(path=screenshots / "moved.png", full_page=True)

    # Sign out: back to the form, the tokens forgotten, and the session ended on the server.
    tokens = json.loads(page.evaluate("sessionStorage.getItem('crm-example.tokens')"))
    with page.expect_response(lambda response: response.url.endswith("/auth/logout/")) as logout:
        page.get_by_role("button", name="Sign out").click()
    assert logout.value.status == 204
    expect(page.locator("#sign-in-message")).to_have_text("Signed out.")
    assert page.evaluate("sessionStorage.getItem('crm-example.tokens')") is None
    with pytest.raises(urllib.error.HTTPError) as refused:
        call(api, "/api/v1/auth/token/refresh/", {"refresh": tokens["refresh"]})
    assert refused.value.code == 401


def call(api: str, path: str, body: dict[str, Any], user: User | None = None) -> Any:
    """A POST to the live API, as `user` (a bearer token of theirs) or anonymously."""
    headers = {"Content-Type": "application/json"}
    if user is not None:
        headers["Authorization"] = f"Bearer {tokens_for(user).access_token}"
    request = urllib.request.Request(f"{api}{path}", data=json.dumps(body).encode(), headers=headers)
    with urllib.request.urlopen(request, timeout=10) as response:
        return json.load(response)
