/**
 * Two small SVG plots, drawn here (no chart library, nothing from a CDN): lines over time, and
 * groups of bars. Colours come from the stylesheet (classes), never from style attributes, which the
 * Content-Security-Policy (style-src 'self') would refuse.
 */

const WIDTH = 600;
const HEIGHT = 180;
const PAD = { left: 44, right: 12, top: 12, bottom: 28 };

/** A round upper bound for the axis: 1, 2, 5 × 10^n. */
function niceMax(value: number): number {
  if (value <= 0) return 1;
  const power = 10 ** Math.floor(Math.log10(value));
  for (const step of [1, 2, 5, 10]) if (step * power >= value) return step * power;
  return 10 * power;
}

function Axis({ max, unit }: { max: number; unit: string }) {
  const ticks = [0, max / 2, max];
  const plotHeight = HEIGHT - PAD.top - PAD.bottom;
  return (
    <g class="axis">
      {ticks.map((tick) => {
        const y = PAD.top + plotHeight - (tick / max) * plotHeight;
        return (
          <g key={tick}>
            <line x1={PAD.left} x2={WIDTH - PAD.right} y1={y} y2={y} class="grid" />
            <text x={PAD.left - 6} y={y + 4} text-anchor="end">
              {Number.isInteger(tick) ? tick : tick.toFixed(1)}
              {unit}
            </text>
          </g>
        );
      })}
    </g>
  );
}

export interface Series {
  name: string;
  /** A class of the stylesheet: its stroke colour. */
  tone: string;
  values: number[];
}

/** Lines of equally spaced values (one per minute), with the first and last labels under the axis. */
export function LineChart({ title, series, labels }: { title: string; series: Series[]; labels: [string, string] }) {
  const count = Math.max(1, ...series.map((s) => s.values.length));
  const max = niceMax(Math.max(0, ...series.flatMap((s) => s.values)));
  const plotWidth = WIDTH - PAD.left - PAD.right;
  const plotHeight = HEIGHT - PAD.top - PAD.bottom;
  const x = (i: number) => PAD.left + (count === 1 ? plotWidth : (i / (count - 1)) * plotWidth);
  const y = (v: number) => PAD.top + plotHeight - (v / max) * plotHeight;
  return (
    <figure class="chart">
      <figcaption>
        {title}
        {series.map((s) => (
          <span key={s.name} class={`legend ${s.tone}`}>
            {s.name}
          </span>
        ))}
      </figcaption>
      <svg viewBox={`0 0 ${WIDTH} ${HEIGHT}`} role="img" aria-label={title}>
        <Axis max={max} unit="" />
        {series.map((s) => (
          <polyline key={s.name} class={`line ${s.tone}`} points={s.values.map((v, i) => `${x(i).toFixed(1)},${y(v).toFixed(1)}`).join(" ")} />
        ))}
        <text x={PAD.left} y={HEIGHT - 8} class="label">
          {labels[0]}
        </text>
        <text x={WIDTH - PAD.right} y={HEIGHT - 8} class="label" text-anchor="end">
          {labels[1]}
        </text>
      </svg>
    </figure>
  );
}

export interface BarGroup {
  label: string;
  values: (number | null)[];
}

/** Groups of bars (one group per backend, one bar per percentile), the value of each written above it. */
export function BarChart({ title, names, tones, groups, unit }: { title: string; names: string[]; tones: string[]; groups: BarGroup[]; unit: string }) {
  const max = niceMax(Math.max(0, ...groups.flatMap((g) => g.values.map((v) => v ?? 0))));
  const plotWidth = WIDTH - PAD.left - PAD.right;
  const plotHeight = HEIGHT - PAD.top - PAD.bottom;
  const slot = plotWidth / Math.max(1, groups.length);
  const bar = Math.min(28, (slot * 0.8) / Math.max(1, names.length));
  return (
    <figure class="chart">
      <figcaption>
        {title}
        {names.map((name, i) => (
          <span key={name} class={`legend ${tones[i]}`}>
            {name}
          </span>
        ))}
      </figcaption>
      <svg viewBox={`0 0 ${WIDTH} ${HEIGHT}`} role="img" aria-label={title}>
        <Axis max={max} unit={unit} />
        {groups.length === 0 && (
          <text x={WIDTH / 2} y={HEIGHT / 2} text-anchor="middle" class="label">
            no calls in this period
          </text>
        )}
        {groups.map((group, g) => {
          const left = PAD.left + g * slot + (slot - bar * names.length) / 2;
          return (
            <g key={group.label}>
              {group.values.map((value, i) => {
                const height = ((value ?? 0) / max) * plotHeight;
                return (
                  <rect key={names[i]} class={`bar ${tones[i]}`} x={left + i * bar} y={PAD.top + plotHeight - height} width={bar - 2} height={height}>
                    <title>{`${group.label} ${names[i]}: ${value === null ? "—" : `${Math.round(value)}${unit}`}`}</title>
                  </rect>
                );
              })}
              <text x={left + (bar * names.length) / 2} y={HEIGHT - 8} text-anchor="middle" class="label">
                {group.label}
              </text>
            </g>
          );
        })}
      </svg>
    </figure>
  );
}
