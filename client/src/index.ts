/**
 * Typed client for the food-service broker CRM API: openapi-fetch over the types openapi-typescript
 * generates from the committed schema (src/schema.ts, from ../openapi.yaml), plus sign-in with automatic
 * token refresh and a walker for cursor-paginated lists.
 */
import createClient, {
  serializeArrayParam,
  serializePrimitiveParam,
  type Client,
  type ClientOptions,
} from "openapi-fetch";

import type { components, operations, paths } from "./schema.js";

export type { components, operations, paths };

/** Every named schema: `Schemas["Organization"]`, `Schemas["StageEnum"]`, … */
export type Schemas = components["schemas"];
/** An RFC 9457 problem (every error body), with the extension members some carry. */
export type Problem = Schemas["Problem"] &
  Partial<Pick<Schemas["ConflictProblem"], "dependents">> &
  Partial<Pick<Schemas["PreconditionFailedProblem"], "current_version">>;

/** The token pair a sign-in gives. */
export type Tokens = Schemas["TokenPair"];

const AUTH_PATHS = ["/api/v1/auth/token/", "/api/v1/auth/token/refresh/", "/api/v1/auth/logout/"];

/** Query parameters the API reads comma-separated (`style: form, explode: false` in the schema). */
const COMMA_SEPARATED = new Set(["expand", "ordering"]);

/**
 * Serializes query parameters the way the schema says: arrays are repeated (`?type=a&type=b`) except
 * `expand` and `ordering`, which are comma-separated (`?expand=principal,customer`).
 */
export function crmQuerySerializer(query: Record<string, unknown>): string {
  const parts: string[] = [];
  for (const [name, value] of Object.entries(query)) {
    if (value === undefined || value === null) continue;
    if (Array.isArray(value)) {
      if (value.length === 0) continue;
      parts.push(serializeArrayParam(name, value, { style: "form", explode: !COMMA_SEPARATED.has(name) }));
    } else {
      parts.push(serializePrimitiveParam(name, String(value)));
    }
  }
  return parts.join("&");
}

/** Thrown by the helpers (login, refresh, pages) when the API answers with an error. */
export class ProblemError extends Error {
  readonly status: number;
  readonly problem: Problem | undefined;
  readonly response: Response;

  constructor(response: Response, body: unknown) {
    const problem = isProblem(body) ? body : undefined;
    super(problem ? `${problem.status} ${problem.title}: ${problem.detail}` : `HTTP ${response.status}`);
    this.name = "ProblemError";
    this.status = response.status;
    this.problem = problem;
    this.response = response;
  }
}

function isProblem(body: unknown): body is Problem {
  return typeof body === "object" && body !== null && "status" in body && "title" in body;
}

// --- cursor pages ---------------------------------------------------------------------------------

interface PageEnvelope {
  next: string | null;
  results: unknown[];
}

/** Paths whose GET answers with a page (`{next, results}`): lists, histories, the timeline. */
export type ListPath = {
  [P in keyof paths]: paths[P] extends {
    get: { responses: { 200: { content: { "application/json": PageEnvelope } } } };
  }
    ? P
    : never;
}[keyof paths];

type ListOperation<P extends ListPath> = paths[P]["get"];
/** One page of the list at `P`. */
export type ListPage<P extends ListPath> = ListOperation<P>["responses"][200]["content"]["application/json"];
/** One row of the list at `P`. */
export type ListItem<P extends ListPath> = ListPage<P>["results"][number];
/** The parameters of the list at `P` (without `cursor`: the walker sets it). */
export type ListParams<P extends ListPath> = ListOperation<P>["parameters"];
type ListParamsArg<P extends ListPath> = {} extends ListParams<P> ? [params?: ListParams<P>] : [params: ListParams<P>];

// --- the client -----------------------------------------------------------------------------------

export interface CrmClientOptions extends Omit<ClientOptions, "querySerializer"> {
  /** Where the API is served, e.g. `https://crm.example.com` (paths start with /api/v1/). */
  baseUrl: string;
  /** Tokens from an earlier sign-in (e.g. kept in storage). */
  tokens?: Tokens | null;
  /** Called whenever the tokens change (sign-in, refresh, sign-out or a refused refresh): persist them here. */
  onTokens?: (tokens: Tokens | null) => void;
}

export interface CrmHelpers {
  /** Sign in; later requests carry the access token, refreshed once on a 401 while the refresh token lasts. */
  login(email: string, password: string): Promise<Tokens>;
  /** Trade the refresh token for a new access token and the next refresh token now (the one sent is spent). */
  refresh(): Promise<Tokens>;
  /** Sign out: the server ends the refresh token's session, and the tokens are forgotten. */
  logout(): Promise<void>;
  /** The current tokens, or null when signed out. */
  getTokens(): Tokens | null;
  /** Each page of a cursor-paginated list, following `next` to the end. */
  pages<P extends ListPath>(path: P, ...params: ListParamsArg<P>): AsyncGenerator<ListPage<P>, void, undefined>;
  /** Each row of a cursor-paginated list, page after page. */
  items<P extends ListPath>(path: P, ...params: ListParamsArg<P>): AsyncGenerator<ListItem<P>, void, undefined>;
}

/**
 * The media types the client's methods read: JSON and problems (`application/problem+json`). A list's
 * 200 also documents its CSV and XLSX exports (`?format=csv|xlsx`); left out here so that `data` stays
 * the JSON page's type. Download an export with `parseAs: "blob"` (or `"stream"`).
 */
export type JsonMedia = `application/${string}json`;

/** openapi-fetch's client for the CRM's paths (`GET`, `POST`, …) with the helpers above. */
export type CrmClient = Client<paths, JsonMedia> & CrmHelpers;

export function createCrmClient(options: CrmClientOptions): CrmClient {
  const { tokens: initialTokens = null, onTokens, fetch: baseFetch = globalThis.fetch, ...clientOptions } = options;
  let tokens: Tokens | null = initialTokens;
  let refreshing: Promise<Tokens> | null = null;

  const setTokens = (next: Tokens | null): void => {
    tokens = next;
    onTokens?.(next);
  };
  const isAuthRequest = (request: Request): boolean =>
    AUTH_PATHS.some((path) => new URL(request.url).pathname.endsWith(path));
  const withAccess = (request: Request, access: string): Request => {
    const headers = new Headers(request.headers);
    headers.set("Authorization", `Bearer ${access}`);
    return new Request(request, { headers });
  };

  // Every call goes through here: the bearer token is added, and a 401 is retried once after a refresh.
  const authorizedFetch = async (request: Request): Promise<Response> => {
    if (isAuthRequest(request) || tokens === null) return baseFetch(request);
    const retry = request.clone();
    const response = await baseFetch(withAccess(request, tokens.access));
    if (response.status !== 401) return response;
    try {
      const renewed = await refresh();
      return await baseFetch(withAccess(retry, renewed.access));
    } catch {
      return response;
    }
  };

  const api = createClient<paths, JsonMedia>({
    ...clientOptions,
    fetch: authorizedFetch,
    querySerializer: crmQuerySerializer,
  });

  async function login(email: string, password: string): Promise<Tokens> {
    const { data, error, response } = await api.POST("/api/v1/auth/token/", { body: { email, password } });
    if (data === undefined) throw new ProblemError(response, error);
    setTokens(data);
    return data;
  }

  function refresh(): Promise<Tokens> {
    // One refresh at a time, however many requests got a 401 together.
    refreshing ??= (async () => {
      const current = tokens;
      if (current === null) throw new Error("Not signed in.");
      const { data, error, response } = await api.POST("/api/v1/auth/token/refresh/", {
        body: { refresh: current.refresh },
      });
      if (data === undefined) {
        setTokens(null);
        throw new ProblemError(response, error);
      }
      // Refresh tokens rotate: the one sent is spent, and sending it again would end the session.
      const renewed = { access: data.access, refresh: data.refresh };
      setTokens(renewed);
      return renewed;
    })().finally(() => {
      refreshing = null;
    });
    return refreshing;
  }

  // openapi-fetch's GET is typed per path; the walker is generic over every list path, so it calls
  // through this narrower view and its own signature carries the types.
  const getPage = api.GET as unknown as (
    path: string,
    init: { params?: Record<string, unknown> },
  ) => Promise<{ data?: PageEnvelope; error?: unknown; response: Response }>;

  async function* pages<P extends ListPath>(
    path: P,
    ...[params]: ListParamsArg<P>
  ): AsyncGenerator<ListPage<P>, void, undefined> {
    const given = (params ?? {}) as { query?: Record<string, unknown> } & Record<string, unknown>;
    let cursor: string | null = null;
    for (;;) {
      const query = cursor === null ? given.query : { ...given.query, cursor };
      const { data, error, response } = await getPage(path, { params: { ...given, query } });
      if (data === undefined) throw new ProblemError(response, error);
      yield data as ListPage<P>;
      cursor = data.next === null ? null : new URL(data.next).searchParams.get("cursor");
      if (cursor === null) return;
    }
  }

  async function* items<P extends ListPath>(
    path: P,
    ...params: ListParamsArg<P>
  ): AsyncGenerator<ListItem<P>, void, undefined> {
    for await (const page of pages(path, ...params)) {
      yield* page.results as ListItem<P>[];
    }
  }

  async function logout(): Promise<void> {
    const current = tokens;
    setTokens(null);
    if (current !== null) {
      // Forgotten here whatever the answer: a refused token has no session left to end.
      await api.POST("/api/v1/auth/logout/", { body: { refresh: current.refresh } });
    }
  }

  const helpers: CrmHelpers = {
    login,
    refresh,
    logout,
    getTokens: () => tokens,
    pages,
    items,
  };
  return Object.assign(api, helpers);
}
