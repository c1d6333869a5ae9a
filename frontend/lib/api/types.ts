/**
 * Names for the API's types, all from the generated schema (lib/api/schema.d.ts, from the
 * server's OpenAPI document). Where the document declares a field as a free-form JSON object (a
 * plugin's manifest, grants and logs: the server stores them as JSON it validated on upload), the
 * UI's reading of it is spelled out here, on top of the generated type.
 */
import type { components } from "@/lib/api/schema";

type S = components["schemas"];

export type ContainerState = S["ContainerState"];
export type Health = S["ContainerHealth"];
export type ServiceStatus = S["ServiceStatus"];
export type ServiceKind = S["ServiceKind"];
export type ContainerInfo = S["ContainerInfo"];
export type Member = S["Member"];
export type Definition = S["Definition"];
export type ServiceView = S["ServiceView"];
export type ServiceList = S["ServiceList"];
export type LostSetting = S["LostSetting"];
export type Problem = S["Problem"];
export type ActionReport = S["ActionReport"];
export type PullReport = S["PullReport"];
export type UpdateReport = S["UpdateReport"];
export type CheckReport = S["CheckReport"];
export type UpdateRun = S["Run"];
export type RemoveReport = S["RemoveReport"];
export type LogLine = S["LogLine"];
export type ContainerLogs = S["ContainerLogs"];
export type RevisionView = S["RevisionView"];
export type AuditEntry = S["AuditEntry"];
export type AuditPage = S["AuditPage"];
export type ApiToken = S["ApiToken"];
export type CreatedToken = S["CreatedToken"];
export type RuntimeConfig = S["RuntimeConfig"];
export type SetupStatus = S["SetupStatus"];
export type FileInfo = S["FileInfo"];
export type FileContent = S["FileContent"];
export type Registry = S["RegistryView"];
export type ServerHealth = S["ServerHealth"];
export type ServicePlugins = S["ServicePlugins"];
export type GlobalNotifiers = S["GlobalNotifiers"];
export type PluginPatch = S["PluginPatch"];
export type Delivery = S["Delivery"];

/**
 * A schedule; `timezone` is one of the IANA names the document enumerates (~600), which the
 * form takes as free text and the server validates.
 */
export type Schedule = Omit<S["Schedule"], "timezone"> & { timezone: string };

/** One line of `/api/v1/services/{name}/logs?follow=true` (a stream: not in the document). */
export type FollowLine = LogLine & { container: string };

/**
 * `/api/v1/events` payloads: the document's `Event`, plus `lagged`, which the stream sends as
 * its own SSE event when this subscriber fell behind (`missed` events were dropped).
 */
export type ServerEvent = S["Event"] | { type: "lagged"; missed: number };

/** A plugin's manifest as stored at upload (plugins/README, the manifest section). */
export interface Manifest {
  id: string;
  name: string;
  version: string;
  kinds: string[];
  description?: string;
  wit?: string;
  capabilities: string[];
  config_schema?: unknown;
}

/** What the administrator granted a plugin. */
export interface Grants {
  capabilities: string[];
  http?: { allow: string[] };
}

type Plugin<P> = Omit<P, "manifest" | "grants"> & {
  manifest: Manifest | null;
  grants: Grants;
};
export type PluginView = Plugin<S["PluginView"]>;
export type PluginDetail = Plugin<S["PluginView"]> & Omit<S["PluginDetail"], keyof S["PluginView"]>;
export type PluginList = { plugins: PluginView[] };
export type InvokeResult = Omit<S["InvokeResult"], "logs"> & {
  logs: { level: string; message: string }[];
};
