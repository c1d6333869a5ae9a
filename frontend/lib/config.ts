import { parseRuntimeConfig, type RuntimeConfig } from "./api";

/** How the dashboard signs in, read at runtime so one build serves both auth modes. */
export type AuthConfig =
  | (RuntimeConfig & { auth_mode: "builtin" | "supabase"; supabase_url: string })
  // A server without the auth milestone: no `/config.json`, every route is open.
  | { auth_mode: "none" };

/** Fetches `/config.json`; builtin mode's `supabase_url` defaults to this page's origin. */
export async function loadConfig(origin: string = window.location.origin): Promise<AuthConfig> {
  let res: Response | null = null;
  for (let attempt = 0; attempt < 4; attempt++) {
    try {
      res = await fetch("/config.json", {
        cache: "no-store",
        headers: { Accept: "application/json" },
      });
      if (res.status !== 503) break;
    } catch {
      res = null;
    }
    await new Promise((r) => setTimeout(r, 500 * 2 ** attempt));
  }
  if (!res) throw new Error("The SDMD server could not be reached.");
  if (res.status === 404) return { auth_mode: "none" };
  if (!res.ok) throw new Error(`/config.json answered ${res.status}`);
  const c = parseRuntimeConfig(await res.json());
  if (!c) throw new Error("/config.json is not a runtime configuration this dashboard knows");
  return { ...c, supabase_url: (c.supabase_url || origin).replace(/\/+$/, "") };
}
