"use client";

import {
  CopyIcon,
  KeyRoundIcon,
  PackageIcon,
  Loader2Icon,
  PlusIcon,
  ShieldCheckIcon,
  Trash2Icon,
} from "lucide-react";
import { useState } from "react";

import { EmptyState, ErrorState } from "@/components/app/error-state";
import { GlobalNotifiersCard } from "@/components/plugins/bindings";
import { StorageCard } from "@/components/settings/storage-card";
import { TemplateFilesCard } from "@/components/settings/template-files-card";
import { TemplateSourcesCard } from "@/components/settings/template-sources-card";
import { VariablesCard } from "@/components/settings/variables-card";
import { useToast } from "@/components/app/toaster";
import { Alert, AlertDescription, AlertTitle } from "@/components/ui/alert";
import { Badge } from "@/components/ui/badge";
import { Button } from "@/components/ui/button";
import { ConfirmDialog } from "@/components/ui/confirm-dialog";
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
import { SettingsCard } from "@/components/ui/settings-card";
import { Skeleton } from "@/components/ui/skeleton";
import { keys, useApiQuery } from "@/lib/query";
import { api, toApiError, type ApiError } from "@/lib/api";
import { useAuth } from "@/lib/auth";
import type { ApiToken, CreatedToken, Registry } from "@/lib/api";
import { timeAgo } from "@/lib/utils";

export default function SettingsPage() {
  return (
    <div className="flex max-w-4xl flex-col gap-6">
      <h1 className="text-2xl font-semibold tracking-tight">Settings</h1>
      <TokensCard />
      <VariablesCard />
      <StorageCard />
      <TemplateSourcesCard />
      <TemplateFilesCard />
      <RegistriesCard />
      <GlobalNotifiersCard />
      <ServerCard />
    </div>
  );
}

function TokensCard() {
  const toast = useToast();
  const tokens = useApiQuery(keys.tokens, () => api.listTokens());
  const [name, setName] = useState("");
  const [expires, setExpires] = useState("");
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<ApiError | null>(null);
  const [created, setCreated] = useState<CreatedToken | null>(null);
  const [revoke, setRevoke] = useState<ApiToken | null>(null);

  const create = async (e: React.FormEvent) => {
    e.preventDefault();
    setBusy(true);
    setError(null);
    try {
      const t = await api.createToken(
        name.trim(),
        expires ? new Date(`${expires}T23:59:59`).toISOString() : undefined,
      );
      setCreated(t);
      setName("");
      setExpires("");
      tokens.reload();
    } catch (err) {
      setError(toApiError(err));
    } finally {
      setBusy(false);
    }
  };

  const doRevoke = async (t: ApiToken) => {
    setRevoke(null);
    try {
      await api.revokeToken(t.id);
      toast("success", `Token ${t.name} revoked.`);
    } catch (err) {
      toast("error", `Revoke ${t.name}: ${toApiError(err).friendly}`);
    }
    tokens.reload();
  };

  return (
    <SettingsCard
      icon={KeyRoundIcon}
      title="API tokens"
      description={
        <>
          For scripts and the CLI: send as <code>Authorization: Bearer &lt;token&gt;</code>. A token
          acts as an administrator.
        </>
      }
    >
      <form onSubmit={create} className="flex flex-wrap items-end gap-3" aria-label="New token">
        <div className="grid gap-1">
          <Label htmlFor="token-name">Name</Label>
          <Input
            id="token-name"
            value={name}
            onChange={(e) => setName(e.target.value)}
            placeholder="ci-deploy"
            required
          />
        </div>
        <div className="grid gap-1">
          <Label htmlFor="token-expires">Expires (optional)</Label>
          <Input
            id="token-expires"
            type="date"
            value={expires}
            onChange={(e) => setExpires(e.target.value)}
          />
        </div>
        <Button type="submit" disabled={busy || !name.trim()}>
          {busy ? <Loader2Icon className="animate-spin" /> : <PlusIcon />} Create token
        </Button>
      </form>
      {error && (
        <p role="alert" className="text-sm text-destructive">
          {error.code === "validation_failed"
            ? error.problems.map((p) => p.message).join(" ") || error.friendly
            : error.friendly}
        </p>
      )}
      {tokens.error && !tokens.data && (
        <ErrorState error={tokens.error} onRetry={tokens.reload} title="Couldn't load tokens" />
      )}
      {!tokens.data && !tokens.error && <Skeleton className="h-24 w-full" />}
      {tokens.data && tokens.data.tokens.length === 0 && (
        <EmptyState icon={KeyRoundIcon} title="No API tokens" />
      )}
      {tokens.data && tokens.data.tokens.length > 0 && (
        <ul className="divide-y rounded-lg border text-sm">
          {tokens.data.tokens.map((t) => (
            <li key={t.id} className="flex flex-wrap items-center gap-3 px-3 py-2">
              <span className="font-medium">{t.name}</span>
              <code className="text-xs text-muted-foreground">{t.prefix}…</code>
              <span className="text-xs text-muted-foreground">
                created {timeAgo(t.created_at)} by {t.created_by} · last used{" "}
                {t.last_used_at ? timeAgo(t.last_used_at) : "never"}
              </span>
              {t.expires_at && (
                <Badge variant="outline">
                  expires {new Date(t.expires_at).toLocaleDateString()}
                </Badge>
              )}
              <span className="flex-1" />
              <Button
                size="sm"
                variant="ghost"
                className="text-destructive"
                onClick={() => setRevoke(t)}
                aria-label={`Revoke ${t.name}`}
              >
                <Trash2Icon /> Revoke
              </Button>
            </li>
          ))}
        </ul>
      )}
      <Dialog open={created !== null} onOpenChange={(o) => !o && setCreated(null)}>
        <DialogContent>
          <DialogHeader>
            <DialogTitle>Token {created?.name} created</DialogTitle>
            <DialogDescription>Copy it now: it is shown only this once.</DialogDescription>
          </DialogHeader>
          <div className="flex gap-2">
            <Input
              readOnly
              value={created?.secret ?? ""}
              className="font-mono text-xs"
              aria-label="Token secret"
              onFocus={(e) => e.target.select()}
            />
            <Button
              variant="outline"
              onClick={() =>
                void navigator.clipboard
                  .writeText(created?.secret ?? "")
                  .then(() => toast("success", "Token copied."))
                  .catch(() =>
                    toast("error", "Couldn't copy: select the text and copy it by hand."),
                  )
              }
            >
              <CopyIcon /> Copy
            </Button>
          </div>
          <DialogFooter>
            <Button onClick={() => setCreated(null)}>Done</Button>
          </DialogFooter>
        </DialogContent>
      </Dialog>
      <ConfirmDialog
        open={revoke !== null}
        onOpenChange={(o) => !o && setRevoke(null)}
        title={`Revoke ${revoke?.name ?? ""}?`}
        description="Anything using this token stops working at once."
        confirmLabel="Revoke"
        destructive
        onConfirm={() => revoke && void doRevoke(revoke)}
      />
    </SettingsCard>
  );
}

function RegistriesCard() {
  const toast = useToast();
  const registries = useApiQuery(keys.registries, () => api.listRegistries());
  const [host, setHost] = useState("");
  const [username, setUsername] = useState("");
  const [password, setPassword] = useState("");
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<ApiError | null>(null);
  const [remove, setRemove] = useState<Registry | null>(null);

  const save = async (e: React.FormEvent) => {
    e.preventDefault();
    setBusy(true);
    setError(null);
    try {
      const r = await api.putRegistry(host.trim(), username.trim(), password);
      toast("success", `Credentials for ${r.host} saved.`);
      setHost("");
      setUsername("");
      setPassword("");
      registries.reload();
    } catch (err) {
      setError(toApiError(err));
    } finally {
      setBusy(false);
    }
  };

  const doRemove = async (r: Registry) => {
    setRemove(null);
    try {
      await api.deleteRegistry(r.host);
      toast("success", `Credentials for ${r.host} removed.`);
    } catch (err) {
      toast("error", `Remove ${r.host}: ${toApiError(err).friendly}`);
    }
    registries.reload();
  };

  return (
    <SettingsCard
      icon={PackageIcon}
      title="Registry credentials"
      description="For private registries: used for update checks and pulls. Passwords are stored encrypted and never shown again."
    >
      <form
        onSubmit={save}
        className="flex flex-wrap items-end gap-3"
        aria-label="Registry credentials"
      >
        <div className="grid gap-1">
          <Label htmlFor="registry-host">Registry host</Label>
          <Input
            id="registry-host"
            value={host}
            onChange={(e) => setHost(e.target.value)}
            placeholder="ghcr.io"
            required
          />
        </div>
        <div className="grid gap-1">
          <Label htmlFor="registry-user">User name</Label>
          <Input
            id="registry-user"
            value={username}
            onChange={(e) => setUsername(e.target.value)}
            autoComplete="off"
            required
          />
        </div>
        <div className="grid gap-1">
          <Label htmlFor="registry-password">Password or token</Label>
          <Input
            id="registry-password"
            type="password"
            value={password}
            onChange={(e) => setPassword(e.target.value)}
            autoComplete="new-password"
            required
          />
        </div>
        <Button type="submit" disabled={busy}>
          {busy ? <Loader2Icon className="animate-spin" /> : <PlusIcon />} Save
        </Button>
      </form>
      {error && <ErrorState error={error} />}
      {registries.error && <ErrorState error={registries.error} onRetry={registries.reload} />}
      {!registries.data && !registries.error && <Skeleton className="h-12 w-full" />}
      {registries.data && registries.data.length === 0 && (
        <EmptyState icon={PackageIcon} title="No registry credentials">
          Public images need none.
        </EmptyState>
      )}
      {registries.data && registries.data.length > 0 && (
        <ul className="divide-y rounded-md border" aria-label="Stored registry credentials">
          {registries.data.map((r) => (
            <li key={r.host} className="flex items-center justify-between gap-3 px-3 py-2 text-sm">
              <span>
                <span className="font-medium">{r.host}</span>{" "}
                <span className="text-muted-foreground">
                  as {r.username} · saved {timeAgo(r.updated_at)}
                </span>
              </span>
              <Button
                variant="ghost"
                size="sm"
                aria-label={`Remove credentials for ${r.host}`}
                onClick={() => setRemove(r)}
              >
                <Trash2Icon />
              </Button>
            </li>
          ))}
        </ul>
      )}
      <ConfirmDialog
        open={remove !== null}
        onOpenChange={(o) => !o && setRemove(null)}
        title={`Remove credentials for ${remove?.host ?? ""}?`}
        description="Checks and pulls from this registry become anonymous."
        confirmLabel="Remove"
        destructive
        onConfirm={() => remove && void doRemove(remove)}
      />
    </SettingsCard>
  );
}

function ServerCard() {
  const auth = useAuth();
  const health = useApiQuery(keys.health, () => api.healthz());
  return (
    <SettingsCard icon={ShieldCheckIcon} title="Server" contentClassName="gap-3 text-sm">
      {health.error && <ErrorState error={health.error} onRetry={health.reload} />}
      {!health.data && !health.error && <Skeleton className="h-16 w-full" />}
      {health.data && (
        <dl className="grid grid-cols-[auto_1fr] gap-x-6 gap-y-1">
          <dt className="text-muted-foreground">Version</dt>
          <dd>{health.data.version ?? "?"}</dd>
          <dt className="text-muted-foreground">Docker</dt>
          <dd>
            {health.data.docker == null
              ? health.data.status
              : health.data.docker.ok
                ? "reachable"
                : `unreachable (${health.data.docker.error ?? "?"})`}
          </dd>
          <dt className="text-muted-foreground">Database</dt>
          <dd>
            {health.data.database == null
              ? health.data.status
              : health.data.database.ok
                ? "reachable"
                : "unreachable"}
          </dd>
          <dt className="text-muted-foreground">Sign-in</dt>
          <dd>{auth.config?.auth_mode === "none" ? "not enabled" : auth.config?.auth_mode}</dd>
        </dl>
      )}
      {health.data && (
        <Alert>
          <ShieldCheckIcon />
          <AlertTitle>TLS certificate fingerprint (SHA-256)</AlertTitle>
          <AlertDescription>
            {health.data.tls_fingerprint ? (
              <code className="break-all" data-testid="tls-fingerprint">
                {health.data.tls_fingerprint}
              </code>
            ) : (
              "This server does not serve TLS itself (SDMD_TLS=off): a proxy in front of it holds the certificate."
            )}
          </AlertDescription>
        </Alert>
      )}
    </SettingsCard>
  );
}
