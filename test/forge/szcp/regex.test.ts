import { describe, expect, it } from "vitest";
import { compileChoices, compileRegex, RegexError, REGEX_LIMITS, subsetConstruction, type ByteNfa } from "../../../forge/szcp/regex.js";

/** Does the NFA accept exactly these bytes? (direct simulation, independent of the DFA builder) */
function accepts(nfa: ByteNfa, text: string): boolean {
  const closure = (states: number[]) => {
    const seen = new Set<number>();
    const stack = [...states];
    while (stack.length) {
      const s = stack.pop()!;
      if (seen.has(s)) continue;
      seen.add(s);
      stack.push(...nfa.eps[s]!);
    }
    return [...seen];
  };
  let cur = closure([nfa.start]);
  for (const b of new TextEncoder().encode(text)) cur = closure(cur.filter((s) => nfa.set[s]?.[b]).map((s) => nfa.to[s]!));
  return cur.includes(nfa.accept);
}

describe("compileRegex", () => {
  const cases: Array<[string, string[], string[]]> = [
    ["yes|no", ["yes", "no"], ["", "y", "yesno", "maybe"]],
    ["\\d{1,3}", ["7", "42", "999"], ["", "1234", "a"]],
    ["[a-c]+x?", ["a", "abcx", "cc"], ["x", "abd", ""]],
    ["^(?:ab)*$", ["", "ab", "abab"], ["a", "aba"]],
    ["[^0-9]", ["a", "é", " "], ["5", "ab"]],
    ["café|東京", ["café", "東京"], ["cafe"]],
    [".\\.\\d", ["a.1", "é.9"], ["\n.1", "a.a"]],
    ["[\\w-]+@x", ["a-b_9@x"], ["@x"]],
    ["\\u00e9\\x41", ["éA"], ["e"]],
  ];
  for (const [pattern, yes, no] of cases) {
    it(`${pattern} accepts and rejects whole answers`, () => {
      const nfa = compileRegex(pattern);
      for (const t of yes) expect(accepts(nfa, t), t).toBe(true);
      for (const t of no) expect(accepts(nfa, t), t).toBe(false);
    });
  }

  it("refuses what it does not support, naming the offset", () => {
    const bad: Array<[string, RegExp]> = [
      ["(a", /unclosed \(/], ["a)", /unmatched \)/], ["*a", /nothing to repeat/], ["a{3,1}", /below the minimum/],
      ["(?=a)", /lookaround/], ["a*?", /lazy/], ["\\1", /backreferences/], ["\\b", /word boundaries/], ["a^b", /only accepted/],
      ["[a", /unclosed \[/], ["[z-a]", /out of order/], ["a{1001}", /maxRepeat/], ["[^é]", /ASCII characters only/], ["\\", /trailing backslash/],
    ];
    for (const [pattern, message] of bad) {
      let error: unknown;
      try { compileRegex(pattern); } catch (e) { error = e; }
      expect(error, pattern).toBeInstanceOf(RegexError);
      expect((error as RegexError).message, pattern).toMatch(message);
      expect((error as RegexError).offset).toBeGreaterThanOrEqual(0);
    }
  });

  it("bounds the automaton a regex may build", () => {
    expect(() => compileRegex("(((a{1000}){1000}))")).toThrow(/maxNfaStates/);
    expect(() => compileRegex("a".repeat(REGEX_LIMITS.maxPatternLength + 1))).toThrow(/maxPatternLength/);
  });
});

describe("subsetConstruction", () => {
  it("stops nested repetitions on its work bound within seconds (was 19 s for 14 characters, then refused on states)", () => {
    for (const pattern of ["(.{0,100}){10}", "([a-z]{0,100}){40}"]) {
      const started = performance.now();
      expect(subsetConstruction(compileRegex(pattern), 4096), pattern).toMatchObject({ over: "work" });
      expect(performance.now() - started, pattern).toBeLessThan(5_000);
    }
  });

  it("builds an ambiguous but legitimate regex inside the bound, and says when states run out", () => {
    const dfa = subsetConstruction(compileRegex("(\\w+\\s?){1,50}"), 4096);
    expect("over" in dfa ? dfa : dfa.count).toBe(3777);
    expect(subsetConstruction(compileRegex("[ab]{0,50}"), 10)).toMatchObject({ over: "states" });
  });

  it("matches what the NFA accepts, byte by byte", () => {
    const nfa = compileRegex("(ab|a)*c?");
    const dfa = subsetConstruction(nfa, 100);
    if ("over" in dfa) throw new Error("over");
    const run = (text: string) => {
      let d = 0;
      for (const b of new TextEncoder().encode(text)) if ((d = d < 0 ? -1 : dfa.delta[d * 256 + b]!) < 0) return false;
      return dfa.accept[d] === 1;
    };
    for (const text of ["", "a", "ab", "aab", "abac", "c", "ba", "abc", "acc", "b"]) expect(run(text), text).toBe(accepts(nfa, text));
  });
});

describe("compileChoices", () => {
  it("accepts exactly the choices", () => {
    const nfa = compileChoices(["yes", "no", "unsure"]);
    for (const t of ["yes", "no", "unsure"]) expect(accepts(nfa, t)).toBe(true);
    for (const t of ["", "un", "yesno", "unsure!"]) expect(accepts(nfa, t)).toBe(false);
  });
  it("refuses an empty list, empty and duplicate choices", () => {
    expect(() => compileChoices([])).toThrow(/non-empty list/);
    expect(() => compileChoices(["a", ""])).toThrow(/choice 1 must be a non-empty string/);
    expect(() => compileChoices(["a", "b", "a"])).toThrow(/choice 2 \("a"\) appears twice/);
  });
});
