// A CommonJS consumer (`"type": "commonjs"`, `--module nodenext`): its imports compile to `require`,
// which loads the package's CommonJS build. Compiled by each TypeScript the package supports, then run.
import { createCrmClient, ProblemError, type CrmClient } from "@foodbroker/crm-client";

function check(ok: unknown, what: string): void {
  if (!ok) throw new Error(`failed: ${what}`);
}

export async function expanded(crm: CrmClient): Promise<void> {
  const { data } = await crm.GET("/api/v1/interactions/{id}/", {
    params: { path: { id: 1 }, query: { expand: ["organization", "contact"] } },
  });
  if (data === undefined) return;
  const organization: string = data.organization.name;
  const contact: string | undefined = data.contact?.last_name;
  const opportunity: number | null = data.opportunity;
  void [organization, contact, opportunity];
}

async function main(): Promise<void> {
  const crm = createCrmClient({ baseUrl: "https://crm.example.com", apiKey: "crm_example" });
  check(typeof crm.GET === "function", "crm.GET");
  const refused = await crm.login("someone@example.com", "secret").then(
    () => "signed in",
    (error: unknown) => String(error),
  );
  check(/API key/.test(refused), "an API-key client does not sign in");
  check(new ProblemError(new Response(null, { status: 418 }), null).status === 418, "ProblemError");
  console.log("cjs consumer: ok");
}

void main();
