"use client";

import { LockIcon } from "lucide-react";

import { Badge } from "@/components/ui/badge";
import { Skeleton } from "@/components/ui/skeleton";
import { api } from "@/lib/api";
import type { EnvVarView } from "@/lib/api";
import { envSourceText } from "@/lib/environment";
import { keys, useApiQuery } from "@/lib/query";

export const VARIANT: Record<EnvVarView["source"], "secondary" | "outline" | "default"> = {
  member: "secondary",
  env_file: "outline",
  dotenv: "outline",
  global: "default",
  standard: "outline",
};

/**
 * A managed service's effective environment, per member, with where each value comes from
 * (`GET …/environment`, resolved as a deploy now would; sealed and secret values masked). A
 * failure is a small note: the rest of the page doesn't depend on it.
 */
export function EnvironmentPanel({ service }: { service: string }) {
  const env = useApiQuery(keys.environment(service), (signal) =>
    api.serviceEnvironment(service, signal),
  );
  if (env.error && !env.data)
    return (
      <p className="text-sm text-muted-foreground" role="status">
        Couldn&apos;t show the environment: {env.error.friendly}{" "}
        <button type="button" className="underline" onClick={env.reload}>
          Retry
        </button>
      </p>
    );
  if (!env.data) return <Skeleton className="h-32 w-full" />;
  if (!env.data.members.length)
    return <p className="text-sm text-muted-foreground">This service has no members.</p>;
  return (
    <div className="flex flex-col gap-4">
      {env.data.members.map((m) => (
        <section
          key={m.member}
          className="flex flex-col gap-2"
          aria-label={`Environment of ${m.member}`}
        >
          <h3 className="font-mono text-sm font-medium">{m.member}</h3>
          {m.variables.length === 0 ? (
            <p className="text-sm text-muted-foreground">No environment variables.</p>
          ) : (
            <div className="overflow-x-auto rounded-lg border">
              <table className="w-full text-sm">
                <caption className="sr-only">Environment of {m.member}</caption>
                <thead className="bg-muted/40 text-left text-xs text-muted-foreground">
                  <tr>
                    <th className="px-3 py-2 font-medium">Name</th>
                    <th className="px-3 py-2 font-medium">Value</th>
                    <th className="px-3 py-2 font-medium">Source</th>
                  </tr>
                </thead>
                <tbody>
                  {m.variables.map((v) => (
                    <tr key={v.name} className="border-t align-top" data-env={v.name}>
                      <td className="px-3 py-2 font-mono text-xs font-medium">{v.name}</td>
                      <td className="px-3 py-2 font-mono text-xs break-all">
                        {v.masked ? (
                          <span className="inline-flex items-center gap-1 text-muted-foreground">
                            <LockIcon className="size-3" aria-label="masked" /> {v.value}
                          </span>
                        ) : (
                          v.value
                        )}
                      </td>
                      <td className="px-3 py-2">
                        <Badge variant={VARIANT[v.source] ?? "outline"} className="font-mono">
                          {envSourceText(v)}
                        </Badge>
                      </td>
                    </tr>
                  ))}
                </tbody>
              </table>
            </div>
          )}
        </section>
      ))}
    </div>
  );
}
