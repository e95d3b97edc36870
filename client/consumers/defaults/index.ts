// A consumer on the compiler's defaults: no tsconfig.json and no options (`tsc index.ts`). On TypeScript 5
// that is ES5's lib and CommonJS, so this code has no async function of its own; the package's
// declarations must compile all the same (its walker's AsyncGenerator once did not).
import { createCrmClient, type CrmClient } from "@foodbroker/crm-client";

export function firstCustomerName(crm: CrmClient): PromiseLike<string | undefined> {
  return crm
    .GET("/api/v1/opportunities/", { params: { query: { expand: ["customer"], page_size: 1 } } })
    .then(({ data }) => data?.results[0]?.customer.name);
}

export function firstPrincipalId(crm: CrmClient): PromiseLike<number | undefined> {
  return crm
    .items("/api/v1/products/")
    .next()
    .then((step) => (step.done === true ? undefined : step.value.principal));
}

export const crm = createCrmClient({ baseUrl: "https://crm.example.com" });
