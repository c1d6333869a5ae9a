import { fireEvent, render, screen, waitFor } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";

import { ErrorState } from "@/components/app/error-state";
import { Toaster } from "@/components/app/toaster";
import { DefinitionEditor, WarningsNotice } from "@/components/service/definition-editor";
import { DeleteDialog } from "@/components/service/delete-dialog";
import { FilesPanel } from "@/components/service/files-panel";
import { ImportProject } from "@/components/service/import-project";
import { mergeLogs } from "@/components/service/logs-viewer";
import { HealthBadge, StatusBadge } from "@/components/services/badges";
import { HostOverview } from "@/components/services/host-overview";
import { ServiceActions } from "@/components/services/service-actions";
import { ServicesTable } from "@/components/services/services-table";
import { ApiError, configureApi, type HostStats, type ServiceNow } from "@/lib/api";
import { parseServiceView } from "@/lib/api";
import { json, mockFetch, service } from "@/test/fetch";

beforeEach(() => {
  configureApi({ getToken: async () => "t", onUnauthorized: () => {}, sleep: async () => {} });
  vi.spyOn(console, "error").mockImplementation(() => {});
});
afterEach(() => {
  vi.unstubAllGlobals();
  vi.restoreAllMocks();
});

describe("badges", () => {
  it("label status and health in words, not just colour", () => {
    render(
      <>
        <StatusBadge status="unhealthy" />
        <HealthBadge health="none" />
      </>,
    );
    expect(screen.getByText("Unhealthy")).toBeInTheDocument();
    expect(screen.getByText("no check")).toBeInTheDocument();
  });
});

describe("ErrorState", () => {
  it("shows the friendly message, never the details, and retries", async () => {
    const onRetry = vi.fn();
    render(
      <ErrorState
        error={new ApiError(409, "name_taken", "raw", "SECRET DETAILS")}
        onRetry={onRetry}
      />,
    );
    expect(screen.getByText("A service with that name already exists.")).toBeInTheDocument();
    expect(screen.queryByText(/SECRET DETAILS/)).toBeNull();
    expect(screen.queryByText(/Retrying in/)).toBeNull();
    await userEvent.click(screen.getByRole("button", { name: "Retry" }));
    expect(onRetry).toHaveBeenCalledOnce();
  });

  it("treats a missing route as a feature this server lacks, not a failure", () => {
    render(
      <ErrorState
        error={new ApiError(404, "route_not_found", "No such route.")}
        onRetry={() => {}}
      />,
    );
    expect(screen.getByText("Not available on this server")).toBeInTheDocument();
    expect(screen.queryByRole("button", { name: "Retry" })).toBeNull();
  });

  it("counts down to an automatic retry for transient errors", () => {
    render(
      <ErrorState error={new ApiError(503, "docker_unavailable", "down")} onRetry={() => {}} />,
    );
    expect(screen.getByText("Temporarily unavailable")).toBeInTheDocument();
    expect(screen.getByText(/Retrying in \d+s/)).toBeInTheDocument();
  });
});

describe("ServiceActions", () => {
  it("asks before stopping, then calls the API", async () => {
    const { calls } = mockFetch([
      json({
        created: [],
        recreated: [],
        started: [],
        stopped: ["w-web"],
        unchanged: [],
        removed: [],
        warnings: [],
      }),
    ]);
    const onDone = vi.fn();
    render(
      <Toaster>
        <ServiceActions
          service={{ id: "w", name: "w", kind: "managed", status: "running" }}
          onDone={onDone}
        />
      </Toaster>,
    );
    const user = userEvent.setup();
    await user.click(screen.getByRole("button", { name: "Actions for w" }));
    await user.click(await screen.findByRole("menuitem", { name: "Stop" }));
    const dialog = await screen.findByRole("dialog");
    expect(dialog).toHaveTextContent("Stop w?");
    expect(calls).toHaveLength(0);
    await user.click(screen.getByRole("button", { name: "Stop" }));
    await waitFor(() => expect(onDone).toHaveBeenCalled());
    expect(calls[0]!.url).toBe("/api/v1/services/w/stop");
    expect(await screen.findByText("w — Stop: 1 stopped.")).toBeInTheDocument();
  });

  it("works from the keyboard: menu with arrows, dialog closes with Escape", async () => {
    const { calls } = mockFetch([]);
    render(<ServiceActions service={{ id: "w", name: "w", kind: "managed", status: "running" }} />);
    const user = userEvent.setup();
    screen.getByRole("button", { name: "Actions for w" }).focus();
    await user.keyboard("{Enter}");
    const menu = await screen.findByRole("menu");
    expect(menu).toBeInTheDocument();
    // Items in order: Deploy, Start, Stop, …
    await user.keyboard("{ArrowDown}{ArrowDown}");
    expect(screen.getByRole("menuitem", { name: "Stop" })).toHaveFocus();
    await user.keyboard("{Enter}");
    expect(await screen.findByRole("dialog")).toHaveTextContent("Stop w?");
    await user.keyboard("{Escape}");
    await waitFor(() => expect(screen.queryByRole("dialog")).toBeNull());
    expect(calls).toHaveLength(0);
  });

  it("offers Adopt, not Deploy, for an unmanaged service", async () => {
    render(
      <ServiceActions
        service={{ id: "container:legacy", name: "legacy", kind: "standalone", status: "running" }}
      />,
    );
    expect(screen.getByRole("button", { name: /Adopt/ })).toBeInTheDocument();
    await userEvent.click(screen.getByRole("button", { name: "Actions for legacy" }));
    expect(await screen.findByRole("menuitem", { name: "Start" })).toBeInTheDocument();
    expect(screen.queryByRole("menuitem", { name: "Deploy" })).toBeNull();
  });

  it("addresses an unmanaged service by its id and reports the adopted one", async () => {
    const { calls } = mockFetch([json(service("depbench"), 201)]);
    const onAdopted = vi.fn();
    render(
      <Toaster>
        <ServiceActions
          service={{ id: "compose:depbench", name: "depbench", kind: "compose", status: "running" }}
          onAdopted={onAdopted}
        />
      </Toaster>,
    );
    await userEvent.click(screen.getByRole("button", { name: /Adopt/ }));
    await waitFor(() => expect(onAdopted).toHaveBeenCalled());
    expect(calls[0]!.url).toBe("/api/v1/services/compose%3Adepbench/adopt");
    expect(onAdopted.mock.calls[0]![0]).toMatchObject({ id: "depbench", kind: "managed" });
  });

  it("lists what an adopt would lose and adopts anyway on request", async () => {
    const lost = {
      container: "legacy",
      field: "HostConfig.BlkioWeight",
      value: "300",
      message: "blkio_config is not supported yet",
    };
    const { calls } = mockFetch([
      json({ code: "adopt_would_lose_settings", message: "would lose", details: [lost] }, 422),
      json({ ...service("legacy"), dropped: [lost] }, 201),
    ]);
    const onAdopted = vi.fn();
    render(
      <Toaster>
        <ServiceActions
          service={{
            id: "container:legacy",
            name: "legacy",
            kind: "standalone",
            status: "running",
          }}
          onAdopted={onAdopted}
        />
      </Toaster>,
    );
    await userEvent.click(screen.getByRole("button", { name: /Adopt/ }));
    const dialog = await screen.findByRole("dialog");
    expect(dialog).toHaveTextContent("legacy: HostConfig.BlkioWeight = 300");
    expect(dialog).toHaveTextContent("blkio_config is not supported yet");
    expect(onAdopted).not.toHaveBeenCalled();
    await userEvent.click(screen.getByRole("button", { name: "Adopt anyway" }));
    await waitFor(() => expect(onAdopted).toHaveBeenCalled());
    expect(calls.map((c) => c.url)).toEqual([
      "/api/v1/services/container%3Alegacy/adopt",
      "/api/v1/services/container%3Alegacy/adopt?accept_loss=true",
    ]);
    expect(onAdopted.mock.calls[0]![0].dropped).toEqual([lost]);
    expect(await screen.findByText(/without 1 setting it can't express/)).toBeInTheDocument();
  });

  it("offers Deploy first for a service that is not deployed", () => {
    render(
      <ServiceActions service={{ id: "n", name: "n", kind: "managed", status: "not_deployed" }} />,
    );
    expect(screen.getByRole("button", { name: /Deploy/ })).toBeInTheDocument();
  });

  it("leaves Deploy to the page when the page shows its own", () => {
    render(
      <ServiceActions
        service={{ id: "n", name: "n", kind: "managed", status: "not_deployed" }}
        deployShown
      />,
    );
    expect(screen.queryByRole("button", { name: /Deploy/ })).toBeNull();
  });

  it("shows a friendly toast when the action fails", async () => {
    mockFetch([json({ code: "docker_conflict", message: "port is already allocated" }, 409)]);
    render(
      <Toaster>
        <ServiceActions service={{ id: "w", name: "w", kind: "managed", status: "stopped" }} />
      </Toaster>,
    );
    await userEvent.click(screen.getByRole("button", { name: /Start/ }));
    expect(await screen.findByText(/Start w: Docker refused/)).toBeInTheDocument();
  });
});

describe("ServicesTable", () => {
  it("renders rows with links to the detail page", () => {
    const list = [
      parseServiceView(service("alpha")),
      parseServiceView(service("beta", { status: "stopped" })),
    ];
    render(
      <ServicesTable
        services={list}
        activity={{ beta: { action: "pull", message: "Downloading" } }}
        onChanged={() => {}}
      />,
    );
    expect(screen.getByRole("link", { name: "alpha" })).toHaveAttribute(
      "href",
      expect.stringMatching(/^\/service\/?\?id=alpha$/),
    );
    expect(screen.getAllByRole("row")).toHaveLength(3);
    expect(screen.getByText("Downloading")).toBeInTheDocument();
  });

  it("gives services that share a name their own rows, pages, status and counts", () => {
    const compose = service("depbench", { id: "compose:depbench", kind: "compose" });
    const list = [
      parseServiceView(
        service("depbench", {
          status: "not_deployed",
          deployed: false,
          containers: [],
          containers_total: 0,
          containers_running: 0,
        }),
      ),
      parseServiceView({
        ...compose,
        containers: [
          compose.containers[0],
          { ...compose.containers[0], id: "c2", name: "depbench_db_1", state: "exited" },
        ],
        containers_total: 2,
        containers_running: 1,
      }),
    ];
    render(<ServicesTable services={list} activity={{}} onChanged={() => {}} />);
    const hrefs = screen
      .getAllByRole("link", { name: "depbench" })
      .map((a) => a.getAttribute("href"));
    // (Link may drop the trailing slash outside the static export.)
    expect(hrefs.map((h) => h?.replace("/service/?", "/service?"))).toEqual([
      "/service?id=depbench",
      "/service?id=compose%3Adepbench",
    ]);
    expect(screen.getByText("Not deployed")).toBeInTheDocument();
    expect(screen.getByText("no containers")).toBeInTheDocument();
    expect(screen.getByText("1/2 running")).toBeInTheDocument();
  });
});

describe("CPU and memory", () => {
  const now: ServiceNow = {
    service: "alpha",
    cpu_percent: 12.34,
    memory_bytes: 3 * 1024 ** 2,
    memory_limit_bytes: 8 * 1024 ** 3,
    containers: 1,
    cpu_trail: [1, 5, 12.34],
    memory_trail: [1, 2, 3],
  };

  it("shows the live figures with sparklines in the services list, — without running containers", () => {
    const list = [
      parseServiceView(service("alpha")),
      parseServiceView(service("beta", { status: "stopped" })),
    ];
    const { container } = render(
      <ServicesTable
        services={list}
        activity={{}}
        onChanged={() => {}}
        stats={{ byService: new Map([["alpha", now]]), hostCpus: 4, hostMemory: 8 * 1024 ** 3 }}
      />,
    );
    const cell = (id: string, which: string) =>
      container.querySelector(`[data-service="${id}"] [data-testid="${which}-cell"]`);
    expect(cell("alpha", "cpu")).toHaveTextContent("12.3%");
    expect(cell("alpha", "cpu")).toHaveTextContent("3.1% of the host (4 CPUs)");
    expect(cell("alpha", "cpu")?.querySelector("svg polyline")).not.toBeNull();
    expect(cell("alpha", "memory")).toHaveTextContent("3 MiB");
    expect(cell("alpha", "memory")).toHaveTextContent("no memory limit");
    expect(cell("beta", "cpu")).toHaveTextContent("—");
    expect(cell("beta", "memory")).toHaveTextContent("—");
    expect(screen.getByRole("columnheader", { name: "CPU" })).toBeInTheDocument();
  });

  const host: HostStats = {
    source: "cgroup",
    interval_seconds: 5,
    at: "2026-12-01T10:00:00Z",
    host_cpus: 4,
    host_memory_bytes: 8 * 1024 ** 3,
    host_cpu_percent: 23.4,
    containers_cpu_percent: 50,
    containers_memory_bytes: 2 * 1024 ** 3,
    last_round_ms: 3,
    services: [now],
    top_cpu: [
      {
        service: "compose:legacy",
        member: "db",
        container: "legacy-db-1",
        cpu_percent: 40,
        memory_bytes: 1,
      },
    ],
    top_memory: [],
  };

  it("sums up the host with its top consumers linked to their pages", () => {
    render(<HostOverview stats={host} error={null} />);
    const overview = screen.getByTestId("host-overview");
    expect(overview).toHaveTextContent("cgroup files · every 5 s");
    expect(overview).toHaveTextContent("23.4%");
    // 50 % of one core on 4 CPUs.
    expect(overview).toHaveTextContent("12.5%");
    expect(overview).toHaveTextContent("2 GiB");
    expect(overview).toHaveTextContent("of 8 GiB · 25.0%");
    expect(screen.getByRole("link", { name: "legacy / db" })).toHaveAttribute(
      "href",
      expect.stringMatching(/id=compose%3Alegacy$/),
    );
    expect(screen.getByText("Nothing running")).toBeInTheDocument();
  });

  it("says when sampling is off, and stays away on a server without the route", () => {
    const { unmount } = render(<HostOverview stats={{ ...host, source: "off" }} error={null} />);
    expect(screen.getByTestId("host-overview")).toHaveTextContent("SDMD_STATS_INTERVAL=off");
    unmount();
    render(<HostOverview stats={undefined} error={new ApiError(404, "route_not_found", "no")} />);
    expect(screen.queryByTestId("host-overview")).toBeNull();
  });
});

describe("DefinitionEditor", () => {
  it("shows server validation problems on their fields", async () => {
    mockFetch([
      json(
        {
          code: "validation_failed",
          message: "invalid",
          details: [
            { field: "services.web.ports[0]", message: "`80:x` is not a valid port mapping" },
            { field: "services.web.healthcheck.interval", message: "bad duration" },
          ],
        },
        422,
      ),
    ]);
    render(
      <DefinitionEditor
        mode="edit"
        service="w"
        source={'name: w\nservices:\n  web:\n    image: x:1\n    ports: ["80:x"]\n'}
        onSaved={() => {}}
      />,
    );
    await userEvent.click(screen.getByRole("button", { name: "Save revision" }));
    const ports = await screen.findByRole("group", { name: "Ports" });
    await waitFor(() => expect(ports).toHaveAttribute("data-invalid", "true"));
    expect(ports).toHaveAccessibleDescription("`80:x` is not a valid port mapping");
    expect(screen.getByTestId("problems")).toHaveTextContent(
      "services.web.healthcheck.interval: bad duration",
    );
  });

  it("creates from pasted YAML with the YAML content type", async () => {
    const { calls } = mockFetch([json(service("pasted"), 201)]);
    const onSaved = vi.fn();
    render(<DefinitionEditor mode="create" onSaved={onSaved} />);
    const area = screen.getByLabelText("Compose YAML");
    fireEvent.change(area, { target: { value: "name: pasted\nservices:\n  web: {image: x}\n" } });
    await userEvent.click(screen.getByRole("button", { name: "Create service" }));
    await waitFor(() => expect(onSaved).toHaveBeenCalled());
    expect(calls[0]!.headers["Content-Type"]).toBe("application/yaml");
  });
});

describe("DefinitionEditor (document as written)", () => {
  const source = `# the shop
name: shop
x-common: &common
  restart: unless-stopped
services:
  web:
    <<: *common
    image: \${IMAGE:-web}:1
    ports:
      - "8080:80"
      - target: 443
        published: 8443
    environment:
      - TOKEN=\${TOKEN}
    healthcheck:
      test: [CMD, "true"]
`;

  it("patches the form's edits into the document, keeping everything else", async () => {
    const { calls } = mockFetch([json(service("shop"))]);
    render(<DefinitionEditor mode="edit" service="shop" source={source} onSaved={() => {}} />);
    // A long-syntax port can't be shown as a row: read-only, kept as written.
    expect(screen.getByLabelText("Port 2 as written")).toHaveAttribute("readonly");
    expect(screen.getByLabelText("Host port 1")).toHaveValue("8080");
    fireEvent.change(screen.getByLabelText("Container name"), { target: { value: "shop-web" } });
    await userEvent.click(screen.getByRole("button", { name: "Save revision" }));
    await waitFor(() => expect(calls).toHaveLength(1));
    const body = calls[0]!.body!;
    expect(calls[0]!.headers["Content-Type"]).toBe("application/yaml");
    expect(body).toContain("# the shop");
    expect(body).toContain("<<: *common");
    expect(body).toContain("image: ${IMAGE:-web}:1");
    expect(body).toContain("- TOKEN=${TOKEN}");
    expect(body).toContain("published: 8443");
    expect(body).toContain("container_name: shop-web");
  });

  it("shows YAML problems with their line", async () => {
    mockFetch([
      json(
        {
          code: "validation_failed",
          message: "invalid",
          details: [{ field: "services.web.ports[1]", message: "bad port" }],
        },
        422,
      ),
    ]);
    render(<DefinitionEditor mode="edit" service="shop" source={source} onSaved={() => {}} />);
    await userEvent.click(screen.getByRole("tab", { name: "YAML" }));
    await userEvent.click(screen.getByRole("button", { name: "Save revision" }));
    expect(await screen.findByTestId("problems")).toHaveTextContent(
      "line 11: services.web.ports[1]: bad port",
    );
  });
});

describe("WarningsNotice", () => {
  it("lists warnings without blocking", () => {
    render(
      <WarningsNotice
        warnings={[{ field: "services.web.environment.A", message: "A is not set" }]}
      />,
    );
    expect(screen.getByTestId("warnings")).toHaveTextContent(
      "services.web.environment.A: A is not set",
    );
  });
});

describe("FilesPanel", () => {
  it("lists files, shows sealed ones masked and reveals on request", async () => {
    const { calls } = mockFetch([
      json([
        { path: ".env", size: 12, sealed: true, sha256: "a" },
        { path: "app.conf", size: 2048, sealed: false, sha256: "b" },
      ]),
      json({ path: ".env", sealed: true, masked: true, content: "A=********\nB=********\n" }),
      json({ path: ".env", sealed: true, masked: false, content: "A=1\nB=2\n" }),
    ]);
    render(<FilesPanel service="shop" revision={1} onSaved={() => {}} />);
    await userEvent.click(await screen.findByRole("button", { name: /\.env.*sealed/ }));
    expect(await screen.findByTestId("masked-content")).toHaveTextContent("A=********");
    expect(screen.getByText(/2 values are hidden/)).toHaveTextContent("audit log");
    await userEvent.click(screen.getByRole("button", { name: "Reveal" }));
    expect(await screen.findByLabelText("Content of .env")).toHaveValue("A=1\nB=2\n");
    expect(calls[1]!.url).toBe("/api/v1/services/shop/files/.env");
    expect(calls[2]!.url).toBe("/api/v1/services/shop/files/.env?reveal=true");
    expect(screen.getByText("2.0 KB")).toBeInTheDocument();
  });
});

describe("ImportProject", () => {
  it("detects the compose file, asks for a missing name and sends multipart", async () => {
    const { calls } = mockFetch([json(service("shop"), 201)]);
    const onCreated = vi.fn();
    render(<ImportProject onCreated={onCreated} />);
    const compose = new File(["services:\n  web: {image: x}\n"], "docker-compose.yml");
    const env = new File(["A=1\n"], ".env");
    await userEvent.upload(screen.getByLabelText("Pick project files"), [env, compose]);
    expect(await screen.findByTestId("import-files")).toHaveTextContent("docker-compose.yml");
    // A Radix select (a combobox button) shows its choice as text.
    expect(screen.getByLabelText("Compose file")).toHaveTextContent("docker-compose.yml");
    await userEvent.type(await screen.findByLabelText("Service name"), "shop");
    await userEvent.click(screen.getByRole("button", { name: "Import project" }));
    await waitFor(() => expect(onCreated).toHaveBeenCalled());
    const form = calls[0]!.body as unknown as FormData;
    expect(calls[0]!.method).toBe("POST");
    expect(calls[0]!.headers["Content-Type"]).toBeUndefined();
    expect([...form.keys()]).toEqual(["compose", "name", ".env"]);
    expect(form.get("name")).toBe("shop");
  });
});

describe("DeleteDialog", () => {
  it("stays disabled until the name is typed, and can remove volumes", async () => {
    const { calls } = mockFetch([json({ containers: [], volumes: [] })]);
    const onDeleted = vi.fn();
    render(<DeleteDialog name="shop" onDeleted={onDeleted} />);
    const user = userEvent.setup();
    await user.click(screen.getByRole("button", { name: /Delete/ }));
    const submit = await screen.findByRole("button", { name: "Delete service" });
    expect(submit).toBeDisabled();
    await user.type(screen.getByLabelText(/to confirm/), "sho");
    expect(submit).toBeDisabled();
    await user.type(screen.getByLabelText(/to confirm/), "p");
    await user.click(screen.getByRole("checkbox"));
    await user.click(submit);
    await waitFor(() => expect(onDeleted).toHaveBeenCalled());
    expect(calls[0]!.method).toBe("DELETE");
    expect(calls[0]!.url).toBe("/api/v1/services/shop?volumes=true");
  });
});

describe("logs", () => {
  it("interleaves containers by timestamp", () => {
    const merged = mergeLogs([
      {
        container: "a",
        member: "a",
        state: "running",
        lines: [{ ts: "2026-01-01T00:00:02Z", stream: "stdout", line: "a2" }],
      },
      {
        container: "b",
        member: "b",
        state: "running",
        lines: [{ ts: "2026-01-01T00:00:01Z", stream: "stderr", line: "b1" }],
      },
    ]);
    expect(merged.map((l) => l.line)).toEqual(["b1", "a2"]);
  });
});
