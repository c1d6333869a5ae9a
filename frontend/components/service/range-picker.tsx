"use client";

import { cn } from "@/lib/utils";
import { RANGE_LABEL, type RangeKey } from "@/lib/observe";

/** A row of range buttons (1 h / 24 h / 7 d / 30 d), one pressed. */
export function RangePicker<R extends RangeKey>({
  ranges,
  value,
  onChange,
  label,
}: {
  ranges: readonly R[];
  value: R;
  onChange: (r: R) => void;
  label: string;
}) {
  return (
    <div role="group" aria-label={label} className="inline-flex rounded-lg bg-muted p-1">
      {ranges.map((r) => (
        <button
          key={r}
          type="button"
          aria-pressed={r === value}
          onClick={() => onChange(r)}
          className={cn(
            "h-7 rounded-md px-3 text-sm font-medium whitespace-nowrap text-muted-foreground transition outline-none focus-visible:ring-[3px] focus-visible:ring-ring/50",
            r === value && "bg-background text-foreground shadow-sm",
          )}
        >
          {RANGE_LABEL[r]}
        </button>
      ))}
    </div>
  );
}
