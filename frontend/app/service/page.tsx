"use client";

import {
  ArrowLeftIcon,
  FileDownIcon,
  ImportIcon,
  Loader2Icon,
  RocketIcon,
  SearchXIcon,
} from "lucide-react";
import dynamic from "next/dynamic";
import Link from "next/link";
import { useRouter, useSearchParams } from "next/navigation";
import { Suspense, useCallback, useEffect, useState } from "react";

import { ConnectionBadge } from "@/components/app/connection-badge";
import { EmptyState, ErrorState } from "@/components/app/error-state";
import { useToast } from "@/components/app/toaster";
import { ContainersList } from "@/components/service/containers-card";
import { DefinitionEditor, WarningsNotice } from "@/components/service/definition-editor";
import { DeleteDialog } from "@/components/service/delete-dialog";
import { EnvironmentPanel } from "@/components/service/environment-panel";
import { MountsPanel } from "@/components/service/mounts-panel";
import { PermissionsCard } from "@/components/service/permissions-card";
import { FilesPanel } from "@/components/service/files-panel";
import { LogsViewer } from "@/components/service/logs-viewer";
import { Revisions } from "@/components/service/revisions";
import { UpdatesPanel } from "@/components/service/updates-panel";
import { PluginBindings } from "@/components/plugins/bindings";
import { StatusBadge } from "@/components/services/badges";
import { countsText, serviceHref } from "@/components/services/links";
import { ServiceActions, describeResult } from "@/components/services/service-actions";
import { Alert, AlertDescription, AlertTitle } from "@/components/ui/alert";
import { Badge } from "@/components/ui/badge";
import { Button } from "@/components/ui/button";
import { Skeleton } from "@/components/ui/skeleton";
import { Tabs, TabsContent, TabsList, TabsTrigger } from "@/components/ui/tabs";
import { Hint } from "@/components/ui/tooltip";
import { api, downloadAuthed, replaceKeepingFiles, toApiError } from "@/lib/api";
import { subscribe } from "@/lib/events";
import { invalidateService, keys, useApiQuery } from "@/lib/query";
import type { ServiceView } from "@/lib/api";
import { nameOfId, updateLabel } from "@/lib/status";
import { timeAgo } from "@/lib/utils";

// Loaded when their tab opens: Recharts and the observability views stay out of the page's
// first load (the bundle budget, tools/bundle-size.mjs).
const MetricsPanel = dynamic(
  () => import("@/components/service/metrics-panel").then((m) => m.MetricsPanel),
  { ssr: false, loading: () => <Skeleton className="h-72 w-full rounded-xl" /> },
);
const HistoryPanel = dynamic(
  () => import("@/components/service/history-panel").then((m) => m.HistoryPanel),
  { ssr: false, loading: () => <Skeleton className="h-72 w-full rounded-xl" /> },
);

export default function ServicePage() {
  return (
    <Suspense fallback={<DetailSkeleton />}>
      <ServiceDetail />
    </Suspense>
  );
}

function DetailSkeleton() {
  return (
    <div className="flex flex-col gap-4" aria-busy>
      <Skeleton className="h-8 w-64" />
      <Skeleton className="h-9 w-96" />
      <Skeleton className="h-48 w-full" />
    </div>
  );
}

/**
 * The service, kept current by the event stream. `id` is the service's id (see `serviceHref`):
 * operation events carry it, container events carry the bare name.
 */
function useLiveService(id: string) {
  // The cache (lib/query) patches container status in place and refetches when an operation on
  // this service ends; this hook adds what the service is busy with.
  const s = useApiQuery(keys.service(id), (signal) => api.getService(id, signal), {
    enabled: id !== "",
  });
  const [activity, setActivity] = useState<string | null>(null);
  useEffect(
    () =>
      subscribe((e) => {
        if (!("service" in e) || e.type === "container_status" || e.service !== id) return;
        if (e.type === "operation") {
          if (e.phase === "finished" || e.phase === "failed") setActivity(null);
          else setActivity(e.message || `${e.action.replace(/^service\./, "")}…`);
        } else if (e.type === "pull_progress") {
          setActivity(`${e.image}: ${e.progress.status}`);
        }
      }),
    [id],
  );
  // After an action of this page: everything about the service may have changed.
  const done = useCallback(() => invalidateService(id), [id]);
  return { ...s, activity, done };
}

function ServiceDetail() {
  const params = useSearchParams();
  // `?id=` since ids exist; `?name=` (older links) is the bare name, which the API also accepts.
  const id = params.get("id") ?? params.get("name") ?? "";
  const name = nameOfId(id);
  const router = useRouter();
  const toast = useToast();
  const svc = useLiveService(id);
  const [deploying, setDeploying] = useState(false);
  const [tab, setTab] = useState("overview");

  useEffect(() => {
    document.title = `${name} · SDMD`;
  }, [name]);

  if (!id)
    return (
      <EmptyState icon={SearchXIcon} title="No service selected">
        <Link href="/" className="underline">
          Back to services
        </Link>
      </EmptyState>
    );
  if (svc.error && !svc.data) {
    if (svc.error.code === "service_not_found")
      return (
        <EmptyState icon={SearchXIcon} title={`There is no service called “${id}”`}>
          It may have been deleted.{" "}
          <Link href="/" className="underline">
            Back to services
          </Link>
        </EmptyState>
      );
    return <ErrorState error={svc.error} onRetry={svc.reload} title="Couldn't load the service" />;
  }
  if (!svc.data) return <DetailSkeleton />;
  const s = svc.data;
  const managed = s.kind === "managed";

  const deploy = async () => {
    setDeploying(true);
    try {
      const r = await api.action(id, "deploy");
      toast("success", `${name} — ${describeResult("deploy", r)}`);
    } catch (e) {
      toast("error", `Deploy ${name}: ${toApiError(e).friendly}`);
    } finally {
      setDeploying(false);
      svc.done();
    }
  };

  return (
    <div className="flex flex-col gap-5">
      <div>
        <Link
          href="/"
          className="inline-flex items-center gap-1 text-sm text-muted-foreground hover:text-foreground"
        >
          <ArrowLeftIcon className="size-4" /> Services
        </Link>
      </div>
      <div className="flex flex-wrap items-center gap-3">
        <h1 className="text-2xl font-semibold tracking-tight break-all">{s.name}</h1>
        <StatusBadge status={s.status} />
        {updateLabel(s) && <Badge variant="warning">{updateLabel(s)}</Badge>}
        <ConnectionBadge />
        <div className="flex-1" />
        {managed && (
          <Button onClick={() => void deploy()} disabled={deploying}>
            {deploying ? <Loader2Icon className="animate-spin" /> : <RocketIcon />} Deploy
          </Button>
        )}
        <ServiceActions
          service={s}
          onDone={svc.done}
          deployShown={managed}
          onAdopted={(v) => router.replace(serviceHref(v.id))}
        />
      </div>
      <p className="text-sm text-muted-foreground">
        {managed
          ? `Managed · revision ${s.revision ?? "—"} · changed ${timeAgo(s.updated_at)}`
          : `Unmanaged ${s.kind === "compose" ? "compose project" : "container"}`}
        {s.deployed && ` · ${countsText(s)}`}
        {!s.deployed && managed && " · not deployed yet"}
        {s.last_updated && ` · last update ${timeAgo(s.last_updated)}`}
      </p>
      {svc.activity && (
        <p className="inline-flex items-center gap-2 text-sm" aria-live="polite">
          <Loader2Icon className="size-4 animate-spin" /> {svc.activity}
        </p>
      )}
      {!managed && (
        <Alert>
          <ImportIcon />
          <AlertTitle>SDMD doesn&apos;t manage this service yet</AlertTitle>
          <AlertDescription>
            Adopt it to store its definition, edit it, deploy and update it from here. Use{" "}
            <em>Adopt</em> in the actions menu.
          </AlertDescription>
        </Alert>
      )}
      <Tabs value={tab} onValueChange={setTab}>
        <TabsList className="max-w-full overflow-x-auto">
          <TabsTrigger value="overview">Containers</TabsTrigger>
          <TabsTrigger value="logs">Logs</TabsTrigger>
          <TabsTrigger value="metrics" data-testid="metrics-tab">
            Metrics
          </TabsTrigger>
          <TabsTrigger value="history" data-testid="history-tab">
            History
          </TabsTrigger>
          {managed && <TabsTrigger value="definition">Definition</TabsTrigger>}
          {managed && <TabsTrigger value="environment">Environment</TabsTrigger>}
          {managed && <TabsTrigger value="files">Files</TabsTrigger>}
          {managed && <TabsTrigger value="revisions">Revisions</TabsTrigger>}
          {managed && <TabsTrigger value="updates">Updates</TabsTrigger>}
        </TabsList>
        <TabsContent value="overview" className="flex flex-col gap-4">
          {managed && s.deployed && <PermissionsCard service={name} />}
          <ContainersList containers={s.containers} />
          {managed && <MountsPanel service={name} />}
        </TabsContent>
        <TabsContent value="logs">
          <LogsViewer service={id} />
        </TabsContent>
        <TabsContent value="metrics">
          <MetricsPanel service={id} />
        </TabsContent>
        <TabsContent value="history">
          <HistoryPanel service={id} />
        </TabsContent>
        {managed && (
          <TabsContent value="definition" className="flex flex-col gap-4">
            <DefinitionTab
              name={name}
              revision={s.revision}
              onSaved={(v) => {
                toast("success", `Saved revision ${v.revision}. Deploy to apply it.`);
                svc.setData(v);
              }}
            />
          </TabsContent>
        )}
        {managed && (
          <TabsContent value="environment">
            <EnvironmentPanel service={name} />
          </TabsContent>
        )}
        {managed && (
          <TabsContent value="files">
            <FilesPanel service={name} revision={s.revision} onSaved={(v) => svc.setData(v)} />
          </TabsContent>
        )}
        {managed && (
          <TabsContent value="updates">
            <div className="flex flex-col gap-4">
              <UpdatesPanel service={name} />
              <PluginBindings service={name} />
            </div>
          </TabsContent>
        )}
        {managed && (
          <TabsContent value="revisions">
            <Revisions service={name} current={s.revision} />
          </TabsContent>
        )}
      </Tabs>
      {managed && (
        <section
          className="mt-4 flex flex-wrap items-center gap-3 rounded-lg border border-destructive/30 p-4"
          aria-label="Danger zone"
        >
          <div className="flex-1">
            <h2 className="font-medium">Delete this service</h2>
            <p className="text-sm text-muted-foreground">
              Removes its containers and definition; volumes only if you say so.
            </p>
          </div>
          <DeleteDialog
            name={name}
            onDeleted={() => {
              toast("success", `${name} deleted.`);
              router.push("/");
            }}
          />
        </section>
      )}
    </div>
  );
}

/**
 * The definition tab: the document as written (`GET …/compose`), edited as a form or as YAML;
 * saving keeps the service's project files. Warnings of the last save stay until the next one.
 */
function DefinitionTab({
  name,
  revision,
  onSaved,
}: {
  name: string;
  revision: number | null | undefined;
  onSaved: (v: ServiceView) => void;
}) {
  const toast = useToast();
  const source = useApiQuery(keys.compose(name, revision), (signal) =>
    api.compose(name, false, signal),
  );
  const [warnings, setWarnings] = useState<ServiceView["warnings"]>(undefined);
  const exportAs = (resolved: boolean) =>
    void downloadAuthed(
      `/api/v1/services/${encodeURIComponent(name)}/compose${resolved ? "?resolved=true" : ""}`,
      `${name}${resolved ? ".resolved" : ""}.yaml`,
    ).catch((e: unknown) => toast("error", toApiError(e).friendly));
  return (
    <>
      <div className="flex flex-wrap justify-end gap-2">
        <Button variant="outline" size="sm" onClick={() => exportAs(false)}>
          <FileDownIcon /> Export compose
        </Button>
        <Hint content="Interpolated, env files merged, sealed values masked">
          <Button variant="outline" size="sm" onClick={() => exportAs(true)}>
            <FileDownIcon /> Export resolved
          </Button>
        </Hint>
      </div>
      <WarningsNotice warnings={warnings} />
      {source.error && !source.data ? (
        <ErrorState
          error={source.error}
          onRetry={source.reload}
          title="Couldn't load the definition"
        />
      ) : source.data === undefined || source.loading ? (
        <Skeleton className="h-64 w-full" />
      ) : (
        <DefinitionEditor
          key={revision ?? 0}
          mode="edit"
          service={name}
          source={source.data}
          live
          save={(yaml) => replaceKeepingFiles(name, yaml)}
          onSaved={(v) => {
            setWarnings(v.warnings);
            onSaved(v);
          }}
        />
      )}
    </>
  );
}
