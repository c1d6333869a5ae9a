/**
 * Server state through TanStack Query: one cache for the dashboard, keys named in one place,
 * retries for transient failures only, and invalidation from the event stream instead of
 * hand-kept reload counters (docs/frontend.md).
 *
 * - Keys are hierarchical: everything about a service sits under `["service", id]`, so one
 *   `invalidate(keys.service(id))` refreshes its detail, files, schedule, history, revisions and
 *   plugin bindings together.
 * - {@link watchEvents} (mounted once, in the app shell) turns `/api/v1/events` into
 *   invalidations: an operation that ends refreshes the service and the list, an audit entry
 *   refreshes what its action changed (tokens, registries, plugins …), `lagged` refreshes all.
 *   Container status changes patch the cached list and detail in place (no request).
 */
import { QueryClient, useQuery, type QueryKey } from "@tanstack/react-query";
import { useCallback } from "react";

import { ApiError, backoff, toApiError } from "./api";
import { subscribe } from "./events";
import type { ServerEvent, ServiceView } from "./api/types";
import { applyContainerEvent, nameOfId } from "./status";

export const keys = {
  services: ["services"] as const,
  service: (id: string) => ["service", id] as const,
  compose: (name: string, revision: number | null | undefined) =>
    ["service", name, "compose", revision ?? null] as const,
  files: (name: string) => ["service", name, "files"] as const,
  file: (name: string, path: string, reveal: boolean) =>
    ["service", name, "files", path, reveal] as const,
  schedule: (name: string) => ["service", name, "schedule"] as const,
  updates: (name: string) => ["service", name, "updates"] as const,
  revisions: (name: string) => ["service", name, "revisions"] as const,
  logs: (name: string) => ["service", name, "logs"] as const,
  servicePlugins: (name: string) => ["service", name, "plugins"] as const,
  environment: (name: string) => ["service", name, "environment"] as const,
  permissions: (name: string) => ["service", name, "permissions"] as const,
  mounts: (name: string) => ["service", name, "mounts"] as const,
  serviceStats: (id: string, range: string) => ["service", id, "stats", range] as const,
  serviceHistory: (id: string, range: string) => ["service", id, "history", range] as const,
  hostStats: ["stats"] as const,
  plugins: ["plugins"] as const,
  plugin: (id: string) => ["plugins", id] as const,
  notifiers: ["notifiers"] as const,
  tokens: ["tokens"] as const,
  registries: ["registries"] as const,
  variables: ["variables"] as const,
  templates: ["templates"] as const,
  templateSources: ["templates", "sources"] as const,
  roots: ["roots"] as const,
  health: ["healthz"] as const,
};

/** Worth another try: 503, 429 and network failures; never another 4xx. */
export function retryable(e: unknown): boolean {
  const err = toApiError(e);
  if (err.status >= 400 && err.status < 500 && err.status !== 429) return false;
  return err.transient;
}

export const queryClient = new QueryClient({
  defaultOptions: {
    queries: {
      // The client already retried reads with backoff (lib/api); the cache tries twice more,
      // later, for what is still transient.
      retry: (failures, e) => failures < 2 && retryable(e),
      retryDelay: (attempt) => backoff(attempt + 2),
      // Events keep the cache current; a refetch on every focus would only add load.
      staleTime: 30_000,
      refetchOnWindowFocus: false,
    },
    mutations: { retry: false },
  },
});

export function invalidate(key: QueryKey) {
  return queryClient.invalidateQueries({ queryKey: key });
}

/** Invalidates everything a service shows, under its id and its bare name. */
export function invalidateService(id: string) {
  void invalidate(keys.services);
  void invalidate(keys.service(id));
  const name = nameOfId(id);
  if (name !== id) void invalidate(keys.service(name));
}

/** What an audit action changed, by its prefix (`token.create` → the token list). */
const AUDIT_KEYS: Record<string, readonly QueryKey[]> = {
  token: [keys.tokens],
  registry: [keys.registries],
  plugin: [keys.plugins, keys.notifiers],
  notifiers: [keys.notifiers],
  variables: [keys.variables],
  templates: [keys.templates],
};

/** Applies one server event to the cache. Exported for tests. */
export function applyEvent(e: ServerEvent) {
  switch (e.type) {
    case "container_status": {
      let unknown = false;
      queryClient.setQueryData<{ services: ServiceView[] }>(keys.services, (l) => {
        if (!l) return l;
        const next = applyContainerEvent(l.services, e);
        if (!next) unknown = true;
        return next ? { ...l, services: next } : l;
      });
      for (const [key, v] of queryClient.getQueriesData<ServiceView>({ queryKey: ["service"] })) {
        if (key.length !== 2 || !v || v.name !== e.service) continue;
        const next = applyContainerEvent([v], e);
        if (next?.[0]) queryClient.setQueryData(key, next[0]);
        else void invalidate(key);
      }
      // A container the list doesn't know yet: ask again.
      if (unknown) void invalidate(keys.services);
      break;
    }
    case "operation":
      if (e.phase === "finished" || e.phase === "failed") invalidateService(e.service);
      break;
    case "audit": {
      const prefix = e.entry.action.split(".")[0] ?? "";
      for (const k of AUDIT_KEYS[prefix] ?? []) void invalidate(k);
      break;
    }
    case "lagged":
      // Events were missed: nothing cached can be trusted.
      void queryClient.invalidateQueries();
      break;
    default:
      break;
  }
}

/** Feeds the event stream into the cache until the returned function is called. */
export function watchEvents(): () => void {
  return subscribe(applyEvent);
}

export interface QueryState<T> {
  data: T | undefined;
  error: ApiError | null;
  /** True while a fetch for this key runs (the first one or a refetch). */
  loading: boolean;
  /** Fetches again (keeps showing the old data meanwhile). */
  reload: () => void;
  /** Replaces the cached data (an answer that already holds the new state). */
  setData: (next: T | undefined | ((prev: T | undefined) => T | undefined)) => void;
}

/**
 * `useQuery` with the dashboard's error type and the small surface the pages use. The shared
 * {@link queryClient} is passed explicitly, so components work with or without the provider
 * (tests render them bare).
 */
export function useApiQuery<T>(
  key: QueryKey,
  load: (signal: AbortSignal) => Promise<T>,
  opts: {
    enabled?: boolean;
    /** Fetch again every so many ms (from the data so far, when a function); `false`: never. */
    refetchInterval?:
      number | false | ((data: T | undefined, error: ApiError | null) => number | false);
  } = {},
): QueryState<T> {
  const every = opts.refetchInterval;
  const q = useQuery(
    {
      queryKey: key,
      queryFn: ({ signal }) => load(signal),
      enabled: opts.enabled,
      refetchInterval:
        typeof every === "function"
          ? (query) =>
              every(
                query.state.data as T | undefined,
                query.state.error ? toApiError(query.state.error) : null,
              )
          : every,
    },
    queryClient,
  );
  const { refetch } = q;
  const reload = useCallback(() => void refetch(), [refetch]);
  const hash = JSON.stringify(key);
  const setData = useCallback<QueryState<T>["setData"]>(
    (next) => queryClient.setQueryData<T>(JSON.parse(hash) as QueryKey, next as never),
    [hash],
  );
  return {
    data: q.data,
    error: q.error ? toApiError(q.error) : null,
    loading: q.isFetching,
    reload,
    setData,
  };
}
