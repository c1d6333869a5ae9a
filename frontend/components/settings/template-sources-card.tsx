"use client";

import { LibraryIcon, Loader2Icon, PlusIcon, SaveIcon, Trash2Icon } from "lucide-react";
import { useState } from "react";

import { ErrorState } from "@/components/app/error-state";
import { useToast } from "@/components/app/toaster";
import { Alert, AlertDescription, AlertTitle } from "@/components/ui/alert";
import { Button } from "@/components/ui/button";
import { Input } from "@/components/ui/input";
import { SettingsCard } from "@/components/ui/settings-card";
import { Skeleton } from "@/components/ui/skeleton";
import { api, toApiError, type ApiError } from "@/lib/api";
import { invalidate, keys, useApiQuery } from "@/lib/query";
import { sourceProblems, sourcesOf } from "@/lib/variables";

/**
 * Settings → Template sources: the catalog URLs (Portainer v2, CasaOS, Yacht) whose templates
 * the Templates page lists after the bundled ones, in order.
 */
export function TemplateSourcesCard() {
  const toast = useToast();
  const sources = useApiQuery(keys.templateSources, () => api.getTemplateSources());
  // null: not edited since the last load or save.
  const [edited, setEdited] = useState<string[] | null>(null);
  const [error, setError] = useState<ApiError | null>(null);
  // Which row each sent URL came from (for the server's `sources[i]` problems).
  const [sent, setSent] = useState<number[]>([]);
  const [busy, setBusy] = useState(false);

  const rows = edited ?? sources.data?.sources ?? [];
  const problems = error ? sourceProblems(error.problems, sent) : { byRow: {}, general: [] };
  const change = (i: number, url: string) => setEdited(rows.map((r, j) => (j === i ? url : r)));

  const save = async (e: React.FormEvent) => {
    e.preventDefault();
    const { sources: urls, rowOf } = sourcesOf(rows);
    setSent(rowOf);
    setError(null);
    setBusy(true);
    try {
      const r = await api.putTemplateSources(urls);
      sources.setData(r);
      setEdited(null);
      void invalidate(keys.templates);
      toast("success", "Template sources saved.");
    } catch (err) {
      setError(toApiError(err));
    } finally {
      setBusy(false);
    }
  };

  return (
    <SettingsCard
      icon={LibraryIcon}
      title="Template sources"
      description="Catalog URLs (Portainer v2, CasaOS or Yacht) whose templates are listed after the bundled ones, in this order."
    >
      {sources.error && !sources.data && (
        <ErrorState
          error={sources.error}
          onRetry={sources.reload}
          title="Couldn't load template sources"
        />
      )}
      {!sources.data && !sources.error && <Skeleton className="h-12 w-full" />}
      {sources.data && (
        <form onSubmit={save} className="flex flex-col gap-3" aria-label="Template sources">
          {error && (
            <Alert variant={error.transient ? "warning" : "destructive"}>
              <AlertTitle>
                {error.code === "validation_failed" ? "Some URLs have problems" : "Couldn't save"}
              </AlertTitle>
              <AlertDescription>
                <p>
                  {error.code === "validation_failed"
                    ? "Fix the highlighted URLs."
                    : error.friendly}
                </p>
                {problems.general.length > 0 && (
                  <ul className="mt-1 list-disc pl-5 font-mono text-xs" data-testid="problems">
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
              No sources: only the bundled templates are listed.
            </p>
          )}
          {rows.length > 0 && (
            <ol className="flex flex-col gap-2" aria-label="Catalog URLs">
              {rows.map((url, i) => {
                const errors = problems.byRow[i] ?? [];
                const errId = `source-${i}-errors`;
                return (
                  <li key={i} className="flex flex-col gap-1">
                    <div className="flex items-center gap-2">
                      <Input
                        type="url"
                        value={url}
                        onChange={(e) => change(i, e.target.value)}
                        placeholder="https://example.com/templates.json"
                        aria-label={`Source URL ${i + 1}`}
                        aria-invalid={errors.length ? true : undefined}
                        aria-describedby={errors.length ? errId : undefined}
                        className="flex-1 font-mono"
                      />
                      <Button
                        type="button"
                        variant="ghost"
                        size="sm"
                        aria-label={`Remove source ${i + 1}`}
                        onClick={() => setEdited(rows.filter((_, j) => j !== i))}
                      >
                        <Trash2Icon />
                      </Button>
                    </div>
                    {errors.length > 0 && (
                      <ul id={errId} className="text-xs text-destructive">
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
            <Button type="button" variant="outline" onClick={() => setEdited([...rows, ""])}>
              <PlusIcon /> Add source
            </Button>
            <Button type="submit" disabled={busy || edited === null}>
              {busy ? <Loader2Icon className="animate-spin" /> : <SaveIcon />} Save sources
            </Button>
          </div>
        </form>
      )}
    </SettingsCard>
  );
}
