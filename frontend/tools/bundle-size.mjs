// First-load JavaScript per exported page: every <script src> in the page's HTML, gzip-compressed.
// `noModule` scripts (legacy polyfills) are skipped: modern browsers never download them.
// Usage: node tools/bundle-size.mjs [outDir]   (after `npm run build`)
import { readFileSync, readdirSync, statSync } from "node:fs";
import { join } from "node:path";
import { gzipSync } from "node:zlib";

const out = process.argv[2] ?? "out";
const pages = [];
const walk = (dir) => {
  for (const f of readdirSync(dir)) {
    const p = join(dir, f);
    if (statSync(p).isDirectory()) {
      if (f !== "_next") walk(p);
    } else if (f === "index.html") pages.push(p);
  }
};
walk(out);

const kb = (n) => `${(n / 1024).toFixed(1)} KB`;
let worst = 0;
for (const page of pages.sort()) {
  const html = readFileSync(page, "utf8");
  const srcs = [
    ...new Set(
      [...html.matchAll(/<script([^>]+)>/g)]
        .map((m) => m[1])
        .filter((attrs) => !/noModule/i.test(attrs))
        .map((attrs) => attrs.match(/src="([^"]+\.js)"/)?.[1])
        .filter(Boolean),
    ),
  ];
  let raw = 0;
  let gz = 0;
  for (const src of srcs) {
    const buf = readFileSync(join(out, src.replace(/^\//, "")));
    raw += buf.length;
    gz += gzipSync(buf, { level: 9 }).length;
  }
  worst = Math.max(worst, gz);
  const route = "/" + page.slice(out.length + 1).replace(/index\.html$/, "");
  console.log(
    `${route.padEnd(14)} ${String(srcs.length).padStart(2)} scripts  ${kb(raw).padStart(10)} raw  ${kb(gz).padStart(9)} gzip`,
  );
}
const budget = 300 * 1024;
console.log(`largest first load: ${kb(worst)} gzip (budget ${kb(budget)})`);
if (worst > budget) process.exit(1);
