// Global variables and app templates end to end in a real Chromium against a real sdmd: sign in →
// Settings: set PUID, PGID and TZ (overriding the defaults), save, reload and see them →
// Templates: choose the bundled Whoami, its "Log every request" select offers No and Yes, choose
// Yes, Preview shows VERBOSE true in the definition, Create → the service page (its Environment
// tab lists VERBOSE) → delete the service. Screenshots go next to flow.mjs's (templates-*).
//
// Env: SDMD_E2E_URL (dashboard origin), SDMD_E2E_EMAIL, SDMD_E2E_PASSWORD, CHROMIUM,
//      SDMD_E2E_SHOTS (screenshot dir).
import { join } from "node:path";

import { startFlow } from "./browser.mjs";

const name = `e2e-tpl-${Date.now().toString(36)}`;
const { base, shots, browser, page, consoleErrors, shot, signIn, step } =
  await startFlow("templates");

const wanted = { PUID: "1234", PGID: "1234", TZ: "Europe/Berlin" };

let ok = false;
try {
  console.log(`e2e (variables, templates) against ${base}, service ${name}`);

  await signIn();

  // Settings → Variables: override the defaults (or edit the stored ones of an earlier run).
  await page.getByRole("link", { name: "Settings" }).first().click();
  await page.getByRole("heading", { name: "Settings" }).waitFor();
  const card = page.getByRole("region", { name: "Variables" });
  await card.getByRole("button", { name: "Add variable" }).waitFor();
  for (const [key, value] of Object.entries(wanted)) {
    const input = card.getByLabel(`Value of ${key}`, { exact: true });
    if ((await input.count()) === 0) {
      const override = card.getByRole("button", { name: `Override ${key}` });
      if ((await override.count()) > 0) await override.click();
      else {
        await card.getByRole("button", { name: "Add variable" }).click();
        await card
          .getByLabel(/^Name of variable \d+$/)
          .last()
          .fill(key);
      }
    }
    await input.fill(value);
  }
  await shot("variables-edited");
  await card.getByRole("button", { name: "Save variables" }).click();
  await page.getByText("Variables saved.").waitFor();
  await page.reload();
  await card.getByRole("button", { name: "Add variable" }).waitFor();
  for (const [key, value] of Object.entries(wanted)) {
    const input = card.getByLabel(`Value of ${key}`, { exact: true });
    await input.waitFor();
    const got = await input.inputValue();
    if (got !== value) throw new Error(`variable ${key} after reload: ${got}, not ${value}`);
  }
  await shot("variables-saved");
  console.log("  ✓ PUID, PGID and TZ stored and shown after a reload");

  // Templates → Whoami.
  await page.getByRole("link", { name: "Templates" }).first().click();
  await page.getByRole("heading", { name: "Templates", exact: true }).waitFor();
  await page.getByRole("button", { name: "Use Whoami" }).click();
  await page.getByRole("heading", { name: "New service from Whoami" }).waitFor();
  await page.getByLabel("Service name").fill(name);
  const verbose = page.getByLabel("Log every request");
  await verbose.click();
  const options = (await page.getByRole("option").allTextContents()).map((t) => t.trim());
  if (!options.includes("No") || !options.includes("Yes"))
    throw new Error(`"Log every request" offers ${JSON.stringify(options)}, not No and Yes`);
  await page.getByRole("option", { name: "Yes" }).click();
  await verbose.filter({ hasText: "Yes" }).waitFor();
  await shot("whoami-form");

  // Preview: the definition, read-only, with the chosen value.
  await page.getByRole("button", { name: "Preview" }).click();
  const preview = page.getByLabel("Definition preview");
  await preview.waitFor();
  const yaml = await preview.inputValue();
  if (!/VERBOSE: (?:"true"|'true'|true)\s*$/m.test(yaml))
    throw new Error(`the preview lacks VERBOSE true:\n${yaml}`);
  await shot("whoami-preview");

  // Create → the service's page.
  await page.getByRole("button", { name: "Create service" }).click();
  await page.waitForURL(new RegExp(`/service/\\?id=${name}`));
  await page.getByRole("heading", { name }).waitFor();
  await page.getByRole("tab", { name: "Environment" }).click();
  await page.locator('[data-env="VERBOSE"]').filter({ hasText: "true" }).first().waitFor();
  await shot("created-environment");

  // Clean up through the UI: delete with type-to-confirm.
  await page.getByRole("button", { name: "Delete" }).click();
  await page.getByLabel(/Type .* to confirm/).fill(name);
  await page.getByRole("button", { name: "Delete service" }).click();
  await page.getByRole("heading", { name: "Services" }).waitFor();
  await shot("deleted");

  browser.assertNoCspViolations();
  console.log("  ✓ no Content-Security-Policy violations");
  ok = true;
} catch (e) {
  console.error(`✗ templates e2e failed at step ${step() + 1}: ${e.message}`);
  await page
    .screenshot({ path: join(shots, "templates-failure.png"), fullPage: true })
    .catch(() => {});
} finally {
  if (consoleErrors.length) console.log(`browser console errors:\n  ${consoleErrors.join("\n  ")}`);
  await browser.close();
}
console.log(ok ? "e2e templates: passed" : "e2e templates: FAILED");
process.exit(ok ? 0 : 1);
