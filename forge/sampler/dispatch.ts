/**
 * Which sampler a tfjs backend gets: on wasm and cpu the logits tensor already lives in host
 * memory, so the typed-array sampler (host.ts) reads it once and runs no tensor op; on GPU
 * backends the tensor sampler (sample.ts) keeps the [B, V] logits on the device and reads
 * back only the B tokens.
 */
import * as tf from "@tensorflow/tfjs";
import { sampleTokens } from "./sample.js";
import { sampleTokensHost } from "./host.js";
import type { SamplingOptions } from "./options.js";

/** Whether logits on this tfjs backend are sampled on typed arrays. */
export function hostSampling(backend: string = tf.getBackend()): boolean {
  return backend === "wasm" || backend === "cpu";
}

/**
 * sampleTokens or sampleTokensHost, by the current backend: one token per row of
 * `logits` ([B, V] float32) as an int32 [B] tensor. The caller keeps ownership of `logits`.
 */
export function sampleOnBackend(
  logits: tf.Tensor2D,
  options: SamplingOptions,
  seed: number,
  instances: Int32Array,
  steps: Int32Array,
): tf.Tensor1D {
  if (!hostSampling()) return sampleTokens(logits, options, seed, instances, steps);
  if (logits.rank !== 2) throw new Error(`sampleTokens: logits must be [B, V], got shape [${logits.shape.join(", ")}]`);
  const tokens = sampleTokensHost(hostView(logits), logits.shape[1], options, seed, instances, steps);
  return tf.tensor1d(tokens, "int32");
}

/**
 * The logits' values without a copy where the backend allows it: on wasm a view of the
 * backend's heap (valid until the next tfjs allocation, so read at once), else dataSync.
 */
function hostView(logits: tf.Tensor2D): Float32Array {
  const backend = tf.backend() as unknown as { typedArrayFromHeap?: (t: tf.Tensor) => Float32Array };
  if (tf.getBackend() === "wasm" && typeof backend.typedArrayFromHeap === "function" && logits.dtype === "float32") return backend.typedArrayFromHeap(logits);
  return logits.dataSync() as Float32Array;
}
