// Serves the static export and forwards API, auth and config requests to sdmd on one origin,
// as sdmd itself does with SDMD_UI_DIR. For development and for e2e runs against an sdmd that
// does not serve the dashboard (yet).
// Usage: node e2e/serve.mjs --port 18600 --backend http://127.0.0.1:18500 [--dir out]
import { createReadStream, existsSync, statSync } from "node:fs";
import http from "node:http";
import { extname, join, normalize } from "node:path";
import { parseArgs } from "node:util";

const { values } = parseArgs({
  options: {
    port: { type: "string", default: "18600" },
    backend: { type: "string", default: "http://127.0.0.1:18500" },
    dir: { type: "string", default: "out" },
  },
});
const backend = new URL(values.backend);
const root = normalize(values.dir);
const TYPES = {
  ".html": "text/html; charset=utf-8",
  ".js": "text/javascript",
  ".css": "text/css",
  ".json": "application/json",
  ".svg": "image/svg+xml",
  ".woff2": "font/woff2",
  ".txt": "text/plain",
  ".ico": "image/x-icon",
};
const PROXIED = ["/api/", "/auth/", "/config.json", "/healthz", "/metrics"];

function proxy(req, res) {
  const up = http.request(
    {
      host: backend.hostname,
      port: backend.port,
      path: req.url,
      method: req.method,
      headers: { ...req.headers, host: backend.host },
    },
    (r) => {
      res.writeHead(r.statusCode ?? 502, r.headers);
      r.pipe(res);
    },
  );
  up.on("error", (e) => {
    res.writeHead(502, { "content-type": "application/json" });
    res.end(
      JSON.stringify({ code: "bad_gateway", message: "sdmd is not reachable", details: String(e) }),
    );
  });
  req.pipe(up);
  res.on("close", () => up.destroy());
}

function serveStatic(req, res) {
  const path = decodeURIComponent(new URL(req.url, "http://x").pathname);
  let file = normalize(join(root, path));
  if (!file.startsWith(root)) {
    res.writeHead(400).end();
    return;
  }
  if (existsSync(file) && statSync(file).isDirectory()) file = join(file, "index.html");
  if (!existsSync(file)) file = join(root, "404.html");
  const status = file.endsWith("404.html") ? 404 : 200;
  res.writeHead(status, { "content-type": TYPES[extname(file)] ?? "application/octet-stream" });
  createReadStream(file).pipe(res);
}

http
  .createServer((req, res) =>
    PROXIED.some((p) => req.url.startsWith(p)) ? proxy(req, res) : serveStatic(req, res),
  )
  .listen(Number(values.port), "127.0.0.1", () =>
    console.log(`dashboard on http://127.0.0.1:${values.port} → ${backend.origin}`),
  );
