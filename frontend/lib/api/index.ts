/**
 * The dashboard's API client: a thin layer over openapi-fetch, whose paths, parameters, bodies
 * and answers are typed from the server's OpenAPI document (lib/api/schema.d.ts, generated from
 * the committed snapshot lib/api/openapi.json; see docs/frontend.md). This module adds what the
 * pages rely on: the bearer token, every failure as an {@link ApiError} with the server's
 * `{code, message, details}` and a friendly message for the screen (technical `details` go to the
 * console only), sign-out on 401, and a runtime check of each JSON answer against the schema
 * the document declares for it (lib/api/validate.ts). Reads retry transient failures (503, 429,
 * network) with exponential backoff; mutations never retry on their own — the UI offers a Retry
 * button instead, because a lost response may hide a completed action.
 */
import createClient from "openapi-fetch";

import type { paths } from "@/lib/api/schema";

import type * as t from "./types";
import { check, componentSchema, responseSchema } from "./validate";

export type * from "./types";

/** Codes whose failure is temporary: retrying later can succeed. */
const TRANSIENT_CODES = new Set(["docker_unavailable", "database_unavailable", "network_error"]);

/** A friendly sentence per error code (the server's message is shown when none fits). */
export const FRIENDLY: Record<string, string> = {
  network_error: "Can't reach the SDMD server. Check your connection; we'll keep trying.",
  docker_unavailable: "Docker isn't reachable right now. This is usually temporary — try again.",
  database_unavailable: "The database isn't reachable right now. Try again in a moment.",
  unauthorized: "Your session has ended. Please sign in again.",
  invalid_token: "Your session has ended. Please sign in again.",
  forbidden: "You're not allowed to do that.",
  service_not_found: "This service doesn't exist (any more).",
  route_not_found: "This server doesn't support that yet — it may need an update.",
  name_taken: "A service with that name already exists.",
  name_in_use_unmanaged:
    "Containers SDMD doesn't manage already use that name. Adopt them from the services list, or choose another name.",
  already_managed: "This service is already managed by SDMD.",
  adopt_would_lose_settings:
    "Its containers have settings SDMD can't express yet. Review them, then adopt anyway or leave the service as it is.",
  unmanaged_service: "SDMD doesn't manage this service yet. Adopt it first.",
  docker_conflict: "Docker refused: a port or container name is already in use.",
  dependency_not_ready: "A dependency didn't become ready in time.",
  validation_failed: "The definition has problems. Fix the highlighted fields.",
  malformed_body: "That isn't valid YAML or JSON.",
  docker_not_found: "Docker doesn't know that object (for example, the image doesn't exist).",
  docker_error: "Docker reported an error.",
  rate_limited: "Too many attempts. Wait a moment and try again.",
  not_admitted:
    "Your account is not an administrator of this SDMD server. Ask an administrator to add it to SDMD_SUPABASE_ADMINS.",
  invalid_setup_code:
    "That is not the setup code. Copy it from sdmd's log (it looks like ABCD-EFGH-JKMN-PQRS).",
  setup_code_expired:
    "The setup code has expired or was used. Restart sdmd and use the new code from its log.",
  setup_complete: "An administrator exists already. Sign in instead.",
  internal: "Something went wrong on the server. The server log has the details.",
  plugin_not_found: "This plugin doesn't exist (any more).",
  plugin_in_use: "Services still use this plugin. Remove it from them first.",
  not_granted: "Grant every capability the plugin asks for before enabling it.",
  unsupported_media_type: "That file type isn't accepted here.",
  unexpected_response: "The server answered in a way this dashboard doesn't understand.",
  template_not_found: "This template doesn't exist (any more). Reload the catalog.",
};

/** An API failure, ready for the screen (`friendly`) and for code that branches (`code`). */
export class ApiError extends Error {
  readonly code: string;
  readonly status: number;
  readonly details: unknown;

  constructor(status: number, code: string, message: string, details?: unknown) {
    super(message);
    this.name = "ApiError";
    this.status = status;
    this.code = code;
    this.details = details;
  }

  /** Worth retrying later: 503s, 429 and network failures. */
  get transient(): boolean {
    return this.status === 503 || this.status === 429 || TRANSIENT_CODES.has(this.code);
  }

  /** What to show a person. */
  get friendly(): string {
    if (this.code === "name_in_use_unmanaged") {
      // Say what holds the name; `details.kind` is `compose` or `standalone`.
      const kind = (this.details as { kind?: unknown } | undefined)?.kind;
      if (kind === "compose" || kind === "standalone")
        return `${kind === "compose" ? "A compose project" : "A container"} that SDMD doesn't manage already uses that name. Adopt it from the services list, or choose another name.`;
    }
    return FRIENDLY[this.code] ?? this.message;
  }

  /** The settings an adopt would lose (`adopt_would_lose_settings`), else an empty list. */
  get lostSettings(): t.LostSetting[] {
    if (this.code !== "adopt_would_lose_settings") return [];
    return listOf<t.LostSetting>(this.details, "LostSetting");
  }

  /** Field problems of a `validation_failed`, else an empty list. */
  get problems(): t.Problem[] {
    if (this.code !== "validation_failed") return [];
    return listOf<t.Problem>(this.details, "Problem");
  }
}

/** `details` as a list of the named schema's items when it is one, else an empty list. */
function listOf<T>(details: unknown, schema: string): T[] {
  const item = componentSchema(schema);
  if (!Array.isArray(details) || !item) return [];
  return check(details, { type: "array", items: item }) === null ? (details as T[]) : [];
}

/** Wraps anything thrown into an ApiError (for components that render errors). */
export function toApiError(e: unknown): ApiError {
  if (e instanceof ApiError) return e;
  return new ApiError(0, "internal", e instanceof Error ? e.message : String(e));
}

type TokenProvider = () => Promise<string | null>;

const settings: {
  base: string;
  getToken: TokenProvider;
  onUnauthorized: () => void;
  sleep: (ms: number) => Promise<void>;
} = {
  base: "",
  getToken: async () => null,
  onUnauthorized: () => {},
  sleep: (ms) => new Promise((r) => setTimeout(r, ms)),
};

/** Wires the client to the session (token source) and to sign-out on 401. */
export function configureApi(opts: Partial<typeof settings>) {
  Object.assign(settings, opts);
}

/** The access token the client would send now (for streams opened elsewhere). */
export function currentToken(): Promise<string | null> {
  return settings.getToken();
}

/** Backoff before retry `attempt` (0-based): 400 ms, 800 ms, 1.6 s … capped at 8 s, ±20 % jitter. */
export function backoff(attempt: number, random: () => number = Math.random): number {
  const base = Math.min(8000, 400 * 2 ** attempt);
  return Math.round(base * (0.8 + 0.4 * random()));
}

function logFailure(method: string, path: string, err: ApiError) {
  // Technical details belong in the console, never on the screen.
  console.error(
    `[sdmd api] ${method} ${path} → ${err.status} ${err.code}: ${err.message}`,
    err.details ?? "",
  );
}

/**
 * What openapi-fetch builds for a call, kept as given instead of a `Request`: a relative URL (a
 * `Request` needs an absolute one) and the body as the caller made it (a `FormData` keeps its
 * parts, and the browser sets the multipart boundary).
 */
class Outgoing {
  readonly url: string;
  readonly method: string;
  readonly headers: Headers;
  readonly body: BodyInit | null | undefined;
  readonly signal: AbortSignal | null | undefined;
  constructor(url: string, init: RequestInit = {}) {
    this.url = url;
    this.method = init.method ?? "GET";
    this.headers = new Headers(init.headers);
    this.body = init.body;
    this.signal = init.signal;
  }
}

/** `content-type` → `Content-Type` (header names are case-insensitive; logs read better). */
const canonical = (name: string) => name.replace(/(^|-)([a-z])/g, (_, d, c) => d + c.toUpperCase());

/** The one place a request leaves the dashboard: adds the bearer token, maps network failures. */
async function transport(req: Outgoing): Promise<Response> {
  const headers: Record<string, string> = {};
  req.headers.forEach((v, k) => {
    headers[canonical(k)] = v;
  });
  const token = await settings.getToken();
  if (token) headers.Authorization = `Bearer ${token}`;
  try {
    return await fetch(settings.base + req.url, {
      method: req.method,
      headers,
      body: req.body ?? undefined,
      signal: req.signal ?? undefined,
    });
  } catch (e) {
    if (req.signal?.aborted) throw e;
    throw new ApiError(0, "network_error", "The server could not be reached.", String(e));
  }
}

/** Defined, non-empty values only; `a=1&e=x+y`. */
function serializeQuery(params: Record<string, unknown>): string {
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) {
    if (v !== undefined && v !== null && v !== "") q.set(k, String(v));
  }
  return q.toString();
}

const client = createClient<paths>({
  baseUrl: "",
  Request: Outgoing as unknown as typeof Request,
  fetch: transport as unknown as typeof fetch,
  headers: { Accept: "application/json" },
  querySerializer: serializeQuery,
  pathSerializer: (path, params) =>
    path.replace(/\{([^}]+)\}/g, (m, k: string) =>
      params[k] === undefined ? m : encodeURIComponent(String(params[k])),
    ),
  // Objects as JSON; YAML, text, files and multipart as given (their Content-Type per call).
  bodySerializer: (body: unknown) =>
    typeof body === "string" || body instanceof Blob || body instanceof FormData
      ? body
      : JSON.stringify(body),
});

/** Builds `?a=b&c=d` from the defined, non-empty values. */
export function query(
  params: Record<string, string | number | boolean | null | undefined>,
): string {
  const t = serializeQuery(params);
  return t ? `?${t}` : "";
}

type Method = "GET" | "PUT" | "POST" | "PATCH" | "DELETE";
type Answer = { data?: unknown; error?: unknown; response: Response };
/** The success body of an openapi-fetch answer (`null` for 204 / an empty body). */
type DataOf<R> = R extends { data: infer D }
  ? undefined extends D
    ? Exclude<D, undefined> | null
    : D
  : never;

interface CallOptions {
  /** Automatic retries of transient failures (default: 3 for GET, 0 otherwise). */
  retries?: number;
  signal?: AbortSignal;
  /** A text answer (no JSON, no schema check). */
  text?: boolean;
  /** Applied to the JSON answer before its schema check (defaults older servers omit). */
  prepare?: (data: never) => unknown;
}

function failure(res: Response, body: unknown): ApiError {
  if (body && typeof body === "object") {
    const b = body as { code?: unknown; message?: unknown; details?: unknown };
    if (typeof b.code === "string" && typeof b.message === "string")
      return new ApiError(res.status, b.code, b.message, b.details);
  }
  const code =
    res.status === 503
      ? "docker_unavailable"
      : res.status === 401
        ? "unauthorized"
        : `http_${res.status}`;
  // A proxy's HTML error page, for instance.
  const raw = typeof body === "string" ? body.slice(0, 500) : undefined;
  return new ApiError(
    res.status,
    code,
    `The server answered ${res.status} ${res.statusText}.`,
    raw,
  );
}

/**
 * One API call through openapi-fetch (`send`, typed by the document's `paths`): retries
 * transient failures of reads, turns error answers into ApiError, checks the JSON answer against
 * the schema the document declares for `method path`.
 */
async function call<R extends Answer>(
  method: Method,
  path: keyof paths & string,
  send: () => Promise<R>,
  o: CallOptions = {},
): Promise<DataOf<R>> {
  const retries = o.retries ?? (method === "GET" ? 3 : 0);
  for (let attempt = 0; ; attempt++) {
    try {
      let r: R;
      try {
        r = await send();
      } catch (e) {
        if (e instanceof ApiError || o.signal?.aborted) throw e;
        if (e instanceof SyntaxError)
          throw new ApiError(0, "unexpected_response", "The response is not JSON.", String(e));
        throw new ApiError(0, "network_error", "The server could not be reached.", String(e));
      }
      if (!r.response.ok) throw failure(r.response, r.error);
      const raw = r.data === undefined ? null : r.data;
      const data = raw !== null && o.prepare ? o.prepare(raw as never) : raw;
      if (!o.text && data !== null) {
        const schema = responseSchema(method, path, r.response.status);
        const issue = schema && check(data, schema);
        if (issue)
          throw new ApiError(
            r.response.status,
            "unexpected_response",
            "The response did not match the expected shape.",
            issue,
          );
      }
      return data as DataOf<R>;
    } catch (e) {
      if (!(e instanceof ApiError)) throw e;
      if (e.transient && attempt < retries && !o.signal?.aborted) {
        await settings.sleep(backoff(attempt));
        continue;
      }
      logFailure(method, path, e);
      if (e.status === 401) settings.onUnauthorized();
      throw e;
    }
  }
}

/** A project to send as multipart: the document, its name when the document has none, files. */
export interface ProjectUpload {
  compose: string | Blob;
  name?: string;
  /** Path in the project → content. */
  files: Iterable<[string, string | Blob]>;
}

/** The multipart body of a project: a part `compose`, maybe `name`, one part per file path. */
export function projectForm(p: ProjectUpload): FormData {
  const f = new FormData();
  f.append(
    "compose",
    typeof p.compose === "string" ? new Blob([p.compose]) : p.compose,
    "compose.yaml",
  );
  if (p.name) f.append("name", p.name);
  for (const [path, content] of p.files) {
    f.append(path, typeof content === "string" ? new Blob([content]) : content, path);
  }
  return f;
}

/** Lifecycle actions on `/api/v1/services/{name}/{action}`. */
export type ServiceAction = "deploy" | "start" | "stop" | "restart" | "pull" | "update" | "check";

/** What each action answers. */
export interface ActionAnswers {
  deploy: t.ActionReport;
  start: t.ActionReport;
  stop: t.ActionReport;
  restart: t.ActionReport;
  pull: t.PullReport;
  update: t.UpdateReport;
  check: t.CheckReport;
}

export interface AuditQuery {
  limit?: number;
  before?: number | null;
  actor?: string;
  action?: string;
  target?: string;
  since?: string;
  until?: string;
}

/**
 * A definition as JSON, or a compose document as YAML (`application/yaml`). The document
 * declares the JSON body; YAML is the same definition in another media type.
 */
function definitionBody(body: t.Definition | string) {
  return typeof body === "string"
    ? { body: body as unknown as t.Definition, headers: { "Content-Type": "application/yaml" } }
    : { body };
}

/** A multipart project where the route's body is declared as a definition. */
const multipart = (p: ProjectUpload) => ({ body: projectForm(p) as unknown as t.Definition });

/**
 * A plugin's stored JSON as the pages read it: a stored manifest that isn't one is `null`, and
 * grants without a list or an allow-list (a fresh upload's are `{}`) have empty ones.
 */
export function normalizePlugin<P extends { manifest?: unknown; grants?: unknown }>(p: P): P {
  if (!p || typeof p !== "object") return p;
  const m = p.manifest as Partial<t.Manifest> | null | undefined;
  const g = (p.grants ?? {}) as Partial<t.Grants>;
  const list = (v: unknown) => (Array.isArray(v) ? (v as string[]) : []);
  const manifest =
    m && typeof m === "object" && typeof m.id === "string" && typeof m.name === "string"
      ? {
          ...m,
          kinds: list(m.kinds),
          capabilities: list(m.capabilities),
          description: typeof m.description === "string" ? m.description : "",
        }
      : null;
  return {
    ...p,
    manifest,
    grants: { ...g, capabilities: list(g.capabilities), http: { allow: list(g.http?.allow) } },
  };
}

const plugin: CallOptions = { prepare: (p: t.PluginView) => normalizePlugin(p) };

/** Options of calls that answer a `ServiceView`. */
const service: CallOptions = { prepare: (v: t.ServiceView) => normalizeService(v) };

const name$ = (name: string) => ({ params: { path: { name } } });

export const api = {
  healthz: () => call("GET", "/healthz", () => client.GET("/healthz")),
  /** Public: whether the first administrator still has to be created. */
  setupStatus: () => call("GET", "/api/v1/setup", () => client.GET("/api/v1/setup")),
  /** Public: creates the first administrator with the setup code; answers a session. */
  completeSetup: (body: { code: string; email: string; password: string }) =>
    call("POST", "/api/v1/setup", () => client.POST("/api/v1/setup", { body })),
  listServices: (signal?: AbortSignal) =>
    call("GET", "/api/v1/services", () => client.GET("/api/v1/services", { signal }), {
      signal,
      prepare: (l: t.ServiceList) =>
        Array.isArray(l?.services) ? { ...l, services: l.services.map(normalizeService) } : l,
    }),
  getService: (name: string, signal?: AbortSignal) =>
    call(
      "GET",
      "/api/v1/services/{name}",
      () => client.GET("/api/v1/services/{name}", { ...name$(name), signal }),
      { signal, ...service },
    ),
  /** Create from a definition object or a compose YAML document. */
  createService: (body: t.Definition | string) =>
    call(
      "POST",
      "/api/v1/services",
      () => client.POST("/api/v1/services", definitionBody(body)),
      service,
    ),
  replaceService: (name: string, body: t.Definition | string) =>
    call(
      "PUT",
      "/api/v1/services/{name}",
      () => client.PUT("/api/v1/services/{name}", { ...definitionBody(body), ...name$(name) }),
      service,
    ),
  deleteService: (name: string, volumes: boolean) =>
    call("DELETE", "/api/v1/services/{name}", () =>
      client.DELETE("/api/v1/services/{name}", {
        params: { path: { name }, query: { volumes: volumes || undefined } },
      }),
    ),
  action: <A extends ServiceAction>(name: string, action: A): Promise<ActionAnswers[A]> => {
    const path = `/api/v1/services/{name}/${action}` as const;
    return call("POST", path, () =>
      client.POST(path as "/api/v1/services/{name}/deploy", name$(name)),
    ) as Promise<ActionAnswers[A]>;
  },
  /** The last lines per container (JSON; following is `lib/sse`'s, not this). */
  logs: (name: string, tail = 100) =>
    call("GET", "/api/v1/services/{name}/logs", () =>
      client.GET("/api/v1/services/{name}/logs", {
        params: { path: { name }, query: { tail } },
      }),
    ) as Promise<t.LogsResponse>,
  /** The compose document as written (`${VAR}` text kept), or the effective one (`resolved`). */
  compose: (name: string, resolved = false, signal?: AbortSignal) =>
    call(
      "GET",
      "/api/v1/services/{name}/compose",
      () =>
        client.GET("/api/v1/services/{name}/compose", {
          params: { path: { name }, query: { resolved: resolved || undefined } },
          headers: { Accept: "*/*" },
          parseAs: "text",
          signal,
        }),
      { text: true, signal },
    ) as Promise<string>,
  /** Create from a project: `compose` + `name` (optional) + one part per file, by its path. */
  createProject: (p: ProjectUpload) =>
    call("POST", "/api/v1/services", () => client.POST("/api/v1/services", multipart(p)), service),
  replaceProject: (name: string, p: ProjectUpload) =>
    call(
      "PUT",
      "/api/v1/services/{name}",
      () => client.PUT("/api/v1/services/{name}", { ...multipart(p), ...name$(name) }),
      service,
    ),
  listFiles: (name: string, signal?: AbortSignal) =>
    call(
      "GET",
      "/api/v1/services/{name}/files",
      () => client.GET("/api/v1/services/{name}/files", { ...name$(name), signal }),
      { signal },
    ),
  /** One project file; `reveal` shows a sealed one in clear (the server audits it). */
  getFile: (name: string, path: string, reveal = false) =>
    call("GET", "/api/v1/services/{name}/files/{path}", () =>
      client.GET("/api/v1/services/{name}/files/{path}", {
        params: { path: { name, path }, query: { reveal: reveal || undefined } },
      }),
    ),
  /** Replaces or adds one file: a new revision. */
  putFile: (name: string, path: string, content: string) =>
    call(
      "PUT",
      "/api/v1/services/{name}/files/{path}",
      () =>
        client.PUT("/api/v1/services/{name}/files/{path}", {
          params: { path: { name, path } },
          body: content,
          headers: { "Content-Type": "text/plain" },
        }),
      service,
    ),
  /** Adopts; with `acceptLoss`, even when settings would be lost (the answer's `dropped`). */
  adopt: (name: string, acceptLoss = false) =>
    call(
      "POST",
      "/api/v1/services/{name}/adopt",
      () =>
        client.POST("/api/v1/services/{name}/adopt", {
          params: { path: { name }, query: { accept_loss: acceptLoss || undefined } },
        }),
      service,
    ),
  revisions: (name: string) =>
    call("GET", "/api/v1/services/{name}/revisions", () =>
      client.GET("/api/v1/services/{name}/revisions", name$(name)),
    ),
  audit: (q: AuditQuery = {}, signal?: AbortSignal) =>
    call(
      "GET",
      "/api/v1/audit",
      () => client.GET("/api/v1/audit", { params: { query: { ...q } }, signal }),
      { signal },
    ),
  /** The CSV export link (a download needs the bearer token, see `downloadAuthed`). */
  auditCsvPath: (q: AuditQuery = {}) =>
    `/api/v1/audit.csv${query({ ...q, limit: undefined, before: undefined })}`,
  getSchedule: (name: string) =>
    call("GET", "/api/v1/services/{name}/schedule", () =>
      client.GET("/api/v1/services/{name}/schedule", name$(name)),
    ) as Promise<t.Schedule>,
  putSchedule: (name: string, sc: t.Schedule) =>
    call("PUT", "/api/v1/services/{name}/schedule", () =>
      client.PUT("/api/v1/services/{name}/schedule", {
        ...name$(name),
        body: { ...sc, next_run: undefined } as never,
      }),
    ) as Promise<t.Schedule>,
  updateHistory: (name: string, limit = 100) =>
    call("GET", "/api/v1/services/{name}/updates", () =>
      client.GET("/api/v1/services/{name}/updates", {
        params: { path: { name }, query: { limit } },
      }),
    ),
  listPlugins: () =>
    call("GET", "/api/v1/plugins", () => client.GET("/api/v1/plugins"), {
      prepare: (l: t.PluginList) =>
        Array.isArray(l?.plugins) ? { ...l, plugins: l.plugins.map(normalizePlugin) } : l,
    }) as unknown as Promise<t.PluginList>,
  getPlugin: (id: string) =>
    call(
      "GET",
      "/api/v1/plugins/{id}",
      () => client.GET("/api/v1/plugins/{id}", { params: { path: { id } } }),
      plugin,
    ) as unknown as Promise<t.PluginDetail>,
  uploadPlugin: (file: Blob) =>
    call(
      "POST",
      "/api/v1/plugins",
      () =>
        client.POST("/api/v1/plugins", {
          body: file as unknown as number[],
          headers: { "Content-Type": "application/wasm" },
        }),
      plugin,
    ) as unknown as Promise<t.PluginView>,
  patchPlugin: (id: string, patch: t.PluginPatch) =>
    call(
      "PATCH",
      "/api/v1/plugins/{id}",
      () => client.PATCH("/api/v1/plugins/{id}", { params: { path: { id } }, body: patch }),
      plugin,
    ) as unknown as Promise<t.PluginView>,
  deletePlugin: (id: string) =>
    call("DELETE", "/api/v1/plugins/{id}", () =>
      client.DELETE("/api/v1/plugins/{id}", { params: { path: { id } } }),
    ),
  invokePlugin: (id: string, input: unknown) =>
    call("POST", "/api/v1/plugins/{id}/invoke", () =>
      client.POST("/api/v1/plugins/{id}/invoke", {
        params: { path: { id } },
        body: { input: input as Record<string, unknown> },
      }),
    ),
  getServicePlugins: (name: string) =>
    call("GET", "/api/v1/services/{name}/plugins", () =>
      client.GET("/api/v1/services/{name}/plugins", name$(name)),
    ),
  putServicePlugins: (name: string, b: t.ServicePlugins) =>
    call("PUT", "/api/v1/services/{name}/plugins", () =>
      client.PUT("/api/v1/services/{name}/plugins", { ...name$(name), body: b }),
    ),
  getGlobalNotifiers: () => call("GET", "/api/v1/notifiers", () => client.GET("/api/v1/notifiers")),
  putGlobalNotifiers: (notifiers: string[]) =>
    call("PUT", "/api/v1/notifiers", () =>
      client.PUT("/api/v1/notifiers", { body: { notifiers } }),
    ),
  listTokens: () => call("GET", "/api/v1/tokens", () => client.GET("/api/v1/tokens")),
  createToken: (name: string, expiresAt?: string) =>
    call("POST", "/api/v1/tokens", () =>
      client.POST("/api/v1/tokens", { body: { name, expires_at: expiresAt ?? null } }),
    ),
  revokeToken: (id: string) =>
    call("DELETE", "/api/v1/tokens/{id}", () =>
      client.DELETE("/api/v1/tokens/{id}", { params: { path: { id } } }),
    ),
  listVariables: () => call("GET", "/api/v1/variables", () => client.GET("/api/v1/variables")),
  /** Replaces the stored variables with `variables` (a stored secret as `{secret: true}` keeps). */
  putVariables: (variables: t.VariablesBody["variables"]) =>
    call("PUT", "/api/v1/variables", () =>
      client.PUT("/api/v1/variables", { body: { variables } }),
    ),
  listTemplates: (signal?: AbortSignal) =>
    call("GET", "/api/v1/templates", () => client.GET("/api/v1/templates", { signal }), {
      signal,
    }),
  getTemplateSources: () =>
    call("GET", "/api/v1/templates/sources", () => client.GET("/api/v1/templates/sources")),
  putTemplateSources: (sources: string[]) =>
    call("PUT", "/api/v1/templates/sources", () =>
      client.PUT("/api/v1/templates/sources", { body: { sources } }),
    ),
  /** Uploads a catalog file (Portainer v2, CasaOS, Yacht) as it is. */
  putTemplateFile: (name: string, content: string) =>
    call("PUT", "/api/v1/templates/files/{name}", () =>
      client.PUT("/api/v1/templates/files/{name}", {
        params: { path: { name } },
        body: content,
        headers: {
          "Content-Type": /\.ya?ml$/i.test(name) ? "application/yaml" : "application/json",
        },
      }),
    ),
  deleteTemplateFile: (name: string) =>
    call("DELETE", "/api/v1/templates/files/{name}", () =>
      client.DELETE("/api/v1/templates/files/{name}", { params: { path: { name } } }),
    ),
  /** A new service's definition from a template; with `create`, the service is stored too. */
  instantiateTemplate: (id: string, body: t.InstantiateBody, create = false) =>
    call(
      "POST",
      "/api/v1/templates/{id}/instantiate",
      () =>
        client.POST("/api/v1/templates/{id}/instantiate", {
          params: { path: { id }, query: { create: create || undefined } },
          body,
        }),
      {
        prepare: (v: t.InstantiatedView) =>
          v?.service ? { ...v, service: normalizeService(v.service) } : v,
      },
    ),
  /** The sub-folders of `path` for the mount picker; without `path`, the data root and shared roots. */
  listDirs: (path?: string, signal?: AbortSignal) =>
    call(
      "GET",
      "/api/v1/fs/dirs",
      () => client.GET("/api/v1/fs/dirs", { params: { query: { path } }, signal }),
      { signal },
    ),
  /** Each member's effective environment with where every value comes from. */
  serviceEnvironment: (name: string, signal?: AbortSignal) =>
    call(
      "GET",
      "/api/v1/services/{name}/environment",
      () => client.GET("/api/v1/services/{name}/environment", { ...name$(name), signal }),
      { signal },
    ),
  listRegistries: () => call("GET", "/api/v1/registries", () => client.GET("/api/v1/registries")),
  putRegistry: (host: string, username: string, password: string) =>
    call("PUT", "/api/v1/registries/{host}", () =>
      client.PUT("/api/v1/registries/{host}", {
        params: { path: { host } },
        body: { username, password },
      }),
    ),
  deleteRegistry: (host: string) =>
    call("DELETE", "/api/v1/registries/{host}", () =>
      client.DELETE("/api/v1/registries/{host}", { params: { path: { host } } }),
    ),
  /** Each mount of a managed service with host path, owner, mode and cached size. */
  serviceMounts: (name: string, signal?: AbortSignal) =>
    call(
      "GET",
      "/api/v1/services/{name}/mounts",
      () => client.GET("/api/v1/services/{name}/mounts", { ...name$(name), signal }),
      { signal },
    ),
  /** The host and every running container now (the sampler's latest round, from memory). */
  hostStats: (signal?: AbortSignal) =>
    call("GET", "/api/v1/stats", () => client.GET("/api/v1/stats", { signal }), {
      signal,
      retries: 0,
    }),
  /** Resource samples of a service's containers over `from`–`to` (RFC 3339). */
  serviceStats: (
    name: string,
    range: { from?: string; to?: string; step?: number },
    signal?: AbortSignal,
  ) =>
    call(
      "GET",
      "/api/v1/services/{name}/stats",
      () =>
        client.GET("/api/v1/services/{name}/stats", {
          params: { path: { name }, query: range },
          signal,
        }),
      { signal },
    ),
  /** State and health transitions over `from`–`to`, uptime figures and the last failure. */
  serviceHistory: (name: string, range: { from?: string; to?: string }, signal?: AbortSignal) =>
    call(
      "GET",
      "/api/v1/services/{name}/history",
      () =>
        client.GET("/api/v1/services/{name}/history", {
          params: { path: { name }, query: range },
          signal,
        }),
      { signal },
    ),
  /** The data root and the shared roots (`${MEDIA}`…), each with whether it exists. */
  getRoots: () => call("GET", "/api/v1/settings/roots", () => client.GET("/api/v1/settings/roots")),
  /** Replaces the shared roots with `roots` (name → absolute path). */
  putRoots: (roots: Record<string, string>) =>
    call("PUT", "/api/v1/settings/roots", () =>
      client.PUT("/api/v1/settings/roots", { body: { roots } }),
    ),
  /**
   * The owner changes that give a service's bind sources to the user its members run as: a
   * dry run, or (`apply`) made and audited.
   */
  fixPermissions: (name: string, apply = false, signal?: AbortSignal) =>
    call(
      "POST",
      "/api/v1/services/{name}/permissions",
      () =>
        client.POST("/api/v1/services/{name}/permissions", {
          params: { path: { name }, query: { apply: apply || undefined } },
          signal,
        }),
      { signal },
    ),
};

/**
 * Fills in what older servers leave out: the service's address (`id`, else its name) and the
 * container counts. The answer is checked against `ServiceView` after this.
 */
export function normalizeService<S extends Partial<t.ServiceView>>(v: S): S & t.ServiceView {
  // Only fills in: anything malformed is left for the schema check to report.
  if (!v || typeof v !== "object" || !Array.isArray(v.containers)) return v as S & t.ServiceView;
  const containers = v.containers;
  return {
    ...v,
    id: v.id ?? v.name,
    containers_total: v.containers_total ?? containers.length,
    containers_running:
      v.containers_running ?? containers.filter((c) => c?.state === "running").length,
  } as S & t.ServiceView;
}

/** A service as the API answers it, checked against the document's `ServiceView` (fixtures). */
export function parseServiceView(raw: unknown): t.ServiceView {
  const v = normalizeService(raw as t.ServiceView);
  const schema = componentSchema("ServiceView");
  const issue = schema && check(v, schema);
  if (issue)
    throw new ApiError(
      0,
      "unexpected_response",
      `ServiceView${issue.path} ${issue.message}`,
      issue,
    );
  return v;
}

/**
 * Downloads a protected resource as a file: a plain link can't carry the bearer token, so fetch
 * it and hand the browser a blob URL.
 */
export async function downloadAuthed(path: string, filename: string): Promise<void> {
  const [route, search] = path.split("?", 2) as [string, string | undefined];
  const text = (await call(
    "GET",
    route as keyof paths & string,
    () =>
      client.request("get", route as "/api/v1/audit.csv", {
        querySerializer: () => search ?? "",
        headers: { Accept: "*/*" },
        parseAs: "text",
      }),
    { text: true },
  )) as unknown as string;
  const url = URL.createObjectURL(new Blob([text], { type: "text/plain" }));
  const a = document.createElement("a");
  a.href = url;
  a.download = filename;
  document.body.appendChild(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 1000);
}

/**
 * Stores a new revision of `name`'s document and keeps its project files: a plain YAML `PUT`
 * (no multipart, no `files`) leaves the service's files as they are on the server, so nothing
 * sealed needs to be revealed to save a definition.
 */
export async function replaceKeepingFiles(name: string, yaml: string): Promise<t.ServiceView> {
  return api.replaceService(name, yaml);
}

/** `raw` when it fits the schema, else null (streams and files outside the `paths`). */
function fitting<T>(raw: unknown, schema: Parameters<typeof check>[1] | null): T | null {
  return schema && check(raw, schema) === null ? (raw as T) : null;
}

/** One line of a followed log stream, or null when it isn't one. */
export function parseFollowLine(raw: unknown): t.FollowLine | null {
  const line = componentSchema("LogLine");
  return fitting<t.FollowLine>(
    raw,
    line && {
      allOf: [
        line,
        { type: "object", required: ["container"], properties: { container: { type: "string" } } },
      ],
    },
  );
}

/** One `/api/v1/events` payload, or null when it isn't an event this dashboard knows. */
export function parseServerEvent(raw: unknown): t.ServerEvent | null {
  const lagged = {
    type: "object",
    required: ["type", "missed"],
    properties: { type: { const: "lagged" }, missed: { type: "integer" } },
  };
  const event = componentSchema("Event");
  return fitting<t.ServerEvent>(raw, { anyOf: event ? [event, lagged] : [lagged] });
}

/** `/config.json` (the runtime configuration), or null when it isn't one. */
export function parseRuntimeConfig(
  raw: unknown,
): (t.RuntimeConfig & { auth_mode: "builtin" | "supabase" }) | null {
  const c = fitting<t.RuntimeConfig>(raw, componentSchema("RuntimeConfig"));
  return c && (c.auth_mode === "builtin" || c.auth_mode === "supabase")
    ? (c as t.RuntimeConfig & { auth_mode: "builtin" | "supabase" })
    : null;
}
