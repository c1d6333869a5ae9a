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

import type { UpdateRun } from "@/lib/schemas";

const COLORS: Record<string, string> = {
  updated: "var(--success)",
  up_to_date: "var(--muted-foreground)",
  rolled_back: "var(--warning)",
};

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
        <BarChart data={data} margin={{ top: 8, right: 8, bottom: 0, left: -12 }}>
          <CartesianGrid strokeDasharray="3 3" stroke="var(--border)" vertical={false} />
          <XAxis dataKey="label" tick={{ fontSize: 11, fill: "var(--muted-foreground)" }} />
          <YAxis unit="s" tick={{ fontSize: 11, fill: "var(--muted-foreground)" }} />
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
          <Bar dataKey="seconds" radius={[4, 4, 0, 0]}>
            {data.map((p) => (
              <Cell key={p.id} fill={COLORS[p.result] ?? "var(--destructive)"} />
            ))}
          </Bar>
        </BarChart>
      </ResponsiveContainer>
      <figcaption className="sr-only">
        {data.map((p) => `${p.label}: ${p.result}, ${p.seconds.toFixed(1)} seconds`).join("; ")}
      </figcaption>
    </figure>
  );
}
