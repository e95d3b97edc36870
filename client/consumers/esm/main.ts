// An ES module consumer (`"type": "module"`, `--module nodenext`, nothing else): compiled by each
// TypeScript the package supports, then run by Node without a server.
import { createCrmClient, ProblemError, type CrmClient, type Resource } from "@foodbroker/crm-client";

// No @types/node: a consumer need not have it (TypeScript 6 and later load none unless told to).
function check(ok: unknown, what: string): void {
  if (!ok) throw new Error(`failed: ${what}`);
}

// `expand` types the answer: what it names is an object, what it could have named is an id.
export async function expanded(crm: CrmClient): Promise<void> {
  const { data } = await crm.GET("/api/v1/opportunities/{id}/", {
    params: { path: { id: 1 }, query: { expand: ["customer", "owner"] } },
  });
  if (data === undefined) return;
  const customer: string = data.customer.name;
  const owner: string | undefined = data.owner?.email;
  const principal: number = data.principal;
  const distributor: number | null = data.distributor;
  // @ts-expect-error not expanded: an id
  data.principal.name;
  const row: Resource<"/api/v1/opportunities/{id}/", "customer" | "owner"> = data;
  void [customer, owner, principal, distributor, row];

  for await (const contact of crm.items("/api/v1/contacts/", { query: { expand: ["organization"] } })) {
    const organization: string = contact.organization.name;
    const reportsTo: number | null = contact.reports_to;
    void [organization, reportsTo];
  }
  const created = await crm.POST("/api/v1/opportunities/", {
    params: { query: { expand: ["principal"] }, header: { "Idempotency-Key": "a-key-of-mine" } },
    body: { name: "Fries", principal: 1, customer: 2, weekly_case_volume: 12.5 },
  });
  if (created.data) {
    const name: string = created.data.principal.name;
    void name;
  }
}

const crm = createCrmClient({ baseUrl: "https://crm.example.com", apiKey: "crm_example", idempotencyKeys: true });
check(typeof crm.GET === "function", "crm.GET");
check(typeof crm.items === "function", "crm.items");
const refused = await crm.login("someone@example.com", "secret").then(
  () => "signed in",
  (error: unknown) => String(error),
);
check(/API key/.test(refused), "an API-key client does not sign in");
check(new ProblemError(new Response(null, { status: 418 }), null).status === 418, "ProblemError");
console.log("esm consumer: ok");
