import { describe, expect, it } from "vitest";

import { rootProblems, rootsBody } from "./storage";

describe("shared roots", () => {
  it("builds the body from rows, dropping empty ones and trimming", () => {
    expect(
      rootsBody([
        { name: " MEDIA ", path: " /srv/media " },
        { name: "", path: "" },
        { name: "DOWNLOADS", path: "/srv/dl" },
      ]),
    ).toEqual({ MEDIA: "/srv/media", DOWNLOADS: "/srv/dl" });
  });

  it("maps roots.NAME problems to their rows and keeps the rest general", () => {
    const rows = [
      { name: "MEDIA", path: "/srv/media" },
      { name: "PUID", path: "/x" },
    ];
    expect(
      rootProblems(
        [
          { field: "roots.PUID", message: "standard" },
          { field: "roots", message: "too many" },
        ],
        rows,
      ),
    ).toEqual({ byRow: { 1: ["standard"] }, general: ["roots: too many"] });
  });
});

describe("catalog file names", () => {
  it("keeps what the server takes and replaces the rest", async () => {
    const { catalogFileName } = await import("@/components/settings/template-files-card");
    expect(catalogFileName("portainer.json")).toBe("portainer.json");
    expect(catalogFileName("My Apps (2).yml")).toBe("My-Apps-2-.yml");
    expect(catalogFileName("..hidden.json")).toBe("hidden.json");
    expect(catalogFileName("???")).toBe("catalog.json");
  });
});
