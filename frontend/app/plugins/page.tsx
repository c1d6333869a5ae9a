"use client";

import { Loader2Icon, PlugIcon, UploadIcon } from "lucide-react";
import Link from "next/link";
import { useRef, useState } from "react";

import { EmptyState, ErrorState } from "@/components/app/error-state";
import { useToast } from "@/components/app/toaster";
import { Badge } from "@/components/ui/badge";
import { Button } from "@/components/ui/button";
import { Skeleton } from "@/components/ui/skeleton";
import { keys, useApiQuery } from "@/lib/query";
import { api, toApiError } from "@/lib/api";
import { pluginHref } from "@/lib/plugins";
import { timeAgo } from "@/lib/utils";

export default function PluginsPage() {
  const toast = useToast();
  const list = useApiQuery(keys.plugins, () => api.listPlugins());
  const file = useRef<HTMLInputElement>(null);
  const [uploading, setUploading] = useState(false);

  const upload = async (f: File | undefined) => {
    if (!f) return;
    setUploading(true);
    try {
      const p = await api.uploadPlugin(f);
      toast(
        "success",
        `Uploaded ${p.manifest?.name ?? p.id} ${p.version}. Review its capabilities, then enable it.`,
      );
      list.reload();
    } catch (e) {
      const err = toApiError(e);
      toast("error", `Upload ${f.name}: ${err.friendly}`);
    } finally {
      setUploading(false);
      if (file.current) file.current.value = "";
    }
  };

  return (
    <div className="flex flex-col gap-4">
      <div className="flex flex-wrap items-center gap-3">
        <h1 className="text-2xl font-semibold tracking-tight">Plugins</h1>
        <div className="flex-1" />
        <input
          ref={file}
          type="file"
          accept=".wasm,application/wasm"
          className="sr-only"
          aria-label="Upload a plugin component"
          onChange={(e) => void upload(e.target.files?.[0])}
        />
        <Button onClick={() => file.current?.click()} disabled={uploading}>
          {uploading ? <Loader2Icon className="animate-spin" /> : <UploadIcon />} Upload plugin
        </Button>
      </div>
      <p className="text-sm text-muted-foreground">
        WebAssembly components that decide updates, judge health after an update, or deliver
        notifications. A new plugin starts disabled with nothing granted.
      </p>
      {list.error && !list.data && (
        <ErrorState error={list.error} onRetry={list.reload} title="Couldn't load plugins" />
      )}
      {!list.data && !list.error && (
        <div className="grid gap-3 sm:grid-cols-2" aria-busy>
          <Skeleton className="h-28" />
          <Skeleton className="h-28" />
        </div>
      )}
      {list.data && list.data.plugins.length === 0 && (
        <EmptyState icon={PlugIcon} title="No plugins yet">
          Upload a <code>.wasm</code> component built for <code>sdmd:plugin</code>.
        </EmptyState>
      )}
      {list.data && list.data.plugins.length > 0 && (
        <ul className="grid gap-3 sm:grid-cols-2">
          {list.data.plugins.map((p) => (
            <li key={p.id}>
              <Link
                href={pluginHref(p.id)}
                className="flex h-full flex-col gap-2 rounded-xl border p-4 hover:bg-muted/40 focus-visible:ring-[3px] focus-visible:ring-ring/50 focus-visible:outline-none"
              >
                <div className="flex flex-wrap items-center gap-2">
                  <span className="font-medium">{p.manifest?.name ?? p.id}</span>
                  <span className="font-mono text-xs text-muted-foreground">{p.version}</span>
                  <span className="flex-1" />
                  <Badge variant={p.enabled ? "success" : "secondary"}>
                    {p.enabled ? "enabled" : "disabled"}
                  </Badge>
                </div>
                <p className="line-clamp-2 text-sm text-muted-foreground">
                  {p.manifest?.description || p.id}
                </p>
                <div className="flex flex-wrap items-center gap-1">
                  {(p.manifest?.kinds ?? []).map((k) => (
                    <Badge key={k} variant="outline">
                      {k}
                    </Badge>
                  ))}
                  {p.missing_grants.length > 0 && (
                    <Badge variant="warning">needs grant: {p.missing_grants.join(", ")}</Badge>
                  )}
                  <span className="flex-1" />
                  <span className="text-xs text-muted-foreground">
                    updated {timeAgo(p.updated_at)}
                  </span>
                </div>
              </Link>
            </li>
          ))}
        </ul>
      )}
    </div>
  );
}
