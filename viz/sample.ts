/**
 * Keeping charts readable for large batches: which streams to show, and the note that
 * says so in the chart.
 */
import { VizError } from "./errors.js";

/** Up to `max` positions out of `count`, evenly spaced, first and last included. */
export function sampleEvenly(count: number, max: number, chart = "sampleEvenly"): number[] {
  if (!Number.isInteger(max) || max < 1) throw new VizError(chart, `maxStreams must be a whole number ≥ 1 (got ${max})`);
  if (count <= max) return Array.from({ length: count }, (_, i) => i);
  if (max === 1) return [0];
  const picked = new Set<number>();
  for (let i = 0; i < max; i++) picked.add(Math.round((i * (count - 1)) / (max - 1)));
  return [...picked];
}

/** "all 12 streams" or "showing 100 of 512 streams, sampled evenly". */
export function streamsNote(shown: number, total: number, how = "sampled evenly"): string {
  return shown >= total ? `all ${total} stream${total === 1 ? "" : "s"}` : `showing ${shown} of ${total} streams, ${how}`;
}
