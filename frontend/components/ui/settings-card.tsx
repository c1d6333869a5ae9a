import type { LucideIcon } from "lucide-react";
import * as React from "react";

import { Card, CardContent, CardDescription, CardHeader, CardTitle } from "@/components/ui/card";
import { cn } from "@/lib/utils";

/**
 * The one settings card pattern (settings page, a service's and a plugin's settings): an icon and
 * a title, one sentence on what it controls, optional header actions, then the content. The
 * card is a labelled region, so the page's sections are landmarks for screen readers.
 */
export function SettingsCard({
  icon: Icon,
  title,
  description,
  actions,
  className,
  contentClassName,
  children,
}: {
  icon?: LucideIcon;
  title: React.ReactNode;
  description?: React.ReactNode;
  /** Buttons beside the title (refresh, add …). */
  actions?: React.ReactNode;
  className?: string;
  contentClassName?: string;
  children: React.ReactNode;
}) {
  const id = React.useId();
  return (
    <Card role="region" aria-labelledby={id} className={className}>
      <CardHeader className="flex-row items-start justify-between">
        <div className="flex min-w-0 flex-col gap-2">
          <CardTitle id={id} className="flex items-center gap-2">
            {Icon && <Icon className="size-4" aria-hidden />} {title}
          </CardTitle>
          {description && <CardDescription>{description}</CardDescription>}
        </div>
        {actions && <div className="flex shrink-0 items-center gap-2">{actions}</div>}
      </CardHeader>
      <CardContent className={cn("flex flex-col gap-4", contentClassName)}>{children}</CardContent>
    </Card>
  );
}
