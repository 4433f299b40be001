/**
 * The progress display of a long `session.request`: one display_data with a display id,
 * then update_display_data in place (throttled), ending with a one-line summary.
 *
 * Generated tokens (sampled, one decode step each) and forced tokens (prompts, forced text,
 * fed in bulk) are shown apart: their sum's rate says little about the model's speed. The bar
 * and the time left come from the engine's `fraction` (steps and zones), not from finished
 * streams, which in a batch all finish near the end. Glyphs are ones Debian's default fonts
 * (DejaVu) draw: ▶ ✔ ■ (no ⏹, which shows as a box there).
 */
import { randomUUID } from "node:crypto";
import type { Progress, ProgressListener } from "../../forge/engine/progress.js";
import type { MimeBundle } from "./cell-api.js";
import type { CellOutput } from "./cell-output.js";

const number = new Intl.NumberFormat("en-US", { maximumFractionDigits: 0 });

/** Before this much of the run, or this long, an estimate from the fraction done is noise. */
const ESTIMATE_AFTER_FRACTION = 0.02;
const ESTIMATE_AFTER_MS = 1000;

function seconds(ms: number): string {
  return ms < 10_000 ? `${(ms / 1000).toFixed(1)} s` : `${Math.round(ms / 1000)} s`;
}

/** The share of the work done, 0…1, or null when the engine does not say. */
export function fractionDone(p: Progress): number | null {
  if (p.finished && p.streamsDone >= p.streams) return 1;
  const f = p.fraction;
  return typeof f === "number" && Number.isFinite(f) ? Math.min(Math.max(f, 0), 1) : null;
}

/**
 * Time left: null while too early to say (under 2 % done or 1 s in: the first steps include
 * the prefill and say little). Then the engine's estimate (steps left at the time per step),
 * else one from the fraction done and the time so far. Without a fraction (an older engine
 * behind a server), the engine's estimate as it is.
 */
export function timeLeftMs(p: Progress): number | null {
  const f = fractionDone(p);
  const engine = p.etaMs !== null && Number.isFinite(p.etaMs) ? Math.max(p.etaMs, 0) : null;
  if (f === null) return engine;
  if (f < ESTIMATE_AFTER_FRACTION || p.elapsedMs < ESTIMATE_AFTER_MS) return null;
  return engine ?? (p.elapsedMs * (1 - f)) / f;
}

/** "1,234 generated (3,412/s) + 5,678 forced tokens", or the total when the engine does not tell them apart. */
function tokenCounts(p: Progress, withRate: boolean): string {
  if (typeof p.generatedTokens === "number" && typeof p.forcedTokens === "number") {
    const rate = p.generatedTokensPerSecond ?? (p.elapsedMs > 0 ? (p.generatedTokens * 1000) / p.elapsedMs : 0);
    return `${number.format(p.generatedTokens)} generated${withRate ? ` (${number.format(rate)}/s)` : ""} + ${number.format(p.forcedTokens)} forced tokens`;
  }
  return `${number.format(p.tokens)} tokens${withRate ? ` (${number.format(p.tokensPerSecond)}/s)` : ""}`;
}

export function progressLine(p: Progress): string {
  const f = fractionDone(p);
  const left = timeLeftMs(p);
  const when = left === null ? `${seconds(p.elapsedMs)}, estimating time left` : `${seconds(p.elapsedMs)}, about ${seconds(left)} left`;
  const parts = [`▶ ${p.streamsDone}/${p.streams} streams done`];
  if (f !== null) parts.push(`${Math.floor(f * 100)} %`);
  parts.push(tokenCounts(p, true), `step ${number.format(p.step)}`, when);
  return parts.join(" · ");
}

export function summaryLine(p: Progress): string {
  const done = p.streamsDone >= p.streams;
  const mark = done ? "✔" : "■ stopped:";
  let rate: string;
  if (typeof p.generatedTokens === "number") {
    const perSecond = p.elapsedMs > 0 ? (p.generatedTokens * 1000) / p.elapsedMs : (p.generatedTokensPerSecond ?? 0);
    rate = `${number.format(perSecond)} generated tokens/s`;
  } else {
    rate = `${number.format(p.elapsedMs > 0 ? (p.tokens * 1000) / p.elapsedMs : p.tokensPerSecond)} tokens/s`;
  }
  return `${mark} ${p.streamsDone}/${p.streams} streams · ${tokenCounts(p, false)} in ${seconds(p.elapsedMs)} (${rate}, ${number.format(p.step)} steps)`;
}

function escapeHtml(text: string): string {
  return text.replace(/&/g, "&amp;").replace(/</g, "&lt;");
}

export function progressBundle(p: Progress): MimeBundle {
  const text = p.finished ? summaryLine(p) : progressLine(p);
  const f = fractionDone(p);
  // Without a fraction the bar is indeterminate (no value attribute), not stuck at 0.
  const bar = p.finished ? "" : `<progress ${f === null ? "" : `value="${Math.round(f * 1000)}" `}max="1000" style="width:12em;vertical-align:middle"></progress> `;
  return { "text/plain": text, "text/html": `<div style="font-family:monospace">${bar}${escapeHtml(text)}</div>` };
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
      out.display(progressBundle(p), { displayId: this.displayId }, true);
      this.lastSentAt = this.now();
    } else if (p.finished || this.now() - this.lastSentAt >= this.intervalMs) {
      out.update(this.displayId, progressBundle(p), true);
      this.lastSentAt = this.now();
    }
    // A finished request closes this display; the next request in the cell gets its own.
    if (p.finished) this.displayId = null;
  }
}
