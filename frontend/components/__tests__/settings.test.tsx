import { render, screen, waitFor } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";

import { Toaster } from "@/components/app/toaster";
import { EnvironmentPanel } from "@/components/service/environment-panel";
import { TemplateSourcesCard } from "@/components/settings/template-sources-card";
import { VariablesCard } from "@/components/settings/variables-card";
import { configureApi } from "@/lib/api";
import { queryClient } from "@/lib/query";
import { json, mockFetch } from "@/test/fetch";

beforeEach(() => {
  configureApi({ getToken: async () => "t", onUnauthorized: () => {}, sleep: async () => {} });
  vi.spyOn(console, "error").mockImplementation(() => {});
  queryClient.clear();
});
afterEach(() => {
  vi.unstubAllGlobals();
  vi.restoreAllMocks();
});

const stored = {
  variables: [
    { name: "DOMAIN", value: "example.com", secret: false, source: "set" },
    { name: "TOKEN", value: null, secret: true, source: "set" },
    { name: "TZ", value: "Etc/UTC", secret: false, source: "default" },
  ],
};

describe("VariablesCard", () => {
  it("keeps a stored secret, overrides a default and saves the whole set", async () => {
    const { calls } = mockFetch([json(stored), json(stored)]);
    render(
      <Toaster>
        <VariablesCard />
      </Toaster>,
    );
    const user = userEvent.setup();
    const token = await screen.findByLabelText("Value of TOKEN");
    expect(token).toHaveAttribute("placeholder", "•••••• (kept)");
    expect(token).toHaveValue("");
    expect(screen.getByText("Etc/UTC")).toBeInTheDocument();
    await user.click(screen.getByRole("button", { name: "Override TZ" }));
    const tz = screen.getByLabelText("Value of TZ");
    await user.clear(tz);
    await user.type(tz, "Europe/Berlin");
    await user.click(screen.getByRole("button", { name: "Save variables" }));
    await screen.findByText("Variables saved.");
    expect(calls[1]!.method).toBe("PUT");
    expect(JSON.parse(calls[1]!.body!)).toEqual({
      variables: { DOMAIN: "example.com", TOKEN: { secret: true }, TZ: "Europe/Berlin" },
    });
  });

  it("shows the server's problems next to their variable", async () => {
    mockFetch([
      json(stored),
      json(
        {
          code: "validation_failed",
          message: "invalid",
          details: [{ field: "variables.DOMAIN.value", message: "is too long" }],
        },
        422,
      ),
    ]);
    render(
      <Toaster>
        <VariablesCard />
      </Toaster>,
    );
    const user = userEvent.setup();
    await user.type(await screen.findByLabelText("Value of DOMAIN"), "x");
    await user.click(screen.getByRole("button", { name: "Save variables" }));
    expect(await screen.findByText("is too long")).toBeInTheDocument();
    expect(screen.getByLabelText("Value of DOMAIN")).toHaveAttribute("aria-invalid", "true");
  });
});

describe("TemplateSourcesCard", () => {
  it("adds a URL, saves, and puts sources[i] problems on their row", async () => {
    const { calls } = mockFetch([
      json({ sources: ["https://a.example/t.json"] }),
      json(
        {
          code: "validation_failed",
          message: "invalid",
          details: [{ field: "sources[1]", message: "not an http(s) URL" }],
        },
        422,
      ),
    ]);
    render(
      <Toaster>
        <TemplateSourcesCard />
      </Toaster>,
    );
    const user = userEvent.setup();
    await screen.findByLabelText("Source URL 1");
    await user.click(screen.getByRole("button", { name: "Add source" }));
    await user.type(screen.getByLabelText("Source URL 2"), "ftp://b.example");
    await user.click(screen.getByRole("button", { name: "Save sources" }));
    expect(await screen.findByText("not an http(s) URL")).toBeInTheDocument();
    expect(JSON.parse(calls[1]!.body!)).toEqual({
      sources: ["https://a.example/t.json", "ftp://b.example"],
    });
    expect(screen.getByLabelText("Source URL 2")).toHaveAttribute("aria-invalid", "true");
  });
});

describe("EnvironmentPanel", () => {
  it("lists each member's variables with their source", async () => {
    mockFetch([
      json({
        members: [
          {
            member: "web",
            variables: [
              {
                name: "TZ",
                value: "Etc/UTC",
                source: "global",
                variable: "TZ",
                origin: "default",
                masked: false,
              },
              {
                name: "PASS",
                value: "********",
                source: "env_file",
                file: "app.env",
                masked: true,
              },
            ],
          },
        ],
      }),
    ]);
    render(<EnvironmentPanel service="shop" />);
    expect(await screen.findByText("global ${TZ} (default)")).toBeInTheDocument();
    expect(screen.getByText("env_file app.env")).toBeInTheDocument();
    expect(screen.getByRole("table", { name: "Environment of web" })).toBeInTheDocument();
  });

  it("shows a failure as a small note", async () => {
    mockFetch([json({ code: "unmanaged_service", message: "not managed" }, 409)]);
    render(<EnvironmentPanel service="shop" />);
    await waitFor(() =>
      expect(screen.getByRole("status")).toHaveTextContent(/Couldn.t show the environment/),
    );
  });
});
