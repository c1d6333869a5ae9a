import type { ServiceView } from "@/lib/api";

// Kept apart from the services table, so the pages that only link to a service (the service
// page, New service, Templates) don't load the table with its virtualizer and live columns.

/**
 * The page of one service, by its id (`ServiceView.id`): a managed service's name, or
 * `compose:<project>` / `container:<name>`, so rows sharing a name open their own pages.
 */
export function serviceHref(id: string) {
  return `/service/?id=${encodeURIComponent(id)}`;
}

/** "2/3 running"; a service without containers has none to count. */
export function countsText(s: Pick<ServiceView, "containers_total" | "containers_running">) {
  return s.containers_total === 0
    ? "no containers"
    : `${s.containers_running}/${s.containers_total} running`;
}
