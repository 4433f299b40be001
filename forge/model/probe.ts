/**
 * "Probe" forwards on the tfjs decoder (StepModel.probe, forge/model/step-model.ts): the logits
 * of a small token tree fed after each given row's past, nothing written to the cache. The
 * tfjs attention takes no tree mask, so the tree runs as chains: one batch-1 copy of the row
 * per leaf, fed the leaf's path token by token; a node on several paths is read on the first.
 * Costs one row copy and depth(leaf) batch-1 steps per leaf — for tests and the reference; the
 * ONNX engine (forge/backend/onnx/probe.ts) runs the whole tree in one forward.
 */
import * as tf from "@tensorflow/tfjs";
import { KvCache } from "./cache.js";
import type { DecoderModel } from "./decoder.js";
import { ModelUsageError } from "./errors.js";

export function probeTree(model: DecoderModel, cache: KvCache, rows: Int32Array, tokens: Int32Array, parents: Int32Array, positions: Int32Array): Float32Array {
  cache.checkUsable();
  const n = tokens.length;
  const vocab = model.config.vocabSize;
  const depth = checkProbe(tokens, parents, rows, positions, cache.batch, vocab, model.config.maxPositions);
  const out = new Float32Array(rows.length * n * vocab);
  rows.forEach((row, r) => probeRow(model, cache, row, tokens, parents, positions[r]!, depth, out.subarray(r * n * vocab, (r + 1) * n * vocab)));
  return out;
}

function probeRow(model: DecoderModel, cache: KvCache, row: number, tokens: Int32Array, parents: Int32Array, position: number, depth: Int32Array, out: Float32Array): void {
  const n = tokens.length;
  const vocab = model.config.vocabSize;
  const done = new Uint8Array(n);
  const isParent = new Uint8Array(n);
  for (let i = 0; i < n; i++) if (parents[i]! >= 0) isParent[parents[i]!] = 1;
  for (let leaf = 0; leaf < n; leaf++) {
    if (isParent[leaf]) continue;
    const path: number[] = [];
    for (let i = leaf; i >= 0; i = parents[i]!) path.unshift(i);
    const copy = rowCopy(cache, row, path.length);
    try {
      for (const node of path) {
        const t = tf.tensor1d([tokens[node]!], "int32");
        const logits = model.decode(copy, t, Int32Array.of(position + depth[node]! - 1));
        t.dispose();
        if (!done[node]) out.set(logits.dataSync() as Float32Array, node * vocab);
        logits.dispose();
        done[node] = 1;
      }
    } finally {
      copy.prefix = null; // shared with `cache`, not the copy's to dispose
      copy.dispose();
    }
  }
}

/** Depth of each node (1 under the past); throws on a malformed tree, a row outside the batch, or a position past the context. */
export function checkProbe(tokens: Int32Array, parents: Int32Array, rows: Int32Array, positions: Int32Array, batch: number, vocab: number, maxPositions: number): Int32Array {
  if (positions.length !== rows.length) throw new ModelUsageError(`probe: ${rows.length} rows but ${positions.length} positions`);
  const seen = new Uint8Array(batch);
  for (const row of rows) {
    if (!Number.isInteger(row) || row < 0 || row >= batch) throw new ModelUsageError(`probe: row ${row} is outside the batch (0..${batch - 1})`);
    if (seen[row]) throw new ModelUsageError(`probe: row ${row} is listed twice`);
    seen[row] = 1;
  }
  if (parents.length !== tokens.length) throw new ModelUsageError(`probe: ${tokens.length} tokens but ${parents.length} parents`);
  const depth = new Int32Array(tokens.length);
  for (let i = 0; i < tokens.length; i++) {
    const p = parents[i]!;
    if (!Number.isInteger(p) || p < -1 || p >= i) throw new ModelUsageError(`probe: node ${i}'s parent ${p} must be −1 or an earlier node`);
    if (tokens[i]! < 0 || tokens[i]! >= vocab) throw new ModelUsageError(`probe: node ${i}'s token ${tokens[i]} is outside the vocabulary (0..${vocab - 1})`);
    depth[i] = p < 0 ? 1 : depth[p]! + 1;
  }
  let deepest = 0;
  for (const d of depth) deepest = Math.max(deepest, d);
  for (const position of positions)
    if (!Number.isInteger(position) || position < 0 || position + deepest > maxPositions)
      throw new ModelUsageError(`probe: the tree would reach position ${position + deepest - 1}, outside the model's context (0..${maxPositions - 1})`);
  return depth;
}

/** A batch-1 cache holding row `row` of `cache` (its own copy of the columns; the shared prefix by reference), with room for `extra` more columns. */
function rowCopy(cache: KvCache, row: number, extra: number): KvCache {
  const { layers, kvHeads: H, headDim: D, capacity, mode, chunk } = cache;
  const copy = new KvCache(1, capacity + extra, layers, H, D, mode, chunk);
  const cols = mode === "functional" ? cache.length : cache.allocated;
  const block = H * cols * D;
  for (let l = 0; l < layers; l++) {
    const k = (cache.keys[l]!.dataSync() as Float32Array).slice(row * block, (row + 1) * block);
    const v = (cache.values[l]!.dataSync() as Float32Array).slice(row * block, (row + 1) * block);
    copy.keys[l]!.dispose();
    copy.values[l]!.dispose();
    copy.keys[l] = tf.tensor4d(k, [1, H, cols, D]);
    copy.values[l] = tf.tensor4d(v, [1, H, D, cols]);
  }
  copy.validity.set(cache.validity.subarray(row * capacity, (row + 1) * capacity));
  copy.length = cache.length;
  copy.allocated = cache.allocated;
  copy.prefix = cache.prefix;
  return copy;
}
