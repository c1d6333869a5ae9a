"use client";

import { api } from "@/lib/api";
import { keys, useApiQuery } from "@/lib/query";

/**
 * `GET /api/v1/stats` (the sampler's latest round, read from memory: cheap), fetched again
 * every sampling interval (5 s unless the server says otherwise), once a minute while sampling
 * is off, and never again from a server without the route.
 */
export function useHostStats(opts: { enabled?: boolean } = {}) {
  return useApiQuery(keys.hostStats, (signal) => api.hostStats(signal), {
    enabled: opts.enabled,
    refetchInterval: (data, error) => {
      if (error?.code === "route_not_found" || error?.status === 404) return false;
      if (data?.source === "off") return 60_000;
      return Math.max(1, data?.interval_seconds ?? 5) * 1000;
    },
  });
}
