"use client";

import { Loader2Icon, ShieldAlertIcon, WrenchIcon } from "lucide-react";
import { useState } from "react";

import { useToast } from "@/components/app/toaster";
import { Alert, AlertDescription, AlertTitle } from "@/components/ui/alert";
import { Button } from "@/components/ui/button";
import { ConfirmDialog } from "@/components/ui/confirm-dialog";
import { api, toApiError } from "@/lib/api";
import { invalidate, keys, useApiQuery } from "@/lib/query";

/**
 * A managed service's bind sources owned by another user than the member runs as (the deploy
 * warning `bind_owner_mismatch`), from the permissions dry run, with the fix. Shows nothing when
 * there is nothing to fix; a failure is a small note.
 */
export function PermissionsCard({ service }: { service: string }) {
  const toast = useToast();
  const plan = useApiQuery(keys.permissions(service), (signal) =>
    api.fixPermissions(service, false, signal),
  );
  const [confirm, setConfirm] = useState(false);
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);

  if (plan.error && !plan.data)
    return (
      <p className="text-sm text-muted-foreground" role="status">
        Couldn&apos;t check file permissions: {plan.error.friendly}{" "}
        <button type="button" className="underline" onClick={plan.reload}>
          Retry
        </button>
      </p>
    );
  const changes = plan.data?.changes ?? [];
  if (!changes.length) return null;

  const fix = async () => {
    setBusy(true);
    setError(null);
    try {
      const r = await api.fixPermissions(service, true);
      setConfirm(false);
      toast(
        "success",
        `Fixed permissions of ${r.changes.length} folder${r.changes.length === 1 ? "" : "s"}.`,
      );
      void invalidate(keys.permissions(service));
    } catch (e) {
      setError(toApiError(e).friendly);
    } finally {
      setBusy(false);
    }
  };

  return (
    <Alert variant="warning" aria-label="File permissions">
      <ShieldAlertIcon />
      <AlertTitle>
        {changes.length} folder{changes.length === 1 ? " is" : "s are"} owned by another user than
        the app runs as
      </AlertTitle>
      <AlertDescription>
        <ul className="my-1 flex flex-col gap-1 text-xs">
          {changes.map((c) => (
            <li key={c.path}>
              <code className="font-mono">{c.path}</code> ({c.member}): owned by{" "}
              <code>{c.owner}</code>, runs as <code>{c.to}</code>
              {c.entries > 1 && ` · ${c.entries} entries`}
            </li>
          ))}
        </ul>
        <ConfirmDialog
          open={confirm}
          onOpenChange={setConfirm}
          trigger={
            <Button size="sm" variant="outline" disabled={busy}>
              {busy ? <Loader2Icon className="animate-spin" /> : <WrenchIcon />} Fix permissions
            </Button>
          }
          title="Fix permissions?"
          description={`Each listed folder, with everything in it, gets the owner its app runs as (chown -R). This is recorded in the audit log.`}
          confirmLabel="Fix permissions"
          busy={busy}
          error={error ?? undefined}
          onConfirm={() => void fix()}
        />
      </AlertDescription>
    </Alert>
  );
}
