/**
 * Names for the API's types, all from the generated schema (lib/api/schema.d.ts, from the
 * server's OpenAPI document), narrowed where the client fills in defaults (`normalizeService`,
 * `normalizePlugin`) or where the form takes free text the server validates.
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

/**
 * A plugin's manifest and grants as the pages read them (`normalizePlugin` in lib/api): the
 * lists always present, a manifest that isn't one `null`.
 */
export type Manifest = S["PluginManifest"] & {
  kinds: string[];
  capabilities: string[];
  description: string;
};
export type Grants = S["PluginGrants"] & { capabilities: string[]; http: { allow: string[] } };

type Plugin<P> = Omit<P, "manifest" | "grants"> & { manifest: Manifest | null; grants: Grants };
export type PluginView = Plugin<S["PluginView"]>;
export type PluginDetail = Plugin<S["PluginView"]> & Omit<S["PluginDetail"], keyof S["PluginView"]>;
export type PluginList = { plugins: PluginView[] };
export type InvokeResult = S["InvokeResult"];

export type VariableView = S["VariableView"];
export type VariablesView = S["VariablesView"];
export type VariableInput = S["VariableInput"];
export type VariablesBody = S["VariablesBody"];
export type SourcesBody = S["SourcesBody"];
export type CatalogView = S["CatalogView"];
export type TemplateView = S["TemplateView"];
export type TemplateVariable = S["TemplateVariable"];
export type SourceView = S["SourceView"];
export type InstantiateBody = S["InstantiateBody"];
export type InstantiatedView = S["InstantiatedView"];
export type EnvironmentView = S["EnvironmentView"];
export type MemberEnvironment = S["MemberEnvironment"];
export type EnvVarView = S["EnvVarView"];
export type RootsView = S["RootsView"];
export type RootView = S["RootView"];
export type OwnerWarning = S["OwnerWarning"];
export type PermissionsPlan = S["PermissionsPlan"];
export type OwnerChangeView = S["OwnerChangeView"];
export type DirsView = S["DirsView"];
export type DirView = S["DirView"];
export type LogsResponse = S["LogsResponse"];
export type MountsView = S["MountsView"];
export type MountInfo = S["MountInfo"];
export type StatsSource = S["StatsSource"];
export type Resolution = S["Resolution"];
export type Sample = S["Sample"];
export type ContainerSamples = S["ContainerSamples"];
export type ServiceStats = S["ServiceStats"];
export type Transition = S["Transition"];
export type Uptime = S["Uptime"];
export type ServiceHistory = S["ServiceHistory"];
export type ServiceNow = S["ServiceNow"];
export type ContainerNow = S["ContainerNow"];
export type HostStats = S["HostStats"];
