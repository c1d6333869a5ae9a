/**
 * The template catalog's logic (the Templates page), kept pure for tests: filtering by text and
 * category, the form's starting values for a template's variables, the instantiate body, and
 * the server's problems (`variables.NAME`, `name`) by form field.
 */
import type { InstantiateBody, Problem, TemplateView } from "./api/types";

/** Every category of the catalog, once each, sorted. */
export function categoriesOf(templates: TemplateView[]): string[] {
  return [...new Set(templates.flatMap((t) => t.categories))].sort((a, b) =>
    a.localeCompare(b, undefined, { sensitivity: "base" }),
  );
}

/** The templates matching every word of `text` (title, description, categories, source) and `category` ("" for all). */
export function filterTemplates(
  templates: TemplateView[],
  text: string,
  category: string,
): TemplateView[] {
  const words = text.toLowerCase().split(/\s+/).filter(Boolean);
  return templates.filter((t) => {
    if (category && !t.categories.includes(category)) return false;
    const hay = [t.title, t.description, t.source, t.format, ...t.categories]
      .join(" ")
      .toLowerCase();
    return words.every((w) => hay.includes(w));
  });
}

/** A service name to start from: the template's slug (`bundled.whoami` → `whoami`). */
export function suggestedName(t: TemplateView): string {
  const slug = t.id.slice(t.id.indexOf(".") + 1);
  return slug
    .toLowerCase()
    .replace(/[^a-z0-9-]+/g, "-")
    .replace(/^-+|-+$/g, "");
}

/**
 * The form's starting values: each variable's default; a select's default when it is one of
 * its choices, else nothing chosen ("").
 */
export function formDefaults(t: TemplateView): Record<string, string> {
  const values: Record<string, string> = {};
  for (const v of t.variables) {
    const d = v.default ?? "";
    values[v.name] = v.choices.length && !v.choices.some((c) => c.value === d) ? "" : d;
  }
  return values;
}

/**
 * The instantiate body: the name and the template's variables as typed; a select without a
 * choice is left out (the server then names it as required).
 */
export function instantiateBody(
  t: TemplateView,
  name: string,
  values: Record<string, string>,
): InstantiateBody {
  const variables: Record<string, string> = {};
  for (const v of t.variables) {
    const value = values[v.name] ?? "";
    if (v.choices.length && value === "") continue;
    variables[v.name] = value;
  }
  return { name: name.trim(), variables };
}

/** The server's problems by form field (`name`, or a variable's name); the rest in `general`. */
export function templateProblems(problems: Problem[]): {
  name: string[];
  byVariable: Record<string, string[]>;
  general: string[];
} {
  const name: string[] = [];
  const byVariable: Record<string, string[]> = {};
  const general: string[] = [];
  for (const p of problems) {
    const m = /^variables\.(.+)$/.exec(p.field);
    if (p.field === "name") name.push(p.message);
    else if (m?.[1]) (byVariable[m[1]] ??= []).push(p.message);
    else general.push(p.field ? `${p.field}: ${p.message}` : p.message);
  }
  return { name, byVariable, general };
}
