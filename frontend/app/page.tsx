"use client";

import { LayersIcon, PlusIcon, SearchIcon } from "lucide-react";
import Link from "next/link";
import { useDeferredValue, useMemo, useState } from "react";

import { EmptyState, ErrorState } from "@/components/app/error-state";
import { ConnectionBadge } from "@/components/app/connection-badge";
import { HostOverview } from "@/components/services/host-overview";
import { ServicesTable, type LiveStats } from "@/components/services/services-table";
import { useHostStats } from "@/components/services/use-host-stats";
import { useLiveServices } from "@/components/services/use-live-services";
import { Button } from "@/components/ui/button";
import { Input } from "@/components/ui/input";
import { SimpleSelect } from "@/components/ui/select";
import { Label } from "@/components/ui/label";
import { Skeleton } from "@/components/ui/skeleton";
import { emptyFilter, filterServices, type ServiceFilter } from "@/lib/filter";
import { statsByService } from "@/lib/observe";

export default function ServicesPage() {
  const { data, error, loading, reload, activity } = useLiveServices();
  const host = useHostStats();
  const live = useMemo<LiveStats | undefined>(
    () =>
      host.data && host.data.source !== "off"
        ? {
            byService: statsByService(host.data),
            hostCpus: host.data.host_cpus,
            hostMemory: host.data.host_memory_bytes,
          }
        : undefined,
    [host.data],
  );
  const [filter, setFilter] = useState<ServiceFilter>(emptyFilter);
  const deferred = useDeferredValue(filter);
  const shown = useMemo(() => filterServices(data ?? [], deferred), [data, deferred]);
  const counts = useMemo(() => {
    const c = { running: 0, stopped: 0, partial: 0, unhealthy: 0, not_deployed: 0 };
    for (const s of data ?? []) c[s.status]++;
    return c;
  }, [data]);

  return (
    <div className="flex flex-col gap-4">
      <div className="flex flex-wrap items-center gap-3">
        <h1 className="text-2xl font-semibold tracking-tight">Services</h1>
        <ConnectionBadge />
        <div className="flex-1" />
        <Button asChild>
          <Link href="/new/">
            <PlusIcon /> New service
          </Link>
        </Button>
      </div>
      {data && (
        <p className="text-sm text-muted-foreground">
          {data.length} service{data.length === 1 ? "" : "s"} · {counts.running} running ·{" "}
          {counts.stopped} stopped
          {counts.partial > 0 && ` · ${counts.partial} partial`}
          {counts.unhealthy > 0 && ` · ${counts.unhealthy} unhealthy`}
          {counts.not_deployed > 0 && ` · ${counts.not_deployed} not deployed`}
        </p>
      )}
      <HostOverview stats={host.data} error={host.error} />
      <div className="flex flex-wrap items-end gap-3" role="search">
        <div className="relative min-w-56 flex-1">
          <Label htmlFor="q" className="sr-only">
            Search services
          </Label>
          <SearchIcon className="pointer-events-none absolute top-2.5 left-2.5 size-4 text-muted-foreground" />
          <Input
            id="q"
            type="search"
            placeholder="Search by name or image"
            className="pl-8"
            value={filter.q}
            onChange={(e) => setFilter({ ...filter, q: e.target.value })}
          />
        </div>
        <div className="grid gap-1">
          <Label htmlFor="status-filter" className="text-xs text-muted-foreground">
            Status
          </Label>
          <SimpleSelect
            id="status-filter"
            className="min-w-36"
            value={filter.status}
            onValueChange={(v) => setFilter({ ...filter, status: v as ServiceFilter["status"] })}
            options={[
              { value: "all", label: "All" },
              { value: "running", label: "Running" },
              { value: "stopped", label: "Stopped" },
              { value: "partial", label: "Partial" },
              { value: "unhealthy", label: "Unhealthy" },
              { value: "not_deployed", label: "Not deployed" },
            ]}
          />
        </div>
        <div className="grid gap-1">
          <Label htmlFor="kind-filter" className="text-xs text-muted-foreground">
            Kind
          </Label>
          <SimpleSelect
            id="kind-filter"
            className="min-w-36"
            value={filter.kind}
            onValueChange={(v) => setFilter({ ...filter, kind: v as ServiceFilter["kind"] })}
            options={[
              { value: "all", label: "All" },
              { value: "managed", label: "Managed" },
              { value: "unmanaged", label: "Unmanaged" },
            ]}
          />
        </div>
      </div>
      {error && <ErrorState error={error} onRetry={reload} title="Couldn't load services" />}
      {!data && loading && !error && <ServicesSkeleton />}
      {data && data.length === 0 && (
        <EmptyState icon={LayersIcon} title="No services yet">
          Create one from a compose file, or start containers with Docker and they show up here.
        </EmptyState>
      )}
      {data && data.length > 0 && shown.length === 0 && (
        <EmptyState icon={SearchIcon} title="No service matches">
          Change the search or the filters.
        </EmptyState>
      )}
      {shown.length > 0 && (
        <ServicesTable services={shown} activity={activity} onChanged={reload} stats={live} />
      )}
    </div>
  );
}

function ServicesSkeleton() {
  return (
    <div className="rounded-lg border" aria-busy aria-label="Loading services">
      {Array.from({ length: 6 }, (_, i) => (
        <div key={i} className="flex h-16 items-center gap-4 border-b px-4 last:border-b-0">
          <Skeleton className="h-4 w-40" />
          <Skeleton className="h-5 w-20" />
          <Skeleton className="hidden h-4 w-48 sm:block" />
          <div className="flex-1" />
          <Skeleton className="h-8 w-24" />
        </div>
      ))}
    </div>
  );
}
