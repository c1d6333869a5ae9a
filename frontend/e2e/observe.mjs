// Observability end to end in a real Chromium against a real sdmd that samples every second
// (scripts/e2e.sh starts it with SDMD_STATS_INTERVAL=1): sign in → create and deploy a service
// through the API (busybox with a light busy loop and a 1 s healthcheck) → wait until its
// stats have two samples → the services list shows the host overview and a CPU cell with a
// sparkline for it → its page: the Metrics tab draws the CPU and memory lines, the History tab
// shows the status timeline and the `running` transition → delete the service (API).
// Screenshots go next to flow.mjs's (observe-*).
//
// Env: SDMD_E2E_URL, SDMD_E2E_EMAIL, SDMD_E2E_PASSWORD, SDMD_E2E_IMAGE, CHROMIUM, SDMD_E2E_SHOTS.
import { join } from "node:path";

import { startFlow } from "./browser.mjs";

const image = process.env.SDMD_E2E_IMAGE ?? "127.0.0.1:5000/sdmd-e2e/busybox:1";
const name = `e2e-obs-${Date.now().toString(36)}`;
const { base, shots, browser, page, consoleErrors, shot, signIn, step } =
  await startFlow("observe");
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/** A bearer token for the API, as the dashboard gets one (built-in auth). */
async function token() {
  const res = await fetch(`${base}/auth/v1/token?grant_type=password`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({
      email: process.env.SDMD_E2E_EMAIL ?? "admin@example.com",
      password: process.env.SDMD_E2E_PASSWORD,
    }),
  });
  if (!res.ok) throw new Error(`sign-in for the API answered ${res.status}: ${await res.text()}`);
  return (await res.json()).access_token;
}

let bearer = null;
async function api(method, path, body, contentType = "application/json") {
  const res = await fetch(`${base}${path}`, {
    method,
    headers: {
      authorization: `Bearer ${bearer}`,
      accept: "application/json",
      ...(body === undefined ? {} : { "content-type": contentType }),
    },
    body,
  });
  const text = await res.text();
  if (!res.ok) throw new Error(`${method} ${path} answered ${res.status}: ${text.slice(0, 400)}`);
  return text ? JSON.parse(text) : null;
}

let created = false;
let ok = false;
try {
  console.log(`e2e (observability) against ${base}, service ${name}`);
  await signIn();
  bearer = await token();

  // A container with a little CPU load (a shell loop that naps every 2000 rounds; `$$` is a
  // literal `$` in a definition) and a healthcheck every second, so a health transition appears.
  const yaml = [
    `name: ${name}`,
    "services:",
    "  app:",
    `    image: ${image}`,
    `    command: ["sh", "-c", "i=0; while :; do i=$$((i+1)); [ $$((i % 2000)) = 0 ] && sleep 0.05; done"]`,
    "    init: true",
    "    healthcheck:",
    // (CMD-SHELL: this busybox image has the `sh` applet but no `true` binary on its PATH.)
    '      test: ["CMD-SHELL", "true"]',
    "      interval: 1s",
    "      timeout: 1s",
    "      retries: 1",
    "",
  ].join("\n");
  await api("POST", "/api/v1/services", yaml, "application/yaml");
  created = true;
  await api("POST", `/api/v1/services/${name}/deploy`);
  console.log("  ✓ created and deployed through the API");

  // The sampler runs every second here: two samples within ~40 s.
  let samples = 0;
  for (let i = 0; i < 40 && samples < 2; i++) {
    const stats = await api("GET", `/api/v1/services/${name}/stats`);
    samples = stats.containers.reduce((n, c) => n + c.samples.length, 0);
    if (samples < 2) await sleep(1000);
  }
  if (samples < 2)
    throw new Error(`only ${samples} samples after 40 s (is SDMD_STATS_INTERVAL=1?)`);
  // The live trail needs two rounds too.
  for (let i = 0; i < 20; i++) {
    const host = await api("GET", "/api/v1/stats");
    const mine = host.services.find((s) => s.service === name);
    if (mine && mine.cpu_trail.length >= 2) break;
    await sleep(1000);
  }
  console.log(`  ✓ ${samples} samples recorded`);

  // The services list: host overview, and the CPU and memory cells with their sparklines.
  await page.goto(`${base}/`);
  await page.getByRole("heading", { name: "Services" }).waitFor();
  const overview = page.getByTestId("host-overview");
  await overview.waitFor();
  await overview.getByText("Host CPU").waitFor();
  const row = page.locator(`[data-service="${name}"]`);
  const cpu = row.getByTestId("cpu-cell");
  await cpu.locator("svg[data-sparkline] polyline").waitFor({ timeout: 20_000 });
  const cpuText = (await cpu.innerText()).trim();
  if (!/%/.test(cpuText)) throw new Error(`the CPU cell says ${JSON.stringify(cpuText)}`);
  const memText = (await row.getByTestId("memory-cell").innerText()).trim();
  if (!/\d\s?(B|KiB|MiB|GiB)/.test(memText))
    throw new Error(`the memory cell says ${JSON.stringify(memText)}`);
  await shot("services-live");
  console.log(
    `  ✓ host overview; ${name}: CPU ${cpuText.split("\n")[0]}, memory ${memText.split("\n")[0]}`,
  );

  // The service page → Metrics.
  await row.getByRole("link", { name }).click();
  await page.waitForURL(new RegExp(`/service/\\?id=${name}`));
  await page.getByRole("heading", { name }).waitFor();
  await page.getByTestId("metrics-tab").click();
  for (const chart of ["metrics-cpu-chart", "metrics-memory-chart"]) {
    const line = page.getByTestId(chart).locator("path.recharts-curve").first();
    await line.waitFor({ timeout: 20_000 });
    const d = await line.getAttribute("d");
    if (!d || !/^M[\d.-]+,[\d.-]+L/.test(d))
      throw new Error(`${chart} has no drawn line (d=${JSON.stringify(d)})`);
  }
  await page.getByText(/per point/).waitFor();
  await shot("metrics");
  console.log("  ✓ Metrics: CPU and memory lines drawn");

  // History: the timeline and the `running` transition.
  await page.getByTestId("history-tab").click();
  const timeline = page.getByTestId("history-timeline");
  await timeline.locator('[data-segment="running"]').first().waitFor();
  const events = page.getByTestId("history-events");
  await events.locator('tr[data-event-to="running"]').first().waitFor();
  // The healthcheck runs every second: its `healthy` shows up soon (not fatal if it lags).
  const healthy = events.locator('tr[data-event-to="healthy"]').first();
  for (let i = 0; i < 10 && (await healthy.count()) === 0; i++) {
    await sleep(1000);
    await page.getByRole("button", { name: "Refresh history" }).click();
  }
  await page.getByTestId("history-uptime").getByText("Last 24 h").waitFor();
  await shot("history");
  console.log(
    `  ✓ History: timeline, the running transition${(await healthy.count()) > 0 ? " and the healthy one" : " (no health transition yet)"}`,
  );

  // The same tabs on a phone, in the dark theme.
  await page.emulateMedia({ colorScheme: "dark" });
  await page.setViewportSize({ width: 390, height: 844 });
  await page.getByTestId("metrics-tab").click();
  await page.getByTestId("metrics-cpu-chart").locator("path.recharts-curve").first().waitFor();
  await shot("metrics-phone-dark");
  await page.getByTestId("history-tab").click();
  await page.getByTestId("history-timeline").waitFor();
  await shot("history-phone-dark");
  await page.goto(`${base}/`);
  await page.getByTestId("host-overview").waitFor();
  await shot("services-phone-dark");
  await page.setViewportSize({ width: 1280, height: 800 });
  await page.emulateMedia({ colorScheme: "light" });

  browser.assertNoCspViolations();
  console.log("  ✓ no Content-Security-Policy violations");
  ok = true;
} catch (e) {
  console.error(`✗ observe e2e failed at step ${step() + 1}: ${e.message}`);
  await page
    .screenshot({ path: join(shots, "observe-failure.png"), fullPage: true })
    .catch(() => {});
} finally {
  if (created) {
    // The service and its containers.
    await api("DELETE", `/api/v1/services/${name}`).catch((e) => {
      console.error(`cleanup: ${e.message}`);
      ok = false;
    });
  }
  if (consoleErrors.length) console.log(`browser console errors:\n  ${consoleErrors.join("\n  ")}`);
  await browser.close();
}
console.log(ok ? "e2e observe: passed" : "e2e observe: FAILED");
process.exit(ok ? 0 : 1);
