import type { ServiceStatus, ServiceView } from "./api";
import { imagesOf } from "./status";

export interface ServiceFilter {
  q: string;
  status: ServiceStatus | "all";
  kind: "all" | "managed" | "unmanaged";
}

export const emptyFilter: ServiceFilter = { q: "", status: "all", kind: "all" };

/** Services matching the search text (name or image) and the status/kind filters. */
export function filterServices(list: ServiceView[], f: ServiceFilter): ServiceView[] {
  const q = f.q.trim().toLowerCase();
  return list.filter((s) => {
    if (f.status !== "all" && s.status !== f.status) return false;
    if (f.kind === "managed" && s.kind !== "managed") return false;
    if (f.kind === "unmanaged" && s.kind === "managed") return false;
    if (!q) return true;
    return s.name.toLowerCase().includes(q) || imagesOf(s).some((i) => i.toLowerCase().includes(q));
  });
}
