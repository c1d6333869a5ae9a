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
