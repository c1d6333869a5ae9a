/**
 * zod schemas for every API response the dashboard reads; the types come from `z.infer`, so a
 * backend change that breaks the contract fails loudly at the parse, not deep in a component.
 * Shapes follow host/src (ServiceView, ContainerInfo, ActionReport, …) and DESIGN §4.
 */
import "./zod-config";

import { z } from "zod";

export const containerState = z.enum([
  "created",
  "running",
  "paused",
  "restarting",
  "removing",
  "exited",
  "dead",
]);
export const health = z.enum(["none", "starting", "healthy", "unhealthy"]);
export const serviceStatus = z.enum([
  "running",
  "stopped",
  "partial",
  "unhealthy",
  /** A managed service without containers (stored, not deployed yet). */
  "not_deployed",
]);
export const serviceKind = z.enum(["managed", "compose", "standalone"]);

export const publishedPort = z.object({
  host_ip: z.string(),
  host_port: z.number(),
  container_port: z.number(),
  protocol: z.string(),
});

export const containerInfo = z.object({
  id: z.string(),
  name: z.string(),
  image: z.string(),
  image_id: z.string(),
  state: containerState,
  health: health,
  status_text: z.string(),
  labels: z.record(z.string(), z.string()).default({}),
  ports: z.array(publishedPort).default([]),
  created: z.number(),
});

const stringMap = z.record(z.string(), z.string());

export const healthcheck = z.object({
  test: z.array(z.string()).optional(),
  interval: z.string().optional(),
  timeout: z.string().optional(),
  retries: z.number().optional(),
  start_period: z.string().optional(),
  disable: z.boolean().optional(),
});

export const member = z
  .object({
    image: z.string(),
    container_name: z.string().optional(),
    environment: stringMap.optional(),
    volumes: z.array(z.string()).optional(),
    ports: z.array(z.string()).optional(),
    restart: z.string().optional(),
    depends_on: z
      .record(z.string(), z.object({ condition: z.enum(["service_started", "service_healthy"]) }))
      .optional(),
    command: z.array(z.string()).optional(),
    entrypoint: z.array(z.string()).optional(),
    labels: stringMap.optional(),
    healthcheck: healthcheck.optional(),
    networks: z.unknown().optional(),
    init: z.boolean().optional(),
  })
  .loose();

export const definition = z
  .object({
    name: z.string(),
    services: z.record(z.string(), member),
    volumes: z
      .record(z.string(), z.object({ driver: z.string().optional() }).loose().nullable())
      .optional(),
  })
  .loose();

/** A service's update schedule (`GET/PUT /api/v1/services/{name}/schedule`). */
export const schedule = z.object({
  enabled: z.boolean(),
  frequency: z.enum(["daily", "weekly"]),
  weekday: z.string().nullable().optional(),
  time: z.string(),
  timezone: z.string(),
  mode: z.enum(["update", "check"]),
  jitter_seconds: z.number().optional(),
  next_run: z.string().nullable().optional(),
});

/**
 * A validation problem from a 422 `validation_failed` (`details`), or a warning of a stored
 * document (`ServiceView.warnings`): `field` is a document path (`services.web.ports[1]`,
 * `files..env`), empty for the whole document.
 */
export const problem = z.object({ field: z.string(), message: z.string() });
export const problems = z.array(problem);

/** A container setting a definition cannot express (adopt's 422 `details`, its `dropped`). */
export const lostSetting = z.object({
  container: z.string(),
  field: z.string(),
  value: z.string(),
  message: z.string(),
});
export const lostSettings = z.array(lostSetting);

/** One file of a service's project (`GET /api/v1/services/{name}/files`); never its content. */
export const fileInfo = z.object({
  path: z.string(),
  size: z.number(),
  sealed: z.boolean(),
  sha256: z.string(),
});
export const fileList = z.array(fileInfo);

/** One file's content (`GET …/files/{path}`): sealed files come masked unless revealed. */
export const fileContent = z.object({
  path: z.string(),
  sealed: z.boolean(),
  masked: z.boolean(),
  content: z.string(),
});

export const serviceView = z
  .object({
    /**
     * The service's address in the API and in page links: the name of a managed service,
     * `compose:<project>` or `container:<name>` for an unmanaged one. Unique in the list even
     * when two services share a name. Optional (as are the counts) so older servers still
     * parse; the transform below fills them in.
     */
    id: z.string().optional(),
    name: z.string(),
    kind: serviceKind,
    status: serviceStatus,
    revision: z.number().nullable().optional(),
    deployed: z.boolean(),
    containers: z.array(containerInfo),
    definition: definition.nullable().optional(),
    created_at: z.string().nullable().optional(),
    updated_at: z.string().nullable().optional(),
    // From the update milestone; optional so older servers still parse.
    update_available: z.boolean().optional(),
    /** What the latest check found: a digest change, or a tag move proposed by the strategy. */
    pending_update: z
      .object({
        image: z.string(),
        kind: z.string(),
        target: z.string().nullable().optional(),
        semver_diff: z.string().nullable().optional(),
      })
      .nullable()
      .optional(),
    last_updated: z.string().nullable().optional(),
    schedule: schedule.nullable().optional(),
    containers_total: z.number().optional(),
    containers_running: z.number().optional(),
    /** What storing the document warned about (an unset variable became empty). */
    warnings: problems.optional(),
    /** After an adopt with accept_loss: the settings the definition does not carry. */
    dropped: lostSettings.optional(),
  })
  .transform((v) => ({
    ...v,
    id: v.id ?? v.name,
    containers_total: v.containers_total ?? v.containers.length,
    containers_running:
      v.containers_running ?? v.containers.filter((c) => c.state === "running").length,
  }));

export const serviceList = z.object({ services: z.array(serviceView) });

export const actionReport = z.object({
  created: z.array(z.string()).default([]),
  recreated: z.array(z.string()).default([]),
  started: z.array(z.string()).default([]),
  stopped: z.array(z.string()).default([]),
  unchanged: z.array(z.string()).default([]),
  removed: z.array(z.string()).default([]),
});

export const imageChange = z.object({
  image: z.string(),
  old_id: z.string().nullable().optional(),
  new_id: z.string().nullable().optional(),
  old_digest: z.string().nullable().optional(),
  new_digest: z.string().nullable().optional(),
  changed: z.boolean(),
});
export const pullReport = z.object({ images: z.array(imageChange) });
export const updateReport = z
  .object({
    run_id: z.number().optional(),
    /** `up_to_date`, `updated` or `rolled_back`. */
    result: z.string().optional(),
    pull: pullReport.optional(),
    members: actionReport.optional(),
    reason: z.string().nullable().optional(),
  })
  .loose();
export const checkReport = z
  .object({
    run_id: z.number().optional(),
    update_available: z.boolean(),
    images: z.array(z.unknown()).default([]),
  })
  .loose();

/** One check or update in a service's history (`GET /api/v1/services/{name}/updates`). */
export const updateRun = z
  .object({
    id: z.number(),
    service: z.string(),
    kind: z.string(),
    trigger: z.string(),
    actor: z.string(),
    started_at: z.string(),
    finished_at: z.string().nullable().optional(),
    result: z.string().nullable().optional(),
    steps: z.unknown().optional(),
    images: z.unknown().optional(),
    reason: z.string().nullable().optional(),
    log_excerpt: z.string().nullable().optional(),
  })
  .loose();
export const updateRuns = z.array(updateRun);
export const removeReport = z.object({
  containers: z.array(z.string()).default([]),
  volumes: z.array(z.string()).default([]),
});

export const logLine = z.object({
  ts: z.string(),
  stream: z.enum(["stdout", "stderr"]),
  line: z.string(),
});
export const containerLogs = z.object({
  container: z.string(),
  member: z.string(),
  state: containerState,
  lines: z.array(logLine),
});
export const logsResponse = z.object({ containers: z.array(containerLogs) });
export const followLine = logLine.extend({ container: z.string() });

export const revisionView = z.object({
  revision: z.number(),
  created_by: z.string(),
  created_at: z.string(),
  definition: definition,
});
export const revisionList = z.array(revisionView);

export const auditEntry = z.object({
  id: z.number(),
  at: z.string(),
  actor: z.string(),
  action: z.string(),
  target: z.string().nullable().optional(),
  result: z.string(),
  request_id: z.string().nullable().optional(),
  client_ip: z.string().nullable().optional(),
  details: z.unknown().optional(),
});
export const auditPage = z.object({
  entries: z.array(auditEntry),
  next_before: z.number().nullable().optional(),
});

export const apiToken = z.object({
  id: z.string(),
  name: z.string(),
  prefix: z.string(),
  created_by: z.string(),
  created_at: z.string(),
  expires_at: z.string().nullable().optional(),
  last_used_at: z.string().nullable().optional(),
});
export const tokenList = z.object({ tokens: z.array(apiToken) });
export const createdToken = apiToken.extend({ secret: z.string() });

/** `/healthz`: `status` for anyone, the rest only for a signed-in caller. */
export const healthz = z.object({
  status: z.string(),
  docker: z.object({ ok: z.boolean(), error: z.string().optional() }).optional(),
  database: z.object({ ok: z.boolean(), error: z.string().optional() }).optional(),
  version: z.string().optional(),
  tls_fingerprint: z.string().optional(),
});

/** Stored registry credentials as the API shows them (never the password). */
export const registry = z.object({
  host: z.string(),
  username: z.string(),
  updated_at: z.string(),
});
export const registryList = z.array(registry);
export type Registry = z.infer<typeof registry>;

export const runtimeConfig = z.object({
  auth_mode: z.enum(["builtin", "supabase"]),
  supabase_url: z.string().nullable().optional(),
  anon_key: z.string(),
});

/** `GET /api/v1/setup`: whether the first administrator still has to be created. */
export const setupStatus = z.object({
  required: z.boolean(),
  code_active: z.boolean(),
});

/** The session `POST /api/v1/setup` answers (GoTrue's token response). */
export const setupSession = z.object({
  access_token: z.string(),
  refresh_token: z.string(),
});

export const errorBody = z.object({
  code: z.string(),
  message: z.string(),
  details: z.unknown().optional(),
});

/** `/api/v1/events` payloads (`type` repeats the SSE event name). */
export const serverEvent = z.discriminatedUnion("type", [
  z.object({
    type: z.literal("container_status"),
    service: z.string(),
    container_id: z.string(),
    container: z.string(),
    state: containerState.nullable().optional(),
    health: health.nullable().optional(),
  }),
  z.object({
    type: z.literal("pull_progress"),
    service: z.string(),
    image: z.string(),
    progress: z.object({
      layer: z.string().nullable().optional(),
      status: z.string(),
      current: z.number().nullable().optional(),
      total: z.number().nullable().optional(),
    }),
  }),
  z.object({
    type: z.literal("operation"),
    service: z.string(),
    action: z.string(),
    phase: z.string(),
    message: z.string(),
  }),
  z.object({ type: z.literal("audit"), entry: auditEntry }),
  z.object({ type: z.literal("lagged"), missed: z.number() }),
]);

export type ContainerState = z.infer<typeof containerState>;
export type Health = z.infer<typeof health>;
export type ServiceStatus = z.infer<typeof serviceStatus>;
export type ServiceKind = z.infer<typeof serviceKind>;
export type ContainerInfo = z.infer<typeof containerInfo>;
export type Member = z.infer<typeof member>;
export type Definition = z.infer<typeof definition>;
export type ServiceView = z.infer<typeof serviceView>;
export type LostSetting = z.infer<typeof lostSetting>;
export type ActionReport = z.infer<typeof actionReport>;
export type PullReport = z.infer<typeof pullReport>;
export type UpdateReport = z.infer<typeof updateReport>;
export type Schedule = z.infer<typeof schedule>;
export type CheckReport = z.infer<typeof checkReport>;
export type UpdateRun = z.infer<typeof updateRun>;
export type RemoveReport = z.infer<typeof removeReport>;
export type LogLine = z.infer<typeof logLine>;
export type ContainerLogs = z.infer<typeof containerLogs>;
export type FollowLine = z.infer<typeof followLine>;
export type RevisionView = z.infer<typeof revisionView>;
export type AuditEntry = z.infer<typeof auditEntry>;
export type AuditPage = z.infer<typeof auditPage>;
export type ApiToken = z.infer<typeof apiToken>;
export type CreatedToken = z.infer<typeof createdToken>;
export type RuntimeConfig = z.infer<typeof runtimeConfig>;
export type SetupStatus = z.infer<typeof setupStatus>;
export type Problem = z.infer<typeof problem>;
export type FileInfo = z.infer<typeof fileInfo>;
export type FileContent = z.infer<typeof fileContent>;
export type ServerEvent = z.infer<typeof serverEvent>;
