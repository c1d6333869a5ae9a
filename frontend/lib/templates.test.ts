import { describe, expect, it } from "vitest";

import type { EnvVarView, TemplateView } from "./api";
import { envSourceText } from "./environment";
import {
  categoriesOf,
  filterTemplates,
  formDefaults,
  instantiateBody,
  suggestedName,
  templateProblems,
} from "./templates";

const whoami: TemplateView = {
  id: "bundled.whoami",
  source: "bundled",
  format: "portainer_v2",
  title: "Whoami",
  description: "A tiny web server that prints what it receives",
  categories: ["Tools"],
  variables: [
    { name: "WHOAMI_NAME", label: "Name it answers with", default: "sdmd", choices: [] },
    {
      name: "VERBOSE",
      label: "Log every request",
      default: "false",
      choices: [
        { label: "No", value: "false" },
        { label: "Yes", value: "true" },
      ],
    },
    { name: "MODE", label: "Mode", choices: [{ label: "A", value: "a" }] },
    { name: "EMPTY", label: "No default", choices: [] },
  ],
};
const jellyfin: TemplateView = {
  id: "s1.jellyfin",
  source: "https://example.com/templates.json",
  format: "casaos",
  title: "Jellyfin",
  description: "Media server",
  categories: ["Media", "tools"],
  variables: [],
};

describe("templates", () => {
  it("lists each category once, sorted", () => {
    expect(categoriesOf([whoami, jellyfin])).toEqual(["Media", "Tools", "tools"]);
  });

  it("filters by every word and by category", () => {
    const all = [whoami, jellyfin];
    expect(filterTemplates(all, "", "")).toHaveLength(2);
    expect(filterTemplates(all, "  WEB  server ", "").map((t) => t.id)).toEqual(["bundled.whoami"]);
    expect(filterTemplates(all, "example.com", "").map((t) => t.id)).toEqual(["s1.jellyfin"]);
    expect(filterTemplates(all, "", "Media").map((t) => t.id)).toEqual(["s1.jellyfin"]);
    expect(filterTemplates(all, "whoami", "Media")).toEqual([]);
  });

  it("starts the form from the defaults; a select only from one of its choices", () => {
    expect(formDefaults(whoami)).toEqual({
      WHOAMI_NAME: "sdmd",
      VERBOSE: "false",
      MODE: "",
      EMPTY: "",
    });
    expect(suggestedName(whoami)).toBe("whoami");
    expect(suggestedName({ ...jellyfin, id: "s2.My_App 2" })).toBe("my-app-2");
  });

  it("sends the typed values, leaving an unchosen select out", () => {
    const values = { ...formDefaults(whoami), VERBOSE: "true", STRAY: "x" };
    expect(instantiateBody(whoami, " web1 ", values)).toEqual({
      name: "web1",
      variables: { WHOAMI_NAME: "sdmd", VERBOSE: "true", EMPTY: "" },
    });
  });

  it("puts the server's problems on the name and the variables", () => {
    expect(
      templateProblems([
        { field: "name", message: "not a service name" },
        { field: "variables.MODE", message: '"b" is not one of a' },
        { field: "type", message: "a stack: it cannot be instantiated" },
      ]),
    ).toEqual({
      name: ["not a service name"],
      byVariable: { MODE: ['"b" is not one of a'] },
      general: ["type: a stack: it cannot be instantiated"],
    });
  });
});

describe("environment sources", () => {
  const v = (over: Partial<EnvVarView>): EnvVarView => ({
    name: "X",
    value: "1",
    source: "member",
    masked: false,
    ...over,
  });
  it("names the source and its detail", () => {
    expect(envSourceText(v({}))).toBe("member");
    expect(envSourceText(v({ source: "env_file", file: "app.env" }))).toBe("env_file app.env");
    expect(envSourceText(v({ source: "global", variable: "TZ", origin: "default" }))).toBe(
      "global ${TZ} (default)",
    );
    expect(envSourceText(v({ source: "global", variable: "DOMAIN", origin: "set" }))).toBe(
      "global ${DOMAIN} (stored)",
    );
    expect(envSourceText(v({ source: "dotenv", variable: "DB_PASS", masked: true }))).toBe(
      "dotenv ${DB_PASS}",
    );
    expect(envSourceText(v({ source: "standard", variable: "APPDATA" }))).toBe(
      "standard ${APPDATA}",
    );
  });
});
