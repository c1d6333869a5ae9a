"use client";

import { FileIcon, FileUpIcon, Loader2Icon, UploadIcon, XIcon } from "lucide-react";
import { useEffect, useMemo, useRef, useState } from "react";

import { WarningsNotice } from "@/components/service/definition-editor";
import { Alert, AlertDescription, AlertTitle } from "@/components/ui/alert";
import { Badge } from "@/components/ui/badge";
import { Button } from "@/components/ui/button";
import { Input } from "@/components/ui/input";
import { Label } from "@/components/ui/label";
import { SimpleSelect } from "@/components/ui/select";
import { api, toApiError, type ApiError } from "@/lib/api";
import { detectCompose, documentName, formatSize, projectPath } from "@/lib/project";
import type { ServiceView } from "@/lib/api";
import { cn } from "@/lib/utils";
import { lineOfPath } from "@/lib/yaml-path";

interface Picked {
  path: string;
  file: File;
}

/** Reads a dropped directory entry recursively, keeping each file's path below the drop. */
async function walk(entry: FileSystemEntry, out: Picked[]): Promise<void> {
  if (entry.isFile) {
    const file = await new Promise<File>((res, rej) =>
      (entry as FileSystemFileEntry).file(res, rej),
    );
    out.push({ path: projectPath({ name: file.name, relativePath: entry.fullPath }), file });
    return;
  }
  const reader = (entry as FileSystemDirectoryEntry).createReader();
  for (;;) {
    const batch = await new Promise<FileSystemEntry[]>((res, rej) => reader.readEntries(res, rej));
    if (batch.length === 0) break;
    for (const e of batch) await walk(e, out);
  }
}

/** The files of a drop: directory entries walked when the browser offers them. */
async function droppedFiles(dt: DataTransfer): Promise<Picked[]> {
  const entries = Array.from(dt.items)
    .map((i) => (typeof i.webkitGetAsEntry === "function" ? i.webkitGetAsEntry() : null))
    .filter((e): e is FileSystemEntry => e !== null);
  if (entries.length > 0 && entries.some((e) => e.isDirectory)) {
    const out: Picked[] = [];
    for (const e of entries) {
      if (e.isDirectory) await walk(e, out);
      else {
        const file = await new Promise<File>((res, rej) =>
          (e as FileSystemFileEntry).file(res, rej),
        );
        out.push({ path: file.name, file });
      }
    }
    return out;
  }
  return Array.from(dt.files).map((f) => ({ path: f.name, file: f }));
}

/** A file's text (FileReader: also where `Blob.text` is missing, as in older engines). */
function readText(file: Blob): Promise<string> {
  return new Promise((res, rej) => {
    const r = new FileReader();
    r.onload = () => res(String(r.result));
    r.onerror = () => rej(r.error ?? new Error("unreadable file"));
    r.readAsText(file);
  });
}

const fromInput = (list: FileList | null): Picked[] =>
  Array.from(list ?? []).map((f) => ({
    path: projectPath({ name: f.name, relativePath: f.webkitRelativePath }),
    file: f,
  }));

/**
 * Imports a compose project: the compose file with its `.env` and other files (dropped, or
 * picked — several files or a whole directory), sent as one multipart request.
 */
export function ImportProject({ onCreated }: { onCreated: (v: ServiceView) => void }) {
  const [files, setFiles] = useState<Picked[]>([]);
  const [composeIdx, setComposeIdx] = useState(-1);
  // The compose file's text, tagged with the file it was read from.
  const [read, setRead] = useState<{ file: File; text: string } | null>(null);
  const [name, setName] = useState("");
  const [over, setOver] = useState(false);
  const [saving, setSaving] = useState(false);
  const [error, setError] = useState<ApiError | null>(null);
  const [created, setCreated] = useState<ServiceView | null>(null);
  const pickRef = useRef<HTMLInputElement>(null);
  const dirRef = useRef<HTMLInputElement>(null);

  useEffect(() => {
    // `webkitdirectory` isn't in React's attribute types.
    dirRef.current?.setAttribute("webkitdirectory", "");
  }, []);

  const compose = composeIdx >= 0 ? files[composeIdx] : undefined;
  useEffect(() => {
    let live = true;
    const file = compose?.file;
    if (!file) return;
    readText(file)
      .then((text) => live && setRead({ file, text }))
      .catch((e: unknown) => console.error("[sdmd import] reading the compose file", e));
    return () => {
      live = false;
    };
  }, [compose]);
  const composeText = read && read.file === compose?.file ? read.text : null;
  const docName = useMemo(
    () => (composeText === null ? null : documentName(composeText)),
    [composeText],
  );

  const add = (picked: Picked[]) => {
    setError(null);
    setCreated(null);
    // A file added again under the same path replaces the earlier one.
    const byPath = new Map(files.map((f) => [f.path, f]));
    for (const p of picked) byPath.set(p.path, p);
    const next = [...byPath.values()];
    setFiles(next);
    setComposeIdx(detectCompose(next.map((f) => f.path)));
  };
  const remove = (i: number) => {
    const next = files.filter((_, j) => j !== i);
    setFiles(next);
    setComposeIdx(detectCompose(next.map((f) => f.path)));
  };

  const submit = async (e: React.FormEvent) => {
    e.preventDefault();
    if (!compose) return;
    setSaving(true);
    setError(null);
    try {
      const v = await api.createProject({
        compose: compose.file,
        name: docName ? undefined : name.trim(),
        files: files.filter((_, i) => i !== composeIdx).map((f) => [f.path, f.file]),
      });
      if (v.warnings?.length) setCreated(v);
      else onCreated(v);
    } catch (err) {
      setError(toApiError(err));
    } finally {
      setSaving(false);
    }
  };

  const others = files.filter((_, i) => i !== composeIdx);
  const needsName = compose !== undefined && composeText !== null && docName === null;
  return (
    <form onSubmit={submit} className="flex flex-col gap-4" aria-label="Import a compose project">
      <div
        className={cn(
          "flex flex-col items-center gap-2 rounded-lg border-2 border-dashed p-8 text-center text-sm",
          over && "border-ring bg-muted/50",
        )}
        data-testid="drop-zone"
        onDragOver={(e) => {
          e.preventDefault();
          setOver(true);
        }}
        onDragLeave={() => setOver(false)}
        onDrop={(e) => {
          e.preventDefault();
          setOver(false);
          void droppedFiles(e.dataTransfer)
            .then(add)
            .catch((err: unknown) => console.error("[sdmd import] reading the drop", err));
        }}
      >
        <UploadIcon className="size-6 text-muted-foreground" />
        <p>
          Drop the compose file with its <code>.env</code> and other files here (or the whole
          project folder).
        </p>
        <div className="flex flex-wrap justify-center gap-2">
          <input
            ref={pickRef}
            type="file"
            multiple
            className="sr-only"
            aria-label="Pick project files"
            onChange={(e) => {
              add(fromInput(e.target.files));
              e.target.value = "";
            }}
          />
          <input
            ref={dirRef}
            type="file"
            className="sr-only"
            aria-label="Pick a project folder"
            onChange={(e) => {
              add(fromInput(e.target.files));
              e.target.value = "";
            }}
          />
          <Button
            type="button"
            variant="outline"
            size="sm"
            onClick={() => pickRef.current?.click()}
          >
            <FileUpIcon /> Choose files
          </Button>
          <Button type="button" variant="outline" size="sm" onClick={() => dirRef.current?.click()}>
            <FileUpIcon /> Choose a folder
          </Button>
        </div>
      </div>

      {files.length > 0 && (
        <div className="flex flex-col gap-2">
          <h3 className="text-sm font-medium">Files that will be sent</h3>
          <ul
            className="flex flex-col divide-y rounded-lg border text-sm"
            data-testid="import-files"
          >
            {files.map((f, i) => (
              <li key={f.path} className="flex flex-wrap items-center gap-2 px-3 py-2">
                <FileIcon className="size-4 text-muted-foreground" />
                <span className="font-mono break-all">{f.path}</span>
                {i === composeIdx && <Badge>compose</Badge>}
                <span className="flex-1" />
                <span className="text-xs text-muted-foreground">{formatSize(f.file.size)}</span>
                <Button
                  type="button"
                  variant="ghost"
                  size="sm"
                  aria-label={`Remove ${f.path}`}
                  onClick={() => remove(i)}
                >
                  <XIcon />
                </Button>
              </li>
            ))}
          </ul>
          <div className="grid gap-4 sm:grid-cols-2">
            <div className="grid content-start gap-1.5">
              <Label htmlFor="import-compose">Compose file</Label>
              <SimpleSelect
                id="import-compose"
                value={String(composeIdx)}
                onValueChange={(v) => setComposeIdx(Number(v))}
                options={[
                  { value: "-1", label: "Choose the compose file…" },
                  ...files.map((f, i) => ({ value: String(i), label: f.path })),
                ]}
              />
              {composeIdx < 0 && (
                <p className="text-xs text-muted-foreground">
                  No <code>compose.yaml</code> or <code>docker-compose.yml</code> among the files:
                  say which one it is.
                </p>
              )}
            </div>
            {needsName && (
              <div className="grid content-start gap-1.5">
                <Label htmlFor="import-name">Service name</Label>
                <Input
                  id="import-name"
                  value={name}
                  onChange={(e) => setName(e.target.value)}
                  required
                />
                <p className="text-xs text-muted-foreground">
                  The document has no <code>name</code>. Lowercase letters, digits and dashes.
                </p>
              </div>
            )}
            {docName && (
              <p className="self-end text-sm text-muted-foreground">
                Service name from the document: <strong>{docName}</strong>
              </p>
            )}
          </div>
          {others.length === 0 && compose && (
            <p className="text-xs text-muted-foreground">
              Only the compose file: add its <code>.env</code> and other files if it uses them.
            </p>
          )}
        </div>
      )}

      {error && (
        <Alert variant={error.transient ? "warning" : "destructive"}>
          <AlertTitle>
            {error.code === "validation_failed" ? "The project has problems" : "Couldn't import"}
          </AlertTitle>
          <AlertDescription>
            <p>
              {error.code === "validation_failed"
                ? "Fix these in your files, then import again."
                : error.friendly}
            </p>
            {error.problems.length > 0 && (
              <ul className="mt-1 list-disc pl-5 font-mono text-xs" data-testid="import-problems">
                {error.problems.map((p, i) => {
                  const at =
                    p.field && composeText !== null && !p.field.startsWith("files.")
                      ? lineOfPath(composeText, p.field)
                      : null;
                  return (
                    <li key={i}>
                      {at ? `${compose?.path ?? "compose"} line ${at.line} · ` : ""}
                      {p.field ? `${p.field}: ` : ""}
                      {p.message}
                    </li>
                  );
                })}
              </ul>
            )}
            {error.code === "malformed_body" && typeof error.details === "string" && (
              <p className="mt-1 font-mono text-xs">{error.details}</p>
            )}
          </AlertDescription>
        </Alert>
      )}

      {created && (
        <>
          <WarningsNotice warnings={created.warnings} />
          <div>
            <Button type="button" onClick={() => onCreated(created)}>
              Open {created.name}
            </Button>
          </div>
        </>
      )}

      {!created && (
        <div>
          <Button type="submit" disabled={saving || !compose || (needsName && !name.trim())}>
            {saving ? <Loader2Icon className="animate-spin" /> : <UploadIcon />} Import project
          </Button>
        </div>
      )}
    </form>
  );
}
