// Plugin pages end to end: upload a component, see its manifest and requested capabilities, grant
// them (with an HTTP allow-list), save its settings, enable it, run it on sample input; for a
// notifier, set and re-read its delivery options.
// Signs in first when the server asks for it. Screenshots go next to flow.mjs's.
//
// Env: SDMD_E2E_URL, SDMD_E2E_EMAIL, SDMD_E2E_PASSWORD, SDMD_E2E_PLUGIN (a .wasm whose manifest
//      declares `http`, e.g. plugins/dist/http-health.wasm), SDMD_E2E_PLUGIN_ID (its id; default:
//      the file name without .wasm), CHROMIUM, SDMD_E2E_SHOTS.
import { mkdirSync } from "node:fs";
import { basename, join } from "node:path";

import { launchBrowser } from "./browser.mjs";

const base = (process.env.SDMD_E2E_URL ?? "http://127.0.0.1:18600").replace(/\/$/, "");
const wasm = process.env.SDMD_E2E_PLUGIN;
const shots = process.env.SDMD_E2E_SHOTS ?? new URL("../screenshots/", import.meta.url).pathname;
if (!wasm) {
  console.error("SDMD_E2E_PLUGIN (path to a plugin .wasm) is required");
  process.exit(2);
}
mkdirSync(shots, { recursive: true });
const browser = await launchBrowser("sdmd-e2e-plugins-");
const { page } = browser;
const shot = async (label) => {
  const file = join(shots, `plugins-${basename(wasm, ".wasm")}-${label}.png`);
  await page.screenshot({ path: file, fullPage: true });
  console.log(`  ✓ ${label}  (${file})`);
};

let ok = false;
try {
  console.log(`plugins e2e against ${base} with ${wasm}`);
  await page.goto(`${base}/plugins/`);
  // The page decides client-side whether a session exists: wait for either the list or the
  // sign-in form rather than reading the URL at a moment when the redirect may not have happened.
  const heading = page.getByRole("heading", { name: "Plugins" });
  const email = page.getByLabel("Email");
  await Promise.race([heading.waitFor().catch(() => {}), email.waitFor().catch(() => {})]);
  if (await email.isVisible()) {
    await email.fill(process.env.SDMD_E2E_EMAIL ?? "admin@example.com");
    await page.getByLabel("Password").fill(process.env.SDMD_E2E_PASSWORD ?? "");
    await page.getByRole("button", { name: "Sign in" }).click();
    await page.waitForURL(/\/plugins\//);
  }
  await page.getByRole("heading", { name: "Plugins" }).waitFor();
  await page.getByLabel("Upload a plugin component").setInputFiles(wasm);
  // Its card (the list may already hold other plugins): the id is the file name by convention.
  const id = process.env.SDMD_E2E_PLUGIN_ID ?? basename(wasm, ".wasm");
  const card = page.locator(`a[href="/plugin/?id=${id}"]`);
  await card.waitFor();
  await shot("list");
  await card.click();
  await page.getByRole("heading", { name: "Capabilities" }).waitFor();
  await shot("detail-new");

  // Explicit grant step: enabling is refused until every requested capability is granted.
  const enable = page.getByRole("button", { name: "Enable" });
  if (await page.getByText("missing").count()) {
    if (!(await enable.isDisabled())) throw new Error("Enable should wait for the grants");
    await page.getByRole("checkbox", { name: /Grant http/ }).check();
    await page.getByLabel("HTTP allow-list").fill("http://127.0.0.1:18510");
    await page.getByRole("button", { name: "Save grants" }).click();
    await page.getByText("Grants saved.").waitFor();
  }
  const url = page.getByLabel(/^URL/);
  if (await url.count()) {
    await url.fill("http://127.0.0.1:18510/healthz");
    await page.getByRole("button", { name: "Save settings" }).click();
    await page.getByText("Settings saved.").waitFor();
  }
  await enable.click();
  await page.getByText("Plugin enabled.").waitFor();
  await page.getByRole("button", { name: "Run" }).click();
  await page.getByText(/\d+\.\d ms/).waitFor();
  await shot("detail-enabled-run");

  // Notifiers: delivery options (cooldown in minutes, batch window in seconds) survive a reload.
  if (await page.getByRole("heading", { name: "Delivery" }).count()) {
    await page.getByLabel(/^Cooldown/).fill("60");
    await page.getByLabel(/^Batch window/).fill("30");
    await page.getByRole("button", { name: "Save delivery options" }).click();
    await page.getByText("Delivery options saved.").waitFor();
    await page.reload();
    await page.getByRole("heading", { name: "Delivery" }).waitFor();
    const cooldown = await page.getByLabel(/^Cooldown/).inputValue();
    const batch = await page.getByLabel(/^Batch window/).inputValue();
    if (cooldown !== "60" || batch !== "30")
      throw new Error(`delivery options not kept: cooldown ${cooldown}, batch ${batch}`);
    await shot("detail-delivery");
  }
  browser.assertNoCspViolations();
  ok = true;
} catch (e) {
  console.error(`✗ plugins e2e failed: ${e.message}`);
  await page
    .screenshot({ path: join(shots, "plugins-failure.png"), fullPage: true })
    .catch(() => {});
} finally {
  await browser.close();
}
console.log(ok ? "plugins e2e: passed" : "plugins e2e: FAILED");
process.exit(ok ? 0 : 1);
