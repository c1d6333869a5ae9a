"use client";

import { Loader2Icon } from "lucide-react";
import * as React from "react";

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

/**
 * The one confirm pattern: a title naming the action and its object, what happens, optional
 * extra inputs (`children`), Cancel and the action's own verb. The body is a `<form>`, so Enter
 * confirms from an input; Escape, the close button and Cancel dismiss (Radix Dialog: focus is
 * trapped inside and returns to the trigger). `confirmDisabled` holds the action until the
 * inputs allow it; `busy` shows a spinner; `error` is shown as an alert above the buttons.
 */
export function ConfirmDialog({
  open,
  onOpenChange,
  trigger,
  title,
  description,
  confirmLabel,
  destructive = false,
  confirmDisabled = false,
  busy = false,
  error,
  autoFocusConfirm = false,
  onConfirm,
  children,
}: {
  open: boolean;
  onOpenChange: (open: boolean) => void;
  /** An element that opens the dialog (rendered with `DialogTrigger asChild`). */
  trigger?: React.ReactElement;
  title: React.ReactNode;
  description: React.ReactNode;
  confirmLabel: React.ReactNode;
  destructive?: boolean;
  confirmDisabled?: boolean;
  busy?: boolean;
  error?: string | null;
  /** Focus the confirm button on open (when there are no inputs to fill first). */
  autoFocusConfirm?: boolean;
  onConfirm: () => void;
  children?: React.ReactNode;
}) {
  const submit = (e: React.FormEvent) => {
    e.preventDefault();
    if (!confirmDisabled && !busy) onConfirm();
  };
  return (
    <Dialog open={open} onOpenChange={onOpenChange}>
      {trigger && <DialogTrigger asChild>{trigger}</DialogTrigger>}
      <DialogContent>
        <form onSubmit={submit} className="grid gap-4">
          <DialogHeader>
            <DialogTitle>{title}</DialogTitle>
            <DialogDescription>{description}</DialogDescription>
          </DialogHeader>
          {children}
          {error && (
            <p role="alert" className="text-sm text-destructive">
              {error}
            </p>
          )}
          <DialogFooter>
            <Button type="button" variant="outline" onClick={() => onOpenChange(false)}>
              Cancel
            </Button>
            <Button
              type="submit"
              variant={destructive ? "destructive" : "default"}
              disabled={confirmDisabled || busy}
              autoFocus={autoFocusConfirm}
            >
              {busy && <Loader2Icon className="animate-spin" />} {confirmLabel}
            </Button>
          </DialogFooter>
        </form>
      </DialogContent>
    </Dialog>
  );
}
