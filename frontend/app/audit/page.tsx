"use client";

import { FileDownIcon, Loader2Icon, ScrollTextIcon } from "lucide-react";
import { useCallback, useEffect, useRef, useState } from "react";

import { EmptyState, ErrorState } from "@/components/app/error-state";
import { useToast } from "@/components/app/toaster";
import { Badge } from "@/components/ui/badge";
import { Button } from "@/components/ui/button";
import { Input } from "@/components/ui/input";
import { Label } from "@/components/ui/label";
import { Skeleton } from "@/components/ui/skeleton";
import { Hint } from "@/components/ui/tooltip";
import { api, downloadAuthed, toApiError, type ApiError, type AuditQuery } from "@/lib/api";
import { subscribe } from "@/lib/events";
import type { AuditEntry } from "@/lib/api";

const PAGE = 50;

interface Filters {
  actor: string;
  action: string;
  target: string;
}

function matches(e: AuditEntry, f: Filters): boolean {
  if (f.actor && e.actor !== f.actor) return false;
  if (f.target && e.target !== f.target) return false;
  if (f.action) {
    if (
      f.action.endsWith("*") ? !e.action.startsWith(f.action.slice(0, -1)) : e.action !== f.action
    )
      return false;
  }
  return true;
}

export default function AuditPage() {
  const toast = useToast();
  const [draft, setDraft] = useState<Filters>({ actor: "", action: "", target: "" });
  // The page being asked for; every change (filters, next page, retry) bumps `seq`.
  const [req, setReq] = useState<{ filters: Filters; before: number | null; seq: number }>({
    filters: draft,
    before: null,
    seq: 0,
  });
  const filters = req.filters;
  const [entries, setEntries] = useState<AuditEntry[]>([]);
  const [next, setNext] = useState<number | null | undefined>(undefined);
  const [done, setDone] = useState(-1);
  const [error, setError] = useState<ApiError | null>(null);
  const loading = done !== req.seq;
  const sentinel = useRef<HTMLDivElement>(null);

  useEffect(() => {
    const ctl = new AbortController();
    const q: AuditQuery = { limit: PAGE, before: req.before, ...req.filters };
    api
      .audit(q, ctl.signal)
      .then((page) => {
        setEntries((prev) => (req.before === null ? page.entries : [...prev, ...page.entries]));
        setNext(page.next_before ?? null);
        setError(null);
      })
      .catch((e: unknown) => {
        if (!ctl.signal.aborted) setError(toApiError(e));
      })
      .finally(() => {
        if (!ctl.signal.aborted) setDone(req.seq);
      });
    return () => ctl.abort();
  }, [req]);

  const more = useCallback(() => {
    if (typeof next === "number") setReq((r) => ({ ...r, before: next, seq: r.seq + 1 }));
  }, [next]);
  const retry = () => setReq((r) => ({ ...r, seq: r.seq + 1 }));

  // Infinite scroll: the next page loads when the end of the list comes into view.
  useEffect(() => {
    const el = sentinel.current;
    if (!el || typeof next !== "number" || loading || error) return;
    const io = new IntersectionObserver((items) => {
      if (items.some((i) => i.isIntersecting)) more();
    });
    io.observe(el);
    return () => io.disconnect();
  }, [next, loading, error, more]);

  // New entries appear live at the top.
  useEffect(
    () =>
      subscribe((e) => {
        if (e.type === "audit" && matches(e.entry, filters))
          setEntries((prev) => (prev.some((x) => x.id === e.entry.id) ? prev : [e.entry, ...prev]));
      }),
    [filters],
  );

  const apply = (e: React.FormEvent) => {
    e.preventDefault();
    setEntries([]);
    setNext(undefined);
    setReq((r) => ({
      filters: {
        actor: draft.actor.trim(),
        action: draft.action.trim(),
        target: draft.target.trim(),
      },
      before: null,
      seq: r.seq + 1,
    }));
  };

  const exportCsv = () =>
    void downloadAuthed(api.auditCsvPath(filters), "sdmd-audit.csv").catch((e: unknown) =>
      toast("error", `CSV export: ${toApiError(e).friendly}`),
    );

  return (
    <div className="flex flex-col gap-4">
      <div className="flex flex-wrap items-center gap-3">
        <h1 className="text-2xl font-semibold tracking-tight">Audit log</h1>
        <div className="flex-1" />
        <Button variant="outline" onClick={exportCsv}>
          <FileDownIcon /> Export CSV
        </Button>
      </div>
      <form onSubmit={apply} className="flex flex-wrap items-end gap-3" aria-label="Filters">
        <div className="grid gap-1">
          <Label htmlFor="f-actor" className="text-xs text-muted-foreground">
            Actor
          </Label>
          <Input
            id="f-actor"
            value={draft.actor}
            onChange={(e) => setDraft({ ...draft, actor: e.target.value })}
            placeholder="admin@example.com"
          />
        </div>
        <div className="grid gap-1">
          <Label htmlFor="f-action" className="text-xs text-muted-foreground">
            Action
          </Label>
          <Input
            id="f-action"
            value={draft.action}
            onChange={(e) => setDraft({ ...draft, action: e.target.value })}
            placeholder="service.*"
          />
        </div>
        <div className="grid gap-1">
          <Label htmlFor="f-target" className="text-xs text-muted-foreground">
            Target
          </Label>
          <Input
            id="f-target"
            value={draft.target}
            onChange={(e) => setDraft({ ...draft, target: e.target.value })}
            placeholder="service name"
          />
        </div>
        <Button type="submit" variant="secondary">
          Apply
        </Button>
      </form>
      {next === undefined && loading && (
        <div className="flex flex-col gap-2" aria-busy aria-label="Loading audit log">
          {Array.from({ length: 8 }, (_, i) => (
            <Skeleton key={i} className="h-10 w-full" />
          ))}
        </div>
      )}
      {entries.length === 0 && next !== undefined && !error && (
        <EmptyState icon={ScrollTextIcon} title="No audit entries">
          Actions on services, tokens and settings are recorded here.
        </EmptyState>
      )}
      {entries.length > 0 && (
        <div className="overflow-x-auto rounded-lg border">
          <table className="w-full text-sm">
            <caption className="sr-only">Audit entries, newest first</caption>
            <thead className="bg-muted/40 text-left text-xs text-muted-foreground">
              <tr>
                <th className="px-3 py-2 font-medium">When</th>
                <th className="px-3 py-2 font-medium">Actor</th>
                <th className="px-3 py-2 font-medium">Action</th>
                <th className="px-3 py-2 font-medium">Target</th>
                <th className="px-3 py-2 font-medium">Result</th>
              </tr>
            </thead>
            <tbody>
              {entries.map((e) => (
                <tr key={e.id} className="border-t" data-action={e.action}>
                  <td className="px-3 py-2 whitespace-nowrap">
                    <Hint content={e.at}>
                      <time dateTime={e.at} tabIndex={0}>
                        {new Date(e.at).toLocaleString()}
                      </time>
                    </Hint>
                  </td>
                  <td className="px-3 py-2">{e.actor}</td>
                  <td className="px-3 py-2 font-mono text-xs">{e.action}</td>
                  <td className="px-3 py-2">{e.target ?? "—"}</td>
                  <td className="px-3 py-2">
                    <Badge variant={e.result === "ok" ? "success" : "destructive"}>
                      {e.result}
                    </Badge>
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
      {error && <ErrorState error={error} onRetry={retry} title="Couldn't load the audit log" />}
      <div ref={sentinel} className="h-1" />
      {next !== null && next !== undefined && !error && (
        <div className="flex justify-center">
          <Button variant="ghost" onClick={more} disabled={loading}>
            {loading && <Loader2Icon className="animate-spin" />} Load more
          </Button>
        </div>
      )}
    </div>
  );
}
