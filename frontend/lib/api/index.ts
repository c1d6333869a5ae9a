/**
 * The typed client of SDMD's v1 API. Every response is parsed by a zod schema; every failure
 * becomes an {@link ApiError} with the server's `{code, message, details}`, a friendly message
 * for the screen, and its technical `details` logged to the console only. Reads retry transient
 * failures (503, network) with exponential backoff; mutations never retry on their own — the UI
 * offers a Retry button instead, because a lost response may hide a completed action.
 */
import "./zod-config";

import { z } from "zod";

import * as pl from "./plugin-schemas";
import * as s from "./schemas";

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
  get lostSettings(): s.LostSetting[] {
    if (this.code !== "adopt_would_lose_settings") return [];
    const p = s.lostSettings.safeParse(this.details);
    return p.success ? p.data : [];
  }

  /** Field problems of a `validation_failed`, else an empty list. */
  get problems(): s.Problem[] {
    if (this.code !== "validation_failed") return [];
    const p = s.problems.safeParse(this.details);
    return p.success ? p.data : [];
  }
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

export interface RequestOptions {
  method?: "GET" | "POST" | "PUT" | "PATCH" | "DELETE";
  /** A JSON body. */
  json?: unknown;
  /** A YAML body (sent as `application/yaml`). */
  yaml?: string;
  /** A binary or text body with its content type. */
  raw?: { body: Blob | string; type: string };
  /** A `multipart/form-data` body (the browser sets the boundary). */
  form?: FormData;
  /** Automatic retries of transient failures (default: 3 for GET, 0 otherwise). */
  retries?: number;
  signal?: AbortSignal;
  /** Accept a text body instead of JSON. */
  text?: boolean;
}

function logFailure(method: string, path: string, err: ApiError) {
  // Technical details belong in the console, never on the screen.
  console.error(
    `[sdmd api] ${method} ${path} → ${err.status} ${err.code}: ${err.message}`,
    err.details ?? "",
  );
}

async function once(path: string, o: RequestOptions): Promise<{ status: number; body: unknown }> {
  const method = o.method ?? "GET";
  const headers: Record<string, string> = { Accept: o.text ? "*/*" : "application/json" };
  let body: string | Blob | FormData | undefined;
  if (o.form !== undefined) {
    body = o.form;
  } else if (o.raw !== undefined) {
    headers["Content-Type"] = o.raw.type;
    body = o.raw.body;
  } else if (o.yaml !== undefined) {
    headers["Content-Type"] = "application/yaml";
    body = o.yaml;
  } else if (o.json !== undefined) {
    headers["Content-Type"] = "application/json";
    body = JSON.stringify(o.json);
  }
  const token = await settings.getToken();
  if (token) headers.Authorization = `Bearer ${token}`;

  let res: Response;
  try {
    res = await fetch(settings.base + path, { method, headers, body, signal: o.signal });
  } catch (e) {
    if (o.signal?.aborted) throw e;
    throw new ApiError(0, "network_error", "The server could not be reached.", String(e));
  }
  const raw = await res.text();
  if (res.ok) {
    if (o.text) return { status: res.status, body: raw };
    if (raw === "") return { status: res.status, body: null };
    try {
      return { status: res.status, body: JSON.parse(raw) };
    } catch {
      throw new ApiError(
        res.status,
        "unexpected_response",
        "The response is not JSON.",
        raw.slice(0, 500),
      );
    }
  }
  let parsed: unknown = null;
  try {
    parsed = JSON.parse(raw);
  } catch {
    // A proxy's HTML error page, for instance.
  }
  const eb = s.errorBody.safeParse(parsed);
  if (eb.success) throw new ApiError(res.status, eb.data.code, eb.data.message, eb.data.details);
  const code =
    res.status === 503
      ? "docker_unavailable"
      : res.status === 401
        ? "unauthorized"
        : `http_${res.status}`;
  throw new ApiError(
    res.status,
    code,
    `The server answered ${res.status} ${res.statusText}.`,
    raw.slice(0, 500),
  );
}

/** One API call: retries transient failures of reads, parses the body with `schema`. */
export async function request<T extends z.ZodType>(
  path: string,
  schema: T,
  o: RequestOptions = {},
): Promise<z.infer<T>> {
  const method = o.method ?? "GET";
  const retries = o.retries ?? (method === "GET" ? 3 : 0);
  for (let attempt = 0; ; attempt++) {
    try {
      const { status, body } = await once(path, o);
      const parsed = schema.safeParse(body);
      if (!parsed.success) {
        throw new ApiError(
          status,
          "unexpected_response",
          "The response did not match the expected shape.",
          parsed.error.issues,
        );
      }
      return parsed.data;
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

const enc = encodeURIComponent;

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
const nothing = z.unknown();

/** Lifecycle actions on `/api/v1/services/{name}/{action}`. */
export type ServiceAction = "deploy" | "start" | "stop" | "restart" | "pull" | "update" | "check";

const actionSchemas = {
  deploy: s.actionReport,
  start: s.actionReport,
  stop: s.actionReport,
  restart: s.actionReport,
  pull: s.pullReport,
  update: s.updateReport,
  check: s.checkReport,
} as const;

export interface AuditQuery {
  limit?: number;
  before?: number | null;
  actor?: string;
  action?: string;
  target?: string;
  since?: string;
  until?: string;
}

/** Builds `?a=b&c=d` from the defined, non-empty values. */
export function query(
  params: Record<string, string | number | boolean | null | undefined>,
): string {
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) {
    if (v !== undefined && v !== null && v !== "") q.set(k, String(v));
  }
  const t = q.toString();
  return t ? `?${t}` : "";
}

export const api = {
  healthz: () => request("/healthz", s.healthz),
  /** Public: whether the first administrator still has to be created. */
  setupStatus: () => request("/api/v1/setup", s.setupStatus),
  /** Public: creates the first administrator with the setup code; answers a session. */
  completeSetup: (body: { code: string; email: string; password: string }) =>
    request("/api/v1/setup", s.setupSession, { method: "POST", json: body }),
  listServices: (signal?: AbortSignal) => request("/api/v1/services", s.serviceList, { signal }),
  getService: (name: string, signal?: AbortSignal) =>
    request(`/api/v1/services/${enc(name)}`, s.serviceView, { signal }),
  /** Create from a definition object or a compose YAML document. */
  createService: (body: s.Definition | string) =>
    request("/api/v1/services", s.serviceView, {
      method: "POST",
      ...(typeof body === "string" ? { yaml: body } : { json: body }),
    }),
  replaceService: (name: string, body: s.Definition | string) =>
    request(`/api/v1/services/${enc(name)}`, s.serviceView, {
      method: "PUT",
      ...(typeof body === "string" ? { yaml: body } : { json: body }),
    }),
  deleteService: (name: string, volumes: boolean) =>
    request(
      `/api/v1/services/${enc(name)}${query({ volumes: volumes || undefined })}`,
      s.removeReport,
      {
        method: "DELETE",
      },
    ),
  action: <A extends ServiceAction>(name: string, action: A) =>
    request(`/api/v1/services/${enc(name)}/${action}`, actionSchemas[action], {
      method: "POST",
    }) as Promise<z.infer<(typeof actionSchemas)[A]>>,
  logs: (name: string, tail = 100) =>
    request(`/api/v1/services/${enc(name)}/logs${query({ tail })}`, s.logsResponse),
  /** The compose document as written (`${VAR}` text kept), or the effective one (`resolved`). */
  compose: (name: string, resolved = false, signal?: AbortSignal) =>
    request(
      `/api/v1/services/${enc(name)}/compose${query({ resolved: resolved || undefined })}`,
      z.string(),
      { text: true, signal },
    ),
  /** Create from a project: `compose` + `name` (optional) + one part per file, by its path. */
  createProject: (p: ProjectUpload) =>
    request("/api/v1/services", s.serviceView, { method: "POST", form: projectForm(p) }),
  replaceProject: (name: string, p: ProjectUpload) =>
    request(`/api/v1/services/${enc(name)}`, s.serviceView, {
      method: "PUT",
      form: projectForm(p),
    }),
  listFiles: (name: string, signal?: AbortSignal) =>
    request(`/api/v1/services/${enc(name)}/files`, s.fileList, { signal }),
  /** One project file; `reveal` shows a sealed one in clear (the server audits it). */
  getFile: (name: string, path: string, reveal = false) =>
    request(
      `/api/v1/services/${enc(name)}/files/${enc(path)}${query({ reveal: reveal || undefined })}`,
      s.fileContent,
    ),
  /** Replaces or adds one file: a new revision. */
  putFile: (name: string, path: string, content: string) =>
    request(`/api/v1/services/${enc(name)}/files/${enc(path)}`, s.serviceView, {
      method: "PUT",
      raw: { body: content, type: "text/plain" },
    }),
  /** Adopts; with `acceptLoss`, even when settings would be lost (the answer's `dropped`). */
  adopt: (name: string, acceptLoss = false) =>
    request(
      `/api/v1/services/${enc(name)}/adopt${acceptLoss ? "?accept_loss=true" : ""}`,
      s.serviceView,
      { method: "POST" },
    ),
  revisions: (name: string) => request(`/api/v1/services/${enc(name)}/revisions`, s.revisionList),
  audit: (q: AuditQuery = {}, signal?: AbortSignal) =>
    request(`/api/v1/audit${query({ ...q })}`, s.auditPage, { signal }),
  /** The CSV export link (a download needs the bearer token, see `downloadAuthed`). */
  auditCsvPath: (q: AuditQuery = {}) =>
    `/api/v1/audit.csv${query({ ...q, limit: undefined, before: undefined })}`,
  getSchedule: (name: string) => request(`/api/v1/services/${enc(name)}/schedule`, s.schedule),
  putSchedule: (name: string, sc: s.Schedule) =>
    request(`/api/v1/services/${enc(name)}/schedule`, s.schedule, {
      method: "PUT",
      json: { ...sc, next_run: undefined },
    }),
  updateHistory: (name: string, limit = 100) =>
    request(`/api/v1/services/${enc(name)}/updates${query({ limit })}`, s.updateRuns),
  listPlugins: () => request("/api/v1/plugins", pl.pluginList),
  getPlugin: (id: string) => request(`/api/v1/plugins/${enc(id)}`, pl.pluginDetail),
  uploadPlugin: (file: Blob) =>
    request("/api/v1/plugins", pl.pluginView, {
      method: "POST",
      raw: { body: file, type: "application/wasm" },
    }),
  patchPlugin: (id: string, patch: Record<string, unknown>) =>
    request(`/api/v1/plugins/${enc(id)}`, pl.pluginView, { method: "PATCH", json: patch }),
  deletePlugin: (id: string) =>
    request(`/api/v1/plugins/${enc(id)}`, nothing, { method: "DELETE" }),
  invokePlugin: (id: string, input: unknown) =>
    request(`/api/v1/plugins/${enc(id)}/invoke`, pl.invokeResult, {
      method: "POST",
      json: { input },
    }),
  getServicePlugins: (name: string) =>
    request(`/api/v1/services/${enc(name)}/plugins`, pl.servicePlugins),
  putServicePlugins: (name: string, b: pl.ServicePlugins) =>
    request(`/api/v1/services/${enc(name)}/plugins`, pl.servicePlugins, { method: "PUT", json: b }),
  getGlobalNotifiers: () => request("/api/v1/notifiers", pl.globalNotifiers),
  putGlobalNotifiers: (notifiers: string[]) =>
    request("/api/v1/notifiers", pl.globalNotifiers, { method: "PUT", json: { notifiers } }),
  listTokens: () => request("/api/v1/tokens", s.tokenList),
  createToken: (name: string, expiresAt?: string) =>
    request("/api/v1/tokens", s.createdToken, {
      method: "POST",
      json: { name, expires_at: expiresAt ?? null },
    }),
  revokeToken: (id: string) => request(`/api/v1/tokens/${enc(id)}`, nothing, { method: "DELETE" }),
  listRegistries: () => request("/api/v1/registries", s.registryList),
  putRegistry: (host: string, username: string, password: string) =>
    request(`/api/v1/registries/${enc(host)}`, s.registry, {
      method: "PUT",
      json: { username, password },
    }),
  deleteRegistry: (host: string) =>
    request(`/api/v1/registries/${enc(host)}`, nothing, { method: "DELETE" }),
};

/**
 * Downloads a protected resource as a file: a plain link can't carry the bearer token, so fetch
 * it and hand the browser a blob URL.
 */
export async function downloadAuthed(path: string, filename: string): Promise<void> {
  const text = await request(path, z.string(), { text: true });
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
export async function replaceKeepingFiles(name: string, yaml: string): Promise<s.ServiceView> {
  return api.replaceService(name, yaml);
}
