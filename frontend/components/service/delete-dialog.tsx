"use client";

import { Loader2Icon, Trash2Icon } from "lucide-react";
import { useState } from "react";

import { Button } from "@/components/ui/button";
import {
  Dialog,
  DialogContent,
  DialogDescription,
  DialogFooter,
  DialogHeader,
  DialogTitle,
  DialogTrigger,
} from "@/components/ui/dialog";
import { Input } from "@/components/ui/input";
import { Label } from "@/components/ui/label";
import { api, toApiError } from "@/lib/api";

/** Delete with type-the-name-to-confirm and an explicit choice about volumes. */
export function DeleteDialog({ name, onDeleted }: { name: string; onDeleted: () => void }) {
  const [open, setOpen] = useState(false);
  const [typed, setTyped] = useState("");
  const [volumes, setVolumes] = useState(false);
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);

  const go = async (e: React.FormEvent) => {
    e.preventDefault();
    setBusy(true);
    setError(null);
    try {
      await api.deleteService(name, volumes);
      setOpen(false);
      onDeleted();
    } catch (err) {
      setError(toApiError(err).friendly);
    } finally {
      setBusy(false);
    }
  };

  return (
    <Dialog
      open={open}
      onOpenChange={(o) => {
        setOpen(o);
        if (!o) {
          setTyped("");
          setVolumes(false);
          setError(null);
        }
      }}
    >
      <DialogTrigger asChild>
        <Button variant="outline" className="text-destructive">
          <Trash2Icon /> Delete
        </Button>
      </DialogTrigger>
      <DialogContent>
        <form onSubmit={go} className="grid gap-4">
          <DialogHeader>
            <DialogTitle>Delete {name}?</DialogTitle>
            <DialogDescription>
              Its containers, its network and its definition (with every revision) are removed. This
              cannot be undone.
            </DialogDescription>
          </DialogHeader>
          <label className="flex items-start gap-2 text-sm">
            <input
              type="checkbox"
              className="mt-0.5 size-4 accent-destructive"
              checked={volumes}
              onChange={(e) => setVolumes(e.target.checked)}
            />
            <span>
              Also remove its named volumes{" "}
              <span className="text-muted-foreground">(their data is lost)</span>
            </span>
          </label>
          <div className="grid gap-2">
            <Label htmlFor="confirm-name">
              Type <span className="font-mono">{name}</span> to confirm
            </Label>
            <Input
              id="confirm-name"
              value={typed}
              onChange={(e) => setTyped(e.target.value)}
              autoComplete="off"
            />
          </div>
          {error && (
            <p role="alert" className="text-sm text-destructive">
              {error}
            </p>
          )}
          <DialogFooter>
            <Button type="button" variant="outline" onClick={() => setOpen(false)}>
              Cancel
            </Button>
            <Button type="submit" variant="destructive" disabled={typed !== name || busy}>
              {busy && <Loader2Icon className="animate-spin" />} Delete service
            </Button>
          </DialogFooter>
        </form>
      </DialogContent>
    </Dialog>
  );
}
