/**
 * Continuous batching and shrinking, driven by a fake step function instead of a model: each
 * instance's stream is a fixed number of steps; the driver is the engine loop's batching
 * skeleton (refill, shrink, step, finish) and nothing else.
 */
import { describe, expect, it } from "vitest";
import { InstanceQueue, refillFinishedSlots } from "../../../../forge/engine/batch/refill.js";
import { rowsToKeep } from "../../../../forge/engine/batch/compaction.js";
import { SlotTable } from "../../../../forge/engine/batch/slots.js";

describe("InstanceQueue", () => {
  it("hands out instances in order and says which were never started", () => {
    const queue = new InstanceQueue([5, 6, 7]);
    expect(queue.take()).toBe(0);
    expect(queue.left()).toEqual([1, 2]);
    queue.take();
    queue.take();
    expect(queue.empty).toBe(true);
    expect(() => queue.take()).toThrow(/empty/);
  });
});

/** Runs instances of the given stream lengths through `slots` slots; returns what happened. */
function simulate(lengths: number[], slots: number, { refill = true, shrink = true } = {}) {
  const table = new SlotTable(slots, 0);
  const queue = new InstanceQueue(lengths.map((_, i) => 100 + i));
  const finishedAt = new Map<number, number>(); // instance → step
  const slotOf = new Map<number, number>();
  const rowsPerStep: number[] = [];
  const retired: number[] = [];
  const start = (s: number) => slotOf.set(table.instance[s]!, s);
  for (let s = 0; s < slots; s++) {
    const job = queue.take();
    table.assign(s, job, 100 + job);
    start(s);
  }
  let step = 0;
  for (;;) {
    if (refill)
      refillFinishedSlots(table, queue, {
        retire: (s) => retired.push(table.instance[s]!),
        start: (s) => (start(s), false),
      });
    if (table.allFinished()) break;
    if (shrink && queue.empty) {
      const keep = rowsToKeep(table);
      if (keep) table.keepRows(keep);
    }
    // The fake step: every row's stream takes one step.
    rowsPerStep.push(table.rowCount);
    step++;
    for (const s of table.rows) {
      if (table.finished[s]) continue;
      table.streamSteps[s]!++;
      if (table.streamSteps[s] === lengths[table.instance[s]! - 100]) {
        table.finished[s] = 1;
        finishedAt.set(table.instance[s]!, step);
      }
    }
    if (table.liveRowSlots().length === 0 && queue.empty) break;
  }
  return { steps: step, finishedAt, slotOf, rowsPerStep, retired, left: queue.left() };
}

describe("continuous batching", () => {
  it("starts a queued instance in the slot that finished first, at once", () => {
    const { finishedAt, slotOf, steps, retired } = simulate([3, 10, 5, 2, 4], 2);
    // Slot 0: 100 (3 steps) → 102 (5) → 104 (4); slot 1: 101 (10); 103 (2) goes to slot 0 after 102.
    expect(slotOf.get(102)).toBe(0);
    expect(finishedAt.get(100)).toBe(3);
    expect(finishedAt.get(102)).toBe(8);
    expect(slotOf.get(103)).toBe(0);
    expect(finishedAt.get(103)).toBe(10);
    expect(finishedAt.get(101)).toBe(10);
    expect(slotOf.get(104)).toBe(0);
    expect(steps).toBe(14);
    expect(retired).toEqual([100, 102, 103]);
  });

  it("leaves nothing unstarted and never runs more streams than slots", () => {
    const lengths = Array.from({ length: 23 }, (_, i) => 1 + ((i * 7) % 11));
    const { finishedAt, rowsPerStep, left } = simulate(lengths, 4);
    expect(finishedAt.size).toBe(23);
    expect(left).toEqual([]);
    expect(Math.max(...rowsPerStep)).toBe(4);
    // The total work is bounded by the longest instance plus an even share of the rest.
    const total = lengths.reduce((a, b) => a + b, 0);
    expect(rowsPerStep.length).toBeLessThanOrEqual(Math.ceil(total / 4) + Math.max(...lengths));
  });
});

describe("shrinking the batch", () => {
  it("stops computing finished rows once half have finished and nothing is queued", () => {
    const { rowsPerStep } = simulate([2, 2, 2, 20], 4, { refill: false });
    expect(rowsPerStep.slice(0, 2)).toEqual([4, 4]);
    expect(rowsPerStep.slice(2)).toEqual(Array(18).fill(1)); // 3 of 4 finished: only the long one's row
  });

  it("keeps every row without shrinking", () => {
    const { rowsPerStep } = simulate([2, 2, 2, 20], 4, { refill: false, shrink: false });
    expect(new Set(rowsPerStep)).toEqual(new Set([4]));
  });
});
