/**
 * Progress of a long command on stderr. On a terminal: one bar redrawn in place with the count,
 * the rate and the time left. Otherwise (a log, a pipe): a counter line now and then, so a
 * script's log shows the command is alive without a line per page.
 */
export interface Progress {
  /** `done` of `total` items so far. */
  update(done: number): void;
  /** The last state, and the line ended. */
  finish(done: number): void;
}

const REDRAW_MS = 100;
const LINE_EVERY_MS = 5_000;
const BAR_WIDTH = 24;

export function progress(what: string, total: number, stream: NodeJS.WriteStream = process.stderr, now: () => number = () => performance.now()): Progress {
  const started = now();
  let shown = -Infinity;
  const tty = stream.isTTY === true;
  const draw = (done: number, final: boolean) => {
    const at = now();
    if (!final && at - shown < (tty ? REDRAW_MS : LINE_EVERY_MS)) return;
    shown = at;
    const line = progressLine(what, done, total, (at - started) / 1_000);
    stream.write(tty ? `\r${line}\x1b[K${final ? "\n" : ""}` : `${line}\n`);
  };
  return { update: (done) => draw(done, false), finish: (done) => draw(done, true) };
}

/** `[#########---------------]  37%  37,000 of 100,000 records  12,400/s  ETA 5s` */
export function progressLine(what: string, done: number, total: number, seconds: number): string {
  const share = total > 0 ? Math.min(1, done / total) : 1;
  const filled = Math.round(share * BAR_WIDTH);
  const rate = seconds > 0 ? done / seconds : 0;
  const left = rate > 0 && done < total ? (total - done) / rate : 0;
  const parts = [
    `[${"#".repeat(filled)}${"-".repeat(BAR_WIDTH - filled)}]`,
    `${String(Math.floor(share * 100)).padStart(3)}%`,
    `${done.toLocaleString("en")} of ${total.toLocaleString("en")} ${what}`,
    `${Math.round(rate).toLocaleString("en")}/s`,
    done >= total ? `in ${formatSeconds(seconds)}` : `ETA ${formatSeconds(left)}`,
  ];
  return parts.join("  ");
}

function formatSeconds(seconds: number): string {
  if (seconds < 60) return `${Math.ceil(seconds)}s`;
  const minutes = Math.floor(seconds / 60);
  if (minutes < 60) return `${minutes}m${String(Math.ceil(seconds % 60)).padStart(2, "0")}s`;
  return `${Math.floor(minutes / 60)}h${String(minutes % 60).padStart(2, "0")}m`;
}
