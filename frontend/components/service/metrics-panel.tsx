"use client";

import { ActivityIcon, GaugeIcon, Loader2Icon, RefreshCwIcon } from "lucide-react";
import { useMemo, useState } from "react";
import {
  CartesianGrid,
  Line,
  LineChart,
  ReferenceLine,
  ResponsiveContainer,
  Tooltip,
  XAxis,
  YAxis,
} from "recharts";

import { EmptyState, ErrorState } from "@/components/app/error-state";
import { Button } from "@/components/ui/button";
import { Card, CardContent, CardHeader, CardTitle } from "@/components/ui/card";
import { Skeleton } from "@/components/ui/skeleton";
import { api } from "@/lib/api";
import type { ContainerSamples, ServiceStats } from "@/lib/api";
import {
  axisTime,
  byteTicks,
  formatBytes,
  formatPercent,
  formatRate,
  firstSampleAt,
  fullTime,
  hasSamples,
  hostPercent,
  maxOf,
  memoryLimits,
  niceTicks,
  perContainerRows,
  rangeBounds,
  timeTicks,
  totalRows,
  visibleStart,
  type RangeKey,
  type Row,
} from "@/lib/observe";
import { keys, useApiQuery } from "@/lib/query";

import { RangePicker } from "./range-picker";

// SVG presentation attributes can't read CSS variables: plain colours that read on both themes.
const PALETTE = ["#2563eb", "#16a34a", "#d97706", "#db2777", "#7c3aed", "#0891b2", "#dc2626"];
const AXIS = "#8a8a8a";
const RANGES = ["1h", "24h", "7d", "30d"] as const;

const RESOLUTION: Record<ServiceStats["resolution"], string> = {
  raw: "full resolution",
  "1m": "1-minute rows",
  "15m": "15-minute rows",
};

/**
 * The Metrics tab: CPU, memory, network and block I/O of the service's containers over a
 * range (`GET …/stats`), the last hour refreshed every 30 s. Loaded on demand (Recharts).
 */
export function MetricsPanel({ service }: { service: string }) {
  const [range, setRange] = useState<RangeKey>("1h");
  const stats = useApiQuery(
    keys.serviceStats(service, range),
    (signal) => api.serviceStats(service, rangeBounds(range), signal),
    { refetchInterval: range === "1h" ? 30_000 : false },
  );
  // The sampling interval and the host's size (cheap: the sampler's memory).
  const host = useApiQuery(keys.hostStats, (signal) => api.hostStats(signal));
  const data = stats.data;
  // A young service's samples fill the chart instead of a sliver at its right edge.
  const shown = useMemo(() => {
    if (!data) return null;
    const from = Date.parse(data.from);
    const to = Date.parse(data.to);
    const start = visibleStart(from, to, firstSampleAt(data.containers), 2 * data.step * 1000);
    return { from: start, to, cropped: start > from };
  }, [data]);

  return (
    <div className="flex flex-col gap-4">
      <div className="flex flex-wrap items-center gap-3">
        <RangePicker ranges={RANGES} value={range} onChange={setRange} label="Metrics range" />
        <div className="flex-1" />
        {data && hasSamples(data.containers) && (
          <span
            className="order-last w-full text-xs text-muted-foreground sm:order-none sm:w-auto"
            data-resolution={data.resolution}
          >
            {RESOLUTION[data.resolution]} · {data.step} s per point
            {shown?.cropped && ` · since ${fullTime(shown.from)}`}
            {range === "1h" && " · refreshes every 30 s"}
          </span>
        )}
        <Button
          variant="ghost"
          size="icon"
          aria-label="Refresh metrics"
          onClick={stats.reload}
          disabled={stats.loading}
        >
          {stats.loading ? <Loader2Icon className="animate-spin" /> : <RefreshCwIcon />}
        </Button>
      </div>
      {stats.error && !data ? (
        <ErrorState error={stats.error} onRetry={stats.reload} title="Couldn't load the metrics" />
      ) : !data ? (
        <div className="grid gap-4 lg:grid-cols-2" aria-busy aria-label="Loading metrics">
          {Array.from({ length: 4 }, (_, i) => (
            <Skeleton key={i} className="h-72 w-full rounded-xl" />
          ))}
        </div>
      ) : !hasSamples(data.containers) ? (
        data.source === "off" ? (
          <EmptyState icon={GaugeIcon} title="Resource sampling is off">
            SDMD runs with <code className="font-mono text-xs">SDMD_STATS_INTERVAL=off</code>; set
            it to a number of seconds to record CPU, memory and I/O.
          </EmptyState>
        ) : (
          <EmptyState icon={ActivityIcon} title="No samples yet">
            No samples yet — SDMD samples every {host.data?.interval_seconds ?? 5} s while the
            service&apos;s containers run.
          </EmptyState>
        )
      ) : (
        <Charts
          stats={data}
          from={shown?.from ?? Date.parse(data.from)}
          hostCpus={host.data?.host_cpus ?? 0}
          hostMemory={host.data?.host_memory_bytes ?? null}
        />
      )}
    </div>
  );
}

interface LineSpec {
  key: string;
  label: string;
  color: string;
}

function Charts({
  stats,
  from,
  hostCpus,
  hostMemory,
}: {
  stats: ServiceStats;
  /** Where the time axis starts (the range's start, or where a young service's data does). */
  from: number;
  hostCpus: number;
  hostMemory: number | null;
}) {
  const to = Date.parse(stats.to);
  const rangeSeconds = (to - from) / 1000;
  const containers: ContainerSamples[] = stats.containers;
  const charts = useMemo(() => {
    const cpu = perContainerRows(containers, (s) => s.cpu_percent, stats.step);
    const mem = perContainerRows(containers, (s) => s.memory_bytes, stats.step);
    const lines = (series: { key: string; label: string }[]): LineSpec[] =>
      series.map((s, i) => ({ ...s, color: PALETTE[i % PALETTE.length]! }));
    return {
      cpu: { rows: cpu.rows, lines: lines(cpu.series) },
      mem: { rows: mem.rows, lines: lines(mem.series) },
      limits: memoryLimits(containers, hostMemory),
      net: totalRows(
        containers,
        { rx: (s) => s.net_rx_bytes_per_s, tx: (s) => s.net_tx_bytes_per_s },
        stats.step,
      ),
      block: totalRows(
        containers,
        { read: (s) => s.block_read_bytes_per_s, write: (s) => s.block_write_bytes_per_s },
        stats.step,
      ),
    };
  }, [containers, stats.step, hostMemory]);

  const last = (rows: Row[], key: string) => {
    for (let i = rows.length - 1; i >= 0; i--) {
      const v = rows[i]![key];
      if (typeof v === "number") return v;
    }
    return null;
  };
  const sumLast = (rows: Row[], lines: LineSpec[]) => {
    let sum: number | null = null;
    for (const l of lines) {
      const v = last(rows, l.key);
      if (v !== null) sum = (sum ?? 0) + v;
    }
    return sum;
  };
  const cpuNow = sumLast(charts.cpu.rows, charts.cpu.lines);
  const memNow = sumLast(charts.mem.rows, charts.mem.lines);
  const hostShare = cpuNow === null ? null : hostPercent(cpuNow, hostCpus);
  const netKnown = charts.net.some((r) => r.rx !== null || r.tx !== null);
  const limitTop = Math.max(0, ...charts.limits.map((l) => l.bytes));
  const limitValues = [...new Set(charts.limits.map((l) => l.bytes))];

  const axis = { from, to, rangeSeconds };
  return (
    <div className="grid gap-4 lg:grid-cols-2">
      <ChartCard
        title="CPU"
        now={
          cpuNow === null
            ? undefined
            : `${formatPercent(cpuNow)} of one core${hostShare === null ? "" : ` · ${formatPercent(hostShare)} of the host`}`
        }
        lines={charts.cpu.lines}
      >
        <TimeChart
          testId="metrics-cpu-chart"
          label="CPU per container, percent of one core"
          rows={charts.cpu.rows}
          lines={charts.cpu.lines}
          ticks={niceTicks(
            maxOf(
              charts.cpu.rows,
              charts.cpu.lines.map((l) => l.key),
            ),
          )}
          format={(v) => `${Number(v.toPrecision(3))}%`}
          tooltip={formatPercent}
          {...axis}
        />
      </ChartCard>
      <ChartCard
        title="Memory"
        now={
          memNow === null
            ? undefined
            : `${formatBytes(memNow)}${limitValues.length === 1 ? ` of ${formatBytes(limitValues[0])} limit` : limitValues.length === 0 ? " · no limit" : ""}`
        }
        lines={charts.mem.lines}
        extra={limitValues.length > 0 ? "dashed: limit" : undefined}
      >
        <TimeChart
          testId="metrics-memory-chart"
          label="Memory per container"
          rows={charts.mem.rows}
          lines={charts.mem.lines}
          ticks={byteTicks(
            Math.max(
              maxOf(
                charts.mem.rows,
                charts.mem.lines.map((l) => l.key),
              ),
              limitTop,
            ),
          )}
          format={formatBytes}
          tooltip={formatBytes}
          limits={limitValues}
          {...axis}
        />
      </ChartCard>
      <ChartCard
        title="Network"
        now={
          netKnown
            ? `↓ ${formatRate(last(charts.net, "rx"))} · ↑ ${formatRate(last(charts.net, "tx"))}`
            : undefined
        }
        lines={[
          { key: "rx", label: "received", color: "#0891b2" },
          { key: "tx", label: "sent", color: "#db2777" },
        ]}
      >
        {netKnown ? (
          <TimeChart
            testId="metrics-network-chart"
            label="Network received and sent, bytes per second"
            rows={charts.net}
            lines={[
              { key: "rx", label: "received", color: "#0891b2" },
              { key: "tx", label: "sent", color: "#db2777" },
            ]}
            ticks={byteTicks(maxOf(charts.net, ["rx", "tx"]))}
            format={formatRate}
            tooltip={formatRate}
            {...axis}
          />
        ) : (
          <p className="flex h-56 items-center justify-center text-sm text-muted-foreground">
            Not measured: the containers use the host&apos;s network.
          </p>
        )}
      </ChartCard>
      <ChartCard
        title="Block I/O"
        now={`read ${formatRate(last(charts.block, "read"))} · write ${formatRate(last(charts.block, "write"))}`}
        lines={[
          { key: "read", label: "read", color: "#2563eb" },
          { key: "write", label: "written", color: "#d97706" },
        ]}
      >
        <TimeChart
          testId="metrics-block-chart"
          label="Block reads and writes, bytes per second"
          rows={charts.block}
          lines={[
            { key: "read", label: "read", color: "#2563eb" },
            { key: "write", label: "written", color: "#d97706" },
          ]}
          ticks={byteTicks(maxOf(charts.block, ["read", "write"]))}
          format={formatRate}
          tooltip={formatRate}
          {...axis}
        />
      </ChartCard>
    </div>
  );
}

function ChartCard({
  title,
  now,
  lines,
  extra,
  children,
}: {
  title: string;
  now?: string;
  lines: LineSpec[];
  extra?: string;
  children: React.ReactNode;
}) {
  return (
    <Card className="gap-3 py-4">
      <CardHeader className="items-baseline px-4">
        <CardTitle className="text-sm">{title}</CardTitle>
        {now && <span className="text-xs text-muted-foreground tabular-nums">{now}</span>}
      </CardHeader>
      <CardContent className="px-2">{children}</CardContent>
      {(lines.length > 1 || extra) && (
        <ul className="flex flex-wrap gap-x-4 gap-y-1 px-4 text-xs text-muted-foreground">
          {lines.length > 1 &&
            lines.map((l) => (
              <li key={l.key} className="inline-flex min-w-0 items-center gap-1.5">
                <span
                  className="size-2 shrink-0 rounded-full"
                  style={{ background: l.color }}
                  aria-hidden
                />
                <span className="truncate">{l.label}</span>
              </li>
            ))}
          {extra && <li>{extra}</li>}
        </ul>
      )}
    </Card>
  );
}

function TimeChart({
  testId,
  label,
  rows,
  lines,
  ticks,
  format,
  tooltip,
  limits = [],
  from,
  to,
  rangeSeconds,
}: {
  testId: string;
  label: string;
  rows: Row[];
  lines: LineSpec[];
  ticks: number[];
  format: (v: number) => string;
  tooltip: (v: number) => string;
  limits?: number[];
  from: number;
  to: number;
  rangeSeconds: number;
}) {
  const top = ticks[ticks.length - 1] ?? 1;
  // A series of one or two points draws (almost) no line: show its points.
  const sparse = (key: string) => rows.filter((r) => typeof r[key] === "number").length < 3;
  return (
    <figure className="h-56 w-full" aria-label={label} data-testid={testId}>
      <ResponsiveContainer width="100%" height="100%">
        <LineChart data={rows} margin={{ top: 8, right: 12, bottom: 0, left: 0 }}>
          <CartesianGrid strokeDasharray="3 3" stroke={AXIS} strokeOpacity={0.3} vertical={false} />
          <XAxis
            dataKey="t"
            type="number"
            scale="time"
            domain={[from, to]}
            ticks={timeTicks(from, to)}
            tickFormatter={(v: number) => axisTime(v, rangeSeconds)}
            tick={{ fontSize: 11, fill: AXIS }}
            stroke={AXIS}
          />
          <YAxis
            domain={[0, top]}
            ticks={ticks}
            tickFormatter={format}
            width={72}
            tick={{ fontSize: 11, fill: AXIS }}
            stroke={AXIS}
          />
          <Tooltip
            contentStyle={{
              background: "var(--popover)",
              border: "1px solid var(--border)",
              borderRadius: 8,
              fontSize: 12,
            }}
            labelFormatter={(v) => fullTime(Number(v))}
            formatter={(v, name) => [
              v === null || v === undefined ? "—" : tooltip(Number(v)),
              name,
            ]}
          />
          {limits.map((l) => (
            <ReferenceLine
              key={l}
              y={l}
              stroke="#dc2626"
              strokeDasharray="6 4"
              strokeOpacity={0.8}
              ifOverflow="extendDomain"
              label={{
                value: `limit ${formatBytes(l)}`,
                position: "insideTopRight",
                fontSize: 11,
                fill: AXIS,
              }}
            />
          ))}
          {lines.map((l) => (
            <Line
              key={l.key}
              type="monotone"
              dataKey={l.key}
              name={l.label}
              stroke={l.color}
              strokeWidth={1.5}
              dot={sparse(l.key) ? { r: 2.5, fill: l.color, strokeWidth: 0 } : false}
              isAnimationActive={false}
              connectNulls={false}
            />
          ))}
        </LineChart>
      </ResponsiveContainer>
      <figcaption className="sr-only">
        {label}
        {lines.map((l) => {
          const v = [...rows].reverse().find((r) => typeof r[l.key] === "number")?.[l.key];
          return typeof v === "number" ? `; ${l.label} now ${tooltip(v)}` : "";
        })}
      </figcaption>
    </figure>
  );
}
