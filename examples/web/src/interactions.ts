/** Logging an interaction against an opportunity or an organization, and the latest ones logged. */
import { crm, idOf, nameOf, problemFrom, type Interaction, type InteractionType, type Opportunity } from "./api";
import { byId, clearProblem, h, showProblem, showStatus } from "./dom";

const TYPES: readonly { value: InteractionType; label: string }[] = [
  { value: "call", label: "Call" },
  { value: "email", label: "Email" },
  { value: "meeting", label: "Meeting" },
  { value: "site_visit", label: "Site visit" },
  { value: "demo", label: "Demo" },
  { value: "sample", label: "Sample" },
  { value: "tasting", label: "Tasting" },
  { value: "trade_show", label: "Trade show" },
  { value: "proposal", label: "Proposal" },
  { value: "follow_up", label: "Follow-up" },
  { value: "note", label: "Note" },
  { value: "other", label: "Other" },
];

/** What an interaction can be logged against, by option value ("opportunity:12", "organization:31"). */
const targets = new Map<string, { organization: number; opportunity?: number }>();

const form = () => byId<HTMLFormElement>("interaction-form");
const problemBox = () => byId("interaction-problem");
const against = () => form().elements.namedItem("against") as HTMLSelectElement;

export function initInteractions(): void {
  const type = form().elements.namedItem("type") as HTMLSelectElement;
  type.replaceChildren(...TYPES.map((t) => h("option", { value: t.value }, t.label)));
  resetWhen();
  form().addEventListener("submit", (event) => {
    event.preventDefault();
    void logInteraction();
  });
}

/** Now, in the browser's time zone, as a datetime-local input wants it. */
function resetWhen(): void {
  const now = new Date();
  now.setSeconds(0, 0);
  const local = new Date(now.getTime() - now.getTimezoneOffset() * 60_000);
  (form().elements.namedItem("occurred_at") as HTMLInputElement).value = local.toISOString().slice(0, 16);
}

/** The opportunities on the board and the first hundred customers and prospects, as choices. */
export async function loadTargets(opportunities: Opportunity[]): Promise<void> {
  // The first hundred by name keep the example short; a real form would search them (`?search=`).
  const { data } = await crm
    .GET("/api/v1/organizations/", {
      params: { query: { type: ["customer", "prospect"], ordering: ["name"], page_size: 100 } },
    })
    .catch(() => ({ data: undefined })); // unreachable: the opportunities alone are offered
  const previous = against().value;
  targets.clear();
  const group = (label: string, options: [string, string, { organization: number; opportunity?: number }][]) =>
    h(
      "optgroup",
      { label },
      ...options.map(([value, text, target]) => {
        targets.set(value, target);
        return h("option", { value }, text);
      }),
    );
  against().replaceChildren(
    group(
      "Opportunities",
      opportunities.map((o) => [
        `opportunity:${o.id}`,
        `${o.name} (${nameOf(o.customer)})`,
        { organization: idOf(o.customer), opportunity: o.id },
      ]),
    ),
    group(
      "Customers and prospects",
      (data?.results ?? []).map((o) => [`organization:${o.id}`, o.name, { organization: o.id }]),
    ),
  );
  if (targets.has(previous)) against().value = previous;
}

async function logInteraction(): Promise<void> {
  const fields = new FormData(form());
  const target = targets.get(String(fields.get("against")));
  const when = String(fields.get("occurred_at") ?? "");
  clearProblem(problemBox(), form());
  byId("interaction-status").hidden = true;
  let answer;
  try {
    answer = await crm.POST("/api/v1/interactions/", {
      body: {
        type: fields.get("type") as InteractionType,
        // The input holds a local time without a zone; the API wants an instant. Left as typed when it is not
        // a date, so the API's problem names the field.
        occurred_at: Number.isNaN(Date.parse(when)) ? when : new Date(when).toISOString(),
        subject: String(fields.get("subject") ?? ""),
        notes: String(fields.get("notes") ?? ""),
        organization: target?.organization ?? 0,
        opportunity: target?.opportunity ?? null,
      },
    });
  } catch (error) {
    showProblem(problemBox(), problemFrom(error), form());
    return;
  }
  const { data, error, response } = answer;
  if (data === undefined) {
    showProblem(problemBox(), problemFrom(error, response), form());
    return;
  }
  showStatus(byId("interaction-status"), `Logged “${data.subject}”.`);
  (form().elements.namedItem("subject") as HTMLInputElement).value = "";
  (form().elements.namedItem("notes") as HTMLTextAreaElement).value = "";
  resetWhen();
  await loadRecentInteractions();
}

/** The five interactions logged last in the firm (that this user can see), newest first. */
export async function loadRecentInteractions(): Promise<void> {
  let answer;
  try {
    answer = await crm.GET("/api/v1/interactions/", {
      params: {
        query: { ordering: ["-created_at"], page_size: 5, expand: ["organization", "opportunity", "user"] },
      },
    });
  } catch (error) {
    showProblem(problemBox(), problemFrom(error));
    return;
  }
  const { data, error, response } = answer;
  const list = byId("recent-interactions");
  if (data === undefined) {
    showProblem(problemBox(), problemFrom(error, response));
    return;
  }
  list.replaceChildren(
    ...(data.results.length === 0 ? [h("li", { class: "empty" }, "None yet")] : data.results.map(interactionItem)),
  );
}

function interactionItem(interaction: Interaction): HTMLLIElement {
  const type = TYPES.find((t) => t.value === interaction.type)?.label ?? interaction.type;
  const user = interaction.user;
  const by = user === null ? "" : typeof user === "number" ? `#${user}` : `${user.first_name} ${user.last_name}`.trim() || user.email;
  const opportunity = interaction.opportunity;
  return h(
    "li",
    { "data-interaction": interaction.id },
    h("span", { class: "badge" }, type),
    " ",
    h("strong", { class: "subject" }, interaction.subject),
    h(
      "span",
      { class: "meta" },
      `${nameOf(interaction.organization)}`,
      opportunity !== null && ` · ${nameOf(opportunity)}`,
      ` · ${new Date(interaction.occurred_at).toLocaleString()}`,
      by && ` · by ${by}`,
    ),
  );
}
