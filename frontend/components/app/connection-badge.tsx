"use client";

import { useEffect, useState } from "react";

import { watchConnection } from "@/lib/events";
import { cn } from "@/lib/utils";

/** Whether live updates flow (the shared event stream is connected). */
export function ConnectionBadge() {
  const [on, setOn] = useState(false);
  useEffect(() => watchConnection(setOn), []);
  return (
    <span
      className="inline-flex items-center gap-1.5 text-xs text-muted-foreground"
      aria-live="polite"
    >
      <span
        className={cn("size-2 rounded-full", on ? "bg-success" : "bg-muted-foreground/40")}
        aria-hidden
      />
      {on ? "Live" : "Connecting…"}
    </span>
  );
}
