// File permissions end to end in a real Chromium against a real sdmd on this machine's engine and
// file system: sign in → New service from YAML (a linuxserver-style member: PUID 1234, `./data`
// and `./config` binds, the standard environment) → the test pre-creates `<stacks>/<name>/data`
// as root, as Docker would have → Deploy → the toast and the service page say a folder is owned
// by another user → Fix permissions (confirm) → the warning is gone and the folder is 1234:1234
// on disk; `./config`, created by sdmd, was 1234:1234 from the start → delete.
//
// Env: SDMD_E2E_URL, SDMD_E2E_EMAIL, SDMD_E2E_PASSWORD, SDMD_E2E_IMAGE, SDMD_E2E_STACKS (the
//      server's stacks directory, on this machine), CHROMIUM, SDMD_E2E_SHOTS.
import { mkdirSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";

import { startFlow } from "./browser.mjs";

const image = process.env.SDMD_E2E_IMAGE ?? "127.0.0.1:5000/sdmd-e2e/busybox:1";
const stacks = process.env.SDMD_E2E_STACKS;
const name = `e2e-perm-${Date.now().toString(36)}`;
if (!stacks) {
  console.error("SDMD_E2E_STACKS (the server's stacks directory) is required");
  process.exit(2);
}
if (process.getuid?.() !== 0) {
  console.error("the permissions e2e pre-creates a root-owned folder: run it as root");
  process.exit(2);
}
const { base, shots, browser, page, consoleErrors, shot, signIn, step } =
  await startFlow("permissions");
const owner = (p) => {
  const s = statSync(p);
  return `${s.uid}:${s.gid}`;
};

let ok = false;
try {
  console.log(`e2e (file permissions) against ${base}, service ${name}`);
  await signIn();

  await page.getByRole("link", { name: "New service" }).first().click();
  await page.getByRole("heading", { name: "New service" }).waitFor();
  await page.getByRole("tab", { name: "YAML" }).click();
  const yaml = [
    `name: ${name}`,
    "x-sdmd:",
    "  standard_environment: true",
    "services:",
    "  app:",
    `    image: ${image}`,
    `    command: ["sleep", "300"]`,
    "    init: true",
    "    environment:",
    "      PUID: '1234'",
    "      PGID: '1234'",
    "    volumes:",
    "      - ./config:/config",
    "      - ./data:/data",
    "",
  ].join("\n");
  await page.getByLabel("Compose YAML").fill(yaml);
  await page.getByRole("button", { name: "Create service" }).click();
  await page.waitForURL(new RegExp(`/service/\\?id=${name}`));
  await page.getByRole("heading", { name }).waitFor();

  // As Docker would have made it: root-owned, with a file in it.
  const data = join(stacks, name, "data");
  mkdirSync(data, { recursive: true });
  writeFileSync(join(data, "state.db"), "x");
  if (owner(data) !== "0:0") throw new Error(`${data} is ${owner(data)}, not root's`);

  await page.getByRole("button", { name: "Deploy", exact: true }).click();
  await page
    .getByText(/owned by another user than the app runs as/)
    .first()
    .waitFor({
      timeout: 60_000,
    });
  const warning = page.getByRole("alert", { name: "File permissions" });
  await warning.waitFor();
  await warning.getByText(data).waitFor();
  await shot("warning");
  if (owner(join(stacks, name, "config")) !== "1234:1234")
    throw new Error(`./config was created ${owner(join(stacks, name, "config"))}, not 1234:1234`);
  console.log("  ✓ ./config created 1234:1234 by sdmd; ./data (root's) warned about");

  await warning.getByRole("button", { name: "Fix permissions" }).click();
  const dialog = page.getByRole("dialog");
  await dialog.getByText(/chown -R/).waitFor();
  await dialog.getByRole("button", { name: "Fix permissions" }).click();
  await page.getByText(/Fixed permissions of 1 folder/).waitFor();
  await warning.waitFor({ state: "detached" });
  for (const p of [data, join(data, "state.db")])
    if (owner(p) !== "1234:1234") throw new Error(`${p} is ${owner(p)} after the fix`);
  await shot("fixed");
  console.log("  ✓ fixed: data and its file are 1234:1234");

  await page.getByRole("button", { name: "Delete" }).click();
  await page.getByLabel(/Type .* to confirm/).fill(name);
  await page.getByRole("button", { name: "Delete service" }).click();
  await page.getByRole("heading", { name: "Services" }).waitFor();

  browser.assertNoCspViolations();
  ok = true;
} catch (e) {
  console.error(`✗ permissions e2e failed at step ${step() + 1}: ${e.message}`);
  await page
    .screenshot({ path: join(shots, "permissions-failure.png"), fullPage: true })
    .catch(() => {});
} finally {
  if (consoleErrors.length) console.log(`browser console errors:\n  ${consoleErrors.join("\n  ")}`);
  await browser.close();
}
console.log(ok ? "e2e permissions: passed" : "e2e permissions: FAILED");
process.exit(ok ? 0 : 1);
