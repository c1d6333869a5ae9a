import { vi } from "vitest";

export interface Call {
  url: string;
  method: string;
  headers: Record<string, string>;
  body: string | undefined;
}

/** Replaces `fetch` with a queue of canned responses and records the calls. */
export function mockFetch(responses: (Response | Error | ((c: Call) => Response))[]) {
  const calls: Call[] = [];
  const fn = vi.fn(async (url: string, init: RequestInit = {}) => {
    const call: Call = {
      url,
      method: init.method ?? "GET",
      headers: (init.headers ?? {}) as Record<string, string>,
      body: init.body as string | undefined,
    };
    calls.push(call);
    const next = responses.shift();
    if (!next) throw new Error(`unexpected fetch ${call.method} ${url}`);
    if (next instanceof Error) throw next;
    return typeof next === "function" ? next(call) : next;
  });
  vi.stubGlobal("fetch", fn);
  return { calls, fn };
}

export const json = (body: unknown, status = 200) =>
  new Response(JSON.stringify(body), { status, headers: { "content-type": "application/json" } });

export const service = (name: string, over: Record<string, unknown> = {}) => ({
  name,
  kind: "managed",
  status: "running",
  revision: 1,
  deployed: true,
  update_available: false,
  containers: [
    {
      id: `${name}-c1`,
      name: `${name}-web`,
      image: "127.0.0.1:5000/demo/app:1",
      image_id: "sha256:0123456789abcdef0123",
      state: "running",
      health: "none",
      status_text: "Up 3 minutes",
      labels: {},
      ports: [],
      created: 1,
    },
  ],
  created_at: "2026-11-26T10:00:00Z",
  updated_at: "2026-11-26T10:00:00Z",
  ...over,
});
