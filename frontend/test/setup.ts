import "@testing-library/jest-dom/vitest";
import { cleanup } from "@testing-library/react";
import { afterEach } from "vitest";

import { queryClient } from "@/lib/query";

// The query cache's own retries wait real seconds (the API client's backoff is stubbed per
// test through configureApi's `sleep`); each test starts with an empty cache.
queryClient.setDefaultOptions({
  ...queryClient.getDefaultOptions(),
  queries: { ...queryClient.getDefaultOptions().queries, retry: false },
});

// Radix measures elements (checkbox, select) with ResizeObserver, which jsdom lacks.
if (!("ResizeObserver" in globalThis)) {
  globalThis.ResizeObserver = class {
    observe() {}
    unobserve() {}
    disconnect() {}
  };
}

afterEach(() => {
  cleanup();
  queryClient.clear();
});
