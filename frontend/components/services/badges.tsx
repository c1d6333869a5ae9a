import {
  CircleAlertIcon,
  CircleCheckIcon,
  CircleDashedIcon,
  CircleDotIcon,
  CircleMinusIcon,
  HeartPulseIcon,
  type LucideIcon,
} from "lucide-react";

import { Badge } from "@/components/ui/badge";
import type { ContainerState, Health, ServiceStatus } from "@/lib/api";

const STATUS: Record<
  ServiceStatus,
  {
    label: string;
    variant: "success" | "secondary" | "outline" | "warning" | "destructive";
    icon: LucideIcon;
  }
> = {
  running: { label: "Running", variant: "success", icon: CircleCheckIcon },
  stopped: { label: "Stopped", variant: "secondary", icon: CircleMinusIcon },
  partial: { label: "Partial", variant: "warning", icon: CircleDotIcon },
  unhealthy: { label: "Unhealthy", variant: "destructive", icon: CircleAlertIcon },
  not_deployed: { label: "Not deployed", variant: "outline", icon: CircleDashedIcon },
};

export function StatusBadge({ status }: { status: ServiceStatus }) {
  const s = STATUS[status];
  return (
    <Badge variant={s.variant} data-status={status}>
      <s.icon aria-hidden /> {s.label}
    </Badge>
  );
}

const STATE_VARIANT: Record<ContainerState, "success" | "secondary" | "warning" | "destructive"> = {
  running: "success",
  created: "secondary",
  paused: "warning",
  restarting: "warning",
  removing: "warning",
  exited: "secondary",
  dead: "destructive",
};

export function StateBadge({ state }: { state: ContainerState }) {
  return (
    <Badge variant={STATE_VARIANT[state]} data-state={state}>
      {state}
    </Badge>
  );
}

export function HealthBadge({ health }: { health: Health }) {
  if (health === "none")
    return (
      <span className="inline-flex items-center gap-1 text-xs text-muted-foreground">
        <CircleDashedIcon className="size-3" aria-hidden /> no check
      </span>
    );
  const variant =
    health === "healthy" ? "success" : health === "starting" ? "warning" : "destructive";
  return (
    <Badge variant={variant} data-health={health}>
      <HeartPulseIcon aria-hidden /> {health}
    </Badge>
  );
}
