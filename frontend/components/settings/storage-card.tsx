"use client";

import { FolderTreeIcon, Loader2Icon, PlusIcon, SaveIcon, Trash2Icon } from "lucide-react";
import { useState } from "react";

import { ErrorState } from "@/components/app/error-state";
import { useToast } from "@/components/app/toaster";
import { Alert, AlertDescription, AlertTitle } from "@/components/ui/alert";
import { Badge } from "@/components/ui/badge";
import { Button } from "@/components/ui/button";
import { Input } from "@/components/ui/input";
import { SettingsCard } from "@/components/ui/settings-card";
import { Skeleton } from "@/components/ui/skeleton";
import { api, toApiError, type ApiError } from "@/lib/api";
import { invalidate, keys, useApiQuery } from "@/lib/query";
import { rootProblems, rootsBody, type RootRow } from "@/lib/storage";

/**
 * Settings → Storage: the data root (each service's `${APPDATA}` is a folder in it) and the
 * shared roots — folders several apps use, named once (`MEDIA` → `/srv/media`) and written in
 * definitions as `${MEDIA}`. The mount picker browses only these.
 */
export function StorageCard() {
  const toast = useToast();
  const roots = useApiQuery(keys.roots, () => api.getRoots());
  const [edited, setEdited] = useState<RootRow[] | null>(null);
  const [error, setError] = useState<ApiError | null>(null);
  const [busy, setBusy] = useState(false);

  const stored = roots.data?.roots ?? [];
  const rows: RootRow[] = edited ?? stored.map((r) => ({ name: r.name, path: r.path }));
  const problems = error ? rootProblems(error.problems, rows) : { byRow: {}, general: [] };
  const change = (i: number, row: Partial<RootRow>) =>
    setEdited(rows.map((r, j) => (j === i ? { ...r, ...row } : r)));
  const existsOf = (name: string) => stored.find((r) => r.name === name)?.exists;

  const save = async (e: React.FormEvent) => {
    e.preventDefault();
    setError(null);
    setBusy(true);
    try {
      const r = await api.putRoots(rootsBody(rows));
      roots.setData(r);
      setEdited(null);
      void invalidate(keys.variables);
      toast("success", "Shared roots saved.");
    } catch (err) {
      setError(toApiError(err));
    } finally {
      setBusy(false);
    }
  };

  return (
    <SettingsCard
      icon={FolderTreeIcon}
      title="Storage"
      description="Where app data lives: the data root holds one folder per service (${APPDATA}); shared roots are folders several apps use, written as ${NAME} in definitions."
    >
      {roots.error && !roots.data && (
        <ErrorState error={roots.error} onRetry={roots.reload} title="Couldn't load storage" />
      )}
      {!roots.data && !roots.error && <Skeleton className="h-12 w-full" />}
      {roots.data && (
        <form onSubmit={save} className="flex flex-col gap-3" aria-label="Shared roots">
          <p className="text-sm">
            Data root: <code className="font-mono">{roots.data.appdata}</code>
          </p>
          {error && (
            <Alert variant={error.transient ? "warning" : "destructive"}>
              <AlertTitle>
                {error.code === "validation_failed" ? "Some roots have problems" : "Couldn't save"}
              </AlertTitle>
              <AlertDescription>
                <p>
                  {error.code === "validation_failed"
                    ? "Fix the highlighted rows."
                    : error.friendly}
                </p>
                {problems.general.length > 0 && (
                  <ul className="mt-1 list-disc pl-5 font-mono text-xs">
                    {problems.general.map((t, i) => (
                      <li key={i}>{t}</li>
                    ))}
                  </ul>
                )}
              </AlertDescription>
            </Alert>
          )}
          {rows.length === 0 && (
            <p className="text-sm text-muted-foreground">
              No shared roots yet. Add MEDIA or DOWNLOADS to use ${"{MEDIA}"} in definitions and
              templates.
            </p>
          )}
          {rows.length > 0 && (
            <ol className="flex flex-col gap-2" aria-label="Shared root list">
              {rows.map((r, i) => {
                const errors = problems.byRow[i] ?? [];
                const exists = existsOf(r.name);
                return (
                  <li key={i} className="flex flex-col gap-1">
                    <div className="flex flex-wrap items-center gap-2">
                      <Input
                        value={r.name}
                        onChange={(e) => change(i, { name: e.target.value })}
                        placeholder="MEDIA"
                        aria-label={`Root name ${i + 1}`}
                        aria-invalid={errors.length ? true : undefined}
                        className="w-40 font-mono"
                      />
                      <Input
                        value={r.path}
                        onChange={(e) => change(i, { path: e.target.value })}
                        placeholder="/srv/media"
                        aria-label={`Root path ${i + 1}`}
                        aria-invalid={errors.length ? true : undefined}
                        className="min-w-48 flex-1 font-mono"
                      />
                      {edited === null && exists === false && (
                        <Badge variant="outline" title="Not a directory on the host now">
                          missing
                        </Badge>
                      )}
                      <Button
                        type="button"
                        variant="ghost"
                        size="sm"
                        aria-label={`Remove root ${i + 1}`}
                        onClick={() => setEdited(rows.filter((_, j) => j !== i))}
                      >
                        <Trash2Icon />
                      </Button>
                    </div>
                    {errors.length > 0 && (
                      <ul className="text-xs text-destructive">
                        {errors.map((m, j) => (
                          <li key={j}>{m}</li>
                        ))}
                      </ul>
                    )}
                  </li>
                );
              })}
            </ol>
          )}
          <div className="flex flex-wrap gap-2">
            <Button
              type="button"
              variant="outline"
              onClick={() => setEdited([...rows, { name: "", path: "" }])}
            >
              <PlusIcon /> Add shared root
            </Button>
            <Button type="submit" disabled={busy || edited === null}>
              {busy ? <Loader2Icon className="animate-spin" /> : <SaveIcon />} Save roots
            </Button>
          </div>
        </form>
      )}
    </SettingsCard>
  );
}
