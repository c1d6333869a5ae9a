/**
 * The definition editor's form model. The form is a view over the compose document **as
 * written** (with its `${VAR}` text, comments and every field the form does not show): it is
 * read from the document, and saving patches only the fields that changed into the document's
 * YAML ({@link patchYaml}), never rebuilding it. A field written in a shape the form can't show
 * faithfully (a `ports` that isn't a list, say) is locked: shown read-only and never written.
 *
 * List fields are rows (`environment`, `ports`, `volumes`, `devices`, `cap_add`, `cap_drop`).
 * Each row remembers the entry it was read from (`orig`); a changed list is patched entry by
 * entry: an entry whose row is unchanged keeps its node (quotes, comments, a number stays a
 * number), a changed row gets a new node, and the list keeps its style (flow or block).
 * - A single entry the form can't show — long-syntax ports, mounts and devices, port ranges,
 *   IPv6 or `sctp` ports — is a locked row: shown as written, read-only, and kept as it is.
 * - `environment` keeps its shape: a list (`- KEY=VALUE`) stays a list, a map (`KEY: VALUE`)
 *   stays a map; a new one is written as a map. `KEY` alone (list) or `KEY:` (map) is a row
 *   whose value is `null` (passed from sdmd's environment).
 * - Colons inside `${VAR:-default}` don't split a short-syntax entry.
 *
 * The mount picker ({@link hostPathOf}) writes a folder under a shared root as `${NAME}/rest`
 * (so the definition keeps working when the root moves), a folder in the service's own folder
 * of the data root (`<APPDATA root>/<service>/…`) as `./rest` (relative paths are the service's
 * folder, `${APPDATA}`), and anything else as its absolute path. The user can always type.
 */
import {
  Scalar,
  isMap,
  isScalar,
  isSeq,
  parse,
  parseDocument,
  stringify,
  type Document,
} from "yaml";

import type { Problem, VariableView, VariablesBody } from "./api";
import { bodyOf, rowsOf } from "./variables";

export const RESTART_POLICIES = ["", "no", "always", "on-failure", "unless-stopped"] as const;

/** The capabilities offered as checkboxes for `cap_add` / `cap_drop` (others are typed). */
export const COMMON_CAPS = [
  "ALL",
  "CHOWN",
  "DAC_OVERRIDE",
  "FOWNER",
  "KILL",
  "MKNOD",
  "NET_ADMIN",
  "NET_BIND_SERVICE",
  "NET_RAW",
  "SETGID",
  "SETUID",
  "SYS_ADMIN",
  "SYS_MODULE",
  "SYS_PTRACE",
  "SYS_TIME",
] as const;

/** The member fields the form edits. */
export const MEMBER_FIELDS = [
  "image",
  "container_name",
  "user",
  "environment",
  "ports",
  "volumes",
  "devices",
  "cap_add",
  "cap_drop",
  "restart",
  "depends_on",
  "command",
] as const;
export type MemberField = (typeof MEMBER_FIELDS)[number];

/** Where a row was read from: its index in the document's list (or map); null: added. */
interface Orig {
  orig: number | null;
  /** The entry as written, when the form can't show it: read-only and kept as it is. */
  locked?: string;
}

/** One environment variable; `value` null: `KEY` alone, passed from sdmd's environment. */
export interface EnvRow extends Orig {
  key: string;
  value: string | null;
}
/** `source:target[:options]`; `source` empty: an anonymous volume. */
export interface MountRow extends Orig {
  source: string;
  target: string;
  /** Everything after the second colon (`ro`, `rw,z` …). */
  options: string;
}
/** `[ip:][host:]container[/protocol]`. */
export interface PortRow extends Orig {
  ip: string;
  host: string;
  container: string;
  /** As written: `""` (tcp by default), `tcp` or `udp`. */
  protocol: string;
}
/** `host[:container[:permissions]]`. */
export interface DeviceRow extends Orig {
  host: string;
  container: string;
  perms: string;
}

export interface MemberForm {
  key: string;
  image: string;
  container_name: string;
  user: string;
  environment: EnvRow[];
  ports: PortRow[];
  volumes: MountRow[];
  devices: DeviceRow[];
  cap_add: string[];
  cap_drop: string[];
  restart: string;
  /** Comma-separated member names. */
  depends_on: string;
  /** Shell-like words. */
  command: string;
  /** The member's key in the document as loaded (null: added in the form). */
  origKey: string | null;
  /** Fields written in a shape the form can't show: read-only, never written. */
  locked: MemberField[];
  /** A locked list field as written (for showing it). */
  raw: Partial<Record<MemberField, string>>;
}

export interface DefinitionForm {
  name: string;
  members: MemberForm[];
  /** Named volumes, comma-separated. */
  volumes: string;
  /**
   * `x-sdmd.standard_environment`: give members that don't set them `TZ`, `PUID`, `PGID` and
   * `UMASK` from SDMD's variables. Optional so that older callers' forms stay valid.
   */
  standardEnvironment?: boolean;
}

export function emptyMember(key = "app"): MemberForm {
  return {
    key,
    image: "",
    container_name: "",
    user: "",
    environment: [],
    ports: [],
    volumes: [],
    devices: [],
    cap_add: [],
    cap_drop: [],
    restart: "unless-stopped",
    depends_on: "",
    command: "",
    origKey: null,
    locked: [],
    raw: {},
  };
}

export const emptyEnv = (): EnvRow => ({ key: "", value: "", orig: null });
export const emptyMount = (): MountRow => ({ source: "", target: "", options: "", orig: null });
export const emptyPort = (): PortRow => ({
  ip: "",
  host: "",
  container: "",
  protocol: "",
  orig: null,
});
export const emptyDevice = (): DeviceRow => ({ host: "", container: "", perms: "", orig: null });

function quoteWord(w: string): string {
  return /^[\w@%+=:,./${}-]+$/.test(w) ? w : `'${w.replace(/'/g, `'\\''`)}'`;
}

type Obj = Record<string, unknown>;
const isObj = (v: unknown): v is Obj => typeof v === "object" && v !== null && !Array.isArray(v);
const scalar = (v: unknown): v is string | number | boolean =>
  typeof v === "string" || typeof v === "number" || typeof v === "boolean";
const flow = (v: unknown) => stringify(v, { collectionStyle: "flow" }).trim();

/** Splits at colons outside `${…}` (so `${PORT:-80}:80` is two parts). */
export function splitColons(s: string): string[] {
  const parts: string[] = [];
  let depth = 0;
  let cur = "";
  for (let i = 0; i < s.length; i++) {
    const c = s[i]!;
    if (c === "$" && s[i + 1] === "{") {
      depth++;
      cur += "${";
      i++;
      continue;
    }
    if (c === "}" && depth > 0) depth--;
    if (c === ":" && depth === 0) {
      parts.push(cur);
      cur = "";
    } else cur += c;
  }
  parts.push(cur);
  return parts;
}

/** A short-syntax mount, or null when the form can't show it. */
export function parseMount(s: string): Omit<MountRow, keyof Orig> | null {
  const p = splitColons(s);
  if (p.length === 1) return { source: "", target: p[0]!, options: "" };
  if (p.length === 2) return { source: p[0]!, target: p[1]!, options: "" };
  if (p.length === 3) return { source: p[0]!, target: p[1]!, options: p[2]! };
  return null;
}
export function mountText(r: MountRow): string {
  if (!r.source.trim()) return r.target.trim();
  return [r.source.trim(), r.target.trim(), ...(r.options ? [r.options] : [])].join(":");
}
/** Whether a mount's options make it read-only. */
export const isReadOnly = (r: MountRow) => r.options.split(",").includes("ro");
/** The options with `ro` (or `rw`) set. */
export function withReadOnly(options: string, ro: boolean): string {
  const rest = options.split(",").filter((o) => o && o !== "ro" && o !== "rw");
  return (ro ? ["ro", ...rest] : rest).join(",");
}

const RANGE = /^\d+-\d+$/;
/** A short-syntax port, or null for ranges, IPv6, `sctp` and the rest the form can't show. */
export function parsePort(s: string): Omit<PortRow, keyof Orig> | null {
  let rest = s;
  let protocol = "";
  const slash = s.lastIndexOf("/");
  if (slash >= 0 && !s.slice(slash).includes("}")) {
    protocol = s.slice(slash + 1);
    rest = s.slice(0, slash);
    if (protocol !== "tcp" && protocol !== "udp") return null;
  }
  if (rest.includes("[")) return null;
  const p = splitColons(rest);
  if (p.length > 3 || p.some((x) => RANGE.test(x))) return null;
  const [a = "", b = "", c = ""] = p;
  if (p.length === 1) return { ip: "", host: "", container: a, protocol };
  if (p.length === 2) return { ip: "", host: a, container: b, protocol };
  return { ip: a, host: b, container: c, protocol };
}
export function portText(r: PortRow): string {
  const ip = r.ip.trim();
  const host = r.host.trim();
  const c = r.container.trim();
  const base = ip ? `${ip}:${host}:${c}` : host ? `${host}:${c}` : c;
  return r.protocol ? `${base}/${r.protocol}` : base;
}

export function parseDevice(s: string): Omit<DeviceRow, keyof Orig> | null {
  const p = splitColons(s);
  if (p.length > 3) return null;
  return { host: p[0] ?? "", container: p[1] ?? "", perms: p[2] ?? "" };
}
export function deviceText(r: DeviceRow): string {
  return [r.host.trim(), r.container.trim(), r.perms.trim()]
    .filter((x, i, a) => x || a.slice(i + 1).some(Boolean))
    .join(":");
}

/** The rows of a list whose entries are short-syntax strings; others become locked rows. */
function rowsOfList<R>(
  v: unknown[],
  parseOne: (s: string) => Omit<R, keyof Orig> | null,
  strings: boolean,
): (R & Orig)[] {
  return v.map((x, i) => {
    const parsed = strings
      ? typeof x === "string"
        ? parseOne(x)
        : null
      : scalar(x)
        ? parseOne(String(x))
        : null;
    return parsed
      ? ({ ...parsed, orig: i } as R & Orig)
      : ({ ...parseOne(""), orig: i, locked: flow(x) } as R & Orig);
  });
}

/** The form of a document (as parsed from YAML or JSON); shapes it can't show are locked. */
export function toForm(doc: unknown): DefinitionForm {
  const d = isObj(doc) ? doc : {};
  const services = isObj(d.services) ? d.services : {};
  const xs = isObj(d["x-sdmd"]) ? d["x-sdmd"] : {};
  return {
    name: typeof d.name === "string" ? d.name : "",
    standardEnvironment: xs.standard_environment === true,
    volumes: isObj(d.volumes) ? Object.keys(d.volumes).join(", ") : "",
    members: Object.entries(services).map(([key, raw]) => {
      const m = isObj(raw) ? raw : {};
      const locked: MemberField[] = [];
      const rawText: MemberForm["raw"] = {};
      const text = (f: MemberField, v: unknown, conv: (v: unknown) => string | null) => {
        if (v === undefined || v === null) return "";
        const t = conv(v);
        if (t === null) {
          locked.push(f);
          return typeof v === "string" ? v : JSON.stringify(v);
        }
        return t;
      };
      /** A list field's rows; a value that isn't a list locks the field. */
      function list<R>(f: MemberField, v: unknown, conv: (v: unknown[]) => R[] | null): R[] {
        if (v === undefined || v === null) return [];
        const rows = Array.isArray(v) ? conv(v) : null;
        if (rows === null) {
          locked.push(f);
          rawText[f] = flow(v);
          return [];
        }
        return rows;
      }
      const str = (v: unknown) => (scalar(v) ? String(v) : null);
      const caps = (v: unknown[]) => (v.every((x) => typeof x === "string") ? v : null);
      let environment: EnvRow[];
      if (isObj(m.environment)) {
        const entries = Object.entries(m.environment);
        if (entries.every(([, x]) => x === null || scalar(x)))
          environment = entries.map(([k, x], i) => ({
            key: k,
            value: x === null ? null : String(x),
            orig: i,
          }));
        else {
          environment = [];
          locked.push("environment");
          rawText.environment = flow(m.environment);
        }
      } else
        environment = list("environment", m.environment, (v) =>
          v.every(scalar)
            ? v.map((x, i) => {
                const l = String(x);
                const eq = l.indexOf("=");
                return eq < 0
                  ? { key: l, value: null, orig: i }
                  : { key: l.slice(0, eq), value: l.slice(eq + 1), orig: i };
              })
            : null,
        );
      return {
        key,
        image: text("image", m.image, str),
        container_name: text("container_name", m.container_name, str),
        user: text("user", m.user, str),
        environment,
        ports: list("ports", m.ports, (v) => rowsOfList<PortRow>(v, parsePort, false)),
        volumes: list("volumes", m.volumes, (v) => rowsOfList<MountRow>(v, parseMount, true)),
        devices: list("devices", m.devices, (v) => rowsOfList<DeviceRow>(v, parseDevice, true)),
        cap_add: list("cap_add", m.cap_add, caps),
        cap_drop: list("cap_drop", m.cap_drop, caps),
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
        raw: rawText,
      };
    }),
  };
}

/** The form of a YAML text; throws when the text isn't YAML. */
export function formOfYaml(yaml: string): DefinitionForm {
  return toForm(parse(yaml));
}

const splitList = (t: string) =>
  t
    .split(",")
    .map((l) => l.trim())
    .filter(Boolean);

/** One entry to write: `text` null keeps the entry read from `orig` as it is (a locked row). */
interface Item {
  orig: number | null;
  text: string | null;
}

/** Writes a list entry by entry: unchanged entries keep their nodes, the list its style. */
function patchSeq(doc: Document, path: string[], items: Item[]) {
  const node: unknown = doc.getIn(path, true);
  if (!items.length) {
    if (doc.hasIn(path)) doc.deleteIn(path);
    return;
  }
  if (!isSeq(node)) {
    doc.setIn(
      path,
      items.map((i) => i.text),
    );
    return;
  }
  const old = node.items;
  node.items = items.map((i) => {
    const prev = i.orig !== null ? old[i.orig] : undefined;
    if (prev !== undefined && i.text === null) return prev;
    if (isScalar(prev) && String(prev.value) === i.text) return prev;
    return doc.createNode(i.text);
  });
}

/** A map environment, pair by pair: an unchanged pair stays as written. */
function patchEnvMap(doc: Document, path: string[], rows: EnvRow[]) {
  const node: unknown = doc.getIn(path, true);
  if (!rows.length) {
    if (doc.hasIn(path)) doc.deleteIn(path);
    return;
  }
  if (!isMap(node)) {
    doc.setIn(path, Object.fromEntries(rows.map((r) => [r.key, r.value])));
    return;
  }
  const old = node.items;
  node.items = rows.map((r) => {
    const prev = r.orig !== null ? old[r.orig] : undefined;
    if (prev && isScalar(prev.key) && String(prev.key.value) === r.key) {
      const v: unknown = prev.value;
      const was = v === null ? null : isScalar(v) && v.value !== null ? String(v.value) : null;
      const unset = v === null || (isScalar(v) && v.value === null);
      if (r.value === null ? unset : !unset && was === r.value) return prev;
      prev.value = doc.createNode(r.value);
      return prev;
    }
    return doc.createPair(r.key, r.value);
  });
}

const blank = (...xs: string[]) => xs.every((x) => !x.trim());

/** Writes a changed field into the document, in the style the document already used. */
function patchField(doc: Document, path: string[], f: MemberField, m: MemberForm) {
  const before: unknown = doc.getIn(path);
  const rowItems = <R extends Orig>(rows: R[], empty: (r: R) => boolean, text: (r: R) => string) =>
    rows
      .filter((r) => r.locked !== undefined || !empty(r))
      .map((r) => ({ orig: r.orig, text: r.locked !== undefined ? null : text(r) }));
  switch (f) {
    case "user": {
      // `1000:1000` is quoted: a YAML 1.1 reader would take it for a base-60 number.
      const v = m.user.trim();
      if (!v || !/^\d+:\d+$/.test(v)) return setOrDelete(doc, path, v || undefined);
      const node = new Scalar(v);
      node.type = Scalar.QUOTE_DOUBLE;
      return doc.setIn(path, node);
    }
    case "image":
    case "container_name":
    case "restart":
    case "command":
      return setOrDelete(doc, path, m[f].trim() || undefined);
    case "ports":
      return patchSeq(
        doc,
        path,
        rowItems(m.ports, (r) => blank(r.ip, r.host, r.container), portText),
      );
    case "volumes":
      return patchSeq(
        doc,
        path,
        rowItems(m.volumes, (r) => blank(r.source, r.target), mountText),
      );
    case "devices":
      return patchSeq(
        doc,
        path,
        rowItems(m.devices, (r) => blank(r.host, r.container), deviceText),
      );
    case "cap_add":
    case "cap_drop": {
      const olds = (doc.getIn(path) as { toJSON?: () => unknown } | undefined)?.toJSON?.();
      const prev = Array.isArray(olds) ? olds.map(String) : [];
      const caps = [...new Set(m[f].map((c) => c.trim()).filter(Boolean))];
      return patchSeq(
        doc,
        path,
        caps.map((c) => ({ orig: prev.includes(c) ? prev.indexOf(c) : null, text: c })),
      );
    }
    case "environment": {
      const rows = m.environment
        .map((r) => ({ ...r, key: r.key.trim() }))
        .filter((r) => r.key || r.value);
      if (isSeq(before))
        return patchSeq(
          doc,
          path,
          rows.map((r) => ({
            orig: r.orig,
            text: r.value === null ? r.key : `${r.key}=${r.value}`,
          })),
        );
      return patchEnvMap(doc, path, rows);
    }
    case "depends_on": {
      const deps = splitList(m.depends_on);
      if (!deps.length) return setOrDelete(doc, path, undefined);
      if (isSeq(before)) return setOrDelete(doc, path, deps);
      // Keep each remaining dependency's condition as written.
      const prev = isMap(before) ? (before.toJSON() as Obj) : {};
      return setOrDelete(
        doc,
        path,
        Object.fromEntries(deps.map((d) => [d, prev[d] ?? { condition: "service_started" }])),
      );
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
      if (prev && JSON.stringify(prev[f]) === JSON.stringify(m[f])) continue;
      patchField(doc, ["services", key, f], f, m);
    }
  }

  if (!!after.standardEnvironment !== !!before.standardEnvironment) {
    if (after.standardEnvironment) doc.setIn(["x-sdmd", "standard_environment"], true);
    else {
      doc.deleteIn(["x-sdmd", "standard_environment"]);
      const x: unknown = doc.getIn(["x-sdmd"]);
      if (isMap(x) && x.items.length === 0) doc.deleteIn(["x-sdmd"]);
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

/** A root of the folder picker (`GET /api/v1/fs/dirs` without `path`). */
export interface PickerRoot {
  name: string;
  path: string;
}

/**
 * How a picked folder is written as a mount source: under a shared root `${NAME}/rest`, in the
 * service's own folder of the data root (`APPDATA`) `./rest`, anything else as its absolute path.
 */
export function hostPathOf(path: string, roots: PickerRoot[], service: string): string {
  const under = (base: string) => {
    const b = base.replace(/\/+$/, "");
    if (path === b) return "";
    return path.startsWith(`${b}/`) ? path.slice(b.length + 1) : null;
  };
  for (const r of roots) {
    const rest = under(r.path);
    if (rest === null) continue;
    if (r.name === "APPDATA") {
      if (!service) return path;
      const own = under(`${r.path.replace(/\/+$/, "")}/${service}`);
      return own === null ? path : own ? `./${own}` : ".";
    }
    return rest ? `\${${r.name}}/${rest}` : `\${${r.name}}`;
  }
  return path;
}

/** The name of the secret variable a service's environment value moves to: `SHOP_DB_PASS`. */
export function secretName(service: string, key: string): string {
  const n = `${service}_${key}`.toUpperCase().replace(/[^A-Z0-9_]/g, "_");
  return /^[0-9]/.test(n) ? `_${n}` : n;
}

/**
 * The `PUT /api/v1/variables` body that adds (or replaces) the secret `name` = `value`, keeping
 * every stored variable (a stored secret as `{secret: true}`: the server keeps its value).
 */
export function secretBody(
  stored: VariableView[],
  name: string,
  value: string,
): VariablesBody["variables"] {
  const rows = rowsOf(stored).filter((r) => r.name !== name);
  const out = bodyOf([...rows, { key: "new", name, value, secret: true, kept: false }]);
  if ("errors" in out) throw new Error(Object.values(out.errors).flat().join(" "));
  return out.variables;
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
