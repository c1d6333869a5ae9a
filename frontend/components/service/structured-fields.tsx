"use client";

import { FolderOpenIcon, KeyRoundIcon, PlusIcon, XIcon } from "lucide-react";
import { lazy, Suspense, useState } from "react";

import { VARIANT } from "@/components/service/environment-panel";
import { Badge } from "@/components/ui/badge";
import { Button } from "@/components/ui/button";
import { Checkbox } from "@/components/ui/checkbox";
import { ConfirmDialog } from "@/components/ui/confirm-dialog";
import { Input, Textarea } from "@/components/ui/input";
import { api, toApiError, type EnvVarView } from "@/lib/api";
import {
  COMMON_CAPS,
  emptyDevice,
  emptyEnv,
  emptyMount,
  emptyPort,
  isReadOnly,
  secretBody,
  secretName,
  withReadOnly,
  type DeviceRow,
  type EnvRow,
  type MountRow,
  type PortRow,
} from "@/lib/definition-form";
import { envSourceText } from "@/lib/environment";

const FolderPicker = lazy(() => import("@/components/service/folder-picker"));

/** What a row editor needs from its field: its ids, problems and lock. */
export interface RowsProps<R> {
  id: string;
  label: string;
  rows: R[];
  onChange: (rows: R[]) => void;
  errors?: string[];
  hint?: string;
  /** The whole field is written in a shape the form can't show: this is it as written. */
  locked?: string;
}

/**
 * A labelled group of rows with the server's problems for the field, an Add button, and for a
 * locked field the value as written, read-only.
 */
function RowsGroup({
  id,
  label,
  errors,
  hint,
  locked,
  addLabel,
  onAdd,
  children,
}: {
  id: string;
  label: string;
  errors?: string[];
  hint?: string;
  locked?: string;
  addLabel: string;
  onAdd: () => void;
  children: React.ReactNode;
}) {
  const errId = `${id}-errors`;
  return (
    <div
      role="group"
      aria-labelledby={`${id}-label`}
      data-invalid={errors?.length ? true : undefined}
      aria-describedby={errors?.length ? errId : undefined}
      className="grid content-start gap-1.5 sm:col-span-2"
    >
      <span id={`${id}-label`} className="text-sm leading-none font-medium">
        {label}
      </span>
      {locked !== undefined ? (
        <>
          <Textarea
            readOnly
            aria-label={`${label} as written`}
            value={locked}
            className="font-mono"
            rows={2}
            title="Edit this field in the YAML tab"
          />
          <p className="text-xs text-muted-foreground">
            Written in a form this editor doesn&apos;t show: edit it in the YAML tab.
          </p>
        </>
      ) : (
        <>
          {children}
          <div>
            <Button type="button" variant="outline" size="sm" onClick={onAdd}>
              <PlusIcon /> {addLabel}
            </Button>
          </div>
          {hint && !errors?.length && <p className="text-xs text-muted-foreground">{hint}</p>}
        </>
      )}
      {errors?.length ? (
        <ul id={errId} className="text-xs text-destructive">
          {errors.map((e, i) => (
            <li key={i}>{e}</li>
          ))}
        </ul>
      ) : null}
    </div>
  );
}

function RemoveButton({ label, onClick }: { label: string; onClick: () => void }) {
  return (
    <Button type="button" variant="ghost" size="icon" aria-label={label} onClick={onClick}>
      <XIcon />
    </Button>
  );
}

/** A row the form can't show: its entry as written, read-only (kept as it is on save). */
function LockedRow({
  label,
  text,
  onRemove,
}: {
  label: string;
  text: string;
  onRemove: () => void;
}) {
  return (
    <div className="flex items-center gap-2">
      <Input
        readOnly
        aria-label={`${label} as written`}
        value={text}
        title="Written in a form this editor doesn't show: edit it in the YAML tab"
        className="flex-1 font-mono text-muted-foreground"
      />
      <RemoveButton label={`Remove ${label.toLowerCase()}`} onClick={onRemove} />
    </div>
  );
}

/**
 * Keeps a dialog's own `<form>` submit from reaching the definition form: React events bubble
 * through portals to the component tree, so confirming would otherwise save the definition.
 */
function Isolated({ children }: { children: React.ReactNode }) {
  return <div onSubmit={(e) => e.stopPropagation()}>{children}</div>;
}

const replace = <R,>(rows: R[], i: number, r: R) => rows.map((x, j) => (j === i ? r : x));
const without = <R,>(rows: R[], i: number) => rows.filter((_, j) => j !== i);

/** Mounts: host path or volume name (with Browse), container path, read-only. */
export function MountRows({ service, ...p }: RowsProps<MountRow> & { service: string }) {
  const [browsing, setBrowsing] = useState<number | null>(null);
  return (
    <RowsGroup {...p} addLabel="Add mount" onAdd={() => p.onChange([...p.rows, emptyMount()])}>
      {p.rows.map((r, i) => {
        const n = i + 1;
        if (r.locked !== undefined)
          return (
            <LockedRow
              key={i}
              label={`Mount ${n}`}
              text={r.locked}
              onRemove={() => p.onChange(without(p.rows, i))}
            />
          );
        const set = (patch: Partial<MountRow>) =>
          p.onChange(replace(p.rows, i, { ...r, ...patch }));
        return (
          <div key={i} className="flex flex-wrap items-center gap-2" data-mount={n}>
            <Input
              aria-label={`Host path ${n}`}
              placeholder="./data, ${MEDIA}/films or a volume name"
              value={r.source}
              onChange={(e) => set({ source: e.target.value })}
              className="min-w-40 flex-1 font-mono"
            />
            <Button
              type="button"
              variant="outline"
              size="sm"
              aria-label={`Browse for host path ${n}`}
              onClick={() => setBrowsing(i)}
            >
              <FolderOpenIcon /> Browse
            </Button>
            <Input
              aria-label={`Container path ${n}`}
              placeholder="/data"
              value={r.target}
              onChange={(e) => set({ target: e.target.value })}
              className="min-w-32 flex-1 font-mono"
            />
            <label className="flex items-center gap-1.5 text-sm">
              <Checkbox
                aria-label={`Read-only ${n}`}
                checked={isReadOnly(r)}
                disabled={!r.source.trim()}
                title={r.source.trim() ? undefined : "An anonymous volume has no options"}
                onCheckedChange={(c) => set({ options: withReadOnly(r.options, c === true) })}
              />
              <span aria-hidden>ro</span>
            </label>
            <RemoveButton
              label={`Remove mount ${n}`}
              onClick={() => p.onChange(without(p.rows, i))}
            />
          </div>
        );
      })}
      {browsing !== null && (
        <Isolated>
          <Suspense fallback={null}>
            <FolderPicker
              open
              onOpenChange={(o) => !o && setBrowsing(null)}
              service={service}
              onPick={(source) => {
                const r = p.rows[browsing];
                if (r) p.onChange(replace(p.rows, browsing, { ...r, source }));
              }}
            />
          </Suspense>
        </Isolated>
      )}
    </RowsGroup>
  );
}

/** Published host ports known to the dashboard: `tcp/8080` → the services publishing it. */
export type PortUse = Map<string, string[]>;

function portHint(r: PortRow, use: PortUse | undefined, service: string): string | null {
  if (!use || !/^\d+$/.test(r.host.trim())) return null;
  const users = use.get(`${r.protocol || "tcp"}/${Number(r.host)}`) ?? [];
  const others = users.filter((u) => u !== service);
  if (others.length) return `used by ${others.join(", ")}`;
  if (users.length) return "used by this service";
  return "free";
}

/** Ports: host IP (optional), host port (with a free/used hint), container port, protocol. */
export function PortRows({
  use,
  service,
  ...p
}: RowsProps<PortRow> & { use?: PortUse; service: string }) {
  return (
    <RowsGroup {...p} addLabel="Add port" onAdd={() => p.onChange([...p.rows, emptyPort()])}>
      {p.rows.map((r, i) => {
        const n = i + 1;
        if (r.locked !== undefined)
          return (
            <LockedRow
              key={i}
              label={`Port ${n}`}
              text={r.locked}
              onRemove={() => p.onChange(without(p.rows, i))}
            />
          );
        const set = (patch: Partial<PortRow>) => p.onChange(replace(p.rows, i, { ...r, ...patch }));
        const hint = portHint(r, use, service);
        return (
          <div key={i} className="flex flex-wrap items-center gap-2">
            <Input
              aria-label={`Host IP ${n}`}
              placeholder="all addresses"
              value={r.ip}
              onChange={(e) => set({ ip: e.target.value })}
              className="w-36 font-mono"
            />
            <Input
              aria-label={`Host port ${n}`}
              placeholder="8080"
              value={r.host}
              onChange={(e) => set({ host: e.target.value })}
              aria-describedby={hint ? `${p.id}-${i}-use` : undefined}
              className="w-24 font-mono"
            />
            <span aria-hidden>→</span>
            <Input
              aria-label={`Container port ${n}`}
              placeholder="80"
              value={r.container}
              onChange={(e) => set({ container: e.target.value })}
              className="w-24 font-mono"
            />
            <select
              aria-label={`Protocol ${n}`}
              value={r.protocol || "tcp"}
              onChange={(e) =>
                set({
                  protocol:
                    e.target.value === "tcp" ? (r.protocol === "tcp" ? "tcp" : "") : e.target.value,
                })
              }
              className="h-9 rounded-md border border-input bg-transparent px-2 text-sm"
            >
              <option value="tcp">tcp</option>
              <option value="udp">udp</option>
            </select>
            {hint && (
              <span
                id={`${p.id}-${i}-use`}
                className={
                  hint.startsWith("used by") && hint !== "used by this service"
                    ? "text-xs text-destructive"
                    : "text-xs text-muted-foreground"
                }
                title="Compared with the host ports the containers known to SDMD publish"
              >
                {hint}
              </span>
            )}
            <RemoveButton
              label={`Remove port ${n}`}
              onClick={() => p.onChange(without(p.rows, i))}
            />
          </div>
        );
      })}
    </RowsGroup>
  );
}

/** Devices: host path, container path (empty: the same), permissions (`rwm`). */
export function DeviceRows(p: RowsProps<DeviceRow>) {
  return (
    <RowsGroup {...p} addLabel="Add device" onAdd={() => p.onChange([...p.rows, emptyDevice()])}>
      {p.rows.map((r, i) => {
        const n = i + 1;
        if (r.locked !== undefined)
          return (
            <LockedRow
              key={i}
              label={`Device ${n}`}
              text={r.locked}
              onRemove={() => p.onChange(without(p.rows, i))}
            />
          );
        const set = (patch: Partial<DeviceRow>) =>
          p.onChange(replace(p.rows, i, { ...r, ...patch }));
        return (
          <div key={i} className="flex flex-wrap items-center gap-2">
            <Input
              aria-label={`Host device ${n}`}
              placeholder="/dev/dri"
              value={r.host}
              onChange={(e) => set({ host: e.target.value })}
              className="min-w-32 flex-1 font-mono"
            />
            <Input
              aria-label={`Container device ${n}`}
              placeholder="same path"
              value={r.container}
              onChange={(e) => set({ container: e.target.value })}
              className="min-w-32 flex-1 font-mono"
            />
            <Input
              aria-label={`Device permissions ${n}`}
              placeholder="rwm"
              value={r.perms}
              onChange={(e) => set({ perms: e.target.value })}
              className="w-20 font-mono"
            />
            <RemoveButton
              label={`Remove device ${n}`}
              onClick={() => p.onChange(without(p.rows, i))}
            />
          </div>
        );
      })}
    </RowsGroup>
  );
}

/** `cap_add` / `cap_drop`: checkboxes for the common capabilities, the others typed. */
export function CapsField({
  id,
  label,
  value,
  onChange,
  errors,
  locked,
}: {
  id: string;
  label: string;
  value: string[];
  onChange: (v: string[]) => void;
  errors?: string[];
  locked?: string;
}) {
  const common = new Set<string>(COMMON_CAPS);
  const others = value.filter((c) => !common.has(c));
  const [typed, setTyped] = useState(others.join(", "));
  const errId = `${id}-errors`;
  if (locked !== undefined)
    return (
      <RowsGroup id={id} label={label} errors={errors} locked={locked} addLabel="" onAdd={() => {}}>
        {null}
      </RowsGroup>
    );
  return (
    <fieldset
      aria-invalid={errors?.length ? true : undefined}
      aria-describedby={errors?.length ? errId : undefined}
      className="grid content-start gap-1.5"
    >
      <legend className="mb-1.5 text-sm leading-none font-medium">{label}</legend>
      <div className="flex flex-wrap gap-x-3 gap-y-1">
        {COMMON_CAPS.map((c) => (
          <label key={c} className="flex items-center gap-1 font-mono text-xs">
            <Checkbox
              checked={value.includes(c)}
              onCheckedChange={(on) =>
                onChange(on === true ? [...value, c] : value.filter((x) => x !== c))
              }
            />
            {c}
          </label>
        ))}
      </div>
      <Input
        aria-label={`${label}: others`}
        placeholder="Others, comma-separated"
        value={typed}
        onChange={(e) => {
          setTyped(e.target.value);
          const next = e.target.value
            .split(",")
            .map((x) => x.trim())
            .filter(Boolean);
          onChange([...value.filter((c) => common.has(c)), ...next]);
        }}
        className="font-mono"
      />
      {errors?.length ? (
        <ul id={errId} className="text-xs text-destructive">
          {errors.map((e, i) => (
            <li key={i}>{e}</li>
          ))}
        </ul>
      ) : null}
    </fieldset>
  );
}

/**
 * Environment: KEY / VALUE rows; with the service stored, each row's effective source (`GET
 * …/environment`) and a secret toggle that moves the value into a secret global variable
 * `<SERVICE>_<KEY>` (after a confirmation) and writes `${THAT_NAME}` as the value.
 */
export function EnvRows({
  service,
  sources,
  ...p
}: RowsProps<EnvRow> & {
  /** The service's name (secret variables are named after it); empty: no secret toggle. */
  service: string;
  /** This member's effective variables by name, when the service exists. */
  sources?: Map<string, EnvVarView>;
}) {
  const [asking, setAsking] = useState<number | null>(null);
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const row = asking !== null ? p.rows[asking] : undefined;
  const target = row ? secretName(service, row.key.trim()) : "";

  const makeSecret = async () => {
    if (asking === null || !row) return;
    setBusy(true);
    setError(null);
    try {
      const stored = await api.listVariables();
      await api.putVariables(secretBody(stored.variables, target, row.value ?? ""));
      p.onChange(replace(p.rows, asking, { ...row, value: `\${${target}}` }));
      setAsking(null);
    } catch (e) {
      const err = toApiError(e);
      setError(err.problems.map((x) => x.message).join(" ") || err.friendly);
    } finally {
      setBusy(false);
    }
  };

  return (
    <RowsGroup {...p} addLabel="Add variable" onAdd={() => p.onChange([...p.rows, emptyEnv()])}>
      {p.rows.map((r, i) => {
        const n = i + 1;
        const set = (patch: Partial<EnvRow>) => p.onChange(replace(p.rows, i, { ...r, ...patch }));
        const src = sources?.get(r.key.trim());
        const secretOn =
          !!service && !!r.key.trim() && r.value === `\${${secretName(service, r.key.trim())}}`;
        return (
          <div key={i} className="flex flex-wrap items-center gap-2" data-env-row={r.key}>
            <Input
              aria-label={`Variable name ${n}`}
              placeholder="KEY"
              value={r.key}
              onChange={(e) => set({ key: e.target.value })}
              className="w-48 font-mono"
            />
            <Input
              aria-label={`Value ${n}`}
              placeholder={r.value === null ? "(unset: passed from sdmd's environment)" : "value"}
              value={r.value ?? ""}
              onChange={(e) => set({ value: e.target.value })}
              className="min-w-40 flex-1 font-mono"
            />
            {src && (
              <Badge
                variant={VARIANT[src.source] ?? "outline"}
                className="font-mono"
                title={`Effective value: ${src.value}`}
              >
                {envSourceText(src)}
              </Badge>
            )}
            {service && (
              <Button
                type="button"
                variant={secretOn ? "secondary" : "ghost"}
                size="icon"
                aria-label={`Secret ${n}`}
                aria-pressed={secretOn}
                title={
                  secretOn
                    ? `Stored in the secret variable ${secretName(service, r.key.trim())}`
                    : "Move the value into a secret variable"
                }
                disabled={secretOn || !r.key.trim() || !r.value}
                onClick={() => {
                  setError(null);
                  setAsking(i);
                }}
              >
                <KeyRoundIcon />
              </Button>
            )}
            <RemoveButton
              label={`Remove variable ${n}`}
              onClick={() => p.onChange(without(p.rows, i))}
            />
          </div>
        );
      })}
      <Isolated>
        <ConfirmDialog
          open={asking !== null}
          onOpenChange={(o) => !o && setAsking(null)}
          title={`Make ${row?.key ?? ""} secret?`}
          description={
            <>
              Its value is stored as the secret global variable <code>{target}</code> (Settings →
              Variables) and the definition reads it as <code>${`{${target}}`}</code>. Save the
              definition to use it.
            </>
          }
          confirmLabel="Make secret"
          busy={busy}
          error={error}
          autoFocusConfirm
          onConfirm={() => void makeSecret()}
        />
      </Isolated>
    </RowsGroup>
  );
}
