"use client";

import { BellIcon, PlugIcon, SaveIcon } from "lucide-react";
import Link from "next/link";
import { useState } from "react";

import { ErrorState } from "@/components/app/error-state";
import { useToast } from "@/components/app/toaster";
import { Button } from "@/components/ui/button";
import { Checkbox } from "@/components/ui/checkbox";
import { SimpleSelect } from "@/components/ui/select";
import { SettingsCard } from "@/components/ui/settings-card";
import { Label } from "@/components/ui/label";
import { Skeleton } from "@/components/ui/skeleton";
import { keys, useApiQuery } from "@/lib/query";
import { api, toApiError } from "@/lib/api";
import type { PluginView, ServicePlugins } from "@/lib/plugins";

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
          <Checkbox
            checked={value.includes(p.id)}
            onCheckedChange={(on) =>
              onChange(on === true ? [...value, p.id] : value.filter((x) => x !== p.id))
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
  // One cached list for every card that shows plugins.
  const plugins = useApiQuery(keys.plugins, () => api.listPlugins());
  const bound = useApiQuery(keys.servicePlugins(service), () => api.getServicePlugins(service));
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
    <SettingsCard
      icon={PlugIcon}
      title="Plugins"
      description={
        <>
          How this service decides on updates, judges health after one, and who hears about it.
          Manage plugins on the{" "}
          <Link href="/plugins/" className="underline">
            Plugins
          </Link>{" "}
          page.
        </>
      }
      contentClassName="grid gap-4 sm:grid-cols-3"
    >
      <div className="grid content-start gap-1.5">
        <Label htmlFor="bind-strategy">Update strategy</Label>
        <SimpleSelect
          id="bind-strategy"
          value={v.strategy ?? ""}
          onValueChange={(s) => setDraft({ ...v, strategy: s || null })}
          options={[
            { value: "", label: "Built-in: new digest for the same tag" },
            ...ofKind(list, "update-strategy").map((p) => ({
              value: p.id,
              label: p.manifest?.name ?? p.id,
            })),
          ]}
        />
      </div>
      <Checks
        legend="Health checks"
        options={ofKind(list, "health-check")}
        value={v.health_checks ?? []}
        onChange={(health_checks) => setDraft({ ...v, health_checks })}
      />
      <Checks
        legend="Notifiers"
        options={ofKind(list, "notifier")}
        value={v.notifiers ?? []}
        onChange={(notifiers) => setDraft({ ...v, notifiers })}
      />
      <div className="sm:col-span-3">
        <Button onClick={() => void save()} disabled={saving || !draft}>
          <SaveIcon /> Save bindings
        </Button>
      </div>
    </SettingsCard>
  );
}

/** The notifiers told about every service (Settings). */
export function GlobalNotifiersCard() {
  const toast = useToast();
  // One cached list for every card that shows plugins.
  const plugins = useApiQuery(keys.plugins, () => api.listPlugins());
  const current = useApiQuery(keys.notifiers, () => api.getGlobalNotifiers());
  const [draft, setDraft] = useState<string[] | null>(null);
  const err = plugins.error ?? current.error;
  return (
    <SettingsCard
      icon={BellIcon}
      title="Global notifiers"
      description="Notifier plugins told about every service's updates and failures."
      contentClassName="gap-3"
    >
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
    </SettingsCard>
  );
}
