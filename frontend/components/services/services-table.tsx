"use client";

import { useWindowVirtualizer } from "@tanstack/react-virtual";
import { CalendarClockIcon, Loader2Icon } from "lucide-react";
import Link from "next/link";
import { useLayoutEffect, useRef, useState } from "react";

import { Badge } from "@/components/ui/badge";
import { Hint } from "@/components/ui/tooltip";
import type { Schedule, ServiceNow, ServiceView } from "@/lib/api";
import { formatBytes, formatPercent, hostPercent } from "@/lib/observe";
import { healthOf, imagesOf, updateLabel } from "@/lib/status";
import { timeAgo } from "@/lib/utils";

import { HealthBadge, StatusBadge } from "./badges";
import { ServiceActions } from "./service-actions";
import { countsText, serviceHref } from "./links";
import { Sparkline } from "./sparkline";
import type { Activity } from "./use-live-services";

export { countsText, serviceHref };

/** Above this many rows only the visible ones are rendered. */
const VIRTUALIZE_OVER = 50;
const ROW = 64;
const GRID =
  // Fixed widths for every column but the flexible ones, so header and rows line up. CPU and
  // memory from xl; between xl and 2xl the image moves under the name to make room for them.
  "grid grid-cols-[minmax(0,1fr)_7.5rem_2.25rem] items-center gap-2 px-3 sm:grid-cols-[minmax(0,2fr)_8rem_6.5rem_7rem_minmax(0,2fr)_7rem_9rem] sm:gap-3 sm:px-4 xl:grid-cols-[minmax(0,1fr)_7.5rem_6.5rem_6.5rem_4.75rem_4.75rem_7rem_9rem] 2xl:grid-cols-[minmax(0,2fr)_8rem_6.5rem_7rem_5rem_5rem_minmax(0,1.5fr)_7rem_9rem]";

/** The live figures the CPU and memory columns show (`GET /api/v1/stats`). */
export interface LiveStats {
  byService: Map<string, ServiceNow>;
  hostCpus: number;
  hostMemory: number;
}

/** "daily 04:00" / "weekly mon 04:00" (the time is in the schedule's own zone). */
export function scheduleText(s: Schedule): string {
  return `${s.frequency === "weekly" ? `weekly ${s.weekday ?? ""}` : "daily"} ${s.time}${s.mode === "check" ? " (check)" : ""}`;
}

/** CPU now (percent of one core) with its recent trail; "—" without running containers. */
function CpuCell({ now, hostCpus }: { now: ServiceNow | undefined; hostCpus: number }) {
  if (!now || now.containers === 0)
    return (
      <div
        role="cell"
        data-testid="cpu-cell"
        className="hidden text-xs text-muted-foreground xl:block"
      >
        —
      </div>
    );
  const host = hostPercent(now.cpu_percent, hostCpus);
  const text = `${formatPercent(now.cpu_percent)} of one core${host === null ? "" : ` · ${formatPercent(host)} of the host (${hostCpus} CPUs)`}`;
  return (
    <div
      role="cell"
      data-testid="cpu-cell"
      className="hidden min-w-0 text-xs xl:block"
      title={text}
    >
      <div className="tabular-nums">
        {formatPercent(now.cpu_percent)}
        <span className="sr-only"> CPU, {text}</span>
      </div>
      <Sparkline
        values={now.cpu_trail}
        width={64}
        height={14}
        min={0}
        minSpan={5}
        className="text-sky-600 dark:text-sky-400"
      />
    </div>
  );
}

/** Memory now with its recent trail; "—" without running containers. */
function MemoryCell({ now, hostMemory }: { now: ServiceNow | undefined; hostMemory: number }) {
  if (!now || now.containers === 0)
    return (
      <div
        role="cell"
        data-testid="memory-cell"
        className="hidden text-xs text-muted-foreground xl:block"
      >
        —
      </div>
    );
  const limited =
    now.memory_limit_bytes > 0 && (!hostMemory || now.memory_limit_bytes < hostMemory);
  const text = limited
    ? `${formatBytes(now.memory_bytes)} of a ${formatBytes(now.memory_limit_bytes)} limit`
    : `${formatBytes(now.memory_bytes)}, no memory limit`;
  return (
    <div
      role="cell"
      data-testid="memory-cell"
      className="hidden min-w-0 text-xs xl:block"
      title={text}
    >
      <div className="truncate tabular-nums">
        {formatBytes(now.memory_bytes)}
        <span className="sr-only"> memory, {text}</span>
      </div>
      <Sparkline
        values={now.memory_trail}
        width={64}
        height={14}
        minSpan={Math.max(1, now.memory_bytes) * 0.05}
        className="text-violet-600 dark:text-violet-400"
      />
    </div>
  );
}

function Row({
  s,
  activity,
  onChanged,
  stats,
}: {
  s: ServiceView;
  activity?: Activity;
  onChanged: () => void;
  stats?: LiveStats;
}) {
  const images = imagesOf(s);
  return (
    <div
      role="row"
      className={`${GRID} h-16 border-b last:border-b-0 hover:bg-muted/40`}
      data-service={s.id}
    >
      <div role="cell" className="min-w-0">
        <Link href={serviceHref(s.id)} className="block truncate font-medium hover:underline">
          {s.name}
        </Link>
        <div className="flex items-center gap-2 truncate text-xs text-muted-foreground">
          {s.kind !== "managed" && (
            <Badge variant="outline" className="px-1 py-0">
              {s.kind === "compose" ? "compose" : "unmanaged"}
            </Badge>
          )}
          {updateLabel(s) && <Badge variant="warning">{updateLabel(s)}</Badge>}
          {activity ? (
            <span className="inline-flex items-center gap-1 truncate" aria-live="polite">
              <Loader2Icon className="size-3 animate-spin" /> {activity.message}
            </span>
          ) : (
            <span className="truncate sm:hidden xl:inline 2xl:hidden">{images[0]}</span>
          )}
        </div>
      </div>
      <div role="cell">
        <StatusBadge status={s.status} />
      </div>
      <div
        role="cell"
        className="hidden text-xs text-muted-foreground tabular-nums sm:block"
        data-counts={`${s.containers_running}/${s.containers_total}`}
      >
        {countsText(s)}
      </div>
      <div role="cell" className="hidden sm:block">
        <HealthBadge health={healthOf(s.containers)} />
      </div>
      <CpuCell now={stats?.byService.get(s.id)} hostCpus={stats?.hostCpus ?? 0} />
      <MemoryCell now={stats?.byService.get(s.id)} hostMemory={stats?.hostMemory ?? 0} />
      <div
        role="cell"
        className="hidden min-w-0 truncate font-mono text-xs text-muted-foreground sm:block xl:hidden 2xl:block"
        title={images.join("\n")}
      >
        {images[0] ?? "—"}
        {images.length > 1 && ` +${images.length - 1}`}
      </div>
      <div role="cell" className="hidden text-xs text-muted-foreground sm:block">
        <div title={s.last_updated ?? undefined}>
          {s.last_updated ? timeAgo(s.last_updated) : "—"}
        </div>
        {s.schedule?.enabled && (
          <Hint content={`Next run: ${s.schedule.next_run ?? "?"}`}>
            <div tabIndex={0} className="flex w-fit items-center gap-1 truncate">
              <CalendarClockIcon className="size-3" aria-hidden />
              {scheduleText(s.schedule)}
            </div>
          </Hint>
        )}
      </div>
      <div role="cell">
        <ServiceActions service={s} onDone={onChanged} />
      </div>
    </div>
  );
}

function Header() {
  return (
    <div
      role="row"
      className={`${GRID} h-10 border-b bg-muted/40 text-xs font-medium text-muted-foreground`}
    >
      <div role="columnheader">Service</div>
      <div role="columnheader">Status</div>
      <div role="columnheader" className="hidden sm:block">
        Containers
      </div>
      <div role="columnheader" className="hidden sm:block">
        Health
      </div>
      <div role="columnheader" className="hidden xl:block">
        CPU
      </div>
      <div role="columnheader" className="hidden xl:block">
        Memory
      </div>
      <div role="columnheader" className="hidden sm:block xl:hidden 2xl:block">
        Image
      </div>
      <div role="columnheader" className="hidden sm:block">
        Last update
      </div>
      <div role="columnheader" className="text-right">
        <span className="sr-only">Actions</span>
      </div>
    </div>
  );
}

/** The services as rows; windowed over the page scroll when there are many. */
export function ServicesTable({
  services,
  activity,
  onChanged,
  stats,
}: {
  services: ServiceView[];
  activity: Record<string, Activity>;
  onChanged: () => void;
  /** Live CPU and memory per service; without it those columns show "—". */
  stats?: LiveStats;
}) {
  return (
    <div
      role="table"
      aria-label="Services"
      aria-rowcount={services.length + 1}
      className="overflow-hidden rounded-lg border"
    >
      <Header />
      {services.length > VIRTUALIZE_OVER ? (
        <Windowed services={services} activity={activity} onChanged={onChanged} stats={stats} />
      ) : (
        services.map((s) => (
          <Row key={s.id} s={s} activity={activity[s.id]} onChanged={onChanged} stats={stats} />
        ))
      )}
    </div>
  );
}

function Windowed({
  services,
  activity,
  onChanged,
  stats,
}: {
  services: ServiceView[];
  activity: Record<string, Activity>;
  onChanged: () => void;
  stats?: LiveStats;
}) {
  const ref = useRef<HTMLDivElement>(null);
  const [margin, setMargin] = useState(0);
  useLayoutEffect(() => {
    setMargin(ref.current ? ref.current.getBoundingClientRect().top + window.scrollY : 0);
  }, []);
  const v = useWindowVirtualizer({
    count: services.length,
    estimateSize: () => ROW,
    overscan: 8,
    scrollMargin: margin,
  });
  return (
    <div ref={ref} style={{ height: v.getTotalSize(), position: "relative" }}>
      {v.getVirtualItems().map((item) => {
        const s = services[item.index]!;
        return (
          <div
            key={s.id}
            aria-rowindex={item.index + 2}
            style={{
              position: "absolute",
              top: 0,
              left: 0,
              right: 0,
              transform: `translateY(${item.start - margin}px)`,
            }}
          >
            <Row s={s} activity={activity[s.id]} onChanged={onChanged} stats={stats} />
          </div>
        );
      })}
    </div>
  );
}
