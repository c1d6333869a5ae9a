import { describe, expect, it } from "vitest";

import type { ContainerSamples, HostStats, Sample, Transition } from "@/lib/api";

import {
  byteTicks,
  changeText,
  containerTimelines,
  formatBytes,
  formatDuration,
  formatPercent,
  formatRate,
  hasSamples,
  healthWhileUp,
  hostPercent,
  maxOf,
  memoryLimits,
  niceStep,
  niceTicks,
  perContainerRows,
  rangeBounds,
  segmentClass,
  share,
  sourceLabel,
  sparkPoints,
  statsByService,
  timeTicks,
  timelineSegments,
  timelineStart,
  visibleStart,
  totalRows,
  uptimeText,
  windowLabel,
} from "./observe";

const T0 = Date.parse("2026-12-01T10:00:00Z");
const iso = (secondsAfter: number) => new Date(T0 + secondsAfter * 1000).toISOString();

const sample = (at: number, over: Partial<Sample> = {}): Sample => ({
  at: iso(at),
  cpu_percent: 10,
  cpu_percent_max: 12,
  memory_bytes: 1024 * 1024,
  memory_bytes_max: 1024 * 1024,
  memory_limit_bytes: 8 * 1024 ** 3,
  net_rx_bytes_per_s: 100,
  net_tx_bytes_per_s: 50,
  block_read_bytes_per_s: 0,
  block_write_bytes_per_s: 4096,
  pids: 1,
  ...over,
});

const container = (
  name: string,
  samples: Sample[],
  id = `${name}-id-0123456789`,
): ContainerSamples => ({
  member: "app",
  container: name,
  container_id: id,
  samples,
});

const tr = (at: number, to: string, over: Partial<Transition> = {}): Transition => ({
  at: iso(at),
  kind: "state",
  container: "web-1",
  container_id: "c1",
  member: "web",
  from: null,
  to,
  exit_code: null,
  oom_killed: false,
  probe_output: null,
  ...over,
});

describe("units", () => {
  it("formats bytes in binary units with a sensible number of digits", () => {
    expect(formatBytes(0)).toBe("0 B");
    expect(formatBytes(512)).toBe("512 B");
    expect(formatBytes(1536)).toBe("1.5 KiB");
    expect(formatBytes(12.34 * 1024 ** 2)).toBe("12.3 MiB");
    expect(formatBytes(1.25 * 1024 ** 3)).toBe("1.25 GiB");
    expect(formatBytes(2 * 1024 ** 3)).toBe("2 GiB");
    expect(formatBytes(300 * 1024 ** 2)).toBe("300 MiB");
    expect(formatBytes(null)).toBe("—");
    expect(formatBytes(Number.NaN)).toBe("—");
  });

  it("formats rates, percentages and shares", () => {
    expect(formatRate(2048)).toBe("2 KiB/s");
    expect(formatRate(null)).toBe("—");
    expect(formatPercent(0)).toBe("0%");
    expect(formatPercent(0.01)).toBe("<0.1%");
    expect(formatPercent(12.345)).toBe("12.3%");
    expect(formatPercent(250.4)).toBe("250%");
    expect(formatPercent(undefined)).toBe("—");
    // 200 % of one core on a 4-CPU host is half the host.
    expect(hostPercent(200, 4)).toBe(50);
    expect(hostPercent(200, 0)).toBeNull();
    expect(share(1, 4)).toBe(25);
    expect(share(5, 4)).toBe(100);
    expect(share(1, 0)).toBeNull();
  });

  it("formats durations with the two largest units", () => {
    expect(formatDuration(0)).toBe("0 s");
    expect(formatDuration(45)).toBe("45 s");
    expect(formatDuration(12 * 60 + 5)).toBe("12 min");
    expect(formatDuration(3600)).toBe("1 h");
    expect(formatDuration(3900)).toBe("1 h 5 min");
    expect(formatDuration(2 * 86400 + 3 * 3600 + 59)).toBe("2 d 3 h");
    expect(formatDuration(86400)).toBe("1 d");
  });

  it("names uptime windows and shows uptime with one decimal", () => {
    expect(windowLabel(86400)).toBe("24 h");
    expect(windowLabel(604800)).toBe("7 d");
    expect(windowLabel(2592000)).toBe("30 d");
    expect(uptimeText({ uptime_percent: 99.94 })).toBe("99.9%");
    expect(uptimeText({ uptime_percent: 100 })).toBe("100.0%");
    expect(uptimeText({ uptime_percent: null })).toBe("—");
    expect(sourceLabel("cgroup")).toBe("cgroup files");
    expect(sourceLabel("engine")).toBe("Docker Engine");
    expect(sourceLabel("off")).toBe("off");
    expect(changeText({ from: null, to: "running" })).toBe("— → running");
  });
});

describe("axis ticks", () => {
  it("picks 1, 2, 2.5, 5 × 10^k steps", () => {
    expect(niceStep(0.3)).toBe(0.5);
    expect(niceStep(2.2)).toBe(2.5);
    expect(niceStep(7)).toBe(10);
    expect(niceStep(0)).toBe(1);
    expect(niceTicks(87)).toEqual([0, 25, 50, 75, 100]);
    expect(niceTicks(0)).toEqual([0, 0.25, 0.5, 0.75, 1]);
  });

  it("puts byte ticks on round numbers of one unit", () => {
    const mib = 1024 ** 2;
    expect(byteTicks(300 * mib)).toEqual([0, 100, 200, 300].map((n) => n * mib));
    expect(byteTicks(900)).toEqual([0, 250, 500, 750, 1000]);
  });

  it("puts time ticks on round local times", () => {
    // A 1 h range from 10:03 UTC: every 10 minutes from 10:10.
    const from = Date.parse("2026-12-01T10:03:00Z");
    const ticks = timeTicks(from, from + 3600_000, 6, 0);
    expect(ticks.map((t) => new Date(t).toISOString().slice(11, 16))).toEqual([
      "10:10",
      "10:20",
      "10:30",
      "10:40",
      "10:50",
      "11:00",
    ]);
    // 10 days: every other day, at local midnight (UTC+2 here).
    const days = timeTicks(from, from + 10 * 86400_000, 6, 2 * 3600_000);
    expect(days.length).toBeGreaterThanOrEqual(4);
    expect(days.every((t) => (t + 2 * 3600_000) % 86400_000 === 0)).toBe(true);
    // 40 s from a round minute: every 10 s, both ends included.
    expect(timeTicks(from, from + 40_000, 6, 0).map((t) => (t - from) / 1000)).toEqual([
      0, 10, 20, 30, 40,
    ]);
    expect(timeTicks(from, from)).toEqual([]);
  });

  it("starts a chart where a young service's data starts", () => {
    const from = 0;
    const to = 3600_000;
    expect(visibleStart(from, to, null, 1000)).toBe(0);
    expect(visibleStart(from, to, 60_000, 1000)).toBe(0); // within the first 5 %
    expect(visibleStart(from, to, 3000_000, 1000)).toBe(3000_000);
    expect(visibleStart(from, to, 3599_500, 60_000)).toBe(3540_000);
    expect(visibleStart(from, to, -5, 1000)).toBe(0);
  });
});

describe("ranges", () => {
  it("turns a range into RFC 3339 from/to ending now", () => {
    const now = new Date("2026-12-01T12:00:00Z");
    expect(rangeBounds("1h", now)).toEqual({
      from: "2026-12-01T11:00:00.000Z",
      to: "2026-12-01T12:00:00.000Z",
    });
    expect(rangeBounds("7d", now).from).toBe("2026-11-24T12:00:00.000Z");
    expect(rangeBounds("30d", now).from).toBe("2026-11-01T12:00:00.000Z");
  });
});

describe("chart rows", () => {
  it("merges containers into one row per bucket, with a key per container", () => {
    const a = container("web-1", [sample(0, { cpu_percent: 5 }), sample(10, { cpu_percent: 7 })]);
    const b = container("web-2", [
      sample(10, { cpu_percent: 50 }),
      sample(20, { cpu_percent: 60 }),
    ]);
    const { rows, series } = perContainerRows([a, b], (s) => s.cpu_percent, 10);
    expect(series.map((s) => [s.key, s.label])).toEqual([
      ["c0", "web-1"],
      ["c1", "web-2"],
    ]);
    expect(rows).toEqual([
      { t: T0, c0: 5 },
      { t: T0 + 10_000, c0: 7, c1: 50 },
      { t: T0 + 20_000, c1: 60 },
    ]);
    expect(maxOf(rows, ["c0", "c1"])).toBe(60);
  });

  it("buckets samples a little off the step together", () => {
    const a = container("a", [sample(0.2)]);
    const b = container("b", [sample(0.7)]);
    expect(perContainerRows([a, b], (s) => s.pids, 10).rows).toHaveLength(1);
  });

  it("breaks lines where sampling stopped", () => {
    const a = container("a", [sample(0), sample(10), sample(100)]);
    const { rows } = perContainerRows([a], (s) => s.cpu_percent, 10);
    expect(rows.map((r) => [r.t - T0, r.c0])).toEqual([
      [0, 10],
      [10_000, 10],
      [20_000, null],
      [100_000, 10],
    ]);
  });

  it("tells a recreated container from the one it replaced", () => {
    const old = container("web-1", [sample(0)], "aaaaaaa111");
    const fresh = container("web-1", [sample(10)], "bbbbbbb222");
    const { series } = perContainerRows([old, fresh], (s) => s.cpu_percent, 10);
    expect(series.map((s) => s.label)).toEqual(["web-1 (aaaaaaa)", "web-1 (bbbbbbb)"]);
  });

  it("sums rates over containers and keeps unknown network as null", () => {
    const a = container("a", [sample(0), sample(10)]);
    const b = container("b", [sample(0, { net_rx_bytes_per_s: null, net_tx_bytes_per_s: null })]);
    const rows = totalRows(
      [a, b],
      { rx: (s) => s.net_rx_bytes_per_s, write: (s) => s.block_write_bytes_per_s },
      10,
    );
    expect(rows).toEqual([
      { t: T0, rx: 100, write: 8192 },
      { t: T0 + 10_000, rx: 100, write: 4096 },
    ]);
    const host = container("h", [sample(0, { net_rx_bytes_per_s: null })]);
    expect(totalRows([host], { rx: (s) => s.net_rx_bytes_per_s }, 10)).toEqual([
      { t: T0, rx: null },
    ]);
  });

  it("keeps memory limits that are real limits, not the host's memory", () => {
    const host = 8 * 1024 ** 3;
    const limited = container("a", [sample(0, { memory_limit_bytes: 512 * 1024 ** 2 })]);
    const unlimited = container("b", [sample(0, { memory_limit_bytes: host })]);
    expect(memoryLimits([limited, unlimited], host)).toEqual([
      { key: "c0", label: "a", bytes: 512 * 1024 ** 2 },
    ]);
    expect(hasSamples([unlimited])).toBe(true);
    expect(hasSamples([container("c", [])])).toBe(false);
    expect(hasSamples(undefined)).toBe(false);
  });
});

describe("the services list", () => {
  it("finds the live figures by service id", () => {
    const host = {
      services: [
        {
          service: "compose:legacy",
          cpu_percent: 1,
          memory_bytes: 2,
          memory_limit_bytes: 3,
          containers: 1,
          cpu_trail: [1],
          memory_trail: [2],
        },
      ],
    } as unknown as HostStats;
    const m = statsByService(host);
    expect(m.get("compose:legacy")?.cpu_percent).toBe(1);
    expect(m.get("legacy")).toBeUndefined();
    expect(statsByService(undefined).size).toBe(0);
  });

  it("draws sparklines inside their box", () => {
    expect(sparkPoints([1], 10, 10)).toBe("");
    expect(sparkPoints([0, 10], 12, 12)).toBe("1,11 11,1");
    // A flat line sits in the middle; a given floor keeps small values low.
    expect(sparkPoints([5, 5, 5], 12, 12)).toBe("1,6 6,6 11,6");
    expect(sparkPoints([0, 1], 12, 12, { min: 0, minSpan: 10 })).toBe("1,11 11,10");
    const pts = sparkPoints([3, 9, 1, 7], 64, 14)
      .split(" ")
      .map((p) => p.split(",").map(Number));
    for (const [x, y] of pts) {
      expect(x).toBeGreaterThanOrEqual(0);
      expect(x).toBeLessThanOrEqual(64);
      expect(y).toBeGreaterThanOrEqual(0);
      expect(y).toBeLessThanOrEqual(14);
    }
  });
});

describe("the status timeline", () => {
  const from = T0;
  const to = T0 + 100_000;

  it("is unknown before the first transition of a container's first record", () => {
    const segs = timelineSegments(
      [tr(40, "exited", { from: "running" }), tr(20, "running")],
      "state",
      from,
      to,
    );
    expect(segs).toEqual([
      { start: from, end: T0 + 20_000, value: null },
      { start: T0 + 20_000, end: T0 + 40_000, value: "running" },
      { start: T0 + 40_000, end: to, value: "exited" },
    ]);
  });

  it("stays unknown before the first transition even when its `from` is known", () => {
    // `from` is the value just before, not since when: the container may have been created
    // a second earlier.
    const segs = timelineSegments([tr(50, "running", { from: "created" })], "state", from, to);
    expect(segs.map((s) => s.value)).toEqual([null, "running"]);
  });

  it("clamps transitions outside the range and merges equal neighbours", () => {
    const segs = timelineSegments(
      [tr(-10, "running"), tr(30, "running", { from: "running" }), tr(200, "exited")],
      "state",
      from,
      to,
    );
    expect(segs).toEqual([{ start: from, end: to, value: "running" }]);
    expect(timelineSegments([], "state", from, to)).toEqual([
      { start: from, end: to, value: null },
    ]);
    expect(timelineSegments([], "state", to, from)).toEqual([]);
  });

  it("shows health only while the container runs", () => {
    const ts = [
      tr(10, "running"),
      tr(12, "starting", { kind: "health" }),
      tr(20, "healthy", { kind: "health", from: "starting" }),
      tr(50, "unhealthy", { kind: "health", from: "healthy", probe_output: "boom" }),
      tr(70, "exited", { from: "running", exit_code: 137 }),
    ];
    const state = timelineSegments(ts, "state", from, to);
    const health = healthWhileUp(timelineSegments(ts, "health", from, to), state);
    expect(health.map((s) => [(s.start - T0) / 1000, (s.end - T0) / 1000, s.value])).toEqual([
      [0, 12, null],
      [12, 20, "starting"],
      [20, 50, "healthy"],
      [50, 70, "unhealthy"],
      [70, 100, null],
    ]);
  });

  it("groups transitions per container, by member then name", () => {
    const ts = [
      tr(10, "running", { container: "web-1", container_id: "w1", member: "web" }),
      tr(5, "running", { container: "db-1", container_id: "d1", member: "db" }),
      tr(30, "starting", { container: "web-1", container_id: "w1", member: "web", kind: "health" }),
    ];
    const lines = containerTimelines(ts, from, to);
    expect(lines.map((l) => [l.member, l.container, l.health === null])).toEqual([
      ["db", "db-1", true],
      ["web", "web-1", false],
    ]);
  });

  it("starts where the record begins, or where a young service was born", () => {
    const day = 86400_000;
    const end = T0 + day;
    // Recorded for the whole day, a restart an hour ago: the whole day.
    expect(
      timelineStart(T0, end, 86400, [tr(day / 1000 - 3600, "exited", { from: "running" })]),
    ).toBe(T0);
    // Recording began 2 h ago; the container was running already.
    expect(
      timelineStart(T0, end, 7200, [tr(day / 1000 - 3600, "exited", { from: "running" })]),
    ).toBe(end - 7200_000);
    // Recording began 2 h ago, the service was created 10 min ago: start there.
    const born = [
      tr(day / 1000 - 600, "running", { from: "created" }),
      tr(day / 1000 - 599, "starting", { kind: "health" }),
    ];
    expect(timelineStart(T0, end, 7200, born)).toBe(end - 600_000);
    // Nothing recorded, nothing happened: the range.
    expect(timelineStart(T0, end, 0, [])).toBe(T0);
  });

  it("colours states and health", () => {
    expect(segmentClass("state", "running")).toBe("bg-success");
    expect(segmentClass("state", "exited")).toBe("bg-destructive");
    expect(segmentClass("state", "dead")).toBe("bg-destructive");
    expect(segmentClass("state", "restarting")).toBe("bg-warning");
    expect(segmentClass("state", "paused")).toMatch(/muted-foreground/);
    expect(segmentClass("state", null)).toBe("bg-muted");
    expect(segmentClass("health", "unhealthy")).toBe("bg-orange-500");
  });
});
