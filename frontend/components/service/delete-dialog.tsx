"use client";

import { Trash2Icon } from "lucide-react";
import { useState } from "react";

import { Button } from "@/components/ui/button";
import { Checkbox } from "@/components/ui/checkbox";
import { ConfirmDialog } from "@/components/ui/confirm-dialog";
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

  const go = async () => {
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
    <ConfirmDialog
      open={open}
      onOpenChange={(o) => {
        setOpen(o);
        if (!o) {
          setTyped("");
          setVolumes(false);
          setError(null);
        }
      }}
      trigger={
        <Button variant="outline" className="text-destructive">
          <Trash2Icon /> Delete
        </Button>
      }
      title={`Delete ${name}?`}
      description="Its containers, its network and its definition (with every revision) are removed. This cannot be undone."
      confirmLabel="Delete service"
      destructive
      confirmDisabled={typed !== name}
      busy={busy}
      error={error}
      onConfirm={() => void go()}
    >
      <label className="flex items-start gap-2 text-sm">
        <Checkbox
          className="mt-0.5 data-[state=checked]:border-destructive data-[state=checked]:bg-destructive"
          checked={volumes}
          onCheckedChange={(on) => setVolumes(on === true)}
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
    </ConfirmDialog>
  );
}
