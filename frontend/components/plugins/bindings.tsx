"use client";

import { PlugIcon, SaveIcon } from "lucide-react";
import Link from "next/link";
import { useState } from "react";

import { ErrorState } from "@/components/app/error-state";
import { useToast } from "@/components/app/toaster";
import { Button } from "@/components/ui/button";
import { Card, CardContent, CardDescription, CardHeader, CardTitle } from "@/components/ui/card";
import { NativeSelect } from "@/components/ui/input";
import { Label } from "@/components/ui/label";
import { Skeleton } from "@/components/ui/skeleton";
import { useAsync } from "@/hooks/use-async";
import { api, toApiError } from "@/lib/api";
import type { PluginView, ServicePlugins } from "@/lib/plugin-schemas";

const ofKind = (list: PluginView[], kind: string) =>
  list.filter((p) => p.manifest?.kinds.includes(kind));

function Checks({
  legend,
  options,
  value,
  onChange,
}: {
  legend: string;
  options: PluginView[];
  value: string[];
  onChange: (v: string[]) => void;
}) {
  return (
    <fieldset className="grid content-start gap-1.5">
      <legend className="mb-1 text-sm font-medium">{legend}</legend>
      {options.length === 0 && <p className="text-xs text-muted-foreground">None installed.</p>}
      {options.map((p) => (
        <label key={p.id} className="flex items-center gap-2 text-sm">
          <input
            type="checkbox"
            className="size-4"
            checked={value.includes(p.id)}
            onChange={(e) =>
              onChange(e.target.checked ? [...value, p.id] : value.filter((x) => x !== p.id))
            }
          />
          {p.manifest?.name ?? p.id}
          {!p.enabled && <span className="text-xs text-muted-foreground">(disabled)</span>}
        </label>
      ))}
    </fieldset>
  );
}

/** Which plugins a service uses: its update strategy, health checks and notifiers. */
export function PluginBindings({ service }: { service: string }) {
  const toast = useToast();
  const plugins = useAsync(() => api.listPlugins(), []);
  const bound = useAsync(() => api.getServicePlugins(service), [service]);
  const [draft, setDraft] = useState<ServicePlugins | null>(null);
  const [saving, setSaving] = useState(false);
  const err = plugins.error ?? bound.error;
  if (err && (!plugins.data || !bound.data))
    return (
      <ErrorState
        error={err}
        onRetry={() => (plugins.reload(), bound.reload())}
        title="Couldn't load plugin bindings"
      />
    );
  if (!plugins.data || !bound.data) return <Skeleton className="h-40 w-full" />;
  const v = draft ?? bound.data;
  const list = plugins.data.plugins;
  const save = async () => {
    setSaving(true);
    try {
      bound.setData(await api.putServicePlugins(service, v));
      setDraft(null);
      toast("success", "Plugin bindings saved.");
    } catch (e) {
      toast("error", toApiError(e).friendly);
    } finally {
      setSaving(false);
    }
  };
  return (
    <Card>
      <CardHeader className="flex-col">
        <CardTitle className="flex items-center gap-2">
          <PlugIcon className="size-4" /> Plugins
        </CardTitle>
        <CardDescription>
          How this service decides on updates, judges health after one, and who hears about it.
          Manage plugins on the{" "}
          <Link href="/plugins/" className="underline">
            Plugins
          </Link>{" "}
          page.
        </CardDescription>
      </CardHeader>
      <CardContent className="grid gap-4 sm:grid-cols-3">
        <div className="grid content-start gap-1.5">
          <Label htmlFor="bind-strategy">Update strategy</Label>
          <NativeSelect
            id="bind-strategy"
            value={v.strategy ?? ""}
            onChange={(e) => setDraft({ ...v, strategy: e.target.value || null })}
          >
            <option value="">Built-in: new digest for the same tag</option>
            {ofKind(list, "update-strategy").map((p) => (
              <option key={p.id} value={p.id}>
                {p.manifest?.name ?? p.id}
              </option>
            ))}
          </NativeSelect>
        </div>
        <Checks
          legend="Health checks"
          options={ofKind(list, "health-check")}
          value={v.health_checks}
          onChange={(health_checks) => setDraft({ ...v, health_checks })}
        />
        <Checks
          legend="Notifiers"
          options={ofKind(list, "notifier")}
          value={v.notifiers}
          onChange={(notifiers) => setDraft({ ...v, notifiers })}
        />
        <div className="sm:col-span-3">
          <Button onClick={() => void save()} disabled={saving || !draft}>
            <SaveIcon /> Save bindings
          </Button>
        </div>
      </CardContent>
    </Card>
  );
}

/** The notifiers told about every service (Settings). */
export function GlobalNotifiersCard() {
  const toast = useToast();
  const plugins = useAsync(() => api.listPlugins(), []);
  const current = useAsync(() => api.getGlobalNotifiers(), []);
  const [draft, setDraft] = useState<string[] | null>(null);
  const err = plugins.error ?? current.error;
  return (
    <Card>
      <CardHeader className="flex-col">
        <CardTitle>Global notifiers</CardTitle>
        <CardDescription>
          Notifier plugins told about every service&apos;s updates and failures.
        </CardDescription>
      </CardHeader>
      <CardContent className="flex flex-col gap-3">
        {err && (!plugins.data || !current.data) ? (
          <ErrorState error={err} onRetry={() => (plugins.reload(), current.reload())} />
        ) : !plugins.data || !current.data ? (
          <Skeleton className="h-16 w-full" />
        ) : (
          <>
            <Checks
              legend="Notify with"
              options={ofKind(plugins.data.plugins, "notifier")}
              value={draft ?? current.data.notifiers}
              onChange={setDraft}
            />
            <div>
              <Button
                disabled={!draft}
                onClick={() =>
                  void api
                    .putGlobalNotifiers(draft ?? [])
                    .then((r) => {
                      current.setData(r);
                      setDraft(null);
                      toast("success", "Global notifiers saved.");
                    })
                    .catch((e: unknown) => toast("error", toApiError(e).friendly))
                }
              >
                <SaveIcon /> Save
              </Button>
            </div>
          </>
        )}
      </CardContent>
    </Card>
  );
}
