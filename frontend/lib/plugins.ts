/** zod schemas of the plugin routes (`/api/v1/plugins…`, DESIGN §4 and docs/plugins.md). */
import "./zod-config";

import { z } from "zod";

export const capability = z.enum(["log", "config", "registry", "http"]);
export const pluginKind = z.enum(["update-strategy", "health-check", "notifier"]);

export const manifest = z
  .object({
    id: z.string(),
    name: z.string(),
    version: z.string(),
    kinds: z.array(z.string()).default([]),
    description: z.string().default(""),
    wit: z.string().optional(),
    capabilities: z.array(z.string()).default([]),
    config_schema: z.unknown().optional(),
  })
  .loose();

export const grants = z
  .object({
    capabilities: z.array(z.string()).default([]),
    http: z.object({ allow: z.array(z.string()).default([]) }).default({ allow: [] }),
  })
  .loose();

export const pluginView = z
  .object({
    id: z.string(),
    version: z.string(),
    manifest: manifest.nullable().catch(null),
    inspection: z.unknown().optional(),
    size: z.number(),
    enabled: z.boolean(),
    grants: grants.catch({ capabilities: [], http: { allow: [] } }),
    missing_grants: z.array(z.string()).default([]),
    config: z.unknown().optional(),
    limits: z.unknown().optional(),
    delivery: z
      .object({ cooldown_seconds: z.number(), batch_seconds: z.number() })
      .catch({ cooldown_seconds: 0, batch_seconds: 0 })
      .default({ cooldown_seconds: 0, batch_seconds: 0 }),
    created_at: z.string(),
    updated_at: z.string(),
  })
  .loose();

export const pluginDetail = pluginView.extend({
  versions: z
    .array(
      z
        .object({
          version: z.string(),
          size: z.number(),
          uploaded_by: z.string(),
          uploaded_at: z.string(),
        })
        .loose(),
    )
    .default([]),
  used_by: z.array(z.string()).default([]),
});

export const pluginList = z.object({ plugins: z.array(pluginView) });

export const invokeResult = z.object({
  output: z.unknown().optional(),
  error: z.object({ code: z.string(), message: z.string() }).nullable().optional(),
  logs: z.array(z.object({ level: z.string(), message: z.string() })).default([]),
  duration_ms: z.number(),
});

export const servicePlugins = z.object({
  strategy: z.string().nullable().optional(),
  health_checks: z.array(z.string()).default([]),
  notifiers: z.array(z.string()).default([]),
});
export const globalNotifiers = z.object({ notifiers: z.array(z.string()).default([]) });

export type Grants = z.infer<typeof grants>;
export type PluginView = z.infer<typeof pluginView>;
export type PluginDetail = z.infer<typeof pluginDetail>;
export type InvokeResult = z.infer<typeof invokeResult>;
export type ServicePlugins = z.infer<typeof servicePlugins>;

/** Capabilities that only need to be declared (no admin grant). */
export const IMPLICIT = new Set(["log", "config"]);

export function pluginHref(id: string) {
  return `/plugin/?id=${encodeURIComponent(id)}`;
}
