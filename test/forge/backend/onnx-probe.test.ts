/**
 * Probe forwards (StepModel.probe): the logits of a token tree fed after one row's past, nothing
 * written. On a random GQA Llama with a shared prefix and rows of different lengths, every
 * node's logits equal an independent teacher-forced full forward over the row's tokens and the
 * node's path — on the ONNX engine (one run, tree mask; f32, and int8 KV within its
 * quantization error) and on the tfjs engine (chains on a row copy). The cache is unchanged:
 * the next decode gives what it gives without the probe. A malformed tree is refused.
 */
import * as tf from "@tensorflow/tfjs";
import { beforeAll, describe, expect, it } from "vitest";
import { initBackend } from "../../../forge/backend/index.js";
import { DecoderModel, smallConfig } from "../../../forge/model/index.js";
import { OnnxStepModel } from "../../../forge/backend/onnx/model.js";
import { tfjsStepModel, type StepCache, type StepModel } from "../../../forge/model/step-model.js";
import { ModelUsageError } from "../../../forge/model/errors.js";

beforeAll(async () => {
  await initBackend("wasm");
});

const config = smallConfig("llama", { vocabSize: 97, hiddenSize: 48, heads: 6, kvHeads: 2, maxPositions: 64 });
const PREFIX = [4, 8, 15, 16, 23];
/** Each row's own tokens after the prefix (different lengths: the rows' columns differ). */
const OWN = [[5, 9, 2], [7, 1, 3, 30, 12], [60]];
/** A tree: node i feeds TOKENS[i] under PARENTS[i] (−1: the row's past). Two roots, a shared inner node, siblings. */
const TOKENS = Int32Array.from([11, 42, 13, 14, 90, 3]);
const PARENTS = Int32Array.from([-1, -1, 0, 0, 2, 1]);

function pathOf(node: number): number[] {
  const path: number[] = [];
  for (let i = node; i >= 0; i = PARENTS[i]!) path.unshift(TOKENS[i]!);
  return path;
}

/**
 * A cache holding PREFIX as the shared prefix and OWN[b] for row b, fed one step at a time (held
 * rows once theirs are done); rows past OWN's hold nothing (a wider batch, so that one row is a
 * small share of it and the ONNX probe runs it alone).
 */
function fill<C extends StepCache>(step: StepModel<C>, batch = OWN.length): C {
  const cache = step.createCache(batch, 40);
  step.attachPrefix(cache, Int32Array.from(PREFIX));
  const longest = Math.max(...OWN.map((r) => r.length));
  for (let j = 0; j < longest; j++) {
    const own = Array.from({ length: batch }, (_, b) => OWN[b] ?? []);
    const tokens = Int32Array.from(own, (r) => r[j] ?? 0);
    const positions = Int32Array.from(own, () => PREFIX.length + j);
    const active = Uint8Array.from(own, (r) => (j < r.length ? 1 : 0));
    step.decode(cache, tokens, positions, active).dispose();
  }
  return cache;
}

function teacherForced(model: DecoderModel, tokens: number[]): Float32Array {
  return tf.tidy(() => model.forward([tokens]).squeeze([0]).slice([tokens.length - 1, 0], [1, -1]).dataSync() as Float32Array);
}

function worstAgainstTeacher(model: DecoderModel, logits: Float32Array, row: number): number {
  const V = config.vocabSize;
  let worst = 0;
  TOKENS.forEach((_, node) => {
    const want = teacherForced(model, [...PREFIX, ...OWN[row]!, ...pathOf(node)]);
    for (let v = 0; v < V; v++) worst = Math.max(worst, Math.abs(logits[node * V + v]! - want[v]!));
  });
  return worst;
}

describe("StepModel.probe", { timeout: 120_000 }, () => {
  const model = DecoderModel.random(config, 7, { std: 0.3 });

  it("ONNX (f32): every node's logits equal a teacher-forced pass over the row's tokens and the node's path; the cache is unchanged", async () => {
    const onnx = await OnnxStepModel.fromDecoder(model, { threads: 1, chunk: 4, kvCache: "f32" });
    const cache = fill(onnx, 10);
    const twin = fill(onnx, 10);
    let worst = 0;
    for (const row of [0, 1, 2]) {
      const position = PREFIX.length + OWN[row]!.length;
      worst = Math.max(worst, worstAgainstTeacher(model, onnx.probe(cache, Int32Array.of(row), TOKENS, PARENTS, Int32Array.of(position)), row));
    }
    console.log(`ONNX probe vs teacher-forced: max |dlogit| = ${worst.toExponential(2)}`);
    expect(worst).toBeLessThan(1e-4);
    // Three of ten rows in one call (one run over the whole batch; one row alone is a batch-1 run over views): the same numbers, row by row, in the order asked.
    const order = Int32Array.of(2, 0, 1);
    const together = onnx.probe(cache, order, TOKENS, PARENTS, Int32Array.from(order, (row) => PREFIX.length + OWN[row]!.length));
    const size = TOKENS.length * config.vocabSize;
    let apart = 0;
    order.forEach((row, k) => {
      const alone = onnx.probe(cache, Int32Array.of(row), TOKENS, PARENTS, Int32Array.of(PREFIX.length + OWN[row]!.length));
      for (let i = 0; i < size; i++) apart = Math.max(apart, Math.abs(together[k * size + i]! - alone[i]!));
    });
    console.log(`ONNX probe, whole batch vs one row at a time: max |dlogit| = ${apart.toExponential(2)}`);
    expect(apart).toBeLessThan(1e-4);
    // Nothing was written: the next step equals the one of a cache that was never probed.
    expect(Array.from(cache.rowLength.subarray(0, 3))).toEqual(OWN.map((r) => r.length));
    const next = (c: typeof cache) => onnx.decode(c, Int32Array.from({ length: 10 }, (_, b) => b + 1), Int32Array.from({ length: 10 }, (_, b) => PREFIX.length + (OWN[b]?.length ?? 0))).dataSync();
    expect(Array.from(next(cache))).toEqual(Array.from(next(twin)));
    expect(() => onnx.probe(cache, Int32Array.of(0), TOKENS, Int32Array.from([-1, -1, 0, 5, 2, 1]), Int32Array.of(8))).toThrow(ModelUsageError);
    expect(() => onnx.probe(cache, Int32Array.of(10), TOKENS, PARENTS, Int32Array.of(8))).toThrow(/row 10 is outside the batch/);
    expect(() => onnx.probe(cache, Int32Array.of(1, 1), TOKENS, PARENTS, Int32Array.of(8, 8))).toThrow(/row 1 is listed twice/);
    expect(() => onnx.probe(cache, Int32Array.of(0), Int32Array.from([97]), Int32Array.from([-1]), Int32Array.of(8))).toThrow(/outside the vocabulary/);
    expect(() => onnx.probe(cache, Int32Array.of(0), TOKENS, PARENTS, Int32Array.of(62))).toThrow(/outside the model's context/);
  });

  it("ONNX (int8 KV cache): a node under the past equals a decode step on that cache; deeper ones within the quantization's error", async () => {
    const onnx = await OnnxStepModel.fromDecoder(model, { threads: 1, chunk: 4, kvCache: "int8" });
    const cache = fill(onnx);
    const row = 1;
    const position = PREFIX.length + OWN[row]!.length;
    const probe = onnx.probe(cache, Int32Array.of(row), TOKENS, PARENTS, Int32Array.of(position));
    const V = config.vocabSize;
    // Nodes 0 and 1 sit right under the row's past: the same computation as decoding them there.
    for (const node of [0, 1]) {
      const twin = fill(onnx);
      const active = Uint8Array.from(OWN, (_, b) => (b === row ? 1 : 0));
      const step = onnx.decode(twin, Int32Array.from(OWN, () => TOKENS[node]!), Int32Array.from(OWN, () => position), active).dataSync();
      let worst = 0;
      for (let v = 0; v < V; v++) worst = Math.max(worst, Math.abs(probe[node * V + v]! - step[row * V + v]!));
      expect(worst, `node ${node}`).toBeLessThan(1e-4);
    }
    const worst = worstAgainstTeacher(model, probe, row);
    console.log(`ONNX probe on the int8 cache vs teacher-forced (f32): max |dlogit| = ${worst.toExponential(2)}`);
    expect(worst).toBeGreaterThan(0); // it did read the int8 columns
    expect(worst).toBeLessThan(0.3);
  });

  it("tfjs: the same numbers by chains on a row copy; the cache is unchanged", () => {
    const step = tfjsStepModel(model);
    const cache = fill(step);
    const lengthBefore = cache.length;
    let worst = 0;
    for (const row of [0, 1, 2]) worst = Math.max(worst, worstAgainstTeacher(model, step.probe!(cache, Int32Array.of(row), TOKENS, PARENTS, Int32Array.of(PREFIX.length + OWN[row]!.length)), row));
    console.log(`tfjs probe vs teacher-forced: max |dlogit| = ${worst.toExponential(2)}`);
    expect(worst).toBeLessThan(1e-4);
    expect(cache.length).toBe(lengthBefore);
    expect(cache.prefix).not.toBeNull();
    expect(() => step.probe!(cache, Int32Array.of(0), TOKENS, Int32Array.from([0, -1, 0, 0, 2, 1]), Int32Array.of(8))).toThrow(/parent 0 must be −1 or an earlier node/);
    cache.dispose();
  });
});
