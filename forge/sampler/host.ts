/**
 * Sampling on typed arrays: logits already in host memory (the wasm and cpu backends, or an
 * engine that produces Float32Array logits) → one token per row, with no tensor op.
 *
 * Same draws as the tensor sampler (sample.ts) on the wasm backend, bit for bit: each row
 * uses the uniform counterUniform(seed, instances[b], steps[b]) and repeats the tensor
 * path's float32 arithmetic — logits ÷ temperature, softmax as XNNPACK computes it
 * (kernel.ts), top-k in tfjs TopK's order (value descending, then index ascending),
 * the nucleus from the exclusive cumsum (mass before a token < p), and the inverse CDF as
 * the first cumsum entry ≥ u · total, clamped to the last column. Greedy takes tfjs
 * ArgMax's first largest logit.
 *
 * Cost per row: the plain (temperature) path reads the row twice where it lies (max and
 * range, then exp and the lane sums; on the tfjs wasm backend the SIMD module runs on the
 * backend's heap, see LogitsHeap, so the row is not copied) and its exp values once (the
 * cumulative sums, eight rows per pass; at a temperature ≠ 1 the first read divides the row
 * into the region and finds its range in the same pass); greedy is a max pass and a search for its first
 * occurrence. Top-k and top-p rows go to filtered.ts (sampleFiltered) over the row region.
 *
 * Constrained rows (`RowSelection.masks`: a bitset of the allowed tokens per row, forge/ttfa/
 * mask.ts) are sampled as if their disallowed logits were −∞, with the same draws: plain rows
 * by the kernel's masked passes (rowrangeMasked, expsumMasked/expsumNearMasked, which apply
 * the bitset as they read the row, in place; kernel.ts says why the results are bit-identical),
 * in the same groups of eight as free rows; greedy rows by rowrangeMasked and findMasked
 * where the row lies; top-k and top-p rows from a copy of the row masked with −∞ in the row
 * region (maskselect), then the usual path.
 */
import { counterUniform } from "./philox.js";
import { resolveSampling, type ResolvedSampling, type SamplingOptions } from "./options.js";
import { EXP, expScalar, LANE_MASK_BYTES, samplerKernel, samplerKernelOn, writeLaneMasks, type SamplerKernel } from "./kernel.js";
import { expLanes, firstAtLeast, sampleFiltered, type FilteredRow } from "./filtered.js";

const f32 = Math.fround;
/** Largest float32 below 1 (the tensor sampler's clamp of the uniform). */
const U_MAX = f32(0.99999994);
/** Plain rows per samplePlain call: the kernel's cumscale8 runs two groups of four chains. */
const PLAIN_GROUP = 8;

/** Which rows sampleTokensHost samples, and the constraint masks of those it samples. */
export interface RowSelection {
  /** The rows of `logits` to sample (default: all); the tokens of the others are left as they are. */
  rows?: ArrayLike<number>;
  /**
   * Row b's allowed tokens as a bitset (bit v of word v >> 5 set: token v allowed; columns past
   * the bitset's end are not), or null: row b is free. The row is sampled as if every
   * disallowed logit were −∞; it must allow at least one column.
   */
  masks?: (row: number) => Uint32Array | null;
}

/**
 * Sample one token per row of `logits` (row-major [batch × vocab] float32; batch =
 * instances.length). `options`: one set for every row, or one per row. Row b draws with
 * counterUniform(seed, instances[b], steps[b]). Returns the tokens (int32 [batch]); `out`,
 * when given, receives them. `select`: only some rows, and constraint masks (RowSelection).
 */
export function sampleTokensHost(
  logits: Float32Array,
  vocab: number,
  options: SamplingOptions | readonly SamplingOptions[],
  seed: number,
  instances: ArrayLike<number>,
  steps: ArrayLike<number>,
  out?: Int32Array,
  heap?: LogitsHeap,
  select?: RowSelection,
): Int32Array {
  const batch = instances.length;
  if (!Number.isInteger(vocab) || vocab < 1) throw new Error(`sampleTokensHost: vocab must be a positive integer, got ${vocab}`);
  if (logits.length !== batch * vocab)
    throw new Error(`sampleTokensHost: logits hold ${logits.length} values, expected batch ${batch} × vocab ${vocab}`);
  if (steps.length !== batch)
    throw new Error(`sampleTokensHost: instances (${batch}) and steps (${steps.length}) must have one entry per row`);
  const perRow = Array.isArray(options);
  if (perRow && options.length !== batch) throw new Error(`sampleTokensHost: ${options.length} sampling options for ${batch} rows`);
  const shared = perRow ? null : resolveSampling(options as SamplingOptions, vocab);
  const tokens = out ?? new Int32Array(batch);
  if (tokens.length !== batch) throw new Error(`sampleTokensHost: out has ${tokens.length} entries for ${batch} rows`);
  const only = select?.rows;
  const count = only === undefined ? batch : only.length;
  if (only !== undefined)
    for (let k = 0; k < count; k++) {
      const b = only[k]!;
      if (!Number.isInteger(b) || b < 0 || b >= batch) throw new Error(`sampleTokensHost: row ${b} is outside the batch (0..${batch - 1})`);
    }
  const masks = select?.masks;
  const rows = rowSampler(vocab, logits, heap);
  // Plain temperature rows go eight at a time through the SIMD module (their cumulative sums
  // run in the four lanes of two vectors), masked or not; greedy and filtered rows one by one.
  const group = rows.group;
  for (let k = 0; k < count; k++) {
    const b = only === undefined ? k : only[k]!;
    const sampling = shared ?? resolveSampling((options as readonly SamplingOptions[])[b]!, vocab);
    const mask = masks === undefined ? null : masks(b);
    if (sampling.greedy) {
      tokens[b] = rows.argmax(b * vocab, mask);
      continue;
    }
    const u = f32(Math.min(Math.max(counterUniform(seed, instances[b]!, steps[b]!), 1e-12), U_MAX));
    if (sampling.topK === null && sampling.topP === null && rows.grouped) {
      rows.setGroupMask(group.size, mask);
      group.row[group.size] = b;
      group.u[group.size] = u;
      group.temperature[group.size] = sampling.temperature;
      if (++group.size === PLAIN_GROUP) rows.samplePlain(tokens);
      continue;
    }
    rows.load(b * vocab, mask);
    tokens[b] = rows.sample(sampling, u);
  }
  if (group.size > 0) rows.samplePlain(tokens);
  return tokens;
}

/**
 * Another WebAssembly module's memory that may hold the logits (the tfjs wasm backend's heap,
 * forge/sampler/dispatch.ts): when `logits` lies in it, the SIMD module runs on that memory
 * (samplerKernelOn) and reads the rows where they are instead of copying each one in.
 */
export interface LogitsHeap {
  memory: WebAssembly.Memory;
  /** Reserves `bytes` in the memory and returns their byte address (the sampler's scratch, kept for the process). */
  malloc(bytes: number): number;
}

/** The last calls' row samplers, one reading in a heap and one copying rows, reused while they fit (see rowSampler). */
const lastRows: { heap: RowSampler | null; copy: RowSampler | null } = { heap: null, copy: null };

/**
 * A row sampler for `logits`: the last one if it fits, else a new one. Reusing it keeps a
 * call from allocating (its scratch arrays, views): in the engine's loop an allocation can
 * start a collection of the whole step's garbage, charged to the sampler.
 */
function rowSampler(n: number, logits: Float32Array, heap: LogitsHeap | undefined): RowSampler {
  const mode = heap !== undefined && logits.buffer === heap.memory.buffer ? "heap" : "copy";
  const last = lastRows[mode];
  if (last !== null && last.fits(n, logits, heap)) {
    last.bind(logits, heap);
    return last;
  }
  return (lastRows[mode] = new RowSampler(n, logits, heap));
}

/** The sampler's scratch in each heap: byte address and size. */
const heapScratch = new WeakMap<WebAssembly.Memory, { address: number; bytes: number }>();

/** Up to PLAIN_GROUP plain (temperature-only) rows waiting for samplePlain. */
interface PlainGroup {
  size: number;
  row: Int32Array;
  u: Float64Array;
  temperature: Float64Array;
  /** 1 where the row has a constraint mask (its bitset in the row's bitset slot), else 0. */
  masked: Uint8Array;
}

let kernelEnabled = true;

/**
 * Whether sampleTokensHost uses the SIMD module (default) or the same arithmetic in plain
 * JavaScript (≈ 20× slower; the path taken where WebAssembly SIMD is missing). For tests.
 */
export function useSamplerKernel(enabled: boolean): void {
  kernelEnabled = enabled;
}

/** Scratch for one row at a time: in the SIMD module's memory, or plain arrays without it. */
class RowSampler implements FilteredRow {
  readonly kernel: SamplerKernel | null;
  /** The logits being sampled (rows are copied from here when `source` is −1). */
  private logits!: Float32Array;
  /** Element offset of logits[0] in `mem` where they lie in the module's memory, else −1. */
  private source = -1;
  /** The memory the module runs on (its own, or the heap's); null for the plain JavaScript path. */
  private readonly memory: WebAssembly.Memory | null;
  readonly n: number;
  /**
   * Element offsets of the row's values, of exp(x − max) and of the cumulative sums: one
   * region, each pass overwriting the one before in place (a 32 KB row stays in L1).
   */
  readonly at: { x: number; e: number; c: number };
  /** Views of the memory (set by the constructor or bind). */
  mem!: Float32Array;
  bits!: Uint32Array;
  /** Floats per row region (n rounded up to whole lanes, plus room for padding). */
  private readonly stride: number;
  /** Whether samplePlain is available (the SIMD module is). */
  readonly grouped: boolean;
  /** The plain rows waiting for samplePlain. */
  readonly group: PlainGroup = {
    size: 0, row: new Int32Array(PLAIN_GROUP), u: new Float64Array(PLAIN_GROUP), temperature: new Float64Array(PLAIN_GROUP),
    masked: new Uint8Array(PLAIN_GROUP),
  };
  private readonly scales = new Float64Array(PLAIN_GROUP);
  /** Element offset of rowrange's smallest value (past the rows and their sums). */
  private readonly lowest: number;
  /** Element offset of the scratch (0 in the module's own memory). */
  private readonly origin: number;
  /** Element offset of the kernel's 16 lane masks (writeLaneMasks), past `lowest`. */
  private readonly laneMasks: number;
  /**
   * Element offset of the constraint bitsets: slot r (r < PLAIN_GROUP) for group row r, slot
   * PLAIN_GROUP for a row masked in the region (load); `bitWords` words each.
   */
  private readonly bitSlots: number;
  private readonly bitWords: number;

  constructor(n: number, logits: Float32Array, heap: LogitsHeap | undefined) {
    this.n = n;
    const stride = (this.stride = (n + 7) & ~3); // room for 4 lanes of padding past n
    // Regions 0..7 hold a group's rows, then their cumulative sums (interleaved by four: 4
    // regions' worth per four rows), then one float for rowrange (4: the lane masks stay
    // 16-byte aligned), the lane masks and PLAIN_GROUP + 1 bitset slots (a 50 257-token row's
    // bitset: 6.3 KB).
    const bitWords = (this.bitWords = (Math.ceil(n / 32) + 3) & ~3);
    const floats = 2 * PLAIN_GROUP * stride + 4 + LANE_MASK_BYTES / 4 + (PLAIN_GROUP + 1) * bitWords;
    const onHeap = kernelEnabled && heap !== undefined && logits.buffer === heap.memory.buffer ? samplerKernelOn(heap.memory) : null;
    this.kernel = onHeap ?? (kernelEnabled ? samplerKernel() : null);
    this.grouped = this.kernel !== null;
    let origin = 0;
    const byteOffset = logits.byteOffset; // before a malloc can grow the heap (and detach `logits`)
    this.memory = onHeap ? heap!.memory : (this.kernel?.memory ?? null);
    if (onHeap) {
      // Scratch in the heap, reserved once per heap (a larger vocabulary reserves anew).
      let scratch = heapScratch.get(heap!.memory);
      if (scratch === undefined || scratch.bytes < floats * 4) {
        const bytes = floats * 4 + 16;
        scratch = { address: (heap!.malloc(bytes) + 15) & ~15, bytes: bytes - 16 };
        heapScratch.set(heap!.memory, scratch);
      }
      origin = scratch.address / 4;
    } else if (this.kernel) {
      const bytes = floats * 4;
      const memory = this.kernel.memory;
      if (memory.buffer.byteLength < bytes) memory.grow(Math.ceil((bytes - memory.buffer.byteLength) / 65536));
      this.mem = new Float32Array(memory.buffer);
      this.bits = new Uint32Array(memory.buffer);
    } else {
      this.mem = new Float32Array(stride);
      this.bits = new Uint32Array(this.mem.buffer);
    }
    this.origin = origin;
    this.at = { x: origin, e: origin, c: origin };
    this.lowest = origin + 2 * PLAIN_GROUP * stride;
    this.laneMasks = this.lowest + 4;
    this.bitSlots = this.laneMasks + LANE_MASK_BYTES / 4;
    this.bind(logits, onHeap ? heap : undefined, byteOffset);
  }

  /** Whether this sampler can take `logits` of width n (same width, same memory, same path). */
  fits(n: number, logits: Float32Array, heap: LogitsHeap | undefined): boolean {
    if (n !== this.n) return false;
    if (!kernelEnabled) return this.kernel === null;
    if (heap !== undefined && logits.buffer === heap.memory.buffer) {
      const scratch = heapScratch.get(heap.memory);
      return this.memory === heap.memory && scratch !== undefined && scratch.address / 4 === this.origin;
    }
    return this.kernel !== null && this.kernel === samplerKernel();
  }

  /**
   * Takes this call's logits: where they lie in the module's memory, only their offset
   * (read before anything can grow the memory); views of the memory anew when it has
   * grown since (growing detaches the old buffer).
   */
  bind(logits: Float32Array, heap: LogitsHeap | undefined, byteOffset = logits.byteOffset): void {
    this.group.size = 0;
    this.logits = logits;
    this.source = heap !== undefined && this.memory === heap.memory ? byteOffset / 4 : -1;
    if (this.memory !== null && (this.mem === undefined || this.mem.buffer !== this.memory.buffer)) {
      this.mem = new Float32Array(this.memory.buffer);
      this.bits = new Uint32Array(this.memory.buffer);
    }
    // The lane masks, per call: the scratch is the module's between calls (the logprob
    // instrument writes the module's own memory; another width's sampler lays the heap
    // scratch out otherwise). 64 words.
    if (this.kernel !== null) writeLaneMasks(this.bits, this.laneMasks);
  }

  /** Copies the row at `offset` of the logits into the row region; `mask`: then −∞ where it forbids the column. */
  load(offset: number, mask: Uint32Array | null = null): void {
    this.copyRow(offset, this.at.x);
    if (mask === null) return;
    const x = this.mem;
    const at = this.at.x;
    const n = this.n;
    if (this.kernel === null) {
      for (let i = 0; i < n; i++) if (!allows(mask, i)) x[at + i] = -Infinity;
      return;
    }
    const slot = this.bitSlots + PLAIN_GROUP * this.bitWords;
    this.copyBits(mask, slot);
    const n4 = n & ~3;
    this.kernel.maskselect(at * 4, at * 4, n4, slot * 4, this.laneMasks * 4);
    for (let i = n4; i < n; i++) if (!allows(mask, i)) x[at + i] = -Infinity;
  }

  /** Group row r's constraint: its bitset copied into slot r, or none. */
  setGroupMask(r: number, mask: Uint32Array | null): void {
    this.group.masked[r] = mask === null ? 0 : 1;
    if (mask !== null) this.copyBits(mask, this.bitSlots + r * this.bitWords);
  }

  /** `mask`'s words for the row's columns into the slot at element offset `slot`, zeros past its end. */
  private copyBits(mask: Uint32Array, slot: number): void {
    const words = Math.ceil(this.n / 32);
    const have = Math.min(mask.length, words);
    this.bits.set(have === mask.length ? mask : mask.subarray(0, have), slot);
    if (have < words) this.bits.fill(0, slot + have, slot + words);
  }

  private copyRow(offset: number, to: number): void {
    if (this.source >= 0) this.mem.copyWithin(to, this.source + offset, this.source + offset + this.n);
    else this.mem.set(this.logits.subarray(offset, offset + this.n), to);
  }

  /**
   * The waiting plain (temperature-only) rows, up to eight: each row's softmax in its own
   * region (in place), then the eight cumulative sums at once, interleaved by four (row r's
   * sum i at sums + 16·stride·(r >> 2) + 4i + (r & 3)), then each row's search. Missing rows
   * of a short group run on zeros at scale 0 and are not read. Empties the group.
   */
  samplePlain(tokens: Int32Array): void {
    const k = this.kernel!;
    const x = this.mem;
    const n = this.n;
    const n4 = n & ~3;
    const stride = this.stride;
    const group = this.group;
    const scales = this.scales;
    const lowest = this.lowest;
    const origin = this.origin;
    for (let r = 0; r < group.size; r++) {
      const row = group.row[r]!;
      const temperature = group.temperature[r]!;
      const at = origin + r * stride;
      // The row's values: where the logits lie (read in place), or copied into the region.
      let from = this.source + row * n;
      const masked = group.masked[r] === 1;
      let max = NaN; // the row's maximum once known (its minimum at `lowest`)
      if (temperature !== 1) {
        // logits ÷ temperature into the region (read from where they lie, or copied in first);
        // a free row's range found in the same pass (as rowrange would find it on the quotients)
        if (this.source < 0) this.copyRow(row * n, (from = at));
        const t = f32(temperature);
        if (masked) k.divide(from * 4, at * 4, n4, t);
        else max = k.dividerange(from * 4, at * 4, n4, t, lowest * 4);
        for (let i = n4; i < n; i++) {
          const q = (x[at + i] = f32(x[from + i]! / t));
          if (!masked) {
            max = Math.max(max, q);
            x[lowest] = Math.min(x[lowest]!, q);
          }
        }
        from = at;
      } else if (this.source < 0) {
        this.copyRow(row * n, at);
        from = at;
      }
      if (masked) {
        scales[r] = this.expMasked(from, at, this.bitSlots + r * this.bitWords);
        continue;
      }
      if (temperature === 1) max = k.rowrange(from * 4, n, lowest * 4);
      // No lane can fall below the denormal cutoff: the cheaper loop gives the same values.
      let sum = f32(x[lowest]! - max) >= EXP.denormCutoff ? k.expsumNear(from * 4, at * 4, n4, max) : k.expsum(from * 4, at * 4, n4, max);
      for (let i = n4; i < n; i++) {
        const v = expScalar(x[from + i]! - max);
        x[at + i] = v;
        sum = f32(sum + v);
      }
      scales[r] = f32(1 / sum);
    }
    for (let r = group.size; r < PLAIN_GROUP; r++) {
      x.fill(0, origin + r * stride, origin + r * stride + n);
      scales[r] = 0;
    }
    const sums = origin + PLAIN_GROUP * stride;
    if (n4 > 0) {
      const s = scales;
      k.cumscale8(origin * 4, stride * 4, sums * 4, 16 * stride, n4, s[0]!, s[1]!, s[2]!, s[3]!, s[4]!, s[5]!, s[6]!, s[7]!);
    }
    const blocks = n4 >> 6; // whole 64-element blocks: each ends in a checkpoint
    for (let r = 0; r < group.size; r++) {
      const e = origin + r * stride; // the row's exp values
      const checkpoints = sums + 4 * stride * (r >> 2) + (r & 3); // checkpoint k at checkpoints + 4k
      const scale = scales[r]!;
      // The total: the chain from the last checkpoint to the end, as cumscale would continue it.
      let c = blocks > 0 ? x[checkpoints + 4 * (blocks - 1)]! : 0;
      for (let i = 64 * blocks; i < n; i++) c = f32(f32(x[e + i]! * scale) + c);
      const target = f32(group.u[r]! * c);
      // The first checkpoint reaching the target, then the chain again inside its block.
      let lo = 0;
      let hi = blocks;
      while (lo < hi) {
        const mid = (lo + hi) >> 1;
        if (x[checkpoints + 4 * mid]! < target) lo = mid + 1;
        else hi = mid;
      }
      c = lo > 0 ? x[checkpoints + 4 * (lo - 1)]! : 0;
      let column = n - 1; // no sum reaches the target: the last column, as the tensor path clamps
      for (let i = 64 * lo; i < n; i++) {
        c = f32(f32(x[e + i]! * scale) + c);
        if (c >= target) {
          column = i;
          break;
        }
      }
      tokens[group.row[r]!] = column;
    }
    group.size = 0;
  }

  /**
   * samplePlain's softmax numerator for a masked row: exp(x − max) of the row at element
   * `from` into the region at `at`, 0 where the bitset at element offset `slot` has a clear
   * bit, as the plain passes compute them on the row with −∞ there (kernel.ts, the masked
   * passes); returns 1 / sum.
   */
  private expMasked(from: number, at: number, slot: number): number {
    const k = this.kernel!;
    const x = this.mem;
    const bits = this.bits;
    const n = this.n;
    const n4 = n & ~3;
    const lut = this.laneMasks * 4;
    let max = k.rowrangeMasked(from * 4, n4, slot * 4, lut, this.lowest * 4);
    let lowest = x[this.lowest]!;
    // The last n mod 4 columns: f32.max / f32.min as rowrange's tail takes them (a masked one, −∞, changes neither).
    for (let i = n4; i < n; i++)
      if ((bits[slot + (i >>> 5)]! >>> (i & 31)) & 1) {
        max = Math.max(max, x[from + i]!);
        lowest = Math.min(lowest, x[from + i]!);
      }
    // No allowed lane can fall below the denormal cutoff: the cheaper loop, same values.
    let sum = f32(lowest - max) >= EXP.denormCutoff ? k.expsumNearMasked(from * 4, at * 4, n4, max, slot * 4, lut) : k.expsumMasked(from * 4, at * 4, n4, max, slot * 4, lut);
    for (let i = n4; i < n; i++) {
      const v = (bits[slot + (i >>> 5)]! >>> (i & 31)) & 1 ? expScalar(x[from + i]! - max) : 0;
      x[at + i] = v;
      sum = f32(sum + v);
    }
    return f32(1 / sum);
  }

  /**
   * The first largest value's column in the row at `offset` of the logits (`mask`: among the
   * columns it allows, as tfjs ArgMax finds it on the row with −∞ elsewhere: the first allowed
   * column equal to the allowed maximum).
   */
  argmax(offset: number, mask: Uint32Array | null = null): number {
    if (this.kernel && this.source >= 0 && mask === null) return this.kernel.argmax((this.source + offset) * 4, this.n);
    if (this.kernel && mask !== null) {
      // Where the row lies (copied in first on the copy path), the mask applied as it is read.
      let from = this.source + offset;
      if (this.source < 0) this.copyRow(offset, (from = this.at.x));
      const k = this.kernel;
      const x = this.mem;
      const n = this.n;
      const n4 = n & ~3;
      const slot = this.bitSlots + PLAIN_GROUP * this.bitWords;
      this.copyBits(mask, slot);
      const lut = this.laneMasks * 4;
      let max = k.rowrangeMasked(from * 4, n4, slot * 4, lut, this.lowest * 4);
      for (let i = n4; i < n; i++) if (allows(mask, i)) max = Math.max(max, x[from + i]!);
      // Every allowed value −∞: the masked row is all −∞, and ArgMax of it is column 0, allowed or not.
      if (max === -Infinity) return 0;
      for (let i = k.findMasked(from * 4, n4, slot * 4, lut, max); i < n; i++) if (allows(mask, i) && x[from + i] === max) return i;
      return 0; // no allowed column (a mask must allow one): ArgMax of an all −∞ row
    }
    this.load(offset, mask);
    if (this.kernel) return this.kernel.argmax(this.at.x * 4, this.n);
    const x = this.mem;
    let best = 0;
    for (let i = 1; i < this.n; i++) if (x[i]! > x[best]!) best = i;
    return best;
  }

  sample(sampling: ResolvedSampling, u: number): number {
    const n = this.n;
    if (sampling.temperature !== 1) this.divide(n, f32(sampling.temperature));
    if (sampling.topK === null && sampling.topP === null) {
      // Softmax in vocabulary order, inverse CDF over the whole row.
      const total = this.softmaxCdf(this.at.x, n, this.max(this.at.x, n));
      return Math.min(firstAtLeast(this.mem, this.at.c, n, f32(u * total)), n - 1);
    }
    return sampleFiltered(this, sampling.topK ?? n, sampling.topP, u);
  }

  private divide(n: number, t: number): void {
    const x = this.mem;
    const base = this.at.x;
    const n4 = n & ~3;
    if (this.kernel) this.kernel.divide(base * 4, base * 4, n4, t);
    else for (let i = 0; i < n4; i++) x[base + i] = f32(x[base + i]! / t);
    for (let i = n4; i < n; i++) x[base + i] = f32(x[base + i]! / t);
  }

  private max(at: number, n: number): number {
    if (this.kernel) return this.kernel.rowmax(at * 4, n);
    const x = this.mem;
    let m = x[at]!;
    for (let i = 1; i < n; i++) if (x[at + i]! > m) m = x[at + i]!;
    return m;
  }

  /** Softmax of n values at `at` (vocabulary order), its cumulative sums into the c region; returns the total. */
  private softmaxCdf(at: number, n: number, max: number): number {
    const x = this.mem;
    const e = this.at.e;
    const n4 = n & ~3;
    let sum = expLanes(this, at, n4, max);
    for (let i = n4; i < n; i++) {
      const v = expScalar(x[at + i]! - max);
      x[e + i] = v;
      sum = f32(sum + v);
    }
    const scale = f32(1 / sum);
    if (this.kernel) return this.kernel.cumscale(e * 4, this.at.c * 4, n, scale);
    const c = this.at.c;
    let acc = f32(x[e]! * scale);
    x[c] = acc;
    for (let i = 1; i < n; i++) x[c + i] = acc = f32(f32(x[e + i]! * scale) + acc);
    return acc;
  }
}

/** Whether bitset `mask` allows column i (columns past its end: no). */
function allows(mask: Uint32Array, i: number): boolean {
  const w = i >>> 5;
  return w < mask.length && ((mask[w]! >>> (i & 31)) & 1) !== 0;
}
