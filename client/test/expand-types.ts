/**
 * How `expand` types answers, checked by the compiler (`npm run typecheck`; nothing here runs): a name the
 * call's `expand` lists is the object, a name it could list is the id, an `expand` that may or may not be
 * sent leaves `id | object`. tests/client/ also generates a check of every expandable field in the schema.
 */
import type { CrmClient, ListItem, Resource } from "../src/index.js";

declare const crm: CrmClient;

export async function expandTypes(): Promise<void> {
  const call = await crm.POST("/api/v1/interactions/", {
      params: { query: { expand: ["opportunity", "contact"] } },
      body: { type: "call", occurred_at: "x", subject: "s", organization: 1 },
  });
  const n: string | undefined = call.data!.contact?.last_name; void n;
  const o: number = call.data!.organization; void o;
  const g = await crm.GET("/api/v1/products/");
  const y: number = g.data!.results[0]!.principal; void y;
  const h = await crm.GET("/api/v1/products/{id}/", { params: { path: { id: 1 } } });
  const z: number = h.data!.principal; void z;
  const q: { query?: { expand?: "principal"[] }; path: { id: number } } = { path: { id: 1 } };
  const k = await crm.GET("/api/v1/products/{id}/", { params: q });
  // @ts-expect-error maybe
  const zz: number = k.data!.principal; void zz;
  const t = await crm.GET("/api/v1/products/{id}/", { params: { path: { id: 1 } }, parseAs: "text" });
  const tt: string = t.data!; void tt;
  // @ts-expect-error unknown name
  await crm.GET("/api/v1/products/{id}/", { params: { path: { id: 1 }, query: { expand: ["nope"] } } });
  // @ts-expect-error missing path
  await crm.GET("/api/v1/products/{id}/", { params: { query: { expand: ["principal"] } } });
}

export async function walkerTypes(): Promise<void> {
  // A list with path parameters: the walker requires them, and its rows are typed as the path's.
  for await (const entry of crm.items("/api/v1/contacts/{id}/history/", { path: { id: 1 } })) {
    const operation: string = entry.operation;
    void operation;
  }
  // @ts-expect-error the path parameters are required
  crm.items("/api/v1/contacts/{id}/history/");
  for await (const page of crm.pages("/api/v1/opportunities/", { query: { expand: ["owner"] } })) {
    const email: string | undefined = page.results[0]?.owner?.email;
    const customer: number | undefined = page.results[0]?.customer;
    void [email, customer, page.next];
  }
}

export function resourceTypes(row: Resource<"/api/v1/opportunities/", "customer">, item: ListItem<"/api/v1/products/">): void {
  const name: string = row.customer.name;
  const principal: number = row.principal;
  const product: number = item.principal;
  void [name, principal, product];
}
