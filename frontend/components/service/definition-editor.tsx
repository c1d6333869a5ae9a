"use client";

import {
  FileUpIcon,
  Loader2Icon,
  PlusIcon,
  SaveIcon,
  Trash2Icon,
  TriangleAlertIcon,
} from "lucide-react";
import { useMemo, useRef, useState } from "react";

import { Alert, AlertDescription, AlertTitle } from "@/components/ui/alert";
import { Button } from "@/components/ui/button";
import { Checkbox } from "@/components/ui/checkbox";
import { Input, Textarea } from "@/components/ui/input";
import { SimpleSelect } from "@/components/ui/select";
import { Label } from "@/components/ui/label";
import {
  CapsField,
  DeviceRows,
  EnvRows,
  MountRows,
  PortRows,
  type PortUse,
} from "@/components/service/structured-fields";
import { Tabs, TabsContent, TabsList, TabsTrigger } from "@/components/ui/tabs";
import { api, toApiError, type ApiError } from "@/lib/api";
import {
  RESTART_POLICIES,
  emptyMember,
  formOfYaml,
  patchYaml,
  problemsByField,
  type DefinitionForm,
  type MemberField,
  type MemberForm,
} from "@/lib/definition-form";
import type { EnvVarView, Problem, ServiceView } from "@/lib/api";
import { keys, useApiQuery } from "@/lib/query";
import { cn } from "@/lib/utils";
import { lineOfPath } from "@/lib/yaml-path";

export const SAMPLE_YAML = `name: whoami
services:
  web:
    image: 127.0.0.1:5000/demo/app:latest
    ports: ["127.0.0.1:8080:80"]
    restart: unless-stopped
`;

function FieldErrors({ id, errors }: { id: string; errors?: string[] }) {
  if (!errors?.length) return null;
  return (
    <ul id={id} className="text-xs text-destructive">
      {errors.map((e, i) => (
        <li key={i}>{e}</li>
      ))}
    </ul>
  );
}

/** A labelled input/textarea showing the server's problems for its field. */
function Field({
  id,
  label,
  errors,
  hint,
  children,
}: {
  id: string;
  label: string;
  errors?: string[];
  hint?: string;
  children: (p: {
    id: string;
    "aria-invalid"?: boolean;
    "aria-describedby"?: string;
  }) => React.ReactNode;
}) {
  const errId = `${id}-errors`;
  return (
    <div className="grid content-start gap-1.5">
      <Label htmlFor={id}>{label}</Label>
      {children({
        id,
        "aria-invalid": errors?.length ? true : undefined,
        "aria-describedby": errors?.length ? errId : undefined,
      })}
      {hint && !errors?.length && <p className="text-xs text-muted-foreground">{hint}</p>}
      <FieldErrors id={errId} errors={errors} />
    </div>
  );
}

function MemberFields({
  m,
  index,
  errors,
  onChange,
  onRemove,
  service,
  secrets,
  envSources,
  portUse,
}: {
  m: MemberForm;
  index: number;
  errors: Record<string, string[]>;
  onChange: (m: MemberForm) => void;
  onRemove?: () => void;
  /** The service's name (as typed, when creating). */
  service: string;
  /** Offer the secret toggle (a service name to name the variable after). */
  secrets: boolean;
  /** Each member's effective variables by name (the service exists). */
  envSources?: Map<string, Map<string, EnvVarView>>;
  portUse?: PortUse;
}) {
  const p = `services.${m.key}`;
  const id = (f: string) => `m${index}-${f}`;
  const up =
    (k: keyof MemberForm) =>
    (e: React.ChangeEvent<HTMLInputElement | HTMLTextAreaElement | HTMLSelectElement>) =>
      onChange({ ...m, [k]: e.target.value });
  // A field written in a shape the form can't show is read-only here; the YAML tab edits it.
  const lock = (f: MemberField) =>
    m.locked.includes(f) ? { readOnly: true, title: "Edit this field in the YAML tab" } : {};
  const hintOf = (f: MemberField, h?: string) =>
    m.locked.includes(f)
      ? "Written in a form this editor doesn't show: edit it in the YAML tab."
      : h;
  return (
    <fieldset className="grid gap-4 rounded-lg border p-4 sm:grid-cols-2">
      <legend className="px-1 text-sm font-medium">Member {m.key || index + 1}</legend>
      <Field
        id={id("key")}
        label="Member name"
        hint="How other members reach it on the service network."
      >
        {(a) => <Input {...a} value={m.key} onChange={up("key")} required />}
      </Field>
      <Field id={id("image")} label="Image" errors={errors[`${p}.image`]}>
        {(a) => (
          <Input
            {...a}
            {...lock("image")}
            value={m.image}
            onChange={up("image")}
            placeholder="registry/repo:tag"
            required
            className="font-mono"
          />
        )}
      </Field>
      <Field
        id={id("user")}
        label="User"
        errors={errors[`${p}.user`]}
        hint={hintOf("user", "uid[:gid] or a name; empty: the image's")}
      >
        {(a) => (
          <Input
            {...a}
            {...lock("user")}
            value={m.user}
            onChange={up("user")}
            placeholder="1000:1000"
            className="font-mono"
          />
        )}
      </Field>
      <MountRows
        id={id("volumes")}
        label="Mounts"
        rows={m.volumes}
        onChange={(volumes) => onChange({ ...m, volumes })}
        errors={errors[`${p}.volumes`]}
        locked={m.locked.includes("volumes") ? (m.raw.volumes ?? "") : undefined}
        hint="A host path (./ is the service's folder, ${APPDATA}), a shared root (${MEDIA}/…) or a named volume. Long-syntax entries are kept as written."
        service={service}
      />
      <EnvRows
        id={id("environment")}
        label="Environment"
        rows={m.environment}
        onChange={(environment) => onChange({ ...m, environment })}
        errors={errors[`${p}.environment`]}
        locked={m.locked.includes("environment") ? (m.raw.environment ?? "") : undefined}
        service={secrets ? service : ""}
        sources={envSources?.get(m.origKey ?? m.key)}
      />
      <PortRows
        id={id("ports")}
        label="Ports"
        rows={m.ports}
        onChange={(ports) => onChange({ ...m, ports })}
        errors={errors[`${p}.ports`]}
        locked={m.locked.includes("ports") ? (m.raw.ports ?? "") : undefined}
        hint="Ranges and long-syntax entries are kept as written (edit them in the YAML tab)."
        use={portUse}
        service={service}
      />
      <DeviceRows
        id={id("devices")}
        label="Devices"
        rows={m.devices}
        onChange={(devices) => onChange({ ...m, devices })}
        errors={errors[`${p}.devices`]}
        locked={m.locked.includes("devices") ? (m.raw.devices ?? "") : undefined}
      />
      <CapsField
        id={id("cap_add")}
        label="Add capabilities"
        value={m.cap_add}
        onChange={(cap_add) => onChange({ ...m, cap_add })}
        errors={errors[`${p}.cap_add`]}
        locked={m.locked.includes("cap_add") ? (m.raw.cap_add ?? "") : undefined}
      />
      <CapsField
        id={id("cap_drop")}
        label="Drop capabilities"
        value={m.cap_drop}
        onChange={(cap_drop) => onChange({ ...m, cap_drop })}
        errors={errors[`${p}.cap_drop`]}
        locked={m.locked.includes("cap_drop") ? (m.raw.cap_drop ?? "") : undefined}
      />
      <div className="grid content-start gap-4">
        <Field id={id("restart")} label="Restart policy" errors={errors[`${p}.restart`]}>
          {(a) => (
            <SimpleSelect
              {...a}
              disabled={m.locked.includes("restart")}
              value={RESTART_POLICIES.includes(m.restart as never) ? m.restart : "custom"}
              onValueChange={(v) => onChange({ ...m, restart: v })}
              options={[
                ...RESTART_POLICIES.map((r) => ({ value: r, label: r || "(Docker default: no)" })),
                ...(RESTART_POLICIES.includes(m.restart as never)
                  ? []
                  : [{ value: "custom", label: m.restart }]),
              ]}
            />
          )}
        </Field>
        <Field
          id={id("depends_on")}
          label="Depends on"
          errors={errors[`${p}.depends_on`]}
          hint={hintOf("depends_on", "Member names, comma-separated")}
        >
          {(a) => (
            <Input
              {...a}
              {...lock("depends_on")}
              value={m.depends_on}
              onChange={up("depends_on")}
            />
          )}
        </Field>
      </div>
      <Field
        id={id("command")}
        label="Command"
        errors={errors[`${p}.command`]}
        hint={hintOf("command", "Leave empty for the image's default")}
      >
        {(a) => (
          <Input
            {...a}
            {...lock("command")}
            value={m.command}
            onChange={up("command")}
            className="font-mono"
          />
        )}
      </Field>
      <Field
        id={id("container_name")}
        label="Container name"
        errors={errors[`${p}.container_name`]}
        hint="Optional"
      >
        {(a) => (
          <Input
            {...a}
            {...lock("container_name")}
            value={m.container_name}
            onChange={up("container_name")}
          />
        )}
      </Field>
      {onRemove && (
        <div className="sm:col-span-2">
          <Button type="button" variant="ghost" size="sm" onClick={onRemove}>
            <Trash2Icon /> Remove member
          </Button>
        </div>
      )}
    </fieldset>
  );
}

/** Compose's warnings about a stored document (an unset variable became empty): non-blocking. */
export function WarningsNotice({ warnings }: { warnings?: Problem[] }) {
  if (!warnings?.length) return null;
  return (
    <Alert variant="warning" data-testid="warnings">
      <TriangleAlertIcon />
      <AlertTitle>Saved, with {warnings.length === 1 ? "a warning" : "warnings"}</AlertTitle>
      <AlertDescription>
        <ul className="list-disc pl-5 font-mono text-xs">
          {warnings.map((w, i) => (
            <li key={i}>
              {w.field ? `${w.field}: ` : ""}
              {w.message}
            </li>
          ))}
        </ul>
      </AlertDescription>
    </Alert>
  );
}

/** Problems of the YAML tab with the line each points at; clicking one selects that line. */
function YamlProblems({
  problems,
  yaml,
  onGoto,
}: {
  problems: Problem[];
  yaml: string;
  onGoto: (line: number) => void;
}) {
  if (!problems.length) return null;
  return (
    <ul className="mt-1 flex flex-col gap-0.5 font-mono text-xs" data-testid="problems">
      {problems.map((p, i) => {
        const at = p.field ? lineOfPath(yaml, p.field) : null;
        const text = `${p.field || "(document)"}: ${p.message}`;
        return (
          <li key={i}>
            {at ? (
              <button
                type="button"
                className="text-left underline-offset-2 hover:underline"
                onClick={() => onGoto(at.line)}
              >
                line {at.line}: {text}
              </button>
            ) : (
              text
            )}
          </li>
        );
      })}
    </ul>
  );
}

/** Selects line `line` (1-based) of a textarea and scrolls it into view. */
function selectLine(ta: HTMLTextAreaElement, line: number) {
  const lines = ta.value.split("\n");
  const start = lines.slice(0, line - 1).reduce((n, l) => n + l.length + 1, 0);
  ta.focus();
  ta.setSelectionRange(start, start + (lines[line - 1]?.length ?? 0));
  const lh = ta.scrollHeight / Math.max(lines.length, 1);
  ta.scrollTop = Math.max(0, (line - 3) * lh);
}

/**
 * Edits a service's compose document **as written** — the YAML tab shows the text itself, the
 * form patches only the fields it changes into that text (never rebuilding the document, so
 * `${VAR}` text, comments and fields it doesn't show survive) — and saves it: POST for a new
 * service, PUT (a new revision) for an existing one. Server problems appear on their fields in
 * the form and with their line in the YAML tab; problems without a form field are listed above.
 */
export function DefinitionEditor({
  mode,
  service,
  source,
  onSaved,
  save: saveWith,
  live = false,
}: {
  mode: "create" | "edit";
  /** The service's name (edit mode). */
  service?: string;
  /** The document as written (edit mode); the sample when creating. */
  source?: string;
  onSaved: (v: ServiceView) => void;
  /** How to store the YAML (default: POST or PUT of the document). */
  save?: (yaml: string) => Promise<ServiceView>;
  /**
   * Show what the server knows next to the rows: each variable's source (edit mode), whether a
   * host port is published already, and the secret toggle. Off in isolated tests.
   */
  live?: boolean;
}) {
  const [tab, setTab] = useState<"form" | "yaml">(mode === "create" ? "yaml" : "form");
  const [yamlText, setYamlText] = useState(() => source ?? SAMPLE_YAML);
  // The form as read from `yamlText` (`base`) and as edited (`form`): their difference is what
  // gets patched into the document.
  const [base, setBase] = useState<DefinitionForm>(() => readForm(source ?? SAMPLE_YAML));
  const [form, setForm] = useState<DefinitionForm>(base);
  const [notice, setNotice] = useState<string | null>(null);
  const [error, setError] = useState<ApiError | null>(null);
  const [saving, setSaving] = useState(false);
  const fileRef = useRef<HTMLInputElement>(null);
  const yamlRef = useRef<HTMLTextAreaElement>(null);

  const env = useApiQuery(
    keys.environment(service ?? ""),
    (signal) => api.serviceEnvironment(service ?? "", signal),
    { enabled: live && mode === "edit" && !!service },
  );
  const services = useApiQuery(keys.services, (signal) => api.listServices(signal), {
    enabled: live,
  });
  const envSources = useMemo(
    () =>
      env.data &&
      new Map(
        env.data.members.map((m) => [m.member, new Map(m.variables.map((v) => [v.name, v]))]),
      ),
    [env.data],
  );
  const portUse = useMemo(() => {
    if (!services.data) return undefined;
    const use: PortUse = new Map();
    for (const s of services.data.services)
      for (const c of s.containers)
        for (const pt of c.ports) {
          if (!pt.host_port) continue;
          const k = `${pt.protocol}/${pt.host_port}`;
          const list = use.get(k) ?? [];
          if (!list.includes(s.name)) use.set(k, [...list, s.name]);
        }
    return use;
  }, [services.data]);
  const serviceName = service ?? form.name.trim();

  const errors = useMemo(() => (error ? problemsByField(error.problems, form) : {}), [error, form]);
  const general = errors[""] ?? [];

  /** The document with the form's edits applied. */
  const currentYaml = () => (tab === "form" ? patchYaml(yamlText, base, form) : yamlText);

  const switchTab = (t: string) => {
    setNotice(null);
    if (t === "yaml" && tab === "form") setYamlText(patchYaml(yamlText, base, form));
    if (t === "form" && tab === "yaml") {
      try {
        const f = formOfYaml(yamlText);
        setBase(f);
        setForm(f);
      } catch {
        setNotice("The YAML doesn't parse, so the form can't show it. Fix it here first.");
        return;
      }
    }
    setTab(t as "form" | "yaml");
  };

  const save = async (e: React.FormEvent) => {
    e.preventDefault();
    setSaving(true);
    setError(null);
    try {
      const body = currentYaml();
      const v = saveWith
        ? await saveWith(body)
        : mode === "create"
          ? await api.createService(body)
          : await api.replaceService(service ?? "", body);
      onSaved(v);
    } catch (err) {
      setError(toApiError(err));
    } finally {
      setSaving(false);
    }
  };

  const upload = async (f: File | undefined) => {
    if (!f) return;
    setYamlText(await f.text());
    setTab("yaml");
  };

  const listed = tab === "yaml" ? [] : general;
  return (
    <form onSubmit={save} className="flex flex-col gap-4" aria-label="Service definition">
      {error && (
        <Alert variant={error.transient ? "warning" : "destructive"}>
          <AlertTitle>
            {error.code === "validation_failed" ? "The definition has problems" : "Couldn't save"}
          </AlertTitle>
          <AlertDescription>
            <p>
              {error.code === "validation_failed" && tab === "form" && general.length === 0
                ? "Fix the highlighted fields."
                : error.code === "validation_failed" && tab === "yaml"
                  ? "Fix the lines below (click one to select it)."
                  : error.friendly}
            </p>
            {tab === "yaml" && (
              <YamlProblems
                problems={error.problems}
                yaml={yamlText}
                onGoto={(l) => yamlRef.current && selectLine(yamlRef.current, l)}
              />
            )}
            {listed.length > 0 && (
              <ul className="mt-1 list-disc pl-5 font-mono text-xs" data-testid="problems">
                {listed.map((t, i) => (
                  <li key={i}>{t}</li>
                ))}
              </ul>
            )}
            {error.code === "malformed_body" && typeof error.details === "string" && (
              <p className="mt-1 font-mono text-xs">{error.details}</p>
            )}
          </AlertDescription>
        </Alert>
      )}
      {notice && (
        <p className="text-sm text-destructive" role="status">
          {notice}
        </p>
      )}
      <Tabs value={tab} onValueChange={switchTab}>
        <div className="flex flex-wrap items-center gap-2">
          <TabsList>
            <TabsTrigger value="form">Form</TabsTrigger>
            <TabsTrigger value="yaml">YAML</TabsTrigger>
          </TabsList>
          <div className="flex-1" />
          {tab === "yaml" && mode === "create" && (
            <>
              <input
                ref={fileRef}
                type="file"
                accept=".yaml,.yml,.json,application/yaml,application/json,text/yaml"
                className="sr-only"
                aria-label="Upload a compose file"
                onChange={(e) => void upload(e.target.files?.[0])}
              />
              <Button
                type="button"
                variant="outline"
                size="sm"
                onClick={() => fileRef.current?.click()}
              >
                <FileUpIcon /> Upload file
              </Button>
            </>
          )}
        </div>
        <TabsContent value="form" className="flex flex-col gap-4">
          <p className="text-xs text-muted-foreground">
            The form edits the document as written: fields it doesn&apos;t show, comments and{" "}
            <code>${"{VAR}"}</code> references stay as they are.
          </p>
          <div className="grid gap-4 sm:grid-cols-2">
            <Field
              id="def-name"
              label="Service name"
              errors={errors.name}
              hint="Lowercase letters, digits and dashes"
            >
              {(a) => (
                <Input
                  {...a}
                  value={form.name}
                  onChange={(e) => setForm({ ...form, name: e.target.value })}
                  readOnly={mode === "edit"}
                  required
                />
              )}
            </Field>
            <Field
              id="def-volumes"
              label="Named volumes"
              errors={errors.volumes}
              hint="Comma-separated; referenced as name:/path"
            >
              {(a) => (
                <Input
                  {...a}
                  value={form.volumes}
                  onChange={(e) => setForm({ ...form, volumes: e.target.value })}
                />
              )}
            </Field>
          </div>
          <label className="flex items-start gap-2 text-sm">
            <Checkbox
              aria-label="Standard environment"
              checked={!!form.standardEnvironment}
              onCheckedChange={(c) => setForm({ ...form, standardEnvironment: c === true })}
              className="mt-0.5"
            />
            <span>
              <span className="font-medium">Standard environment</span>
              <span className="block text-xs text-muted-foreground">
                Members that don&apos;t set them get <code>TZ</code>, <code>PUID</code>,{" "}
                <code>PGID</code> and <code>UMASK</code> from Settings → Variables (
                <code>x-sdmd.standard_environment</code>).
              </span>
            </span>
          </label>
          {form.members.map((m, i) => (
            <MemberFields
              key={i}
              m={m}
              index={i}
              errors={errors}
              service={serviceName}
              secrets={live && !!serviceName}
              envSources={envSources}
              portUse={portUse}
              onChange={(nm) =>
                setForm({ ...form, members: form.members.map((x, j) => (j === i ? nm : x)) })
              }
              onRemove={
                form.members.length > 1
                  ? () => setForm({ ...form, members: form.members.filter((_, j) => j !== i) })
                  : undefined
              }
            />
          ))}
          <div>
            <Button
              type="button"
              variant="outline"
              size="sm"
              onClick={() =>
                setForm({
                  ...form,
                  members: [...form.members, emptyMember(`member${form.members.length + 1}`)],
                })
              }
            >
              <PlusIcon /> Add member
            </Button>
          </div>
        </TabsContent>
        <TabsContent value="yaml">
          <Label htmlFor="def-yaml" className="sr-only">
            Compose YAML
          </Label>
          <Textarea
            id="def-yaml"
            ref={yamlRef}
            value={yamlText}
            onChange={(e) => setYamlText(e.target.value)}
            spellCheck={false}
            rows={18}
            className={cn("font-mono text-xs leading-relaxed")}
            aria-invalid={
              error?.code === "malformed_body" || error?.code === "validation_failed"
                ? true
                : undefined
            }
          />
          <p className="mt-1 text-xs text-muted-foreground">
            The compose document as written, <code>${"{VAR}"}</code> references included (they are
            filled from the service&apos;s <code>.env</code> and SDMD&apos;s variables). It needs a
            top-level <code>name</code>.
          </p>
        </TabsContent>
      </Tabs>
      <div className="flex gap-2">
        <Button type="submit" disabled={saving}>
          {saving ? <Loader2Icon className="animate-spin" /> : <SaveIcon />}
          {mode === "create" ? "Create service" : "Save revision"}
        </Button>
      </div>
    </form>
  );
}

/** The form of a YAML text; an empty form when it doesn't parse (the YAML tab shows it). */
function readForm(yaml: string): DefinitionForm {
  try {
    return formOfYaml(yaml);
  } catch {
    return { name: "", members: [emptyMember()], volumes: "" };
  }
}
