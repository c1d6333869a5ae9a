"use client";

import { useEffect, useState } from "react";

import { api } from "@/lib/api";
import { subscribe } from "@/lib/events";
import { keys, useApiQuery } from "@/lib/query";

/** What a service is busy with right now, from `operation` and `pull_progress` events. */
export interface Activity {
  action: string;
  message: string;
}

/**
 * The service list from the query cache, kept current by `/api/v1/events` (lib/query: container
 * status changes patch the cached list in place; a finished operation, an unknown container or a
 * `lagged` notice invalidate it). This hook adds what each service is busy with.
 */
export function useLiveServices() {
  const q = useApiQuery(keys.services, (signal) => api.listServices(signal));
  const [activity, setActivity] = useState<Record<string, Activity>>({});

  useEffect(
    () =>
      subscribe((e) => {
        switch (e.type) {
          case "operation":
            if (e.phase === "finished" || e.phase === "failed") {
              setActivity(({ [e.service]: _, ...rest }) => rest);
            } else {
              const verb = e.action.replace(/^service\./, "");
              setActivity((a) => ({
                ...a,
                [e.service]: { action: verb, message: e.message || `${verb}…` },
              }));
            }
            break;
          case "pull_progress":
            setActivity((a) => ({
              ...a,
              [e.service]: {
                action: "pull",
                message: `${e.progress.status}${e.progress.layer ? ` ${e.progress.layer}` : ""}`,
              },
            }));
            break;
          default:
            break;
        }
      }),
    [],
  );

  return {
    data: q.data?.services,
    error: q.error,
    loading: q.loading,
    reload: q.reload,
    activity,
  };
}
