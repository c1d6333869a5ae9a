// Build step after `next build`: the SHA-256 of every inline <script> (no `src`) of every HTML
// page of the static export, written to <out>/csp-hashes.json. sdmd reads that file and serves
// `script-src 'self' 'sha256-…'…` — no 'unsafe-inline' (docs/security.md). A static export cannot
// carry per-request nonces, so hashes are the way to allow Next.js's inline bootstrap scripts.
// Usage: node tools/csp-hashes.mjs [outDir]
import { createHash } from "node:crypto";
import { readFileSync, readdirSync, statSync, writeFileSync } from "node:fs";
import { join, relative } from "node:path";

/** The bodies of the inline scripts of `html`, in order. Script content is raw text in HTML
 * (no entities), so the bytes between the tags are exactly what the browser hashes. */
export function inlineScripts(html) {
  const out = [];
  const re = /<script\b([^>]*)>([\s\S]*?)<\/script\s*>/gi;
  for (const m of html.matchAll(re)) {
    if (/(^|\s)src\s*=/i.test(m[1])) continue;
    out.push(m[2]);
  }
  return out;
}

/** The CSP source of one script body. */
export function hashSource(body) {
  return `'sha256-${createHash("sha256").update(body, "utf8").digest("base64")}'`;
}

function htmlFiles(dir) {
  const files = [];
  for (const f of readdirSync(dir)) {
    const p = join(dir, f);
    if (statSync(p).isDirectory()) files.push(...htmlFiles(p));
    else if (f.endsWith(".html")) files.push(p);
  }
  return files;
}

/** Hashes every page of `out`; returns what it wrote. */
export function writeHashes(out) {
  const all = new Set();
  const pages = {};
  for (const file of htmlFiles(out)) {
    const hashes = inlineScripts(readFileSync(file, "utf8")).map(hashSource);
    hashes.forEach((h) => all.add(h));
    pages[relative(out, file)] = hashes.length;
  }
  const doc = { script_src: [...all].sort(), pages };
  writeFileSync(join(out, "csp-hashes.json"), JSON.stringify(doc, null, 1) + "\n");
  return doc;
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const out = process.argv[2] ?? "out";
  const doc = writeHashes(out);
  console.log(
    `csp-hashes: ${doc.script_src.length} inline script hashes from ${Object.keys(doc.pages).length} pages → ${join(out, "csp-hashes.json")}`,
  );
}
