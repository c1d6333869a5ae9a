import { render, screen, waitFor, within } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";

import { DefinitionEditor } from "@/components/service/definition-editor";
import { configureApi } from "@/lib/api";
import { queryClient } from "@/lib/query";
import { json, service, type Call } from "@/test/fetch";

beforeEach(() => {
  configureApi({ getToken: async () => "t", onUnauthorized: () => {}, sleep: async () => {} });
  vi.spyOn(console, "error").mockImplementation(() => {});
  queryClient.clear();
});
afterEach(() => {
  vi.unstubAllGlobals();
  vi.restoreAllMocks();
});

/** `fetch` answered by route (`GET /api/v1/services`), recording the calls. */
function route(routes: Record<string, (c: Call) => Response>) {
  const calls: Call[] = [];
  vi.stubGlobal(
    "fetch",
    vi.fn(async (url: string, init: RequestInit = {}) => {
      const c: Call = {
        url,
        method: init.method ?? "GET",
        headers: (init.headers ?? {}) as Record<string, string>,
        body: init.body as string | undefined,
      };
      calls.push(c);
      const r = routes[`${c.method} ${url}`];
      if (!r) throw new Error(`unexpected fetch ${c.method} ${url}`);
      return r(c);
    }),
  );
  return calls;
}

const source = `name: shop
services:
  web:
    image: web:1 # pinned
    environment:
      DB_PASS: hunter2
      TZ: \${TZ}
    ports:
      - "8080:80"
      - 8000-8010:8000-8010
    volumes:
      - type: bind
        source: /srv
        target: /srv
`;

const saveAndGetBody = async (calls: Call[]) => {
  await userEvent.click(screen.getByRole("button", { name: "Save revision" }));
  await waitFor(() => expect(calls.some((c) => c.method === "PUT")).toBe(true));
  return calls.find((c) => c.method === "PUT" && c.url === "/api/v1/services/shop")!.body!;
};

describe("DefinitionEditor structured rows", () => {
  it("adds a read-only mount row and keeps the long-syntax one", async () => {
    const calls = route({ "PUT /api/v1/services/shop": () => json(service("shop")) });
    render(<DefinitionEditor mode="edit" service="shop" source={source} onSaved={() => {}} />);
    expect(screen.getByLabelText("Mount 1 as written")).toHaveAttribute("readonly");
    expect(screen.getByLabelText("Port 2 as written")).toHaveValue("8000-8010:8000-8010");
    const user = userEvent.setup();
    await user.click(screen.getByRole("button", { name: "Add mount" }));
    await user.type(screen.getByLabelText("Host path 2"), "./data");
    await user.type(screen.getByLabelText("Container path 2"), "/data");
    await user.click(screen.getByLabelText("Read-only 2"));
    const body = await saveAndGetBody(calls);
    expect(body).toContain("      - type: bind\n        source: /srv\n        target: /srv\n");
    expect(body).toContain("      - ./data:/data:ro\n");
    expect(body).toContain("image: web:1 # pinned");
    expect(body).toContain("TZ: ${TZ}");
  });

  it("browses folders: a shared root becomes ${NAME}/…, a 422 shows its message", async () => {
    const calls = route({
      "GET /api/v1/services/shop/environment": () => json({ members: [] }),
      "GET /api/v1/services": () => json({ services: [] }),
      "GET /api/v1/fs/dirs": () =>
        json({
          dirs: [
            { name: "APPDATA", path: "/srv/appdata" },
            { name: "MEDIA", path: "/mnt/media" },
          ],
          truncated: false,
        }),
      "GET /api/v1/fs/dirs?path=%2Fmnt%2Fmedia": () =>
        json({
          path: "/mnt/media",
          root: "MEDIA",
          parent: null,
          dirs: [{ name: "films", path: "/mnt/media/films" }],
          truncated: false,
        }),
      "GET /api/v1/fs/dirs?path=%2Fmnt%2Fmedia%2Ffilms": () =>
        json({
          path: "/mnt/media/films",
          root: "MEDIA",
          parent: "/mnt/media",
          dirs: [],
          truncated: false,
        }),
      "GET /api/v1/fs/dirs?path=%2Fetc": () =>
        json(
          {
            code: "validation_failed",
            message: "invalid",
            details: [{ field: "path", message: "/etc is outside the data root and shared roots" }],
          },
          422,
        ),
    });
    render(<DefinitionEditor mode="edit" service="shop" source={source} onSaved={() => {}} live />);
    const user = userEvent.setup();
    await user.click(screen.getByRole("button", { name: "Add mount" }));
    await user.click(screen.getByRole("button", { name: "Browse for host path 2" }));
    const dialog = await screen.findByRole("dialog");
    await user.click(await within(dialog).findByRole("button", { name: "MEDIA" }));
    await user.click(await within(dialog).findByRole("button", { name: "films" }));
    await within(dialog).findByText("No sub-folders.");
    const path = within(dialog).getByLabelText("Folder path");
    await user.clear(path);
    await user.type(path, "/etc{Enter}");
    expect(await within(dialog).findByRole("alert")).toHaveTextContent(
      "/etc is outside the data root and shared roots",
    );
    await user.clear(path);
    await user.type(path, "/mnt/media/films{Enter}");
    await within(dialog).findByText("No sub-folders.");
    await user.click(within(dialog).getByRole("button", { name: "Use this folder" }));
    await waitFor(() => expect(screen.queryByRole("dialog")).toBeNull());
    expect(screen.getByLabelText("Host path 2")).toHaveValue("${MEDIA}/films");
    // The shortcut: a new folder in the service's folder.
    await user.click(screen.getByRole("button", { name: "Browse for host path 2" }));
    await user.type(await screen.findByLabelText("New folder in app data"), "cache");
    await user.click(screen.getByRole("button", { name: "Use ./cache" }));
    expect(screen.getByLabelText("Host path 2")).toHaveValue("./cache");
    // Enter in the picker's path field didn't submit the definition.
    expect(calls.some((c) => c.method === "PUT")).toBe(false);
  });

  it("shows sources and port use, and moves a value into a secret variable", async () => {
    const calls = route({
      "GET /api/v1/services/shop/environment": () =>
        json({
          members: [
            {
              member: "web",
              variables: [
                { name: "DB_PASS", value: "hunter2", source: "member", masked: false },
                {
                  name: "TZ",
                  value: "UTC",
                  source: "global",
                  variable: "TZ",
                  origin: "default",
                  masked: false,
                },
              ],
            },
          ],
        }),
      "GET /api/v1/services": () =>
        json({
          services: [
            service("other", {
              containers: [
                {
                  ...service("other").containers[0],
                  ports: [{ host_ip: "", host_port: 8080, container_port: 80, protocol: "tcp" }],
                },
              ],
            }),
          ],
        }),
      "GET /api/v1/variables": () =>
        json({
          variables: [
            { name: "API", value: null, secret: true, source: "set" },
            { name: "PUID", value: "1000", secret: false, source: "default" },
          ],
        }),
      "PUT /api/v1/variables": () => json({ variables: [] }),
      "PUT /api/v1/services/shop": () => json(service("shop")),
    });
    render(<DefinitionEditor mode="edit" service="shop" source={source} onSaved={() => {}} live />);
    expect(await screen.findByText("global ${TZ} (default)")).toBeInTheDocument();
    expect(await screen.findByText("used by other")).toBeInTheDocument();
    const user = userEvent.setup();
    await user.click(screen.getByRole("button", { name: "Secret 1" }));
    const dialog = await screen.findByRole("dialog");
    expect(dialog).toHaveTextContent("SHOP_DB_PASS");
    await user.click(within(dialog).getByRole("button", { name: "Make secret" }));
    await waitFor(() => expect(screen.getByLabelText("Value 1")).toHaveValue("${SHOP_DB_PASS}"));
    const put = calls.find((c) => c.method === "PUT" && c.url === "/api/v1/variables")!;
    expect(JSON.parse(put.body!)).toEqual({
      variables: { API: { secret: true }, SHOP_DB_PASS: { value: "hunter2", secret: true } },
    });
    expect(screen.getByRole("button", { name: "Secret 1" })).toHaveAttribute(
      "aria-pressed",
      "true",
    );
    const body = await saveAndGetBody(calls);
    // Confirming the dialog didn't save the definition on its own (React events cross portals).
    expect(calls.filter((c) => c.url === "/api/v1/services/shop")).toHaveLength(1);
    expect(body).toContain("      DB_PASS: ${SHOP_DB_PASS}\n      TZ: ${TZ}\n");
  });

  it("edits user, capabilities and devices", async () => {
    const calls = route({ "PUT /api/v1/services/shop": () => json(service("shop")) });
    render(<DefinitionEditor mode="edit" service="shop" source={source} onSaved={() => {}} />);
    const user = userEvent.setup();
    await user.type(screen.getByLabelText("User"), "1000:1000");
    const add = screen.getByRole("group", { name: "Add capabilities" });
    await user.click(within(add).getByRole("checkbox", { name: "NET_ADMIN" }));
    await user.type(within(add).getByLabelText("Add capabilities: others"), "BPF");
    await user.click(screen.getByRole("button", { name: "Add device" }));
    await user.type(screen.getByLabelText("Host device 1"), "/dev/dri");
    const body = await saveAndGetBody(calls);
    expect(body).toContain('    user: "1000:1000"\n');
    expect(body).toContain("    devices:\n      - /dev/dri\n");
    expect(body).toContain("    cap_add:\n      - NET_ADMIN\n      - BPF\n");
  });
});
