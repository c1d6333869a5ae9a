import { describe, expect, it } from "vitest";

import { service } from "@/test/fetch";

import { parse } from "yaml";

import {
  emptyMember,
  formOfYaml,
  patchYaml,
  problemsByField,
  type DefinitionForm,
} from "./definition-form";
import { diffLines } from "./diff";
import { filterServices } from "./filter";
import { parseServiceView, type ServiceView } from "./api";

type Obj = Record<string, unknown>;
import { applyContainerEvent, healthOf, nameOfId, statusOf, updateLabel } from "./status";
import { safeNext, timeAgo } from "./utils";

const svc = (name: string, over: Record<string, unknown> = {}): ServiceView =>
  parseServiceView(service(name, over));

describe("status", () => {
  it("mirrors the server's status rules", () => {
    expect(statusOf([])).toBe("stopped");
    expect(statusOf([], "compose")).toBe("stopped");
    expect(statusOf([], "managed")).toBe("not_deployed");
    expect(statusOf([{ state: "running", health: "none" }])).toBe("running");
    expect(
      statusOf([
        { state: "running", health: "none" },
        { state: "exited", health: "none" },
      ]),
    ).toBe("partial");
    expect(statusOf([{ state: "running", health: "unhealthy" }])).toBe("unhealthy");
    expect(healthOf([{ health: "healthy" }, { health: "starting" }])).toBe("starting");
  });

  it("applies a container event in place, or asks for a reload when it can't", () => {
    const list = [svc("a"), svc("b")];
    const next = applyContainerEvent(list, {
      type: "container_status",
      service: "a",
      container_id: "a-c1",
      container: "a-web",
      state: "exited",
      health: "none",
    });
    expect(next?.[0]?.status).toBe("stopped");
    expect(next?.[1]).toBe(list[1]);
    expect(
      applyContainerEvent(list, {
        type: "container_status",
        service: "a",
        container_id: "new",
        container: "n",
        state: "running",
      }),
    ).toBeNull();
  });
});

describe("service ids", () => {
  it("fill in for older servers and pick the row that holds the container", () => {
    const old = svc("a");
    expect([old.id, old.containers_total, old.containers_running]).toEqual(["a", 1, 1]);
    expect(nameOfId("compose:a")).toBe("a");
    expect(nameOfId("container:a.b_c")).toBe("a.b_c");
    expect(nameOfId("a")).toBe("a");
    // A managed `a` and a compose project `a`: the event's name fits both rows.
    const list = [
      svc("a"),
      svc("a", {
        id: "compose:a",
        kind: "compose",
        containers: [{ ...service("a").containers[0], id: "p1", name: "a_web_1" }],
      }),
    ];
    const next = applyContainerEvent(list, {
      type: "container_status",
      service: "a",
      container_id: "p1",
      container: "a_web_1",
      state: "exited",
      health: "none",
    });
    expect(next?.[0]).toBe(list[0]);
    expect(next?.[1]).toMatchObject({ status: "stopped", containers_running: 0 });
    // The last container of a managed service removed: not deployed any more.
    const gone = applyContainerEvent([list[0]!], {
      type: "container_status",
      service: "a",
      container_id: "a-c1",
      container: "a-web",
    });
    expect(gone?.[0]).toMatchObject({ status: "not_deployed", containers_total: 0 });
  });
});

describe("filterServices", () => {
  const list = [
    svc("web"),
    svc("db", { status: "stopped" }),
    svc("legacy", { kind: "standalone" }),
  ];
  it("searches names and images and filters status and kind", () => {
    expect(
      filterServices(list, { q: "DB", status: "all", kind: "all" }).map((s) => s.name),
    ).toEqual(["db"]);
    expect(filterServices(list, { q: "demo/app", status: "all", kind: "all" })).toHaveLength(3);
    expect(
      filterServices(list, { q: "", status: "stopped", kind: "all" }).map((s) => s.name),
    ).toEqual(["db"]);
    expect(
      filterServices(list, { q: "", status: "all", kind: "unmanaged" }).map((s) => s.name),
    ).toEqual(["legacy"]);
  });
});

describe("diffLines", () => {
  it("marks added and removed lines", () => {
    expect(diffLines("a\nb\nc", "a\nc\nd")).toEqual([
      { kind: "same", text: "a" },
      { kind: "del", text: "b" },
      { kind: "same", text: "c" },
      { kind: "add", text: "d" },
    ]);
  });
});

describe("definition form", () => {
  const def = `name: shop
services:
  web:
    image: web:1
    ports: ["8080:80"]
    environment: { A: "1", B: x=y }
    depends_on: { db: { condition: service_healthy } }
    command: [sh, -c, echo hi]
    healthcheck: { test: [CMD, "true"] }
  db:
    image: db:1
    ports: ["5432"]
volumes:
  data: { driver: local }
`;

  it("reads the document and patches only what changed", () => {
    const f = formOfYaml(def);
    expect(f.members[0]!.environment).toEqual([
      { key: "A", value: "1", orig: 0 },
      { key: "B", value: "x=y", orig: 1 },
    ]);
    expect(f.members[0]!.command).toBe("sh -c 'echo hi'");
    // Nothing edited: the document comes back as it was.
    expect(patchYaml(def, f, f)).toBe(def);
    const edited: DefinitionForm = structuredClone(f);
    edited.members[0]!.command = "sleep 5";
    edited.members[1]!.ports = [];
    const back = parse(patchYaml(def, f, edited)) as Record<string, Record<string, Obj>>;
    expect(back.services!.web!.command).toBe("sleep 5");
    expect(back.services!.web!.healthcheck).toEqual({ test: ["CMD", "true"] });
    expect(back.services!.web!.depends_on).toEqual({ db: { condition: "service_healthy" } });
    expect(back.services!.db!.ports).toBeUndefined();
    expect(back.volumes).toEqual({ data: { driver: "local" } });
  });

  it("renames, adds and removes members, keeps list styles and locks what it can't show", () => {
    const src = `name: s
services:
  a:
    image: a:1
    environment:
      - X=\${X}
    depends_on: [b]
    ports: { web: 80 }
  b:
    image: b:1
`;
    const f = formOfYaml(src);
    expect(f.members[0]!.locked).toEqual(["ports"]);
    const e: DefinitionForm = structuredClone(f);
    e.members[0]!.key = "app";
    e.members[0]!.environment.push({ key: "Y", value: "2", orig: null });
    e.members[0]!.ports = [{ ip: "", host: "1", container: "1", protocol: "", orig: null }];
    e.members = [e.members[0]!, { ...emptyMember("c"), image: "c:1" }];
    const back = parse(patchYaml(src, f, e)) as Record<string, Record<string, Obj>>;
    expect(Object.keys(back.services!)).toEqual(["app", "c"]);
    expect(back.services!.app!.environment).toEqual(["X=${X}", "Y=2"]);
    expect(back.services!.app!.depends_on).toEqual(["b"]);
    expect(back.services!.app!.ports).toEqual({ web: 80 });
    expect(back.services!.c).toEqual({ image: "c:1", restart: "unless-stopped" });
  });

  it("maps server problem paths to form fields", () => {
    const f = formOfYaml(def);
    const m = problemsByField(
      [
        { field: "services.web.ports[0]", message: "bad port" },
        { field: "services.web.environment.A", message: "bad env" },
        { field: "services.web.healthcheck.interval", message: "bad duration" },
        { field: "name", message: "not DNS-safe" },
      ],
      f,
    );
    expect(m["services.web.ports"]).toEqual(["bad port"]);
    expect(m["services.web.environment"]).toEqual(["bad env"]);
    expect(m.name).toEqual(["not DNS-safe"]);
    expect(m[""]).toEqual(["services.web.healthcheck.interval: bad duration"]);
  });
});

describe("utils", () => {
  it("timeAgo", () => {
    const now = new Date("2026-11-26T12:00:00Z");
    expect(timeAgo("2026-11-26T11:59:50Z", now)).toBe("just now");
    expect(timeAgo("2026-11-26T11:57:00Z", now)).toBe("3 minutes ago");
    expect(timeAgo("2026-11-25T12:00:00Z", now)).toBe("1 day ago");
    expect(timeAgo(null, now)).toBe("—");
  });
  it("safeNext only allows same-origin paths", () => {
    expect(safeNext("/service/?name=a")).toBe("/service/?name=a");
    expect(safeNext("//evil.example")).toBe("/");
    expect(safeNext("https://evil.example")).toBe("/");
    expect(safeNext(null)).toBe("/");
  });
});

describe("update chart", () => {
  it("turns finished runs into oldest-first durations", async () => {
    const { chartPoints } = await import("@/components/service/updates-chart");
    const runs: import("@/lib/api").UpdateRun[] = [
      {
        id: 2,
        service: "s",
        kind: "update",
        trigger: "manual",
        actor: "a",
        steps: [],
        images: [],
        started_at: "2026-11-26T10:00:00Z",
        finished_at: "2026-11-26T10:00:12Z",
        result: "updated",
      },
      {
        id: 1,
        service: "s",
        kind: "check",
        trigger: "schedule",
        actor: "a",
        steps: [],
        images: [],
        started_at: "2026-11-25T10:00:00Z",
        finished_at: "2026-11-25T10:00:01.5Z",
        result: "up_to_date",
      },
      {
        id: 3,
        service: "s",
        kind: "update",
        trigger: "manual",
        actor: "a",
        steps: [],
        images: [],
        started_at: "2026-11-26T11:00:00Z",
        finished_at: null,
        result: null,
      },
    ];
    expect(chartPoints(runs).map((p) => [p.id, p.seconds, p.result])).toEqual([
      [1, 1.5, "up_to_date"],
      [2, 12, "updated"],
    ]);
  });
});

describe("plugin settings schema", () => {
  it("turns a flat JSON Schema into form fields and typed values", async () => {
    const { configFromForm, formFields } = await import("./config-schema");
    const fields = formFields({
      type: "object",
      required: ["url"],
      properties: {
        url: { type: "string", title: "URL" },
        expect_status: { type: "integer", default: 200 },
        format: { type: "string", enum: ["json", "ntfy"] },
        token: { type: "string" },
        verbose: { type: "boolean" },
      },
    });
    expect(fields?.map((f) => [f.key, f.type, f.required])).toEqual([
      ["url", "string", true],
      ["expect_status", "integer", false],
      ["format", "enum", false],
      ["token", "secret", false],
      ["verbose", "boolean", false],
    ]);
    expect(
      configFromForm(fields!, {
        url: "https://x",
        expect_status: "204",
        format: "",
        token: "",
        verbose: true,
      }),
    ).toEqual({
      url: "https://x",
      expect_status: 204,
      verbose: true,
    });
    expect(formFields({ type: "object", properties: { nested: { type: "object" } } })).toBeNull();
    expect(formFields(undefined)).toBeNull();
  });
});

describe("updateLabel", () => {
  it("names the semver step and the tag for a tag move", () => {
    expect(
      updateLabel({
        update_available: true,
        pending_update: {
          image: "127.0.0.1:5000/app:1.2.3",
          kind: "tag",
          target: "127.0.0.1:5000/app:1.3.0",
          semver_diff: "minor",
        },
      }),
    ).toBe("minor update → 1.3.0");
  });
  it("falls back to a plain label for digests and older servers", () => {
    expect(
      updateLabel({
        update_available: true,
        pending_update: { image: "app:latest", kind: "digest" },
      }),
    ).toBe("update available");
    expect(updateLabel({ update_available: true })).toBe("update available");
    expect(updateLabel({ update_available: false })).toBeNull();
  });
});

describe("a deploy's summary", () => {
  it("says when folders are owned by another user", async () => {
    const { describeResult } = await import("@/components/services/service-actions");
    const w = {
      kind: "bind_owner_mismatch",
      member: "app",
      path: "/d",
      owner: "0:0",
      expected: "1:1",
      from: "PUID",
      message: "m",
    };
    expect(
      describeResult("deploy", {
        created: ["app"],
        recreated: [],
        started: [],
        stopped: [],
        unchanged: [],
        removed: [],
        warnings: [w],
      }),
    ).toBe(
      "Deploy: 1 created. 1 folder is owned by another user than the app runs as: see Fix permissions on the service page.",
    );
  });
});
