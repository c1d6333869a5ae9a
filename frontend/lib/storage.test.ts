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
