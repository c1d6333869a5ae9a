"use client";

import { HistoryIcon } from "lucide-react";
import { useMemo, useState } from "react";
import { stringify } from "yaml";

import { EmptyState, ErrorState } from "@/components/app/error-state";
import { SimpleSelect } from "@/components/ui/select";
import { Label } from "@/components/ui/label";
import { Skeleton } from "@/components/ui/skeleton";
import { keys, useApiQuery } from "@/lib/query";
import { api } from "@/lib/api";
import { diffLines } from "@/lib/diff";
import { cn, timeAgo } from "@/lib/utils";

/** The revisions of a definition, two of them compared as a YAML line diff. */
export function Revisions({
  service,
  current,
}: {
  service: string;
  current: number | null | undefined;
}) {
  // `current` is in the key: a new revision appears in the list at once.
  const revs = useApiQuery([...keys.revisions(service), current ?? null], () =>
    api.revisions(service),
  );
  const list = useMemo(() => revs.data ?? [], [revs.data]);
  const [a, setA] = useState<number | null>(null);
  const [b, setB] = useState<number | null>(null);
  const newer = b ?? list[0]?.revision ?? null;
  const older = a ?? list[1]?.revision ?? list[0]?.revision ?? null;

  const diff = useMemo(() => {
    const x = list.find((r) => r.revision === older);
    const y = list.find((r) => r.revision === newer);
    if (!x || !y) return [];
    return diffLines(stringify(x.definition), stringify(y.definition));
  }, [list, older, newer]);

  if (revs.error)
    return <ErrorState error={revs.error} onRetry={revs.reload} title="Couldn't load revisions" />;
  if (!revs.data) return <Skeleton className="h-48 w-full" />;
  if (!list.length) return <EmptyState icon={HistoryIcon} title="No revisions" />;

  const options = list.map((r) => ({
    value: String(r.revision),
    label: `#${r.revision} · ${r.created_by} · ${timeAgo(r.created_at)}`,
  }));
  return (
    <div className="flex flex-col gap-3">
      <ol className="flex flex-col divide-y rounded-lg border text-sm">
        {list.map((r) => (
          <li key={r.revision} className="flex flex-wrap items-center gap-2 px-3 py-2">
            <span className="font-mono font-medium">#{r.revision}</span>
            {r.revision === current && <span className="text-xs text-success">current</span>}
            <span className="text-muted-foreground">by {r.created_by}</span>
            <span className="flex-1" />
            <time
              dateTime={r.created_at}
              title={r.created_at}
              className="text-xs text-muted-foreground"
            >
              {timeAgo(r.created_at)}
            </time>
          </li>
        ))}
      </ol>
      {list.length > 1 && (
        <>
          <div className="flex flex-wrap items-end gap-3">
            <div className="grid gap-1">
              <Label htmlFor="rev-a" className="text-xs text-muted-foreground">
                Compare
              </Label>
              <SimpleSelect
                id="rev-a"
                value={older === null ? "" : String(older)}
                onValueChange={(v) => setA(Number(v))}
                className="h-8 min-w-56"
                options={options}
              />
            </div>
            <div className="grid gap-1">
              <Label htmlFor="rev-b" className="text-xs text-muted-foreground">
                with
              </Label>
              <SimpleSelect
                id="rev-b"
                value={newer === null ? "" : String(newer)}
                onValueChange={(v) => setB(Number(v))}
                className="h-8 min-w-56"
                options={options}
              />
            </div>
          </div>
          <pre
            className="max-h-[50vh] overflow-auto rounded-lg border font-mono text-xs leading-relaxed"
            aria-label="Differences"
          >
            {diff.map((l, i) => (
              <div
                key={i}
                className={cn(
                  "px-3 whitespace-pre-wrap",
                  l.kind === "add" && "bg-success/15",
                  l.kind === "del" && "bg-destructive/10",
                )}
              >
                <span className="text-muted-foreground select-none" aria-hidden>
                  {l.kind === "add" ? "+ " : l.kind === "del" ? "- " : "  "}
                </span>
                <span className="sr-only">
                  {l.kind === "add" ? "added: " : l.kind === "del" ? "removed: " : ""}
                </span>
                {l.text}
              </div>
            ))}
          </pre>
        </>
      )}
    </div>
  );
}
