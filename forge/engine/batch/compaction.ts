/**
 * When the KV cache sheds what no stream needs any more:
 * - compacting columns (continuous batching, multi-token feeding): a finished stream's
 *   columns, and the chunk columns a stream did not fill, are dead; they are dropped once they
 *   make up half the cache, or when the next forward would not fit;
 * - shrinking rows (once no instance is queued; host automaton only): when finished streams
 *   hold at least half the model's rows, keep only the live ones (one copy of their K/V, then
 *   every step computes fewer rows), so a tail of a few long streams stops paying for the
 *   whole batch at every step.
 */
import type { SlotTable } from "./slots.js";

/** Decode steps' worth of dead columns tolerated before compacting. */
export const MIN_COMPACT_COLUMNS = 64;

/**
 * Columns to allocate per row. When compacting, dead columns pile up between compactions: at
 * most as many as the live ones, plus one chunk (shouldCompact).
 */
export function cacheCapacity(maxTokens: number, feedChunk: number, compacting: boolean): number {
  return compacting ? 2 * maxTokens + feedChunk : maxTokens;
}

/** Compact before a forward `width` tokens wide: when it would not fit, or dead columns make up half the cache. */
export function shouldCompact(cache: { length: number; capacity: number }, width: number, widestLiveColumns: number): boolean {
  const used = cache.length;
  return used + width >= cache.capacity || (used >= MIN_COMPACT_COLUMNS && used >= 2 * widestLiveColumns);
}

/** The slots whose rows to keep when shrinking pays (at least half the rows finished, one live), else null. */
export function rowsToKeep(table: SlotTable): Int32Array | null {
  const live = table.liveRowSlots();
  if (live.length === 0 || 2 * live.length > table.rowCount) return null;
  return live;
}
