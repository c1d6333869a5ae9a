"use client";

import { Loader2Icon, PlusIcon, SaveIcon, Trash2Icon, VariableIcon } from "lucide-react";
import { useMemo, useState } from "react";

import { ErrorState } from "@/components/app/error-state";
import { useToast } from "@/components/app/toaster";
import { Alert, AlertDescription, AlertTitle } from "@/components/ui/alert";
import { Badge } from "@/components/ui/badge";
import { Button } from "@/components/ui/button";
import { Checkbox } from "@/components/ui/checkbox";
import { Input } from "@/components/ui/input";
import { Label } from "@/components/ui/label";
import { SettingsCard } from "@/components/ui/settings-card";
import { Skeleton } from "@/components/ui/skeleton";
import { api, toApiError, type ApiError } from "@/lib/api";
import { keys, useApiQuery } from "@/lib/query";
import {
  bodyOf,
  editRow,
  fixedOf,
  problemsByName,
  rowKey,
  rowsOf,
  type VariableRow,
} from "@/lib/variables";

/**
 * Settings → Variables: the stored variables every definition can use as `${NAME}` (editable,
 * secrets sealed and never shown), then the standard defaults and the `SDMD_VARIABLES` file's
 * (read-only; a stored variable of the same name overrides one). Save sends the whole set.
 */
export function VariablesCard() {
  const toast = useToast();
  const vars = useApiQuery(keys.variables, () => api.listVariables());
  // null: not edited since the last load or save (the rows are the stored ones).
  const [edited, setEdited] = useState<VariableRow[] | null>(null);
  const [local, setLocal] = useState<Record<string, string[]>>({});
  const [error, setError] = useState<ApiError | null>(null);
  const [busy, setBusy] = useState(false);

  // The stored rows, with keys that stay stable until the data changes.
  const base = useMemo(() => (vars.data ? rowsOf(vars.data.variables) : []), [vars.data]);
  const rows = edited ?? base;
  const fixed = vars.data ? fixedOf(vars.data.variables) : [];
  const server = error ? problemsByName(error.problems) : { byName: {}, general: [] };

  const change = (key: string, patch: Partial<Omit<VariableRow, "key">>) =>
    setEdited(rows.map((r) => (r.key === key ? editRow(r, patch) : r)));
  const add = (name = "", value = "") =>
    setEdited([...rows, { key: rowKey(), name, value, secret: false, kept: false }]);
  const remove = (key: string) => setEdited(rows.filter((r) => r.key !== key));

  const save = async (e: React.FormEvent) => {
    e.preventDefault();
    const body = bodyOf(rows);
    if ("errors" in body) {
      setLocal(body.errors);
      setError(null);
      return;
    }
    setLocal({});
    setError(null);
    setBusy(true);
    try {
      const v = await api.putVariables(body.variables);
      vars.setData(v);
      setEdited(null);
      toast("success", "Variables saved.");
    } catch (err) {
      setError(toApiError(err));
    } finally {
      setBusy(false);
    }
  };

  return (
    <SettingsCard
      icon={VariableIcon}
      title="Variables"
      description={
        <>
          Values every definition can use as <code>${"{NAME}"}</code>, after a service&apos;s own{" "}
          <code>.env</code>. Secrets are stored encrypted and never shown again.
        </>
      }
    >
      {vars.error && !vars.data && (
        <ErrorState error={vars.error} onRetry={vars.reload} title="Couldn't load variables" />
      )}
      {!vars.data && !vars.error && <Skeleton className="h-24 w-full" />}
      {vars.data && (
        <form onSubmit={save} className="flex flex-col gap-3" aria-label="Variables">
          {error && (
            <Alert variant={error.transient ? "warning" : "destructive"}>
              <AlertTitle>
                {error.code === "validation_failed"
                  ? "Some variables have problems"
                  : "Couldn't save"}
              </AlertTitle>
              <AlertDescription>
                <p>
                  {error.code === "validation_failed"
                    ? "Fix the highlighted variables."
                    : error.friendly}
                </p>
                {server.general.length > 0 && (
                  <ul className="mt-1 list-disc pl-5 font-mono text-xs" data-testid="problems">
                    {server.general.map((t, i) => (
                      <li key={i}>{t}</li>
                    ))}
                  </ul>
                )}
              </AlertDescription>
            </Alert>
          )}
          {rows.length === 0 && (
            <p className="text-sm text-muted-foreground">No stored variables yet.</p>
          )}
          {rows.length > 0 && (
            <ul className="flex flex-col gap-2" aria-label="Stored variables">
              {rows.map((r, i) => {
                const label = r.name.trim() || `new variable ${i + 1}`;
                const errors = [...(local[r.key] ?? []), ...(server.byName[r.name.trim()] ?? [])];
                const errId = `var-${r.key}-errors`;
                return (
                  <li key={r.key} className="flex flex-col gap-1">
                    <div className="flex flex-wrap items-center gap-2">
                      <Input
                        value={r.name}
                        onChange={(e) => change(r.key, { name: e.target.value })}
                        placeholder="NAME"
                        aria-label={`Name of variable ${i + 1}`}
                        aria-invalid={errors.length ? true : undefined}
                        aria-describedby={errors.length ? errId : undefined}
                        className="w-48 font-mono"
                        autoComplete="off"
                      />
                      <Input
                        value={r.value}
                        onChange={(e) => change(r.key, { value: e.target.value })}
                        type={r.secret ? "password" : "text"}
                        placeholder={r.kept ? "•••••• (kept)" : "value"}
                        aria-label={`Value of ${label}`}
                        aria-invalid={errors.length ? true : undefined}
                        aria-describedby={errors.length ? errId : undefined}
                        className="min-w-40 flex-1 font-mono"
                        autoComplete={r.secret ? "new-password" : "off"}
                      />
                      <div className="flex items-center gap-1.5">
                        <Checkbox
                          id={`var-${r.key}-secret`}
                          checked={r.secret}
                          onCheckedChange={(c) => change(r.key, { secret: c === true })}
                          aria-label={`${label} is secret`}
                        />
                        <Label htmlFor={`var-${r.key}-secret`} className="text-sm font-normal">
                          Secret
                        </Label>
                      </div>
                      <Button
                        type="button"
                        variant="ghost"
                        size="sm"
                        aria-label={`Remove ${label}`}
                        onClick={() => remove(r.key)}
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
            </ul>
          )}
          <div className="flex flex-wrap gap-2">
            <Button type="button" variant="outline" onClick={() => add()}>
              <PlusIcon /> Add variable
            </Button>
            <Button type="submit" disabled={busy || edited === null}>
              {busy ? <Loader2Icon className="animate-spin" /> : <SaveIcon />} Save variables
            </Button>
            {edited !== null && (
              <Button
                type="button"
                variant="ghost"
                onClick={() => {
                  setEdited(null);
                  setLocal({});
                  setError(null);
                }}
              >
                Discard changes
              </Button>
            )}
          </div>
          {fixed.length > 0 && (
            <div className="flex flex-col gap-2">
              <h3 className="text-sm font-medium">Defaults</h3>
              <ul className="divide-y rounded-md border text-sm" aria-label="Default variables">
                {fixed.map((v) => (
                  <li key={v.name} className="flex flex-wrap items-center gap-3 px-3 py-2">
                    <code className="font-medium">{v.name}</code>
                    <code className="text-muted-foreground">
                      {v.secret ? "••••••" : v.value || "(empty)"}
                    </code>
                    <Badge variant="outline">
                      {v.source === "file" ? "variables file" : "default"}
                    </Badge>
                    <span className="flex-1" />
                    {!rows.some((r) => r.name.trim() === v.name) && (
                      <Button
                        type="button"
                        variant="ghost"
                        size="sm"
                        aria-label={`Override ${v.name}`}
                        onClick={() => add(v.name, v.secret ? "" : (v.value ?? ""))}
                      >
                        <PlusIcon /> Override
                      </Button>
                    )}
                  </li>
                ))}
              </ul>
            </div>
          )}
        </form>
      )}
    </SettingsCard>
  );
}
