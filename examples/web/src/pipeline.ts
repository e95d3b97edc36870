/** The pipeline by stage, and moving the selected opportunity to another stage with If-Match. */
import { crm, nameOf, problemFrom, STAGES, stageLabel, type Opportunity, type Stage } from "./api";
import { byId, clearProblem, h, showProblem, showStatus } from "./dom";

const EXPAND: ("customer" | "principal")[] = ["customer", "principal"];

/** The opportunity being moved, and the ETag it was read with: sent back as If-Match. */
let selected: { opportunity: Opportunity; etag: string } | null = null;
let onLoaded: (opportunities: Opportunity[]) => void = () => {};

const board = () => byId("board");
const panel = () => byId("opportunity-details");
const moveForm = () => byId<HTMLFormElement>("move-form");
const moveProblem = () => byId("move-problem");
const moveStatus = () => byId("move-status");

export function initPipeline(loaded: (opportunities: Opportunity[]) => void): void {
  onLoaded = loaded;
  board().addEventListener("click", (event) => {
    const card = (event.target as Element).closest<HTMLElement>("[data-opportunity]");
    if (card !== null) void selectOpportunity(Number(card.dataset.opportunity));
  });
  const stage = moveForm().elements.namedItem("stage") as HTMLSelectElement;
  stage.replaceChildren(...STAGES.map((s) => h("option", { value: s.value }, s.label)));
  stage.addEventListener("change", showReasonFields);
  moveForm().addEventListener("submit", (event) => {
    event.preventDefault();
    void move();
  });
  byId("pipeline-reload").addEventListener("click", () => void loadPipeline());
}

/** Every open opportunity the user can see (each page of the list), in columns by stage. */
export async function loadPipeline(): Promise<void> {
  const problem = byId("pipeline-problem");
  clearProblem(problem);
  const opportunities: Opportunity[] = [];
  try {
    for await (const opportunity of crm.items("/api/v1/opportunities/", {
      query: { is_open: true, expand: EXPAND, ordering: ["-weekly_case_volume", "id"], page_size: 200 },
    })) {
      opportunities.push(opportunity);
    }
  } catch (error) {
    showProblem(problem, problemFrom(error));
    return;
  }
  renderBoard(opportunities);
  onLoaded(opportunities);
}

function renderBoard(opportunities: Opportunity[]): void {
  const columns = STAGES.filter((stage) => stage.open).map((stage) => {
    const inStage = opportunities.filter((opportunity) => opportunity.stage === stage.value);
    return h(
      "section",
      { class: "column", "data-stage": stage.value, "aria-labelledby": `column-${stage.value}` },
      h("h3", { id: `column-${stage.value}` }, stage.label, " ", h("span", { class: "count" }, String(inStage.length))),
      h(
        "ol",
        { class: "cards" },
        ...(inStage.length === 0 ? [h("li", { class: "empty" }, "Nothing here")] : inStage.map(card)),
      ),
    );
  });
  board().replaceChildren(...columns);
}

function card(opportunity: Opportunity): HTMLLIElement {
  const isSelected = selected?.opportunity.id === opportunity.id;
  return h(
    "li",
    {},
    h(
      "button",
      { type: "button", class: "opportunity", "data-opportunity": opportunity.id, "aria-pressed": String(isSelected) },
      h("span", { class: "name" }, opportunity.name),
      h("span", { class: "customer" }, nameOf(opportunity.customer)),
      h("span", { class: "principal" }, nameOf(opportunity.principal)),
      h("span", { class: "volume" }, `${opportunity.weekly_case_volume} cases/wk · ${opportunity.probability}%`),
    ),
  );
}

/** Reads the opportunity afresh: its fields, and the ETag the next move sends as If-Match. */
async function selectOpportunity(id: number): Promise<void> {
  clearProblem(moveProblem(), moveForm());
  moveStatus().hidden = true;
  let answer;
  try {
    answer = await crm.GET("/api/v1/opportunities/{id}/", { params: { path: { id }, query: { expand: EXPAND } } });
  } catch (error) {
    showProblem(moveProblem(), problemFrom(error));
    return;
  }
  const { data, error, response } = answer;
  if (data === undefined) {
    showProblem(moveProblem(), problemFrom(error, response));
    return;
  }
  select(data, response);
}

function select(opportunity: Opportunity, response: Response): void {
  selected = { opportunity, etag: response.headers.get("ETag") ?? `"${opportunity.version}"` };
  board()
    .querySelectorAll<HTMLElement>("[data-opportunity]")
    .forEach((card) => card.setAttribute("aria-pressed", String(Number(card.dataset.opportunity) === opportunity.id)));
  byId("opportunity-empty").hidden = true;
  panel().hidden = false;
  byId("opportunity-name").textContent = opportunity.name;
  byId("opportunity-customer").textContent = nameOf(opportunity.customer);
  byId("opportunity-principal").textContent = nameOf(opportunity.principal);
  byId("opportunity-stage").textContent = stageLabel(opportunity.stage);
  byId("opportunity-version").textContent = selected.etag;
  const stage = moveForm().elements.namedItem("stage") as HTMLSelectElement;
  const next = STAGES.findIndex((s) => s.value === opportunity.stage) + 1;
  stage.value = STAGES[Math.min(next, STAGES.length - 1)]?.value ?? opportunity.stage;
  for (const option of stage.options) option.disabled = option.value === opportunity.stage;
  showReasonFields();
}

/** A close needs its reason: the win reason for closed won, the loss reason for closed lost. */
function showReasonFields(): void {
  const stage = (moveForm().elements.namedItem("stage") as HTMLSelectElement).value;
  byId("win-reason").hidden = stage !== "closed_won";
  byId("loss-reason").hidden = stage !== "closed_lost";
}

async function move(): Promise<void> {
  if (selected === null) return;
  const form = moveForm();
  const fields = new FormData(form);
  const stage = fields.get("stage") as Stage;
  const reason = (name: string) => (stage === `closed_${name}` ? String(fields.get(`${name}_reason`) ?? "") : undefined);
  clearProblem(moveProblem(), form);
  moveStatus().hidden = true;
  let answer;
  try {
    answer = await crm.POST("/api/v1/opportunities/{id}/change-stage/", {
      params: { path: { id: selected.opportunity.id }, header: { "If-Match": selected.etag }, query: { expand: EXPAND } },
      body: { stage, win_reason: reason("won"), loss_reason: reason("lost") },
    });
  } catch (error) {
    showProblem(moveProblem(), problemFrom(error), form);
    return;
  }
  const { data, error, response } = answer;
  if (data === undefined) {
    const problem = problemFrom(error, response);
    if (response.status === 412) {
      // Someone changed the opportunity since it was read: nothing was written. Show what is there now.
      const id = selected.opportunity.id;
      const reload = h("button", { type: "button", class: "secondary" }, "Reload the opportunity");
      reload.addEventListener("click", () => {
        void selectOpportunity(id).then(() => {
          if (moveProblem().hidden) showStatus(moveStatus(), "Reloaded: this is the opportunity as it is now.");
        });
        void loadPipeline();
      });
      showProblem(moveProblem(), problem, form, reload);
    } else {
      showProblem(moveProblem(), problem, form);
    }
    return;
  }
  select(data, response);
  showStatus(moveStatus(), `Moved to ${stageLabel(data.stage)}.`);
  await loadPipeline();
}
