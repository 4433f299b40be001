import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { compileGlob, HistoryRequestError, HistoryStore, MAX_HISTORY_PATTERN_LENGTH, type HistoryQuery } from "../../kernel/history/index.js";
import { seededRandom } from "../../forge/resources/random.js";

describe("history store", () => {
  it("keeps sessions apart and answers tail, range and search", () => {
    const file = join(mkdtempSync(join(tmpdir(), "forge-history-")), "h.sqlite");
    const first = new HistoryStore(file);
    first.record(1, "a = 1");
    first.record(2, "a + 1");
    first.recordOutput(2, "2");
    first.close();
    const second = new HistoryStore(file);
    expect(second.session).toBe(first.session + 1);
    second.record(1, "a + 1");
    second.record(2, "b");
    expect(second.query({ output: false, hist_access_type: "tail", n: 3 })).toEqual([
      [first.session, 2, "a + 1"],
      [second.session, 1, "a + 1"],
      [second.session, 2, "b"],
    ]);
    expect(second.query({ output: true, hist_access_type: "range", session: -1, start: 2, stop: 3 })).toEqual([[first.session, 2, ["a + 1", "2"]]]);
    expect(second.query({ output: false, hist_access_type: "range", session: 0, start: 1, stop: 2 })).toEqual([[second.session, 1, "a + 1"]]);
    expect(second.query({ output: false, hist_access_type: "search", pattern: "a*" })).toHaveLength(3);
    expect(second.query({ output: false, hist_access_type: "search", pattern: "a*", unique: true })).toEqual([
      [first.session, 1, "a = 1"],
      [second.session, 1, "a + 1"],
    ]);
    expect(second.query({ output: false, hist_access_type: "search", pattern: "a*", n: 1 })).toEqual([[second.session, 1, "a + 1"]]);
    second.close();
  });

  it("matches globs like IPython: *, ? and [] over the whole source", () => {
    expect(compileGlob("6*7").test("6*7")).toBe(true);
    expect(compileGlob("6*7").test("16*7")).toBe(false);
    expect(compileGlob("x?").test("xy")).toBe(true);
    expect(compileGlob("[ab]c").test("bc")).toBe(true);
    expect(compileGlob("a.b").test("axb")).toBe(false);
  });

  it("matches a glob in time pattern × text (session 7: *a*a*a*a*a*a*a*a*a*a*b against 40 a's held the kernel for minutes)", () => {
    const started = performance.now();
    expect(compileGlob("*a*a*a*a*a*a*a*a*a*a*b").test("a".repeat(40))).toBe(false);
    expect(compileGlob("*a*a*a*a*a*a*a*a*a*a*b").test("a".repeat(10_000) + "b")).toBe(true);
    expect(compileGlob("*" + "a*".repeat(200) + "b").test("a".repeat(20_000))).toBe(false);
    expect(performance.now() - started).toBeLessThan(2_000);
    expect(() => compileGlob("*".repeat(MAX_HISTORY_PATTERN_LENGTH + 1))).toThrow(HistoryRequestError);
    expect(() => compileGlob("*".repeat(MAX_HISTORY_PATTERN_LENGTH + 1))).toThrow(/^history_request content\.pattern: .* over MAX_HISTORY_PATTERN_LENGTH = 1024/);
    const file = join(mkdtempSync(join(tmpdir(), "forge-history-")), "h.sqlite");
    const store = new HistoryStore(file);
    store.record(1, "a".repeat(40));
    store.record(2, "a".repeat(39) + "b");
    expect(store.query({ output: false, hist_access_type: "search", pattern: "*a*a*a*a*a*a*a*a*a*a*b" })).toEqual([[store.session, 2, "a".repeat(39) + "b"]]);
    // Fields of the wrong type name the field (was SQLite's "Too few parameter values were provided").
    const bad = (q: object) => () => store.query(q as HistoryQuery);
    expect(bad({ output: false, hist_access_type: "range", session: "x" })).toThrow('history_request content.session: must be an integer, got "x"');
    expect(bad({ output: false, hist_access_type: "tail", n: 1.5 })).toThrow("history_request content.n: must be an integer, got 1.5");
    expect(bad({ output: false, hist_access_type: "search", pattern: 5 })).toThrow("history_request content.pattern: must be a string, got 5");
    expect(bad({ output: false, hist_access_type: "all" })).toThrow('history_request content.hist_access_type: must be "tail", "range" or "search", got "all"');
    store.close();
  });

  it("agrees with the regular expression IPython's glob stands for, on random short patterns and texts", () => {
    // The reference: the glob as a regular expression (what the store used before), fine on short inputs.
    const asRegExp = (pattern: string) => {
      let out = "";
      for (let i = 0; i < pattern.length; i++) {
        const ch = pattern[i]!;
        if (ch === "*") out += "[\\s\\S]*";
        else if (ch === "?") out += "[\\s\\S]";
        else if (ch === "[" && pattern.indexOf("]", i + 2) >= 0) {
          const close = pattern.indexOf("]", i + 2);
          out += "[" + pattern.slice(i + 1, close).replace(/^!/, "^").replace(/\\/g, "\\\\") + "]";
          i = close;
        } else out += ch.replace(/[.+^${}()|\\[\]\\]/g, "\\$&");
      }
      return new RegExp(`^${out}$`);
    };
    const random = seededRandom(11);
    const pick = (alphabet: string, n: number) => Array.from({ length: n }, () => alphabet[Math.floor(random() * alphabet.length)]).join("");
    let compared = 0;
    for (let round = 0; round < 3000; round++) {
      const pattern = pick("ab*?[]!-\n.", 1 + Math.floor(random() * 7));
      // A class opening with "]" is where they part: in a JavaScript class "[]" matches nothing and
      // "[^]" everything; in IPython's globs (Python's fnmatch), and here, that "]" is a member.
      if (/\[!?\]/.test(pattern)) continue;
      let reference: RegExp;
      try {
        reference = asRegExp(pattern);
      } catch {
        continue; // e.g. [b-a]: the regular expression does not compile
      }
      const glob = compileGlob(pattern);
      for (let k = 0; k < 5; k++) {
        const text = pick("ab\n.-!", Math.floor(random() * 7));
        expect(glob.test(text), `${JSON.stringify(pattern)} on ${JSON.stringify(text)}`).toBe(reference.test(text));
        compared++;
      }
    }
    expect(compared).toBeGreaterThan(5_000);
    expect(compileGlob("[]a]").test("]")).toBe(true); // fnmatch: a leading ] is a member
    expect(compileGlob("[!]a]").test("b")).toBe(true);
  });
});
