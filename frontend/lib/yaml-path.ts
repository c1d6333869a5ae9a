/**
 * Maps a server problem's document path (`services.web.ports[1]`, `files..env`,
 * `services.web.environment.A`) to the line of the YAML text that holds it, so the YAML editor
 * can point at the problem. Keys may contain dots (`.env`, `com.example.label`), so each step
 * matches the longest key of the current mapping that the rest of the path starts with.
 */
import { isMap, isScalar, isSeq, LineCounter, parseDocument, type Node } from "yaml";

export interface PathLine {
  /** 1-based line of the deepest node of the path found in the document. */
  line: number;
  /** Whether the whole path was found (false: `line` is its nearest ancestor). */
  exact: boolean;
}

/** The line of `path` in `yaml` (or of its nearest existing ancestor); null when none is found. */
export function lineOfPath(yaml: string, path: string): PathLine | null {
  const lc = new LineCounter();
  let doc;
  try {
    doc = parseDocument(yaml, { lineCounter: lc, uniqueKeys: false });
  } catch {
    return null;
  }
  const lineAt = (offset: number) => lc.linePos(offset).line;
  let node: unknown = doc.contents;
  let rest = path;
  let found: number | null = null;
  while (rest !== "") {
    const idx = /^\[(\d+)\]\.?/.exec(rest);
    if (idx) {
      if (!isSeq(node)) break;
      const item = node.items[Number(idx[1])] as Node | undefined;
      if (!item?.range) break;
      found = lineAt(item.range[0]);
      node = item;
      rest = rest.slice(idx[0].length);
      continue;
    }
    if (!isMap(node)) break;
    let best: { key: string; pair: (typeof node.items)[number] } | null = null;
    for (const pair of node.items) {
      const key = isScalar(pair.key) ? String(pair.key.value) : null;
      if (key === null || !rest.startsWith(key)) continue;
      const next = rest.charAt(key.length);
      if (next !== "" && next !== "." && next !== "[") continue;
      if (!best || key.length > best.key.length) best = { key, pair };
    }
    if (!best) break;
    const k = best.pair.key as Node;
    if (k.range) found = lineAt(k.range[0]);
    node = best.pair.value;
    rest = rest.slice(best.key.length).replace(/^\./, "");
  }
  if (found === null) return null;
  return { line: found, exact: rest === "" };
}
