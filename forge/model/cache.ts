/**
 * The KV cache, per layer: keys [B, kvHeads, columns, headDim] and values
 * [B, kvHeads, headDim, columns] — both laid out so that attention is an elementwise
 * product summed over the LAST axis (the wasm backend's fast reduction; batched matMul
 * falls off XNNPACK there).
 *
 * Columns are global decode steps: at each step every stream writes its new K/V in the same
 * column, and a per-stream validity mask says which columns a stream may attend to (a held
 * or inactive stream's column is masked out; resetSlot masks a whole row for continuous
 * batching). Positions per stream are separate and feed only the positional encoding.
 *
 * Two storage modes:
 * - "inplace" (wasm, cpu: backends whose tensors live in host memory): columns are
 *   preallocated in chunks and a step writes its column straight into the tensor's
 *   buffer — no copy of the cache per step. Measured in bench/model (see its README).
 * - "functional" (other backends, e.g. tensorflow on GPU): tensors are immutable, each step
 *   concatenates one column (a copy of the cache, cheap on device memory).
 *
 * A cache may also hold a shared prefix (`prefix`, shared-prefix prefill): K/V columns that
 * every stream attends to before its own columns, stored once for the whole batch as per-head
 * 2-D matrices, so attention over them is one plain matMul per head (attention.ts) instead of
 * B copies reduced elementwise.
 */
import * as tf from "@tensorflow/tfjs";
import { ModelUsageError } from "./errors.js";

export type CacheMode = "inplace" | "functional";

export interface CacheOptions {
  /** Default: inplace on wasm and cpu, functional elsewhere. */
  mode?: CacheMode;
  /** Columns added per growth in inplace mode (default 32; ≥ capacity preallocates all). */
  chunk?: number;
}

/**
 * The K/V of a token sequence every stream of a batch starts with (positions 0..length−1),
 * held once. Per layer, per kv head: keys transposed [headDim, length] and values
 * [length, headDim] — the right operands of 2-D products, never written after creation
 * (XNNPACK repacks a product's right operand, and the wasm backend may keep that packing per
 * tensor).
 */
export interface SharedPrefixKv {
  length: number;
  keys: tf.Tensor2D[][];
  values: tf.Tensor2D[][];
}

/** Additive attention mask value for a column a stream must not see (finite: no NaN when a row is all masked). */
const MASKED = -1e9;

export class KvCache {
  /** Columns (decode steps) written so far. */
  length = 0;
  /** Columns allocated in each layer's tensors (≥ length). */
  allocated = 0;
  readonly keys: tf.Tensor4D[] = [];
  readonly values: tf.Tensor4D[] = [];
  /** validity[b·capacity + column] = 1 when stream b may attend to that column. */
  readonly validity: Uint8Array;
  /** Columns every stream attends to before its own (set by prefill.ts's attachPrefix); they are not counted in `length`. */
  prefix: SharedPrefixKv | null = null;
  private disposed = false;

  constructor(
    readonly batch: number,
    readonly capacity: number,
    readonly layers: number,
    readonly kvHeads: number,
    readonly headDim: number,
    readonly mode: CacheMode,
    readonly chunk: number,
  ) {
    this.validity = new Uint8Array(batch * capacity);
    for (let l = 0; l < layers; l++) {
      this.keys.push(tf.zeros([batch, kvHeads, 0, headDim]) as tf.Tensor4D);
      this.values.push(tf.zeros([batch, kvHeads, headDim, 0]) as tf.Tensor4D);
    }
  }

  checkUsable(): void {
    if (this.disposed) throw new ModelUsageError("KV cache used after dispose()");
  }

  /** Make room for column `length`. */
  reserveColumn(): void {
    this.reserveColumns(1);
  }

  /** Make room for columns `length`..`length + n − 1` (inplace mode grows by whole `chunk`s, copying once). */
  reserveColumns(n: number): void {
    if (this.length + n > this.capacity) {
      const used = this.length >= this.capacity ? `all ${this.capacity} columns (decode steps) are used` : `${n} more columns do not fit after ${this.length} of ${this.capacity}`;
      throw new ModelUsageError(`KV cache full: ${used}; create a larger cache (createCache(batch, capacity))`);
    }
    if (this.mode === "functional" || this.length + n <= this.allocated) return;
    let next = this.allocated;
    while (next < this.length + n) next = Math.min(this.capacity, next + this.chunk);
    const extra = next - this.allocated;
    for (let l = 0; l < this.layers; l++) {
      // A zero-padded copy (one wasm kernel per tensor), written in place from then on.
      const k = tf.pad(this.keys[l]!, [[0, 0], [0, 0], [0, extra], [0, 0]]) as tf.Tensor4D;
      const v = tf.pad(this.values[l]!, [[0, 0], [0, 0], [0, 0], [0, extra]]) as tf.Tensor4D;
      this.keys[l]!.dispose();
      this.values[l]!.dispose();
      this.keys[l] = k;
      this.values[l] = v;
    }
    this.allocated = next;
  }

  /**
   * The float32 data of layer `layer`'s keys ([B, kvHeads, allocated, headDim]) or values
   * ([B, kvHeads, headDim, allocated]), inplace mode only: a view of the backend's memory, no
   * copy. Valid until the next tensor is allocated (the wasm heap may move when it grows).
   */
  hostView(kind: "keys" | "values", layer: number): Float32Array {
    if (this.mode !== "inplace") throw new ModelUsageError("KvCache.hostView needs an inplace cache");
    return hostBuffer(this[kind][layer]!);
  }

  /**
   * Write column `length` of layer `layer` from k, v ([B, kvHeads, headDim]).
   * Inplace: straight into the backend's buffer. Functional: concatenate (kept across tidy).
   */
  writeColumn(layer: number, k: tf.Tensor3D, v: tf.Tensor3D): void {
    const { batch: B, kvHeads: H, headDim: D } = this;
    this.writeColumns(layer, tf.reshape(k, [1, B, H, D]), tf.reshape(v, [1, B, H, D]));
  }

  /**
   * Write columns `length`..`length + n − 1` of layer `layer` from k, v ([n, B, kvHeads,
   * headDim]: column by column, so the inplace copy reads each tensor once).
   */
  writeColumns(layer: number, k: tf.Tensor4D, v: tf.Tensor4D): void {
    const { batch: B, kvHeads: H, headDim: D } = this;
    const n = k.shape[0];
    const col = this.length;
    if (this.mode === "functional") {
      const nk = tf.keep(tf.concat([this.keys[layer]!, tf.transpose(k, [1, 2, 0, 3])], 2) as tf.Tensor4D);
      const nv = tf.keep(tf.concat([this.values[layer]!, tf.transpose(v, [1, 2, 3, 0])], 3) as tf.Tensor4D);
      this.keys[layer]!.dispose();
      this.values[layer]!.dispose();
      this.keys[layer] = nk;
      this.values[layer] = nv;
      return;
    }
    const S = this.allocated;
    const kd = k.dataSync() as Float32Array;
    const vd = v.dataSync() as Float32Array;
    const kBuf = hostBuffer(this.keys[layer]!);
    const vBuf = hostBuffer(this.values[layer]!);
    for (let j = 0; j < n; j++) {
      for (let bh = 0; bh < B * H; bh++) {
        const from = (j * B * H + bh) * D;
        kBuf.set(kd.subarray(from, from + D), (bh * S + col + j) * D);
        const vRow = bh * D * S + col + j;
        for (let d = 0; d < D; d++) vBuf[vRow + d * S] = vd[from + d]!;
      }
    }
  }

  /** Additive mask [B, 1, 1, columns] over the columns the attention reads. */
  maskTensor(): tf.Tensor4D {
    const S = this.mode === "functional" ? this.length + 1 : this.allocated;
    const m = new Float32Array(this.batch * S).fill(MASKED);
    for (let b = 0; b < this.batch; b++)
      for (let c = 0; c <= this.length; c++) if (this.validity[b * this.capacity + c]) m[b * S + c] = 0;
    return tf.tensor4d(m, [this.batch, 1, 1, S]);
  }

  /** Forget everything stream `slot` wrote: its row is masked out (continuous batching). */
  resetSlot(slot: number): void {
    this.checkUsable();
    if (!Number.isInteger(slot) || slot < 0 || slot >= this.batch) throw new ModelUsageError(`resetSlot: slot ${slot} is outside the batch (0..${this.batch - 1})`);
    this.validity.fill(0, slot * this.capacity, (slot + 1) * this.capacity);
  }

  dispose(): void {
    if (this.disposed) return;
    this.disposed = true;
    for (const t of [...this.keys, ...this.values]) t.dispose();
    if (this.prefix !== null) for (const t of [...this.prefix.keys, ...this.prefix.values].flat()) t.dispose();
  }
}

interface WasmBackendInternals {
  dataIdMap: { get(id: object): { memoryOffset: number } };
  wasm: { HEAPF32: Float32Array };
}
interface CpuBackendInternals {
  data: { get(id: object): { values: Float32Array } };
}

/** The float32 buffer behind a tensor on a host-memory backend, writable in place. */
function hostBuffer(t: tf.Tensor): Float32Array {
  const name = tf.getBackend();
  if (name === "wasm") {
    const be = tf.backend() as unknown as WasmBackendInternals;
    const offset = be.dataIdMap.get(t.dataId).memoryOffset;
    const heap = be.wasm.HEAPF32; // re-read each time: the heap view changes when memory grows
    return heap.subarray(offset / 4, offset / 4 + t.size);
  }
  if (name === "cpu") {
    const be = tf.backend() as unknown as CpuBackendInternals;
    return be.data.get(t.dataId).values;
  }
  throw new ModelUsageError(`KV cache mode "inplace" needs the wasm or cpu backend (current: ${name}); use mode "functional"`);
}

/** Inplace on host-memory backends, functional elsewhere. */
export function defaultCacheMode(): CacheMode {
  const name = tf.getBackend();
  return name === "wasm" || name === "cpu" ? "inplace" : "functional";
}
