/** The API client this app shares: where the API is, how tokens are kept, and problems from any failure. */
import { createCrmClient, ProblemError, type Problem, type Schemas, type Tokens } from "@foodbroker/crm-client";

/** Where the API is served: VITE_API_URL at build (or dev-server) time, `make run`'s address by default. */
export const API_URL = (import.meta.env.VITE_API_URL || "http://127.0.0.1:8000").replace(/\/+$/, "");

// Tokens live in this tab's sessionStorage, so a reload keeps you signed in and closing the tab forgets them.
// Any script on the page can read them there: a real app keeps its origin free of third-party scripts and
// sets a Content-Security-Policy (or holds the tokens in memory only and signs in again after a reload).
const TOKENS_KEY = "crm-example.tokens";

function storedTokens(): Tokens | null {
  try {
    const stored = sessionStorage.getItem(TOKENS_KEY);
    return stored === null ? null : (JSON.parse(stored) as Tokens);
  } catch {
    return null;
  }
}

const signedOutListeners: (() => void)[] = [];

/** Called when the tokens are gone: signed out here, or a refresh refused (the session ended on the server). */
export function onSignedOut(listener: () => void): void {
  signedOutListeners.push(listener);
}

export const crm = createCrmClient({
  baseUrl: API_URL,
  tokens: storedTokens(),
  onTokens: (tokens) => {
    if (tokens === null) {
      sessionStorage.removeItem(TOKENS_KEY);
      signedOutListeners.forEach((listener) => listener());
    } else {
      sessionStorage.setItem(TOKENS_KEY, JSON.stringify(tokens));
    }
  },
});

export type Opportunity = Schemas["Opportunity"];
export type Interaction = Schemas["Interaction"];
export type Stage = Schemas["StageEnum"];
export type InteractionType = Schemas["InteractionTypeEnum"];

/** The pipeline's stages in order, and which of them are still open. */
export const STAGES: readonly { value: Stage; label: string; open: boolean }[] = [
  { value: "new_lead", label: "New lead", open: true },
  { value: "initial_outreach", label: "Initial outreach", open: true },
  { value: "sample_visit_offered", label: "Sample / visit offered", open: true },
  { value: "feedback_logged", label: "Feedback logged", open: true },
  { value: "demo_scheduled", label: "Demo scheduled", open: true },
  { value: "closed_won", label: "Closed won", open: false },
  { value: "closed_lost", label: "Closed lost", open: false },
];

export function stageLabel(stage: Stage): string {
  return STAGES.find((s) => s.value === stage)?.label ?? stage;
}

/** The name of an expanded reference (`?expand=customer`), or its id when it was not expanded. */
export function nameOf(reference: number | { name: string } | null | undefined): string {
  if (reference === null || reference === undefined) return "—";
  return typeof reference === "number" ? `#${reference}` : reference.name;
}

/** The id of a reference, expanded or not. */
export function idOf(reference: number | { id: number }): number {
  return typeof reference === "number" ? reference : reference.id;
}

/**
 * The problem to show for an error answer (`error` is openapi-fetch's parsed body), or for a failure
 * that has none: a body that is not a problem, or a request that never got an answer.
 */
export function problemFrom(error: unknown, response?: Response): Problem {
  if (error instanceof ProblemError) return problemFrom(error.problem, error.response);
  if (typeof error === "object" && error !== null && "status" in error && "title" in error) {
    return error as Problem;
  }
  if (response !== undefined) {
    return {
      type: "about:blank",
      title: response.statusText || "Error",
      status: response.status,
      detail: `The API answered ${response.status} without a problem body.`,
      request_id: response.headers.get("X-Request-ID") ?? "",
    };
  }
  return {
    type: "about:blank",
    title: "API unreachable",
    status: 0,
    detail: `No answer from ${API_URL}: is it running, and does it allow this origin (${location.origin}) in CORS_ALLOWED_ORIGINS?`,
    request_id: "",
  };
}
