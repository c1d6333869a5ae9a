// Debian's Chromium driven by playwright-core with a throwaway profile: the launch flags that work
// on a machine without network access besides localhost, shared by the end-to-end scripts.
import { mkdtempSync, mkdirSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { chromium } from "playwright-core";

/** Launches Chromium (CHROMIUM, default /usr/bin/chromium); `close()` also removes the profile. */
export async function launchBrowser(prefix) {
  const profile = mkdtempSync(join(tmpdir(), prefix));
  const home = join(profile, "home");
  mkdirSync(home);
  const ctx = await chromium.launchPersistentContext(join(profile, "chrome"), {
    executablePath: process.env.CHROMIUM ?? "/usr/bin/chromium",
    headless: true,
    viewport: { width: 1280, height: 800 },
    env: {
      ...process.env,
      HOME: home,
      XDG_CONFIG_HOME: join(home, ".config"),
      XDG_CACHE_HOME: join(home, ".cache"),
    },
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
  // Content-Security-Policy violations fail the run: Chromium logs each one as a console error
  // ("Refused to execute inline script…"), and the page reports it as an event too.
  const cspViolations = [];
  await ctx.addInitScript(() => {
    document.addEventListener("securitypolicyviolation", (e) =>
      console.error(
        `CSP violation: ${e.violatedDirective} blocked ${e.blockedURI || "inline"} at ${e.sourceFile}:${e.lineNumber} ${e.sample || ""}`,
      ),
    );
  });
  const watch = (p) =>
    p.on("console", (m) => {
      const text = m.text();
      if (m.type() === "error" && /Content Security Policy|CSP violation/i.test(text))
        cspViolations.push(text);
    });
  ctx.on("page", watch);
  const page = ctx.pages()[0] ?? (await ctx.newPage());
  if (ctx.pages()[0] === page) watch(page);
  page.setDefaultTimeout(30_000);
  const close = async () => {
    await ctx.close();
    rmSync(profile, { recursive: true, force: true });
  };
  /** Throws when any page hit the Content-Security-Policy. */
  const assertNoCspViolations = () => {
    if (cspViolations.length)
      throw new Error(`CSP violations in the browser:\n  ${cspViolations.join("\n  ")}`);
  };
  return { ctx, page, close, cspViolations, assertNoCspViolations };
}

/**
 * What every flow starts with: the env it reads (SDMD_E2E_URL, SDMD_E2E_EMAIL,
 * SDMD_E2E_PASSWORD, SDMD_E2E_SHOTS), a browser whose console errors are collected, a numbered
 * screenshot helper (`<prefix>-NN-<label>.png`) and `signIn()` (a protected page sends the
 * browser to /login/ first).
 */
export async function startFlow(prefix) {
  const base = (process.env.SDMD_E2E_URL ?? "http://127.0.0.1:18600").replace(/\/$/, "");
  const email = process.env.SDMD_E2E_EMAIL ?? "admin@example.com";
  const password = process.env.SDMD_E2E_PASSWORD;
  const shots = process.env.SDMD_E2E_SHOTS ?? new URL("../screenshots/", import.meta.url).pathname;
  if (!password) {
    console.error("SDMD_E2E_PASSWORD is required (the administrator's password)");
    process.exit(2);
  }
  mkdirSync(shots, { recursive: true });
  const browser = await launchBrowser(`sdmd-e2e-${prefix}-`);
  const { page } = browser;
  const consoleErrors = [];
  page.on("console", (m) => {
    if (m.type() === "error") consoleErrors.push(m.text());
  });
  page.on("pageerror", (e) => consoleErrors.push(`pageerror: ${e.message}`));
  let step = 0;
  const shot = async (label) => {
    step++;
    const file = join(shots, `${prefix}-${String(step).padStart(2, "0")}-${label}.png`);
    await page.screenshot({ path: file, fullPage: true });
    console.log(`  ✓ ${label}  (${file})`);
  };
  const signIn = async () => {
    await page.goto(`${base}/`);
    await page.waitForURL(/\/login\//);
    await page.getByLabel("Email").fill(email);
    await page.getByLabel("Password").fill(password);
    await page.getByRole("button", { name: "Sign in" }).click();
    await page.getByRole("heading", { name: "Services" }).waitFor();
  };
  return { base, shots, browser, page, consoleErrors, shot, signIn, step: () => step };
}
