"use client";

import {
  ArrowLeftIcon,
  BellIcon,
  FlaskConicalIcon,
  Loader2Icon,
  PlugIcon,
  SaveIcon,
  ShieldIcon,
  SlidersIcon,
  Trash2Icon,
} from "lucide-react";
import Link from "next/link";
import { useRouter, useSearchParams } from "next/navigation";
import { Suspense, useState } from "react";

import { EmptyState, ErrorState } from "@/components/app/error-state";
import { useToast } from "@/components/app/toaster";
import { Badge } from "@/components/ui/badge";
import { Button } from "@/components/ui/button";
import { Card, CardContent, CardDescription, CardHeader, CardTitle } from "@/components/ui/card";
import { ConfirmDialog } from "@/components/ui/confirm-dialog";
import { Checkbox } from "@/components/ui/checkbox";
import { Input, Textarea } from "@/components/ui/input";
import { SimpleSelect } from "@/components/ui/select";
import { Label } from "@/components/ui/label";
import { SettingsCard } from "@/components/ui/settings-card";
import { Skeleton } from "@/components/ui/skeleton";
import { keys, useApiQuery } from "@/lib/query";
import { api, toApiError, type ApiError } from "@/lib/api";
import { configFromForm, formFields } from "@/lib/config-schema";
import { IMPLICIT, type InvokeResult, type PluginDetail } from "@/lib/plugins";
import { timeAgo } from "@/lib/utils";

export default function PluginPage() {
  return (
    <Suspense fallback={<Skeleton className="h-64 w-full" />}>
      <PluginDetailView />
    </Suspense>
  );
}

function PluginDetailView() {
  const id = useSearchParams().get("id") ?? "";
  const router = useRouter();
  const toast = useToast();
  const p = useApiQuery(keys.plugin(id), () => api.getPlugin(id), { enabled: id !== "" });
  const [busy, setBusy] = useState(false);

  if (!id) return <EmptyState icon={PlugIcon} title="No plugin selected" />;
  if (p.error && !p.data) {
    if (p.error.code === "plugin_not_found")
      return <EmptyState icon={PlugIcon} title={`There is no plugin “${id}”`} />;
    return <ErrorState error={p.error} onRetry={p.reload} title="Couldn't load the plugin" />;
  }
  if (!p.data) return <Skeleton className="h-64 w-full" />;
  const d = p.data;

  const patch = async (body: Record<string, unknown>, done: string) => {
    setBusy(true);
    try {
      await api.patchPlugin(id, body);
      toast("success", done);
      p.reload();
      return null;
    } catch (e) {
      const err = toApiError(e);
      toast("error", err.friendly);
      return err;
    } finally {
      setBusy(false);
    }
  };

  return (
    <div className="flex max-w-5xl flex-col gap-5">
      <Link
        href="/plugins/"
        className="inline-flex items-center gap-1 text-sm text-muted-foreground hover:text-foreground"
      >
        <ArrowLeftIcon className="size-4" /> Plugins
      </Link>
      <div className="flex flex-wrap items-center gap-3">
        <h1 className="text-2xl font-semibold tracking-tight">{d.manifest?.name ?? d.id}</h1>
        <span className="font-mono text-sm text-muted-foreground">{d.version}</span>
        <Badge variant={d.enabled ? "success" : "secondary"}>
          {d.enabled ? "enabled" : "disabled"}
        </Badge>
        <div className="flex-1" />
        <Button
          variant={d.enabled ? "outline" : "default"}
          disabled={busy || (!d.enabled && d.missing_grants.length > 0)}
          title={
            !d.enabled && d.missing_grants.length > 0
              ? "Grant every requested capability first"
              : undefined
          }
          onClick={() =>
            void patch({ enabled: !d.enabled }, d.enabled ? "Plugin disabled." : "Plugin enabled.")
          }
        >
          {busy && <Loader2Icon className="animate-spin" />} {d.enabled ? "Disable" : "Enable"}
        </Button>
        <DeletePlugin plugin={d} onDeleted={() => router.push("/plugins/")} />
      </div>
      <p className="text-sm text-muted-foreground">{d.manifest?.description}</p>
      <Card>
        <CardHeader className="flex-col">
          <CardTitle>Manifest</CardTitle>
        </CardHeader>
        <CardContent>
          <dl className="grid grid-cols-[auto_1fr] gap-x-6 gap-y-1 text-sm">
            <dt className="text-muted-foreground">Id</dt>
            <dd className="font-mono">{d.id}</dd>
            <dt className="text-muted-foreground">Kinds</dt>
            <dd>{(d.manifest?.kinds ?? []).join(", ") || "—"}</dd>
            <dt className="text-muted-foreground">WIT</dt>
            <dd className="font-mono">{d.manifest?.wit ?? "—"}</dd>
            <dt className="text-muted-foreground">Size</dt>
            <dd>{(d.size / 1024).toFixed(0)} KiB</dd>
            <dt className="text-muted-foreground">Used by</dt>
            <dd>{d.used_by.length ? d.used_by.join(", ") : "no service"}</dd>
            <dt className="text-muted-foreground">Versions</dt>
            <dd>
              {d.versions
                .map((v) => `${v.version} (${v.uploaded_by}, ${timeAgo(v.uploaded_at)})`)
                .join(" · ") || d.version}
            </dd>
          </dl>
        </CardContent>
      </Card>
      <GrantsCard plugin={d} busy={busy} onSave={(g) => patch({ grants: g }, "Grants saved.")} />
      <ConfigCard plugin={d} busy={busy} onSave={(c) => patch({ config: c }, "Settings saved.")} />
      {d.manifest?.kinds.includes("notifier") && (
        <DeliveryCard
          plugin={d}
          busy={busy}
          onSave={(v) => patch({ delivery: v }, "Delivery options saved.")}
        />
      )}
      <InvokeCard id={id} />
    </div>
  );
}

function GrantsCard({
  plugin,
  busy,
  onSave,
}: {
  plugin: PluginDetail;
  busy: boolean;
  onSave: (g: unknown) => Promise<ApiError | null>;
}) {
  const requested = plugin.manifest?.capabilities ?? [];
  const [caps, setCaps] = useState<string[] | null>(null);
  const [allow, setAllow] = useState<string | null>(null);
  const granted = caps ?? plugin.grants.capabilities;
  const allowText = allow ?? (plugin.grants.http?.allow ?? []).join("\n");
  const dirty = caps !== null || allow !== null;
  return (
    <SettingsCard
      icon={ShieldIcon}
      title="Capabilities"
      description={
        <>
          What the plugin asks for, and what you grant. It can be enabled only when everything it
          asks for is granted.
        </>
      }
    >
      {requested.length === 0 ? (
        <p className="text-sm text-muted-foreground">It asks for no host capability.</p>
      ) : (
        <table className="w-full text-sm">
          <caption className="sr-only">Requested and granted capabilities</caption>
          <thead className="text-left text-xs text-muted-foreground">
            <tr>
              <th className="py-1 font-medium">Requested</th>
              <th className="py-1 font-medium">Granted</th>
            </tr>
          </thead>
          <tbody>
            {requested.map((c) => (
              <tr key={c} className="border-t">
                <td className="py-2 font-mono">{c}</td>
                <td className="py-2">
                  {IMPLICIT.has(c) ? (
                    <span className="text-muted-foreground">always (no grant needed)</span>
                  ) : (
                    <label className="flex items-center gap-2">
                      <Checkbox
                        checked={granted.includes(c)}
                        onCheckedChange={(on) =>
                          setCaps(on === true ? [...granted, c] : granted.filter((x) => x !== c))
                        }
                      />
                      Grant <span className="font-mono">{c}</span>
                      {plugin.missing_grants.includes(c) && (
                        <Badge variant="warning">missing</Badge>
                      )}
                    </label>
                  )}
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
      {requested.includes("http") && (
        <div className="grid gap-1.5">
          <Label htmlFor="http-allow">HTTP allow-list</Label>
          <Textarea
            id="http-allow"
            rows={3}
            className="font-mono text-xs"
            value={allowText}
            onChange={(e) => setAllow(e.target.value)}
            placeholder={"https://ntfy.sh\nhttps://*.example.com"}
          />
          <p className="text-xs text-muted-foreground">
            One scheme://host[:port] per line. Private and loopback addresses are refused unless
            named by IP here.
          </p>
        </div>
      )}
      <div>
        <Button
          disabled={busy || !dirty}
          onClick={() =>
            void onSave({
              capabilities: granted.filter((c) => !IMPLICIT.has(c)),
              http: {
                allow: allowText
                  .split("\n")
                  .map((l) => l.trim())
                  .filter(Boolean),
              },
            }).then((err) => {
              if (!err) {
                setCaps(null);
                setAllow(null);
              }
            })
          }
        >
          <SaveIcon /> Save grants
        </Button>
      </div>
    </SettingsCard>
  );
}

/** Cooldown and batching of a notifier (seconds in the API, minutes/seconds here). */
function DeliveryCard({
  plugin,
  busy,
  onSave,
}: {
  plugin: PluginDetail;
  busy: boolean;
  onSave: (d: { cooldown_seconds: number; batch_seconds: number }) => Promise<ApiError | null>;
}) {
  const [cooldown, setCooldown] = useState<string | null>(null);
  const [batch, setBatch] = useState<string | null>(null);
  const cooldownText = cooldown ?? String(Math.round(plugin.delivery.cooldown_seconds / 60));
  const batchText = batch ?? String(plugin.delivery.batch_seconds);
  const minutes = Number(cooldownText);
  const seconds = Number(batchText);
  const valid =
    Number.isInteger(minutes) &&
    minutes >= 0 &&
    minutes <= 43200 &&
    Number.isInteger(seconds) &&
    seconds >= 0 &&
    seconds <= 3600;
  const dirty = cooldown !== null || batch !== null;
  return (
    <SettingsCard
      icon={BellIcon}
      title="Delivery"
      description={
        <>
          Quiet a chatty notifier: announce a service&apos;s event of one kind at most once per
          cooldown, and collect events for a few seconds to send them as one message.
        </>
      }
    >
      <div className="grid gap-4 sm:grid-cols-2">
        <div className="grid gap-1.5">
          <Label htmlFor="cooldown">Cooldown (minutes, 0 = off)</Label>
          <Input
            id="cooldown"
            inputMode="numeric"
            value={cooldownText}
            onChange={(e) => setCooldown(e.target.value)}
          />
        </div>
        <div className="grid gap-1.5">
          <Label htmlFor="batch">Batch window (seconds, 0 = send at once)</Label>
          <Input
            id="batch"
            inputMode="numeric"
            value={batchText}
            onChange={(e) => setBatch(e.target.value)}
          />
        </div>
      </div>
      {!valid && (
        <p role="alert" className="text-xs text-destructive">
          Cooldown 0–43200 minutes (30 days), batch window 0–3600 seconds, whole numbers.
        </p>
      )}
      <div>
        <Button
          disabled={busy || !dirty || !valid}
          onClick={() =>
            void onSave({ cooldown_seconds: minutes * 60, batch_seconds: seconds }).then((err) => {
              if (!err) {
                setCooldown(null);
                setBatch(null);
              }
            })
          }
        >
          <SaveIcon /> Save delivery options
        </Button>
      </div>
    </SettingsCard>
  );
}

function ConfigCard({
  plugin,
  busy,
  onSave,
}: {
  plugin: PluginDetail;
  busy: boolean;
  onSave: (c: unknown) => Promise<ApiError | null>;
}) {
  const schema = plugin.manifest?.config_schema;
  const fields = formFields(schema);
  const current = (
    plugin.config && typeof plugin.config === "object" ? plugin.config : {}
  ) as Record<string, unknown>;
  const [values, setValues] = useState<Record<string, string | boolean>>(() =>
    Object.fromEntries(
      (fields ?? []).map((f) => [
        f.key,
        f.type === "boolean"
          ? Boolean(current[f.key] ?? f.default)
          : String(current[f.key] ?? f.default ?? ""),
      ]),
    ),
  );
  const [raw, setRaw] = useState(() => JSON.stringify(current, null, 2));
  const [error, setError] = useState<string | null>(null);
  if (!schema && Object.keys(current).length === 0) return null;

  const save = async (e: React.FormEvent) => {
    e.preventDefault();
    setError(null);
    let cfg: unknown;
    if (fields) cfg = configFromForm(fields, values);
    else {
      try {
        cfg = JSON.parse(raw);
      } catch {
        setError("That isn't valid JSON.");
        return;
      }
    }
    const err = await onSave(cfg);
    if (err)
      setError(err.friendly === err.message ? err.message : `${err.friendly} ${err.message}`);
  };

  return (
    <SettingsCard
      icon={SlidersIcon}
      title="Settings"
      description={
        <>Generated from the plugin&apos;s settings schema; checked by the server on save.</>
      }
      contentClassName="block"
    >
      <form onSubmit={save} className="grid gap-4 sm:grid-cols-2">
        {fields ? (
          fields.map((f) => {
            const fid = `cfg-${f.key}`;
            return (
              <div key={f.key} className="grid content-start gap-1.5">
                {f.type === "boolean" ? (
                  <div className="flex items-center gap-2">
                    <Checkbox
                      id={fid}
                      checked={Boolean(values[f.key])}
                      onCheckedChange={(on) => setValues({ ...values, [f.key]: on === true })}
                    />
                    <Label htmlFor={fid}>{f.title}</Label>
                  </div>
                ) : (
                  <>
                    <Label htmlFor={fid}>
                      {f.title}
                      {f.required && <span aria-hidden> *</span>}
                    </Label>
                    {f.type === "enum" ? (
                      <SimpleSelect
                        id={fid}
                        value={String(values[f.key] ?? "")}
                        onValueChange={(v) => setValues({ ...values, [f.key]: v })}
                        placeholder="Choose…"
                        options={[
                          ...(f.required ? [] : [{ value: "", label: "(none)" }]),
                          ...f.options!.map((o) => ({ value: o, label: o })),
                        ]}
                      />
                    ) : (
                      <Input
                        id={fid}
                        type={
                          f.type === "secret" ? "password" : f.type === "string" ? "text" : "number"
                        }
                        step={f.type === "integer" ? 1 : "any"}
                        required={f.required}
                        autoComplete="off"
                        value={String(values[f.key] ?? "")}
                        onChange={(e) => setValues({ ...values, [f.key]: e.target.value })}
                      />
                    )}
                  </>
                )}
                {f.description && <p className="text-xs text-muted-foreground">{f.description}</p>}
              </div>
            );
          })
        ) : (
          <div className="grid gap-1.5 sm:col-span-2">
            <Label htmlFor="cfg-json">Settings (JSON)</Label>
            <Textarea
              id="cfg-json"
              rows={8}
              className="font-mono text-xs"
              value={raw}
              onChange={(e) => setRaw(e.target.value)}
            />
          </div>
        )}
        {error && (
          <p role="alert" className="text-sm text-destructive sm:col-span-2">
            {error}
          </p>
        )}
        <div className="sm:col-span-2">
          <Button type="submit" disabled={busy}>
            <SaveIcon /> Save settings
          </Button>
        </div>
      </form>
    </SettingsCard>
  );
}

// Inputs in the host's version-independent shapes (host/src/plugins/types.rs).
const SVC = { name: "whoami", revision: 1, labels: {} };
const SAMPLES: Record<string, unknown> = {
  "update-strategy": {
    service: SVC,
    member: "web",
    current: {
      reference: "registry.example.com/app:1.2.3",
      repository: "registry.example.com/app",
      tag: "1.2.3",
    },
    candidates: [{ tag: "1.3.0" }],
  },
  "health-check": {
    service: SVC,
    containers: [
      {
        name: "whoami-web",
        member: "web",
        image: "registry.example.com/app:1.2.3",
        state: "running",
        health: null,
        restart_count: 0,
        ports: [{ host_ip: "127.0.0.1", host_port: 8080, container_port: 80, protocol: "tcp" }],
      },
    ],
    attempt: 0,
  },
  notifier: {
    kind: "updated",
    service: SVC,
    summary: "whoami updated to 1.3.0",
    from_image: "registry.example.com/app:1.2.3",
    to_image: "registry.example.com/app:1.3.0",
  },
};

function InvokeCard({ id }: { id: string }) {
  const p = useApiQuery(keys.plugin(id), () => api.getPlugin(id), { enabled: id !== "" });
  const kind = p.data?.manifest?.kinds[0] ?? "notifier";
  const [input, setInput] = useState<string | null>(null);
  const text = input ?? JSON.stringify(SAMPLES[kind] ?? {}, null, 2);
  const [result, setResult] = useState<InvokeResult | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [running, setRunning] = useState(false);
  const run = async (e: React.FormEvent) => {
    e.preventDefault();
    setError(null);
    setResult(null);
    let parsed: unknown;
    try {
      parsed = JSON.parse(text);
    } catch {
      setError("The sample input isn't valid JSON.");
      return;
    }
    setRunning(true);
    try {
      setResult(await api.invokePlugin(id, parsed));
    } catch (err) {
      setError(toApiError(err).friendly);
    } finally {
      setRunning(false);
    }
  };
  return (
    <Card>
      <CardHeader className="flex-col">
        <CardTitle className="flex items-center gap-2">
          <FlaskConicalIcon className="size-4" /> Test run
        </CardTitle>
        <CardDescription>
          Runs the plugin in its sandbox on sample input, with its stored grants and settings.
        </CardDescription>
      </CardHeader>
      <CardContent>
        <form onSubmit={run} className="flex flex-col gap-3">
          <Label htmlFor="invoke-input">Sample input (JSON)</Label>
          <Textarea
            id="invoke-input"
            rows={6}
            className="font-mono text-xs"
            value={text}
            onChange={(e) => setInput(e.target.value)}
          />
          <div>
            <Button type="submit" disabled={running}>
              {running ? <Loader2Icon className="animate-spin" /> : <FlaskConicalIcon />} Run
            </Button>
          </div>
          {error && (
            <p role="alert" className="text-sm text-destructive">
              {error}
            </p>
          )}
          {result && (
            <div className="flex flex-col gap-2 text-sm" aria-live="polite">
              <p>
                {result.error ? (
                  <Badge variant="destructive">{result.error.code}</Badge>
                ) : (
                  <Badge variant="success">ok</Badge>
                )}{" "}
                <span className="text-muted-foreground">{result.duration_ms.toFixed(1)} ms</span>
              </p>
              {result.error && <p className="text-destructive">{result.error.message}</p>}
              {result.output !== undefined && result.output !== null && (
                <pre className="overflow-auto rounded-lg border bg-muted/40 p-3 font-mono text-xs">
                  {JSON.stringify(result.output, null, 2)}
                </pre>
              )}
              {result.logs.length > 0 && (
                <pre
                  className="max-h-48 overflow-auto rounded-lg border p-3 font-mono text-xs"
                  aria-label="Plugin log"
                >
                  {result.logs.map((l) => `[${l.level}] ${l.message}`).join("\n")}
                </pre>
              )}
            </div>
          )}
        </form>
      </CardContent>
    </Card>
  );
}

function DeletePlugin({ plugin, onDeleted }: { plugin: PluginDetail; onDeleted: () => void }) {
  const [open, setOpen] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const go = async () => {
    setBusy(true);
    setError(null);
    try {
      await api.deletePlugin(plugin.id);
      setOpen(false);
      onDeleted();
    } catch (e) {
      const err = toApiError(e);
      const users = (err.details as { used_by?: string[] } | undefined)?.used_by;
      setError(users?.length ? `${err.friendly} (${users.join(", ")})` : err.friendly);
    } finally {
      setBusy(false);
    }
  };
  return (
    <ConfirmDialog
      open={open}
      onOpenChange={(o) => {
        setOpen(o);
        setError(null);
      }}
      trigger={
        <Button variant="outline" className="text-destructive">
          <Trash2Icon /> Delete
        </Button>
      }
      title={`Delete ${plugin.manifest?.name ?? plugin.id}?`}
      description="Every version is removed. Services must stop using it first."
      confirmLabel="Delete plugin"
      destructive
      busy={busy}
      error={error}
      onConfirm={() => void go()}
    />
  );
}
