"use client";

import { Loader2Icon, ServerIcon } from "lucide-react";
import { useRouter } from "next/navigation";
import { useEffect, useState } from "react";

import { ErrorState } from "@/components/app/error-state";
import { Alert, AlertDescription } from "@/components/ui/alert";
import { Button } from "@/components/ui/button";
import { Card, CardContent, CardDescription, CardHeader, CardTitle } from "@/components/ui/card";
import { Input } from "@/components/ui/input";
import { Label } from "@/components/ui/label";
import { ApiError, api } from "@/lib/api";
import { useAuth } from "@/lib/auth";
import { safeNext } from "@/lib/utils";

export default function LoginPage() {
  const auth = useAuth();
  const router = useRouter();
  const [email, setEmail] = useState("");
  const [password, setPassword] = useState("");
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);

  useEffect(() => {
    if (auth.status === "signed-in" || auth.status === "open") {
      router.replace(safeNext(new URLSearchParams(window.location.search).get("next")));
    }
  }, [auth.status, router]);

  // First run: no administrator yet → the setup page (built-in mode only).
  useEffect(() => {
    if (auth.status !== "signed-out" || auth.config?.auth_mode !== "builtin") return;
    let cancelled = false;
    api
      .setupStatus()
      .then((s) => {
        if (!cancelled && s.required) router.replace("/setup/");
      })
      .catch(() => {
        // An older server without the route: the sign-in form is all there is.
      });
    return () => {
      cancelled = true;
    };
  }, [auth.status, auth.config, router]);

  const submit = async (e: React.FormEvent) => {
    e.preventDefault();
    setBusy(true);
    setError(null);
    try {
      await auth.signIn(email, password);
    } catch (err) {
      setError(err instanceof Error ? err.message : "Sign-in failed.");
    } finally {
      setBusy(false);
    }
  };

  return (
    <main className="flex min-h-dvh items-center justify-center p-4">
      <Card className="w-full max-w-sm">
        <CardHeader className="flex-col">
          <div className="flex items-center gap-2 text-lg font-semibold">
            <ServerIcon className="size-5" /> SDMD
          </div>
          <CardTitle className="text-xl">Sign in</CardTitle>
          <CardDescription>
            {auth.config?.auth_mode === "supabase"
              ? "Use your Supabase account."
              : "Use the administrator account of this server."}
          </CardDescription>
        </CardHeader>
        <CardContent>
          {auth.status === "error" ? (
            <ErrorState
              error={new ApiError(0, "network_error", auth.error ?? "Can't reach the server.")}
              onRetry={auth.retry}
            />
          ) : (
            <form
              onSubmit={submit}
              className="flex flex-col gap-4"
              aria-describedby={error ? "login-error" : undefined}
            >
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
                  autoComplete="current-password"
                  required
                  value={password}
                  onChange={(e) => setPassword(e.target.value)}
                />
              </div>
              {error && (
                <Alert variant="destructive" id="login-error">
                  <AlertDescription className="col-span-2 col-start-1">{error}</AlertDescription>
                </Alert>
              )}
              <Button type="submit" disabled={busy || auth.status === "loading"}>
                {busy && <Loader2Icon className="animate-spin" />} Sign in
              </Button>
            </form>
          )}
        </CardContent>
      </Card>
    </main>
  );
}
