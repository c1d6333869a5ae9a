// Benchmark (not a test): the services page with 200 services in a real Chromium. The list API
// is answered by the browser itself (page.route) so the numbers measure the dashboard only.
// Prints render time, filter latency and long tasks (main-thread blocks > 50 ms).
// Usage: SDMD_E2E_URL=http://127.0.0.1:18600 node e2e/perf.mjs   (a server in open mode, or
//        SDMD_E2E_EMAIL/SDMD_E2E_PASSWORD to sign in)
import { mkdtempSync, mkdirSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { chromium } from "playwright-core";

const base = (process.env.SDMD_E2E_URL ?? "http://127.0.0.1:18600").replace(/\/$/, "");
const N = Number(process.env.SDMD_PERF_SERVICES ?? 200);
const services = Array.from({ length: N }, (_, i) => ({
  name: `svc-${String(i).padStart(3, "0")}`,
  kind: i % 5 === 0 ? "standalone" : "managed",
  status: i % 3 === 0 ? "stopped" : "running",
  revision: 1,
  deployed: true,
  containers: [
    {
      id: `c${i}`,
      name: `svc-${i}-web`,
      image: `127.0.0.1:5000/bench/app-${i % 17}:1`,
      image_id: "sha256:0123456789abcdef",
      state: i % 3 === 0 ? "exited" : "running",
      health: i % 7 === 0 ? "healthy" : "none",
      status_text: "Up 1 minute",
      labels: {},
      ports: [],
      created: 1,
    },
  ],
  created_at: "2026-11-26T10:00:00Z",
  updated_at: "2026-11-26T10:00:00Z",
  update_available: i % 11 === 0,
  last_updated: null,
}));

const profile = mkdtempSync(join(tmpdir(), "sdmd-perf-"));
mkdirSync(join(profile, "home"));
const ctx = await chromium.launchPersistentContext(join(profile, "chrome"), {
  executablePath: process.env.CHROMIUM ?? "/usr/bin/chromium",
  headless: true,
  viewport: { width: 1280, height: 900 },
  env: { ...process.env, HOME: join(profile, "home") },
  args: [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
  ],
});
const page = ctx.pages()[0] ?? (await ctx.newPage());
await page.route("**/api/v1/services", (r) =>
  r.fulfill({ status: 200, contentType: "application/json", body: JSON.stringify({ services }) }),
);
await page.addInitScript(() => {
  window.__long = [];
  new PerformanceObserver((l) =>
    window.__long.push(...l.getEntries().map((e) => e.duration)),
  ).observe({ type: "longtask", buffered: true });
});
try {
  const t0 = Date.now();
  await page.goto(`${base}/`);
  if (page.url().includes("/login/")) {
    await page.getByLabel("Email").fill(process.env.SDMD_E2E_EMAIL ?? "admin@example.com");
    await page.getByLabel("Password").fill(process.env.SDMD_E2E_PASSWORD ?? "");
    await page.getByRole("button", { name: "Sign in" }).click();
  }
  await page.locator('[data-service="svc-000"]').waitFor();
  const rendered = Date.now() - t0;
  const domRows = await page.locator("[data-service]").count();
  await page.evaluate(() => (window.__long = []));
  const filters = [];
  for (const q of ["svc-1", "svc-19", "app-3", ""]) {
    const t = await page.evaluate(async (q) => {
      const input = document.querySelector("#q");
      const start = performance.now();
      const setter = Object.getOwnPropertyDescriptor(HTMLInputElement.prototype, "value").set;
      setter.call(input, q);
      input.dispatchEvent(new Event("input", { bubbles: true }));
      await new Promise((r) => requestAnimationFrame(() => setTimeout(r, 0)));
      return performance.now() - start;
    }, q);
    filters.push(t);
  }
  await page.mouse.wheel(0, 6000);
  await page.waitForTimeout(300);
  const long = await page.evaluate(() => window.__long);
  console.log(
    `${N} services: first rows after ${rendered} ms (navigation + sign-in), ${domRows} rows in the DOM (windowed)`,
  );
  console.log(`filter → next frame: ${filters.map((t) => `${t.toFixed(1)} ms`).join(", ")}`);
  console.log(
    `long tasks while filtering and scrolling: ${long.length ? long.map((d) => `${d.toFixed(0)} ms`).join(", ") : "none"}`,
  );
} finally {
  await ctx.close();
  rmSync(profile, { recursive: true, force: true });
}
