import { sparkPoints } from "@/lib/observe";

/**
 * A tiny inline-SVG trend line (no chart library: the services list draws one per row and
 * column). Decorative: the figure next to it says the value.
 */
export function Sparkline({
  values,
  width = 64,
  height = 16,
  min,
  max,
  minSpan,
  className,
}: {
  values: readonly number[];
  width?: number;
  height?: number;
  min?: number;
  max?: number;
  minSpan?: number;
  className?: string;
}) {
  const points = sparkPoints(values, width, height, { min, max, minSpan });
  return (
    <svg
      width={width}
      height={height}
      viewBox={`0 0 ${width} ${height}`}
      aria-hidden
      data-sparkline
      className={className}
    >
      {points ? (
        <polyline
          points={points}
          fill="none"
          stroke="currentColor"
          strokeWidth={1.25}
          strokeLinejoin="round"
          strokeLinecap="round"
        />
      ) : (
        <line
          x1={1}
          x2={width - 1}
          y1={height / 2}
          y2={height / 2}
          stroke="currentColor"
          strokeOpacity={0.3}
          strokeDasharray="2 2"
        />
      )}
    </svg>
  );
}
