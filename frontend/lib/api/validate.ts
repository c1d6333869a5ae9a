/**
 * The runtime half of the contract: a response is checked against the schema the server's
 * OpenAPI document declares for it (pruned into contract.gen.json by tools/gen-api.mjs), so a
 * server that answers something else fails loudly at the call (`unexpected_response`), not deep
 * in a component. The compile-time half is schema.d.ts (openapi-typescript).
 *
 * A subset of JSON Schema, the one utoipa emits: type (with "null"), properties, required,
 * items, enum, const, oneOf/anyOf/allOf, additionalProperties and $ref. Unknown properties are
 * accepted (a newer server may add fields).
 */
import contract from "./contract.gen.json";

export interface Schema {
  type?: string | string[];
  properties?: Record<string, Schema>;
  required?: string[];
  items?: Schema;
  enum?: unknown[];
  const?: unknown;
  oneOf?: Schema[];
  anyOf?: Schema[];
  allOf?: Schema[];
  additionalProperties?: Schema | boolean;
  $ref?: string;
}

interface Contract {
  operations: Record<string, Record<string, Schema>>;
  schemas: Record<string, Schema>;
}

const c = contract as unknown as Contract;

export interface Issue {
  path: string;
  message: string;
}

function typeOf(v: unknown): string {
  if (v === null) return "null";
  if (Array.isArray(v)) return "array";
  if (typeof v === "number") return Number.isInteger(v) ? "integer" : "number";
  return typeof v;
}

function fits(t: string, v: unknown): boolean {
  const actual = typeOf(v);
  return t === actual || (t === "number" && actual === "integer");
}

/** The first problem of `v` against `s`, or null. */
export function check(v: unknown, s: Schema, at = "", schemas = c.schemas): Issue | null {
  if (s.$ref) {
    const target = schemas[s.$ref];
    return target ? check(v, target, at, schemas) : null;
  }
  if (s.allOf) {
    for (const part of s.allOf) {
      const i = check(v, part, at, schemas);
      if (i) return i;
    }
  }
  const alternatives = s.oneOf ?? s.anyOf;
  if (alternatives) {
    const issues = alternatives.map((a) => check(v, a, at, schemas));
    if (!issues.some((i) => i === null)) return issues[0] ?? { path: at, message: "no variant" };
  }
  if (s.const !== undefined && v !== s.const)
    return { path: at, message: `expected ${JSON.stringify(s.const)}` };
  if (s.enum && !s.enum.includes(v))
    return {
      path: at,
      message: `expected one of ${s.enum.map((e) => JSON.stringify(e)).join(", ")}`,
    };
  if (s.type) {
    const types = Array.isArray(s.type) ? s.type : [s.type];
    if (!types.some((t) => fits(t, v)))
      return { path: at, message: `expected ${types.join(" or ")}, got ${typeOf(v)}` };
  }
  if (typeOf(v) === "object") {
    const o = v as Record<string, unknown>;
    for (const r of s.required ?? []) {
      if (!(r in o)) return { path: `${at}.${r}`, message: "is missing" };
    }
    for (const [k, val] of Object.entries(o)) {
      const ps =
        s.properties?.[k] ??
        (typeof s.additionalProperties === "object" ? s.additionalProperties : undefined);
      if (!ps) continue;
      const i = check(val, ps, `${at}.${k}`, schemas);
      if (i) return i;
    }
  }
  if (Array.isArray(v) && s.items) {
    for (let n = 0; n < v.length; n++) {
      const i = check(v[n], s.items, `${at}[${n}]`, schemas);
      if (i) return i;
    }
  }
  return null;
}

/** The declared schema of a JSON answer (`GET /api/v1/services`, `200`), if any. */
export function responseSchema(method: string, path: string, status: number): Schema | null {
  const op = c.operations[`${method} ${path}`];
  if (!op) return null;
  return (
    op[String(status)] ??
    (status === 200 || status === 201 ? (op["200"] ?? op["201"] ?? null) : null)
  );
}

/** A named component schema (`ServiceView`). */
export function componentSchema(name: string): Schema | null {
  return c.schemas[name] ?? null;
}
