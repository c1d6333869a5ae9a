"use client";

import { useCallback, useEffect, useRef, useState } from "react";

import { useAsync } from "@/hooks/use-async";
import { api } from "@/lib/api";
import { subscribe } from "@/lib/events";
import type { ServiceView } from "@/lib/schemas";
import { applyContainerEvent } from "@/lib/status";

/** What a service is busy with right now, from `operation` and `pull_progress` events. */
export interface Activity {
  action: string;
  message: string;
}

/**
 * The service list, kept current by `/api/v1/events`: container status changes patch the list in
 * place; anything the list can't explain (a new container, a finished operation, a `lagged`
 * notice) triggers one debounced reload.
 */
export function useLiveServices() {
  const state = useAsync((signal) => api.listServices(signal).then((r) => r.services), []);
  const [activity, setActivity] = useState<Record<string, Activity>>({});
  const { setData, reload } = state;
  const timer = useRef<ReturnType<typeof setTimeout> | null>(null);

  const reloadSoon = useCallback(() => {
    if (timer.current) clearTimeout(timer.current);
    timer.current = setTimeout(reload, 300);
  }, [reload]);

  useEffect(() => {
    const off = subscribe((e) => {
      switch (e.type) {
        case "container_status": {
          let unknown = false;
          setData((list: ServiceView[] | undefined) => {
            if (!list) return list;
            const next = applyContainerEvent(list, e);
            if (!next) unknown = true;
            return next ?? list;
          });
          // setData's updater runs synchronously for a non-concurrent update in practice; if
          // not, the operation's `finished` event reloads anyway.
          if (unknown) reloadSoon();
          break;
        }
        case "operation":
          if (e.phase === "finished" || e.phase === "failed") {
            setActivity(({ [e.service]: _, ...rest }) => rest);
            reloadSoon();
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
        case "lagged":
          reloadSoon();
          break;
        default:
          break;
      }
    });
    return () => {
      off();
      if (timer.current) clearTimeout(timer.current);
    };
  }, [setData, reloadSoon]);

  return { ...state, activity };
}
