"use client";

import { KeyRoundIcon, Loader2Icon, ServerIcon } from "lucide-react";
import Link from "next/link";
import { useRouter } from "next/navigation";
import { useEffect, useState } from "react";

import { ErrorState } from "@/components/app/error-state";
import { Alert, AlertDescription } from "@/components/ui/alert";
import { Button } from "@/components/ui/button";
import { Card, CardContent, CardDescription, CardHeader, CardTitle } from "@/components/ui/card";
import { Input } from "@/components/ui/input";
import { Label } from "@/components/ui/label";
import { ApiError, api, toApiError } from "@/lib/api";
import { useAuth } from "@/lib/auth";
import type { SetupStatus } from "@/lib/api";

/** First run: create the first administrator with the one-time code from sdmd's log. */
export default function SetupPage() {
  const auth = useAuth();
  const router = useRouter();
  const [status, setStatus] = useState<SetupStatus | null>(null);
  const [loadError, setLoadError] = useState<ApiError | null>(null);
  const [code, setCode] = useState("");
  const [email, setEmail] = useState("");
  const [password, setPassword] = useState("");
  const [repeat, setRepeat] = useState("");
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const [attempt, setAttempt] = useState(0);

  useEffect(() => {
    if (auth.status === "signed-in" || auth.status === "open") router.replace("/");
  }, [auth.status, router]);

  useEffect(() => {
    let cancelled = false;
    api
      .setupStatus()
      .then((s) => {
        if (cancelled) return;
        setStatus(s);
        setLoadError(null);
      })
      .catch((e) => !cancelled && setLoadError(toApiError(e)));
    return () => {
      cancelled = true;
    };
  }, [attempt]);

  const submit = async (e: React.FormEvent) => {
    e.preventDefault();
    setError(null);
    if (password !== repeat) {
      setError("The passwords don't match.");
      return;
    }
    setBusy(true);
    try {
      await auth.completeSetup(code, email, password);
      router.replace("/");
    } catch (err) {
      if (err instanceof ApiError) {
        // Field problems carry the server's own sentence (e.g. the password length).
        setError(
          err.code === "validation_failed" || err.code === "over_request_rate_limit"
            ? err.message
            : err.friendly,
        );
        if (err.code === "setup_complete" || err.code === "setup_code_expired")
          setAttempt((a) => a + 1);
      } else setError(err instanceof Error ? err.message : "Setup failed.");
    } finally {
      setBusy(false);
    }
  };

  return (
    <main className="flex min-h-dvh items-center justify-center p-4">
      <Card className="w-full max-w-md">
        <CardHeader className="flex-col">
          <div className="flex items-center gap-2 text-lg font-semibold">
            <ServerIcon className="size-5" /> SDMD
          </div>
          <CardTitle className="text-xl">Create the first administrator</CardTitle>
          <CardDescription>
            This server has no administrator yet. sdmd printed a one-time setup code in its log (the
            terminal running <code>make run</code>, or <code>docker logs</code>). It is valid for 30
            minutes; a restart prints a new one.
          </CardDescription>
        </CardHeader>
        <CardContent>
          {loadError ? (
            <ErrorState error={loadError} onRetry={() => setAttempt((a) => a + 1)} />
          ) : status && !status.required ? (
            <div className="flex flex-col gap-4">
              <Alert>
                <AlertDescription className="col-span-2 col-start-1">
                  An administrator exists already.
                </AlertDescription>
              </Alert>
              <Button asChild>
                <Link href="/login/">Sign in</Link>
              </Button>
            </div>
          ) : (
            <form onSubmit={submit} className="flex flex-col gap-4">
              {status && !status.code_active && (
                <Alert variant="destructive">
                  <AlertDescription className="col-span-2 col-start-1">
                    The setup code has expired. Restart sdmd and use the new code from its log.
                  </AlertDescription>
                </Alert>
              )}
              <div className="grid gap-2">
                <Label htmlFor="code">Setup code</Label>
                <Input
                  id="code"
                  autoComplete="one-time-code"
                  placeholder="ABCD-EFGH-JKMN-PQRS"
                  spellCheck={false}
                  required
                  value={code}
                  onChange={(e) => setCode(e.target.value)}
                />
              </div>
              <div className="grid gap-2">
                <Label htmlFor="email">Email</Label>
                <Input
                  id="email"
                  type="email"
                  autoComplete="username"
                  required
                  value={email}
                  onChange={(e) => setEmail(e.target.value)}
                />
              </div>
              <div className="grid gap-2">
                <Label htmlFor="password">Password</Label>
                <Input
                  id="password"
                  type="password"
                  autoComplete="new-password"
                  minLength={8}
                  required
                  value={password}
                  onChange={(e) => setPassword(e.target.value)}
                />
              </div>
              <div className="grid gap-2">
                <Label htmlFor="repeat">Repeat the password</Label>
                <Input
                  id="repeat"
                  type="password"
                  autoComplete="new-password"
                  minLength={8}
                  required
                  value={repeat}
                  onChange={(e) => setRepeat(e.target.value)}
                />
              </div>
              {error && (
                <Alert variant="destructive" id="setup-error">
                  <AlertDescription className="col-span-2 col-start-1">{error}</AlertDescription>
                </Alert>
              )}
              <Button type="submit" disabled={busy || auth.status === "loading"}>
                {busy ? <Loader2Icon className="animate-spin" /> : <KeyRoundIcon />} Create
                administrator
              </Button>
            </form>
          )}
        </CardContent>
      </Card>
    </main>
  );
}
