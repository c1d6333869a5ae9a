"use client";

import {
  EyeIcon,
  FileIcon,
  FilePlusIcon,
  FolderOpenIcon,
  Loader2Icon,
  LockIcon,
  SaveIcon,
  XIcon,
} from "lucide-react";
import { useState } from "react";

import { EmptyState, ErrorState } from "@/components/app/error-state";
import { useToast } from "@/components/app/toaster";
import { WarningsNotice } from "@/components/service/definition-editor";
import { Alert, AlertDescription, AlertTitle } from "@/components/ui/alert";
import { Badge } from "@/components/ui/badge";
import { Button } from "@/components/ui/button";
import { Input, Textarea } from "@/components/ui/input";
import { Label } from "@/components/ui/label";
import { Skeleton } from "@/components/ui/skeleton";
import { keys, useApiQuery } from "@/lib/query";
import { api, toApiError, type ApiError } from "@/lib/api";
import { formatSize, maskedCount, validProjectPath } from "@/lib/project";
import type { FileContent, ServiceView } from "@/lib/api";

/**
 * The project files of a managed service (`.env`, env files, secrets, config files): the list
 * with sizes and a badge for sealed ones; one file at a time opened (sealed ones masked, with an
 * audited Reveal), edited and saved; new files added. Every save stores a new revision.
 */
export function FilesPanel({
  service,
  revision,
  onSaved,
}: {
  service: string;
  revision: number | null | undefined;
  onSaved: (v: ServiceView) => void;
}) {
  // `revision` is in the key: a save (a new revision) shows its file list at once.
  const files = useApiQuery([...keys.files(service), revision ?? null], (signal) =>
    api.listFiles(service, signal),
  );
  const [open, setOpen] = useState<string | null>(null);
  const [adding, setAdding] = useState(false);

  if (files.error)
    return (
      <ErrorState error={files.error} onRetry={files.reload} title="Couldn't load the files" />
    );
  if (!files.data)
    return (
      <div className="flex flex-col gap-2" aria-busy>
        <Skeleton className="h-9 w-full" />
        <Skeleton className="h-9 w-full" />
        <Skeleton className="h-9 w-2/3" />
      </div>
    );
  const list = files.data;
  return (
    <div className="flex flex-col gap-4">
      <div className="flex flex-wrap items-center gap-2">
        <p className="flex-1 text-sm text-muted-foreground">
          Files of the project directory. Sealed files (<code>.env</code>, env files, secrets) are
          encrypted at rest and shown masked.
        </p>
        <Button
          size="sm"
          variant="outline"
          onClick={() => {
            setOpen(null);
            setAdding(true);
          }}
        >
          <FilePlusIcon /> Add file
        </Button>
      </div>
      {list.length === 0 && !adding && (
        <EmptyState icon={FolderOpenIcon} title="No project files">
          Add a <code>.env</code> or a config file, or import a project from the New service page.
        </EmptyState>
      )}
      {list.length > 0 && (
        <ul className="flex flex-col divide-y rounded-lg border text-sm" aria-label="Project files">
          {list.map((f) => (
            <li key={f.path}>
              <button
                type="button"
                className="flex w-full flex-wrap items-center gap-2 px-3 py-2 text-left hover:bg-muted/50 aria-[current=true]:bg-muted"
                aria-current={open === f.path}
                onClick={() => {
                  setAdding(false);
                  setOpen(f.path);
                }}
              >
                <FileIcon className="size-4 text-muted-foreground" />
                <span className="font-mono break-all">{f.path}</span>
                {f.sealed && (
                  <Badge variant="secondary">
                    <LockIcon className="size-3" /> sealed
                  </Badge>
                )}
                <span className="flex-1" />
                <span className="text-xs text-muted-foreground">{formatSize(f.size)}</span>
              </button>
            </li>
          ))}
        </ul>
      )}
      {adding && (
        <NewFile
          service={service}
          existing={list.map((f) => f.path)}
          onCancel={() => setAdding(false)}
          onSaved={(path, v) => {
            setAdding(false);
            setOpen(path);
            onSaved(v);
          }}
        />
      )}
      {open && !adding && (
        <FileEditor
          key={`${open}@${revision ?? 0}`}
          service={service}
          path={open}
          onClose={() => setOpen(null)}
          onSaved={onSaved}
        />
      )}
    </div>
  );
}

function SaveError({ error }: { error: ApiError }) {
  const problems = error.problems;
  return (
    <Alert variant={error.transient ? "warning" : "destructive"}>
      <AlertTitle>Couldn&apos;t save the file</AlertTitle>
      <AlertDescription>
        <p>
          {error.friendly}
          {error.transient && " Try saving again."}
        </p>
        {problems.length > 0 && (
          <ul className="mt-1 list-disc pl-5 font-mono text-xs" data-testid="file-problems">
            {problems.map((p, i) => (
              <li key={i}>
                {p.field ? `${p.field}: ` : ""}
                {p.message}
              </li>
            ))}
          </ul>
        )}
      </AlertDescription>
    </Alert>
  );
}

/** One file: masked when sealed (Reveal asks the server for clear text, which it audits). */
function FileEditor({
  service,
  path,
  onClose,
  onSaved,
}: {
  service: string;
  path: string;
  onClose: () => void;
  onSaved: (v: ServiceView) => void;
}) {
  const toast = useToast();
  const [reveal, setReveal] = useState(false);
  const file = useApiQuery(keys.file(service, path, reveal), () =>
    api.getFile(service, path, reveal),
  );
  const [text, setText] = useState<string | null>(null);
  const [saving, setSaving] = useState(false);
  const [error, setError] = useState<ApiError | null>(null);
  const [warnings, setWarnings] = useState<ServiceView["warnings"]>(undefined);

  const save = async (content: string) => {
    setSaving(true);
    setError(null);
    try {
      const v = await api.putFile(service, path, content);
      toast("success", `Saved ${path} (revision ${v.revision}). Deploy to apply it.`);
      setWarnings(v.warnings);
      onSaved(v);
    } catch (e) {
      setError(toApiError(e));
    } finally {
      setSaving(false);
    }
  };

  return (
    <section className="flex flex-col gap-3 rounded-lg border p-4" aria-label={`File ${path}`}>
      <div className="flex flex-wrap items-center gap-2">
        <h3 className="font-mono text-sm font-medium break-all">{path}</h3>
        {file.data?.sealed && (
          <Badge variant="secondary">
            <LockIcon className="size-3" /> sealed
          </Badge>
        )}
        <span className="flex-1" />
        <Button size="sm" variant="ghost" onClick={onClose} aria-label="Close the file">
          <XIcon />
        </Button>
      </div>
      {file.error && !file.data && (
        <ErrorState error={file.error} onRetry={file.reload} title="Couldn't open the file" />
      )}
      {!file.data && !file.error && <Skeleton className="h-40 w-full" />}
      {file.data && (
        <FileBody
          file={file.data}
          text={text}
          setText={setText}
          revealing={reveal && file.loading}
          onReveal={() => {
            setText(null);
            setReveal(true);
          }}
        />
      )}
      {error && <SaveError error={error} />}
      <WarningsNotice warnings={warnings} />
      {file.data && !file.data.masked && (
        <div>
          <Button
            size="sm"
            disabled={saving || text === null || text === file.data.content}
            onClick={() => text !== null && void save(text)}
          >
            {saving ? <Loader2Icon className="animate-spin" /> : <SaveIcon />} Save file
          </Button>
        </div>
      )}
    </section>
  );
}

function FileBody({
  file,
  text,
  setText,
  revealing,
  onReveal,
}: {
  file: FileContent;
  text: string | null;
  setText: (t: string) => void;
  revealing: boolean;
  onReveal: () => void;
}) {
  const id = `file-${file.path}`;
  if (file.masked) {
    const n = maskedCount(file.content);
    return (
      <>
        <pre
          className="max-h-80 overflow-auto rounded-md bg-muted p-3 font-mono text-xs"
          data-testid="masked-content"
        >
          {file.content}
        </pre>
        <div className="flex flex-wrap items-center gap-3">
          <Button size="sm" variant="outline" onClick={onReveal} disabled={revealing}>
            {revealing ? <Loader2Icon className="animate-spin" /> : <EyeIcon />} Reveal
          </Button>
          <p className="text-xs text-muted-foreground">
            {n === 1 ? "1 value is" : `${n} values are`} hidden. Revealing shows the file in clear
            so you can edit it, and is recorded in the audit log.
          </p>
        </div>
      </>
    );
  }
  return (
    <>
      <Label htmlFor={id} className="sr-only">
        Content of {file.path}
      </Label>
      <Textarea
        id={id}
        value={text ?? file.content}
        onChange={(e) => setText(e.target.value)}
        spellCheck={false}
        rows={12}
        className="font-mono text-xs"
      />
    </>
  );
}

/** A new file: its path in the project and its content. */
function NewFile({
  service,
  existing,
  onCancel,
  onSaved,
}: {
  service: string;
  existing: string[];
  onCancel: () => void;
  onSaved: (path: string, v: ServiceView) => void;
}) {
  const toast = useToast();
  const [path, setPath] = useState("");
  const [content, setContent] = useState("");
  const [saving, setSaving] = useState(false);
  const [error, setError] = useState<ApiError | null>(null);
  const p = path.trim();
  const pathProblem =
    p === ""
      ? null
      : !validProjectPath(p)
        ? "A relative path inside the project, without “..” (like .env or secrets/db_password)."
        : existing.includes(p)
          ? "That file exists already: open it from the list to edit it."
          : null;

  const save = async (e: React.FormEvent) => {
    e.preventDefault();
    if (!p || pathProblem) return;
    setSaving(true);
    setError(null);
    try {
      const v = await api.putFile(service, p, content);
      toast("success", `Added ${p} (revision ${v.revision}). Deploy to apply it.`);
      onSaved(p, v);
    } catch (err) {
      setError(toApiError(err));
    } finally {
      setSaving(false);
    }
  };

  return (
    <form
      onSubmit={save}
      className="flex flex-col gap-3 rounded-lg border p-4"
      aria-label="New file"
    >
      <div className="grid gap-1.5">
        <Label htmlFor="new-file-path">Path</Label>
        <Input
          id="new-file-path"
          value={path}
          onChange={(e) => setPath(e.target.value)}
          placeholder=".env"
          className="font-mono"
          required
          aria-invalid={pathProblem ? true : undefined}
          aria-describedby={pathProblem ? "new-file-path-problem" : undefined}
        />
        {pathProblem && (
          <p id="new-file-path-problem" className="text-xs text-destructive">
            {pathProblem}
          </p>
        )}
      </div>
      <div className="grid gap-1.5">
        <Label htmlFor="new-file-content">Content</Label>
        <Textarea
          id="new-file-content"
          value={content}
          onChange={(e) => setContent(e.target.value)}
          spellCheck={false}
          rows={8}
          className="font-mono text-xs"
        />
      </div>
      {error && <SaveError error={error} />}
      <div className="flex gap-2">
        <Button type="submit" size="sm" disabled={saving || !p || pathProblem !== null}>
          {saving ? <Loader2Icon className="animate-spin" /> : <SaveIcon />} Add file
        </Button>
        <Button type="button" size="sm" variant="ghost" onClick={onCancel}>
          Cancel
        </Button>
      </div>
    </form>
  );
}
