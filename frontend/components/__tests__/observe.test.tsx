import { render, screen, within } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";

import { HistoryPanel } from "@/components/service/history-panel";
import { MetricsPanel } from "@/components/service/metrics-panel";
import { configureApi, type ServiceHistory } from "@/lib/api";
import { json, mockFetch, type Call } from "@/test/fetch";

beforeEach(() => {
  configureApi({ getToken: async () => "t", onUnauthorized: () => {}, sleep: async () => {} });
  vi.spyOn(console, "error").mockImplementation(() => {});
});
afterEach(() => {
  vi.unstubAllGlobals();
  vi.restoreAllMocks();
});

/** Answers by path, whatever the order of the calls. */
const byPath = (answers: Record<string, (c: Call) => Response>) => (c: Call) => {
  const path = new URL(c.url, "http://x").pathname;
  const answer = answers[path];
  if (!answer) throw new Error(`unexpected fetch ${c.url}`);
  return answer(c);
};

const now = Date.now();
const at = (secondsAgo: number) => new Date(now - secondsAgo * 1000).toISOString();

describe("MetricsPanel", () => {
  it("says how often SDMD samples when there are no samples yet", async () => {
    const answer = byPath({
      "/api/v1/services/web/stats": () =>
        json({
          service: "web",
          from: at(3600),
          to: at(0),
          step: 12,
          resolution: "raw",
          source: "cgroup",
          containers: [],
        }),
      "/api/v1/stats": () =>
        json({
          source: "cgroup",
          interval_seconds: 10,
          at: at(1),
          host_cpus: 2,
          host_memory_bytes: 1024,
          host_cpu_percent: 1,
          containers_cpu_percent: 0,
          containers_memory_bytes: 0,
          last_round_ms: 1,
          services: [],
          top_cpu: [],
          top_memory: [],
        }),
    });
    const { calls } = mockFetch([answer, answer]);
    render(<MetricsPanel service="web" />);
    expect(await screen.findByText(/SDMD samples every 10 s/)).toBeInTheDocument();
    const stats = calls.find((c) => c.url.includes("/stats?"))!;
    const q = new URL(stats.url, "http://x").searchParams;
    expect(Date.parse(q.get("to")!) - Date.parse(q.get("from")!)).toBe(3600_000);
    expect(screen.getByRole("button", { name: "1 h" })).toHaveAttribute("aria-pressed", "true");
  });
});

describe("HistoryPanel", () => {
  const history: ServiceHistory = {
    service: "web",
    from: at(86400),
    to: at(0),
    truncated: false,
    transitions: [
      {
        at: at(600),
        kind: "state",
        container: "web-app-1",
        container_id: "c1",
        member: "app",
        from: null,
        to: "running",
        exit_code: null,
        oom_killed: false,
        probe_output: null,
      },
      {
        at: at(300),
        kind: "health",
        container: "web-app-1",
        container_id: "c1",
        member: "app",
        from: "healthy",
        to: "unhealthy",
        exit_code: null,
        oom_killed: false,
        probe_output: "curl: connection refused",
      },
      {
        at: at(100),
        kind: "state",
        container: "web-app-1",
        container_id: "c1",
        member: "app",
        from: "running",
        to: "exited",
        exit_code: 137,
        oom_killed: true,
        probe_output: null,
      },
    ],
    uptime: [
      {
        window_seconds: 604800,
        uptime_percent: 99.25,
        observed_seconds: 600,
        restarts: 0,
        unhealthy_seconds: 200,
      },
      {
        window_seconds: 86400,
        uptime_percent: 83.333,
        observed_seconds: 600,
        restarts: 2,
        unhealthy_seconds: 200,
      },
      {
        window_seconds: 2592000,
        uptime_percent: null,
        observed_seconds: 0,
        restarts: 0,
        unhealthy_seconds: 0,
      },
    ],
    last_failure: null,
  };

  it("shows uptime, a timeline, the last failure and the events newest first", async () => {
    const last = history.transitions[1]!;
    mockFetch([json({ ...history, last_failure: last })]);
    render(<HistoryPanel service="web" />);
    const timeline = await screen.findByTestId("history-timeline");
    // Recorded for 10 minutes of the 24 h: the timeline starts there. Running, then exited; the
    // health is unknown until its first transition and after the exit.
    const segments = [...timeline.querySelectorAll("[data-segment]")].map((e) =>
      e.getAttribute("data-segment"),
    );
    expect(segments).toEqual(["running", "exited", "unknown", "unhealthy", "unknown"]);
    expect(timeline).toHaveTextContent("from the first record");

    const uptime = screen.getByTestId("history-uptime");
    expect(
      within(uptime)
        .getAllByText(/uptime/)
        .map((e) => e.parentElement?.textContent),
    ).toEqual(["83.3% uptime", "99.3% uptime", "— uptime"]);
    expect(uptime).toHaveTextContent("2 restarts · unhealthy for 3 min");
    expect(uptime).toHaveTextContent("nothing recorded yet");

    const failure = screen.getByTestId("history-last-failure");
    expect(failure.querySelector("pre")).toHaveTextContent("curl: connection refused");

    const rows = within(screen.getByTestId("history-events")).getAllByRole("row").slice(1);
    expect(rows.map((r) => r.getAttribute("data-event-to"))).toEqual([
      "exited",
      "unhealthy",
      "running",
    ]);
    expect(rows[0]).toHaveTextContent("137");
    expect(within(rows[0]!).getByText("OOM killed")).toBeInTheDocument();
    await userEvent.click(within(rows[1]!).getByText("Probe output"));
    expect(within(rows[1]!).getByText("curl: connection refused")).toBeVisible();
  });
});
