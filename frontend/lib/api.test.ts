import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";

import { json, mockFetch, service } from "@/test/fetch";

import { ApiError, api, backoff, configureApi, query, replaceKeepingFiles } from "./api";

const sleeps: number[] = [];
const onUnauthorized = vi.fn();

beforeEach(() => {
  sleeps.length = 0;
  onUnauthorized.mockReset();
  configureApi({
    getToken: async () => "tok-123",
    onUnauthorized,
    sleep: async (ms) => {
      sleeps.push(ms);
    },
  });
  vi.spyOn(console, "error").mockImplementation(() => {});
});
afterEach(() => {
  vi.unstubAllGlobals();
  vi.restoreAllMocks();
});

describe("api client", () => {
  it("stores registry credentials with PUT and parses the answer without a password", async () => {
    const { calls } = mockFetch([
      json({ host: "ghcr.io", username: "bot", updated_at: "2026-11-26T12:00:00Z" }),
    ]);
    const r = await api.putRegistry("ghcr.io", "bot", "s3cret");
    expect(r).toEqual({ host: "ghcr.io", username: "bot", updated_at: "2026-11-26T12:00:00Z" });
    expect(calls[0]!.method).toBe("PUT");
    expect(calls[0]!.url).toBe("/api/v1/registries/ghcr.io");
    expect(JSON.parse(calls[0]!.body!)).toEqual({ username: "bot", password: "s3cret" });
  });

  it("parses a service list against the API document and sends the bearer token", async () => {
    const { calls } = mockFetch([json({ services: [service("whoami")] })]);
    const r = await api.listServices();
    expect(r.services[0]!.name).toBe("whoami");
    expect(r.services[0]!.containers[0]!.state).toBe("running");
    expect(calls[0]!.url).toBe("/api/v1/services");
    expect(calls[0]!.headers.Authorization).toBe("Bearer tok-123");
  });

  it("maps the error shape to ApiError with a friendly message; details go to the console only", async () => {
    mockFetch([
      json({ code: "name_taken", message: "whoami exists", details: { constraint: "x" } }, 409),
    ]);
    const e = await api.createService("name: whoami").catch((x: unknown) => x);
    expect(e).toBeInstanceOf(ApiError);
    const err = e as ApiError;
    expect(err.status).toBe(409);
    expect(err.code).toBe("name_taken");
    expect(err.friendly).toBe("A service with that name already exists.");
    expect(err.transient).toBe(false);
    expect(console.error).toHaveBeenCalledWith(expect.stringContaining("name_taken"), {
      constraint: "x",
    });
  });

  it("says what holds a name that unmanaged containers use", async () => {
    const body = (kind: string) =>
      json(
        {
          code: "name_in_use_unmanaged",
          message: "`depbench` is already the name of a compose project …",
          details: { kind, id: `compose:depbench`, containers: ["depbench_web_1"] },
        },
        409,
      );
    mockFetch([body("compose"), body("standalone")]);
    const first = (await api.createService("name: depbench").catch((x: unknown) => x)) as ApiError;
    expect(first.friendly).toMatch(/^A compose project that SDMD doesn't manage .* Adopt it/);
    const second = (await api.createService("name: depbench").catch((x: unknown) => x)) as ApiError;
    expect(second.friendly).toMatch(/^A container that SDMD doesn't manage/);
  });

  it("falls back to the server's message for an unknown code", async () => {
    mockFetch([json({ code: "brand_new", message: "Something new." }, 400)]);
    const err = (await api.getService("x").catch((x: unknown) => x)) as ApiError;
    expect(err.friendly).toBe("Something new.");
  });

  it("exposes validation problems from details", async () => {
    mockFetch([
      json(
        {
          code: "validation_failed",
          message: "invalid",
          details: [{ field: "services.web.image", message: "is required" }],
        },
        422,
      ),
    ]);
    const err = (await api.replaceService("w", "name: w").catch((x: unknown) => x)) as ApiError;
    expect(err.problems).toEqual([{ field: "services.web.image", message: "is required" }]);
  });

  it("retries a read on 503 with growing backoff, then succeeds", async () => {
    const unavailable = () => json({ code: "docker_unavailable", message: "down" }, 503);
    const { calls } = mockFetch([unavailable(), unavailable(), json({ services: [] })]);
    const r = await api.listServices();
    expect(r.services).toEqual([]);
    expect(calls).toHaveLength(3);
    expect(sleeps).toHaveLength(2);
    expect(sleeps[1]!).toBeGreaterThan(sleeps[0]! * 1.2);
  });

  it("retries network failures of reads and gives up as a transient network_error", async () => {
    mockFetch([
      new TypeError("offline"),
      new TypeError("offline"),
      new TypeError("offline"),
      new TypeError("offline"),
    ]);
    const err = (await api.listServices().catch((x: unknown) => x)) as ApiError;
    expect(err.code).toBe("network_error");
    expect(err.transient).toBe(true);
    expect(sleeps).toHaveLength(3);
  });

  it("never retries a mutation on its own", async () => {
    const { calls } = mockFetch([json({ code: "docker_unavailable", message: "down" }, 503)]);
    const err = (await api.action("w", "stop").catch((x: unknown) => x)) as ApiError;
    expect(err.transient).toBe(true);
    expect(calls).toHaveLength(1);
    expect(calls[0]!.method).toBe("POST");
    expect(calls[0]!.url).toBe("/api/v1/services/w/stop");
  });

  it("rejects a response that doesn't match the schema", async () => {
    mockFetch([json({ services: [{ name: 1 }] })]);
    const err = (await api.listServices().catch((x: unknown) => x)) as ApiError;
    expect(err.code).toBe("unexpected_response");
  });

  it("signs out on 401", async () => {
    mockFetch([json({ code: "unauthorized", message: "no" }, 401)]);
    await api.listServices().catch(() => {});
    expect(onUnauthorized).toHaveBeenCalledOnce();
  });

  it("handles a non-JSON error page", async () => {
    mockFetch([
      new Response("<html>bad gateway</html>", { status: 502, statusText: "Bad Gateway" }),
    ]);
    const err = (await api.getService("x").catch((x: unknown) => x)) as ApiError;
    expect(err.code).toBe("http_502");
    expect(err.friendly).toContain("502");
  });

  it("sends YAML as application/yaml and objects as JSON", async () => {
    const { calls } = mockFetch([json(service("a"), 201), json(service("a"))]);
    await api.createService("name: a\n");
    await api.replaceService("a", { name: "a", services: { web: { image: "x" } } });
    expect(calls[0]!.headers["Content-Type"]).toBe("application/yaml");
    expect(calls[0]!.body).toBe("name: a\n");
    expect(calls[1]!.headers["Content-Type"]).toBe("application/json");
    expect(JSON.parse(calls[1]!.body!)).toMatchObject({ name: "a" });
  });

  it("pages the audit log with before and filters", async () => {
    const { calls } = mockFetch([json({ entries: [], next_before: null })]);
    await api.audit({ limit: 50, before: 120, actor: "", action: "service.*" });
    expect(calls[0]!.url).toBe("/api/v1/audit?limit=50&before=120&action=service.*");
  });

  it("accepts 204 on token revoke", async () => {
    mockFetch([new Response(null, { status: 204 })]);
    await expect(api.revokeToken("id-1")).resolves.toBeNull();
  });
});

describe("helpers", () => {
  it("backoff doubles up to a cap, with jitter", () => {
    expect(backoff(0, () => 0.5)).toBe(400);
    expect(backoff(1, () => 0.5)).toBe(800);
    expect(backoff(10, () => 0.5)).toBe(8000);
    expect(backoff(0, () => 0)).toBe(320);
  });
  it("query drops empty values", () => {
    expect(query({ a: 1, b: "", c: null, d: undefined, e: "x y" })).toBe("?a=1&e=x+y");
    expect(query({})).toBe("");
  });
});

describe("project files", () => {
  it("a definition save is a plain YAML PUT: the server keeps the files", async () => {
    const { calls } = mockFetch([json(service("shop"))]);
    await replaceKeepingFiles("shop", "name: shop\n");
    expect(calls.map((c) => `${c.method} ${c.url}`)).toEqual(["PUT /api/v1/services/shop"]);
    expect(calls[0]!.headers["Content-Type"]).toBe("application/yaml");
    expect(calls[0]!.body).toBe("name: shop\n");
  });

  it("puts a file as text/plain under its encoded path", async () => {
    const { calls } = mockFetch([json(service("shop"))]);
    await api.putFile("shop", "secrets/db", "pw");
    expect(calls[0]!.url).toBe("/api/v1/services/shop/files/secrets%2Fdb");
    expect(calls[0]!.headers["Content-Type"]).toBe("text/plain");
    expect(calls[0]!.body).toBe("pw");
  });
});
