"use client";

import { useCallback, useEffect, useLayoutEffect, useRef, useState } from "react";

import { toApiError, type ApiError } from "@/lib/api";

export interface AsyncState<T> {
  data: T | undefined;
  error: ApiError | null;
  loading: boolean;
  /** Loads again (keeps showing the old data meanwhile). */
  reload: () => void;
  /** Replaces the data locally (live updates, optimistic changes). */
  setData: React.Dispatch<React.SetStateAction<T | undefined>>;
}

/**
 * Runs `load` on mount and whenever `deps` (primitives) change; aborts stale runs. `loading` is
 * derived: it is true until the run for the current deps has settled.
 */
export function useAsync<T>(
  load: (signal: AbortSignal) => Promise<T>,
  deps: readonly (string | number | boolean | null | undefined)[],
): AsyncState<T> {
  const [data, setData] = useState<T | undefined>(undefined);
  const [error, setError] = useState<ApiError | null>(null);
  const [tick, setTick] = useState(0);
  const [settled, setSettled] = useState<string | null>(null);
  const loadRef = useRef(load);
  useLayoutEffect(() => {
    loadRef.current = load;
  });
  const key = JSON.stringify([...deps, tick]);

  useEffect(() => {
    const ctl = new AbortController();
    loadRef
      .current(ctl.signal)
      .then((d) => {
        if (ctl.signal.aborted) return;
        setData(d);
        setError(null);
      })
      .catch((e: unknown) => {
        if (ctl.signal.aborted) return;
        setError(toApiError(e));
      })
      .finally(() => {
        if (!ctl.signal.aborted) setSettled(key);
      });
    return () => ctl.abort();
  }, [key]);

  const reload = useCallback(() => setTick((t) => t + 1), []);
  return { data, error, loading: settled !== key, reload, setData };
}
