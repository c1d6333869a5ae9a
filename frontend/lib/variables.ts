/**
 * The global variables editor's logic (Settings → Variables), kept pure for tests: the stored
 * variables as editable rows, the rows as the `PUT /api/v1/variables` body (a stored secret left
 * alone is sent as `{secret: true}`, so the server keeps its value without the dashboard ever
 * knowing it), and the server's problems (`variables.NAME`, `variables.NAME.value`) by row.
 */
import type { Problem, VariableView, VariablesBody } from "./api/types";

export interface VariableRow {
  /** Stable React key (rows can be renamed, added and removed). */
  key: string;
  name: string;
  /** What was typed; for a kept secret, empty. */
  value: string;
  secret: boolean;
  /** A stored secret whose value the server keeps (nothing typed over it yet). */
  kept: boolean;
}

let counter = 0;
/** A fresh row key. */
export const rowKey = () => `row-${++counter}`;

/** The editable rows: the stored (`set`) variables, a stored secret as kept. */
export function rowsOf(vars: VariableView[]): VariableRow[] {
  return vars
    .filter((v) => v.source === "set")
    .map((v) => ({
      key: rowKey(),
      name: v.name,
      value: v.secret ? "" : (v.value ?? ""),
      secret: v.secret,
      kept: v.secret,
    }));
}

/** The variables shown read-only: the standard defaults and the `SDMD_VARIABLES` file's. */
export function fixedOf(vars: VariableView[]): VariableView[] {
  return vars.filter((v) => v.source !== "set");
}

/** A row typed over (or toggled): a kept secret stays kept only while its value is untouched. */
export function editRow(row: VariableRow, patch: Partial<Omit<VariableRow, "key">>): VariableRow {
  const next = { ...row, ...patch };
  if (patch.value !== undefined && patch.value !== "") next.kept = false;
  // A secret made plain needs its value typed: the dashboard never had it.
  if (patch.secret === false) next.kept = false;
  return next;
}

const NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;

/**
 * The body of `PUT /api/v1/variables` from the rows, or the problems that keep it from being
 * sent (by row key). A row with neither name nor value is left out.
 */
export function bodyOf(
  rows: VariableRow[],
): { variables: VariablesBody["variables"] } | { errors: Record<string, string[]> } {
  const variables: VariablesBody["variables"] = {};
  const errors: Record<string, string[]> = {};
  const seen = new Set<string>();
  const fail = (row: VariableRow, message: string) => {
    (errors[row.key] ??= []).push(message);
  };
  for (const row of rows) {
    const name = row.name.trim();
    if (!name && !row.value && !row.kept) continue;
    if (!name) {
      fail(row, "Give the variable a name.");
      continue;
    }
    if (!NAME.test(name)) {
      fail(row, "A name has letters, digits and _ and doesn't start with a digit.");
      continue;
    }
    if (seen.has(name)) {
      fail(row, `${name} is listed twice.`);
      continue;
    }
    seen.add(name);
    if (row.secret)
      variables[name] = row.kept ? { secret: true } : { value: row.value, secret: true };
    else variables[name] = row.value;
  }
  return Object.keys(errors).length ? { errors } : { variables };
}

/**
 * The server's problems by variable name (`variables.NAME` and `variables.NAME.value` both go
 * to NAME); the rest (the whole set, say) under `general`.
 */
export function problemsByName(problems: Problem[]): {
  byName: Record<string, string[]>;
  general: string[];
} {
  const byName: Record<string, string[]> = {};
  const general: string[] = [];
  for (const p of problems) {
    const m = /^variables\.([^.[]+)/.exec(p.field);
    if (m?.[1]) (byName[m[1]] ??= []).push(p.message);
    else general.push(p.field ? `${p.field}: ${p.message}` : p.message);
  }
  return { byName, general };
}

/**
 * The URLs to send from the source rows (blank rows left out), with each sent index's row, so
 * the server's `sources[i]` problems land on the row they are about.
 */
export function sourcesOf(rows: string[]): { sources: string[]; rowOf: number[] } {
  const sources: string[] = [];
  const rowOf: number[] = [];
  rows.forEach((r, i) => {
    const url = r.trim();
    if (!url) return;
    sources.push(url);
    rowOf.push(i);
  });
  return { sources, rowOf };
}

/** The server's `sources[i]` problems by row (via {@link sourcesOf}'s `rowOf`), the rest general. */
export function sourceProblems(
  problems: Problem[],
  rowOf: number[],
): { byRow: Record<number, string[]>; general: string[] } {
  const byRow: Record<number, string[]> = {};
  const general: string[] = [];
  for (const p of problems) {
    const m = /^sources\[(\d+)\]/.exec(p.field);
    const row = m ? rowOf[Number(m[1])] : undefined;
    if (row !== undefined) (byRow[row] ??= []).push(p.message);
    else general.push(p.field ? `${p.field}: ${p.message}` : p.message);
  }
  return { byRow, general };
}
