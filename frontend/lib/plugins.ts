/** Plugin helpers (`/api/v1/plugins…`, DESIGN §4 and docs/plugins.md); the types are the API's. */
export type {
  Grants,
  InvokeResult,
  Manifest,
  PluginDetail,
  PluginView,
  ServicePlugins,
} from "./api";

/** Capabilities that only need to be declared (no admin grant). */
export const IMPLICIT = new Set(["log", "config"]);

export function pluginHref(id: string) {
  return `/plugin/?id=${encodeURIComponent(id)}`;
}
