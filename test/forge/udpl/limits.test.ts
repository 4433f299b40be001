/**
 * UDPL_LIMITS (issue #15, items 6–7): each bound, crossed once by a small file, is a
 * UdplError that names the limit and points at the offending key; just under it parses.
 * And the linear replacements keep the old answers: the line index against a rescan, the
 * template parser against zcp/text.ts's, the position trie on a long name.
 */
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { suggest } from "../../../forge/udpl/context.js";
import { LineIndex, parseUdpl, TomlLocator, UDPL_LIMITS, UdplError } from "../../../forge/udpl/index.js";
import { lineColumnOf, parseTemplate, type TemplateSegment } from "../../../forge/zcp/text.js";

const CONFIG = (extra = "", tags = '["t1", "t2"]'): string => `[config]
zone_tokens = ["[P]", "[A]", "[E]"]
required_tokens = ["[P]"]
valid_tags = ${tags}
sequences = ["main"]
control_token = "[J]"
escape_token = "[X]"
${extra}
`;
const BLOCK = (extra = "", text = "[P] hi [A]"): string => `[[main]]\ntext = ${JSON.stringify(text)}\ntags = [["t1"], ["t2"]]\n${extra}`;

function parseError(text: string): UdplError {
  try {
    parseUdpl(text, { file: "limits.toml" });
  } catch (err) {
    if (err instanceof UdplError) return err;
    throw err;
  }
  throw new Error("expected the document to be rejected");
}

function lineOf(text: string, needle: string): number {
  const at = text.indexOf(needle);
  if (at < 0) throw new Error(`needle ${needle}`);
  return text.slice(0, at).split("\n").length;
}

const list = (n: number, f: (i: number) => string): string => Array.from({ length: n }, (_, i) => f(i)).join(", ");

describe("UDPL_LIMITS: every count is bounded, with a UdplError naming the limit", () => {
  const cases: Array<{ name: string; text: string; limit: keyof typeof UDPL_LIMITS; at?: string; sequence?: string }> = [
    { name: "repeats over maxRepeats", text: CONFIG() + BLOCK(`repeats = ${UDPL_LIMITS.maxRepeats + 1}\n`), limit: "maxRepeats", at: "repeats", sequence: "main" },
    { name: "repeats = 1890976446", text: CONFIG() + BLOCK("repeats = 1890976446\n"), limit: "maxRepeats", at: "repeats" },
    { name: "repeats = the largest float", text: CONFIG() + BLOCK("repeats = 1.7976931348623157e+308\n"), limit: "maxRepeats", at: "repeats" },
    { name: "max_gen_tokens = 1e300", text: CONFIG() + BLOCK("max_gen_tokens = 1e300\n"), limit: "maxGenTokens", at: "max_gen_tokens" },
    { name: "default_max_token_length = 2^53 - 1", text: CONFIG("default_max_token_length = 9007199254740991") + BLOCK(), limit: "maxGenTokens", at: "default_max_token_length" },
    {
      name: "tagset longer than maxRepeats",
      text: CONFIG() + `[[main]]\ntext = "[P] hi [A]"\ntagset = [${list(UDPL_LIMITS.maxRepeats + 1, () => "[[], []]")}]\n`,
      limit: "maxRepeats",
      at: "tagset",
    },
    {
      name: "zone_tokens over maxZoneTokens",
      text: CONFIG().replace('["[P]", "[A]", "[E]"]', `[${list(UDPL_LIMITS.maxZoneTokens + 1, (i) => `"[z${i}]"`)}]`).replace('required_tokens = ["[P]"]', "") + '[[main]]\ntext = "[z0] x"\n',
      limit: "maxZoneTokens",
      at: "zone_tokens",
    },
    { name: "a zone token over maxPatternBytes", text: CONFIG().replace('"[E]"]', `"${"e".repeat(UDPL_LIMITS.maxPatternBytes + 1)}"]`) + BLOCK(), limit: "maxPatternBytes", at: "eee" },
    { name: "control_token over maxPatternBytes", text: CONFIG().replace('control_token = "[J]"', `control_token = "${"j".repeat(UDPL_LIMITS.maxPatternBytes + 1)}"`) + BLOCK(), limit: "maxPatternBytes", at: "control_token" },
    { name: "escape over maxPatternBytes", text: CONFIG().replace('escape_token = "[X]"', `escape_patterns = ["<", "${">".repeat(UDPL_LIMITS.maxPatternBytes + 1)}"]`) + BLOCK(), limit: "maxPatternBytes" },
    { name: "valid_tags over maxListLength", text: CONFIG("", `[${list(UDPL_LIMITS.maxListLength + 1, (i) => `"t${i}"`)}]`) + BLOCK(), limit: "maxListLength", at: "valid_tags" },
    {
      name: "block text over maxTextLength",
      text: CONFIG() + BLOCK("", "[P] " + "x".repeat(UDPL_LIMITS.maxTextLength) + " [A]"),
      limit: "maxTextLength",
      at: "text",
    },
    {
      name: "trigger occurrences over maxTriggerOccurrences",
      text: CONFIG() + BLOCK("", "[P] " + "[X][J]".repeat(UDPL_LIMITS.maxTriggerOccurrences / 2 + 1) + " [A]"),
      limit: "maxTriggerOccurrences",
      at: "text",
    },
    {
      name: "nesting over maxNestingDepth (dotted key)",
      text: CONFIG() + BLOCK("", "[P] {q} [A]") + `[main.q]\nname = "r"\narguments.${Array.from({ length: UDPL_LIMITS.maxNestingDepth + 2 }, () => "a").join(".")} = 1\n`,
      limit: "maxNestingDepth",
      at: "arguments",
    },
    { name: "nesting over maxNestingDepth (inline)", text: CONFIG() + BLOCK(`x = ${"[".repeat(UDPL_LIMITS.maxNestingDepth + 2)}${"]".repeat(UDPL_LIMITS.maxNestingDepth + 2)}\n`), limit: "maxNestingDepth" },
    { name: "file over maxLines", text: CONFIG() + BLOCK() + "\n".repeat(UDPL_LIMITS.maxLines), limit: "maxLines" },
    { name: "file over maxSourceLength", text: CONFIG() + BLOCK() + "#" + "x".repeat(UDPL_LIMITS.maxSourceLength) + "\n", limit: "maxSourceLength" },
  ];

  for (const c of cases) {
    it(c.name, () => {
      const err = parseError(c.text);
      expect(err.message).toContain(`UDPL_LIMITS.${c.limit} = ${UDPL_LIMITS[c.limit]}`);
      expect(err.message.length).toBeLessThan(2_000);
      if (c.at) expect(err.line).toBe(lineOf(c.text, c.at));
      if (c.sequence) expect(err.sequence).toBe(c.sequence);
    });
  }

  it("just under the limits parses", () => {
    const text = CONFIG(`default_max_token_length = ${UDPL_LIMITS.maxGenTokens}`) + BLOCK(`repeats = ${UDPL_LIMITS.maxRepeats}\nmax_gen_tokens = ${UDPL_LIMITS.maxGenTokens}\n`);
    const r = parseUdpl(text);
    expect(r.sequences.main.zones).toHaveLength(2 * UDPL_LIMITS.maxRepeats);
    expect(r.sequences.main.blocks[0].repetitions).toBe(UDPL_LIMITS.maxRepeats);
  });

  it("the zones budget counts every sequence of the file", () => {
    const perBlock = Math.floor(UDPL_LIMITS.maxZones / 2 / UDPL_LIMITS.maxRepeats);
    const ok = CONFIG() + Array.from({ length: perBlock }, () => BLOCK(`repeats = ${UDPL_LIMITS.maxRepeats}\n`)).join("\n");
    expect(parseUdpl(ok).sequences.main.zones).toHaveLength(perBlock * 2 * UDPL_LIMITS.maxRepeats);
    const over = ok.replace('sequences = ["main"]', 'sequences = ["main", "more"]') + `[[more]]\ntext = "[P] x"\nrepeats = ${UDPL_LIMITS.maxRepeats}\n`;
    const err = parseError(over);
    expect(err.reason).toMatch(/^the sequences make more than UDPL_LIMITS.maxZones = \d+ zones/);
    expect(err.line).toBe(over.split("\n").length - 1);
    expect(err.sequence).toBe("more");
  });
});

describe("warnings are capped at UDPL_LIMITS.maxWarnings", () => {
  it("keeps maxWarnings and says how many more there were", () => {
    const n = UDPL_LIMITS.maxWarnings + 250;
    const r = parseUdpl(CONFIG() + BLOCK("", "[P] " + "[J] ".repeat(n) + "[A]"));
    expect(r.warnings).toHaveLength(UDPL_LIMITS.maxWarnings + 1);
    expect(r.warnings[0].reason).toMatch(/control pattern "\[J\]" appears unescaped/);
    expect(r.warnings.at(-1)!.reason).toBe(`250 more warnings left out (UDPL_LIMITS.maxWarnings = ${UDPL_LIMITS.maxWarnings} are kept)`);
  });

  it("under the cap every warning is there, with text line and column", () => {
    const r = parseUdpl(CONFIG() + BLOCK("", "[P] [J]\n[J] [A]"));
    expect(r.warnings.map((w) => w.reason)).toEqual([
      expect.stringMatching(/text line 1, column 5/),
      expect.stringMatching(/text line 2, column 1/),
    ]);
  });
});

describe("bounded messages and suggestions", () => {
  it("an unknown 1 MB key makes a short message, no suggestion", () => {
    const err = parseError(CONFIG() + `${"k".repeat(1_000_000)} = 1\n` + BLOCK());
    expect(err.reason).toMatch(/^unknown field "k+…" in \[config\]$/);
    expect(err.message.length).toBeLessThan(1_000);
    expect(err.hint).toBeUndefined();
  });

  it("a long tag against many valid tags: no suggestion, a short expected list", () => {
    const tags = `[${list(10_000, (i) => `"tag${i}"`)}]`;
    const err = parseError(CONFIG("", tags) + `[[main]]\ntext = "[P] x [A]"\ntags = [["${"q".repeat(16_000)}"], []]\n`);
    expect(err.reason).toMatch(/^tag "q+…" is not in valid_tags$/);
    expect(err.expected).toMatch(/\(10000 in all\)$/);
    expect(err.hint).toBe("add it to valid_tags in [config]");
  });

  it("suggest still finds the closest candidate, the first one on a tie", () => {
    expect(suggest("escape_tokn", ["zone_tokens", "escape_token", "escape_patterns"])).toBe("escape_token");
    expect(suggest("t3", ["t1", "t2"])).toBe("t1");
    expect(suggest("x".repeat(UDPL_LIMITS.maxSuggestionLength + 1), ["x".repeat(UDPL_LIMITS.maxSuggestionLength)])).toBeUndefined();
    const many = Array.from({ length: 100_000 }, (_, i) => `candidate_${i}`);
    expect(suggest("candidate_7x", many)).toBe("candidate_7");
  });

  it("suggest agrees with a plain edit-distance search on short words", () => {
    const lev = (a: string, b: string): number => {
      const row = Array.from({ length: b.length + 1 }, (_, j) => j);
      for (let i = 1; i <= a.length; i++) {
        let prev = row[0];
        row[0] = i;
        for (let j = 1; j <= b.length; j++) {
          const t = row[j];
          row[j] = Math.min(row[j] + 1, row[j - 1] + 1, prev + (a[i - 1] === b[j - 1] ? 0 : 1));
          prev = t;
        }
      }
      return row[b.length];
    };
    const reference = (word: string, cands: string[]): string | undefined => {
      let best: string | undefined;
      let bestD = Math.max(2, Math.floor(word.length / 3)) + 1;
      for (const c of cands) {
        const d = lev(word.toLowerCase(), c.toLowerCase());
        if (d < bestD) [best, bestD] = [c, d];
      }
      return best;
    };
    const word = fc.string({ unit: fc.constantFrom("a", "b", "c", "A", "_"), maxLength: 12 });
    fc.assert(fc.property(word, fc.array(word, { maxLength: 12 }), (w, cands) => suggest(w, cands) === reference(w, cands)), { numRuns: 500 });
  });
});

describe("linear replacements give the old answers", () => {
  it("LineIndex equals zcp's lineColumnOf at every offset", () => {
    fc.assert(
      fc.property(fc.string({ unit: fc.constantFrom("a", "\n", "\r", "x"), maxLength: 40 }), (text) => {
        const lines = new LineIndex(text);
        for (let at = 0; at <= text.length; at++) expect(lines.position(at)).toEqual(lineColumnOf(text, at));
      }),
      { numRuns: 300 },
    );
  });

  /** The template rules, one character at a time and quadratic: the oracle for the linear scan. */
  function referenceTemplate(t: string, base: number, spans: ReadonlyArray<{ start: number; end: number }>) {
    const segments: TemplateSegment[] = [];
    const offsets: number[] = [];
    let literal = "";
    const flush = () => {
      if (literal) segments.push({ kind: "literal", text: literal });
      literal = "";
    };
    for (let at = 0; at < t.length; ) {
      const span = spans.find((s) => s.start <= base + at && base + at < s.end);
      const ch = t[at]!;
      if (span || (ch !== "{" && ch !== "}")) {
        literal += ch;
        at++;
      } else if (t[at + 1] === ch) {
        literal += ch;
        at += 2;
      } else {
        const close = ch === "{" ? t.indexOf("}", at + 1) : -1;
        const name = close > 0 ? t.slice(at + 1, close) : "";
        if (close >= 0 && /^[A-Za-z0-9_-]+$/.test(name)) {
          flush();
          segments.push({ kind: "placeholder", name, offset: base + at });
          at = close + 1;
        } else {
          offsets.push(base + at);
          literal += ch;
          at++;
        }
      }
    }
    flush();
    return { segments, offsets };
  }

  it("the template parser follows the template rules on generated texts", () => {
    const text = fc.string({ unit: fc.constantFrom("{", "}", "a", "_", " ", "{{", "}}", "[P]", "é"), maxLength: 30 });
    const spans = fc.array(fc.tuple(fc.nat({ max: 30 }), fc.nat({ max: 5 })), { maxLength: 4 }).map((xs) => {
      const sorted = xs.map(([s, l]) => ({ start: s, end: s + l + 1 })).sort((a, b) => a.start - b.start);
      const out: Array<{ start: number; end: number }> = [];
      for (const s of sorted) if (!out.length || s.start >= out[out.length - 1].end) out.push(s);
      return out;
    });
    fc.assert(
      fc.property(text, fc.nat({ max: 5 }), spans, (t, base, protectedSpans) => {
        const shifted = protectedSpans.map((s) => ({ start: s.start + base, end: s.end + base }));
        const ours = parseTemplate(t, base, shifted);
        const reference = referenceTemplate(t, base, shifted);
        expect(ours.segments).toEqual(reference.segments);
        expect(ours.issues.map((issue) => issue.offset)).toEqual(reference.offsets);
        const first = parseTemplate(t, base, shifted, true);
        expect(first.issues).toEqual(ours.issues.slice(0, 1));
      }),
      { numRuns: 2_000 },
    );
  });

  it("the template parser is linear in lone braces", () => {
    const t0 = performance.now();
    const { issues } = parseTemplate("{a".repeat(500_000));
    expect(issues).toHaveLength(500_000);
    expect(performance.now() - t0).toBeLessThan(5_000);
  });

  it("the locator finds elements under a 100 000-character table name", () => {
    const name = "n".repeat(100_000);
    const text = `[[${name}]]\ntags = [${list(50_000, () => '"t"')}]\n`;
    const loc = new TomlLocator(text);
    const t0 = performance.now();
    expect(loc.find([name, 0, "tags", 49_999])).toEqual({ line: 2, column: 9 + 49_999 * 5 });
    expect(loc.nearest([name, 0, "tags", 50_000, "x"])).toEqual({ line: 2, column: 1 });
    expect(performance.now() - t0).toBeLessThan(5_000);
  });
});
