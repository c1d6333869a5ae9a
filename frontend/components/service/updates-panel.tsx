"use client";

import { CalendarClockIcon, HistoryIcon, Loader2Icon, SaveIcon } from "lucide-react";
import dynamic from "next/dynamic";
import { useMemo, useState } from "react";

import { EmptyState, ErrorState } from "@/components/app/error-state";
import { useToast } from "@/components/app/toaster";
import { Badge } from "@/components/ui/badge";
import { Button } from "@/components/ui/button";
import { Card, CardContent, CardDescription, CardHeader, CardTitle } from "@/components/ui/card";
import { Checkbox } from "@/components/ui/checkbox";
import { Input } from "@/components/ui/input";
import { Label } from "@/components/ui/label";
import { SimpleSelect } from "@/components/ui/select";
import { SettingsCard } from "@/components/ui/settings-card";
import { Skeleton } from "@/components/ui/skeleton";
import { Hint } from "@/components/ui/tooltip";
import { keys, useApiQuery } from "@/lib/query";
import { api, toApiError, type ApiError } from "@/lib/api";
import type { Schedule, UpdateRun } from "@/lib/api";
import { timeAgo } from "@/lib/utils";

// Recharts is big: load it only when the history has something to draw.
const UpdatesChart = dynamic(() => import("./updates-chart").then((m) => m.UpdatesChart), {
  ssr: false,
  loading: () => <Skeleton className="h-56 w-full" />,
});

const WEEKDAYS = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"];

function localZone(): string {
  try {
    return Intl.DateTimeFormat().resolvedOptions().timeZone;
  } catch {
    return "UTC";
  }
}

function zones(): string[] {
  const intl = Intl as unknown as { supportedValuesOf?: (k: string) => string[] };
  return intl.supportedValuesOf?.("timeZone") ?? ["UTC"];
}

/** The update schedule (daily/weekly, weekday, time, time zone, mode) and the update history. */
/** The schedule and the history; both refresh from the event stream (lib/query). */
export function UpdatesPanel({ service }: { service: string }) {
  return (
    <div className="flex flex-col gap-4">
      <ScheduleEditor service={service} />
      <UpdateHistory service={service} />
    </div>
  );
}

function ScheduleEditor({ service }: { service: string }) {
  const toast = useToast();
  const current = useApiQuery(keys.schedule(service), () => api.getSchedule(service));
  const [draft, setDraft] = useState<Schedule | null>(null);
  const [error, setError] = useState<ApiError | null>(null);
  const [saving, setSaving] = useState(false);
  const zoneList = useMemo(() => zones(), []);
  const sc: Schedule | undefined =
    draft ??
    (current.data
      ? { ...current.data, timezone: current.data.timezone || localZone() }
      : undefined);

  if (current.error && !current.data)
    return (
      <ErrorState
        error={current.error}
        onRetry={current.reload}
        title="Couldn't load the schedule"
      />
    );
  if (!sc) return <Skeleton className="h-40 w-full" />;

  const set = (patch: Partial<Schedule>) => setDraft({ ...sc, ...patch });
  const problem = (f: string) => error?.problems.filter((p) => p.field === f).map((p) => p.message);
  const save = async (e: React.FormEvent) => {
    e.preventDefault();
    setSaving(true);
    setError(null);
    try {
      const saved = await api.putSchedule(service, {
        ...sc,
        weekday: sc.frequency === "weekly" ? (sc.weekday ?? "mon") : null,
      });
      setDraft(null);
      current.setData(saved);
      toast(
        "success",
        saved.enabled
          ? `Schedule saved. Next run ${saved.next_run ? new Date(saved.next_run).toLocaleString() : "soon"}.`
          : "Schedule saved (disabled).",
      );
    } catch (err) {
      setError(toApiError(err));
    } finally {
      setSaving(false);
    }
  };

  const field = (id: string, label: string, errs: string[] | undefined, input: React.ReactNode) => (
    <div className="grid content-start gap-1.5">
      <Label htmlFor={id}>{label}</Label>
      {input}
      {errs?.map((m) => (
        <p key={m} className="text-xs text-destructive" id={`${id}-err`}>
          {m}
        </p>
      ))}
    </div>
  );

  return (
    <SettingsCard
      icon={CalendarClockIcon}
      title="Update schedule"
      description={
        <>
          {current.data?.enabled && current.data.next_run
            ? `Next run ${new Date(current.data.next_run).toLocaleString()}.`
            : "Updates run only when you start them."}
        </>
      }
      contentClassName="block"
    >
      <form onSubmit={save} className="grid gap-4 sm:grid-cols-3" aria-label="Update schedule">
        <div className="flex items-center gap-2 sm:col-span-3">
          <Checkbox
            id="sc-enabled"
            checked={sc.enabled}
            onCheckedChange={(on) => set({ enabled: on === true })}
          />
          <Label htmlFor="sc-enabled" className="font-normal">
            Run on a schedule
          </Label>
        </div>
        {field(
          "sc-frequency",
          "Frequency",
          problem("frequency"),
          <SimpleSelect
            id="sc-frequency"
            value={sc.frequency}
            onValueChange={(v) => set({ frequency: v as Schedule["frequency"] })}
            options={[
              { value: "daily", label: "Daily" },
              { value: "weekly", label: "Weekly" },
            ]}
          />,
        )}
        {sc.frequency === "weekly" &&
          field(
            "sc-weekday",
            "Weekday",
            problem("weekday"),
            <SimpleSelect
              id="sc-weekday"
              value={sc.weekday ?? "mon"}
              onValueChange={(v) => set({ weekday: v as Schedule["weekday"] })}
              options={WEEKDAYS.map((d) => ({ value: d, label: d }))}
            />,
          )}
        {field(
          "sc-time",
          "Time of day",
          problem("time"),
          <Input
            id="sc-time"
            type="time"
            value={sc.time}
            onChange={(e) => set({ time: e.target.value })}
            required
          />,
        )}
        {field(
          "sc-timezone",
          "Time zone",
          problem("timezone"),
          <>
            <Input
              id="sc-timezone"
              list="sc-zones"
              value={sc.timezone}
              onChange={(e) => set({ timezone: e.target.value })}
              required
            />
            <datalist id="sc-zones">
              {zoneList.map((z) => (
                <option key={z} value={z} />
              ))}
            </datalist>
          </>,
        )}
        {field(
          "sc-mode",
          "Mode",
          problem("mode"),
          <SimpleSelect
            id="sc-mode"
            value={sc.mode}
            onValueChange={(v) => set({ mode: v as Schedule["mode"] })}
            options={[
              { value: "update", label: "Check and update" },
              { value: "check", label: "Check only (report)" },
            ]}
          />,
        )}
        {error && error.problems.length === 0 && (
          <p role="alert" className="text-sm text-destructive sm:col-span-3">
            {error.friendly}
          </p>
        )}
        <div className="sm:col-span-3">
          <Button type="submit" disabled={saving || !draft}>
            {saving ? <Loader2Icon className="animate-spin" /> : <SaveIcon />} Save schedule
          </Button>
        </div>
      </form>
    </SettingsCard>
  );
}

function resultVariant(r: string | null | undefined) {
  if (r === "updated" || r === "up_to_date" || r === "ok") return "success" as const;
  if (r === "rolled_back" || r === "update_available") return "warning" as const;
  if (!r) return "secondary" as const;
  return "destructive" as const;
}

function UpdateHistory({ service }: { service: string }) {
  const runs = useApiQuery(keys.updates(service), () => api.updateHistory(service));
  return (
    <Card>
      <CardHeader className="flex-col">
        <CardTitle className="flex items-center gap-2">
          <HistoryIcon className="size-4" /> Update history
        </CardTitle>
        <CardDescription>Checks and updates, their results and how long they took.</CardDescription>
      </CardHeader>
      <CardContent className="flex flex-col gap-4">
        {runs.error && !runs.data && (
          <ErrorState error={runs.error} onRetry={runs.reload} title="Couldn't load the history" />
        )}
        {!runs.data && !runs.error && <Skeleton className="h-40 w-full" />}
        {runs.data && runs.data.length === 0 && (
          <EmptyState icon={HistoryIcon} title="No checks or updates yet">
            Use <em>Check for updates</em> or <em>Update</em> in the actions menu, or set a
            schedule.
          </EmptyState>
        )}
        {runs.data && runs.data.length > 0 && (
          <>
            <UpdatesChart runs={runs.data} />
            <RunList runs={runs.data} />
          </>
        )}
      </CardContent>
    </Card>
  );
}

function RunList({ runs }: { runs: UpdateRun[] }) {
  return (
    <ol className="divide-y rounded-lg border text-sm">
      {runs.map((r) => (
        <li key={r.id} className="flex flex-wrap items-center gap-2 px-3 py-2">
          <Badge variant={resultVariant(r.result)}>{r.result ?? "running"}</Badge>
          <span className="font-medium">{r.kind}</span>
          <span className="text-muted-foreground">
            {r.trigger} by {r.actor}
          </span>
          {r.reason && <span className="text-xs text-muted-foreground">— {r.reason}</span>}
          <span className="flex-1" />
          <Hint content={r.started_at}>
            <time dateTime={r.started_at} tabIndex={0} className="text-xs text-muted-foreground">
              {timeAgo(r.started_at)}
            </time>
          </Hint>
        </li>
      ))}
    </ol>
  );
}
