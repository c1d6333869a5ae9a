import { afterEach, describe, expect, it, vi } from "vitest";

import { ApiError, normalizePlugin, parseServiceView, type ServiceView } from "@/lib/api";
import { check } from "@/lib/api/validate";
import { applyEvent, keys, queryClient, retryable } from "@/lib/query";
import { service } from "@/test/fetch";

afterEach(() => {
  queryClient.clear();
  vi.restoreAllMocks();
});

const list = (...s: ServiceView[]) => ({ services: s });

describe("query cache and events", () => {
  it("patches a container's status into the cached list and detail, without a request", () => {
    queryClient.setQueryData(keys.services, list(parseServiceView(service("web"))));
    queryClient.setQueryData(keys.service("web"), parseServiceView(service("web")));
    const invalidate = vi.spyOn(queryClient, "invalidateQueries");
    applyEvent({
      type: "container_status",
      service: "web",
      container_id: "web-c1",
      container: "web-web",
      state: "exited",
      health: "none",
    });
    const l = queryClient.getQueryData<{ services: ServiceView[] }>(keys.services);
    expect(l?.services[0]?.status).toBe("stopped");
    expect(l?.services[0]?.containers_running).toBe(0);
    expect(queryClient.getQueryData<ServiceView>(keys.service("web"))?.status).toBe("stopped");
    expect(invalidate).not.toHaveBeenCalled();
  });

  it("refetches the list when a container it doesn't know changes", () => {
    queryClient.setQueryData(keys.services, list(parseServiceView(service("web"))));
    const invalidate = vi.spyOn(queryClient, "invalidateQueries");
    applyEvent({
      type: "container_status",
      service: "new",
      container_id: "new-c1",
      container: "new-web",
      state: "running",
      health: "none",
    });
    expect(invalidate).toHaveBeenCalledWith({ queryKey: keys.services });
  });

  it("an operation that ends invalidates the list and everything under the service", () => {
    const invalidate = vi.spyOn(queryClient, "invalidateQueries");
    applyEvent({
      type: "operation",
      service: "web",
      action: "deploy",
      phase: "started",
      message: "",
    });
    expect(invalidate).not.toHaveBeenCalled();
    applyEvent({
      type: "operation",
      service: "compose:web",
      action: "deploy",
      phase: "finished",
      message: "",
    });
    const keysInvalidated = invalidate.mock.calls.map((c) => c[0]?.queryKey);
    expect(keysInvalidated).toEqual([
      keys.services,
      keys.service("compose:web"),
      keys.service("web"),
    ]);
  });

  it("an audit entry invalidates what its action changed; lagged invalidates everything", () => {
    const invalidate = vi.spyOn(queryClient, "invalidateQueries");
    const entry = { id: 1, at: "2026-11-26T10:00:00Z", actor: "a", result: "ok" };
    applyEvent({ type: "audit", entry: { ...entry, action: "token.create" } });
    applyEvent({ type: "audit", entry: { ...entry, action: "plugin.upload" } });
    expect(invalidate.mock.calls.map((c) => c[0]?.queryKey)).toEqual([
      keys.tokens,
      keys.plugins,
      keys.notifiers,
    ]);
    invalidate.mockClear();
    applyEvent({ type: "lagged", missed: 3 });
    expect(invalidate).toHaveBeenCalledWith();
  });

  it("retries transient failures only, never another 4xx", () => {
    expect(retryable(new ApiError(503, "docker_unavailable", "down"))).toBe(true);
    expect(retryable(new ApiError(429, "rate_limited", "slow down"))).toBe(true);
    expect(retryable(new ApiError(0, "network_error", "offline"))).toBe(true);
    expect(retryable(new ApiError(404, "service_not_found", "gone"))).toBe(false);
    expect(retryable(new ApiError(422, "validation_failed", "bad"))).toBe(false);
    expect(retryable(new ApiError(500, "internal", "oops"))).toBe(false);
  });
});

describe("answers checked against the document", () => {
  it("reports the first mismatch by path and accepts fields it doesn't know", () => {
    expect(parseServiceView({ ...service("a"), added_later: 1 }).name).toBe("a");
    expect(() => parseServiceView({ ...service("a"), status: "sleeping" })).toThrow(/\.status/);
    expect(() => parseServiceView({ ...service("a"), containers: [{ id: "x" }] })).toThrow(
      /containers\[0\]\.name is missing/,
    );
    expect(check(null, { type: ["string", "null"] })).toBeNull();
    expect(check(1.5, { type: "integer" })?.message).toBe("expected integer, got number");
  });

  it("reads a plugin's stored grants and manifest with the lists the pages expect", () => {
    const p = normalizePlugin({ manifest: { id: "h", name: "H", version: "1" }, grants: {} });
    expect(p.grants).toEqual({ capabilities: [], http: { allow: [] } });
    expect(p.manifest).toMatchObject({ kinds: [], capabilities: [], description: "" });
    expect(normalizePlugin({ manifest: { broken: true }, grants: null }).manifest).toBeNull();
  });
});
