"use client";

import { Loader2Icon } from "lucide-react";
import { useEffect } from "react";

import { Badge } from "@/components/ui/badge";
import { Skeleton } from "@/components/ui/skeleton";
import { api } from "@/lib/api";
import { formatBytes } from "@/lib/mounts";
import { keys, useApiQuery } from "@/lib/query";

/**
 * A managed service's mounts: host path (a bind's source, a volume's directory), container
 * path, mode, owner and size. Sizes are measured by the server in the background; while one is
 * measuring the panel asks again every two seconds. A failure is a small note.
 */
export function MountsPanel({ service }: { service: string }) {
  const mounts = useApiQuery(keys.mounts(service), (signal) => api.serviceMounts(service, signal));
  const measuring = mounts.data?.mounts.some((m) => m.measuring) ?? false;
  const { reload } = mounts;
  useEffect(() => {
    if (!measuring) return;
    const t = setTimeout(reload, 2000);
    return () => clearTimeout(t);
  }, [measuring, reload, mounts.data]);

  if (mounts.error && !mounts.data)
    return (
      <p className="text-sm text-muted-foreground" role="status">
        Couldn&apos;t list the mounts: {mounts.error.friendly}{" "}
        <button type="button" className="underline" onClick={mounts.reload}>
          Retry
        </button>
      </p>
    );
  if (!mounts.data) return <Skeleton className="h-16 w-full" />;
  if (!mounts.data.mounts.length) return null;
  return (
    <section aria-label="Mounts" className="flex flex-col gap-2">
      <h3 className="text-sm font-medium">Mounts</h3>
      <div className="overflow-x-auto rounded-lg border">
        <table className="w-full text-sm">
          <caption className="sr-only">Mounts of {service}</caption>
          <thead className="bg-muted/40 text-left text-xs text-muted-foreground">
            <tr>
              <th className="px-3 py-2 font-medium">Member</th>
              <th className="px-3 py-2 font-medium">Host</th>
              <th className="px-3 py-2 font-medium">Container</th>
              <th className="px-3 py-2 font-medium">Owner · mode</th>
              <th className="px-3 py-2 text-right font-medium">Size</th>
            </tr>
          </thead>
          <tbody>
            {mounts.data.mounts.map((m, i) => (
              <tr key={i} className="border-t" data-mount={m.target}>
                <td className="px-3 py-2 font-mono text-xs">{m.member}</td>
                <td className="px-3 py-2">
                  <div className="flex flex-wrap items-center gap-1.5">
                    <Badge variant="outline">{m.kind}</Badge>
                    <code className="font-mono text-xs break-all">
                      {m.host_path ?? m.source ?? "—"}
                    </code>
                    {m.kind === "volume" && m.source && m.host_path && (
                      <span className="text-xs text-muted-foreground">({m.source})</span>
                    )}
                    {(m.kind === "bind" || m.kind === "volume") && !m.exists && (
                      <Badge variant="destructive">missing</Badge>
                    )}
                  </div>
                </td>
                <td className="px-3 py-2">
                  <code className="font-mono text-xs">{m.target}</code>
                  {m.read_only && (
                    <Badge variant="secondary" className="ml-1.5">
                      read-only
                    </Badge>
                  )}
                </td>
                <td className="px-3 py-2 font-mono text-xs">
                  {m.owner ? `${m.owner} · ${m.mode}` : "—"}
                </td>
                <td className="px-3 py-2 text-right font-mono text-xs" data-size>
                  {m.size_bytes != null
                    ? `${m.size_partial ? "≥ " : ""}${formatBytes(m.size_bytes)}`
                    : m.measuring
                      ? ""
                      : "—"}
                  {m.measuring && (
                    <Loader2Icon
                      className="ml-1 inline size-3 animate-spin"
                      aria-label="Measuring"
                    />
                  )}
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      </div>
    </section>
  );
}
