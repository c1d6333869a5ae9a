"use client";

import {
  AlertTriangleIcon,
  ArrowLeftIcon,
  EyeIcon,
  LayoutTemplateIcon,
  Loader2Icon,
  PlusIcon,
  RefreshCwIcon,
  SearchXIcon,
} from "lucide-react";
import { useRouter } from "next/navigation";
import { useMemo, useState } from "react";

import { EmptyState, ErrorState } from "@/components/app/error-state";
import { useToast } from "@/components/app/toaster";
import { WarningsNotice } from "@/components/service/definition-editor";
import { serviceHref } from "@/components/services/links";
import { Alert, AlertDescription, AlertTitle } from "@/components/ui/alert";
import { Badge } from "@/components/ui/badge";
import { Button } from "@/components/ui/button";
import { Card, CardContent, CardDescription, CardHeader, CardTitle } from "@/components/ui/card";
import { Input, Textarea } from "@/components/ui/input";
import { Label } from "@/components/ui/label";
import { SimpleSelect } from "@/components/ui/select";
import { Skeleton } from "@/components/ui/skeleton";
import { api, toApiError, type ApiError } from "@/lib/api";
import type { Problem, ServiceView, SourceView, TemplateView } from "@/lib/api";
import { keys, useApiQuery } from "@/lib/query";
import {
  categoriesOf,
  filterTemplates,
  formDefaults,
  instantiateBody,
  suggestedName,
  templateProblems,
} from "@/lib/templates";

const FORMAT: Record<TemplateView["format"], string> = {
  portainer_v2: "Portainer v2",
  casaos: "CasaOS",
  yacht: "Yacht",
};

export default function TemplatesPage() {
  const catalog = useApiQuery(keys.templates, (signal) => api.listTemplates(signal));
  const [text, setText] = useState("");
  const [category, setCategory] = useState("");
  const [chosen, setChosen] = useState<TemplateView | null>(null);
  const templates = useMemo(() => catalog.data?.templates ?? [], [catalog.data]);
  const categories = useMemo(() => categoriesOf(templates), [templates]);
  const shown = useMemo(
    () => filterTemplates(templates, text, category),
    [templates, text, category],
  );

  if (chosen) return <TemplateForm template={chosen} onBack={() => setChosen(null)} />;

  const failed = (catalog.data?.sources ?? []).filter((s) => s.error);
  return (
    <div className="flex flex-col gap-4">
      <div>
        <h1 className="text-2xl font-semibold tracking-tight">Templates</h1>
        <p className="text-sm text-muted-foreground">
          Start a service from an app template: the bundled ones, then those of the catalogs
          configured in Settings → Template sources. You answer only the template&apos;s questions;
          the definition can be edited afterwards.
        </p>
      </div>
      {failed.map((s) => (
        <SourceError
          key={s.source}
          source={s}
          retrying={catalog.loading}
          onRetry={catalog.reload}
        />
      ))}
      <div className="flex flex-wrap items-end gap-3">
        <div className="grid gap-1">
          <Label htmlFor="template-search">Search templates</Label>
          <Input
            id="template-search"
            type="search"
            value={text}
            onChange={(e) => setText(e.target.value)}
            placeholder="jellyfin, proxy, media …"
            className="w-64"
          />
        </div>
        <div className="grid gap-1">
          <Label htmlFor="template-category">Category</Label>
          <SimpleSelect
            id="template-category"
            value={category}
            onValueChange={setCategory}
            options={[
              { value: "", label: "All categories" },
              ...categories.map((c) => ({ value: c, label: c })),
            ]}
            className="w-48"
          />
        </div>
      </div>
      {catalog.error && !catalog.data && (
        <ErrorState
          error={catalog.error}
          onRetry={catalog.reload}
          title="Couldn't load templates"
        />
      )}
      {!catalog.data && !catalog.error && (
        <div className="grid gap-4 sm:grid-cols-2 lg:grid-cols-3" aria-busy>
          {[0, 1, 2].map((i) => (
            <Skeleton key={i} className="h-40 w-full" />
          ))}
        </div>
      )}
      {catalog.data && shown.length === 0 && (
        <EmptyState
          icon={templates.length ? SearchXIcon : LayoutTemplateIcon}
          title={templates.length ? "No template matches" : "No templates"}
        >
          {templates.length
            ? "Try another word or category."
            : "Add a catalog URL in Settings → Template sources."}
        </EmptyState>
      )}
      {shown.length > 0 && (
        <ul className="grid gap-4 sm:grid-cols-2 lg:grid-cols-3" aria-label="Templates">
          {shown.map((t) => (
            <li key={t.id} className="flex">
              <Card className="w-full" data-template={t.id}>
                <CardHeader className="flex-col">
                  <CardTitle>{t.title}</CardTitle>
                  <div className="flex flex-wrap gap-1">
                    <Badge variant="secondary">{FORMAT[t.format] ?? t.format}</Badge>
                    {t.categories.map((c) => (
                      <Badge key={c} variant="outline">
                        {c}
                      </Badge>
                    ))}
                  </div>
                </CardHeader>
                <CardContent className="flex flex-1 flex-col gap-3">
                  <CardDescription className="line-clamp-3 flex-1">
                    {t.description || "No description."}
                  </CardDescription>
                  <p className="truncate text-xs text-muted-foreground" title={t.source}>
                    from {t.source}
                  </p>
                  <div>
                    <Button size="sm" onClick={() => setChosen(t)} aria-label={`Use ${t.title}`}>
                      <PlusIcon /> Use template
                    </Button>
                  </div>
                </CardContent>
              </Card>
            </li>
          ))}
        </ul>
      )}
    </div>
  );
}

/** A catalog that couldn't be read: which one, why, and a Retry that fetches the catalog again. */
function SourceError({
  source,
  retrying,
  onRetry,
}: {
  source: SourceView;
  retrying: boolean;
  onRetry: () => void;
}) {
  return (
    <Alert variant="warning">
      <AlertTriangleIcon />
      <AlertTitle>Couldn&apos;t read the catalog {source.source}</AlertTitle>
      <AlertDescription>
        <p>{source.error}</p>
        <div className="mt-2">
          <Button
            size="sm"
            variant="outline"
            onClick={onRetry}
            disabled={retrying}
            aria-label={`Retry ${source.source}`}
          >
            {retrying ? <Loader2Icon className="animate-spin" /> : <RefreshCwIcon />} Retry
          </Button>
        </div>
      </AlertDescription>
    </Alert>
  );
}

function FieldErrors({ id, errors }: { id: string; errors: string[] }) {
  if (!errors.length) return null;
  return (
    <ul id={id} className="text-xs text-destructive">
      {errors.map((e, i) => (
        <li key={i}>{e}</li>
      ))}
    </ul>
  );
}

/**
 * A new service from one template: its variables (a select for choices) and the service name;
 * Preview shows the definition the server would store, Create stores it and opens the service.
 */
function TemplateForm({ template, onBack }: { template: TemplateView; onBack: () => void }) {
  const router = useRouter();
  const toast = useToast();
  const [name, setName] = useState(() => suggestedName(template));
  const [values, setValues] = useState(() => formDefaults(template));
  const [preview, setPreview] = useState<string | null>(null);
  // Variables the definition uses that nothing sets yet (a shared root not added).
  const [unset, setUnset] = useState<Problem[]>([]);
  // Files it comes with (a repository stack's .env).
  const [files, setFiles] = useState<Record<string, string>>({});
  const [error, setError] = useState<ApiError | null>(null);
  const [busy, setBusy] = useState<"preview" | "create" | null>(null);
  // A service created with warnings: shown here (they don't block) before opening it.
  const [warned, setWarned] = useState<ServiceView | null>(null);
  const problems = templateProblems(error?.problems ?? []);

  const open = (v: ServiceView) => {
    toast("success", `Created ${v.name}. Deploy it to start its containers.`);
    router.push(serviceHref(v.id));
  };
  const set = (k: string, v: string) => {
    setValues((old) => ({ ...old, [k]: v }));
    setPreview(null);
  };

  const run = async (create: boolean) => {
    setBusy(create ? "create" : "preview");
    setError(null);
    try {
      const r = await api.instantiateTemplate(
        template.id,
        instantiateBody(template, name, values),
        create,
      );
      setPreview(r.definition);
      setUnset(r.warnings ?? []);
      setFiles(r.files ?? {});
      if (create && r.service) {
        if (r.service.warnings?.length) setWarned(r.service);
        else open(r.service);
      }
    } catch (e) {
      setError(toApiError(e));
    } finally {
      setBusy(null);
    }
  };

  const source = (error?.details as { source?: unknown } | undefined)?.source;
  return (
    <div className="flex max-w-4xl flex-col gap-4">
      <div>
        <Button variant="ghost" size="sm" onClick={onBack}>
          <ArrowLeftIcon /> Templates
        </Button>
      </div>
      <div>
        <h1 className="text-2xl font-semibold tracking-tight">New service from {template.title}</h1>
        <p className="text-sm text-muted-foreground">
          {template.description} <span className="text-xs">({template.source})</span>
        </p>
      </div>
      {warned ? (
        <>
          <WarningsNotice warnings={warned.warnings} />
          <div>
            <Button onClick={() => open(warned)}>Open {warned.name}</Button>
          </div>
        </>
      ) : (
        <form
          className="flex flex-col gap-4"
          aria-label={`New service from ${template.title}`}
          onSubmit={(e) => {
            e.preventDefault();
            void run(true);
          }}
        >
          {error && (
            <Alert variant={error.transient ? "warning" : "destructive"}>
              <AlertTriangleIcon />
              <AlertTitle>
                {error.status === 404
                  ? "Template not found"
                  : error.status === 502
                    ? "The template's catalog couldn't be read"
                    : error.code === "validation_failed"
                      ? "The values have problems"
                      : "Couldn't instantiate the template"}
              </AlertTitle>
              <AlertDescription>
                <p>
                  {error.code === "validation_failed" && problems.general.length === 0
                    ? "Fix the highlighted fields."
                    : error.status === 502
                      ? error.message
                      : error.friendly}
                </p>
                {typeof source === "string" && <p className="font-mono text-xs">{source}</p>}
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
          <fieldset className="grid gap-4 rounded-lg border p-4 sm:grid-cols-2">
            <div className="grid content-start gap-1.5">
              <Label htmlFor="template-service-name">Service name</Label>
              <Input
                id="template-service-name"
                value={name}
                onChange={(e) => {
                  setName(e.target.value);
                  setPreview(null);
                }}
                required
                autoComplete="off"
                aria-invalid={problems.name.length ? true : undefined}
                aria-describedby={problems.name.length ? "template-service-name-errors" : undefined}
              />
              <FieldErrors id="template-service-name-errors" errors={problems.name} />
            </div>
            {template.variables.map((v) => {
              const id = `tv-${v.name}`;
              const errors = problems.byVariable[v.name] ?? [];
              const errId = `${id}-errors`;
              const invalid = {
                "aria-invalid": errors.length ? true : undefined,
                "aria-describedby": errors.length ? errId : undefined,
              };
              return (
                <div key={v.name} className="grid content-start gap-1.5">
                  <Label htmlFor={id}>{v.label || v.name}</Label>
                  {v.choices.length > 0 ? (
                    <SimpleSelect
                      id={id}
                      value={values[v.name] ?? ""}
                      onValueChange={(x) => set(v.name, x)}
                      options={v.choices.map((c) => ({ value: c.value, label: c.label }))}
                      placeholder="Choose…"
                      {...invalid}
                    />
                  ) : (
                    <Input
                      id={id}
                      value={values[v.name] ?? ""}
                      onChange={(e) => set(v.name, e.target.value)}
                      autoComplete="off"
                      className="font-mono"
                      {...invalid}
                    />
                  )}
                  <p className="text-xs text-muted-foreground">
                    <code>{v.name}</code>
                    {v.description ? ` — ${v.description}` : ""}
                  </p>
                  <FieldErrors id={errId} errors={errors} />
                </div>
              );
            })}
          </fieldset>
          <div className="flex flex-wrap gap-2">
            <Button
              type="button"
              variant="outline"
              disabled={busy !== null || !name.trim()}
              onClick={() => void run(false)}
            >
              {busy === "preview" ? <Loader2Icon className="animate-spin" /> : <EyeIcon />} Preview
            </Button>
            <Button type="submit" disabled={busy !== null || !name.trim()}>
              {busy === "create" ? <Loader2Icon className="animate-spin" /> : <PlusIcon />} Create
              service
            </Button>
          </div>
          {preview !== null && (
            <div className="grid gap-1.5">
              <Label htmlFor="template-preview">Definition preview</Label>
              <Textarea
                id="template-preview"
                readOnly
                value={preview}
                rows={Math.min(30, preview.split("\n").length + 1)}
                className="font-mono text-xs"
              />
              <p className="text-xs text-muted-foreground">
                Read-only: create the service, then edit its definition on its page.
              </p>
              {Object.entries(files).map(([path, text]) => (
                <div key={path} className="grid gap-1.5">
                  <Label htmlFor={`template-file-${path}`}>{path}</Label>
                  <Textarea
                    id={`template-file-${path}`}
                    readOnly
                    value={text}
                    rows={Math.min(10, text.split("\n").length + 1)}
                    className="font-mono text-xs"
                  />
                </div>
              ))}
              {unset.length > 0 && (
                <Alert variant="warning" data-testid="unset-variables">
                  <AlertTitle>Set these before creating</AlertTitle>
                  <AlertDescription>
                    <ul className="list-disc pl-5 text-xs">
                      {unset.map((w, i) => (
                        <li key={i}>
                          <code className="font-mono">{w.field}</code>: {w.message}
                        </li>
                      ))}
                    </ul>
                  </AlertDescription>
                </Alert>
              )}
            </div>
          )}
        </form>
      )}
    </div>
  );
}
