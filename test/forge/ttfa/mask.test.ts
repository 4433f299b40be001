import * as tf from "@tensorflow/tfjs";
import "@tensorflow/tfjs-backend-wasm";
import { beforeAll, describe, expect, it } from "vitest";
import { allowedTokens, compileForBackend } from "../../../forge/ttfa/index.js";
import { anyConstrained, maskLogitsInPlace, maskLogitsTensor } from "../../../forge/ttfa/mask.js";
import { loadGpt2Tokenizer } from "../../../forge/tokenizer/index.js";
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
});
