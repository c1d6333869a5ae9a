/**
 * Pure helpers for project files: which of the dropped files is the compose document, the path
 * each file is sent under, whether a document names its service, and how masked content reads.
 */
import { parse } from "yaml";

/** The file names compose itself looks for, in its order of preference. */
export const COMPOSE_NAMES = [
  "compose.yaml",
  "compose.yml",
  "docker-compose.yaml",
  "docker-compose.yml",
] as const;

/** A picked or dropped file: its name and, for directory drops, the path the browser gives. */
export interface PickedFile {
  name: string;
  /** `webkitRelativePath` (`myapp/secrets/db`) or the drop's `fullPath`; empty when none. */
  relativePath?: string;
}

/**
 * The path a file takes in the project: its relative path without the dropped directory's own
 * name (`myapp/secrets/db` → `secrets/db`), else its name.
 */
export function projectPath(f: PickedFile): string {
  const rel = (f.relativePath ?? "").replace(/^\/+/, "");
  const parts = rel.split("/").filter(Boolean);
  if (parts.length > 1) return parts.slice(1).join("/");
  return f.name;
}

const isYaml = (p: string) => /\.ya?ml$/i.test(p);

/**
 * Which of the files is the compose document: a file compose would pick by name (at the top of
 * the project, preferred in compose's order), else the only YAML file. -1 when none or ambiguous.
 */
export function detectCompose(paths: readonly string[]): number {
  for (const name of COMPOSE_NAMES) {
    const i = paths.findIndex((p) => p.toLowerCase() === name);
    if (i >= 0) return i;
  }
  const yamls = paths.map((p, i) => (isYaml(p) ? i : -1)).filter((i) => i >= 0);
  return yamls.length === 1 ? (yamls[0] ?? -1) : -1;
}

/** The document's top-level `name`, or null when it has none (or isn't a YAML mapping). */
export function documentName(yaml: string): string | null {
  try {
    const d: unknown = parse(yaml);
    if (d && typeof d === "object" && !Array.isArray(d)) {
      const n = (d as Record<string, unknown>).name;
      if (typeof n === "string" && n.trim()) return n.trim();
    }
  } catch {
    // Not YAML: the server will say so.
  }
  return null;
}

/** The server's mask for a sealed value. */
export const MASK = "********";

/** How many values of a masked file are hidden (`KEY=********` lines, or the whole file). */
export function maskedCount(content: string): number {
  if (content.trim() === MASK) return 1;
  return content.split("\n").filter((l) => /^[^#=\s][^=]*=\*{8}$/.test(l.trim())).length;
}

/** A human-readable size: 512 B, 1.5 KB, 1.0 MB. */
export function formatSize(bytes: number): string {
  if (bytes < 1024) return `${bytes} B`;
  if (bytes < 1024 * 1024) return `${(bytes / 1024).toFixed(1)} KB`;
  return `${(bytes / 1024 / 1024).toFixed(1)} MB`;
}

/** A project path the server will accept: relative, no `..`, no empty segment. */
export function validProjectPath(p: string): boolean {
  if (!p || p.length > 255 || p.startsWith("/")) return false;
  return p.split("/").every((s) => s !== "" && s !== "." && s !== "..");
}
