/**
 * The definition editor's form model. The form is a view over the compose document **as
 * written** (with its `${VAR}` text, comments and every field the form does not show): it is
 * read from the document, and saving patches only the fields that changed into the document's
 * YAML ({@link patchYaml}), never rebuilding it. A field written in a shape the form can't show
 * faithfully (long-syntax ports, say) is locked: shown read-only and never written.
 */
import { isMap, isSeq, parse, parseDocument, type Document } from "yaml";

import type { Problem } from "./api";

export const RESTART_POLICIES = ["", "no", "always", "on-failure", "unless-stopped"] as const;

/** The member fields the form edits. */
export const MEMBER_FIELDS = [
  "image",
  "container_name",
  "environment",
  "ports",
  "volumes",
  "restart",
  "depends_on",
  "command",
] as const;
export type MemberField = (typeof MEMBER_FIELDS)[number];

export interface MemberForm {
  key: string;
  image: string;
  container_name: string;
  /** KEY=VALUE per line. */
  environment: string;
  /** One per line. */
  ports: string;
  /** One per line. */
  volumes: string;
  restart: string;
  /** Comma-separated member names. */
  depends_on: string;
  /** Shell-like words. */
  command: string;
  /** The member's key in the document as loaded (null: added in the form). */
  origKey: string | null;
  /** Fields written in a shape the form can't show: read-only, never written. */
  locked: MemberField[];
}

export interface DefinitionForm {
  name: string;
  members: MemberForm[];
  /** Named volumes, comma-separated. */
  volumes: string;
}

export function emptyMember(key = "app"): MemberForm {
  return {
    key,
    image: "",
    container_name: "",
    environment: "",
    ports: "",
    volumes: "",
    restart: "unless-stopped",
    depends_on: "",
    command: "",
    origKey: null,
    locked: [],
  };
}

function quoteWord(w: string): string {
  return /^[\w@%+=:,./${}-]+$/.test(w) ? w : `'${w.replace(/'/g, `'\\''`)}'`;
}

type Obj = Record<string, unknown>;
const isObj = (v: unknown): v is Obj => typeof v === "object" && v !== null && !Array.isArray(v);
const scalar = (v: unknown): v is string | number | boolean =>
  typeof v === "string" || typeof v === "number" || typeof v === "boolean";

/** The form of a document (as parsed from YAML or JSON); shapes it can't show are locked. */
export function toForm(doc: unknown): DefinitionForm {
  const d = isObj(doc) ? doc : {};
  const services = isObj(d.services) ? d.services : {};
  return {
    name: typeof d.name === "string" ? d.name : "",
    volumes: isObj(d.volumes) ? Object.keys(d.volumes).join(", ") : "",
    members: Object.entries(services).map(([key, raw]) => {
      const m = isObj(raw) ? raw : {};
      const locked: MemberField[] = [];
      const text = (f: MemberField, v: unknown, conv: (v: unknown) => string | null) => {
        if (v === undefined || v === null) return "";
        const t = conv(v);
        if (t === null) {
          locked.push(f);
          return typeof v === "string" ? v : JSON.stringify(v);
        }
        return t;
      };
      const str = (v: unknown) => (scalar(v) ? String(v) : null);
      const lines = (v: unknown) =>
        Array.isArray(v) && v.every(scalar) ? v.map(String).join("\n") : null;
      return {
        key,
        image: text("image", m.image, str),
        container_name: text("container_name", m.container_name, str),
        environment: text("environment", m.environment, (v) => {
          if (Array.isArray(v)) return lines(v);
          if (!isObj(v) || !Object.values(v).every((x) => x === null || scalar(x))) return null;
          return Object.entries(v)
            .map(([k, x]) => (x === null ? k : `${k}=${String(x)}`))
            .join("\n");
        }),
        ports: text("ports", m.ports, lines),
        volumes: text("volumes", m.volumes, lines),
        restart: text("restart", m.restart, str),
        depends_on: text("depends_on", m.depends_on, (v) =>
          Array.isArray(v)
            ? v.every((x) => typeof x === "string")
              ? v.join(", ")
              : null
            : isObj(v)
              ? Object.keys(v).join(", ")
              : null,
        ),
        command: text("command", m.command, (v) =>
          typeof v === "string"
            ? v
            : Array.isArray(v) && v.every(scalar)
              ? v.map((w) => quoteWord(String(w))).join(" ")
              : null,
        ),
        origKey: key,
        locked,
      };
    }),
  };
}

/** The form of a YAML text; throws when the text isn't YAML. */
export function formOfYaml(yaml: string): DefinitionForm {
  return toForm(parse(yaml));
}

const splitLines = (t: string) =>
  t
    .split("\n")
    .map((l) => l.trim())
    .filter(Boolean);
const splitList = (t: string) =>
  t
    .split(",")
    .map((l) => l.trim())
    .filter(Boolean);

/** The document value of a form field, in the style the document already used where it matters. */
function fieldValue(doc: Document, path: string[], f: MemberField, text: string): unknown {
  const before: unknown = doc.getIn(path);
  switch (f) {
    case "image":
    case "container_name":
    case "restart":
    case "command":
      return text.trim() || undefined;
    case "ports":
    case "volumes":
      return splitLines(text).length ? splitLines(text) : undefined;
    case "environment": {
      const env = splitLines(text);
      if (!env.length) return undefined;
      if (isSeq(before) || !env.every((l) => l.includes("="))) return env;
      return Object.fromEntries(
        env.map((l) => [l.slice(0, l.indexOf("=")), l.slice(l.indexOf("=") + 1)]),
      );
    }
    case "depends_on": {
      const deps = splitList(text);
      if (!deps.length) return undefined;
      if (isSeq(before)) return deps;
      // Keep each remaining dependency's condition as written.
      const prev = isMap(before) ? (before.toJSON() as Obj) : {};
      return Object.fromEntries(deps.map((d) => [d, prev[d] ?? { condition: "service_started" }]));
    }
  }
}

function setOrDelete(doc: Document, path: string[], v: unknown) {
  if (v === undefined) {
    if (doc.hasIn(path)) doc.deleteIn(path);
  } else doc.setIn(path, v);
}

/**
 * Applies the form's changes (`after` against `before`, both read from `yaml`) to the document
 * text: only changed fields are written, locked fields never, everything else stays as written.
 */
export function patchYaml(yaml: string, before: DefinitionForm, after: DefinitionForm): string {
  const doc = parseDocument(yaml);
  if (doc.errors.length) throw doc.errors[0];
  if (after.name.trim() !== before.name.trim())
    setOrDelete(doc, ["name"], after.name.trim() || undefined);

  const kept = new Set(after.members.map((m) => m.origKey).filter((k) => k !== null));
  for (const m of before.members) {
    if (m.origKey !== null && !kept.has(m.origKey)) doc.deleteIn(["services", m.origKey]);
  }
  for (const m of after.members) {
    const key = m.key.trim();
    const prev = before.members.find((b) => b.origKey !== null && b.origKey === m.origKey);
    if (m.origKey !== null && key !== m.origKey) {
      // A rename: move the member's node (comments and all) under its new key.
      const node: unknown = doc.getIn(["services", m.origKey], true);
      doc.deleteIn(["services", m.origKey]);
      doc.setIn(["services", key], node);
    }
    if (!doc.hasIn(["services"])) doc.setIn(["services"], {});
    for (const f of MEMBER_FIELDS) {
      if (m.locked.includes(f)) continue;
      if (prev && prev[f] === m[f]) continue;
      const path = ["services", key, f];
      setOrDelete(doc, path, fieldValue(doc, path, f, m[f]));
    }
  }

  if (after.volumes !== before.volumes) {
    const names = splitList(after.volumes);
    const old: unknown = doc.getIn(["volumes"]);
    const oldNames = isMap(old) ? Object.keys(old.toJSON() as Obj) : [];
    for (const n of oldNames) if (!names.includes(n)) doc.deleteIn(["volumes", n]);
    for (const n of names) if (!oldNames.includes(n)) doc.setIn(["volumes", n], {});
    if (!names.length && doc.hasIn(["volumes"])) doc.deleteIn(["volumes"]);
  }
  const out = doc.toString({ flowCollectionPadding: false });
  // Untouched documents come back byte for byte (the printer may still normalise spacing).
  return JSON.stringify(after) === JSON.stringify(before) ? yaml : out;
}

/**
 * Maps server problems (`services.web.ports[0]`) to form field keys (`services.web.ports`);
 * problems no form field shows are returned under `""`.
 */
export function problemsByField(
  problems: Problem[],
  form: DefinitionForm,
): Record<string, string[]> {
  const known = new Set<string>(["name", "volumes"]);
  for (const m of form.members) {
    for (const f of MEMBER_FIELDS) known.add(`services.${m.key}.${f}`);
  }
  const out: Record<string, string[]> = {};
  for (const p of problems) {
    const field = fieldKey(p.field, known);
    (out[field] ??= []).push(field === "" && p.field ? `${p.field}: ${p.message}` : p.message);
  }
  return out;
}

function fieldKey(path: string, known: Set<string>): string {
  // Strip list indexes, then walk up until a known field matches (environment.FOO → environment).
  let p = path.replace(/\[\d+\]/g, "");
  while (p) {
    if (known.has(p)) return p;
    const dot = p.lastIndexOf(".");
    if (dot < 0) break;
    p = p.slice(0, dot);
  }
  return "";
}
