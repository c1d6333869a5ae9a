"use client";

/**
 * Session handling with supabase-js in both auth modes (DESIGN §5): sdmd's built-in GoTrue
 * subset or an external Supabase, chosen by `/config.json`. supabase-js refreshes the session
 * before it expires; the API client asks it for the current access token on every call.
 */
import type { Session, SupabaseClient } from "@supabase/supabase-js";
import { createContext, useCallback, useContext, useEffect, useMemo, useState } from "react";

import { api, configureApi } from "./api";
import { queryClient } from "./query";
import { loadConfig, type AuthConfig } from "./config";

type Status = "loading" | "signed-out" | "signed-in" | "open" | "error";

interface AuthState {
  status: Status;
  config: AuthConfig | null;
  email: string | null;
  error: string | null;
  signIn(email: string, password: string): Promise<void>;
  /** First run: creates the first administrator with the setup code and signs them in. */
  completeSetup(code: string, email: string, password: string): Promise<void>;
  signOut(): Promise<void>;
  retry(): void;
}

const AuthContext = createContext<AuthState | null>(null);

export function useAuth(): AuthState {
  const c = useContext(AuthContext);
  if (!c) throw new Error("useAuth outside AuthProvider");
  return c;
}

/** Friendly text for supabase-js sign-in errors (GoTrue codes). `retryAfterMs` is the wait a
 * 429 named in `details.retry_after_ms` (sdmd's throttle), when known. */
export function signInMessage(
  e: { code?: string; status?: number; message?: string },
  retryAfterMs?: number | null,
): string {
  if (e.status === 429 || e.code === "over_request_rate_limit") {
    if (retryAfterMs && retryAfterMs > 0) {
      const secs = Math.max(1, Math.ceil(retryAfterMs / 1000));
      return `Too many attempts. Try again in ${secs} s.`;
    }
    return "Too many attempts. Wait a moment and try again.";
  }
  if (e.code === "invalid_credentials" || e.status === 400 || e.status === 401)
    return "Wrong email or password.";
  if (!e.status) return "Can't reach the server. Check your connection and try again.";
  return e.message || "Sign-in failed.";
}

/** `details.retry_after_ms` of the last 429 from the sign-in route: supabase-js keeps only the
 * code and message of an error, so a fetch wrapper reads it from the body. */
let lastRetryAfterMs: number | null = null;

/** The fetch supabase-js uses: the browser's, noting the wait of a throttled sign-in. */
export async function authFetch(input: RequestInfo | URL, init?: RequestInit): Promise<Response> {
  const res = await fetch(input, init);
  const url = typeof input === "string" ? input : input instanceof URL ? input.href : input.url;
  if (url.includes("/auth/v1/token")) {
    lastRetryAfterMs = null;
    if (res.status === 429) {
      try {
        const body = (await res.clone().json()) as { details?: { retry_after_ms?: unknown } };
        const ms = body?.details?.retry_after_ms;
        if (typeof ms === "number" && ms > 0) lastRetryAfterMs = ms;
        else {
          const header = Number(res.headers.get("retry-after"));
          if (header > 0) lastRetryAfterMs = header * 1000;
        }
      } catch {
        // Not JSON (a proxy's page): the generic message.
      }
    }
  }
  return res;
}

export function AuthProvider({ children }: { children: React.ReactNode }) {
  const [config, setConfig] = useState<AuthConfig | null>(null);
  const [client, setClient] = useState<SupabaseClient | null>(null);
  const [session, setSession] = useState<Session | null>(null);
  const [status, setStatus] = useState<Status>("loading");
  const [error, setError] = useState<string | null>(null);
  const [attempt, setAttempt] = useState(0);

  useEffect(() => {
    let unsub: (() => void) | undefined;
    let cancelled = false;
    (async () => {
      try {
        const cfg = await loadConfig();
        if (cancelled) return;
        setConfig(cfg);
        if (cfg.auth_mode === "none") {
          configureApi({ getToken: async () => null });
          setStatus("open");
          return;
        }
        // Loaded on demand: the login page and the app shell render before it arrives.
        const { createClient } = await import("@supabase/supabase-js");
        const sb = createClient(cfg.supabase_url, cfg.anon_key, {
          auth: { persistSession: true, autoRefreshToken: true, storageKey: "sdmd-auth" },
          global: { fetch: authFetch },
        });
        configureApi({
          getToken: async () => (await sb.auth.getSession()).data.session?.access_token ?? null,
          onUnauthorized: () => void sb.auth.signOut({ scope: "local" }),
        });
        const { data } = sb.auth.onAuthStateChange((_ev, s) => {
          setSession(s);
          setStatus(s ? "signed-in" : "signed-out");
        });
        unsub = () => data.subscription.unsubscribe();
        const { data: cur } = await sb.auth.getSession();
        if (cancelled) return;
        setClient(sb);
        setSession(cur.session);
        setStatus(cur.session ? "signed-in" : "signed-out");
      } catch (e) {
        console.error("[sdmd auth]", e);
        if (!cancelled) {
          setError("Can't load the server's sign-in settings.");
          setStatus("error");
        }
      }
    })();
    return () => {
      cancelled = true;
      unsub?.();
    };
  }, [attempt]);

  const signIn = useCallback(
    async (email: string, password: string) => {
      if (!client) throw new Error("Sign-in is not ready yet.");
      const { error: e } = await client.auth.signInWithPassword({ email, password });
      if (e) {
        console.error("[sdmd auth] sign-in failed", e);
        throw new Error(signInMessage(e, lastRetryAfterMs));
      }
    },
    [client],
  );

  const completeSetup = useCallback(
    async (code: string, email: string, password: string) => {
      if (!client) throw new Error("Setup is not ready yet.");
      // Errors are ApiErrors with a friendly text; the caller shows them.
      const s = await api.completeSetup({ code, email, password });
      const { error: e } = await client.auth.setSession({
        access_token: s.access_token,
        refresh_token: s.refresh_token,
      });
      if (e) {
        console.error("[sdmd auth] storing the setup session", e);
        throw new Error("The administrator was created; sign in with it.");
      }
    },
    [client],
  );

  const signOut = useCallback(async () => {
    if (!client) return;
    const { error: e } = await client.auth.signOut();
    // Even if the server call failed, the local session is gone.
    if (e) console.error("[sdmd auth] sign-out", e);
    setSession(null);
    setStatus("signed-out");
    // The next account must not see this one's cached answers.
    queryClient.clear();
  }, [client]);

  const value = useMemo<AuthState>(
    () => ({
      status,
      config,
      email: session?.user?.email ?? null,
      error,
      signIn,
      completeSetup,
      signOut,
      retry: () => {
        setStatus("loading");
        setAttempt((a) => a + 1);
      },
    }),
    [status, config, session, error, signIn, completeSetup, signOut],
  );
  return <AuthContext.Provider value={value}>{children}</AuthContext.Provider>;
}
