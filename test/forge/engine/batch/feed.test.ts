/** The multi-token feeding policy, with a scripted stream of step records instead of an automaton. */
import { describe, expect, it } from "vitest";
import { chunkInput, feedForcedRun, feedWidth, type SlotState } from "../../../../forge/engine/batch/feed.js";
import { SlotTable } from "../../../../forge/engine/batch/slots.js";
import type { StepRecord } from "../../../../forge/ttfa/index.js";

const forced = (token: number): StepRecord => ({ token, pc: 0, forced: 1, event: 0, nextPc: 0, done: 0, record: 1 });

/** A slot whose next `run` steps are forced tokens 100, 101, … */
function forcedRun(run: number) {
  let taken = 0;
  return {
    next: () => (taken < run ? forced(100 + taken++) : null),
    get taken() {
      return taken;
    },
  };
}

describe("feedForcedRun", () => {
  it("takes forced steps until the chunk is full: the last token plus chunk − 1 extras", () => {
    const run = forcedRun(50);
    const extra: number[] = [];
    expect(feedForcedRun("fed", 4, extra, run.next, () => "fed")).toBe("fed");
    expect(extra).toEqual([100, 101, 102]);
  });

  it("stops where the forced run ends", () => {
    const run = forcedRun(2);
    const extra: number[] = [];
    feedForcedRun("fed", 16, extra, run.next, () => "fed");
    expect(extra).toEqual([100, 101]);
    expect(run.taken).toBe(2);
  });

  it("takes nothing with a chunk of 1, or when the slot is not fed", () => {
    for (const [state, chunk] of [["fed", 1], ["held", 8], ["ended", 8]] as Array<[SlotState, number]>) {
      const run = forcedRun(10);
      const extra: number[] = [];
      expect(feedForcedRun(state, chunk, extra, run.next, () => "fed")).toBe(state);
      expect(run.taken).toBe(0);
    }
  });

  it("stops at a step that holds or ends the stream, which does not join the feed", () => {
    const run = forcedRun(10);
    const extra: number[] = [];
    const states: SlotState[] = ["fed", "held"];
    expect(feedForcedRun("fed", 8, extra, run.next, () => states.shift()!)).toBe("held");
    expect(extra).toEqual([100]);
    expect(run.taken).toBe(2);
  });
});

describe("the chunk forward's input", () => {
  it("is as wide as the widest active feed, each row its last token then its extras", () => {
    const table = new SlotTable(3, 0);
    table.active.set([1, 0, 1]);
    table.lastToken.set([7, 8, 9]);
    table.extra[0] = [1, 2];
    table.extra[1] = [5, 5, 5, 5]; // not active: ignored
    expect(feedWidth(table)).toBe(3);
    const { tokens, fed } = chunkInput(table, 3);
    expect(Array.from(tokens)).toEqual([7, 1, 2, 0, 0, 0, 9, 0, 0]);
    expect(Array.from(fed)).toEqual([3, 0, 1]);
  });

  it("covers only the kept rows once the batch shrank", () => {
    const table = new SlotTable(3, 0);
    table.finished[1] = 1;
    table.keepRows(table.liveRowSlots());
    table.active.set([1, 0, 1]);
    table.lastToken.set([7, 8, 9]);
    table.extra[2] = [4];
    const { tokens, fed } = chunkInput(table, 2);
    expect(Array.from(tokens)).toEqual([7, 0, 9, 4]);
    expect(Array.from(fed)).toEqual([1, 2]);
  });
});
