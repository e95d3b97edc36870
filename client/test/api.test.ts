/**
 * The generated client against a live server, as a front end uses it: a Sales Manager signs in, adds an
 * organization, a contact, an opportunity and an interaction, pages through a list, and gets problem
 * bodies for bad input, another firm's id, a stale If-Match and a delete that would orphan records; an
 * expanded relation arrives as the object its type says; an integration works with an API key, and a
 * write sent again with its Idempotency-Key is answered once.
 *
 * `make test` starts the server (tests/client/test_typescript_client.py) and sets:
 * CRM_API_URL, CRM_EMAIL, CRM_PASSWORD (a manager with a principal in their book), CRM_ADMIN_EMAIL and
 * CRM_ADMIN_PASSWORD (the firm's admin, who creates API keys) and CRM_FOREIGN_ORGANIZATION_ID (an
 * organization of another firm).
 */
import assert from "node:assert/strict";
import { test } from "node:test";

import { createCrmClient, ProblemError, type CrmClient, type Schemas, type Tokens } from "../src/index.js";

const env = {
  url: process.env.CRM_API_URL ?? "",
  email: process.env.CRM_EMAIL ?? "",
  password: process.env.CRM_PASSWORD ?? "",
  adminEmail: process.env.CRM_ADMIN_EMAIL ?? "",
  adminPassword: process.env.CRM_ADMIN_PASSWORD ?? "",
  foreignOrganizationId: Number(process.env.CRM_FOREIGN_ORGANIZATION_ID ?? "0"),
};
const skip = env.url ? false : "CRM_API_URL is not set: `make test` runs this against a server it starts";
const PROBLEM = "application/problem+json";
const RUN = Date.now().toString(36); // names unique per run, should the database be reused

function contentType(response: Response): string {
  return (response.headers.get("Content-Type") ?? "").split(";")[0] ?? "";
}

test("a Sales Manager works through the typed client", { skip }, async (t) => {
  let saved: Tokens | null = null;
  const crm: CrmClient = createCrmClient({ baseUrl: env.url, onTokens: (tokens) => (saved = tokens) });

  await t.test("a wrong password is a 401 problem", async () => {
    await assert.rejects(crm.login(env.email, "not-the-password"), (error: unknown) => {
      assert.ok(error instanceof ProblemError);
      assert.equal(error.status, 401);
      assert.equal(error.problem?.status, 401);
      assert.equal(contentType(error.response), PROBLEM);
      return true;
    });
  });

  const tokens = await crm.login(env.email, env.password);
  assert.ok(tokens.access && tokens.refresh);
  assert.deepEqual(saved, tokens);

  const me = await crm.GET("/api/v1/me/");
  assert.equal(me.response.status, 200);
  assert.ok(me.data);
  assert.equal(me.data.role, "manager");
  const principal = me.data.book[0];
  assert.ok(principal, "the manager has a principal in their book");

  let organization: Schemas["Organization"];
  let contact: Schemas["Contact"];
  let opportunity: Schemas["Opportunity"];

  await t.test("creates an organization, a contact, an opportunity and an interaction", async () => {
    const created = await crm.POST("/api/v1/organizations/", {
      body: { name: `Harbor Test Bistro ${RUN}`, type: "customer", segment: "casual_dining", priority: "B" },
    });
    assert.equal(created.response.status, 201);
    assert.ok(created.data);
    organization = created.data;
    assert.equal(created.response.headers.get("ETag"), `"${organization.version}"`);
    assert.equal(organization.parent, null);

    const person = await crm.POST("/api/v1/contacts/", {
      body: {
        organization: organization.id,
        first_name: "Dana",
        last_name: `Chef ${RUN}`,
        role: "decision_maker",
        email: `dana.${RUN}@example.test`,
      },
    });
    assert.equal(person.response.status, 201);
    assert.ok(person.data);
    contact = person.data;
    assert.equal(contact.organization, organization.id);

    const placement = await crm.POST("/api/v1/opportunities/", {
      body: {
        name: `Fries at Harbor Test Bistro ${RUN}`,
        principal: principal.id,
        customer: organization.id,
        owner: me.data.id,
        weekly_case_volume: 12.5, // a decimal as a JSON number; it comes back as "12.50"
        probability: 40,
      },
    });
    assert.equal(placement.response.status, 201, JSON.stringify(placement.error));
    assert.ok(placement.data);
    opportunity = placement.data;
    assert.equal(opportunity.stage, "new_lead");
    assert.equal(opportunity.weekly_case_volume, "12.50");
    assert.equal(opportunity.weighted_weekly_volume, "5.00");

    const call = await crm.POST("/api/v1/interactions/", {
      params: { query: { expand: ["opportunity", "contact"] } },
      body: {
        type: "call",
        occurred_at: new Date().toISOString(),
        subject: "Tasting follow-up",
        organization: organization.id,
        contact: contact.id,
        opportunity: opportunity.id,
        follow_up_on: "2030-01-15",
      },
    });
    assert.equal(call.response.status, 201, JSON.stringify(call.error));
    assert.ok(call.data);
    // The principal comes from the opportunity. The relations `expand` names are typed as the objects
    // they arrive as (no narrowing), the others as ids.
    const principalId: number | null = call.data.principal;
    assert.equal(principalId, principal.id);
    assert.equal(call.data.opportunity?.name, opportunity.name);
    assert.equal(call.data.contact?.last_name, contact.last_name);
    const organizationId: number = call.data.organization;
    assert.equal(organizationId, organization.id);
  });

  await t.test("expanded relations are the objects their types say", async () => {
    const read = await crm.GET("/api/v1/opportunities/{id}/", {
      params: { path: { id: opportunity.id }, query: { expand: ["customer", "principal", "owner"] } },
    });
    assert.ok(read.data);
    const customer: Schemas["OrganizationSummary"] = read.data.customer;
    assert.deepEqual(customer, { id: organization.id, name: organization.name, type: "customer" });
    assert.equal(read.data.principal.id, principal.id);
    assert.equal(read.data.owner?.email, me.data.email);
    const distributor: number | null = read.data.distributor; // not asked for: an id (here none)
    assert.equal(distributor, null);

    const plain = await crm.GET("/api/v1/opportunities/{id}/", { params: { path: { id: opportunity.id } } });
    assert.ok(plain.data);
    const customerId: number = plain.data.customer;
    assert.equal(customerId, organization.id);

    let seen = 0;
    const query = { organization: organization.id, expand: ["organization" as const] };
    for await (const person of crm.items("/api/v1/contacts/", { query })) {
      const name: string = person.organization.name;
      assert.equal(name, organization.name);
      const reportsTo: number | null = person.reports_to;
      assert.equal(reportsTo, null);
      seen += 1;
    }
    assert.equal(seen, 1);
  });

  await t.test("pages through a list by cursor", async () => {
    const query = { type: ["customer" as const], ordering: ["name" as const], page_size: 2 };
    const walked: number[] = [];
    let pageCount = 0;
    for await (const page of crm.pages("/api/v1/organizations/", { query })) {
      pageCount += 1;
      assert.ok(page.results.length <= 2);
      walked.push(...page.results.map((row) => row.id));
    }
    const single = await crm.GET("/api/v1/organizations/", { params: { query: { ...query, page_size: 200 } } });
    assert.ok(single.data);
    assert.deepEqual(walked, single.data.results.map((row) => row.id));
    assert.ok(pageCount >= 3, `expected several pages, got ${pageCount}`);
    assert.ok(walked.includes(organization.id));
    const names = single.data.results.map((row) => row.name);
    assert.deepEqual(names, [...names].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0)));

    const rows: Schemas["Interaction"][] = [];
    for await (const row of crm.items("/api/v1/interactions/", { query: { organization: organization.id } })) {
      rows.push(row);
    }
    assert.equal(rows.length, 1);
  });

  await t.test("bad input is a 400 problem naming the field", async () => {
    const { data, error, response } = await crm.POST("/api/v1/organizations/", {
      body: { name: "", type: "customer" },
    });
    assert.equal(data, undefined);
    assert.equal(response.status, 400);
    assert.equal(contentType(response), PROBLEM);
    assert.ok(error);
    assert.equal(error.status, 400);
    assert.ok(error.errors?.some((e) => e.field === "name"));

    const badPage = await crm.GET("/api/v1/contacts/", { params: { query: { page_size: 500 } } });
    assert.equal(badPage.response.status, 400);
    assert.deepEqual(
      badPage.error?.errors?.map((e) => e.field),
      ["page_size"],
    );
  });

  await t.test("another firm's organization is a 404 problem", async () => {
    assert.ok(env.foreignOrganizationId > 0);
    const { data, error, response } = await crm.GET("/api/v1/organizations/{id}/", {
      params: { path: { id: env.foreignOrganizationId } },
    });
    assert.equal(data, undefined);
    assert.equal(response.status, 404);
    assert.equal(contentType(response), PROBLEM);
    assert.equal(error?.status, 404);
  });

  await t.test("a stale If-Match is a 412 naming the current version", async () => {
    const read = await crm.GET("/api/v1/organizations/{id}/", {
      params: { path: { id: organization.id }, query: { expand: ["parent"] } },
    });
    const etag = read.response.headers.get("ETag");
    assert.ok(etag);
    const changed = await crm.PATCH("/api/v1/organizations/{id}/", {
      params: { path: { id: organization.id }, header: { "If-Match": etag } },
      body: { city: "Portland" },
    });
    assert.equal(changed.response.status, 200);
    assert.ok(changed.data);
    const stale = await crm.PATCH("/api/v1/organizations/{id}/", {
      params: { path: { id: organization.id }, header: { "If-Match": etag } },
      body: { city: "Salem" },
    });
    assert.equal(stale.response.status, 412);
    // The error is the union of the operation's problem bodies; the 412's carries current_version.
    const problem = stale.error;
    assert.ok(problem && "current_version" in problem);
    assert.equal(problem.current_version, changed.data.version);
    assert.equal(stale.response.headers.get("ETag"), `"${changed.data.version}"`);
  });

  await t.test("deleting an organization with live dependents is a 409 until cascaded", async () => {
    const path = { id: organization.id };
    const refused = await crm.DELETE("/api/v1/organizations/{id}/", { params: { path } });
    assert.equal(refused.response.status, 409);
    const problem = refused.error;
    assert.ok(problem && "dependents" in problem);
    assert.deepEqual(problem.dependents, { contacts: 1, open_opportunities: 1 });
    const deleted = await crm.DELETE("/api/v1/organizations/{id}/", { params: { path, query: { cascade: true } } });
    assert.equal(deleted.response.status, 204);
    const gone = await crm.GET("/api/v1/contacts/{id}/", { params: { path: { id: contact.id } } });
    assert.equal(gone.response.status, 404);
    const restored = await crm.POST("/api/v1/organizations/{id}/restore/", { params: { path } });
    assert.equal(restored.response.status, 200);
    const back = await crm.GET("/api/v1/opportunities/{id}/", { params: { path: { id: opportunity.id } } });
    assert.equal(back.response.status, 200);
  });

  await t.test("a write sent again with its Idempotency-Key is answered once", async () => {
    const key = `client-test-${RUN}`;
    const send = () =>
      crm.POST("/api/v1/organizations/", {
        params: { header: { "Idempotency-Key": key } },
        body: { name: `Harbor Replay Cafe ${RUN}`, type: "customer" },
      });
    const first = await send();
    const again = await send();
    assert.equal(first.response.status, 201);
    assert.equal(again.response.status, 201);
    assert.ok(first.data && again.data);
    assert.equal(again.data.id, first.data.id);
    assert.equal(first.response.headers.get("Idempotent-Replayed"), null);
    assert.equal(again.response.headers.get("Idempotent-Replayed"), "true");
  });

  await t.test("an integration works with an API key", async () => {
    assert.ok(env.adminEmail, "CRM_ADMIN_EMAIL is set");
    const admin = createCrmClient({ baseUrl: env.url });
    await admin.login(env.adminEmail, env.adminPassword);
    const created = await admin.POST("/api/v1/api-keys/", {
      body: { name: `Client test ${RUN}`, role: "manager", book: [principal.id] },
    });
    assert.equal(created.response.status, 201, JSON.stringify(created.error));
    assert.ok(created.data);
    await admin.logout();

    const sent: (string | null)[][] = [];
    const integration = createCrmClient({
      baseUrl: env.url,
      apiKey: created.data.key,
      idempotencyKeys: true,
      fetch: (request: Request) => {
        sent.push([request.headers.get("Authorization"), request.headers.get("Idempotency-Key")]);
        return globalThis.fetch(request);
      },
    });
    await assert.rejects(integration.login(env.email, env.password), /API key/);
    const me3 = await integration.GET("/api/v1/me/");
    assert.equal(me3.response.status, 200, JSON.stringify(me3.error));
    assert.deepEqual(
      me3.data?.book.map((p) => p.id),
      [principal.id],
    );
    const made = await integration.POST("/api/v1/organizations/", {
      body: { name: `Harbor Key Diner ${RUN}`, type: "customer" },
    });
    assert.equal(made.response.status, 201, JSON.stringify(made.error));
    assert.deepEqual(
      sent.map(([authorization]) => authorization),
      [`Api-Key ${created.data.key}`, `Api-Key ${created.data.key}`],
    );
    // The GET went without a key; the POST got one of its own.
    assert.equal(sent[0]?.[1], null);
    assert.match(sent[1]?.[1] ?? "", /^[0-9a-f-]{36}$/);

    // The answer to a create is lost on the way back: the client sends it again with the same key, and
    // the server answers with the record it made the first time, once.
    let lost = 0;
    const flaky = createCrmClient({
      baseUrl: env.url,
      apiKey: created.data.key,
      idempotencyKeys: true,
      retries: 2,
      fetch: async (request: Request) => {
        const response = await globalThis.fetch(request);
        if (request.method === "POST" && lost === 0) {
          lost += 1;
          throw new TypeError("fetch failed: the connection was lost");
        }
        return response;
      },
    });
    const name = `Harbor Lost Answer Deli ${RUN}`;
    const kept = await flaky.POST("/api/v1/organizations/", { body: { name, type: "customer" } });
    assert.equal(lost, 1);
    assert.equal(kept.response.status, 201, JSON.stringify(kept.error));
    assert.equal(kept.response.headers.get("Idempotent-Replayed"), "true");
    const found = await flaky.GET("/api/v1/organizations/", { params: { query: { search: name } } });
    assert.deepEqual(
      found.data?.results.map((row) => row.id),
      [kept.data?.id],
    );

    const refused = await createCrmClient({ baseUrl: env.url, apiKey: `${created.data.key}x` }).GET("/api/v1/me/");
    assert.equal(refused.response.status, 401);
    assert.equal(refused.error?.code, "api_key_not_valid");
  });

  await t.test("an expired access token is refreshed once, transparently", async () => {
    const current = crm.getTokens();
    assert.ok(current);
    const keys: (string | null)[] = [];
    const stale = createCrmClient({
      baseUrl: env.url,
      tokens: { access: "not-a-valid-token", refresh: current.refresh },
      idempotencyKeys: true,
      fetch: (request: Request) => {
        keys.push(request.headers.get("Idempotency-Key"));
        return globalThis.fetch(request);
      },
    });
    // Refused (401), refreshed, sent again: with the same Idempotency-Key, so it is made once.
    const made = await stale.POST("/api/v1/organizations/", {
      body: { name: `Harbor Retry Grill ${RUN}`, type: "customer" },
    });
    assert.equal(made.response.status, 201, JSON.stringify(made.error));
    assert.notEqual(stale.getTokens()?.access, "not-a-valid-token");
    assert.equal(keys.length, 3); // the POST, the token refresh (no key), the POST again
    assert.ok(keys[0]);
    assert.equal(keys[1], null);
    assert.equal(keys[2], keys[0]);
    const me2 = await stale.GET("/api/v1/me/");
    assert.equal(me2.response.status, 200);

    // Refresh tokens rotate: the stale client kept the next one, and the one both started with is spent.
    const renewed = stale.getTokens();
    assert.ok(renewed);
    assert.notEqual(renewed.refresh, current.refresh);

    await stale.logout();
    assert.equal(stale.getTokens(), null);
    const ended = await crm.POST("/api/v1/auth/token/refresh/", { body: { refresh: renewed.refresh } });
    assert.equal(ended.response.status, 401);

    await crm.logout();
    const anonymous = await crm.GET("/api/v1/me/");
    assert.equal(anonymous.response.status, 401);
    assert.ok(anonymous.response.headers.get("WWW-Authenticate"));
  });
});
