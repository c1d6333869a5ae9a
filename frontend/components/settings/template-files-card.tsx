"use client";

import { FileUpIcon, Loader2Icon, Trash2Icon } from "lucide-react";
import { useRef, useState } from "react";

import { useToast } from "@/components/app/toaster";
import { Alert, AlertDescription, AlertTitle } from "@/components/ui/alert";
import { Button } from "@/components/ui/button";
import { SettingsCard } from "@/components/ui/settings-card";
import { api, toApiError, type ApiError } from "@/lib/api";
import { invalidate, keys, useApiQuery } from "@/lib/query";

/** A file's name as the server takes it: letters, digits, `.`, `_`, `-`, starting with one. */
export function catalogFileName(name: string): string {
  const cleaned = name.replace(/[^A-Za-z0-9._-]+/g, "-").replace(/^[^A-Za-z0-9]+/, "");
  return cleaned.slice(0, 128) || "catalog.json";
}

/**
 * Settings → Template files: catalog files (Portainer v2 JSON, a CasaOS app compose, Yacht
 * JSON) uploaded as they are; their templates are listed after the bundled ones. A file that
 * is not a catalog is refused with the template and field at fault.
 */
export function TemplateFilesCard() {
  const toast = useToast();
  const catalog = useApiQuery(keys.templates, (signal) => api.listTemplates(signal));
  const input = useRef<HTMLInputElement>(null);
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<ApiError | null>(null);
  const files = (catalog.data?.sources ?? []).filter((s) => s.source.startsWith("file:"));

  const upload = async (file: File) => {
    setBusy(true);
    setError(null);
    try {
      const name = catalogFileName(file.name);
      const r = await api.putTemplateFile(name, await file.text());
      toast("success", `${r.templates} template${r.templates === 1 ? "" : "s"} from ${r.name}.`);
      void invalidate(keys.templates);
    } catch (e) {
      setError(toApiError(e));
    } finally {
      setBusy(false);
      if (input.current) input.current.value = "";
    }
  };
  const remove = async (name: string) => {
    try {
      await api.deleteTemplateFile(name);
      toast("success", `Removed ${name}.`);
      void invalidate(keys.templates);
    } catch (e) {
      toast("error", `Remove ${name}: ${toApiError(e).friendly}`);
    }
  };

  return (
    <SettingsCard
      icon={FileUpIcon}
      title="Template files"
      description="Catalog files (Portainer v2, CasaOS app compose or Yacht, at most 2 MiB) uploaded as they are; their templates are listed after the bundled ones."
    >
      <div className="flex flex-col gap-3">
        {error && (
          <Alert variant="destructive">
            <AlertTitle>That file is not a catalog SDMD can read</AlertTitle>
            <AlertDescription>
              {error.problems.length ? (
                <ul className="list-disc pl-5 font-mono text-xs">
                  {error.problems.map((p, i) => (
                    <li key={i}>
                      {p.field}: {p.message}
                    </li>
                  ))}
                </ul>
              ) : (
                <p>{error.friendly}</p>
              )}
            </AlertDescription>
          </Alert>
        )}
        {files.length > 0 && (
          <ul className="flex flex-col gap-1 text-sm" aria-label="Uploaded catalog files">
            {files.map((f) => {
              const name = f.source.slice("file:".length);
              return (
                <li key={f.source} className="flex items-center gap-2">
                  <code className="flex-1 font-mono">{name}</code>
                  <span className="text-xs text-muted-foreground">
                    {f.error ? f.error : `${f.templates} templates`}
                  </span>
                  <Button
                    type="button"
                    variant="ghost"
                    size="sm"
                    aria-label={`Remove ${name}`}
                    onClick={() => void remove(name)}
                  >
                    <Trash2Icon />
                  </Button>
                </li>
              );
            })}
          </ul>
        )}
        <div>
          <input
            ref={input}
            type="file"
            accept=".json,.yml,.yaml,application/json,application/yaml"
            aria-label="Catalog file"
            className="sr-only"
            onChange={(e) => {
              const f = e.target.files?.[0];
              if (f) void upload(f);
            }}
          />
          <Button
            type="button"
            variant="outline"
            disabled={busy}
            onClick={() => input.current?.click()}
          >
            {busy ? <Loader2Icon className="animate-spin" /> : <FileUpIcon />} Upload catalog file
          </Button>
        </div>
      </div>
    </SettingsCard>
  );
}
