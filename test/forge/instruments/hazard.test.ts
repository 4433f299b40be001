/**
 * The jump hazard on the three test tokenizers' trigger tables, against brute force over
 * bytes: a token counts iff the text so far plus the token's bytes completes "[Jump]", or
 * leaves the longest pattern-prefix suffix further along "[Jump]" than before.
 */
import { describe, expect, it } from "vitest";
import { buildTriggerTable, runBytes } from "../../../forge/ttfa/trigger.js";
import { jumpHazard, patternProgress } from "../../../forge/instruments/hazard.js";
import { loadTestTokenizers } from "../../helpers/tokenizers.js";

const enc = new TextEncoder();
const PATTERNS = ["[Jump]", "[Escape]"].map((p) => enc.encode(p));
const JUMP = PATTERNS[0]!;

/** Progress along "[Jump]" of a text: k when the longest suffix that is a prefix of a pattern is "[Jump]"'s first k bytes. */
function progressOf(text: Uint8Array): number {
  for (let len = Math.min(text.length, 8); len > 0; len--) {
    const suffix = text.subarray(text.length - len);
    for (const [i, p] of PATTERNS.entries()) {
      if (len <= p.length && suffix.every((b, j) => b === p[j])) return i === 0 ? len : 0;
    }
  }
  return 0;
}

function completesJump(text: Uint8Array, from: number): boolean {
  for (let end = Math.max(from + 1, JUMP.length); end <= text.length; end++) {
    if (JUMP.every((b, j) => text[end - JUMP.length + j] === b)) return true;
  }
  return false;
}

describe("jumpHazard", async () => {
  const { byte, gpt2, llama3 } = await loadTestTokenizers();
  it.each([["byte", byte], ["gpt2", gpt2], ["llama3", llama3]] as const)("counts exactly the tokens that advance or fire the pattern (%s)", (_name, tokenizer) => {
    const table = buildTriggerTable(["[Jump]", "[Escape]"], tokenizer);
    const path = patternProgress(table, 0);
    const vocab = table.vocabSize;
    const logits = new Float32Array(vocab);
    for (let i = 0; i < vocab; i++) logits[i] = Math.sin(i * 12.9898) * 3;
    let max = -Infinity;
    for (const x of logits) max = Math.max(max, x);
    let sum = 0;
    for (const x of logits) sum += Math.exp(x - max);
    const lse = max + Math.log(sum);
    for (const prefix of ["", "I think ", "[", "[Ju", "[E", "[Jump"]) {
      const before = enc.encode(prefix);
      const { state } = runBytes(table.bytes, 0, before);
      const here = progressOf(before);
      let want = 0;
      let counted = 0;
      for (let t = 0; t < vocab; t++) {
        const bytes = tokenizer.tokenBytes(t);
        const text = new Uint8Array(before.length + bytes.length);
        text.set(before);
        text.set(bytes, before.length);
        if (bytes.length > 0 && (completesJump(text, before.length) || progressOf(text) > here)) {
          want += Math.exp(logits[t]! - lse);
          counted++;
        }
      }
      expect(counted, `prefix ${JSON.stringify(prefix)}`).toBeGreaterThan(0);
      expect(jumpHazard(logits, 0, table, path, state, lse), `prefix ${JSON.stringify(prefix)}`).toBeCloseTo(want, 10);
    }
  });

  it("refuses a pattern the table does not have", () => {
    const table = buildTriggerTable(["[Jump]"], byte);
    expect(() => patternProgress(table, 3)).toThrow(/pattern 3 is not in the trigger table \(1 patterns\)/);
  });
});
