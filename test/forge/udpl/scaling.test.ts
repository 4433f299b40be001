/**
 * Parse time is linear in the input (issue #15, item 7): generated large UDPL files — one
 * construct, drawn by fast-check, repeated to 1 MB, with or without a mistake at the end —
 * must parse or fail with a UdplError within a time bound per byte, and within a multiple of
 * bare smol-toml's time on the same text. smol-toml is linear (bench/compile/hostile.ts's
 * notes), and it meets the same garbage collector and the same machine load, so the second
 * bound stays meaningful on a loaded machine, where comparing a small file's time with a
 * large one's measures the collector more than the parser. Before the fixes, a quadratic
 * path took 300× to 2 500× smol-toml's time at these sizes (40 000 `[J]`: 51 s against
 * ~20 ms); the parser's own work is now 1–3× smol-toml's. Times are the best of two runs.
 */
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { parse as parseToml } from "smol-toml";
import { parseUdpl, UdplError } from "../../../forge/udpl/index.js";

const CONFIG = `[config]
zone_tokens = ["[P]", "[A]", "[E]"]
required_tokens = ["[P]"]
valid_tags = ["t1", "t2", "answer"]
sequences = ["main"]
control_token = "[J]"
escape_token = "[X]"
`;

/** Pieces of block text: triggers, escapes, braces, placeholders, newlines. No quotes, no lone backslash. */
const TEXT_PIECES = ["x", "word ", " ", "\n", "[J]", "[X][J]", "[X]", "{{", "}}", "{q}", "{", "}", "{a", "é", "\\\\", "[A", "[P", "J]"];
const KEY_CHARS = ["a", "b", "_", "-", "0", "Z"];

/** One construct each, grown to the size: a block's text, blocks, tags of a zone, valid_tags, zone_tokens, a key, a table name, lines. */
const FAMILIES = ["text", "blocks", "tags", "valid_tags", "zone_tokens", "key", "names", "lines"] as const;
type Family = (typeof FAMILIES)[number];

const TAILS = [
  "",
  '\n[[main]]\ntext = "[P] x"\ntags = [["t1"], ["answr"]]\n', // a bad tag: "did you mean"
  "\nx = \n", // a TOML syntax error on the last line
  '\n[[main]]\ntext = "[P] x"\nrepeats = 99999999\n', // over a limit
  "\nbogus_field = 1\n", // an unknown block field
];

function repeatTo(unit: string, size: number): string {
  if (unit.length === 0) unit = "x";
  return unit.repeat(Math.max(1, Math.floor(size / unit.length)));
}

const list = (n: number, f: (i: number) => string): string => Array.from({ length: n }, (_, i) => f(i)).join(", ");

function build(family: Family, pieces: string[], size: number, tail: string): string {
  const unit = pieces.join("");
  const line = unit.replace(/\n/g, " ");
  const word = pieces.map((p) => KEY_CHARS[p.length % KEY_CHARS.length]).join("") || "n";
  switch (family) {
    case "text":
      return `${CONFIG}[[main]]\ntext = """[P] ${repeatTo(unit, size)} [A]"""\ntags = [["t1"], []]\n[main.q]\nname = "r"\n${tail}`;
    case "blocks":
      return CONFIG + repeatTo(`[[main]]\ntext = "[P] ${line} [A]"\ntags = [["t1"], ["t2"]]\n`, size) + tail;
    case "tags": {
      const tags = list(Math.floor(size / 6), (i) => `"t${1 + (i % 2)}"`);
      return `${CONFIG}[[main]]\ntext = "[P] ${line.slice(0, 200)} [A]"\ntags = [[${tags}], ["answer"]]\n${tail}`;
    }
    case "valid_tags":
      return CONFIG.replace('valid_tags = ["t1", "t2", "answer"]', `valid_tags = ["t1", "t2", "answer", ${list(Math.floor(size / 12), (i) => `"${word}${i}"`)}]`) + `[[main]]\ntext = "[P] x [A]"\ntags = [["${word}7"], ["t2"]]\n${tail}`;
    case "zone_tokens":
      return CONFIG.replace('zone_tokens = ["[P]", "[A]", "[E]"]', `zone_tokens = ["[P]", "[A]", "[E]", ${list(Math.floor(size / 12), (i) => `"<${word}${i}>"`)}]`) + `[[main]]\ntext = "[P] x [A]"\n${tail}`;
    case "key":
      return `${CONFIG}${repeatTo(word, size)} = 1\n[[main]]\ntext = "[P] x [A]"\n${tail}`;
    case "names": {
      const name = repeatTo(word, size / 2);
      return `${CONFIG}[[main]]\ntext = "[P] x"\n[[${name}]]\ntext = "[P] y [A]"\ntags = [[${list(Math.floor(size / 16), () => '"t1"')}], []]\n${tail}`;
    }
    case "lines":
      return `${CONFIG}[[main]]\ntext = "[P] x [A]"\n${repeatTo(unit.includes("\n") ? "\n# c\n" : "\n", size)}${tail}`;
  }
}

function best(runs: number, fn: () => void): number {
  let ms = Infinity;
  for (let k = 0; k < runs; k++) {
    const t0 = performance.now();
    fn();
    ms = Math.min(ms, performance.now() - t0);
  }
  return ms;
}

function outcomeOf(text: string): string {
  try {
    parseUdpl(text, { file: "big.toml" });
    return "parsed";
  } catch (err) {
    if (!(err instanceof UdplError)) throw err;
    return "UdplError";
  }
}

describe("UDPL parse time scales linearly", () => {
  const input = fc.record({
    pieces: fc.array(fc.constantFrom(...TEXT_PIECES), { minLength: 1, maxLength: 8 }),
    tail: fc.constantFrom(...TAILS),
  });
  for (const family of FAMILIES) {
    it(`1 MB of ${family}: ≤ 20 µs per byte, ≤ 10× bare smol-toml`, () => {
      fc.assert(
        fc.property(input, ({ pieces, tail }) => {
          const text = build(family, pieces, 1024 * 1024, tail);
          expect(outcomeOf(text)).toMatch(/^(parsed|UdplError)$/);
          const toml = best(2, () => {
            try {
              parseToml(text);
            } catch {
              // a syntax error at the end costs smol-toml the whole text too
            }
          });
          const ours = best(2, () => outcomeOf(text));
          expect(ours).toBeLessThan(1_000 + text.length / 50);
          expect(ours).toBeLessThan(10 * toml + 1_000);
        }),
        { numRuns: 2, seed: 15 },
      );
    });
  }
});
