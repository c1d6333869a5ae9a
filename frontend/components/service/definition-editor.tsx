"use client";

import { FileUpIcon, Loader2Icon, PlusIcon, SaveIcon, Trash2Icon } from "lucide-react";
import { useMemo, useRef, useState } from "react";
import { parse, stringify } from "yaml";

import { Alert, AlertDescription, AlertTitle } from "@/components/ui/alert";
import { Button } from "@/components/ui/button";
import { Input, NativeSelect, Textarea } from "@/components/ui/input";
import { Label } from "@/components/ui/label";
import { Tabs, TabsContent, TabsList, TabsTrigger } from "@/components/ui/tabs";
import { api, toApiError, type ApiError } from "@/lib/api";
import {
  RESTART_POLICIES,
  emptyMember,
  fromForm,
  problemsByField,
  toForm,
  type DefinitionForm,
  type MemberForm,
} from "@/lib/definition-form";
import type { Definition, ServiceView } from "@/lib/schemas";
import { cn } from "@/lib/utils";

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
}: {
  m: MemberForm;
  index: number;
  errors: Record<string, string[]>;
  onChange: (m: MemberForm) => void;
  onRemove?: () => void;
}) {
  const p = `services.${m.key}`;
  const id = (f: string) => `m${index}-${f}`;
  const up =
    (k: keyof MemberForm) =>
    (e: React.ChangeEvent<HTMLInputElement | HTMLTextAreaElement | HTMLSelectElement>) =>
      onChange({ ...m, [k]: e.target.value });
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
            value={m.image}
            onChange={up("image")}
            placeholder="registry/repo:tag"
            required
            className="font-mono"
          />
        )}
      </Field>
      <Field
        id={id("ports")}
        label="Ports"
        errors={errors[`${p}.ports`]}
        hint="One per line: [ip:]host:container[/proto]"
      >
        {(a) => (
          <Textarea {...a} value={m.ports} onChange={up("ports")} className="font-mono" rows={2} />
        )}
      </Field>
      <Field
        id={id("volumes")}
        label="Volumes"
        errors={errors[`${p}.volumes`]}
        hint="One per line: name:/path or /host:/path[:ro]"
      >
        {(a) => (
          <Textarea
            {...a}
            value={m.volumes}
            onChange={up("volumes")}
            className="font-mono"
            rows={2}
          />
        )}
      </Field>
      <Field
        id={id("environment")}
        label="Environment"
        errors={errors[`${p}.environment`]}
        hint="One KEY=VALUE per line"
      >
        {(a) => (
          <Textarea
            {...a}
            value={m.environment}
            onChange={up("environment")}
            className="font-mono"
            rows={3}
          />
        )}
      </Field>
      <div className="grid content-start gap-4">
        <Field id={id("restart")} label="Restart policy" errors={errors[`${p}.restart`]}>
          {(a) => (
            <NativeSelect
              {...a}
              value={RESTART_POLICIES.includes(m.restart as never) ? m.restart : "custom"}
              onChange={up("restart")}
            >
              {RESTART_POLICIES.map((r) => (
                <option key={r} value={r}>
                  {r || "(Docker default: no)"}
                </option>
              ))}
              {!RESTART_POLICIES.includes(m.restart as never) && (
                <option value="custom">{m.restart}</option>
              )}
            </NativeSelect>
          )}
        </Field>
        <Field
          id={id("depends_on")}
          label="Depends on"
          errors={errors[`${p}.depends_on`]}
          hint="Member names, comma-separated"
        >
          {(a) => <Input {...a} value={m.depends_on} onChange={up("depends_on")} />}
        </Field>
      </div>
      <Field
        id={id("command")}
        label="Command"
        errors={errors[`${p}.command`]}
        hint="Leave empty for the image's default"
      >
        {(a) => <Input {...a} value={m.command} onChange={up("command")} className="font-mono" />}
      </Field>
      <Field
        id={id("container_name")}
        label="Container name"
        errors={errors[`${p}.container_name`]}
        hint="Optional"
      >
        {(a) => <Input {...a} value={m.container_name} onChange={up("container_name")} />}
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

/**
 * Edits a service definition as a form (the PRD fields) or as YAML, and saves it: POST for a new
 * service, PUT (a new revision) for an existing one. Server validation problems appear on their
 * fields (`details[].field`); problems without a form field are listed above the form.
 */
export function DefinitionEditor({
  initial,
  mode,
  onSaved,
}: {
  initial: Definition | null;
  mode: "create" | "edit";
  onSaved: (v: ServiceView) => void;
}) {
  const [tab, setTab] = useState<"form" | "yaml">(mode === "create" ? "yaml" : "form");
  const [form, setForm] = useState<DefinitionForm>(() =>
    initial ? toForm(initial) : { name: "", members: [emptyMember()], volumes: "" },
  );
  const [yamlText, setYamlText] = useState(() => (initial ? stringify(initial) : SAMPLE_YAML));
  const [error, setError] = useState<ApiError | null>(null);
  const [saving, setSaving] = useState(false);
  const fileRef = useRef<HTMLInputElement>(null);

  const errors = useMemo(() => (error ? problemsByField(error.problems, form) : {}), [error, form]);
  const general = errors[""] ?? [];

  const switchTab = (t: string) => {
    // Carry edits across: the form's state becomes YAML, and valid YAML becomes the form.
    if (t === "yaml" && tab === "form") setYamlText(stringify(fromForm(form, initial)));
    if (t === "form" && tab === "yaml") {
      try {
        const d = parse(yamlText) as Definition | null;
        if (d && typeof d === "object" && d.services) setForm(toForm(d));
      } catch {
        // Invalid YAML stays in the YAML tab; the form keeps its last state.
      }
    }
    setTab(t as "form" | "yaml");
  };

  const save = async (e: React.FormEvent) => {
    e.preventDefault();
    setSaving(true);
    setError(null);
    try {
      const body = tab === "yaml" ? yamlText : (fromForm(form, initial) as Definition);
      const v =
        mode === "create"
          ? await api.createService(body)
          : await api.replaceService(initial!.name, body);
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
                : error.friendly}
            </p>
            {(tab === "yaml"
              ? error.problems.map((p) => `${p.field || "(document)"}: ${p.message}`)
              : general
            ).length > 0 && (
              <ul className="mt-1 list-disc pl-5 font-mono text-xs" data-testid="problems">
                {(tab === "yaml"
                  ? error.problems.map((p) => `${p.field || "(document)"}: ${p.message}`)
                  : general
                ).map((t, i) => (
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
      <Tabs value={tab} onValueChange={switchTab}>
        <div className="flex flex-wrap items-center gap-2">
          <TabsList>
            <TabsTrigger value="form">Form</TabsTrigger>
            <TabsTrigger value="yaml">YAML</TabsTrigger>
          </TabsList>
          <div className="flex-1" />
          {tab === "yaml" && (
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
          {form.members.map((m, i) => (
            <MemberFields
              key={i}
              m={m}
              index={i}
              errors={errors}
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
            A compose-style document with a top-level <code>name</code>.
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
