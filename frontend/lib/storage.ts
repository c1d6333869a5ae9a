/**
 * Settings → Storage: the shared roots as editable rows, the `PUT /api/v1/settings/roots`
 * body built from them, and the server's `roots.NAME` problems mapped back to rows.
 */
import type { Problem } from "./api";

export interface RootRow {
  name: string;
  path: string;
}

/** The body's map (rows with neither name nor path are dropped; later repeats win as in JSON). */
export function rootsBody(rows: RootRow[]): Record<string, string> {
  const out: Record<string, string> = {};
  for (const r of rows) {
    const name = r.name.trim();
    if (!name && !r.path.trim()) continue;
    out[name] = r.path.trim();
  }
  return out;
}

/** Problems by row (`roots.NAME` → the row of that name), and those naming no row. */
export function rootProblems(
  problems: Problem[],
  rows: RootRow[],
): { byRow: Record<number, string[]>; general: string[] } {
  const byRow: Record<number, string[]> = {};
  const general: string[] = [];
  for (const p of problems) {
    const m = /^roots\.(.+)$/.exec(p.field);
    const i = m ? rows.findIndex((r) => r.name.trim() === m[1]) : -1;
    if (i >= 0) (byRow[i] ??= []).push(p.message);
    else general.push(p.field ? `${p.field}: ${p.message}` : p.message);
  }
  return { byRow, general };
}
