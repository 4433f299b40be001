/**
 * Hostile UDPL files (issue #15, items 6–7), the catalogue of bench/compile/hostile.ts: each
 * one parses or fails with a `UdplError` (never another exception, an abort or an
 * allocation of gigabytes), says what it should, and does so within a time bound per byte
 * that a loaded two-core machine meets several times over (before the bounds, these took
 * from 15 s to minutes, or crashed the process).
 */
import { describe, expect, it } from "vitest";
import { HOSTILE_CASES } from "../../bench/compile/hostile.js";
import { parseUdpl, UDPL_LIMITS, UdplError } from "../../forge/udpl/index.js";

type Expectation = { error: RegExp } | { warnings: number; zones?: number };

const limit = (name: keyof typeof UDPL_LIMITS): RegExp => new RegExp(`UDPL_LIMITS\\.${name} = ${UDPL_LIMITS[name]}`);
const capped = UDPL_LIMITS.maxWarnings + 1;

const EXPECT: Record<string, Expectation> = {
  "repeats-4e6": { error: /^repeats exceeds UDPL_LIMITS\.maxRepeats = / },
  "repeats-1890976446": { error: /^repeats exceeds UDPL_LIMITS\.maxRepeats = / },
  "repeats-float-max": { error: /^repeats exceeds UDPL_LIMITS\.maxRepeats = / },
  "repeats-1e15": { error: /^repeats exceeds UDPL_LIMITS\.maxRepeats = / },
  "repeats-many-blocks": { error: limit("maxZones") },
  "max-gen-1e300": { error: /^max_gen_tokens exceeds UDPL_LIMITS\.maxGenTokens = / },
  "default-max-2^53": { error: /^default_max_token_length exceeds UDPL_LIMITS\.maxGenTokens = / },
  "tagset-200k": { error: /tagset entries .*UDPL_LIMITS\.maxRepeats = / },
  "deep-dotted-arguments": { error: limit("maxNestingDepth") },
  "source-20MB": { error: limit("maxSourceLength") },
  "jump-40k": { warnings: capped, zones: 2 },
  "jump-50k-blocks": { warnings: capped, zones: 100_000 },
  "zone-tokens-100k": { error: limit("maxZoneTokens") },
  "suggest-16k-tag": { error: /^tag "q+…" is not in valid_tags$/ },
  "unknown-key-10MB": { error: /^unknown field "k+…" in \[config\]$/ },
  "newlines-10M-syntax": { error: limit("maxLines") },
  "newlines-1M-syntax": { error: /^TOML syntax error/ },
  "newlines-1M-lint": { error: /^unknown field "bogus" in \[config\]$/ },
  "newlines-10M-lint": { error: limit("maxLines") },
  "valid-tags-65k": { warnings: 0, zones: 2 },
  "tag-refs-100k": { warnings: 0, zones: 2 },
  "sequences-50k": { warnings: 0, zones: 100_000 },
  "braces-1MB": { error: /^unmatched '\{' in text/ },
  "long-name-many-elements": { warnings: 1, zones: 4 },
  "overlapping-patterns": { error: limit("maxTriggerOccurrences") },
  "warnings-unlisted-50k": { warnings: capped, zones: 100_002 },
};

/** 10 s + 5 µs per byte: 5–10× what these take on a loaded 2-core machine; a quadratic path at these sizes takes minutes. */
const boundMs = (bytes: number): number => 10_000 + bytes / 200;

describe("hostile UDPL files: a result or a UdplError, in time linear in the input", () => {
  it("every case of the catalogue has an expectation", () => {
    expect(HOSTILE_CASES.map((c) => c.name).sort()).toEqual(Object.keys(EXPECT).sort());
  });

  for (const c of HOSTILE_CASES) {
    it(`item ${c.item}, ${c.name}: ${c.what}`, () => {
      const text = c.build();
      const t0 = performance.now();
      let caught: unknown;
      let result: ReturnType<typeof parseUdpl> | undefined;
      try {
        result = parseUdpl(text, { file: `${c.name}.toml` });
      } catch (err) {
        caught = err;
      }
      const ms = performance.now() - t0;
      const want = EXPECT[c.name];
      if ("error" in want) {
        expect(caught).toBeInstanceOf(UdplError);
        const err = caught as UdplError;
        expect(err.reason).toMatch(want.error);
        expect(err.file).toBe(`${c.name}.toml`);
        expect(err.message.length).toBeLessThan(4_000);
        if (!/maxSourceLength|maxLines/.test(err.reason)) expect(err.line).toBeGreaterThan(0);
      } else {
        if (caught) throw caught;
        expect(result!.warnings).toHaveLength(want.warnings);
        if (want.zones !== undefined) expect(Object.values(result!.sequences).reduce((n, s) => n + s.zones.length, 0)).toBe(want.zones);
      }
      expect(ms).toBeLessThan(boundMs(text.length));
    });
  }
});
