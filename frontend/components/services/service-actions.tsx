"use client";

import {
  DownloadCloudIcon,
  ImportIcon,
  Loader2Icon,
  MoreHorizontalIcon,
  PlayIcon,
  RefreshCwIcon,
  RocketIcon,
  RotateCwIcon,
  SearchCheckIcon,
  SquareIcon,
} from "lucide-react";
import { useState } from "react";

import { useToast } from "@/components/app/toaster";
import { Button } from "@/components/ui/button";
import { ConfirmDialog } from "@/components/ui/confirm-dialog";
import {
  DropdownMenu,
  DropdownMenuContent,
  DropdownMenuItem,
  DropdownMenuSeparator,
  DropdownMenuTrigger,
} from "@/components/ui/dropdown-menu";
import { api, toApiError, type ServiceAction } from "@/lib/api";
import type { ActionReport, LostSetting, ServiceView } from "@/lib/api";

type Act = ServiceAction | "adopt";

const META: Record<
  Act,
  { label: string; icon: typeof PlayIcon; confirm?: string; managedOnly?: boolean }
> = {
  deploy: { label: "Deploy", icon: RocketIcon, managedOnly: true },
  start: { label: "Start", icon: PlayIcon },
  stop: {
    label: "Stop",
    icon: SquareIcon,
    confirm: "Its containers stop and the service becomes unavailable until it is started again.",
  },
  restart: {
    label: "Restart",
    icon: RotateCwIcon,
    confirm: "The service is briefly unavailable while its containers restart.",
  },
  pull: { label: "Pull images", icon: DownloadCloudIcon, managedOnly: true },
  update: {
    label: "Update",
    icon: RefreshCwIcon,
    managedOnly: true,
    confirm:
      "Pulls new images and recreates the members whose image changed; they are briefly unavailable.",
  },
  check: { label: "Check for updates", icon: SearchCheckIcon, managedOnly: true },
  adopt: { label: "Adopt", icon: ImportIcon },
};

const UPDATE_RESULTS: Record<string, string> = {
  up_to_date: "already up to date",
  updated: "updated",
  rolled_back: "rolled back",
};

/** Summarises an action's report in a sentence. */
export function describeResult(action: Act, r: unknown): string {
  const u = r as { result?: string; reason?: string | null; update_available?: boolean };
  if (action === "check" && typeof u.update_available === "boolean")
    return u.update_available ? "an update is available." : "up to date.";
  if (action === "update" && u.result) {
    const what = UPDATE_RESULTS[u.result] ?? u.result;
    return `Update: ${what}${u.reason ? ` (${u.reason})` : ""}.`;
  }
  const a = r as Partial<ActionReport> & {
    images?: { changed: boolean }[];
    members?: ActionReport;
    pull?: { images: { changed: boolean }[] };
  };
  const parts: string[] = [];
  const rep: Partial<ActionReport> | undefined = a.members ?? a;
  for (const k of ["created", "recreated", "started", "stopped", "removed"] as const) {
    const n = rep?.[k]?.length ?? 0;
    if (n) parts.push(`${n} ${k}`);
  }
  const images = a.images ?? a.pull?.images;
  if (images) {
    const changed = images.filter((i) => i.changed).length;
    parts.push(changed ? `${changed} new image${changed === 1 ? "" : "s"}` : "images up to date");
  }
  const owned = rep?.warnings?.length ?? 0;
  const note = owned
    ? ` ${owned} folder${owned === 1 ? " is" : "s are"} owned by another user than the app runs as: see Fix permissions on the service page.`
    : "";
  return `${META[action].label}: ${parts.length ? parts.join(", ") : "nothing to do"}.${note}`;
}

/** The action buttons of a service: the main one inline, the rest in a keyboard-usable menu. */
export function ServiceActions({
  service,
  onDone,
  onAdopted,
  compact = false,
  deployShown = false,
}: {
  service: Pick<ServiceView, "id" | "name" | "kind" | "status">;
  onDone?: () => void;
  /** After a successful adopt, with the now managed service (its id is the bare name). */
  onAdopted?: (v: ServiceView) => void;
  compact?: boolean;
  /** The page shows its own Deploy button: no second one inline for a not deployed service. */
  deployShown?: boolean;
}) {
  const toast = useToast();
  const [busy, setBusy] = useState<Act | null>(null);
  const [confirm, setConfirm] = useState<Act | null>(null);
  /** What an adopt would lose: shown before "Adopt anyway". */
  const [loss, setLoss] = useState<LostSetting[] | null>(null);
  const managed = service.kind === "managed";

  const run = async (act: Act, acceptLoss = false) => {
    setConfirm(null);
    setLoss(null);
    setBusy(act);
    try {
      if (act === "adopt") {
        const v = await api.adopt(service.id, acceptLoss);
        const n = v.dropped?.length ?? 0;
        toast(
          "success",
          n
            ? `${service.name} is now managed by SDMD, without ${n} setting${n === 1 ? "" : "s"} it can't express.`
            : `${service.name} is now managed by SDMD.`,
        );
        onAdopted?.(v);
      } else {
        const r = await api.action(service.id, act);
        toast("success", `${service.name} — ${describeResult(act, r)}`);
      }
    } catch (e) {
      const err = toApiError(e);
      if (act === "adopt" && err.lostSettings.length) setLoss(err.lostSettings);
      else toast("error", `${META[act].label} ${service.name}: ${err.friendly}`);
    } finally {
      setBusy(null);
      onDone?.();
    }
  };

  const request = (act: Act) => (META[act].confirm ? setConfirm(act) : void run(act));
  const available = (Object.keys(META) as Act[]).filter((a) =>
    a === "adopt" ? !managed : !META[a].managedOnly || managed,
  );
  const primary: Act = !managed
    ? "adopt"
    : service.status === "not_deployed"
      ? "deploy"
      : service.status === "stopped"
        ? "start"
        : "restart";
  const P = META[primary];
  const inline = !compact && !(deployShown && primary === "deploy");

  return (
    <div className="flex items-center justify-end gap-1">
      {inline && (
        <Button
          size="sm"
          variant="outline"
          className="hidden sm:inline-flex"
          disabled={busy !== null}
          onClick={() => request(primary)}
        >
          {busy === primary ? <Loader2Icon className="animate-spin" /> : <P.icon />} {P.label}
        </Button>
      )}
      <DropdownMenu>
        <DropdownMenuTrigger asChild>
          <Button
            size="icon"
            variant="ghost"
            aria-label={`Actions for ${service.name}`}
            disabled={busy !== null}
          >
            {busy ? <Loader2Icon className="animate-spin" /> : <MoreHorizontalIcon />}
          </Button>
        </DropdownMenuTrigger>
        <DropdownMenuContent align="end">
          {available.map((a, i) => {
            const M = META[a];
            return (
              <span key={a}>
                {a === "adopt" && i > 0 && <DropdownMenuSeparator />}
                <DropdownMenuItem
                  onSelect={() => request(a)}
                  variant={a === "stop" ? "destructive" : undefined}
                >
                  <M.icon /> {M.label}
                </DropdownMenuItem>
              </span>
            );
          })}
        </DropdownMenuContent>
      </DropdownMenu>
      <ConfirmDialog
        open={confirm !== null}
        onOpenChange={(o) => !o && setConfirm(null)}
        title={confirm ? `${META[confirm].label} ${service.name}?` : ""}
        description={confirm ? META[confirm].confirm : ""}
        confirmLabel={confirm ? META[confirm].label : ""}
        destructive={confirm === "stop"}
        autoFocusConfirm
        onConfirm={() => confirm && void run(confirm)}
      />
      <ConfirmDialog
        open={loss !== null}
        onOpenChange={(o) => !o && setLoss(null)}
        title={`Adopting ${service.name} would drop settings`}
        description="SDMD can't express these settings of its containers yet. Nothing was stored. If you adopt anyway, the first deploy recreates the containers without them."
        confirmLabel="Adopt anyway"
        destructive
        onConfirm={() => void run("adopt", true)}
      >
        <ul
          className="max-h-64 space-y-2 overflow-y-auto text-sm"
          aria-label="Settings that would be dropped"
        >
          {loss?.map((l) => (
            <li key={`${l.container}/${l.field}`}>
              <span className="font-mono">
                {l.container}: {l.field} = {l.value}
              </span>
              <span className="block text-muted-foreground">{l.message}</span>
            </li>
          ))}
        </ul>
      </ConfirmDialog>
    </div>
  );
}
