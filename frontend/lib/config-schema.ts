/**
 * A small JSON Schema reader for plugin settings forms: a top-level object whose properties are
 * strings, numbers, integers, booleans or enums becomes a form; anything else falls back to a
 * JSON text field.
 */
export interface ConfigField {
  key: string;
  type: "string" | "number" | "integer" | "boolean" | "enum" | "secret";
  title: string;
  description?: string;
  required: boolean;
  options?: string[];
  default?: unknown;
}

type Schema = {
  type?: string;
  properties?: Record<string, Record<string, unknown>>;
  required?: string[];
};

/** The form fields for a schema, or null when the schema needs the JSON editor. */
export function formFields(schema: unknown): ConfigField[] | null {
  if (!schema || typeof schema !== "object") return null;
  const s = schema as Schema;
  if (s.type !== "object" || !s.properties) return null;
  const required = new Set(s.required ?? []);
  const fields: ConfigField[] = [];
  for (const [key, p] of Object.entries(s.properties)) {
    const t = p.type;
    const base = {
      key,
      title: typeof p.title === "string" ? p.title : key,
      description: typeof p.description === "string" ? p.description : undefined,
      required: required.has(key),
      default: p.default,
    };
    if (Array.isArray(p.enum) && p.enum.every((x) => typeof x === "string")) {
      fields.push({ ...base, type: "enum", options: p.enum as string[] });
    } else if (t === "string") {
      const secret =
        p.format === "password" || p.writeOnly === true || /secret|token|password/i.test(key);
      fields.push({ ...base, type: secret ? "secret" : "string" });
    } else if (t === "number" || t === "integer" || t === "boolean") {
      fields.push({ ...base, type: t });
    } else {
      return null;
    }
  }
  return fields;
}

/** Converts the form's text values to the typed config object (empty optional fields are left out). */
export function configFromForm(
  fields: ConfigField[],
  values: Record<string, string | boolean>,
): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const f of fields) {
    const v = values[f.key];
    if (f.type === "boolean") {
      out[f.key] = Boolean(v);
      continue;
    }
    if (v === undefined || v === "") continue;
    out[f.key] = f.type === "number" || f.type === "integer" ? Number(v) : v;
  }
  return out;
}
