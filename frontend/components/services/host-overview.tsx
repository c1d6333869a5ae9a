"use client";

import { ActivityIcon, GaugeIcon } from "lucide-react";
import Link from "next/link";

import { Skeleton } from "@/components/ui/skeleton";
import type { ApiError, ContainerNow, HostStats } from "@/lib/api";
import { formatBytes, formatPercent, hostPercent, share, sourceLabel } from "@/lib/observe";
import { nameOfId } from "@/lib/status";
import { cn } from "@/lib/utils";

import { serviceHref } from "./links";

/** A thin bar for a share of 0–100 %; amber above 80 %, red above 95 %. */
function Meter({ value, label }: { value: number | null; label: string }) {
  const v = value === null ? 0 : Math.min(100, Math.max(0, value));
  return (
    <div
      role="meter"
      aria-label={label}
      aria-valuemin={0}
      aria-valuemax={100}
      aria-valuenow={Math.round(v)}
      className="h-1.5 w-full overflow-hidden rounded-full bg-muted"
    >
      <div
        className={cn(
          "h-full rounded-full transition-[width] duration-500",
          v > 95 ? "bg-destructive" : v > 80 ? "bg-warning" : "bg-foreground/70",
        )}
        style={{ width: `${v}%` }}
      />
    </div>
  );
}

function Figure({
  label,
  value,
  meter,
  sub,
}: {
  label: string;
  value: string;
  meter: number | null;
  sub: React.ReactNode;
}) {
  return (
    <div className="flex min-w-0 flex-col gap-1.5">
      <div className="min-h-8 text-xs leading-4 text-muted-foreground sm:min-h-0">{label}</div>
      <div className="truncate text-lg font-semibold tabular-nums sm:text-xl">{value}</div>
      <Meter value={meter} label={label} />
      <div className="truncate text-xs text-muted-foreground">{sub}</div>
    </div>
  );
}

/** "app" or "app / db" when the service has several members. */
function consumerName(c: ContainerNow): string {
  const name = nameOfId(c.service);
  return c.member && c.member !== name ? `${name} / ${c.member}` : name;
}

function Top({
  title,
  list,
  value,
}: {
  title: string;
  list: ContainerNow[];
  value: (c: ContainerNow) => string;
}) {
  return (
    <div className="min-w-0">
      <div className="mb-1.5 text-xs text-muted-foreground">{title}</div>
      {list.length === 0 ? (
        <p className="text-xs text-muted-foreground">Nothing running</p>
      ) : (
        <ol className="flex flex-col gap-1">
          {list.slice(0, 3).map((c) => (
            <li key={c.container} className="flex items-baseline gap-2 text-sm">
              <Link
                href={serviceHref(c.service)}
                className="min-w-0 flex-1 truncate hover:underline"
                title={c.container}
              >
                {consumerName(c)}
              </Link>
              <span className="shrink-0 text-xs text-muted-foreground tabular-nums">
                {value(c)}
              </span>
            </li>
          ))}
        </ol>
      )}
    </div>
  );
}

/**
 * The host at a glance above the services list: host CPU, the containers' CPU (as a share of
 * the host) and memory (against the host's), the busiest containers, and where the figures come
 * from. Hidden when the server has no stats route; a short note when sampling is off.
 */
export function HostOverview({
  stats,
  error,
}: {
  stats: HostStats | undefined;
  error: ApiError | null;
}) {
  if (!stats) {
    if (error) return null;
    return <Skeleton className="h-[8.5rem] w-full rounded-lg" />;
  }
  if (stats.source === "off")
    return (
      <section
        data-testid="host-overview"
        aria-label="Host overview"
        className="flex items-center gap-3 rounded-lg border border-dashed px-4 py-3 text-sm text-muted-foreground"
      >
        <GaugeIcon className="size-4 shrink-0" aria-hidden />
        <p>
          Resource sampling is off (
          <code className="font-mono text-xs">SDMD_STATS_INTERVAL=off</code>
          ). Set it to a number of seconds to see CPU and memory here.
        </p>
      </section>
    );

  const cpus = stats.host_cpus;
  const ready = stats.at !== null && stats.at !== undefined;
  const containersCpu = hostPercent(stats.containers_cpu_percent, cpus);
  const memShare = share(stats.containers_memory_bytes, stats.host_memory_bytes);
  const hostCpu = stats.host_cpu_percent ?? null;
  return (
    <section
      data-testid="host-overview"
      aria-label="Host overview"
      className="rounded-lg border bg-card p-4"
    >
      <div className="flex flex-wrap items-center gap-x-2 gap-y-1 text-xs text-muted-foreground">
        <ActivityIcon className="size-3.5" aria-hidden />
        <span className="font-medium text-foreground">Host</span>
        <span>
          {sourceLabel(stats.source)}
          {stats.interval_seconds ? ` · every ${stats.interval_seconds} s` : ""}
          {!ready && " · waiting for the first sample"}
        </span>
      </div>
      <div className="mt-3 grid grid-cols-3 gap-x-4 gap-y-4 sm:gap-x-6 lg:grid-cols-[repeat(3,minmax(0,1fr))_minmax(0,2fr)]">
        <Figure
          label="Host CPU"
          value={ready ? formatPercent(hostCpu) : "—"}
          meter={ready ? hostCpu : null}
          sub={
            hostCpu === null && ready ? "not readable here" : `${cpus} CPU${cpus === 1 ? "" : "s"}`
          }
        />
        <Figure
          label="Containers CPU"
          value={ready ? formatPercent(containersCpu) : "—"}
          meter={ready ? containersCpu : null}
          sub={
            ready
              ? `${(stats.containers_cpu_percent / 100).toFixed(2)} of ${cpus} cores`
              : "of the host"
          }
        />
        <Figure
          label="Containers memory"
          value={ready ? formatBytes(stats.containers_memory_bytes) : "—"}
          meter={ready ? memShare : null}
          sub={`of ${formatBytes(stats.host_memory_bytes)}${ready && memShare !== null ? ` · ${formatPercent(memShare)}` : ""}`}
        />
        <div className="col-span-3 grid grid-cols-2 gap-4 lg:col-span-1">
          <Top title="Top CPU" list={stats.top_cpu} value={(c) => formatPercent(c.cpu_percent)} />
          <Top
            title="Top memory"
            list={stats.top_memory}
            value={(c) => formatBytes(c.memory_bytes)}
          />
        </div>
      </div>
    </section>
  );
}
