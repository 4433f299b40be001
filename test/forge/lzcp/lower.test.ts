/** SZCP → LZCP: tokenization (each distinct text once), masks, tool ids, and clear errors. */
import { describe, expect, it } from "vitest";
import { LzcpError, lowerWorkflow, tokenBytesOf } from "../../../forge/lzcp/index.js";
import { ByteTokenizer } from "../../../forge/tokenizer/byte.js";
import type { ForgeTokenizer } from "../../../forge/tokenizer/types.js";
import type { SzcpWorkflow } from "../../../forge/szcp/types.js";
import { loadGpt2Tokenizer } from "../../../forge/tokenizer/index.js";
import { SINGLE_ESCAPE, workflow, zone } from "../ttfa/fixtures.js";

const byte = new ByteTokenizer();

/** Counts encode calls of a real tokenizer (the test is about how often lowering calls it). */
function counting(inner: ForgeTokenizer): ForgeTokenizer & { calls: string[] } {
  const calls: string[] = [];
  return {
    calls, identity: inner.identity, vocabSize: inner.vocabSize, padId: inner.padId,
    encode: (t) => (calls.push(t), inner.encode(t)),
    decode: (ids) => inner.decode(ids),
    tokenBytes: (id) => inner.tokenBytes(id),
  };
}

const sample = (): SzcpWorkflow => {
  const w = workflow(
    [
      zone({ text: "[Prompt] hi [Answer]", advance: "[Answer]", next: 1, tags: ["q"] }),
      zone({ text: "", advance: "[EOS]", next: 2, jump: -1, loop: { counter: 0, min: 1, max: 3 }, tags: ["a", "q"], capture: "search" }),
      zone({ text: "[Prompt] hi [Answer]", advance: "[Answer]", next: -1, feed: "search", sequence: "other" }),
    ],
    { escape: SINGLE_ESCAPE, counters: 1 },
  );
  w.extractions = [{ name: "answers", tags: ["a", "z"] }];
  return w;
};

describe("lowerWorkflow", () => {
  it("tokenizes texts and patterns, each distinct string once, and records the tokenizer", async () => {
    const gpt2 = await loadGpt2Tokenizer();
    const tok = counting(gpt2);
    const lz = lowerWorkflow(sample(), tok);
    expect(lz.tokenizer).toBe(gpt2.identity);
    expect(lz.patterns).toEqual(["[Prompt]", "[Answer]", "[EOS]", "[Jump]", "[Esc]"]);
    expect(lz.control).toBe(3);
    expect(lz.escape).toEqual({ kind: "single", token: 4 });
    expect(Array.from(lz.zones[0]!.promptTokens)).toEqual(gpt2.encode("[Prompt] hi [Answer]"));
    expect(lz.zones[2]!.promptTokens).toBe(lz.zones[0]!.promptTokens);
    expect(lz.patternTokens.map((t) => gpt2.decode(t))).toEqual(lz.patterns);
    expect(new Set(tok.calls).size).toBe(tok.calls.length);
    expect(tok.calls.length).toBe(5 + 2); // five patterns, two distinct texts
    // Vocabulary bytes captured for the trigger table.
    expect(lz.vocabulary.vocabSize).toBe(gpt2.vocabSize);
    const id = gpt2.encode(" hello")[0]!;
    expect(tokenBytesOf(lz.vocabulary, id)).toEqual(gpt2.tokenBytes(id));
  });

  it("turns tags into masks and tools into ids", () => {
    const lz = lowerWorkflow(sample(), byte);
    expect(lz.tagNames).toEqual(["q", "a", "z"]);
    expect(lz.zones.map((z) => Array.from(z.tagMask))).toEqual([[1, 0, 0], [1, 1, 0], [0, 0, 0]]);
    expect(Array.from(lz.extractions[0]!.tagMask)).toEqual([0, 1, 1]);
    expect(lz.zones.map((z) => [z.capture, z.feed])).toEqual([[-1, -1], [0, -1], [-1, 0]]);
    expect(lz.zones[1]!.loop).toEqual({ counter: 0, min: 1, max: 3 });
  });

  const failsWith = (mutate: (w: SzcpWorkflow) => void, where: RegExp, what: RegExp) => {
    const w = sample();
    mutate(w);
    try {
      lowerWorkflow(w, byte);
    } catch (e) {
      expect(e).toBeInstanceOf(LzcpError);
      expect((e as LzcpError).where).toMatch(where);
      expect((e as Error).message).toMatch(what);
      return;
    }
    throw new Error("expected an LzcpError");
  };

  it("names the zone and field of each mistake", () => {
    failsWith((w) => (w.zones[1]!.capture = "web"), /^zones\[1\] \(main block 0 zone 0\)\.capture$/, /unknown tool "web".*\["search"\]/);
    failsWith((w) => (w.zones[0]!.next = 7), /zones\[0\].*\.next$/, /0\.\.2 or END \(-1\), found 7/);
    failsWith((w) => (w.zones[2]!.jump = -2), /zones\[2\].*\.jump$/, /found -2/);
    failsWith((w) => (w.zones[0]!.loop = { counter: 0, min: null, max: null }), /zones\[0\].*\.loop$/, /must be a jump site/);
    failsWith((w) => (w.zones[1]!.loop = { counter: 1, min: null, max: null }), /loop\.counter$/, /0\.\.0, found 1/);
    failsWith((w) => (w.zones[1]!.loop = { counter: 0, min: 4, max: 2 }), /loop$/, /min \(4\) is greater than max \(2\)/);
    failsWith((w) => (w.zones[1]!.maxGen = -1), /maxGen$/, /non-negative integer/);
    failsWith((w) => (w.zones = []), /^zones$/, /no zones/);
    failsWith((w) => (w.config.controlToken = "[EOS]"), /config\.controlToken/, /also a zone pattern/);
    failsWith((w) => (w.config.escape = { kind: "single", token: "[Jump]" }), /config\.escape\.token/, /already used/);
    failsWith((w) => (w.config.escape = { kind: "pair", open: "<<", close: "<<" }), /config\.escape\.close/, /already used/);
    failsWith((w) => (w.config.controlToken = ""), /config\.controlToken/, /non-empty/);
  });

  it("refuses a pattern the tokenizer cannot spell byte for byte (its injection would never fire)", () => {
    // A real tokenizer that loses characters outside ASCII, as a lossy vocabulary would.
    const lossy: ForgeTokenizer = { ...byte, identity: "ascii-only", vocabSize: byte.vocabSize, padId: byte.padId,
      encode: (t) => byte.encode(t.replace(/[^\x00-\x7f]/g, "?")), decode: (ids) => byte.decode(ids), tokenBytes: (id) => byte.tokenBytes(id) };
    const w = sample();
    w.config.controlToken = "[Sprung→]";
    expect(() => lowerWorkflow(w, lossy)).toThrow(/patterns\[3\]: tokenizer ascii-only does not encode the pattern "\[Sprung→\]" to its own bytes/);
  });
});
