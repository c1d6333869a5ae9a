#!/usr/bin/env node
/**
 * The contract check: proves that `tsc` catches an API change the dashboard depends on. It
 * copies the committed OpenAPI snapshot, renames a field the UI reads (ServiceView.name →
 * service_name), generates the client types from the copy into a temporary directory, and
 * typechecks the dashboard against them — which must fail, naming the field. A control run with
 * the unmodified copy must pass, so the failure is the rename's and not the harness's.
 *
 * The dashboard imports the generated types only as `@/lib/api/schema`; the temporary tsconfig
 * maps that one import to the temporary file. scripts/frontend.sh runs this after the typecheck.
 */
import { spawnSync } from "node:child_process";
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
const snapshot = path.join(root, "lib/api/openapi.json");
const SCHEMA = "ServiceView";
const FIELD = "name";
const RENAMED = "service_name";

function run(cmd, args) {
  const r = spawnSync(cmd, args, { cwd: root, encoding: "utf8" });
  if (r.error) throw r.error;
  return { code: r.status ?? 1, out: `${r.stdout}${r.stderr}` };
}

/** Generates types from `doc` into `dir` and typechecks the dashboard against them. */
async function typecheckAgainst(doc, dir) {
  const json = path.join(dir, "openapi.json");
  await writeFile(json, JSON.stringify(doc));
  const gen = run(process.execPath, [path.join(root, "tools/gen-api.mjs"), json, dir]);
  if (gen.code !== 0) throw new Error(`generating types failed:\n${gen.out}`);
  const tsconfig = path.join(dir, "tsconfig.json");
  const base = JSON.parse(await readFile(path.join(root, "tsconfig.json"), "utf8"));
  await writeFile(
    tsconfig,
    JSON.stringify({
      extends: path.join(root, "tsconfig.json"),
      compilerOptions: {
        incremental: false,
        // `types` resolve from the config's directory: point them at the dashboard's modules.
        typeRoots: [path.join(root, "node_modules/@types"), path.join(root, "node_modules")],
        paths: {
          "@/lib/api/schema": [path.join(dir, "schema.d.ts")],
          "@/*": [path.join(root, "*")],
        },
      },
      include: base.include.map((p) => path.join(root, p)),
      exclude: base.exclude.map((p) => path.join(root, p)),
    }),
  );
  return run(process.execPath, [
    path.join(root, "node_modules/typescript/bin/tsc"),
    "--noEmit",
    "-p",
    tsconfig,
  ]);
}

const doc = JSON.parse(await readFile(snapshot, "utf8"));
const target = doc.components?.schemas?.[SCHEMA];
if (!target?.properties?.[FIELD]) {
  console.error(`contract-check: ${SCHEMA}.${FIELD} is not in the snapshot; pick another field`);
  process.exit(1);
}

const tmp = await mkdtemp(path.join(os.tmpdir(), "sdmd-contract-"));
try {
  const control = await typecheckAgainst(doc, await mkdtemp(path.join(tmp, "control-")));
  if (control.code !== 0) {
    console.error(
      "contract-check: the unmodified snapshot does not typecheck through the harness:",
    );
    console.error(control.out);
    process.exit(1);
  }

  const renamed = structuredClone(doc);
  const s = renamed.components.schemas[SCHEMA];
  s.properties = Object.fromEntries(
    Object.entries(s.properties).map(([k, v]) => [k === FIELD ? RENAMED : k, v]),
  );
  s.required = (s.required ?? []).map((k) => (k === FIELD ? RENAMED : k));
  const broken = await typecheckAgainst(renamed, await mkdtemp(path.join(tmp, "renamed-")));
  const errors = broken.out.split("\n").filter((l) => /error TS\d+/.test(l));
  const named = errors.filter((l) => l.includes(`'${FIELD}'`) || l.includes(`"${FIELD}"`));
  if (broken.code === 0 || named.length === 0) {
    console.error(
      `contract-check: renaming ${SCHEMA}.${FIELD} → ${RENAMED} in the OpenAPI document did not fail the typecheck on '${FIELD}'`,
    );
    console.error(broken.out);
    process.exit(1);
  }
  console.log(
    `contract-check: renaming ${SCHEMA}.${FIELD} → ${RENAMED} fails the typecheck (${errors.length} errors, e.g.)`,
  );
  for (const l of named.slice(0, 3)) console.log(`  ${l.trim().replace(`${root}/`, "")}`);
} finally {
  await rm(tmp, { recursive: true, force: true });
}
