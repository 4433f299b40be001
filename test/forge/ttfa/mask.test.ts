import * as tf from "@tensorflow/tfjs";
import "@tensorflow/tfjs-backend-wasm";
import { beforeAll, describe, expect, it } from "vitest";
import { allowedTokens, compileForBackend } from "../../../forge/ttfa/index.js";
import { anyConstrained, drawConstrained, maskLogitsInPlace, maskLogitsTensor } from "../../../forge/ttfa/mask.js";
import { sampleTokensHost } from "../../../forge/sampler/host.js";
import type { SamplingOptions } from "../../../forge/sampler/options.js";
import { ByteTokenizer, loadGpt2Tokenizer } from "../../../forge/tokenizer/index.js";
import type { ForgeTokenizer } from "../../../forge/tokenizer/types.js";
import { workflow, zone } from "./fixtures.js";

let gpt2: ForgeTokenizer;
beforeAll(async () => {
  await tf.setBackend("wasm");
  gpt2 = await loadGpt2Tokenizer();
}, 60_000);

describe("constraint masks on logits", () => {
  it("host and tensor forms agree; free rows stay bit-identical; wider logits never allow the extra columns", () => {
    const w = workflow([zone({ text: "Pick: ", constraint: { kind: "regex", pattern: "(yes|no) \\d" } })]);
    const program = compileForBackend(w, gpt2);
    const table = program.constraints;
    const states = [0, program.constraintStart[0]!, 0, table.stateCount - 1];
    const width = gpt2.vocabSize + 7;
    const logits = Float32Array.from({ length: states.length * width }, (_, i) => Math.sin(i * 0.37) * 5);
    const host = logits.slice();
    expect(maskLogitsInPlace(host, width, states, table)).toBe(2);
    const tensor = maskLogitsTensor(tf.tensor2d(logits, [states.length, width]), tf.tensor1d(states, "int32"), table);
    const fromTensor = tensor.dataSync();
    tensor.dispose();
    expect(Array.from(fromTensor)).toEqual(Array.from(host));
    states.forEach((s, r) => {
      const row = host.subarray(r * width, (r + 1) * width);
      if (s === 0) {
        expect(Array.from(row)).toEqual(Array.from(logits.subarray(r * width, (r + 1) * width)));
        return;
      }
      const allowed = new Set(allowedTokens(table, s));
      expect(allowed.size).toBeGreaterThan(0);
      const wrong = Array.from(row).flatMap((x, v) => (Number.isFinite(x) === allowed.has(v) ? [] : [v]));
      expect(wrong, `row ${r}: tokens masked wrongly`).toEqual([]);
    });
    expect(anyConstrained([0, 0])).toBe(false);
    expect(anyConstrained([0, 3])).toBe(true);
  });

  it("drawConstrained draws what the seeded sampler draws from the fully masked row, compact or not, under every sampling mode", () => {
    const w = workflow([zone({ text: "Pick: ", constraint: { kind: "regex", pattern: "(yes|no|[a-z ]{2,3}) \\d" } })]);
    const program = compileForBackend(w, gpt2);
    const table = program.constraints;
    const V = gpt2.vocabSize;
    // States met on walks, some allowing few tokens (compact draw), some many (masked copy).
    const states: number[] = [];
    for (let s = 1; s < table.stateCount; s++) states.push(s);
    expect(states.some((s) => allowedTokens(table, s).length * 2 > V)).toBe(false); // GPT-2: none this broad …
    const R = states.length;
    const logits = Float32Array.from({ length: R * V }, (_, i) => Math.sin(i * 0.113) * 6);
    const modes: SamplingOptions[] = [{ temperature: 0 }, { temperature: 1 }, { temperature: 0.7, topK: 5 }, { temperature: 1.3, topP: 0.8 }];
    for (const mode of modes) {
      for (const seed of [1, 2, 3]) {
        const instances = Int32Array.from(states, (_, r) => r);
        const steps = Int32Array.from(states, (_, r) => 10 + r);
        const masked = logits.slice();
        maskLogitsInPlace(masked, V, states, table);
        const want = sampleTokensHost(masked, V, mode, seed, instances, steps);
        const got = new Int32Array(R).fill(-1);
        drawConstrained(logits, V, states, table, (row, width, r) => sampleTokensHost(row, width, mode, seed, [instances[r]!], [steps[r]!])[0]!, got);
        expect(Array.from(got), JSON.stringify(mode)).toEqual(Array.from(want));
      }
    }
    // … so the broad path (a masked copy of the row) is checked on the byte vocabulary with a regex that allows most bytes.
    const broad = compileForBackend(workflow([zone({ text: "", constraint: { kind: "regex", pattern: "[^#]{1,4}" } })]), new ByteTokenizer());
    const bt = broad.constraints;
    const width = 200; // logits narrower than the vocabulary: only ids below 200 exist
    const few = Array.from({ length: bt.stateCount - 1 }, (_, k) => k + 1).filter((s) => allowedTokens(bt, s).filter((t) => t < width).length * 2 > width);
    expect(few.length).toBeGreaterThanOrEqual(3);
    const rows = Float32Array.from({ length: few.length * width }, (_, i) => Math.cos(i * 0.29) * 4);
    const masked = rows.slice();
    maskLogitsInPlace(masked, width, few, bt);
    const inst = Int32Array.from(few, (_, r) => r);
    const want = sampleTokensHost(masked, width, { temperature: 1 }, 5, inst, inst);
    const got = new Int32Array(few.length);
    drawConstrained(rows, width, few, bt, (row, w2, r) => sampleTokensHost(row, w2, { temperature: 1 }, 5, [r], [r])[0]!, got);
    expect(Array.from(got)).toEqual(Array.from(want));
  });
});
