/**
 * The trigger automaton (docs/automaton.md#triggers): byte-level Aho–Corasick, its token-level table,
 * and — with three real tokenizers that split `[Jump]`, `[EOS]`, `[Answer]` differently —
 * triggers that fire whatever the split, across forced/generated boundaries, and escapes.
 */
import fc from "fast-check";
import { beforeAll, describe, expect, it } from "vitest";
import { buildByteAutomaton, buildTriggerTable, compileForBackend, runBytes, runScripted, scanBytes, triggerColumn } from "../../../forge/ttfa/index.js";
import type { ForgeTokenizer } from "../../../forge/tokenizer/types.js";
import { loadTestTokenizers, splitPieces, type TestTokenizers } from "../../helpers/tokenizers.js";
import { PAIR_ESCAPE, SINGLE_ESCAPE, workflow, zone } from "./fixtures.js";

const utf8 = new TextEncoder();

/** Naive oracle: at each byte, the longest pattern ending there within the bytes read since the last match. */
function naiveScan(patterns: string[], text: Uint8Array): Array<{ pattern: number; end: number }> {
  const bytes = patterns.map((p) => utf8.encode(p));
  const found: Array<{ pattern: number; end: number }> = [];
  let start = 0;
  for (let end = 1; end <= text.length; end++) {
    let best = -1;
    bytes.forEach((p, i) => {
      if (p.length > end - start) return;
      for (let j = 0; j < p.length; j++) if (text[end - p.length + j] !== p[j]) return;
      if (best < 0 || p.length > bytes[best]!.length) best = i;
    });
    if (best >= 0) {
      found.push({ pattern: best, end });
      start = end;
    }
  }
  return found;
}

describe("byte-level Aho–Corasick", () => {
  it("finds the same matches as a naive scan (random patterns and texts)", () => {
    const alphabet = fc.constantFrom(..."[]ab<>");
    const str = (min: number, max: number) => fc.array(alphabet, { minLength: min, maxLength: max }).map((a) => a.join(""));
    fc.assert(
      fc.property(fc.uniqueArray(str(1, 5), { minLength: 1, maxLength: 6 }), str(0, 40), (patterns, text) => {
        const automaton = buildByteAutomaton(patterns);
        expect(scanBytes(automaton, utf8.encode(text))).toEqual(naiveScan(patterns, utf8.encode(text)));
      }),
      { numRuns: 400 },
    );
  });

  it("reports the longest pattern ending at a byte and restarts from the root after a match", () => {
    const automaton = buildByteAutomaton(["[EOS]", "OS]", "]]"]);
    // "[EOS]" and "OS]" end at the same byte: the longer wins; the second "]" starts afresh, so "]]" does not match.
    expect(scanBytes(automaton, utf8.encode("x[EOS]]"))).toEqual([{ pattern: 0, end: 6 }]);
    expect(scanBytes(automaton, utf8.encode("OS]]]"))).toEqual([{ pattern: 1, end: 3 }, { pattern: 2, end: 5 }]);
  });

  it("refuses an empty pattern", () => {
    expect(() => buildByteAutomaton(["[A]", ""])).toThrow(/pattern 1 is empty/);
  });
});

describe("token-level table with real tokenizers", () => {
  let tokenizers: TestTokenizers;
  beforeAll(async () => {
    tokenizers = await loadTestTokenizers();
  });
  const all = (): Array<[string, ForgeTokenizer]> => Object.entries(tokenizers) as Array<[string, ForgeTokenizer]>;
  const PATTERNS = ["[Prompt]", "[Answer]", "[EOS]", "[Jump]", "[Esc]"];

  it("the three tokenizers split [Jump], [EOS] and [Answer] differently", () => {
    const splits = all().map(([, t]) => ["[Jump]", "[EOS]", "[Answer]", " [Answer]\n"].map((p) => splitPieces(t, p).join("|")).join(" "));
    expect(new Set(splits).size).toBe(3);
    // e.g. byte: [|J|u|m|p|], GPT-2: [|E|OS|], Llama 3: " [|Answer|]\n" (the closing bracket shares a token with the newline)
    expect(splitPieces(tokenizers.gpt2, "[EOS]")).toEqual(["[", "E", "OS", "]"]);
    expect(splitPieces(tokenizers.llama3, " [Answer]\n")).toEqual([" [", "Answer", "]\n"]);
  });

  it("each table cell equals running the token's bytes from that state (every cell; every 7th token for Llama 3)", () => {
    for (const [name, tokenizer] of all()) {
      const table = buildTriggerTable(PATTERNS, tokenizer);
      expect(table.columns).toBe(tokenizer.vocabSize + 1);
      const stride = name === "llama3" ? 7 : 1;
      let mismatches = 0;
      for (let id = 0; id < tokenizer.vocabSize; id += stride) {
        const bytes = tokenizer.tokenBytes(id);
        for (let s = 0; s < table.stateCount; s++) {
          const expected = runBytes(table.bytes, s, bytes);
          const cell = s * table.columns + id;
          if (table.next[cell] !== expected.state || table.match[cell] !== expected.match) mismatches++;
        }
      }
      expect(mismatches, name).toBe(0);
      // The extra column: ids outside the vocabulary have no bytes.
      expect(triggerColumn(table, tokenizer.vocabSize + 5)).toBe(tokenizer.vocabSize);
      for (let s = 0; s < table.stateCount; s++) expect(table.next[s * table.columns + tokenizer.vocabSize]).toBe(s);
    }
  });

  it("fires on every pattern whatever the split: whole, cut at any byte, or glued to neighbours", () => {
    for (const [name, tokenizer] of all()) {
      const table = buildTriggerTable(PATTERNS, tokenizer);
      for (const [pi, pattern] of PATTERNS.entries()) {
        const splits: number[][] = [tokenizer.encode(pattern), tokenizer.encode(`x ${pattern}\n`)];
        for (let cut = 1; cut < pattern.length; cut++) splits.push([...tokenizer.encode(pattern.slice(0, cut)), ...tokenizer.encode(pattern.slice(cut))]);
        for (const tokens of splits) {
          let state = 0;
          const matches: number[] = [];
          for (const t of tokens) {
            const cell = state * table.columns + t;
            state = table.next[cell]!;
            if (table.match[cell]! >= 0) matches.push(table.match[cell]!);
          }
          expect(matches, `${name}: ${JSON.stringify(splitPieces(tokenizer, tokenizer.decode(tokens)))}`).toEqual([pi]);
        }
      }
    }
  });
});

describe("triggers in running programs, three tokenizers", () => {
  let tokenizers: TestTokenizers;
  beforeAll(async () => {
    tokenizers = await loadTestTokenizers();
  });
  const each = (fn: (name: string, t: ForgeTokenizer) => void) => {
    for (const [name, t] of Object.entries(tokenizers) as Array<[string, ForgeTokenizer]>) fn(name, t);
  };
  it("an advance whose first half was forced and second half generated fires", () => {
    each((name, t) => {
      for (let cut = 1; cut < "[Answer]".length; cut++) {
        const prompt = `Question? ${"[Answer]".slice(0, cut)}`;
        const program = compileForBackend(
          workflow([zone({ text: prompt, advance: "[Answer]", next: 1, maxGen: 20 }), zone({ text: " yes", advance: "[EOS]", maxGen: 0 })]),
          t,
        );
        const forcedCount = program.feedEnd[0]! - program.feedStart[0]!;
        const suffix = t.encode("[Answer]".slice(cut));
        const trace = runScripted(program, (i) => suffix[i - forcedCount] ?? t.encode("zz")[0]!, 200);
        const advance = trace.events.find((e) => e.kind === "advance" && e.zone === 0);
        expect(advance, `${name} cut ${cut}`).toBeDefined();
        // It fired on the last generated token of the pattern, not later.
        expect(advance!.step, `${name} cut ${cut}`).toBe(forcedCount + suffix.length - 1);
        expect(trace.forced[advance!.step]).toBe(0);
        expect(trace.status).toBe("timeout"); // zone 1 has maxGen 0: its [EOS] is injected
      }
    });
  });

  it("jumps on a generated control pattern split any way, and escapes block it (single and pair)", () => {
    each((name, t) => {
      const zones = [
        zone({ text: "Q:", advance: "[Answer]", next: 1, jump: 2, maxGen: 30 }),
        zone({ text: "nominal", advance: "[EOS]", maxGen: 0 }),
        zone({ text: "jumped", advance: "[EOS]", maxGen: 0 }),
      ];
      const run = (escape: typeof SINGLE_ESCAPE | null, text: string) => {
        const program = compileForBackend(workflow(zones, { escape }), t);
        const gen = t.encode(text);
        const start = program.feedEnd[0]! - program.feedStart[0]!;
        return runScripted(program, (i) => gen[i - start] ?? t.encode(".")[0]!, 300);
      };
      const path = (trace: ReturnType<typeof run>) => trace.events.filter((e) => e.kind === "jump" || e.kind === "advance").map((e) => `${e.kind}:${e.zone}->${e.target}`);
      // Plain jump, pattern glued to text and split by the tokenizer as it likes.
      expect(path(run(null, "so x[Jump]\n")), name).toEqual(["jump:0->2", "advance:2->-1"]);
      // Single escape: the escaped jump is ignored (reported), the next one is taken.
      const single = run(SINGLE_ESCAPE, "a [Esc][Jump] b [Jump]");
      expect(single.events.filter((e) => e.kind === "ignored_jump").length, name).toBe(1);
      expect(path(single), name).toEqual(["jump:0->2", "advance:2->-1"]);
      // An escaped escape is consumed: the following jump fires.
      expect(path(run(SINGLE_ESCAPE, "[Esc][Esc][Jump]")), name).toEqual(["jump:0->2", "advance:2->-1"]);
      // Pair: nothing inside << … >> fires, neither the jump nor the advance.
      const pair = run(PAIR_ESCAPE, "<< [Jump] [Answer] [Jump] >> then [Answer]");
      expect(pair.events.filter((e) => e.kind === "ignored_jump").length, name).toBe(2);
      expect(path(pair), name).toEqual(["advance:0->1", "advance:1->-1"]);
      // A pattern split across the escape boundary tokens still counts as escaped.
      expect(path(run(PAIR_ESCAPE, "<<[Answer]>>[Jump]")), name).toEqual(["jump:0->2", "advance:2->-1"]);
    });
  });
});
