/** When the cache sheds dead columns and rows, without a model. */
import { describe, expect, it } from "vitest";
import { cacheCapacity, MIN_COMPACT_COLUMNS, rowsToKeep, shouldCompact } from "../../../../forge/engine/batch/compaction.js";
import { SlotTable } from "../../../../forge/engine/batch/slots.js";

describe("compacting columns", () => {
  it("leaves room for the dead columns between compactions only when compacting", () => {
    expect(cacheCapacity(1_000, 1, false)).toBe(1_000);
    expect(cacheCapacity(1_000, 16, true)).toBe(2_016);
  });

  it("compacts when the next forward would not fit", () => {
    expect(shouldCompact({ length: 90, capacity: 100 }, 10, 90)).toBe(true);
    expect(shouldCompact({ length: 89, capacity: 100 }, 10, 89)).toBe(false);
  });

  it("compacts once dead columns make up half the cache, and not before a minimum", () => {
    expect(shouldCompact({ length: MIN_COMPACT_COLUMNS, capacity: 1_000 }, 1, MIN_COMPACT_COLUMNS / 2)).toBe(true);
    expect(shouldCompact({ length: MIN_COMPACT_COLUMNS, capacity: 1_000 }, 1, MIN_COMPACT_COLUMNS / 2 + 1)).toBe(false);
    expect(shouldCompact({ length: MIN_COMPACT_COLUMNS - 1, capacity: 1_000 }, 1, 0)).toBe(false);
  });
});

describe("shrinking rows", () => {
  it("keeps the live rows once at least half the rows have finished, never none", () => {
    const table = new SlotTable(4, 0);
    table.finished.set([1, 0, 0, 0]);
    expect(rowsToKeep(table)).toBeNull();
    table.finished.set([1, 0, 1, 0]);
    expect(Array.from(rowsToKeep(table)!)).toEqual([1, 3]);
    table.finished.fill(1);
    expect(rowsToKeep(table)).toBeNull();
  });

  it("counts against the rows left after an earlier shrink", () => {
    const table = new SlotTable(8, 0);
    table.finished.set([1, 1, 1, 1, 0, 0, 0, 0]);
    table.keepRows(rowsToKeep(table)!);
    table.finished[4] = 1;
    expect(rowsToKeep(table)).toBeNull(); // 3 live of 4 rows
    table.finished[5] = 1;
    expect(Array.from(rowsToKeep(table)!)).toEqual([6, 7]);
  });
});
