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
  const page = ctx.pages()[0] ?? (await ctx.newPage());
  page.setDefaultTimeout(30_000);
  const close = async () => {
    await ctx.close();
    rmSync(profile, { recursive: true, force: true });
  };
  return { ctx, page, close };
}
