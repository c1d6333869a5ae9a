import { describe, expect, it } from "vitest";

import type { VariableView } from "./api";
import {
  bodyOf,
  editRow,
  fixedOf,
  problemsByName,
  rowsOf,
  sourceProblems,
  sourcesOf,
  type VariableRow,
} from "./variables";

const view: VariableView[] = [
  { name: "DOMAIN", value: "example.com", secret: false, source: "set" },
  { name: "TOKEN", value: null, secret: true, source: "set" },
  { name: "TZ", value: "Etc/UTC", secret: false, source: "default" },
  { name: "FROM_FILE", value: "x", secret: false, source: "file" },
];

const row = (over: Partial<VariableRow>): VariableRow => ({
  key: over.name ?? "k",
  name: "",
  value: "",
  secret: false,
  kept: false,
  ...over,
});

describe("variables", () => {
  it("edits the stored ones and shows the rest read-only", () => {
    const rows = rowsOf(view);
    expect(rows.map((r) => [r.name, r.value, r.secret, r.kept])).toEqual([
      ["DOMAIN", "example.com", false, false],
      ["TOKEN", "", true, true],
    ]);
    expect(new Set(rows.map((r) => r.key)).size).toBe(2);
    expect(fixedOf(view).map((v) => v.name)).toEqual(["TZ", "FROM_FILE"]);
  });

  it("sends a stored secret left alone as {secret: true}, and a typed one with its value", () => {
    const rows = rowsOf(view);
    expect(bodyOf(rows)).toEqual({
      variables: { DOMAIN: "example.com", TOKEN: { secret: true } },
    });
    const typed = rows.map((r) => (r.name === "TOKEN" ? editRow(r, { value: "s3cret" }) : r));
    expect(bodyOf(typed)).toEqual({
      variables: { DOMAIN: "example.com", TOKEN: { value: "s3cret", secret: true } },
    });
  });

  it("a secret made plain, or a plain one made secret, sends its value", () => {
    const [domain, token] = rowsOf(view) as [VariableRow, VariableRow];
    const plain = editRow(token, { secret: false });
    expect(plain.kept).toBe(false);
    expect(bodyOf([plain])).toEqual({ variables: { TOKEN: "" } });
    expect(bodyOf([editRow(domain, { secret: true })])).toEqual({
      variables: { DOMAIN: { value: "example.com", secret: true } },
    });
    // Renaming a kept secret keeps it kept (the server refuses a kept secret it doesn't store).
    expect(editRow(token, { name: "TOKEN2" }).kept).toBe(true);
  });

  it("overrides a default by a row of the same name; trims names; skips blank rows", () => {
    expect(
      bodyOf([
        row({ name: " TZ ", value: "Europe/Berlin" }),
        row({ name: "PUID", value: "1234" }),
        row({ key: "blank" }),
      ]),
    ).toEqual({ variables: { TZ: "Europe/Berlin", PUID: "1234" } });
  });

  it("refuses missing, malformed and repeated names before sending", () => {
    const r = bodyOf([
      row({ key: "a", value: "x" }),
      row({ key: "b", name: "1BAD", value: "x" }),
      row({ key: "c", name: "A", value: "1" }),
      row({ key: "d", name: "A", value: "2" }),
    ]);
    expect("errors" in r && Object.keys(r.errors)).toEqual(["a", "b", "d"]);
  });

  it("puts the server's problems on their variable", () => {
    expect(
      problemsByName([
        { field: "variables.TOKEN", message: "no stored secret to keep" },
        { field: "variables.BIG.value", message: "too long" },
        { field: "variables", message: "too many" },
      ]),
    ).toEqual({
      byName: { TOKEN: ["no stored secret to keep"], BIG: ["too long"] },
      general: ["variables: too many"],
    });
  });
});

describe("template sources", () => {
  it("leaves blank rows out and maps sources[i] back to its row", () => {
    const { sources, rowOf } = sourcesOf(["https://a.example/t.json", "  ", " ftp://b "]);
    expect(sources).toEqual(["https://a.example/t.json", "ftp://b"]);
    expect(rowOf).toEqual([0, 2]);
    expect(
      sourceProblems(
        [
          { field: "sources[1]", message: "not http(s)" },
          { field: "sources", message: "more than 20" },
        ],
        rowOf,
      ),
    ).toEqual({ byRow: { 2: ["not http(s)"] }, general: ["sources: more than 20"] });
  });
});
