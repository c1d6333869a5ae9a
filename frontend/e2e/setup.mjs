// First run in a real Chromium: a fresh sdmd without SDMD_ADMIN_EMAIL prints a one-time setup
// code in its log; the dashboard sends a visitor to "Create the first administrator", a wrong
// code is refused, the code from the log creates the administrator and lands on the dashboard;
// then, with the address blocked, the sign-in page says how long to wait.
//
// Env: SDMD_E2E_SETUP_URL (dashboard origin of that fresh sdmd), SDMD_E2E_SETUP_LOG (its log
//      file), CHROMIUM, SDMD_E2E_SHOTS.
import { mkdirSync, readFileSync } from "node:fs";
import { join } from "node:path";

import { launchBrowser } from "./browser.mjs";

const base = (process.env.SDMD_E2E_SETUP_URL ?? "").replace(/\/$/, "");
const log = process.env.SDMD_E2E_SETUP_LOG;
const shots = process.env.SDMD_E2E_SHOTS ?? new URL("../screenshots/", import.meta.url).pathname;
if (!base || !log) {
  console.error("SDMD_E2E_SETUP_URL and SDMD_E2E_SETUP_LOG are required");
  process.exit(2);
}

/** The setup code as sdmd printed it (ANSI colours stripped). */
function codeFromLog() {
  const text = readFileSync(log, "utf8").replace(/\x1b\[[0-9;]*m/g, "");
  const m = text.match(/setup_code=([0-9A-Z]{4}(?:-[0-9A-Z]{4}){3})/);
  return m?.[1] ?? null;
}

mkdirSync(shots, { recursive: true });
const browser = await launchBrowser("sdmd-e2e-setup-");
const { page } = browser;
const shot = async (label) => {
  const file = join(shots, `setup-${label}.png`);
  await page.screenshot({ path: file, fullPage: true });
  console.log(`  ✓ ${label}  (${file})`);
};

let ok = false;
try {
  console.log(`setup e2e against ${base}`);
  const code = codeFromLog();
  if (!code) throw new Error(`no setup code in ${log}`);
  // The banner on the terminal shows the same code.
  if (!readFileSync(log, "utf8").includes(`      ${code}\n`))
    throw new Error("the terminal banner does not show the setup code");

  // A protected page → sign-in → the setup page (no administrator yet).
  await page.goto(`${base}/`);
  await page.waitForURL(/\/setup\//);
  await page.getByRole("heading", { name: "Create the first administrator" }).waitFor();
  await shot("page");

  const email = "first-admin@example.com";
  const password = `setup-${Date.now().toString(36)}-password`;
  await page.getByLabel("Setup code").fill("0000-0000-0000-0000");
  await page.getByLabel("Email").fill(email);
  await page.getByLabel("Password", { exact: true }).fill(password);
  await page.getByLabel("Repeat the password").fill(password);
  await page.getByRole("button", { name: "Create administrator" }).click();
  await page.getByText("That is not the setup code").waitFor();
  await shot("wrong-code");

  await page.getByLabel("Setup code").fill(code.toLowerCase());
  await page.getByRole("button", { name: "Create administrator" }).click();
  await page.getByRole("heading", { name: "Services" }).waitFor();
  await page.getByText(email).first().waitFor();
  await shot("dashboard");

  // Done once: the setup page now says so, and the code is spent.
  await page.goto(`${base}/setup/`);
  await page.waitForURL((u) => !u.pathname.startsWith("/setup"));
  const res = await fetch(`${base}/api/v1/setup`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ code, email: "second@example.com", password }),
  });
  const body = await res.json();
  if (res.status !== 409 || body.code !== "setup_complete")
    throw new Error(`a second setup answered ${res.status} ${JSON.stringify(body)}`);

  // A blocked address: the sign-in page names the wait from `details.retry_after_ms`. 20 failed
  // sign-ins (distinct unknown accounts, so each counts against the address) block 127.0.0.1.
  await page.getByRole("button", { name: "Sign out" }).click();
  await page.waitForURL(/\/login\//);
  for (let i = 0; i < 20; i++) {
    await fetch(`${base}/auth/v1/token?grant_type=password`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ email: `nobody-${i}@example.com`, password: "wrong-password" }),
    });
  }
  await page.getByLabel("Email").fill(email);
  await page.getByLabel("Password").fill(password);
  await page.getByRole("button", { name: "Sign in" }).click();
  await page.getByText(/Too many attempts\. Try again in \d+ s\./).waitFor();
  await shot("rate-limited");
  browser.assertNoCspViolations();
  ok = true;
} catch (e) {
  console.error(`✗ setup e2e failed: ${e.message}`);
  await page.screenshot({ path: join(shots, "setup-failure.png"), fullPage: true }).catch(() => {});
} finally {
  await browser.close();
}
console.log(ok ? "setup e2e: passed" : "setup e2e: FAILED");
process.exit(ok ? 0 : 1);
