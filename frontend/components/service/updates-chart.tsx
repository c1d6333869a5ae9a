"use client";

import {
  Bar,
  BarChart,
  CartesianGrid,
  Cell,
  ResponsiveContainer,
  Tooltip,
  XAxis,
  YAxis,
} from "recharts";

import type { UpdateRun } from "@/lib/api";

// SVG presentation attributes can't read CSS variables: plain colours that read on both themes.
const COLORS: Record<string, string> = {
  updated: "#16a34a",
  up_to_date: "#64748b",
  rolled_back: "#d97706",
};
const FAILED = "#dc2626";
const AXIS = "#8a8a8a";

export function formatSeconds(v: number): string {
  return v < 1 ? `${Math.round(v * 1000)} ms` : `${v.toFixed(v < 10 ? 1 : 0)} s`;
}

export interface ChartPoint {
  id: number;
  label: string;
  seconds: number;
  result: string;
}

/** Runs oldest first, with their durations in seconds (unfinished runs are left out). */
export function chartPoints(runs: UpdateRun[]): ChartPoint[] {
  return runs
    .filter((r) => r.finished_at)
    .map((r) => ({
      id: r.id,
      label: new Date(r.started_at).toLocaleDateString(undefined, {
        month: "short",
        day: "numeric",
      }),
      seconds: Math.max(
        0,
        (new Date(r.finished_at!).getTime() - new Date(r.started_at).getTime()) / 1000,
      ),
      result: r.result ?? "unknown",
    }))
    .reverse();
}

/** Update results and durations over time. */
export function UpdatesChart({ runs }: { runs: UpdateRun[] }) {
  const data = chartPoints(runs);
  if (!data.length) return null;
  return (
    <figure className="h-56 w-full" aria-label="Update durations over time, coloured by result">
      <ResponsiveContainer width="100%" height="100%">
        <BarChart data={data} margin={{ top: 8, right: 8, bottom: 0, left: 0 }}>
          <CartesianGrid strokeDasharray="3 3" stroke={AXIS} strokeOpacity={0.3} vertical={false} />
          <XAxis dataKey="label" tick={{ fontSize: 11, fill: AXIS }} stroke={AXIS} />
          <YAxis
            tickFormatter={formatSeconds}
            width={56}
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
            formatter={(v, _n, item) => [
              `${Number(v).toFixed(1)} s`,
              (item?.payload as ChartPoint | undefined)?.result ?? "",
            ]}
          />
          <Bar dataKey="seconds" radius={[4, 4, 0, 0]} maxBarSize={48}>
            {data.map((p) => (
              <Cell key={p.id} fill={COLORS[p.result] ?? FAILED} />
            ))}
          </Bar>
        </BarChart>
      </ResponsiveContainer>
      <figcaption className="sr-only">
        {data.map((p) => `${p.label}: ${p.result}, ${formatSeconds(p.seconds)}`).join("; ")}
      </figcaption>
    </figure>
  );
}
