"use client";

/**
 * Session handling with supabase-js in both auth modes (DESIGN §5): sdmd's built-in GoTrue
 * subset or an external Supabase, chosen by `/config.json`. supabase-js refreshes the session
 * before it expires; the API client asks it for the current access token on every call.
 */
import type { Session, SupabaseClient } from "@supabase/supabase-js";
import { createContext, useCallback, useContext, useEffect, useMemo, useState } from "react";

import { configureApi } from "./api";
import { loadConfig, type AuthConfig } from "./config";

type Status = "loading" | "signed-out" | "signed-in" | "open" | "error";

interface AuthState {
  status: Status;
  config: AuthConfig | null;
  email: string | null;
  error: string | null;
  signIn(email: string, password: string): Promise<void>;
  signOut(): Promise<void>;
  retry(): void;
}

const AuthContext = createContext<AuthState | null>(null);

export function useAuth(): AuthState {
  const c = useContext(AuthContext);
  if (!c) throw new Error("useAuth outside AuthProvider");
  return c;
}

/** Friendly text for supabase-js sign-in errors (GoTrue codes). */
export function signInMessage(e: { code?: string; status?: number; message?: string }): string {
  if (e.code === "invalid_credentials" || e.status === 400 || e.status === 401)
    return "Wrong email or password.";
  if (e.status === 429 || e.code === "over_request_rate_limit")
    return "Too many attempts. Wait a moment and try again.";
  if (!e.status) return "Can't reach the server. Check your connection and try again.";
  return e.message || "Sign-in failed.";
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
        throw new Error(signInMessage(e));
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
  }, [client]);

  const value = useMemo<AuthState>(
    () => ({
      status,
      config,
      email: session?.user?.email ?? null,
      error,
      signIn,
      signOut,
      retry: () => {
        setStatus("loading");
        setAttempt((a) => a + 1);
      },
    }),
    [status, config, session, error, signIn, signOut],
  );
  return <AuthContext.Provider value={value}>{children}</AuthContext.Provider>;
}
