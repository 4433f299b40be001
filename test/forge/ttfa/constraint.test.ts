import { beforeAll, describe, expect, it } from "vitest";
import { allowedTokens, buildConstraintTable, buildConstraintTableInSlices, ConstraintError, constraintNext } from "../../../forge/ttfa/constraint.js";
import type { ZoneConstraint } from "../../../forge/szcp/types.js";
import { vocabularyOf } from "../../../forge/lzcp/vocabulary.js";
import type { TokenVocabulary } from "../../../forge/lzcp/types.js";
import { loadTestTokenizers, type TestTokenizers } from "../../helpers/tokenizers.js";
import { rng } from "./fixtures.js";

let tk: TestTokenizers;
beforeAll(async () => {
  tk = await loadTestTokenizers();
}, 60_000);

const enc = new TextEncoder();
const hex = (b: Uint8Array) => Buffer.from(b).toString("latin1");

/** Brute force over a finite language: token t is allowed after prefix p iff p+bytes(t) is a non-empty-step prefix of a word. */
function bruteAllowed(vocab: TokenVocabulary, words: string[], prefix: string): number[] {
  const ws = words.map((w) => hex(enc.encode(w)));
  const out: number[] = [];
  for (let t = 0; t < vocab.vocabSize; t++) {
    const b = vocab.bytes.subarray(vocab.offsets[t]!, vocab.offsets[t + 1]!);
    if (b.length === 0) continue;
    const p = prefix + hex(b);
    if (ws.some((w) => w.startsWith(p))) out.push(t);
  }
  return out;
}

describe("buildConstraintTable", () => {
  for (const name of ["byte", "gpt2", "llama3"] as const) {
    it(`${name}: choices followed by the end patterns allow exactly the prefixes of the language, on random walks`, () => {
      const vocab = vocabularyOf(tk[name]);
      const choices = ["yes", "no", "unsure", "yes sir"];
      const ends = ["[EOS]", "[Jump]"];
      const words = choices.flatMap((c) => ends.map((e) => c + e));
      const { table, start, index } = buildConstraintTable([{ constraint: null, ends: [], where: "z0" }, { constraint: { kind: "choices", choices }, ends, where: "z1" }], vocab);
      expect(start[0]).toBe(0);
      expect(index[0]).toBe(-1);
      expect(index[1]).toBe(0);
      const r = rng(7);
      for (let walk = 0; walk < 12; walk++) {
        let state = start[1]!;
        let prefix = "";
        for (let guard = 0; guard < 40 && state !== 0; guard++) {
          const allowed = Array.from(allowedTokens(table, state));
          expect(allowed, `after ${JSON.stringify(prefix)}`).toEqual(bruteAllowed(vocab, words, prefix));
          const t = r.pick(allowed);
          state = constraintNext(table, state, t);
          prefix += hex(vocab.bytes.subarray(vocab.offsets[t]!, vocab.offsets[t + 1]!));
        }
        expect(state).toBe(0);
        expect(words.map((w) => hex(enc.encode(w)))).toContain(prefix);
      }
    }, 60_000);
  }

  it("a regex: every walk spells a match followed by an end pattern", () => {
    const vocab = vocabularyOf(tk.gpt2);
    const { table, start } = buildConstraintTable([{ constraint: { kind: "regex", pattern: "\\d{1,3}(\\.\\d)?" }, ends: ["[EOS]"], where: "z0" }], vocab);
    const r = rng(3);
    for (let walk = 0; walk < 20; walk++) {
      let state = start[0]!;
      const bytes: number[] = [];
      while (state !== 0) {
        const t = r.pick(Array.from(allowedTokens(table, state)));
        bytes.push(...vocab.bytes.subarray(vocab.offsets[t]!, vocab.offsets[t + 1]!));
        state = constraintNext(table, state, t);
      }
      expect(new TextDecoder().decode(Uint8Array.from(bytes))).toMatch(/^\d{1,3}(\.\d)?\[EOS\]$/);
    }
  });

  it("shares one compiled constraint between zones and leaves the free row all-allowed", () => {
    const vocab = vocabularyOf(tk.byte);
    const c: ZoneConstraint = { kind: "choices", choices: ["a", "b"] };
    const { table, start } = buildConstraintTable([{ constraint: c, ends: ["."], where: "z0" }, { constraint: c, ends: ["."], where: "z1" }], vocab);
    expect(start[0]).toBe(start[1]);
    expect(table.constraints).toHaveLength(1);
    expect(Array.from(table.next.subarray(0, table.columns)).every((x) => x === 0)).toBe(true);
    expect(constraintNext(table, start[0]!, "c".charCodeAt(0))).toBe(0); // not allowed: abandons the constraint
  });

  it("says which zone holds a constraint no token sequence can satisfy, or a regex that does not compile", () => {
    const vocab: TokenVocabulary = { vocabSize: 2, bytes: enc.encode("ab"), offsets: Int32Array.from([0, 1, 2]) };
    expect(() => buildConstraintTable([{ constraint: { kind: "choices", choices: ["ac"] }, ends: ["b"], where: "zones[3] (main block 0 zone 1)" }], vocab)).toThrow(
      /zones\[3\] \(main block 0 zone 1\)\.constraint: no token sequence/,
    );
    expect(() => buildConstraintTable([{ constraint: { kind: "regex", pattern: "a(" }, ends: ["b"], where: "zones[0]" }], vocab)).toThrow(ConstraintError);
  });

  it("refuses nested repetitions on the work bound within seconds, naming the zone (was 19 s for a 14-character regex)", () => {
    const vocab = vocabularyOf(tk.byte);
    const started = performance.now();
    expect(() => buildConstraintTable([{ constraint: { kind: "regex", pattern: "(.{0,100}){10}" }, ends: ["[EOS]"], where: "zones[2] (main block 0 zone 1)" }], vocab)).toThrow(
      /^zones\[2\] \(main block 0 zone 1\)\.constraint: building the constraint's automaton takes more than REGEX_LIMITS\.maxSubsetWork = 16777216 steps/,
    );
    expect(performance.now() - started).toBeLessThan(5_000);
  });

  it("refuses a constraint with more reachable token states than the table holds before walking them all (was a 2 GB heap filled in 31 s under GPT-2)", () => {
    for (const [name, states] of [["gpt2", 666], ["llama3", 260]] as const) {
      const vocab = vocabularyOf(tk[name]);
      const used = () => process.memoryUsage().heapUsed + process.memoryUsage().arrayBuffers;
      const before = used();
      const started = performance.now();
      expect(() => buildConstraintTable([{ constraint: { kind: "regex", pattern: "(\\w+\\s?){1,50}" }, ends: ["[EOS]"], where: "zones[5]" }], vocab), name).toThrow(
        `zones[5].constraint: the constraint tables would need more than ${states} states of ${vocab.vocabSize + 1} columns for this constraint, over MAX_CONSTRAINT_TABLE_CELLS = 33554432`,
      );
      expect(performance.now() - started, name).toBeLessThan(15_000);
      expect(used() - before, name).toBeLessThan(1024 * 1024 * 1024); // garbage not yet collected included
    }
  }, 60_000);

  it("bounds the subset-construction work of all a program's constraints together (20 distinct ones took 3.4 s)", () => {
    const vocab = vocabularyOf(tk.byte);
    const zones = Array.from({ length: 20 }, (_, i) => ({ constraint: { kind: "regex", pattern: "([a-z]{0,45}){10}" } as ZoneConstraint, ends: [`[EOS${i}]`], where: `zones[${i}]` }));
    const started = performance.now();
    expect(() => buildConstraintTable(zones, vocab)).toThrow(
      /^zones\[\d+\]\.constraint: building the automata of the workflow's constraints together takes more than MAX_PROGRAM_SUBSET_WORK = 16777216 steps/,
    );
    expect(performance.now() - started).toBeLessThan(5_000);
    expect(buildConstraintTable(zones.slice(0, 3), vocab).table.constraints).toHaveLength(3); // a few of them fit
  });

  it("builds the same table in slices, pausing between them, and keeps it (or its error) for the compile's own call", async () => {
    const vocab = vocabularyOf(tk.gpt2);
    const zones = [
      { constraint: null, ends: [], where: "zones[0]" },
      { constraint: { kind: "regex", pattern: "[a-z ]{0,120}" } as ZoneConstraint, ends: ["[EOS]"], where: "zones[1]" },
      { constraint: { kind: "choices", choices: ["yes", "no"] } as ZoneConstraint, ends: ["[EOS]", "[Jump]"], where: "zones[2]" },
    ];
    let pauses = 0;
    const sliced = await buildConstraintTableInSlices(zones, vocab, async () => void pauses++);
    expect(pauses).toBeGreaterThanOrEqual(8); // 120+ states in slices of 16
    const again = buildConstraintTable(zones, vocab);
    expect(again === sliced).toBe(true); // kept: the compile does not build it again (identity; toBe would diff 25 MB tables)
    const fresh = buildConstraintTable(zones.map((z) => ({ ...z, where: `${z.where} ` })), vocab); // another key: built anew
    expect(fresh === sliced).toBe(false);
    expect(Buffer.from(fresh.table.next.buffer).equals(Buffer.from(sliced.table.next.buffer))).toBe(true);
    expect(Array.from(fresh.start)).toEqual(Array.from(sliced.start));
    const bad = [{ constraint: { kind: "regex", pattern: "(.{0,100}){10}" } as ZoneConstraint, ends: ["[EOS]"], where: "zones[7]" }];
    const kept = await buildConstraintTableInSlices(bad, vocab, async () => {}).catch((e: unknown) => e);
    expect(kept).toBeInstanceOf(ConstraintError);
    const started = performance.now();
    expect(() => buildConstraintTable(bad, vocab)).toThrow(kept as Error);
    expect(performance.now() - started).toBeLessThan(100); // the kept error, not a second construction
  }, 60_000);
});

describe("buildConstraintTableInSlices: the byte automaton and the vocabulary trie in slices too", () => {
  /** The longest stretch between two pauses (and before the first / after the last), with a real turn of the loop at each pause. */
  async function longestPiece(zones: Parameters<typeof buildConstraintTableInSlices>[0], vocab: TokenVocabulary) {
    let last = performance.now();
    let longest = 0;
    let pauses = 0;
    const result = await buildConstraintTableInSlices(zones, vocab, async () => {
      longest = Math.max(longest, performance.now() - last);
      pauses++;
      await new Promise((resolve) => setImmediate(resolve));
      last = performance.now();
    }).catch((e: unknown) => e);
    return { result, pauses, longestMs: Math.max(longest, performance.now() - last) };
  }

  it("builds Llama 3's vocabulary trie (128k tokens) in slices: was 0.38–0.58 s in one piece", async () => {
    const fresh = { ...vocabularyOf(tk.llama3) }; // another object: no trie or table kept for it
    const zones = [{ constraint: { kind: "regex", pattern: "[a-z]{0,3}" } as ZoneConstraint, ends: ["[EOS]"], where: "zones[0]" }];
    const { result, pauses, longestMs } = await longestPiece(zones, fresh);
    console.log(`[constraint] llama3 trie: ${pauses} pauses, longest piece ${longestMs.toFixed(0)} ms`);
    expect(result).not.toBeInstanceOf(Error);
    expect(pauses).toBeGreaterThan(30);
    expect(longestMs).toBeLessThan(200); // 55–67 ms measured (the sort's runs, the trie, 4096 tokens a slice)
    // Same table as the kept trie of the usual vocabulary object gives.
    const usual = buildConstraintTable(zones, vocabularyOf(tk.llama3)) as { table: { next: Int32Array } };
    expect(Buffer.from(usual.table.next.buffer).equals(Buffer.from((result as typeof usual).table.next.buffer))).toBe(true);
  }, 60_000);

  it("runs the subset construction in slices, up to its refusal on the work bound: was 0.7–1.2 s in one piece", async () => {
    const zones = [{ constraint: { kind: "regex", pattern: "(.{0,100}){10}" } as ZoneConstraint, ends: ["[EOS]"], where: "zones[3]" }];
    const { result, pauses, longestMs } = await longestPiece(zones, { ...vocabularyOf(tk.byte) });
    console.log(`[constraint] refused regex: ${pauses} pauses, longest piece ${longestMs.toFixed(0)} ms`);
    expect(result).toBeInstanceOf(ConstraintError);
    expect((result as Error).message).toMatch(/REGEX_LIMITS\.maxSubsetWork = 16777216 steps/);
    expect(pauses).toBeGreaterThan(50);
    expect(longestMs).toBeLessThan(300); // 68–88 ms measured
  }, 60_000);
});
