// The dashboard's end-to-end flow in a real Chromium against a real sdmd (Docker + PostgreSQL):
// sign in → create a service from YAML → deploy → running → logs → stop → stopped → add a mount
// in the definition's structured editor → audit lists those actions → delete → sign out.
// Screenshots go to frontend/screenshots/ (git-ignored).
//
// Env: SDMD_E2E_URL (dashboard origin), SDMD_E2E_EMAIL, SDMD_E2E_PASSWORD, SDMD_E2E_IMAGE,
//      CHROMIUM (default /usr/bin/chromium), SDMD_E2E_SHOTS (screenshot dir).
import { mkdirSync, readFileSync } from "node:fs";
import { join } from "node:path";

import { launchBrowser } from "./browser.mjs";

const base = (process.env.SDMD_E2E_URL ?? "http://127.0.0.1:18600").replace(/\/$/, "");
const email = process.env.SDMD_E2E_EMAIL ?? "admin@example.com";
const password = process.env.SDMD_E2E_PASSWORD;
const image = process.env.SDMD_E2E_IMAGE ?? "127.0.0.1:5000/sdmd-e2e/busybox:1";
const shots = process.env.SDMD_E2E_SHOTS ?? new URL("../screenshots/", import.meta.url).pathname;
const name = `e2e-${Date.now().toString(36)}`;
if (!password) {
  console.error("SDMD_E2E_PASSWORD is required (the administrator's password)");
  process.exit(2);
}

mkdirSync(shots, { recursive: true });
const browser = await launchBrowser("sdmd-e2e-");
const { page } = browser;
const consoleErrors = [];
page.on("console", (m) => {
  if (m.type() === "error") consoleErrors.push(m.text());
});
page.on("pageerror", (e) => consoleErrors.push(`pageerror: ${e.message}`));

let step = 0;
const shot = async (label) => {
  step++;
  const file = join(shots, `${String(step).padStart(2, "0")}-${label}.png`);
  await page.screenshot({ path: file, fullPage: true });
  console.log(`  ✓ ${label}  (${file})`);
};
const expectText = async (locator, re, what) => {
  await locator
    .filter({ hasText: re })
    .first()
    .waitFor({ state: "visible" })
    .catch((e) => {
      throw new Error(`${what}: ${e.message}`);
    });
};

let ok = false;
try {
  console.log(`e2e against ${base}, service ${name}`);

  // Sign in (a protected page sends us to /login/ first).
  await page.goto(`${base}/`);
  await page.waitForURL(/\/login\//);
  await shot("login");
  await page.getByLabel("Email").fill(email);
  await page.getByLabel("Password").fill(password);
  await page.getByRole("button", { name: "Sign in" }).click();
  await page.getByRole("heading", { name: "Services" }).waitFor();
  await page.getByText("Live").waitFor();
  await shot("services");

  // Create from YAML.
  await page.getByRole("link", { name: "New service" }).first().click();
  await page.getByRole("heading", { name: "New service" }).waitFor();
  await page.getByRole("tab", { name: "YAML" }).click();
  const yaml = [
    `name: ${name}`,
    "services:",
    "  web:",
    `    image: ${image}`,
    `    command: ["sh", "-c", "echo hello from the sdmd e2e; while true; do echo tick; sleep 1; done"]`,
    "    init: true",
    "    restart: unless-stopped",
    "",
  ].join("\n");
  await page.getByLabel("Compose YAML").fill(yaml);
  await shot("new-service-yaml");
  await page.getByRole("button", { name: "Create service" }).click();
  await page.waitForURL(new RegExp(`/service/\\?id=${name}`));
  await page.getByRole("heading", { name }).waitFor();
  // Stored, not deployed yet: the badge says so (not "Stopped").
  await page.locator('h1 ~ [data-status="not_deployed"]').first().waitFor();
  await shot("created");

  // Deploy → running.
  await page.getByRole("button", { name: "Deploy", exact: true }).click();
  await page.locator('h1 ~ [data-status="running"]').first().waitFor({ timeout: 60_000 });
  await page.locator('[data-container] [data-state="running"]').first().waitFor();
  await shot("running");

  // Updates (when the server has the update milestone): a schedule, a check, the history.
  const scheduleResponse = page.waitForResponse((r) =>
    r.url().includes(`/api/v1/services/${name}/schedule`),
  );
  await page.getByRole("tab", { name: "Updates" }).click();
  const hasUpdates = (await scheduleResponse).status() === 200;
  if (hasUpdates) {
    await page.getByRole("heading", { name: "Update schedule" }).waitFor();
    await page.getByLabel("Run on a schedule").check();
    await page.getByLabel("Time of day").fill("04:30");
    await page.getByLabel("Time zone").fill("Europe/Berlin");
    await page.getByRole("button", { name: "Save schedule" }).click();
    await page.getByText(/Schedule saved/).waitFor();
    await page.getByRole("button", { name: `Actions for ${name}` }).click();
    await page.getByRole("menuitem", { name: "Check for updates" }).click();
    await page.getByText(/— (up to date|an update is available)\./).waitFor();
    await page.locator("li", { hasText: "check" }).first().waitFor();
    await page
      .locator('figure[aria-label^="Update durations"] .recharts-bar-rectangle')
      .first()
      .waitFor();
    await shot("updates");
  } else {
    console.log("  - updates: this server has no schedule/update routes yet");
  }
  await page.getByRole("tab", { name: "Containers" }).click();

  // The same page on a phone, in the dark theme (the theme follows the system by default).
  await page.emulateMedia({ colorScheme: "dark" });
  await page.setViewportSize({ width: 390, height: 844 });
  await page.reload();
  await page.locator('h1 ~ [data-status="running"]').first().waitFor();
  await shot("running-phone-dark");
  await page.getByRole("button", { name: "Menu" }).click();
  await page
    .getByRole("navigation", { name: "Main" })
    .last()
    .getByRole("link", { name: "Services" })
    .click();
  await page.getByRole("heading", { name: "Services" }).waitFor();
  await page.locator(`[data-service="${name}"]`).waitFor();
  await shot("services-phone-dark");
  await page.setViewportSize({ width: 1280, height: 800 });
  // The containers column (wide screens): one of one running.
  await page.locator(`[data-service="${name}"] [data-counts="1/1"]`).waitFor();
  await page.emulateMedia({ colorScheme: "light" });
  await page.goto(`${base}/service/?id=${name}`);
  await page.locator('h1 ~ [data-status="running"]').first().waitFor();

  // Logs.
  await page.getByRole("tab", { name: "Logs" }).click();
  await expectText(page.getByTestId("logs"), /hello from the sdmd e2e/, "log line");
  // Follow: new lines arrive over the authenticated SSE stream.
  const lines = () => page.getByTestId("logs").locator(":scope > div").count();
  const before = await lines();
  await page.getByRole("button", { name: "Follow" }).click();
  await page.getByRole("button", { name: "Following" }).waitFor();
  await page.waitForFunction(
    (n) => document.querySelectorAll('[data-testid="logs"] > div').length >= n + 2,
    before,
    { timeout: 15_000 },
  );
  console.log(`  ✓ follow: ${before} → ${await lines()} lines`);
  await page.getByRole("button", { name: "Following" }).click();
  await shot("logs");

  // Stop (with its confirmation) → stopped.
  await page.getByRole("button", { name: `Actions for ${name}` }).click();
  await page.getByRole("menuitem", { name: "Stop" }).click();
  await page.getByRole("dialog").getByRole("button", { name: "Stop" }).click();
  await page.locator('h1 ~ [data-status="stopped"]').first().waitFor({ timeout: 60_000 });
  await page.getByRole("tab", { name: "Containers" }).click();
  await shot("stopped");

  // Definition editor and revisions exist for a managed service.
  await page.getByRole("tab", { name: "Definition" }).click();
  await page.getByLabel("Image").first().waitFor();
  await shot("definition");

  // The structured mounts editor: add ./data → /data read-only, save, and the YAML tab has it.
  await page.getByRole("button", { name: "Add mount" }).click();
  await page.getByLabel("Host path 1", { exact: true }).fill("./data");
  await page.getByLabel("Container path 1", { exact: true }).fill("/data");
  await page.getByLabel("Read-only 1", { exact: true }).check();
  await shot("definition-mount");
  await page.getByRole("button", { name: "Save revision" }).click();
  await page.getByText("Saved revision 2").waitFor();
  await page.getByRole("tab", { name: "YAML" }).click();
  const withMount = await page.getByLabel("Compose YAML").inputValue();
  if (!/volumes:\n\s+- \.\/data:\/data:ro\n/.test(withMount))
    throw new Error(`the saved definition lacks the mount:\n${withMount}`);
  if (!withMount.includes("echo hello from the sdmd e2e"))
    throw new Error(`the saved definition lost its command:\n${withMount}`);
  console.log("  ✓ structured mount row saved as ./data:/data:ro");

  // Import a compose project (a document without `name` + its .env) → the Files tab shows the
  // sealed .env masked, and the Definition tab the document as written.
  const project = `${name}-proj`;
  await page.goto(`${base}/new/`);
  await page.getByRole("tab", { name: "Import project" }).click();
  await page.getByLabel("Pick project files").setInputFiles([
    {
      name: "compose.yaml",
      mimeType: "application/yaml",
      buffer: Buffer.from(
        `services:\n  web:\n    image: ${image}\n    environment:\n      GREETING: \${GREETING}\n`,
      ),
    },
    { name: ".env", mimeType: "text/plain", buffer: Buffer.from("GREETING=hello\n") },
  ]);
  await page.getByTestId("import-files").getByText(".env").waitFor();
  await page.getByLabel("Service name").fill(project);
  await shot("import");
  await page.getByRole("button", { name: "Import project" }).click();
  await page.waitForURL(new RegExp(`/service/\\?id=${project}`));
  await page.getByRole("tab", { name: "Files" }).click();
  await page.getByRole("button", { name: /\.env.*sealed/ }).click();
  await page.getByTestId("masked-content").getByText("GREETING=********").waitFor();
  await shot("files");
  await page.getByRole("tab", { name: "Definition" }).click();
  await page.getByRole("tab", { name: "YAML" }).click();
  const asWritten = await page.getByLabel("Compose YAML").inputValue();
  if (!asWritten.includes("${GREETING}"))
    throw new Error(`the definition is not the document as written:\n${asWritten}`);
  // Saving the definition keeps the project's files.
  await page
    .getByLabel("Compose YAML")
    .fill(asWritten.replace("GREETING:", "MODE: e2e\n      GREETING:"));
  await page.getByRole("button", { name: "Save revision" }).click();
  await page.getByText("Saved revision 2").waitFor();
  await page.getByRole("tab", { name: "Files" }).click();
  await page.getByRole("button", { name: /\.env.*sealed/ }).waitFor();
  await page.getByRole("button", { name: "Delete" }).click();
  await page.getByLabel(/Type .* to confirm/).fill(project);
  await page.getByRole("button", { name: "Delete service" }).click();
  await page.getByRole("heading", { name: "Services" }).waitFor();
  console.log("  ✓ import with .env, Files tab, document as written, save keeps the files");

  // The audit log lists those actions.
  await page.getByRole("link", { name: "Audit log" }).first().click();
  await page.getByRole("heading", { name: "Audit log" }).waitFor();
  await page.getByLabel("Target").fill(name);
  await page.getByRole("button", { name: "Apply" }).click();
  for (const action of ["service.create", "service.deploy", "service.stop"]) {
    await page.locator(`tr[data-action="${action}"]`).first().waitFor();
  }
  await shot("audit");
  const [download] = await Promise.all([
    page.waitForEvent("download"),
    page.getByRole("button", { name: "Export CSV" }).click(),
  ]);
  const csv = readFileSync(await download.path(), "utf8");
  if (!csv.includes("service.stop") || !csv.includes(name))
    throw new Error("the CSV export lacks the stop entry");
  console.log(`  ✓ audit CSV export (${csv.split("\n").length - 1} lines)`);

  // Clean up through the UI: delete with type-to-confirm. (Links from before service ids used
  // `?name=`; they still open the page.)
  await page.goto(`${base}/service/?name=${name}`);
  await page.getByRole("button", { name: "Delete" }).click();
  await page.getByLabel(/Type .* to confirm/).fill(name);
  await shot("delete-dialog");
  await page.getByRole("button", { name: "Delete service" }).click();
  await page.getByRole("heading", { name: "Services" }).waitFor();

  // Sign out → back at the login page, and protected pages stay closed.
  await page.getByRole("button", { name: "Sign out" }).click();
  await page.waitForURL(/\/login\//);
  await page.goto(`${base}/audit/`);
  await page.waitForURL(/\/login\//);
  await shot("signed-out");
  browser.assertNoCspViolations();
  console.log("  ✓ no Content-Security-Policy violations");
  ok = true;
} catch (e) {
  console.error(`✗ e2e failed at step ${step + 1}: ${e.message}`);
  await page.screenshot({ path: join(shots, "failure.png"), fullPage: true }).catch(() => {});
} finally {
  if (consoleErrors.length) console.log(`browser console errors:\n  ${consoleErrors.join("\n  ")}`);
  await browser.close();
}
console.log(ok ? "e2e: passed" : "e2e: FAILED");
process.exit(ok ? 0 : 1);
