import { describe, expect, it } from "vitest";

import {
  detectCompose,
  documentName,
  formatSize,
  maskedCount,
  projectPath,
  validProjectPath,
} from "./project";
import { lineOfPath } from "./yaml-path";

const DOC = `name: shop          # 1
services:             # 2
  web:                # 3
    image: web:1      # 4
    ports:            # 5
      - "8080:80"     # 6
      - "70000:80"    # 7
    environment:      # 8
      A: \${A}        # 9
      com.x.y: z      # 10
    labels: [a=b, c=d] # 11
  db: { image: db }   # 12
x-files:              # 13
  .env: here          # 14
`;

describe("lineOfPath", () => {
  const check = (path: string, line: number | null, exact = true) =>
    expect(lineOfPath(DOC, path), path).toEqual(line === null ? null : { line, exact });
  it.each([
    ["name", 1],
    ["services", 2],
    ["services.web", 3],
    ["services.web.image", 4],
    ["services.web.ports", 5],
    ["services.web.ports[0]", 6],
    ["services.web.ports[1]", 7],
    ["services.web.environment.A", 9],
    ["services.web.environment.com.x.y", 10],
    ["services.web.labels[1]", 11],
    ["services.db.image", 12],
    ["x-files..env", 14],
  ] as const)("%s → line %i", (path, line) => check(path, line));

  it("falls back to the nearest ancestor", () => {
    check("services.web.ports[5]", 5, false);
    check("services.web.healthcheck.interval", 3, false);
    check("services.api.image", 2, false);
  });

  it("gives up on unknown roots and empty documents", () => {
    check("files..env", null);
    check("", null);
    expect(lineOfPath("", "a")).toBeNull();
    // A half-typed document still locates what it can.
    expect(lineOfPath("a: 1\nb: [", "a")).toEqual({ line: 1, exact: true });
  });
});

describe("detectCompose", () => {
  it.each([
    [["compose.yaml", ".env"], 0],
    [[".env", "docker-compose.yml"], 1],
    [["docker-compose.yml", "compose.yaml"], 1],
    [["Compose.YML", "app.env"], 0],
    [["stack.yml", ".env", "secrets/db"], 0],
    [["a.yml", "b.yaml"], -1],
    [[".env"], -1],
    [["config/compose.yaml", "x.yml"], -1],
  ] as const)("%j → %i", (paths, i) => expect(detectCompose(paths)).toBe(i));
});

describe("projectPath", () => {
  it("keeps relative paths below the dropped folder", () => {
    expect(projectPath({ name: "db", relativePath: "myapp/secrets/db" })).toBe("secrets/db");
    expect(projectPath({ name: ".env", relativePath: "/myapp/.env" })).toBe(".env");
    expect(projectPath({ name: ".env", relativePath: "" })).toBe(".env");
    expect(projectPath({ name: "compose.yaml" })).toBe("compose.yaml");
  });
});

describe("documentName", () => {
  it("reads the top-level name", () => {
    expect(documentName("name: shop\nservices: {}\n")).toBe("shop");
    expect(documentName("services: {}\n")).toBeNull();
    expect(documentName("- a\n")).toBeNull();
    expect(documentName("a: [")).toBeNull();
  });
});

describe("masked display", () => {
  it("counts hidden values", () => {
    expect(maskedCount("A=********\nB=********\n# note\n")).toBe(2);
    expect(maskedCount("********")).toBe(1);
    expect(maskedCount("A=1\n")).toBe(0);
  });
  it("formats sizes and checks paths", () => {
    expect(formatSize(512)).toBe("512 B");
    expect(formatSize(1536)).toBe("1.5 KB");
    expect(validProjectPath("secrets/db_password")).toBe(true);
    expect(validProjectPath(".env")).toBe(true);
    expect(validProjectPath("../x")).toBe(false);
    expect(validProjectPath("/etc/passwd")).toBe(false);
    expect(validProjectPath("a//b")).toBe(false);
  });
});
