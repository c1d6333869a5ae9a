import { describe, expect, it } from "vitest";

import { formatBytes } from "./mounts";

describe("formatBytes", () => {
  it("uses binary units", () => {
    expect(formatBytes(0)).toBe("0 B");
    expect(formatBytes(4096)).toBe("4.0 KiB");
    expect(formatBytes(15 * 1024 * 1024)).toBe("15 MiB");
    expect(formatBytes(3.5 * 1024 ** 4)).toBe("3.5 TiB");
  });
});
