"use client";

import { AlertTriangleIcon, InfoIcon, RefreshCwIcon, WifiOffIcon } from "lucide-react";
import { useEffect, useRef, useState } from "react";

import { Alert, AlertDescription, AlertTitle } from "@/components/ui/alert";
import { Button } from "@/components/ui/button";
import { backoff, type ApiError } from "@/lib/api";

/**
 * A friendly error with a Retry button. Transient errors (503, network) also retry on their own
 * with growing delays, and say when the next attempt is.
 */
export function ErrorState({
  error,
  onRetry,
  title = "Something went wrong",
}: {
  error: ApiError;
  onRetry?: () => void;
  title?: string;
}) {
  const auto = error.transient && onRetry !== undefined;
  const [attempt, setAttempt] = useState(0);
  if (error.code === "route_not_found") {
    // An older server without this feature: not an error the person can fix by retrying.
    return (
      <Alert>
        <InfoIcon />
        <AlertTitle>Not available on this server</AlertTitle>
        <AlertDescription>{error.friendly}</AlertDescription>
      </Alert>
    );
  }
  const Icon = error.code === "network_error" ? WifiOffIcon : AlertTriangleIcon;
  return (
    <Alert variant={error.transient ? "warning" : "destructive"}>
      <Icon />
      <AlertTitle>{error.transient ? "Temporarily unavailable" : title}</AlertTitle>
      <AlertDescription>
        <p>{error.friendly}</p>
        {onRetry && (
          <div className="mt-2 flex items-center gap-3">
            <Button size="sm" variant="outline" onClick={onRetry}>
              <RefreshCwIcon /> Retry
            </Button>
            {auto && (
              <AutoRetry
                key={attempt}
                ms={backoff(Math.min(attempt + 2, 5))}
                onFire={() => {
                  setAttempt((a) => a + 1);
                  onRetry();
                }}
              />
            )}
          </div>
        )}
      </AlertDescription>
    </Alert>
  );
}

/** Counts down and retries once; re-keyed for every attempt. */
function AutoRetry({ ms, onFire }: { ms: number; onFire: () => void }) {
  const [left, setLeft] = useState(Math.ceil(ms / 1000));
  const fire = useRef(onFire);
  useEffect(() => {
    fire.current = onFire;
  });
  useEffect(() => {
    const started = Date.now();
    const tick = setInterval(
      () => setLeft(Math.max(0, Math.ceil((ms - (Date.now() - started)) / 1000))),
      500,
    );
    const id = setTimeout(() => fire.current(), ms);
    return () => {
      clearTimeout(id);
      clearInterval(tick);
    };
  }, [ms]);
  return (
    <span className="text-xs text-muted-foreground" aria-live="polite">
      Retrying in {left}s…
    </span>
  );
}

/** A quiet placeholder when a list is empty. */
export function EmptyState({
  icon: Icon,
  title,
  children,
}: {
  icon: React.ComponentType<{ className?: string }>;
  title: string;
  children?: React.ReactNode;
}) {
  return (
    <div className="flex flex-col items-center justify-center gap-2 rounded-lg border border-dashed p-10 text-center">
      <Icon className="size-8 text-muted-foreground" />
      <p className="font-medium">{title}</p>
      {children && <div className="max-w-sm text-sm text-muted-foreground">{children}</div>}
    </div>
  );
}
