import { render, screen } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";

import TemplatesPage from "@/app/templates/page";
import { Toaster } from "@/components/app/toaster";
import { configureApi } from "@/lib/api";
import { json, mockFetch, service } from "@/test/fetch";

const push = vi.fn();
vi.mock("next/navigation", () => ({ useRouter: () => ({ push, replace: push }) }));

beforeEach(() => {
  configureApi({ getToken: async () => "t", onUnauthorized: () => {}, sleep: async () => {} });
  vi.spyOn(console, "error").mockImplementation(() => {});
  push.mockReset();
});
afterEach(() => {
  vi.unstubAllGlobals();
  vi.restoreAllMocks();
});

const whoami = {
  id: "bundled.whoami",
  source: "bundled",
  format: "portainer_v2",
  title: "Whoami",
  description: "A tiny web server",
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
  ],
};
const catalog = {
  templates: [whoami],
  sources: [
    { source: "bundled", prefix: "bundled", error: null, templates: 1 },
    { source: "https://down.example/t.json", prefix: "s1", error: "timed out", templates: 0 },
  ],
};

const page = () =>
  render(
    <Toaster>
      <TemplatesPage />
    </Toaster>,
  );

describe("TemplatesPage", () => {
  it("names a failed catalog with its error and refetches on Retry", async () => {
    const { calls } = mockFetch([json(catalog), json({ ...catalog, sources: [] })]);
    page();
    expect(
      await screen.findByText(/Couldn.t read the catalog https:\/\/down\.example/),
    ).toBeVisible();
    expect(screen.getByText("timed out")).toBeInTheDocument();
    await userEvent.click(
      screen.getByRole("button", { name: "Retry https://down.example/t.json" }),
    );
    await screen.findByRole("button", { name: "Use Whoami" });
    expect(calls).toHaveLength(2);
    expect(screen.queryByText("timed out")).toBeNull();
  });

  it("filters by text", async () => {
    mockFetch([json(catalog)]);
    page();
    const user = userEvent.setup();
    await screen.findByRole("button", { name: "Use Whoami" });
    await user.type(screen.getByLabelText("Search templates"), "jellyfin");
    expect(screen.getByText("No template matches")).toBeInTheDocument();
  });

  it("asks only for the template's variables, previews, shows problems, creates and opens", async () => {
    const { calls } = mockFetch([
      json(catalog),
      json({
        definition: "name: web1\nservices:\n  web1:\n    image: traefik/whoami\n",
        warnings: [],
        files: {},
      }),
      json(
        {
          code: "validation_failed",
          message: "invalid",
          details: [{ field: "variables.WHOAMI_NAME", message: "is too odd" }],
        },
        422,
      ),
      json({ definition: "name: web1\n", service: service("web1"), warnings: [], files: {} }, 201),
    ]);
    page();
    const user = userEvent.setup();
    await user.click(await screen.findByRole("button", { name: "Use Whoami" }));
    expect(screen.getByLabelText("Service name")).toHaveValue("whoami");
    expect(screen.getByLabelText("Log every request")).toHaveTextContent("No");
    expect(screen.getByLabelText("Name it answers with")).toHaveValue("sdmd");
    const name = screen.getByLabelText("Service name");
    await user.clear(name);
    await user.type(name, "web1");
    await user.click(screen.getByRole("button", { name: "Preview" }));
    expect(await screen.findByLabelText("Definition preview")).toHaveValue(
      "name: web1\nservices:\n  web1:\n    image: traefik/whoami\n",
    );
    expect(calls[1]!.url).toBe("/api/v1/templates/bundled.whoami/instantiate");
    expect(JSON.parse(calls[1]!.body!)).toEqual({
      name: "web1",
      variables: { WHOAMI_NAME: "sdmd", VERBOSE: "false" },
    });
    await user.click(screen.getByRole("button", { name: "Create service" }));
    expect(await screen.findByText("is too odd")).toBeInTheDocument();
    expect(calls[2]!.url).toBe("/api/v1/templates/bundled.whoami/instantiate?create=true");
    await user.click(screen.getByRole("button", { name: "Create service" }));
    await vi.waitFor(() => expect(push).toHaveBeenCalledWith("/service/?id=web1"));
  });
});
