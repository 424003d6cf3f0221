/**
 * A small Prometheus registry (text exposition format 0.0.4): counters, gauges read at scrape
 * time, and histograms. Label values are joined into one map key per series, so recording is a
 * map lookup and an increment; formatting happens only when /metrics is scraped.
 */
type Labels = Record<string, string>;

const SEPARATOR = "\u0000";

function escapeLabel(value: string): string {
  return value.replace(/\\/g, "\\\\").replace(/\n/g, "\\n").replace(/"/g, '\\"');
}

function labelText(names: readonly string[], key: string, extra = ""): string {
  const values = key === "" ? [] : key.split(SEPARATOR);
  const pairs = names.map((name, i) => `${name}="${escapeLabel(values[i] ?? "")}"`);
  if (extra) pairs.push(extra);
  return pairs.length > 0 ? `{${pairs.join(",")}}` : "";
}

interface Metric {
  render(): string[];
  /** Reads what the metric reports from elsewhere (the database) before it is rendered. */
  refresh?(): Promise<void>;
}

export class Counter implements Metric {
  private readonly series = new Map<string, number>();
  constructor(
    readonly name: string,
    private readonly help: string,
    private readonly labelNames: readonly string[] = [],
  ) {}

  inc(labels: readonly string[] = [], by = 1): void {
    const key = labels.join(SEPARATOR);
    this.series.set(key, (this.series.get(key) ?? 0) + by);
  }

  render(): string[] {
    const lines = [`# HELP ${this.name} ${this.help}`, `# TYPE ${this.name} counter`];
    for (const [key, value] of this.series) lines.push(`${this.name}${labelText(this.labelNames, key)} ${value}`);
    return lines;
  }
}

/** A gauge whose value is read when scraped (sessions open, queue depth…). */
export class Gauge implements Metric {
  constructor(
    readonly name: string,
    private readonly help: string,
    private readonly read: () => number | Labels[] | [Labels, number][],
  ) {}

  render(): string[] {
    const lines = [`# HELP ${this.name} ${this.help}`, `# TYPE ${this.name} gauge`];
    const value = this.read();
    if (typeof value === "number") lines.push(`${this.name} ${value}`);
    else
      for (const [labels, v] of value as [Labels, number][])
        lines.push(`${this.name}${labelText(Object.keys(labels), Object.values(labels).join(SEPARATOR))} ${v}`);
    return lines;
  }
}

/** A counter kept by someone else (the process's CPU time), read when scraped. */
export class SampledCounter implements Metric {
  constructor(
    readonly name: string,
    private readonly help: string,
    private readonly read: () => number,
  ) {}

  render(): string[] {
    return [`# HELP ${this.name} ${this.help}`, `# TYPE ${this.name} counter`, `${this.name} ${this.read()}`];
  }
}

export class Histogram implements Metric {
  private readonly series = new Map<string, { counts: number[]; sum: number; count: number }>();
  constructor(
    readonly name: string,
    private readonly help: string,
    private readonly labelNames: readonly string[],
    private readonly buckets: readonly number[],
  ) {}

  observe(labels: readonly string[], value: number): void {
    const key = labels.join(SEPARATOR);
    let entry = this.series.get(key);
    if (!entry) {
      entry = { counts: this.buckets.map(() => 0), sum: 0, count: 0 };
      this.series.set(key, entry);
    }
    // Only the first bucket the value fits is counted here; render() makes the counts cumulative.
    const bucket = this.buckets.findIndex((bound) => value <= bound);
    if (bucket >= 0) entry.counts[bucket]! += 1;
    entry.sum += value;
    entry.count += 1;
  }

  render(): string[] {
    const lines = [`# HELP ${this.name} ${this.help}`, `# TYPE ${this.name} histogram`];
    for (const [key, entry] of this.series) {
      let cumulative = 0;
      this.buckets.forEach((bound, i) => {
        cumulative += entry.counts[i]!;
        lines.push(`${this.name}_bucket${labelText(this.labelNames, key, `le="${bound}"`)} ${cumulative}`);
      });
      lines.push(`${this.name}_bucket${labelText(this.labelNames, key, 'le="+Inf"')} ${entry.count}`);
      lines.push(`${this.name}_sum${labelText(this.labelNames, key)} ${entry.sum}`);
      lines.push(`${this.name}_count${labelText(this.labelNames, key)} ${entry.count}`);
    }
    return lines;
  }
}

/**
 * A gauge per label set whose values come from an asynchronous read (a database count), taken
 * when /metrics is scraped; when the read fails, the last values stay.
 */
export class QueriedGauge implements Metric {
  private values: [Labels, number][] = [];
  constructor(
    readonly name: string,
    private readonly help: string,
    private readonly query: () => Promise<[Labels, number][]>,
  ) {}

  async refresh(): Promise<void> {
    this.values = await this.query();
  }

  render(): string[] {
    const lines = [`# HELP ${this.name} ${this.help}`, `# TYPE ${this.name} gauge`];
    for (const [labels, v] of this.values) lines.push(`${this.name}${labelText(Object.keys(labels), Object.values(labels).join(SEPARATOR))} ${v}`);
    return lines;
  }
}

export class MetricsRegistry {
  private readonly metrics: Metric[] = [];

  register<M extends Metric>(metric: M): M {
    this.metrics.push(metric);
    return metric;
  }

  /** The exposition text for GET /metrics, as the metrics stand now. */
  render(): string {
    return `${this.metrics.flatMap((metric) => metric.render()).join("\n")}\n`;
  }

  /** The exposition text after the metrics read from elsewhere are refreshed (one that cannot be keeps its last value). */
  async scrape(): Promise<string> {
    await Promise.all(this.metrics.map((metric) => metric.refresh?.().catch(() => undefined)));
    return this.render();
  }
}
