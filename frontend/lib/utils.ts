import { clsx, type ClassValue } from "clsx";
import { twMerge } from "tailwind-merge";

/** Joins class names and lets later Tailwind utilities win over earlier ones. */
export function cn(...inputs: ClassValue[]) {
  return twMerge(clsx(inputs));
}

/** "3 minutes ago" style text for a timestamp (ISO string or Date). */
export function timeAgo(when: string | Date | null | undefined, now: Date = new Date()): string {
  if (!when) return "—";
  const t = typeof when === "string" ? new Date(when) : when;
  const s = Math.round((now.getTime() - t.getTime()) / 1000);
  if (Number.isNaN(s)) return "—";
  if (s < 45) return "just now";
  const units: [number, string][] = [
    [60, "minute"],
    [3600, "hour"],
    [86400, "day"],
    [2592000, "month"],
    [31536000, "year"],
  ];
  let unit = units[0]!;
  for (const u of units) if (s >= u[0]) unit = u;
  const n = Math.max(1, Math.round(s / unit[0]));
  return `${n} ${unit[1]}${n === 1 ? "" : "s"} ago`;
}

/** Short image id for display (`sha256:abcdef…` → `abcdef123456`). */
export function shortId(id: string): string {
  return id.replace(/^sha256:/, "").slice(0, 12);
}

/** Only same-origin paths may be a redirect target after sign-in. */
export function safeNext(raw: string | null): string {
  if (!raw || !raw.startsWith("/") || raw.startsWith("//") || raw.startsWith("/\\")) return "/";
  return raw;
}
