/**
 * Sampling with constrained zones (docs/automaton.md#constrained-zones): each logits row
 * whose stream is in a constrained state draws only among the tokens that state allows;
 * free rows are sampled exactly as before (same logits, same seeded draws).
 *
 * - GPU backends (tensor sampler): the rows get −∞ bias rows gathered by state on the device
 *   (one gather and one add), then the usual sampler.
 * - wasm / cpu (typed-array sampler): each row sampled once with the same sampler and the
 *   same (seed, instance, step) key: free rows from the untouched logits, a constrained row
 *   from a compact row of its allowed tokens' logits (few allowed: O(allowed)) or in place
 *   under its bitset (many allowed: the sampler's SIMD passes skip the disallowed columns) —
 *   forge/ttfa/mask.ts sampleConstrainedHost, the same tokens as the sampler on the fully
 *   masked rows.
 */
import * as tf from "@tensorflow/tfjs";
import { hostSampling, sampleOnBackend, sampleTokensHost, type SamplingOptions } from "../../sampler/index.js";
import { hostView, wasmHeap } from "../../sampler/dispatch.js";
import { anyConstrained, maskForSampling, sampleConstrainedHost } from "../../ttfa/mask.js";
import type { TtfaProgram } from "../../ttfa/index.js";

/** One token per logits row ([R, V] → int32 [R]); `rowStates`, `instances`, `steps` per row. The caller keeps `logits`. */
export function sampleConstrained(
  logits: tf.Tensor2D,
  rowStates: Int32Array,
  program: TtfaProgram,
  sampling: SamplingOptions,
  seed: number,
  instances: Int32Array,
  steps: Int32Array,
): tf.Tensor1D {
  const table = program.constraints;
  if (table.stateCount <= 1 || !anyConstrained(rowStates)) return sampleOnBackend(logits, sampling, seed, instances, steps);
  if (!hostSampling()) {
    const masked = maskForSampling(logits, rowStates, table, false)!;
    try {
      return sampleOnBackend(masked, sampling, seed, instances, steps);
    } finally {
      masked.dispose();
    }
  }
  // The rows in place (a view of the wasm heap, read before any other tfjs allocation), else a
  // copy; each row sampled once (forge/ttfa/mask.ts sampleConstrainedHost). On the wasm heap
  // the sampler reads the rows where they lie, free or masked.
  const data = hostView(logits);
  const heap = wasmHeap();
  const tokens = sampleConstrainedHost(
    data, logits.shape[1], rowStates, table,
    (x, w, rows, masks, out) => sampleTokensHost(x, w, sampling, seed, instances, steps, out, heap, { rows, masks }),
    (row, w, r) => sampleTokensHost(row, w, sampling, seed, [instances[r]!], [steps[r]!])[0]!,
    heap,
  );
  return tf.tensor1d(tokens, "int32");
}
