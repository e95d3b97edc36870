/**
 * Typed client for the food-service broker CRM API: openapi-fetch over the types openapi-typescript
 * generates from the committed schema (src/schema.ts, from ../openapi.yaml), plus sign-in with automatic
 * token refresh or an API key, Idempotency-Key on writes, a walker for cursor-paginated lists, and
 * responses typed by the call's `expand` (expanded relations are objects, the others ids).
 */
// The walker's AsyncGenerator is declared in ES2018's lib; a consumer on TypeScript's defaults (ES5's lib)
// gets it from here instead of "Cannot find name 'AsyncGenerator'".
/// <reference lib="es2018.asyncgenerator" preserve="true" />
/// <reference lib="es2018.asynciterable" preserve="true" />
import createClient, {
  serializeArrayParam,
  serializePrimitiveParam,
  type Client,
  type ClientOptions,
  type FetchResponse,
  type MaybeOptionalInit,
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

// --- expand ----------------------------------------------------------------------------------------
//
// The schema types an expandable foreign key as `id | summary` (it cannot say which a call gets), and
// each operation that honours `?expand=` lists the names it accepts in its `expand` parameter's enum.
// The types below read both from the generated schema, so every expandable field of every resource is
// covered without a list to keep: in a response, a field the call's `expand` names is the object (or
// null), a field it could have named but did not is the id (or null), and every other field is as typed.

type HttpMethod = "get" | "put" | "post" | "delete" | "options" | "head" | "patch" | "trace";
type MediaType = `${string}/${string}`;

/** The operation at `P` for `M` (`paths[P]["get"]`, …). */
export type Operation<P extends keyof paths, M extends HttpMethod> = M extends keyof paths[P]
  ? NonNullable<paths[P][M]> extends infer O extends Record<string | number, any>
    ? O
    : never
  : never;

/** Paths that have an operation for `M`. */
export type PathsWithMethod<M extends HttpMethod> = {
  [P in keyof paths]: paths[P] extends { [K in M]: unknown } ? P : never;
}[keyof paths];

type NamesIn<List> = ElementsOf<NonNullable<List>>;
type ElementsOf<List> = List extends readonly (infer Name)[] ? Name & string : never; // never for never

/** The names an operation's `?expand=` accepts: `ExpandableOf<Operation<"/api/v1/opportunities/", "get">>`. */
export type ExpandableOf<Op> = Op extends { parameters: { query?: infer Query } }
  ? NonNullable<Query> extends { expand?: infer List }
    ? NamesIn<List>
    : never
  : never;

/**
 * What a call's parameters ask to expand: `sure`, names its `query.expand` is typed with (a literal list
 * like `expand: ["customer"]`), and `maybe`, names of an `expand` that may or may not be sent (parameters
 * typed with the schema's optional `expand?`), whose fields stay `id | object`.
 */
export type RequestedIn<Params> = ExpandAsked<NonNullable<Params>>;

type Optional<T, K extends keyof T> = {} extends Pick<T, K> ? true : false;
// By indexed access rather than `infer`: the default options' `expand?: never`, met with the schema's
// `expand?: Name[]`, must read as never (nothing asked), which inference from the intersection does not.
type ExpandAsked<Params> = "query" extends keyof Params
  ? ExpandAskedIn<NonNullable<Params["query" & keyof Params]>, Optional<Params, "query" & keyof Params>>
  : NoneRequested;
type ExpandAskedIn<Query, QueryOptional extends boolean> = "expand" extends keyof Query
  ? [QueryOptional | Optional<Query, "expand" & keyof Query>] extends [false]
    ? { sure: NamesIn<Query["expand" & keyof Query]>; maybe: never }
    : { sure: never; maybe: NamesIn<Query["expand" & keyof Query]> }
  : NoneRequested;

interface Requested {
  sure: string;
  maybe: string;
}
type NoneRequested = { sure: never; maybe: never };

/**
 * A record as the API answers it: fields `Asked` is sure of are the related object (or null), those it
 * may have asked for stay `id | object`, the other `Expandable` fields are the id (or null), and every other
 * field is as typed.
 */
export type Expand<Row, Expandable extends string, Asked extends Requested = NoneRequested> = {
  [K in keyof Row]: K extends Asked["sure"]
    ? Exclude<Row[K], number>
    : K extends Asked["maybe"]
      ? Row[K]
      : K extends Expandable
        ? Exclude<Row[K], object>
        : Row[K];
};

/**
 * A response body with its records expanded as `Asked` says: one record, a page's results, or a batch's
 * results (each outcome's record is its `data`, null for a delete or a failed operation).
 */
export type ExpandBody<Body, Expandable extends string, Asked extends Requested = NoneRequested> = [
  Expandable,
] extends [never]
  ? Body
  : Body extends { results: (infer Row)[] }
    ? { [K in keyof Body]: K extends "results" ? ExpandRow<Row, Expandable, Asked>[] : Body[K] }
    : Expand<Body, Expandable, Asked>;

type ExpandRow<Row, Expandable extends string, Asked extends Requested> = Row extends {
  index: number;
  data: infer Record;
}
  ? { [K in keyof Row]: K extends "data" ? Expand<Record, Expandable, Asked> : Row[K] }
  : Expand<Row, Expandable, Asked>;

type ExpandResponse<Response, Expandable extends string, Asked extends Requested> = Response extends {
  data: infer Body;
}
  ? Omit<Response, "data"> & { data: ExpandBody<Body, Expandable, Asked> }
  : Response;

/**
 * The record a path's GET answers with (a list's row, or the one record), with `Expanded` expanded:
 * `Resource<"/api/v1/opportunities/{id}/", "customer">` has `customer` as an object, `principal` an id.
 */
export type Resource<P extends PathsWithMethod<"get">, Expanded extends ExpandableOf<Operation<P, "get">> = never> =
  Operation<P, "get">["responses"][200]["content"]["application/json"] extends infer Body
    ? Body extends { results: (infer Row)[] }
      ? Expand<Row, ExpandableOf<Operation<P, "get">>, { sure: Expanded; maybe: never }>
      : Expand<Body, ExpandableOf<Operation<P, "get">>, { sure: Expanded; maybe: never }>
    : never;

// What the walker's call without parameters is typed with (rather than the parameters' constraint, whose
// `expand?` would count as perhaps sent): nothing asked to expand.
type NoExpand = { query?: { expand?: never } };

type RequiredKeysOf<T> = { [K in keyof T]-?: {} extends Pick<T, K> ? never : K }[keyof T];
// openapi-fetch's own rule: the options are optional when nothing in them is required.
type InitParam<Init, Extra> = RequiredKeysOf<Init> extends never
  ? [(Init & Extra & { [key: string]: unknown })?]
  : [Init & Extra & { [key: string]: unknown }];

type ParametersOf<Op> = Op extends { parameters: infer Params } ? Params : never;

/**
 * openapi-fetch's method (`crm.GET(path, { params, body, headers })`), its answer's `data` typed by the
 * call's `expand`. The call's `params` are inferred on their own (`Params`, typed by the operation's
 * parameters, so `expand: ["customer"]` keeps its names): openapi-fetch's `Init` falls back to its
 * constraint whenever a body has an enum field, which would lose them.
 */
export type CrmMethod<M extends HttpMethod> = <
  P extends PathsWithMethod<M>,
  Init extends MaybeOptionalInit<paths[P], M>,
  Params extends ParametersOf<Operation<P, M>> = never,
>(
  url: P,
  ...init: InitParam<Init, { params?: Params }>
) => Promise<
  ExpandResponse<
    FetchResponse<Operation<P, M>, Init, JsonMedia>,
    ExpandableOf<Operation<P, M>>,
    Init extends { parseAs: "text" | "blob" | "arrayBuffer" | "stream" }
      ? NoneRequested
      : [Params] extends [never]
        ? NoneRequested
        : RequestedIn<Params>
  >
>;

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
/** The parameters of the list at `P` (the walker sets `cursor`). */
export type ListParams<P extends ListPath> = ListOperation<P>["parameters"];
/** One page of the list at `P`, its rows expanded as `params.query.expand` asks. */
export type ListPage<P extends ListPath, Params = NoExpand> = ExpandBody<
  ListOperation<P>["responses"][200]["content"]["application/json"],
  ExpandableOf<ListOperation<P>>,
  RequestedIn<Params>
>;
/** One row of the list at `P`, expanded as `params.query.expand` asks. */
export type ListItem<P extends ListPath, Params = NoExpand> = ListPage<P, Params>["results"][number];
type ListParamsArg<P extends ListPath, Params> = {} extends ListParams<P> ? [params?: Params] : [params: Params];

// --- the client -----------------------------------------------------------------------------------

export interface CrmClientOptions extends Omit<ClientOptions, "querySerializer"> {
  /** Where the API is served, e.g. `https://crm.example.com` (paths start with /api/v1/). */
  baseUrl: string;
  /**
   * An API key (`crm_…`, from POST /api/v1/api-keys/): every request carries `Authorization: Api-Key …`
   * and the client does not sign in (`login` refuses). For servers and scripts; a browser signs in.
   */
  apiKey?: string;
  /** Tokens from an earlier sign-in (e.g. kept in storage). */
  tokens?: Tokens | null;
  /** Called whenever the tokens change (sign-in, refresh, sign-out or a refused refresh): persist them here. */
  onTokens?: (tokens: Tokens | null) => void;
  /**
   * Give every POST and PATCH that has none an `Idempotency-Key` (a random UUID), kept when the client
   * sends the request again itself (after refreshing the token, or on `retries`), so a write sent twice
   * happens once.
   * A key of your own (`params: { header: { "Idempotency-Key": key } }`) is always sent as it is.
   */
  idempotencyKeys?: boolean;
  /**
   * How many times to send a request again when the network failed or the API answered 503 (database
   * unreachable) or 429 (too many requests), after `Retry-After` (at most 60 s) or a short backoff.
   * Only requests that are safe to repeat: GET, HEAD, OPTIONS, PUT, DELETE, and a POST or PATCH with an
   * `Idempotency-Key` (see `idempotencyKeys`). Default 0.
   */
  retries?: number;
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
  pages<P extends ListPath, Params extends ListParams<P> = ListParams<P> & NoExpand>(
    path: P,
    ...params: ListParamsArg<P, Params>
  ): AsyncGenerator<ListPage<P, Params>, void, undefined>;
  /** Each row of a cursor-paginated list, page after page. */
  items<P extends ListPath, Params extends ListParams<P> = ListParams<P> & NoExpand>(
    path: P,
    ...params: ListParamsArg<P, Params>
  ): AsyncGenerator<ListItem<P, Params>, void, undefined>;
}

/** The methods whose answers are typed by `expand` (the others are openapi-fetch's). */
export interface CrmMethods {
  GET: CrmMethod<"get">;
  PUT: CrmMethod<"put">;
  POST: CrmMethod<"post">;
  PATCH: CrmMethod<"patch">;
  DELETE: CrmMethod<"delete">;
}

/**
 * The media types the client's methods read: JSON and problems (`application/problem+json`). A list's
 * 200 also documents its CSV and XLSX exports (`?format=csv|xlsx`); left out here so that `data` stays
 * the JSON page's type. Download an export with `parseAs: "blob"` (or `"stream"`).
 */
export type JsonMedia = `application/${string}json`;

/** openapi-fetch's client for the CRM's paths (`GET`, `POST`, …) with the helpers above. */
export type CrmClient = Omit<Client<paths, JsonMedia>, keyof CrmMethods> & CrmMethods & CrmHelpers;

const IDEMPOTENCY_KEY = "Idempotency-Key";
const IDEMPOTENT_METHODS = new Set(["POST", "PATCH"]);
const REPEATABLE_METHODS = new Set(["GET", "HEAD", "OPTIONS", "PUT", "DELETE"]);
const RETRY_STATUSES = new Set([429, 503]);
const MAX_RETRY_DELAY_MS = 60_000;

/** How long to wait before sending again: the answer's Retry-After (seconds), else 250 ms, 500 ms, … */
function retryDelay(attempt: number, response?: Response): number {
  const retryAfter = Number(response?.headers.get("Retry-After") ?? Number.NaN);
  const delay = Number.isFinite(retryAfter) && retryAfter >= 0 ? retryAfter * 1000 : 250 * 2 ** attempt;
  return Math.min(delay, MAX_RETRY_DELAY_MS);
}

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

export function createCrmClient(options: CrmClientOptions): CrmClient {
  const {
    apiKey,
    tokens: initialTokens = null,
    onTokens,
    idempotencyKeys = false,
    retries = 0,
    fetch: givenFetch = globalThis.fetch,
    ...clientOptions
  } = options;
  let tokens: Tokens | null = initialTokens;
  let refreshing: Promise<Tokens> | null = null;

  const setTokens = (next: Tokens | null): void => {
    tokens = next;
    onTokens?.(next);
  };
  const isAuthRequest = (request: Request): boolean =>
    AUTH_PATHS.some((path) => new URL(request.url).pathname.endsWith(path));
  const withHeaders = (request: Request, set: Record<string, string>): Request => {
    const headers = new Headers(request.headers);
    for (const [name, value] of Object.entries(set)) headers.set(name, value);
    return new Request(request, { headers });
  };
  const withAccess = (request: Request, access: string): Request =>
    withHeaders(request, { Authorization: `Bearer ${access}` });
  const repeatable = (request: Request): boolean =>
    REPEATABLE_METHODS.has(request.method) ||
    (IDEMPOTENT_METHODS.has(request.method) && request.headers.has(IDEMPOTENCY_KEY));

  // Sends the request, and again (a copy: a body is read once) while `retries` allow, when the network
  // failed (fetch rejects with a TypeError) or the API answered 503/429, if the request is safe to repeat.
  const baseFetch = async (request: Request): Promise<Response> => {
    for (let attempt = 0; ; attempt += 1) {
      const again = attempt < retries && repeatable(request) ? request.clone() : null;
      let response: Response;
      try {
        response = await givenFetch(request);
      } catch (error) {
        if (again === null || !(error instanceof TypeError)) throw error;
        await sleep(retryDelay(attempt));
        request = again;
        continue;
      }
      if (again === null || !RETRY_STATUSES.has(response.status)) return response;
      await response.body?.cancel();
      await sleep(retryDelay(attempt, response));
      request = again;
    }
  };

  // Every call goes through here: the credentials are added, a write gets its Idempotency-Key (before the
  // request is copied for a retry, so every retry sends the same key), and a 401 is retried once after a
  // token refresh.
  const authorizedFetch = async (request: Request): Promise<Response> => {
    if (isAuthRequest(request)) return baseFetch(request);
    if (idempotencyKeys && IDEMPOTENT_METHODS.has(request.method) && !request.headers.has(IDEMPOTENCY_KEY)) {
      request = withHeaders(request, { [IDEMPOTENCY_KEY]: globalThis.crypto.randomUUID() });
    }
    if (apiKey !== undefined) return baseFetch(withHeaders(request, { Authorization: `Api-Key ${apiKey}` }));
    if (tokens === null) return baseFetch(request);
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
    if (apiKey !== undefined) throw new Error("This client authenticates with an API key: it does not sign in.");
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

  async function* pages<P extends ListPath, Params extends ListParams<P> = ListParams<P> & NoExpand>(
    path: P,
    ...[params]: ListParamsArg<P, Params>
  ): AsyncGenerator<ListPage<P, Params>, void, undefined> {
    const given = (params ?? {}) as { query?: Record<string, unknown> } & Record<string, unknown>;
    let cursor: string | null = null;
    for (;;) {
      const query = cursor === null ? given.query : { ...given.query, cursor };
      const { data, error, response } = await getPage(path, { params: { ...given, query } });
      if (data === undefined) throw new ProblemError(response, error);
      yield data as ListPage<P, Params>;
      cursor = data.next === null ? null : new URL(data.next).searchParams.get("cursor");
      if (cursor === null) return;
    }
  }

  async function* items<P extends ListPath, Params extends ListParams<P> = ListParams<P> & NoExpand>(
    path: P,
    ...params: ListParamsArg<P, Params>
  ): AsyncGenerator<ListItem<P, Params>, void, undefined> {
    for await (const page of pages<P, Params>(path, ...params)) {
      yield* page.results as ListItem<P, Params>[];
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
  // The methods are openapi-fetch's own; CrmMethods only types their answers by the call's `expand`.
  return Object.assign(api, helpers) as unknown as CrmClient;
}
