// Every page of the static export, as the server serves it: its Content-Security-Policy has no
// 'unsafe-inline' in script-src and lists the SHA-256 of each of the page's inline scripts.
// Env: SDMD_E2E_URL (dashboard origin); argument: the export directory (default frontend/out).
import { readdirSync, statSync } from "node:fs";
import { join, relative } from "node:path";

import { hashSource, inlineScripts } from "../tools/csp-hashes.mjs";

const base = (process.env.SDMD_E2E_URL ?? "").replace(/\/$/, "");
const out = process.argv[2] ?? new URL("../out/", import.meta.url).pathname;
const pages = [];
const walk = (dir) => {
  for (const f of readdirSync(dir)) {
    const p = join(dir, f);
    if (statSync(p).isDirectory()) {
      if (f !== "_next") walk(p);
    } else if (f === "index.html") pages.push(`/${relative(out, dir)}${dir === out ? "" : "/"}`);
  }
};
walk(out);

let failures = 0;
let checked = 0;
for (const path of [...pages, "/api/docs"]) {
  const res = await fetch(base + path);
  const csp = res.headers.get("content-security-policy") ?? "";
  const scriptSrc = (csp.split(";").find((d) => d.trim().startsWith("script-src ")) ?? "")
    .trim()
    .split(/\s+/)
    .slice(1);
  const html = await res.text();
  const problems = [];
  if (res.status !== 200) problems.push(`status ${res.status}`);
  if (!scriptSrc.length) problems.push("no script-src");
  if (scriptSrc.some((s) => s === "'unsafe-inline'" || s === "'unsafe-eval'" || s === "*"))
    problems.push(`script-src allows too much: ${scriptSrc.join(" ")}`);
  for (const body of inlineScripts(html)) {
    checked++;
    const h = hashSource(body);
    if (!scriptSrc.includes(h))
      problems.push(`inline script ${h} not allowed: ${body.slice(0, 60)}…`);
  }
  if (problems.length) {
    failures++;
    console.error(`✗ ${path}: ${problems.join("; ")}`);
  }
}
console.log(
  failures
    ? `csp check: FAILED (${failures} of ${pages.length + 1} pages)`
    : `csp check: passed (${pages.length + 1} pages, ${checked} inline scripts, all allowed by hash)`,
);
process.exit(failures ? 1 : 0);
