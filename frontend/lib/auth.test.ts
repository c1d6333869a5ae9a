import { describe, expect, it } from "vitest";

import { signInMessage } from "./auth";

describe("signInMessage", () => {
  it("names the wait of a throttled sign-in from details.retry_after_ms", () => {
    expect(signInMessage({ status: 429, code: "over_request_rate_limit" }, 7200)).toBe(
      "Too many attempts. Try again in 8 s.",
    );
    expect(signInMessage({ status: 429 }, 250)).toBe("Too many attempts. Try again in 1 s.");
    // No wait known (e.g. Supabase's own 429): the generic sentence.
    expect(signInMessage({ status: 429 }, null)).toBe(
      "Too many attempts. Wait a moment and try again.",
    );
  });

  it("keeps the other messages", () => {
    expect(signInMessage({ status: 400, code: "invalid_credentials" })).toBe(
      "Wrong email or password.",
    );
    expect(signInMessage({})).toBe("Can't reach the server. Check your connection and try again.");
  });
});
