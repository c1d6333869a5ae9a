"use client";

import { QueryClientProvider } from "@tanstack/react-query";
import { LogOutIcon, MenuIcon, ServerIcon } from "lucide-react";
import Link from "next/link";
import { usePathname, useRouter } from "next/navigation";
import { useEffect, useState } from "react";

import { ErrorState } from "@/components/app/error-state";
import { ThemeToggle } from "@/components/app/theme";
import { Toaster } from "@/components/app/toaster";
import { Button } from "@/components/ui/button";
import { Skeleton } from "@/components/ui/skeleton";
import { TooltipProvider } from "@/components/ui/tooltip";
import { mainNav, type NavItem } from "@/config/nav";
import { ApiError } from "@/lib/api";
import { AuthProvider, useAuth } from "@/lib/auth";
import { queryClient, watchEvents } from "@/lib/query";
import { cn } from "@/lib/utils";

/** Providers, the sign-in gate and the sidebar layout around every page. */
export function AppShell({ children }: { children: React.ReactNode }) {
  return (
    <QueryClientProvider client={queryClient}>
      <AuthProvider>
        <TooltipProvider>
          <Toaster>
            <Gate>{children}</Gate>
          </Toaster>
        </TooltipProvider>
      </AuthProvider>
    </QueryClientProvider>
  );
}

/** While signed in: the event stream keeps the query cache current (lib/query). */
function LiveCache() {
  useEffect(() => watchEvents(), []);
  return null;
}

/** Pages shown without a session: sign-in and the first run's setup. */
function isLogin(path: string) {
  const p = path.replace(/\/+$/, "");
  return p === "/login" || p === "/setup";
}

function Gate({ children }: { children: React.ReactNode }) {
  const auth = useAuth();
  const path = usePathname();
  const router = useRouter();
  const onLogin = isLogin(path);

  useEffect(() => {
    if (auth.status === "signed-out" && !onLogin) {
      const next = path + window.location.search;
      router.replace(`/login/?next=${encodeURIComponent(next)}`);
    }
  }, [auth.status, onLogin, path, router]);

  if (onLogin) return <>{children}</>;
  if (auth.status === "error") {
    return (
      <main className="mx-auto max-w-md p-8">
        <ErrorState
          error={new ApiError(0, "network_error", auth.error ?? "Can't reach the server.")}
          onRetry={auth.retry}
        />
      </main>
    );
  }
  if (auth.status === "loading" || auth.status === "signed-out") {
    return (
      <div className="flex min-h-dvh">
        <div className="hidden w-60 border-r p-4 md:block">
          <Skeleton className="h-6 w-24" />
        </div>
        <main className="flex-1 space-y-4 p-6" aria-busy>
          <Skeleton className="h-8 w-48" />
          <Skeleton className="h-64 w-full" />
        </main>
      </div>
    );
  }
  return (
    <>
      <LiveCache />
      <Frame>{children}</Frame>
    </>
  );
}

function Frame({ children }: { children: React.ReactNode }) {
  const path = usePathname();
  const auth = useAuth();
  const [open, setOpen] = useState(false);

  const here = path.endsWith("/") ? path : `${path}/`;
  const active = (item: NavItem) =>
    here === item.href ||
    (item.href !== "/" && here.startsWith(item.href)) ||
    (item.also ?? []).some((p) => here.startsWith(p));

  const nav = (
    <nav aria-label="Main" className="flex flex-col gap-1">
      {mainNav.map((item) => (
        <Link
          key={item.href}
          href={item.href}
          aria-current={active(item) ? "page" : undefined}
          onClick={() => setOpen(false)}
          className={cn(
            "flex items-center gap-2 rounded-md px-3 py-2 text-sm font-medium text-muted-foreground hover:bg-accent hover:text-foreground",
            active(item) && "bg-accent text-foreground",
          )}
        >
          <item.icon className="size-4" />
          {item.title}
        </Link>
      ))}
    </nav>
  );

  return (
    <div className="flex min-h-dvh">
      <aside className="sticky top-0 hidden h-dvh w-60 shrink-0 flex-col gap-6 border-r p-4 md:flex">
        <Brand />
        {nav}
      </aside>
      <div className="flex min-w-0 flex-1 flex-col">
        <header className="sticky top-0 z-40 flex h-14 items-center gap-2 border-b bg-background/90 px-4 backdrop-blur">
          <Button
            variant="ghost"
            size="icon"
            className="md:hidden"
            aria-label="Menu"
            aria-expanded={open}
            onClick={() => setOpen((o) => !o)}
          >
            <MenuIcon />
          </Button>
          <div className="md:hidden">
            <Brand />
          </div>
          <div className="flex-1" />
          {auth.status === "open" && (
            <span className="hidden text-xs text-muted-foreground sm:inline">
              Sign-in is not enabled on this server
            </span>
          )}
          {auth.email && (
            <span className="hidden text-sm text-muted-foreground sm:inline">{auth.email}</span>
          )}
          <ThemeToggle />
          {auth.status === "signed-in" && (
            <Button
              variant="ghost"
              size="sm"
              aria-label="Sign out"
              onClick={() => void auth.signOut()}
            >
              <LogOutIcon /> <span className="hidden sm:inline">Sign out</span>
            </Button>
          )}
        </header>
        {open && <div className="border-b p-3 md:hidden">{nav}</div>}
        <main className="mx-auto w-full max-w-7xl flex-1 p-4 sm:p-6">{children}</main>
      </div>
    </div>
  );
}

function Brand() {
  return (
    <Link href="/" className="flex items-center gap-2 font-semibold">
      <ServerIcon className="size-5" /> SDMD
    </Link>
  );
}
