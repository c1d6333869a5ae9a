"use client";

import { CircleAlertIcon, HistoryIcon, Loader2Icon, RefreshCwIcon } from "lucide-react";
import { useMemo, useState } from "react";

import { EmptyState, ErrorState } from "@/components/app/error-state";
import { Alert, AlertDescription, AlertTitle } from "@/components/ui/alert";
import { Badge } from "@/components/ui/badge";
import { Button } from "@/components/ui/button";
import { Card, CardContent, CardDescription, CardHeader, CardTitle } from "@/components/ui/card";
import { Skeleton } from "@/components/ui/skeleton";
import { api } from "@/lib/api";
import type { ServiceHistory, Transition, Uptime } from "@/lib/api";
import {
  RANGE_SECONDS,
  axisTime,
  changeText,
  containerTimelines,
  formatDuration,
  fullTime,
  rangeBounds,
  segmentClass,
  timeTicks,
  timelineStart,
  uptimeText,
  windowLabel,
  type ContainerTimeline,
  type Segment,
} from "@/lib/observe";
import { keys, useApiQuery } from "@/lib/query";
import { cn, timeAgo } from "@/lib/utils";

import { RangePicker } from "./range-picker";

const RANGES = ["24h", "7d", "30d"] as const;
type HistoryRange = (typeof RANGES)[number];
const PAGE = 100;
/** Unknown stretches are hatched, so they read as "no record", not as a state. */
const HATCH: React.CSSProperties = {
  backgroundImage: "repeating-linear-gradient(135deg, var(--border) 0 2px, transparent 2px 6px)",
};

/**
 * The History tab: uptime over 24 h / 7 d / 30 d, a status timeline per container, the last
 * failure with its probe output, and every recorded transition (`GET …/history`).
 */
export function HistoryPanel({ service }: { service: string }) {
  const [range, setRange] = useState<HistoryRange>("24h");
  const history = useApiQuery(
    keys.serviceHistory(service, range),
    (signal) => api.serviceHistory(service, rangeBounds(range), signal),
    { refetchInterval: range === "24h" ? 30_000 : false },
  );
  const data = history.data;
  return (
    <div className="flex flex-col gap-4">
      <div className="flex flex-wrap items-center gap-3">
        <RangePicker ranges={RANGES} value={range} onChange={setRange} label="History range" />
        <div className="flex-1" />
        <Button
          variant="ghost"
          size="icon"
          aria-label="Refresh history"
          onClick={history.reload}
          disabled={history.loading}
        >
          {history.loading ? <Loader2Icon className="animate-spin" /> : <RefreshCwIcon />}
        </Button>
      </div>
      {history.error && !data ? (
        <ErrorState
          error={history.error}
          onRetry={history.reload}
          title="Couldn't load the history"
        />
      ) : !data ? (
        <div className="flex flex-col gap-4" aria-busy aria-label="Loading history">
          <div className="grid gap-4 sm:grid-cols-3">
            {Array.from({ length: 3 }, (_, i) => (
              <Skeleton key={i} className="h-28 w-full rounded-xl" />
            ))}
          </div>
          <Skeleton className="h-40 w-full rounded-xl" />
        </div>
      ) : (
        <HistoryView history={data} rangeSeconds={RANGE_SECONDS[range]} />
      )}
    </div>
  );
}

function HistoryView({ history, rangeSeconds }: { history: ServiceHistory; rangeSeconds: number }) {
  const rangeFrom = Date.parse(history.from);
  const to = Date.parse(history.to);
  // The timeline covers what was recorded: a young service's (or a fresh SDMD's) few minutes
  // fill the bar instead of a sliver at its right edge.
  const from = useMemo(
    () =>
      timelineStart(
        rangeFrom,
        to,
        history.uptime.find((u) => u.window_seconds === rangeSeconds)?.observed_seconds,
        history.transitions,
      ),
    [history.uptime, history.transitions, rangeFrom, to, rangeSeconds],
  );
  const timelines = useMemo(
    () => containerTimelines(history.transitions, from, to),
    [history.transitions, from, to],
  );
  const uptime = [...history.uptime].sort((a, b) => a.window_seconds - b.window_seconds);
  return (
    <>
      <div className="grid grid-cols-3 gap-2 sm:gap-4" data-testid="history-uptime">
        {uptime.map((u) => (
          <UptimeCard key={u.window_seconds} u={u} />
        ))}
      </div>
      {history.last_failure && <LastFailure t={history.last_failure} />}
      <Card className="gap-3 py-4" data-testid="history-timeline">
        <CardHeader className="items-baseline px-4">
          <CardTitle className="text-sm">Status timeline</CardTitle>
          <CardDescription className="text-xs">
            {fullTime(from)} – {fullTime(to)}
            {from > rangeFrom && " (from the first record)"}
          </CardDescription>
        </CardHeader>
        <CardContent className="px-4">
          {timelines.length === 0 ? (
            <p className="text-sm text-muted-foreground">
              No state changes recorded in this range.
            </p>
          ) : (
            <Timelines timelines={timelines} from={from} to={to} />
          )}
        </CardContent>
      </Card>
      <Events transitions={history.transitions} truncated={history.truncated} />
    </>
  );
}

/** A duration whose numbers stay with their units when the line wraps ("12 s", "1 h 5 min"). */
const unbroken = (seconds: number) => formatDuration(seconds).replace(/ (?=[a-z])/g, "\u00a0");

function UptimeCard({ u }: { u: Uptime }) {
  const partial = u.observed_seconds > 0 && u.observed_seconds < u.window_seconds;
  return (
    <Card className="gap-2 py-4" data-window={u.window_seconds}>
      <CardHeader className="px-3 sm:px-4">
        <CardTitle className="text-xs font-normal text-muted-foreground">
          Last {windowLabel(u.window_seconds)}
        </CardTitle>
      </CardHeader>
      <CardContent className="flex flex-col gap-1 px-3 sm:px-4">
        <div className="text-xl font-semibold tabular-nums sm:text-2xl" data-uptime>
          {uptimeText(u)}
          <span className="sr-only"> uptime</span>
        </div>
        <div className="text-xs text-muted-foreground">
          {u.restarts} restart{u.restarts === 1 ? "" : "s"} ·{" "}
          {u.unhealthy_seconds > 0
            ? `unhealthy for ${unbroken(u.unhealthy_seconds)}`
            : "never unhealthy"}
        </div>
        {(partial || u.observed_seconds === 0) && (
          <div className="text-xs text-muted-foreground">
            {u.observed_seconds === 0
              ? "nothing recorded yet"
              : `recorded for ${unbroken(u.observed_seconds)}`}
          </div>
        )}
      </CardContent>
    </Card>
  );
}

function LastFailure({ t }: { t: Transition }) {
  return (
    <Alert variant="destructive" data-testid="history-last-failure">
      <CircleAlertIcon />
      <AlertTitle>
        Last failure · {fullTime(t.at)}{" "}
        <span className="font-normal opacity-80">({timeAgo(t.at)})</span>
      </AlertTitle>
      <AlertDescription className="flex flex-col gap-2">
        <p className="flex flex-wrap items-center gap-2">
          <span className="font-mono text-xs">{t.container}</span>
          <span>{changeText(t)}</span>
          {t.exit_code !== null && t.exit_code !== undefined && (
            <span>exit code {t.exit_code}</span>
          )}
          {t.oom_killed && <Badge variant="destructive">OOM killed</Badge>}
        </p>
        {t.probe_output?.trim() && (
          <pre className="max-h-48 overflow-auto rounded-md bg-muted p-3 font-mono text-xs whitespace-pre-wrap text-foreground">
            {t.probe_output}
          </pre>
        )}
      </AlertDescription>
    </Alert>
  );
}

function segmentTitle(s: Segment): string {
  return `${s.value ?? "unknown"} · ${fullTime(s.start)} – ${fullTime(s.end)} (${formatDuration((s.end - s.start) / 1000)})`;
}

function Bar({
  segments,
  kind,
  from,
  to,
  className,
}: {
  segments: Segment[];
  kind: Transition["kind"];
  from: number;
  to: number;
  className?: string;
}) {
  const span = to - from;
  return (
    <div className={cn("relative w-full overflow-hidden rounded-sm bg-muted/50", className)}>
      {segments.map((s) => (
        <div
          key={s.start}
          data-segment={s.value ?? "unknown"}
          title={segmentTitle(s)}
          className={cn("absolute inset-y-0", segmentClass(kind, s.value))}
          style={{
            ...(s.value === null ? HATCH : {}),
            left: `${((s.start - from) / span) * 100}%`,
            // At least a sliver, so a short restart stays visible.
            width: `max(2px, ${((s.end - s.start) / span) * 100}%)`,
          }}
        />
      ))}
    </div>
  );
}

function Timelines({
  timelines,
  from,
  to,
}: {
  timelines: ContainerTimeline[];
  from: number;
  to: number;
}) {
  const ticks = timeTicks(from, to, 6);
  const spanSeconds = (to - from) / 1000;
  const anyHealth = timelines.some((t) => t.health);
  const summary = (t: ContainerTimeline) =>
    t.state.map((s) => `${s.value ?? "unknown"} from ${fullTime(s.start)}`).join(", ");
  return (
    <div className="flex flex-col gap-3">
      {timelines.map((t) => (
        <div
          key={t.id}
          className="grid gap-1 sm:grid-cols-[12rem_minmax(0,1fr)] sm:items-center sm:gap-3"
          data-container={t.container}
        >
          <div className="min-w-0 truncate text-xs" title={`${t.container} (${t.id.slice(0, 12)})`}>
            <span className="font-medium">{t.member}</span>{" "}
            <span className="text-muted-foreground">{t.container}</span>
          </div>
          <div
            className="flex flex-col gap-0.5"
            role="img"
            aria-label={`${t.container}: ${summary(t)}`}
          >
            <Bar segments={t.state} kind="state" from={from} to={to} className="h-5" />
            {t.health && (
              <Bar segments={t.health} kind="health" from={from} to={to} className="h-1.5" />
            )}
          </div>
        </div>
      ))}
      <div className="grid sm:grid-cols-[12rem_minmax(0,1fr)] sm:gap-3">
        <div />
        <div className="relative h-4 text-[11px] text-muted-foreground" aria-hidden>
          {ticks.map((tk) => {
            const left = ((tk - from) / (to - from)) * 100;
            return (
              <span
                key={tk}
                className="absolute -translate-x-1/2 whitespace-nowrap tabular-nums"
                style={{ left: `${Math.min(96, Math.max(4, left))}%` }}
              >
                {axisTime(tk, spanSeconds)}
              </span>
            );
          })}
        </div>
      </div>
      <ul className="flex flex-wrap gap-x-4 gap-y-1 text-xs text-muted-foreground">
        {(
          [
            ["state", "running", "running"],
            ["state", "exited", "exited / dead"],
            ["state", "restarting", "restarting"],
            ["state", "paused", "paused"],
            ["state", null, "unknown"],
          ] as const
        ).map(([kind, v, label]) => (
          <li key={label} className="inline-flex items-center gap-1.5">
            <span
              className={cn("size-2.5 rounded-sm", segmentClass(kind, v))}
              style={v === null ? HATCH : undefined}
              aria-hidden
            />
            {label}
          </li>
        ))}
        {anyHealth && (
          <li className="inline-flex items-center gap-1.5">
            <span
              className={cn("h-1.5 w-3 rounded-sm", segmentClass("health", "unhealthy"))}
              aria-hidden
            />
            unhealthy (thin bar: health)
          </li>
        )}
      </ul>
    </div>
  );
}

function Events({ transitions, truncated }: { transitions: Transition[]; truncated: boolean }) {
  const [shown, setShown] = useState(PAGE);
  const newest = useMemo(
    () => [...transitions].sort((a, b) => Date.parse(b.at) - Date.parse(a.at)),
    [transitions],
  );
  return (
    <section aria-label="Events" className="flex flex-col gap-2" data-testid="history-events">
      <h3 className="flex items-baseline gap-2 text-sm font-medium">
        Events
        <span className="text-xs font-normal text-muted-foreground">
          {transitions.length}
          {truncated && " (the newest; the range holds more)"}
        </span>
      </h3>
      {newest.length === 0 ? (
        <EmptyState icon={HistoryIcon} title="No events in this range">
          State and health changes of the containers appear here as Docker reports them.
        </EmptyState>
      ) : (
        <div className="overflow-x-auto rounded-lg border">
          <table className="w-full text-sm">
            <caption className="sr-only">State and health changes, newest first</caption>
            <thead className="bg-muted/40 text-left text-xs text-muted-foreground">
              <tr>
                <th className="px-3 py-2 font-medium">Time</th>
                <th className="px-3 py-2 font-medium">Container</th>
                <th className="px-3 py-2 font-medium">Kind</th>
                <th className="px-3 py-2 font-medium">Change</th>
                <th className="px-3 py-2 font-medium">Exit code</th>
                <th className="px-3 py-2 font-medium">Details</th>
              </tr>
            </thead>
            <tbody>
              {newest.slice(0, shown).map((t, i) => (
                <tr
                  key={`${t.container_id}-${t.at}-${t.kind}-${i}`}
                  className="border-t align-top"
                  data-event-kind={t.kind}
                  data-event-to={t.to}
                >
                  <td className="px-3 py-2 text-xs whitespace-nowrap tabular-nums" title={t.at}>
                    {fullTime(t.at)}
                  </td>
                  <td className="max-w-56 truncate px-3 py-2 font-mono text-xs" title={t.container}>
                    {t.container}
                  </td>
                  <td className="px-3 py-2 text-xs text-muted-foreground">{t.kind}</td>
                  <td className="px-3 py-2 text-xs whitespace-nowrap">
                    <span className="text-muted-foreground">{t.from ?? "—"}</span> →{" "}
                    <span className={cn("font-medium", textTone(t))}>{t.to}</span>
                  </td>
                  <td className="px-3 py-2 font-mono text-xs">{t.exit_code ?? "—"}</td>
                  <td className="px-3 py-2 text-xs">
                    <div className="flex flex-col items-start gap-1">
                      {t.oom_killed && <Badge variant="destructive">OOM killed</Badge>}
                      {t.probe_output?.trim() ? (
                        <details className="max-w-md">
                          <summary className="cursor-pointer whitespace-nowrap text-muted-foreground select-none hover:text-foreground">
                            Probe output
                          </summary>
                          <pre className="mt-1 max-h-40 overflow-auto rounded-md bg-muted p-2 font-mono text-xs whitespace-pre-wrap">
                            {t.probe_output}
                          </pre>
                        </details>
                      ) : (
                        !t.oom_killed && <span className="text-muted-foreground">—</span>
                      )}
                    </div>
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
      {newest.length > shown && (
        <Button
          variant="outline"
          size="sm"
          className="self-start"
          onClick={() => setShown((n) => n + PAGE)}
        >
          Show {Math.min(PAGE, newest.length - shown)} more
        </Button>
      )}
    </section>
  );
}

/** The colour of a transition's new value in the table. */
function textTone(t: Transition): string {
  if (t.to === "running" || t.to === "healthy") return "text-success";
  if (t.to === "unhealthy") return "text-orange-600 dark:text-orange-400";
  if (t.to === "exited" || t.to === "dead") return "text-destructive";
  if (t.to === "restarting") return "text-amber-600 dark:text-amber-400";
  return "";
}
