import * as tf from "@tensorflow/tfjs";
import "@tensorflow/tfjs-backend-wasm";
import { beforeAll, describe, expect, it } from "vitest";
import { allowedTokens, compileForBackend } from "../../../forge/ttfa/index.js";
import { anyConstrained, maskLogitsInPlace, maskLogitsTensor, sampleConstrainedHost } from "../../../forge/ttfa/mask.js";
import type { ConstraintTable } from "../../../forge/ttfa/constraint.js";
import { TtfaError } from "../../../forge/ttfa/errors.js";
import { sampleTokensHost } from "../../../forge/sampler/host.js";
import { wasmHeap } from "../../../forge/sampler/dispatch.js";
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

  it("sampleConstrainedHost draws what the seeded sampler draws from the fully masked rows, compact or not, under every sampling mode", () => {
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
        const got = sampleConstrainedHost(
          logits, V, states, table,
          (x, width, rows, masks, out) => sampleTokensHost(x, width, mode, seed, instances, steps, out, undefined, { rows, masks }),
          (row, width, r) => sampleTokensHost(row, width, mode, seed, [instances[r]!], [steps[r]!])[0]!,
        );
        expect(Array.from(got), JSON.stringify(mode)).toEqual(Array.from(want));
      }
    }
    // … so the broad path (the row sampled in place under its bitset) is checked on the byte vocabulary with a regex that allows most bytes.
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
    const got = sampleConstrainedHost(
      rows, width, few, bt,
      (x, w2, index, masks, out) => sampleTokensHost(x, w2, { temperature: 1 }, 5, inst, inst, out, undefined, { rows: index, masks }),
      (row, w2, r) => sampleTokensHost(row, w2, { temperature: 1 }, 5, [r], [r])[0]!,
    );
    expect(Array.from(got)).toEqual(Array.from(want));
  });
});

/** The wasm/cpu engine path before sampleConstrainedHost (commit 1f0b27f): every row sampled, then each constrained row drawn again; a broad row from a copy masked by fill and scatter. */
function oldEnginePath(logits: Float32Array, V: number, states: number[], table: ConstraintTable, mode: SamplingOptions, seed: number, instances: Int32Array, steps: Int32Array): Int32Array {
  const tokens = sampleTokensHost(logits, V, mode, seed, instances, steps);
  states.forEach((state, r) => {
    if (state === 0) return;
    const allowed = allowedTokens(table, state).filter((t) => t < V);
    const base = r * V;
    if (allowed.length * 2 <= V) {
      const values = Float32Array.from(allowed, (t) => logits[base + t]!);
      tokens[r] = allowed[sampleTokensHost(values, values.length, mode, seed, [instances[r]!], [steps[r]!])[0]!]!;
      return;
    }
    const row = new Float32Array(V).fill(-Infinity);
    for (const t of allowed) row[t] = logits[base + t]!;
    tokens[r] = sampleTokensHost(row, V, mode, seed, [instances[r]!], [steps[r]!])[0]!;
  });
  return tokens;
}

describe("the engine's host path (sampleConstrainedHost)", () => {
  it("draws exactly the old path's tokens on random batches of free, narrow and broad states, under every sampling mode", () => {
    // GPT-2 with a broad class (≈ 30 000 of 50 257 tokens allowed) and narrow states (digits, choices).
    const w = workflow([
      zone({ text: "A: ", advance: "[Answer]", next: 1, constraint: { kind: "regex", pattern: "[a-z ]{1,12}" } }),
      zone({ text: "", zone: 1, advance: "[Answer]", next: 2, constraint: { kind: "regex", pattern: "\\d{1,3}(\\.\\d+)?" } }),
      zone({ text: "", zone: 2, constraint: { kind: "choices", choices: ["yes", "no", "unsure"] } }),
    ]);
    const program = compileForBackend(w, gpt2);
    const table = program.constraints;
    const V = gpt2.vocabSize;
    const broadStates = Array.from({ length: table.stateCount }, (_, s) => s).filter((s) => s > 0 && allowedTokens(table, s).length * 2 > V);
    const narrowStates = Array.from({ length: table.stateCount }, (_, s) => s).filter((s) => s > 0 && allowedTokens(table, s).length * 2 <= V);
    expect(broadStates.length, `broad states ${broadStates.length}, narrow ${narrowStates.length}`).toBeGreaterThanOrEqual(2);
    expect(narrowStates.length).toBeGreaterThanOrEqual(5);
    let seed = 99;
    const rand = () => ((seed = (Math.imul(seed, 1664525) + 1013904223) >>> 0) / 4294967296);
    const modes: SamplingOptions[] = [{ temperature: 1 }, { temperature: 0 }, { temperature: 0.8 }, { temperature: 0.7, topK: 40 }, { temperature: 1.2, topP: 0.9 }];
    let broadRows = 0;
    for (let trial = 0; trial < 12; trial++) {
      // Trial 0: 20 broad rows, more than one sampler group (8 rows); trial 1: a run of 10 free rows, 2 narrow, 3 broad, then any.
      const R = trial === 0 ? 20 : trial === 1 ? 30 : 1 + Math.floor(rand() * 9);
      const states = Array.from({ length: R }, (_, r) => {
        const u = trial === 0 ? 0.5 : trial === 1 && r < 10 ? 0.1 : trial === 1 && r < 12 ? 0.8 : trial === 1 && r < 15 ? 0.5 : rand();
        return u < 0.3 ? 0 : u < 0.65 ? broadStates[Math.floor(rand() * broadStates.length)]! : narrowStates[Math.floor(rand() * narrowStates.length)]!;
      });
      broadRows += states.filter((s) => broadStates.includes(s)).length;
      const scale = 2 + rand() * 8;
      const logits = Float32Array.from({ length: R * V }, (_, i) => Math.sin(i * 0.0731 + trial) * scale);
      const before = logits.slice();
      const mode = modes[trial % modes.length]!;
      const instances = Int32Array.from({ length: R }, () => Math.floor(rand() * 1000));
      const steps = Int32Array.from({ length: R }, () => Math.floor(rand() * 100));
      const want = oldEnginePath(logits, V, states, table, mode, trial, instances, steps);
      const got = sampleConstrainedHost(
        logits, V, states, table,
        (x, width, rows, masks, out) => sampleTokensHost(x, width, mode, trial, instances, steps, out, undefined, { rows, masks }),
        (row, width, r) => sampleTokensHost(row, width, mode, trial, [instances[r]!], [steps[r]!])[0]!,
      );
      expect(Array.from(got), `trial ${trial}: states ${states.join(",")} ${JSON.stringify(mode)}`).toEqual(Array.from(want));
      // The engine's way on the wasm backend: the logits in the backend's heap, every row sampled there in place, masked or not.
      const heap = wasmHeap();
      expect(heap, "the tfjs wasm backend exposes its heap").toBeDefined();
      const tensor = tf.tensor2d(logits, [R, V]);
      const view = (tf.backend() as unknown as { typedArrayFromHeap: (t: tf.Tensor) => Float32Array }).typedArrayFromHeap(tensor);
      expect(view.buffer).toBe(heap!.memory.buffer);
      const onHeap = sampleConstrainedHost(
        view, V, states, table,
        (x, width, rows, masks, out) => sampleTokensHost(x, width, mode, trial, instances, steps, out, heap, { rows, masks }),
        (row, width, r) => sampleTokensHost(row, width, mode, trial, [instances[r]!], [steps[r]!])[0]!,
        heap,
      );
      expect(Array.from(onHeap), `trial ${trial} on the heap`).toEqual(Array.from(want));
      expect(Array.from(tensor.dataSync()).every((x, i) => Object.is(x, before[i]!)), "the heap's logits are not modified").toBe(true);
      tensor.dispose();
      expect(logits.every((x, i) => Object.is(x, before[i]!)), "the logits are not modified").toBe(true);
      // Every constrained token is one its state allows.
      states.forEach((s, r) => { if (s !== 0) expect(allowedTokens(table, s)).toContain(got[r]!); });
    }
    expect(broadRows).toBeGreaterThan(10);
  });

  it("broad rows sampled in place under their bitsets draw the fully masked rows' tokens at odd widths and past the vocabulary (its extra columns never drawn), every mode, heap and copy", () => {
    // The byte vocabulary (257 ids) with a regex allowing most bytes: broad states; widths with tail columns (mod 4, mod 32) below and past the vocabulary.
    const table = compileForBackend(workflow([zone({ text: "", constraint: { kind: "regex", pattern: "[^#]{1,4}" } })]), new ByteTokenizer()).constraints;
    const broad = Array.from({ length: table.stateCount - 1 }, (_, k) => k + 1).filter((s) => allowedTokens(table, s).length * 2 > 257);
    expect(broad.length).toBeGreaterThanOrEqual(2);
    const heap = wasmHeap()!;
    const modes: SamplingOptions[] = [{ temperature: 1 }, { temperature: 0 }, { temperature: 0.6 }, { topK: 7 }, { temperature: 1.4, topP: 0.7 }];
    for (const width of [203, 257, 301]) {
      // Free and broad rows interleaved (17: two groups of eight and one more); the columns past the vocabulary hold the largest logits.
      const states = Array.from({ length: 17 }, (_, r) => (r % 3 === 0 ? 0 : broad[r % broad.length]!));
      const R = states.length;
      const logits = Float32Array.from({ length: R * width }, (_, i) => (i % width >= 257 ? 30 : Math.sin(i * 0.91) * 5));
      const masked = logits.slice();
      maskLogitsInPlace(masked, width, states, table);
      const instances = Int32Array.from({ length: R }, (_, r) => 3 * r);
      const steps = Int32Array.from({ length: R }, (_, r) => r + 1);
      const tensor = tf.tensor2d(logits, [R, width]);
      for (const mode of modes) {
        const want = sampleTokensHost(masked, width, mode, 4, instances, steps);
        const drawRows = (h: typeof heap | undefined) => (x: Float32Array, w: number, rows: Int32Array, masks: (r: number) => Uint32Array | null, out: Int32Array) =>
          void sampleTokensHost(x, w, mode, 4, instances, steps, out, h, { rows, masks });
        const draw = (row: Float32Array, w: number, r: number) => sampleTokensHost(row, w, mode, 4, [instances[r]!], [steps[r]!])[0]!;
        const copied = sampleConstrainedHost(logits, width, states, table, drawRows(undefined), draw);
        const view = (tf.backend() as unknown as { typedArrayFromHeap: (t: tf.Tensor) => Float32Array }).typedArrayFromHeap(tensor);
        const inPlace = sampleConstrainedHost(view, width, states, table, drawRows(heap), draw, heap);
        const label = `width ${width} ${JSON.stringify(mode)}`;
        expect(Array.from(copied), label).toEqual(Array.from(want));
        expect(Array.from(inPlace), `${label}, on the heap`).toEqual(Array.from(want));
        states.forEach((s, r) => { if (s !== 0) expect(copied[r]!, `${label} row ${r}`).toBeLessThan(257); });
      }
      tensor.dispose();
    }
  });

  it("maskLogitsInPlace gives the same rows as fill-and-scatter for broad and narrow states, at widths below, at and above the vocabulary", () => {
    const program = compileForBackend(workflow([zone({ text: "", constraint: { kind: "regex", pattern: "[a-z ]{1,5}|\\d" } })]), gpt2);
    const table = program.constraints;
    const states = Array.from({ length: table.stateCount - 1 }, (_, k) => k + 1);
    for (const width of [1000, gpt2.vocabSize, gpt2.vocabSize + 45]) {
      const logits = Float32Array.from({ length: states.length * width }, (_, i) => Math.cos(i * 0.37) * 3);
      const want = new Float32Array(logits.length).fill(-Infinity);
      states.forEach((s, r) => { for (const t of allowedTokens(table, s)) if (t < width) want[r * width + t] = logits[r * width + t]!; });
      maskLogitsInPlace(logits, width, states, table);
      expect(logits.every((x, i) => Object.is(x, want[i]!)), `width ${width}`).toBe(true);
    }
  });

  it("a state outside the table is a TtfaError, and a logits size mismatch too", () => {
    const table = compileForBackend(workflow([zone({ text: "", constraint: { kind: "regex", pattern: "\\d" } })]), gpt2).constraints;
    const draw = () => 0;
    expect(() => sampleConstrainedHost(new Float32Array(4), 4, [table.stateCount], table, () => {}, draw)).toThrow(TtfaError);
    expect(() => sampleConstrainedHost(new Float32Array(5), 4, [0], table, () => {}, draw)).toThrow(/expected 1 rows × 4/);
    expect(() => maskLogitsInPlace(new Float32Array(4), 4, [-1], table)).toThrow(TtfaError);
  });
});
