/**
 * Which sampler a tfjs backend gets: on wasm and cpu the logits tensor already lives in host
 * memory, so the typed-array sampler (host.ts) reads it once and runs no tensor op; on GPU
 * backends the tensor sampler (sample.ts) keeps the [B, V] logits on the device and reads
 * back only the B tokens.
 */
import * as tf from "@tensorflow/tfjs";
import { sampleTokens } from "./sample.js";
import { sampleTokensHost, type LogitsHeap } from "./host.js";
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
  const tokens = sampleTokensHost(hostView(logits), logits.shape[1], options, seed, instances, steps, tf.getBackend() === "wasm" ? tokensOut(logits.shape[0]) : undefined, wasmHeap());
  return tf.tensor1d(tokens, "int32");
}

/**
 * The host tokens' buffer, reused per batch size (no allocation per step): only on wasm, whose
 * tf.tensor1d copies the values into its heap (the cpu backend keeps the array itself).
 */
const tokenBuffers = new Map<number, Int32Array>();

function tokensOut(batch: number): Int32Array {
  let out = tokenBuffers.get(batch);
  if (out === undefined) {
    if (tokenBuffers.size >= 16) tokenBuffers.clear(); // a bound on batch sizes kept
    tokenBuffers.set(batch, (out = new Int32Array(batch)));
  }
  return out;
}

/**
 * The logits' values without a copy where the backend allows it: on wasm a view of the
 * backend's heap (valid until the next tfjs allocation, so read at once), else dataSync.
 */
export function hostView(logits: tf.Tensor2D): Float32Array {
  const backend = tf.backend() as unknown as { typedArrayFromHeap?: (t: tf.Tensor) => Float32Array };
  if (tf.getBackend() === "wasm" && typeof backend.typedArrayFromHeap === "function" && logits.dtype === "float32") return backend.typedArrayFromHeap(logits);
  return logits.dataSync() as Float32Array;
}

/** The Emscripten module of the tfjs wasm backend, as far as the sampler uses it. */
interface WasmBackendModule {
  asm?: { memory?: unknown };
  _malloc?: (bytes: number) => number;
}

const heaps = new WeakMap<object, LogitsHeap | null>();

/**
 * The tfjs wasm backend's heap, so that the sampler reads the logits in place (host.ts,
 * LogitsHeap); undefined on other backends or where the module does not expose its memory
 * and allocator (then each row is copied, with the same draws).
 */
export function wasmHeap(): LogitsHeap | undefined {
  if (tf.getBackend() !== "wasm") return undefined;
  const module = (tf.backend() as unknown as { wasm?: WasmBackendModule }).wasm;
  if (module === undefined) return undefined;
  let heap = heaps.get(module);
  if (heap === undefined) {
    const memory = module.asm?.memory;
    const malloc = module._malloc;
    heap = memory instanceof WebAssembly.Memory && typeof malloc === "function" ? { memory, malloc: (bytes) => malloc(bytes) } : null;
    heaps.set(module, heap);
  }
  return heap ?? undefined;
}
