/** LZCP → TTFA program: the column layout, forced-token ranges, END encoding, tokenizer identity. */
import { describe, expect, it } from "vitest";
import { lowerWorkflow } from "../../../forge/lzcp/index.js";
import { ByteTokenizer } from "../../../forge/tokenizer/byte.js";
import { loadGpt2Tokenizer } from "../../../forge/tokenizer/index.js";
import { assembleProgram, checkProgramTokenizer, compileForBackend, TtfaError } from "../../../forge/ttfa/index.js";
import { PAIR_ESCAPE, workflow, zone } from "./fixtures.js";

const byte = new ByteTokenizer();

describe("assembleProgram", () => {
  const w = workflow(
    [
      zone({ text: "[Prompt]Q", advance: "[Answer]", next: 1, tags: ["x"], sequence: "s", block: 0, zone: 0 }),
      zone({ text: "", advance: "[EOS]", next: 0, jump: -1, loop: { counter: 1, min: null, max: 2 }, tags: ["y"], sequence: "s", block: 0, zone: 1, capture: "search" }),
      zone({ text: "[Prompt]Q", advance: "[EOS]", next: -1, feed: "search", sequence: "t", block: 3, zone: 0, repetition: 2 }),
    ],
    { escape: PAIR_ESCAPE, counters: 2 },
  );

  it("lays zones out column-wise with END = Z and -1 = none", () => {
    const p = assembleProgram(lowerWorkflow(w, byte));
    expect(p.zoneCount).toBe(3);
    expect(Array.from(p.next)).toEqual([1, 0, 3]);
    expect(Array.from(p.jump)).toEqual([-1, 3, -1]);
    expect(Array.from(p.counter)).toEqual([-1, 1, -1]);
    expect(Array.from(p.min)).toEqual([-1, -1, -1]);
    expect(Array.from(p.max)).toEqual([-1, 2, -1]);
    expect(Array.from(p.capture)).toEqual([-1, 0, -1]);
    expect(Array.from(p.feed)).toEqual([-1, -1, 0]);
    expect(p.sequenceNames).toEqual(["s", "t"]);
    expect([Array.from(p.sequence), Array.from(p.block), Array.from(p.zone), Array.from(p.repetition)]).toEqual([[0, 0, 1], [0, 0, 3], [0, 1, 0], [0, 0, 2]]);
    expect(p.tagNames).toEqual(["x", "y"]);
    expect(Array.from(p.tags)).toEqual([1, 0, 0, 1, 0, 0]);
    expect([p.control, p.escapeSingle, p.escapeOpen, p.escapeClose]).toEqual([3, -1, 4, 5]);
    expect(p.trigger.patterns).toEqual(["[Prompt]", "[Answer]", "[EOS]", "[Jump]", "<<", ">>"]);
    expect(p.counterCount).toBe(2);
    expect(p.tokenizer).toBe("byte-level/v1");
    expect(p.padId).toBe(256);
  });

  it("stores each distinct forced run once and points zones at their prompt and advance tokens", () => {
    const p = assembleProgram(lowerWorkflow(w, byte));
    const slice = (a: number, b: number) => byte.decode(p.forcedTokens.slice(a, b));
    expect([0, 1, 2].map((z) => slice(p.feedStart[z]!, p.feedEnd[z]!))).toEqual(["[Prompt]Q", "", "[Prompt]Q"]);
    expect([0, 1, 2].map((z) => slice(p.advanceStart[z]!, p.advanceEnd[z]!))).toEqual(["[Answer]", "[EOS]", "[EOS]"]);
    expect(p.feedStart[2]).toBe(p.feedStart[0]);
    expect(p.advanceStart[2]).toBe(p.advanceStart[1]);
    expect(p.forcedTokens.length).toBe("[Prompt]Q".length + "[Answer]".length + "[EOS]".length);
  });

  it("refuses a program compiled for another tokenizer, naming both", async () => {
    const gpt2 = await loadGpt2Tokenizer();
    const program = compileForBackend(w, byte);
    expect(() => checkProgramTokenizer(program, byte)).not.toThrow();
    expect(() => checkProgramTokenizer(program, gpt2)).toThrow(TtfaError);
    expect(() => checkProgramTokenizer(program, gpt2)).toThrow(`compiled for tokenizer "byte-level/v1", but the backend's tokenizer is "${gpt2.identity}"`);
    expect(compileForBackend(w, gpt2).tokenizer).toBe(gpt2.identity);
  });
});
