/**
 * Mutated UDPL files: every outcome is a parse result or a UdplError, never another
 * exception. Mutations work on the text (characters, lines, tokens) so they reach both
 * TOML syntax errors and semantic lint paths.
 */
import { readFileSync } from "node:fs";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { parseUdpl, UdplError } from "../../../forge/udpl/index.js";

const SEED = readFileSync("test/fixtures/udpl/seed-fixed.toml", "utf8");
const RICH = `[config]
zone_tokens = ["[P]", "[A]", "[E]"]
required_tokens = ["[P]"]
valid_tags = ["t1", "t2"]
sequences = ["main", "side"]
control_token = "[J]"
escape_patterns = ["<e>", "</e>"]
default_max_token_length = 40
tokenizer_override = { eos_token = "[E]" }
tools = ["search"]

[[main]]
text = "[P] ask {q} <e>[A]</e> {{x}} [A]"
tags = [["t1"], ["t2"]]
repeats = 2
max_gen_tokens = 8
[main.q]
name = "question"
type = "argument"
arguments = { num_samples = 1 }

[[side]]
text = """
[P] side [A] done [E]
"""
tagset = [[["t1"], []], [[], ["t2"]]]
`;

const FRAGMENTS = ["[", "]", "[[", "]]", "{", "}", "=", ":", '"', "'", '"""', ",", "\n", "#", "[P]", "[A]", "[E]", "[J]", "<e>", "</e>", "[Escape]", "tags", "text", "0", "-1", "1.5", "true", "{q}", "{{", "}}", "[[main]]", "[config]", "repeats = 2", 'tagset = [[[]]]', "valid_tags = []", "\r\n", "\\", "__proto__", "constructor"];

type Mutation = (text: string) => string;

const mutation: fc.Arbitrary<Mutation> = fc.oneof(
  fc.tuple(fc.nat(), fc.nat({ max: 6 })).map(([at, len]): Mutation => (t) => {
    const i = at % (t.length + 1);
    return t.slice(0, i) + t.slice(i + len);
  }),
  fc.tuple(fc.nat(), fc.constantFrom(...FRAGMENTS)).map(([at, frag]): Mutation => (t) => {
    const i = at % (t.length + 1);
    return t.slice(0, i) + frag + t.slice(i);
  }),
  fc.tuple(fc.nat(), fc.string({ maxLength: 4 })).map(([at, s]): Mutation => (t) => {
    const i = at % (t.length + 1);
    return t.slice(0, i) + s + t.slice(i + s.length);
  }),
  fc.tuple(fc.nat(), fc.nat()).map(([a, b]): Mutation => (t) => {
    const lines = t.split("\n");
    const i = a % lines.length;
    const j = b % lines.length;
    [lines[i], lines[j]] = [lines[j], lines[i]];
    return lines.join("\n");
  }),
  fc.nat().map((a): Mutation => (t) => {
    const lines = t.split("\n");
    lines.splice(a % lines.length, 1);
    return lines.join("\n");
  }),
  fc.nat().map((a): Mutation => (t) => {
    const lines = t.split("\n");
    const i = a % lines.length;
    lines.splice(i, 0, lines[i]);
    return lines.join("\n");
  }),
);

function outcome(text: string): "parsed" | "rejected" {
  try {
    const result = parseUdpl(text, { file: "mutant.toml" });
    expect(Array.isArray(result.warnings)).toBe(true);
    return "parsed";
  } catch (err) {
    if (!(err instanceof UdplError)) throw new Error(`not a UdplError: ${(err as Error)?.stack ?? String(err)}\n--- input ---\n${text}`);
    expect(err.file).toBe("mutant.toml");
    expect(err.line).toBeGreaterThanOrEqual(1);
    expect(err.column).toBeGreaterThanOrEqual(1);
    expect(err.message.length).toBeGreaterThan(10);
    return "rejected";
  }
}

describe("UDPL under mutation", () => {
  for (const [name, base] of [["seed example", SEED], ["rich document", RICH]] as const) {
    it(`${name}: 1,500 mutants parse or raise UdplError`, () => {
      expect(outcome(base)).toBe("parsed");
      const seen = { parsed: 0, rejected: 0 };
      fc.assert(
        fc.property(fc.array(mutation, { minLength: 1, maxLength: 4 }), (mutations) => {
          seen[outcome(mutations.reduce((t, m) => m(t), base))]++;
        }),
        { numRuns: 1500, seed: name.length },
      );
      // Both outcomes occur: the mutations reach past the TOML parser into the lint rules.
      expect(seen.parsed).toBeGreaterThan(20);
      expect(seen.rejected).toBeGreaterThan(200);
    });
  }
});
