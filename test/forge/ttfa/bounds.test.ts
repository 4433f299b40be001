/**
 * Issue #15 item 2: the trigger automaton and table are bounded before anything is allocated,
 * and a workflow at SZCP_LIMITS.maxPatternTotalBytes builds its table quickly.
 */
import { describe, expect, it } from "vitest";
import { ByteTokenizer } from "../../../forge/tokenizer/index.js";
import { MAX_AUTOMATON_STATES, MAX_TRIGGER_TABLE_CELLS, TtfaError, buildByteAutomaton, buildTriggerTable, buildTriggerTableInSlices } from "../../../forge/ttfa/index.js";
import { SZCP_LIMITS } from "../../../forge/szcp/index.js";

describe("trigger automaton bounds", () => {
  it("refuses patterns that would need more than MAX_AUTOMATON_STATES states, at once (was: 100 000 states built)", () => {
    const started = performance.now();
    expect(() => buildByteAutomaton(["[" + "J".repeat(100_000) + "]"])).toThrow(TtfaError);
    expect(() => buildByteAutomaton(["[" + "J".repeat(100_000) + "]"])).toThrow(`over MAX_AUTOMATON_STATES = ${MAX_AUTOMATON_STATES}`);
    expect(performance.now() - started).toBeLessThan(1_000);
  });

  it("refuses a table over MAX_TRIGGER_TABLE_CELLS before allocating it", () => {
    const huge = { vocabSize: MAX_TRIGGER_TABLE_CELLS, tokenBytes: () => new Uint8Array([65]) };
    expect(() => buildTriggerTable(["ab"], huge)).toThrow(/over MAX_TRIGGER_TABLE_CELLS = 134217728/);
  });

  it("builds the table of patterns at the SZCP limit in well under a second", () => {
    const each = SZCP_LIMITS.maxPatternBytes;
    const patterns = Array.from({ length: SZCP_LIMITS.maxPatternTotalBytes / each }, (_, i) => String.fromCharCode(65 + i).repeat(each));
    const started = performance.now();
    const table = buildTriggerTable(patterns, new ByteTokenizer());
    expect(table.stateCount).toBe(SZCP_LIMITS.maxPatternTotalBytes + 1);
    expect(performance.now() - started).toBeLessThan(2_000);
  });
});

describe("trigger table cache and slices", () => {
  const vocab = { vocabSize: 10_000, tokenBytes: (id: number) => new TextEncoder().encode(`t${id}]`) };

  it("builds in slices the table buildTriggerTable builds, and keeps it for the compile", async () => {
    const patterns = ["[P]", "[A]", "t99]"];
    let pauses = 0;
    const sliced = await buildTriggerTableInSlices(patterns, vocab, async () => void pauses++, 1000);
    expect(pauses).toBe(9);
    expect(buildTriggerTable(patterns, vocab)).toBe(sliced); // the cached table
    const fresh = buildTriggerTable(patterns, { ...vocab }); // another vocabulary object: built again
    expect(fresh).not.toBe(sliced);
    expect([fresh.next, fresh.match]).toEqual([sliced.next, sliced.match]);
  });
});
