"use client";

import * as TooltipPrimitive from "@radix-ui/react-tooltip";
import * as React from "react";

import { cn } from "@/lib/utils";

/** The open delay; {@link Tooltip} brings one, an outer one (AppShell) shares it across tooltips. */
export function TooltipProvider({
  delayDuration = 300,
  ...props
}: React.ComponentProps<typeof TooltipPrimitive.Provider>) {
  return <TooltipPrimitive.Provider delayDuration={delayDuration} {...props} />;
}

/** Carries its own provider (as shadcn/ui's does), so a tooltip works outside the app shell too. */
export function Tooltip(props: React.ComponentProps<typeof TooltipPrimitive.Root>) {
  return (
    <TooltipProvider>
      <TooltipPrimitive.Root {...props} />
    </TooltipProvider>
  );
}

export const TooltipTrigger = TooltipPrimitive.Trigger;

export function TooltipContent({
  className,
  sideOffset = 4,
  children,
  ...props
}: React.ComponentProps<typeof TooltipPrimitive.Content>) {
  return (
    <TooltipPrimitive.Portal>
      <TooltipPrimitive.Content
        data-slot="tooltip-content"
        sideOffset={sideOffset}
        className={cn(
          "z-50 max-w-sm rounded-md bg-foreground px-3 py-1.5 text-xs break-words whitespace-pre-line text-background shadow-md",
          className,
        )}
        {...props}
      >
        {children}
      </TooltipPrimitive.Content>
    </TooltipPrimitive.Portal>
  );
}

/**
 * A hint on hover and keyboard focus (Radix: opens on focus, closes on Escape, described by
 * `aria-describedby`), replacing `title=`. The child must be focusable for keyboard users; plain
 * text is wrapped in a focusable span.
 */
export function Hint({
  content,
  children,
  side,
}: {
  content: React.ReactNode;
  children: React.ReactNode;
  side?: React.ComponentProps<typeof TooltipPrimitive.Content>["side"];
}) {
  if (content === null || content === undefined || content === "") return <>{children}</>;
  const child = React.isValidElement(children) ? (
    children
  ) : (
    <span
      tabIndex={0}
      className="rounded-sm outline-none focus-visible:ring-[3px] focus-visible:ring-ring/50"
    >
      {children}
    </span>
  );
  return (
    <Tooltip>
      <TooltipTrigger asChild>{child}</TooltipTrigger>
      <TooltipContent side={side}>{content}</TooltipContent>
    </Tooltip>
  );
}
