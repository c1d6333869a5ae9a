"use client";

import { CopyIcon, DownloadIcon, PauseIcon, PlayIcon, ScrollTextIcon } from "lucide-react";
import { useEffect, useMemo, useRef, useState } from "react";

import { EmptyState, ErrorState } from "@/components/app/error-state";
import { useToast } from "@/components/app/toaster";
import { Button } from "@/components/ui/button";
import { SimpleSelect } from "@/components/ui/select";
import { Label } from "@/components/ui/label";
import { Skeleton } from "@/components/ui/skeleton";
import { keys, useApiQuery } from "@/lib/query";
import { api, parseFollowLine, type ContainerLogs } from "@/lib/api";
import { openStream } from "@/lib/sse";
import { cn } from "@/lib/utils";

/** Most lines kept in the viewer while following. */
const MAX_LINES = 5000;

export interface ViewLine {
  container: string;
  ts: string;
  stream: "stdout" | "stderr";
  line: string;
}

/** Interleaves the per-container tails by timestamp. */
export function mergeLogs(containers: ContainerLogs[]): ViewLine[] {
  return containers
    .flatMap((c) => c.lines.map((l) => ({ container: c.container, ...l })))
    .sort((a, b) => (a.ts < b.ts ? -1 : a.ts > b.ts ? 1 : 0));
}

export function formatLines(lines: ViewLine[], withContainer: boolean): string {
  return lines.map((l) => `${l.ts} ${withContainer ? `${l.container} ` : ""}${l.line}`).join("\n");
}

/** The last 100 lines of every container, with follow (SSE), copy and download. */
export function LogsViewer({ service }: { service: string }) {
  const toast = useToast();
  const tail = useApiQuery(keys.logs(service), () => api.logs(service, 100));
  const [followed, setFollowed] = useState<ViewLine[]>([]);
  const [follow, setFollow] = useState(false);
  const [streaming, setStreaming] = useState(false);
  const [which, setWhich] = useState("all");
  const box = useRef<HTMLPreElement>(null);

  const lines = useMemo(() => {
    const all = [...(tail.data ? mergeLogs(tail.data.containers) : []), ...followed];
    return all.length > MAX_LINES ? all.slice(-MAX_LINES) : all;
  }, [tail.data, followed]);
  const reload = () => {
    setFollowed([]);
    tail.reload();
  };

  useEffect(() => {
    if (!follow) return;
    // tail=0: the lines already shown came from the JSON tail.
    const h = openStream(
      `/api/v1/services/${encodeURIComponent(service)}/logs?follow=true&tail=0`,
      {
        // The stream ends when the containers stop; reconnecting picks a restarted service up
        // again (tail=0 each time: lines in the gap are in the next Reload).
        onMessage: (m) => {
          if (m.event !== "log") return;
          let l = null;
          try {
            l = parseFollowLine(JSON.parse(m.data));
          } catch {
            // not JSON: reported below
          }
          if (l) setFollowed((prev) => [...prev.slice(-(MAX_LINES - 1)), l]);
          else console.error("[sdmd logs] bad line", m.data);
        },
        onOpen: () => setStreaming(true),
        onDrop: (_ms, err) => {
          if (err) console.error("[sdmd logs] follow interrupted", err);
          setStreaming(false);
        },
      },
    );
    return () => h.close();
  }, [follow, service]);

  const containers = useMemo(() => [...new Set(lines.map((l) => l.container))], [lines]);
  const shown = useMemo(
    () => (which === "all" ? lines : lines.filter((l) => l.container === which)),
    [lines, which],
  );
  const multi = containers.length > 1;

  useEffect(() => {
    const el = box.current;
    if (el && follow) el.scrollTop = el.scrollHeight;
  }, [shown, follow]);

  const copy = async () => {
    try {
      await navigator.clipboard.writeText(formatLines(shown, multi));
      toast("success", `Copied ${shown.length} lines.`);
    } catch (e) {
      console.error("[sdmd logs] copy", e);
      toast("error", "Couldn't copy: the browser refused clipboard access.");
    }
  };
  const download = () => {
    const url = URL.createObjectURL(
      new Blob([formatLines(shown, multi) + "\n"], { type: "text/plain" }),
    );
    const a = document.createElement("a");
    a.href = url;
    a.download = `${service}-logs.txt`;
    a.click();
    setTimeout(() => URL.revokeObjectURL(url), 1000);
  };

  if (tail.error && !tail.data)
    return <ErrorState error={tail.error} onRetry={reload} title="Couldn't load logs" />;
  if (!tail.data) return <Skeleton className="h-72 w-full" />;

  return (
    <div className="flex flex-col gap-3">
      <div className="flex flex-wrap items-end gap-2">
        {multi && (
          <div className="grid gap-1">
            <Label htmlFor="log-container" className="text-xs text-muted-foreground">
              Container
            </Label>
            <SimpleSelect
              id="log-container"
              value={which}
              onValueChange={setWhich}
              className="h-8 min-w-44"
              options={[
                { value: "all", label: "All containers" },
                ...containers.map((c) => ({ value: c, label: c })),
              ]}
            />
          </div>
        )}
        <div className="flex-1" />
        <Button
          size="sm"
          variant={follow ? "secondary" : "outline"}
          onClick={() => {
            setStreaming(false);
            setFollow((f) => !f);
          }}
          aria-pressed={follow}
        >
          {follow ? <PauseIcon /> : <PlayIcon />}{" "}
          {follow ? (streaming ? "Following" : "Reconnecting…") : "Follow"}
        </Button>
        <Button size="sm" variant="outline" onClick={() => void copy()} disabled={!shown.length}>
          <CopyIcon /> Copy
        </Button>
        <Button size="sm" variant="outline" onClick={download} disabled={!shown.length}>
          <DownloadIcon /> Download
        </Button>
        <Button size="sm" variant="ghost" onClick={reload}>
          Reload
        </Button>
      </div>
      {shown.length === 0 ? (
        <EmptyState icon={ScrollTextIcon} title="No log lines yet">
          {follow ? "Waiting for new lines…" : "The containers haven't written anything."}
        </EmptyState>
      ) : (
        <pre
          ref={box}
          tabIndex={0}
          aria-label={`Logs of ${service}`}
          data-testid="logs"
          className="max-h-[60vh] overflow-auto rounded-lg border bg-muted/40 p-3 font-mono text-xs leading-relaxed"
        >
          {shown.map((l, i) => (
            <div
              key={i}
              className={cn(
                "break-all whitespace-pre-wrap",
                l.stream === "stderr" && "text-destructive",
              )}
            >
              <span className="text-muted-foreground select-none">{l.ts.slice(11, 19)} </span>
              {multi && <span className="text-muted-foreground">{l.container} </span>}
              {l.line}
            </div>
          ))}
        </pre>
      )}
    </div>
  );
}
