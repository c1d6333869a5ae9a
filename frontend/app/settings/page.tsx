"use client";

import {
  CopyIcon,
  KeyRoundIcon,
  Loader2Icon,
  PlusIcon,
  ShieldCheckIcon,
  Trash2Icon,
} from "lucide-react";
import { useState } from "react";

import { EmptyState, ErrorState } from "@/components/app/error-state";
import { GlobalNotifiersCard } from "@/components/plugins/bindings";
import { useToast } from "@/components/app/toaster";
import { Alert, AlertDescription, AlertTitle } from "@/components/ui/alert";
import { Badge } from "@/components/ui/badge";
import { Button } from "@/components/ui/button";
import { Card, CardContent, CardDescription, CardHeader, CardTitle } from "@/components/ui/card";
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
import { Skeleton } from "@/components/ui/skeleton";
import { useAsync } from "@/hooks/use-async";
import { api, toApiError, type ApiError } from "@/lib/api";
import { useAuth } from "@/lib/auth";
import type { ApiToken, CreatedToken } from "@/lib/schemas";
import { timeAgo } from "@/lib/utils";

export default function SettingsPage() {
  return (
    <div className="flex max-w-4xl flex-col gap-6">
      <h1 className="text-2xl font-semibold tracking-tight">Settings</h1>
      <TokensCard />
      <GlobalNotifiersCard />
      <ServerCard />
    </div>
  );
}

function TokensCard() {
  const toast = useToast();
  const tokens = useAsync(() => api.listTokens(), []);
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
    <Card>
      <CardHeader className="flex-col">
        <CardTitle className="flex items-center gap-2">
          <KeyRoundIcon className="size-4" /> API tokens
        </CardTitle>
        <CardDescription>
          For scripts and the CLI: send as <code>Authorization: Bearer &lt;token&gt;</code>. A token
          acts as an administrator.
        </CardDescription>
      </CardHeader>
      <CardContent className="flex flex-col gap-4">
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
      </CardContent>
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
      <Dialog open={revoke !== null} onOpenChange={(o) => !o && setRevoke(null)}>
        <DialogContent>
          <DialogHeader>
            <DialogTitle>Revoke {revoke?.name}?</DialogTitle>
            <DialogDescription>Anything using this token stops working at once.</DialogDescription>
          </DialogHeader>
          <DialogFooter>
            <Button variant="outline" onClick={() => setRevoke(null)}>
              Cancel
            </Button>
            <Button variant="destructive" onClick={() => revoke && void doRevoke(revoke)}>
              Revoke
            </Button>
          </DialogFooter>
        </DialogContent>
      </Dialog>
    </Card>
  );
}

function ServerCard() {
  const auth = useAuth();
  const health = useAsync(() => api.healthz(), []);
  return (
    <Card>
      <CardHeader className="flex-col">
        <CardTitle className="flex items-center gap-2">
          <ShieldCheckIcon className="size-4" /> Server
        </CardTitle>
      </CardHeader>
      <CardContent className="flex flex-col gap-3 text-sm">
        {health.error && <ErrorState error={health.error} onRetry={health.reload} />}
        {!health.data && !health.error && <Skeleton className="h-16 w-full" />}
        {health.data && (
          <dl className="grid grid-cols-[auto_1fr] gap-x-6 gap-y-1">
            <dt className="text-muted-foreground">Version</dt>
            <dd>{health.data.version}</dd>
            <dt className="text-muted-foreground">Docker</dt>
            <dd>
              {health.data.docker.ok
                ? "reachable"
                : `unreachable (${health.data.docker.error ?? "?"})`}
            </dd>
            <dt className="text-muted-foreground">Database</dt>
            <dd>{health.data.database.ok ? "reachable" : "unreachable"}</dd>
            <dt className="text-muted-foreground">Sign-in</dt>
            <dd>{auth.config?.auth_mode === "none" ? "not enabled" : auth.config?.auth_mode}</dd>
          </dl>
        )}
        <Alert>
          <ShieldCheckIcon />
          <AlertTitle>TLS certificate fingerprint</AlertTitle>
          <AlertDescription>
            This server doesn&apos;t publish its certificate fingerprint through the API yet.
            Compare it with the one printed in the server log at start-up.
          </AlertDescription>
        </Alert>
      </CardContent>
    </Card>
  );
}
