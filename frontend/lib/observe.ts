/**
 * The pure part of the dashboard's observability views (host overview, the services list's
 * CPU/memory columns, a service's Metrics and History tabs): units, ranges, chart rows from the
 * per-container samples, status-timeline segments from recorded transitions, sparkline points.
 * No React here; lib/observe.test.ts covers it.
 */
import type {
  ContainerSamples,
  HostStats,
  Sample,
  ServiceNow,
  Transition,
  Uptime,
} from "@/lib/api/types";

// ---- units -------------------------------------------------------------------------------

const BYTE_UNITS = ["B", "KiB", "MiB", "GiB", "TiB", "PiB"];

/** The binary unit that suits `n` bytes: its index in B, KiB, MiB … */
function byteUnit(n: number): number {
  let i = 0;
  let v = Math.abs(n);
  while (v >= 1024 && i < BYTE_UNITS.length - 1) {
    v /= 1024;
    i++;
  }
  return i;
}

/** "0 B", "512 B", "1.5 KiB", "12.3 MiB", "1.25 GiB"; "—" for null/undefined/NaN. */
export function formatBytes(n: number | null | undefined): string {
  if (n === null || n === undefined || !Number.isFinite(n)) return "—";
  const i = byteUnit(n);
  if (i === 0) return `${Math.round(n)} B`;
  const v = n / 1024 ** i;
  const digits = Math.abs(v) >= 100 ? 0 : Math.abs(v) >= 10 ? 1 : 2;
  return `${trimZeros(v.toFixed(digits))} ${BYTE_UNITS[i]}`;
}

/** A rate: "1.5 KiB/s"; "—" when unknown. */
export function formatRate(n: number | null | undefined): string {
  const b = formatBytes(n);
  return b === "—" ? b : `${b}/s`;
}

/** "1.50" → "1.5", "2.00" → "2", "10" stays. */
function trimZeros(s: string): string {
  return s.includes(".") ? s.replace(/\.?0+$/, "") : s;
}

/**
 * A percentage: one decimal below 100 ("12.3%", "0.4%"), none above ("250%"), "<0.1%" for a
 * trace, "0%" for nothing, "—" when unknown.
 */
export function formatPercent(p: number | null | undefined): string {
  if (p === null || p === undefined || !Number.isFinite(p)) return "—";
  if (p === 0) return "0%";
  if (p > 0 && p < 0.05) return "<0.1%";
  return Math.abs(p) >= 100 ? `${Math.round(p)}%` : `${p.toFixed(1)}%`;
}

/** CPU in percent of one core as percent of the whole host (`null` without a CPU count). */
export function hostPercent(percentOfCore: number, hostCpus: number): number | null {
  return hostCpus > 0 ? percentOfCore / hostCpus : null;
}

/** `part` as percent of `whole` (0–100, `null` when `whole` is 0). */
export function share(part: number, whole: number): number | null {
  return whole > 0 ? Math.min(100, Math.max(0, (part / whole) * 100)) : null;
}

/** "0 s", "45 s", "12 min", "1 h 5 min", "2 d 3 h" (the two largest units). */
export function formatDuration(seconds: number): string {
  const s = Math.max(0, Math.round(seconds));
  const two = (a: number, an: string, b: number, bn: string) =>
    b > 0 ? `${a} ${an} ${b} ${bn}` : `${a} ${an}`;
  if (s < 60) return `${s} s`;
  if (s < 3600) return `${Math.floor(s / 60)} min`;
  if (s < 86400) return two(Math.floor(s / 3600), "h", Math.floor((s % 3600) / 60), "min");
  return two(Math.floor(s / 86400), "d", Math.floor((s % 86400) / 3600), "h");
}

/** An uptime window's name: 86 400 → "24 h", 604 800 → "7 d", 2 592 000 → "30 d". */
export function windowLabel(seconds: number): string {
  if (seconds % 86400 === 0 && seconds > 86400) return `${seconds / 86400} d`;
  if (seconds % 3600 === 0) return `${seconds / 3600} h`;
  return formatDuration(seconds);
}

/** An uptime figure: "99.9%" (one decimal), "—" when nothing was observed. */
export function uptimeText(u: Pick<Uptime, "uptime_percent">): string {
  const p = u.uptime_percent;
  return p === null || p === undefined || !Number.isFinite(p) ? "—" : `${p.toFixed(1)}%`;
}

/** What a stats source is, in words. */
export function sourceLabel(source: HostStats["source"]): string {
  return source === "cgroup" ? "cgroup files" : source === "engine" ? "Docker Engine" : "off";
}

// ---- axis ticks ----------------------------------------------------------------------------

/** 1, 2, 2.5, 5 × 10^k: the smallest such step ≥ `raw`. */
export function niceStep(raw: number): number {
  if (!(raw > 0) || !Number.isFinite(raw)) return 1;
  const exp = Math.floor(Math.log10(raw));
  const base = 10 ** exp;
  for (const m of [1, 2, 2.5, 5, 10]) if (m * base >= raw - 1e-12) return m * base;
  return 10 * base;
}

/** Round ticks from 0 to at least `max` (about `count` of them): CPU percent and the like. */
export function niceTicks(max: number, count = 4): number[] {
  const top = max > 0 && Number.isFinite(max) ? max : 1;
  const step = niceStep(top / count);
  const n = Math.max(1, Math.ceil(top / step - 1e-9));
  return Array.from({ length: n + 1 }, (_, i) => Number((i * step).toPrecision(12)));
}

/** Like {@link niceTicks} for bytes: round numbers of the binary unit that suits `max`. */
export function byteTicks(max: number, count = 4): number[] {
  const top = max > 0 && Number.isFinite(max) ? max : 1024;
  const unit = 1024 ** byteUnit(top);
  return niceTicks(top / unit, count).map((t) => t * unit);
}

// ---- ranges ---------------------------------------------------------------------------------

export type RangeKey = "1h" | "24h" | "7d" | "30d";

export const RANGE_SECONDS: Record<RangeKey, number> = {
  "1h": 3600,
  "24h": 86400,
  "7d": 7 * 86400,
  "30d": 30 * 86400,
};

export const RANGE_LABEL: Record<RangeKey, string> = {
  "1h": "1 h",
  "24h": "24 h",
  "7d": "7 d",
  "30d": "30 d",
};

/** The range ending `now`, as the API's RFC 3339 `from`/`to`. */
export function rangeBounds(range: RangeKey, now: Date = new Date()): { from: string; to: string } {
  const to = now.getTime();
  return {
    from: new Date(to - RANGE_SECONDS[range] * 1000).toISOString(),
    to: new Date(to).toISOString(),
  };
}

/**
 * A time on an axis spanning `spanSeconds`: with seconds up to 10 minutes, hours and minutes up
 * to a day, weekday and hour up to a week, day and month beyond.
 */
export function axisTime(ms: number, spanSeconds: number): string {
  const d = new Date(ms);
  if (spanSeconds <= 600)
    return d.toLocaleTimeString(undefined, {
      hour: "numeric",
      minute: "2-digit",
      second: "2-digit",
    });
  if (spanSeconds <= 86400)
    return d.toLocaleTimeString(undefined, { hour: "numeric", minute: "2-digit" });
  if (spanSeconds <= 7 * 86400)
    return d.toLocaleString(undefined, { weekday: "short", hour: "numeric" });
  return d.toLocaleDateString(undefined, { month: "short", day: "numeric" });
}

/**
 * Where a chart or timeline over `[from, to]` starts showing: at `from`, or — when the data
 * begins noticeably later (a young service, recording started later) — where it begins, so it
 * isn't a sliver at the right edge. At least `minSpanMs` stays visible.
 */
export function visibleStart(
  from: number,
  to: number,
  firstData: number | null | undefined,
  minSpanMs: number,
): number {
  if (firstData === null || firstData === undefined || !(firstData > from)) return from;
  if (firstData - from < 0.05 * (to - from)) return from;
  return Math.max(from, Math.min(firstData, to - minSpanMs));
}

const SEC = 1000;
const MIN = 60 * SEC;
const HOUR = 60 * MIN;
const DAY = 24 * HOUR;
const TICK_STEPS = [
  5 * SEC,
  10 * SEC,
  15 * SEC,
  30 * SEC,
  MIN,
  2 * MIN,
  5 * MIN,
  10 * MIN,
  15 * MIN,
  30 * MIN,
  HOUR,
  3 * HOUR,
  6 * HOUR,
  12 * HOUR,
  DAY,
  2 * DAY,
  7 * DAY,
];

/**
 * Time-axis ticks over `[from, to]` (ms) on round local times (every 10 minutes, 3 hours, a
 * day …): the finest step that gives at most `max` ticks. `offsetMs` is the local zone's offset
 * from UTC (east positive), so days start at local midnight.
 */
export function timeTicks(
  from: number,
  to: number,
  max = 6,
  offsetMs: number = -new Date(from).getTimezoneOffset() * MIN,
): number[] {
  if (!(to > from)) return [];
  const step = TICK_STEPS.find((s) => (to - from) / s <= max) ?? TICK_STEPS[TICK_STEPS.length - 1]!;
  const out: number[] = [];
  for (let t = Math.ceil((from + offsetMs) / step) * step - offsetMs; t <= to; t += step)
    out.push(t);
  return out;
}

/** A time in a tooltip or table: date and time to the second. */
export function fullTime(ms: number | string): string {
  return new Date(ms).toLocaleString(undefined, {
    month: "short",
    day: "numeric",
    hour: "2-digit",
    minute: "2-digit",
    second: "2-digit",
  });
}

// ---- chart rows -----------------------------------------------------------------------------

/** One line of a chart: a container (or a total), with the key its values have in the rows. */
export interface Series {
  key: string;
  label: string;
  member: string;
  container: string;
}

/** A chart row: the bucket's time (ms) and one value per series key (`null`: a gap). */
export type Row = { t: number } & Record<string, number | null>;

const bucketOf = (at: string, stepMs: number) => {
  const t = Date.parse(at);
  return stepMs > 0 ? Math.floor(t / stepMs) * stepMs : t;
};

/**
 * Inserts a row of gaps where consecutive rows are further apart than 2.5 steps, so a line
 * breaks where sampling stopped (a container that was down, sdmd restarted) instead of bridging.
 */
function withGaps(rows: Row[], keys: string[], stepMs: number): Row[] {
  if (stepMs <= 0) return rows;
  const out: Row[] = [];
  for (const r of rows) {
    const prev = out[out.length - 1];
    if (prev && r.t - prev.t > 2.5 * stepMs) {
      const gap = { t: prev.t + stepMs } as Row;
      for (const k of keys) gap[k] = null;
      out.push(gap);
    }
    out.push(r);
  }
  return out;
}

/** A container's series key (`c0`, `c1` …: object keys Recharts can read without escaping). */
function seriesOf(containers: ContainerSamples[]): Series[] {
  const names = new Map<string, number>();
  for (const c of containers) names.set(c.container, (names.get(c.container) ?? 0) + 1);
  return containers.map((c, i) => ({
    key: `c${i}`,
    // A recreated container keeps its name: tell the two apart by id.
    label:
      (names.get(c.container) ?? 0) > 1
        ? `${c.container} (${c.container_id.slice(0, 7)})`
        : c.container,
    member: c.member,
    container: c.container,
  }));
}

/**
 * Rows for a per-container chart: one row per time bucket (`step` seconds) with each
 * container's `pick`ed value under its series key, oldest first, gaps marked.
 */
export function perContainerRows(
  containers: ContainerSamples[],
  pick: (s: Sample) => number | null | undefined,
  step: number,
): { rows: Row[]; series: Series[] } {
  const series = seriesOf(containers);
  const stepMs = step * 1000;
  const byT = new Map<number, Row>();
  containers.forEach((c, i) => {
    const key = series[i]!.key;
    for (const s of c.samples) {
      const t = bucketOf(s.at, stepMs);
      let row = byT.get(t);
      if (!row) {
        row = { t } as Row;
        byT.set(t, row);
      }
      const v = pick(s);
      row[key] = v === undefined ? null : v;
    }
  });
  const rows = [...byT.values()].sort((a, b) => a.t - b.t);
  return {
    rows: withGaps(
      rows,
      series.map((s) => s.key),
      stepMs,
    ),
    series,
  };
}

/**
 * Rows for a totals chart (network, block I/O): per time bucket the sum over containers of each
 * named `pick` (`null` when no container knows the value — host network).
 */
export function totalRows(
  containers: ContainerSamples[],
  picks: Record<string, (s: Sample) => number | null | undefined>,
  step: number,
): Row[] {
  const stepMs = step * 1000;
  const names = Object.keys(picks);
  const byT = new Map<number, Row>();
  for (const c of containers) {
    for (const s of c.samples) {
      const t = bucketOf(s.at, stepMs);
      let row = byT.get(t);
      if (!row) {
        row = { t } as Row;
        for (const n of names) row[n] = null;
        byT.set(t, row);
      }
      for (const n of names) {
        const v = picks[n]!(s);
        if (v !== null && v !== undefined) row[n] = (row[n] ?? 0) + v;
      }
    }
  }
  return withGaps(
    [...byT.values()].sort((a, b) => a.t - b.t),
    names,
    stepMs,
  );
}

/** The largest value of `keys` over the rows (0 when there is none). */
export function maxOf(rows: Row[], keys: string[]): number {
  let m = 0;
  for (const r of rows)
    for (const k of keys) {
      const v = r[k];
      if (typeof v === "number" && v > m) m = v;
    }
  return m;
}

/** The time of the earliest sample of any container (ms), `null` when there is none. */
export function firstSampleAt(containers: ContainerSamples[]): number | null {
  let first: number | null = null;
  for (const c of containers) {
    const s = c.samples[0];
    if (!s) continue;
    const t = Date.parse(s.at);
    if (first === null || t < first) first = t;
  }
  return first;
}

/** Whether any container has a sample. */
export function hasSamples(containers: ContainerSamples[] | undefined): boolean {
  return (containers ?? []).some((c) => c.samples.length > 0);
}

/**
 * Each container's memory limit, when it is a real one: a container without a limit reports
 * the host's memory, which would only flatten the chart.
 */
export function memoryLimits(
  containers: ContainerSamples[],
  hostMemory: number | null | undefined,
): { key: string; label: string; bytes: number }[] {
  const series = seriesOf(containers);
  const out: { key: string; label: string; bytes: number }[] = [];
  containers.forEach((c, i) => {
    const last = c.samples[c.samples.length - 1];
    const bytes = last?.memory_limit_bytes ?? 0;
    if (bytes <= 0) return;
    if (hostMemory && bytes >= hostMemory) return;
    out.push({ key: series[i]!.key, label: series[i]!.label, bytes });
  });
  return out;
}

// ---- the services list ----------------------------------------------------------------------

/** The live figures by service id (`ServiceNow.service` is the id of the services list). */
export function statsByService(host: HostStats | undefined): Map<string, ServiceNow> {
  const m = new Map<string, ServiceNow>();
  for (const s of host?.services ?? []) m.set(s.service, s);
  return m;
}

/**
 * A sparkline as SVG polyline points in a `width`×`height` box (y down), over `[min, max]`:
 * the values' own range unless given, widened to at least `minSpan` so noise stays flat.
 * Fewer than two values: an empty string.
 */
export function sparkPoints(
  values: readonly number[],
  width: number,
  height: number,
  opts: { min?: number; max?: number; minSpan?: number } = {},
): string {
  const vs = values.filter((v) => Number.isFinite(v));
  if (vs.length < 2) return "";
  let lo = opts.min ?? Math.min(...vs);
  let hi = opts.max ?? Math.max(...vs);
  const span = Math.max(hi - lo, opts.minSpan ?? 0);
  if (span <= 0) {
    // Flat: draw it in the middle.
    lo -= 1;
    hi += 1;
  } else if (hi - lo < span) {
    if (opts.min !== undefined) hi = lo + span;
    else {
      const mid = (hi + lo) / 2;
      lo = mid - span / 2;
      hi = mid + span / 2;
    }
  }
  const pad = 1; // keep the stroke inside the box
  const dx = (width - 2 * pad) / (vs.length - 1);
  const fmt = (n: number) => Number(n.toFixed(1)).toString();
  return vs
    .map((v, i) => {
      const y = pad + (1 - (v - lo) / (hi - lo)) * (height - 2 * pad);
      return `${fmt(pad + i * dx)},${fmt(Math.min(height - pad, Math.max(pad, y)))}`;
    })
    .join(" ");
}

// ---- the status timeline --------------------------------------------------------------------

/** A stretch of time with one state or health value (`null`: unknown). */
export interface Segment {
  start: number;
  end: number;
  value: string | null;
}

/**
 * Segments of one container's `kind` over `[from, to]` (ms), from its transitions: unknown
 * (`null`) before the first transition in range — its `from` says what the value was just
 * before, not since when — then each transition's `to`. Adjacent equal values merge.
 */
export function timelineSegments(
  transitions: readonly Transition[],
  kind: Transition["kind"],
  from: number,
  to: number,
): Segment[] {
  if (!(to > from)) return [];
  const ts = transitions
    .filter((t) => t.kind === kind)
    .map((t) => ({ at: Date.parse(t.at), from: t.from ?? null, to: t.to }))
    .sort((a, b) => a.at - b.at);
  const raw: Segment[] = [];
  let value: string | null = null;
  let start = from;
  for (const t of ts) {
    const at = Math.min(to, Math.max(from, t.at));
    if (at > start) raw.push({ start, end: at, value });
    value = t.to;
    start = Math.max(start, at);
  }
  if (to > start) raw.push({ start, end: to, value });
  return mergeSegments(raw);
}

function mergeSegments(segs: Segment[]): Segment[] {
  const out: Segment[] = [];
  for (const s of segs) {
    if (s.end <= s.start) continue;
    const prev = out[out.length - 1];
    if (prev && prev.value === s.value && prev.end === s.start) prev.end = s.end;
    else out.push({ ...s });
  }
  return out;
}

/**
 * Health where it means something: health segments cut to the times the container was running
 * (or paused); elsewhere `null`.
 */
export function healthWhileUp(health: Segment[], state: Segment[]): Segment[] {
  const out: Segment[] = [];
  for (const h of health) {
    for (const s of state) {
      const start = Math.max(h.start, s.start);
      const end = Math.min(h.end, s.end);
      if (end <= start) continue;
      const up = s.value === "running" || s.value === "paused";
      out.push({ start, end, value: up ? h.value : null });
    }
  }
  return mergeSegments(out);
}

/**
 * Where a service's timeline over `[from, to]` starts: where SDMD's record of the range begins
 * (`observedSeconds` before `to`, from the range's uptime window), or later, at the first
 * transition, when every container's first transition in range is its first record (`from`
 * null or `created`: the service did not exist before). Never after the first transition; at
 * least `minSpanMs` before `to` (see {@link visibleStart}).
 */
export function timelineStart(
  from: number,
  to: number,
  observedSeconds: number | null | undefined,
  transitions: readonly Transition[],
  minSpanMs = 10_000,
): number {
  let start = observedSeconds && observedSeconds > 0 ? to - observedSeconds * 1000 : from;
  const firsts = new Map<string, Transition>();
  let earliest = Infinity;
  for (const t of transitions) {
    const at = Date.parse(t.at);
    earliest = Math.min(earliest, at);
    const seen = firsts.get(t.container_id);
    if (!seen || at < Date.parse(seen.at)) firsts.set(t.container_id, t);
  }
  const born = [...firsts.values()].every((t) => t.from === null || t.from === "created");
  if (firsts.size > 0 && born) start = Math.max(start, earliest);
  start = Math.min(start, earliest);
  return visibleStart(from, to, start, minSpanMs);
}

export interface ContainerTimeline {
  id: string;
  container: string;
  member: string;
  state: Segment[];
  /** `null` when the container has no health transitions (no healthcheck). */
  health: Segment[] | null;
}

/** One timeline per container that has transitions in the range, by member then name. */
export function containerTimelines(
  transitions: readonly Transition[],
  from: number,
  to: number,
): ContainerTimeline[] {
  const groups = new Map<string, Transition[]>();
  for (const t of transitions) {
    const g = groups.get(t.container_id);
    if (g) g.push(t);
    else groups.set(t.container_id, [t]);
  }
  const out: ContainerTimeline[] = [];
  for (const [id, ts] of groups) {
    const last = ts[ts.length - 1]!;
    const state = timelineSegments(ts, "state", from, to);
    const hasHealth = ts.some((t) => t.kind === "health");
    out.push({
      id,
      container: last.container,
      member: last.member,
      state,
      health: hasHealth ? healthWhileUp(timelineSegments(ts, "health", from, to), state) : null,
    });
  }
  // The first transition of each (its start) as the tie-breaker: a recreated container after
  // the one it replaced.
  const first = (id: string) => Date.parse(groups.get(id)![0]!.at);
  return out.sort(
    (a, b) =>
      a.member.localeCompare(b.member) ||
      a.container.localeCompare(b.container) ||
      first(a.id) - first(b.id),
  );
}

/** The timeline colour of a state or health value (Tailwind classes). */
export function segmentClass(kind: Transition["kind"], value: string | null): string {
  if (value === null) return "bg-muted";
  if (kind === "health") {
    if (value === "unhealthy") return "bg-orange-500";
    if (value === "starting") return "bg-sky-500/60";
    return "bg-success/50";
  }
  switch (value) {
    case "running":
      return "bg-success";
    case "exited":
    case "dead":
      return "bg-destructive";
    case "restarting":
      return "bg-warning";
    case "paused":
      return "bg-muted-foreground/50";
    case "removed":
      return "bg-transparent";
    default:
      return "bg-muted";
  }
}

/** A transition's change in words: "running → exited", "— → running". */
export function changeText(t: Pick<Transition, "from" | "to">): string {
  return `${t.from ?? "—"} → ${t.to}`;
}
