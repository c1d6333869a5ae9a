import type {
  ContainerInfo,
  Health,
  ServerEvent,
  ServiceKind,
  ServiceStatus,
  ServiceView,
} from "./api";

/**
 * The service status from its containers (mirrors the server's `live::Group::status`): a managed
 * service without containers is `not_deployed`.
 */
export function statusOf(
  containers: Pick<ContainerInfo, "state" | "health">[],
  kind?: ServiceKind,
): ServiceStatus {
  if (kind === "managed" && containers.length === 0) return "not_deployed";
  const running = containers.filter((c) => c.state === "running");
  if (running.some((c) => c.health === "unhealthy")) return "unhealthy";
  if (running.length === 0) return "stopped";
  if (running.length === containers.length) return "running";
  return "partial";
}

/** The worst health among the containers (`none` when none has a health check). */
export function healthOf(containers: Pick<ContainerInfo, "health">[]): Health {
  const order: Health[] = ["unhealthy", "starting", "healthy"];
  for (const h of order) if (containers.some((c) => c.health === h)) return h;
  return "none";
}

/**
 * The bare name in a service id (`compose:web` → `web`). Container events name a service by its
 * bare name, while page links and operation events use the id.
 */
export function nameOfId(id: string): string {
  return id.replace(/^(compose|container):/, "");
}

/**
 * Applies a `container_status` event to a service list. Returns the new list, or null when the
 * event names a container the list doesn't know (a fresh list is needed). The row is the one
 * holding the container, since two services (a managed one and a compose project) may share the
 * name the event carries.
 */
export function applyContainerEvent(
  list: ServiceView[],
  e: Extract<ServerEvent, { type: "container_status" }>,
): ServiceView[] | null {
  const i = list.findIndex(
    (s) => s.name === e.service && s.containers.some((c) => c.id === e.container_id),
  );
  if (i < 0) return null;
  const svc = list[i]!;
  const ci = svc.containers.findIndex((c) => c.id === e.container_id);
  if (ci < 0) return null;
  let containers: ContainerInfo[];
  if (!e.state) {
    containers = svc.containers.filter((_, j) => j !== ci);
  } else {
    const c = svc.containers[ci]!;
    containers = svc.containers.map((x, j) =>
      j === ci ? { ...c, state: e.state!, health: e.health ?? c.health } : x,
    );
  }
  const next = [...list];
  next[i] = {
    ...svc,
    containers,
    status: statusOf(containers, svc.kind),
    deployed: containers.length > 0,
    containers_total: containers.length,
    containers_running: containers.filter((c) => c.state === "running").length,
  };
  return next;
}

/** Distinct images of a service, in container order. */
export function imagesOf(s: ServiceView): string[] {
  const fromDef = s.definition ? Object.values(s.definition.services).map((m) => m.image) : [];
  return [...new Set([...s.containers.map((c) => c.image), ...fromDef])];
}

/**
 * The badge text for a pending update: "minor update → 1.3.0" for a tag move the strategy
 * proposes, "update available" for a new digest under the same tag; null when there is none.
 */
export function updateLabel(
  s: Pick<ServiceView, "update_available" | "pending_update">,
): string | null {
  if (!s.update_available) return null;
  const p = s.pending_update;
  if (p?.kind === "tag" && p.target) {
    const tag = p.target.slice(p.target.lastIndexOf(":") + 1);
    return `${p.semver_diff ? `${p.semver_diff} ` : ""}update → ${tag}`;
  }
  return "update available";
}
