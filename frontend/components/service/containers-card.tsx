import { BoxIcon } from "lucide-react";

import { EmptyState } from "@/components/app/error-state";
import { HealthBadge, StateBadge } from "@/components/services/badges";
import type { ContainerInfo } from "@/lib/api";
import { shortId } from "@/lib/utils";
import { Hint } from "@/components/ui/tooltip";

function ports(c: ContainerInfo): string {
  if (!c.ports.length) return "—";
  return c.ports
    .map(
      (p) => `${p.host_ip ? `${p.host_ip}:` : ""}${p.host_port}→${p.container_port}/${p.protocol}`,
    )
    .join(", ");
}

/** The containers of a service: state, health, ports, image and its id. */
export function ContainersList({ containers }: { containers: ContainerInfo[] }) {
  if (!containers.length)
    return (
      <EmptyState icon={BoxIcon} title="No containers">
        Deploy the service to create them.
      </EmptyState>
    );
  return (
    <div className="overflow-x-auto rounded-lg border">
      <table className="w-full text-sm">
        <caption className="sr-only">Containers</caption>
        <thead className="bg-muted/40 text-left text-xs text-muted-foreground">
          <tr>
            <th className="px-3 py-2 font-medium">Container</th>
            <th className="px-3 py-2 font-medium">State</th>
            <th className="px-3 py-2 font-medium">Health</th>
            <th className="px-3 py-2 font-medium">Ports</th>
            <th className="px-3 py-2 font-medium">Image</th>
          </tr>
        </thead>
        <tbody>
          {containers.map((c) => (
            <tr key={c.id} className="border-t align-top" data-container={c.name}>
              <td className="px-3 py-2">
                <div className="font-medium">{c.name}</div>
                <div className="text-xs text-muted-foreground">{c.status_text}</div>
              </td>
              <td className="px-3 py-2">
                <StateBadge state={c.state} />
              </td>
              <td className="px-3 py-2">
                <HealthBadge health={c.health} />
              </td>
              <td className="px-3 py-2 font-mono text-xs">{ports(c)}</td>
              <td className="px-3 py-2">
                <div className="font-mono text-xs break-all">{c.image}</div>
                <Hint content={c.image_id}>
                  <div tabIndex={0} className="w-fit font-mono text-xs text-muted-foreground">
                    {shortId(c.image_id)}
                  </div>
                </Hint>
              </td>
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}
