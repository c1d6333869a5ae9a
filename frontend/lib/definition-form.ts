/**
 * The definition editor's form model and its conversions. The form covers the PRD fields; every
 * other field of a member (healthcheck, labels, entrypoint, …) is carried over untouched.
 */
import type { Definition, Member, Problem } from "./schemas";

export const RESTART_POLICIES = ["", "no", "always", "on-failure", "unless-stopped"] as const;

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
  /** The member as loaded, so fields the form doesn't show survive a save. */
  original: Member | null;
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
    original: null,
  };
}

function quoteWord(w: string): string {
  return /^[\w@%+=:,./-]+$/.test(w) ? w : `'${w.replace(/'/g, `'\\''`)}'`;
}

export function toForm(d: Definition): DefinitionForm {
  return {
    name: d.name,
    volumes: Object.keys(d.volumes ?? {}).join(", "),
    members: Object.entries(d.services).map(([key, m]) => ({
      key,
      image: m.image,
      container_name: m.container_name ?? "",
      environment: Object.entries(m.environment ?? {})
        .map(([k, v]) => `${k}=${v}`)
        .join("\n"),
      ports: (m.ports ?? []).join("\n"),
      volumes: (m.volumes ?? []).join("\n"),
      restart: m.restart ?? "",
      depends_on: Object.keys(m.depends_on ?? {}).join(", "),
      command: (m.command ?? []).map(quoteWord).join(" "),
      original: m,
    })),
  };
}

const lines = (t: string) =>
  t
    .split("\n")
    .map((l) => l.trim())
    .filter(Boolean);
const list = (t: string) =>
  t
    .split(",")
    .map((l) => l.trim())
    .filter(Boolean);

/**
 * The definition to send. `command` goes as a string (the server splits it into words, and
 * reports a quoting mistake on its field); `environment` lines without `=` are sent as-is in
 * list form so the server can point at them.
 */
export function fromForm(f: DefinitionForm, original?: Definition | null): Record<string, unknown> {
  const services: Record<string, unknown> = {};
  for (const m of f.members) {
    const out: Record<string, unknown> = { ...(m.original ?? {}) };
    const set = (k: string, v: unknown, empty: boolean) => {
      if (empty) delete out[k];
      else out[k] = v;
    };
    out.image = m.image.trim();
    set("container_name", m.container_name.trim(), !m.container_name.trim());
    const env = lines(m.environment);
    set(
      "environment",
      env.every((l) => l.includes("="))
        ? Object.fromEntries(
            env.map((l) => [l.slice(0, l.indexOf("=")), l.slice(l.indexOf("=") + 1)]),
          )
        : env,
      env.length === 0,
    );
    set("ports", lines(m.ports), lines(m.ports).length === 0);
    set("volumes", lines(m.volumes), lines(m.volumes).length === 0);
    set("restart", m.restart, !m.restart);
    const deps = list(m.depends_on);
    const prevDeps = m.original?.depends_on ?? {};
    set(
      "depends_on",
      Object.fromEntries(deps.map((d) => [d, prevDeps[d] ?? { condition: "service_started" }])),
      deps.length === 0,
    );
    const origCmd = (m.original?.command ?? []).map(quoteWord).join(" ");
    if (!m.command.trim()) delete out.command;
    else if (m.command.trim() !== origCmd) out.command = m.command.trim();
    services[m.key.trim()] = out;
  }
  const prevVols = original?.volumes ?? {};
  const vols = list(f.volumes);
  const def: Record<string, unknown> = { ...(original ?? {}), name: f.name.trim(), services };
  if (vols.length) def.volumes = Object.fromEntries(vols.map((v) => [v, prevVols[v] ?? {}]));
  else delete def.volumes;
  return def;
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
    for (const f of [
      "image",
      "container_name",
      "environment",
      "ports",
      "volumes",
      "restart",
      "depends_on",
      "command",
    ])
      known.add(`services.${m.key}.${f}`);
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
