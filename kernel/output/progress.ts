/**
 * The progress display of a long `session.request`: one display_data with a display id,
 * then update_display_data in place (throttled), ending with a one-line summary.
 */
import { randomUUID } from "node:crypto";
import type { Progress, ProgressListener } from "../../forge/api/ambient.js";
import type { MimeBundle } from "./cell-api.js";
import type { CellOutput } from "./cell-output.js";

const number = new Intl.NumberFormat("en-US", { maximumFractionDigits: 0 });

function seconds(ms: number): string {
  return ms < 10_000 ? `${(ms / 1000).toFixed(1)} s` : `${Math.round(ms / 1000)} s`;
}

export function progressLine(p: Progress): string {
  const eta = p.etaMs === null ? "time left unknown" : `${seconds(p.etaMs)} left`;
  return `▶ ${p.streamsDone}/${p.streams} streams done · ${number.format(p.tokens)} tokens · ${number.format(p.tokensPerSecond)} tokens/s · ${eta}`;
}

export function summaryLine(p: Progress): string {
  const mark = p.streamsDone >= p.streams ? "✔" : "⏹";
  const rate = p.elapsedMs > 0 ? (p.tokens * 1000) / p.elapsedMs : p.tokensPerSecond;
  return `${mark} ${p.streamsDone}/${p.streams} streams · ${number.format(p.tokens)} tokens in ${seconds(p.elapsedMs)} (${number.format(rate)} tokens/s, ${number.format(p.step)} steps)`;
}

function bundle(p: Progress): MimeBundle {
  const text = p.finished ? summaryLine(p) : progressLine(p);
  const escaped = text.replace(/&/g, "&amp;").replace(/</g, "&lt;");
  const bar = p.finished ? "" : `<progress value="${p.streamsDone}" max="${Math.max(p.streams, 1)}" style="width:12em"></progress> `;
  return { "text/plain": text, "text/html": `<div style="font-family:monospace">${bar}${escaped}</div>` };
}

export class ProgressDisplay {
  private displayId: string | null = null;
  private lastSentAt = -Infinity;

  constructor(
    private readonly output: () => CellOutput,
    private readonly intervalMs = 250,
    private readonly now: () => number = () => performance.now(),
  ) {}

  /** The listener handed to the engine through the ambient hooks. */
  readonly listener: ProgressListener = (p) => this.report(p);

  report(p: Progress): void {
    const out = this.output();
    if (this.displayId === null) {
      this.displayId = `forge-progress-${randomUUID()}`;
      out.display(bundle(p), { displayId: this.displayId }, true);
      this.lastSentAt = this.now();
    } else if (p.finished || this.now() - this.lastSentAt >= this.intervalMs) {
      out.update(this.displayId, bundle(p), true);
      this.lastSentAt = this.now();
    }
    // A finished request closes this display; the next request in the cell gets its own.
    if (p.finished) this.displayId = null;
  }
}
