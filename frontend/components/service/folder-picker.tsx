"use client";

import { ArrowUpIcon, FolderIcon, FolderPlusIcon, Loader2Icon } from "lucide-react";
import { useState } from "react";

import { Button } from "@/components/ui/button";
import {
  Dialog,
  DialogContent,
  DialogDescription,
  DialogFooter,
  DialogHeader,
  DialogTitle,
} from "@/components/ui/dialog";
import { Input } from "@/components/ui/input";
import { Label } from "@/components/ui/label";
import { api } from "@/lib/api";
import { hostPathOf, type PickerRoot } from "@/lib/definition-form";
import { useApiQuery } from "@/lib/query";

/**
 * The mount picker (loaded lazily: only opened from a mount row's Browse button). It walks the
 * folders `GET /api/v1/fs/dirs` allows — the data root (`APPDATA`) and the shared roots — and
 * hands back the chosen folder as a mount source ({@link hostPathOf}: `${MEDIA}/films`, `./data`
 * in the service's own folder, else the absolute path). A path outside the roots shows the
 * server's message. "New folder in app data" gives `./<name>` (created on deploy).
 */
export default function FolderPicker({
  open,
  onOpenChange,
  service,
  onPick,
}: {
  open: boolean;
  onOpenChange: (open: boolean) => void;
  /** The service's name: its folder in the data root is where `./` points. */
  service: string;
  onPick: (source: string) => void;
}) {
  // The folder listed (undefined: the roots); the roots are kept for writing the picked path.
  const [path, setPath] = useState<string | undefined>(undefined);
  const [typed, setTyped] = useState("");
  const [fresh, setFresh] = useState("");
  const rootsQ = useApiQuery(["fs", "dirs", ""], (signal) => api.listDirs(undefined, signal), {
    enabled: open,
  });
  const dirs = useApiQuery(["fs", "dirs", path ?? ""], (signal) => api.listDirs(path, signal), {
    enabled: open,
  });
  const roots: PickerRoot[] = rootsQ.data?.dirs ?? [];
  const view = dirs.data ?? null;
  const busy = dirs.loading;
  const error = dirs.error
    ? (dirs.error.problems.find((p) => p.field === "path")?.message ?? dirs.error.friendly)
    : null;
  const go = (p?: string) => {
    setPath(p || undefined);
    setTyped(p ?? "");
  };

  const pick = (source: string) => {
    onPick(source);
    onOpenChange(false);
  };
  const folder = fresh.trim().replace(/^\.?\/+/, "");

  return (
    <Dialog open={open} onOpenChange={onOpenChange}>
      <DialogContent>
        <DialogHeader>
          <DialogTitle>Choose a folder</DialogTitle>
          <DialogDescription>
            Folders in the data root and the shared roots. A folder under a shared root is written
            as <code>${"{NAME}"}/…</code>, one in this service&apos;s folder as <code>./…</code>.
          </DialogDescription>
        </DialogHeader>
        <form
          className="flex gap-2"
          onSubmit={(e) => {
            e.preventDefault();
            go(typed.trim() || undefined);
          }}
        >
          <Label htmlFor="picker-path" className="sr-only">
            Folder path
          </Label>
          <Input
            id="picker-path"
            value={typed}
            onChange={(e) => setTyped(e.target.value)}
            placeholder="/ (the roots)"
            className="font-mono"
            aria-invalid={error ? true : undefined}
            aria-describedby={error ? "picker-error" : undefined}
          />
          <Button type="submit" variant="outline" size="sm">
            Go
          </Button>
        </form>
        {error && (
          <p id="picker-error" role="alert" className="text-sm text-destructive">
            {error}
          </p>
        )}
        <div className="flex items-center gap-2 text-xs text-muted-foreground">
          {view?.path ? (
            <>
              <Button
                type="button"
                variant="ghost"
                size="sm"
                onClick={() => go(view.parent ?? undefined)}
              >
                <ArrowUpIcon /> {view.parent ? "Up" : "Roots"}
              </Button>
              <span className="font-mono break-all">
                {view.root}: {view.path}
              </span>
            </>
          ) : path ? (
            <Button type="button" variant="ghost" size="sm" onClick={() => go(undefined)}>
              <ArrowUpIcon /> Roots
            </Button>
          ) : (
            <span>Roots</span>
          )}
          {busy && <Loader2Icon className="size-4 animate-spin" aria-label="Loading" />}
        </div>
        <ul className="max-h-64 overflow-y-auto rounded-md border" aria-label="Folders">
          {view?.dirs.map((d) => (
            <li key={d.path}>
              <button
                type="button"
                className="flex w-full items-center gap-2 px-3 py-1.5 text-left font-mono text-sm hover:bg-muted"
                onClick={() => go(d.path)}
              >
                <FolderIcon className="size-4 shrink-0" /> {d.name}
              </button>
            </li>
          ))}
          {view && view.dirs.length === 0 && (
            <li className="px-3 py-1.5 text-sm text-muted-foreground">No sub-folders.</li>
          )}
          {view?.truncated && (
            <li className="px-3 py-1.5 text-xs text-muted-foreground">
              More folders exist than listed: type the path above.
            </li>
          )}
        </ul>
        <div className="flex items-end gap-2">
          <div className="grid flex-1 gap-1.5">
            <Label htmlFor="picker-new">New folder in app data</Label>
            <Input
              id="picker-new"
              value={fresh}
              onChange={(e) => setFresh(e.target.value)}
              placeholder="data"
              className="font-mono"
            />
          </div>
          <Button
            type="button"
            variant="outline"
            size="sm"
            disabled={!folder}
            onClick={() => pick(`./${folder}`)}
          >
            <FolderPlusIcon /> Use ./{folder || "…"}
          </Button>
        </div>
        <DialogFooter>
          <Button type="button" variant="outline" onClick={() => onOpenChange(false)}>
            Cancel
          </Button>
          <Button
            type="button"
            disabled={!view?.path}
            onClick={() => view?.path && pick(hostPathOf(view.path, roots, service))}
          >
            Use this folder
          </Button>
        </DialogFooter>
      </DialogContent>
    </Dialog>
  );
}
