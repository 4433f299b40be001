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
 * Cost per row: the plain (temperature) path reads the row four times in the SIMD module;
 * top-k selects with a heap (no sort of the vocabulary); top-p sorts only the tokens whose
 * exp(x − max) can still change a float32 sum: a token below the fourth largest logit by
 * more than 17.5 adds less than half a unit in the last place to every partial sum it
 * meets (exp(−17.5) < 2^−25), so the tensor path's sums do not depend on where it sits.
 */
import { counterUniform } from "./philox.js";
import { resolveSampling, type ResolvedSampling, type SamplingOptions } from "./options.js";
import { EXP, expScalar, samplerKernel, type SamplerKernel } from "./kernel.js";

const f32 = Math.fround;
/** Largest float32 below 1 (the tensor sampler's clamp of the uniform). */
const U_MAX = f32(0.99999994);
/** Tokens more than this below the fourth largest logit cannot change a float32 partial sum (see above). */
const NEGLIGIBLE_BELOW = 17.5;
/** Up to this width top-k keeps a heap of the best k; above it, the negligible-token cut. */
const HEAP_WIDTH = 64;
/** Plain rows per samplePlain call: the kernel's cumscale8 runs two groups of four chains. */
const PLAIN_GROUP = 8;

/**
 * Sample one token per row of `logits` (row-major [batch × vocab] float32; batch =
 * instances.length). `options`: one set for every row, or one per row. Row b draws with
 * counterUniform(seed, instances[b], steps[b]). Returns the tokens (int32 [batch]); `out`,
 * when given, receives them.
 */
export function sampleTokensHost(
  logits: Float32Array,
  vocab: number,
  options: SamplingOptions | readonly SamplingOptions[],
  seed: number,
  instances: ArrayLike<number>,
  steps: ArrayLike<number>,
  out?: Int32Array,
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
  const rows = new RowSampler(vocab);
  // Plain temperature rows go eight at a time through the SIMD module (their cumulative sums
  // run in the four lanes of two vectors); greedy and filtered rows one by one.
  const group = rows.group;
  for (let b = 0; b < batch; b++) {
    const sampling = shared ?? resolveSampling((options as readonly SamplingOptions[])[b]!, vocab);
    if (sampling.greedy) {
      rows.load(logits, b * vocab);
      tokens[b] = rows.argmax();
      continue;
    }
    const u = f32(Math.min(Math.max(counterUniform(seed, instances[b]!, steps[b]!), 1e-12), U_MAX));
    if (sampling.topK === null && sampling.topP === null && rows.grouped) {
      group.row[group.size] = b;
      group.u[group.size] = u;
      group.temperature[group.size] = sampling.temperature;
      if (++group.size === PLAIN_GROUP) rows.samplePlain(logits, tokens);
      continue;
    }
    rows.load(logits, b * vocab);
    tokens[b] = rows.sample(sampling, u);
  }
  if (group.size > 0) rows.samplePlain(logits, tokens);
  return tokens;
}

/** Up to PLAIN_GROUP plain (temperature-only) rows waiting for samplePlain. */
interface PlainGroup {
  size: number;
  row: Int32Array;
  u: Float64Array;
  temperature: Float64Array;
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
class RowSampler {
  private readonly kernel: SamplerKernel | null = kernelEnabled ? samplerKernel() : null;
  private readonly n: number;
  /**
   * Element offsets of the row's values, of exp(x − max) and of the cumulative sums: one
   * region, each pass overwriting the one before in place (a 32 KB row stays in L1).
   */
  private readonly at: { x: number; e: number; c: number };
  private mem!: Float32Array;
  private bits!: Uint32Array;
  /** Floats per row region (n rounded up to whole lanes, plus room for padding). */
  private readonly stride: number;
  /** Whether samplePlain is available (the SIMD module is). */
  readonly grouped: boolean;
  /** The plain rows waiting for samplePlain. */
  readonly group: PlainGroup = {
    size: 0, row: new Int32Array(PLAIN_GROUP), u: new Float64Array(PLAIN_GROUP), temperature: new Float64Array(PLAIN_GROUP),
  };
  private readonly scales = new Float64Array(PLAIN_GROUP);
  /** Element offset of rowrange's smallest value (past the rows and their sums). */
  private readonly lowest: number;

  constructor(n: number) {
    this.n = n;
    const stride = (this.stride = (n + 7) & ~3); // room for 4 lanes of padding past n
    this.grouped = this.kernel !== null;
    this.at = { x: 0, e: 0, c: 0 };
    // Regions 0..7 hold a group's rows, then their cumulative sums (interleaved by four: 4
    // regions' worth per four rows), then one float for rowrange.
    this.lowest = 2 * PLAIN_GROUP * stride;
    const bytes = (this.lowest + 4) * 4;
    if (this.kernel) {
      const memory = this.kernel.memory;
      if (memory.buffer.byteLength < bytes) memory.grow(Math.ceil((bytes - memory.buffer.byteLength) / 65536));
      this.mem = new Float32Array(memory.buffer);
      this.bits = new Uint32Array(memory.buffer);
    } else {
      this.mem = new Float32Array(stride);
      this.bits = new Uint32Array(this.mem.buffer);
    }
  }

  load(logits: Float32Array, offset: number): void {
    this.mem.set(logits.subarray(offset, offset + this.n), this.at.x);
  }

  /**
   * The waiting plain (temperature-only) rows, up to eight: each row's softmax in its own
   * region (in place), then the eight cumulative sums at once, interleaved by four (row r's
   * sum i at sums + 16·stride·(r >> 2) + 4i + (r & 3)), then each row's search. Missing rows
   * of a short group run on zeros at scale 0 and are not read. Empties the group.
   */
  samplePlain(logits: Float32Array, tokens: Int32Array): void {
    const k = this.kernel!;
    const x = this.mem;
    const n = this.n;
    const n4 = n & ~3;
    const stride = this.stride;
    const group = this.group;
    const scales = this.scales;
    const lowest = this.lowest;
    for (let r = 0; r < group.size; r++) {
      const row = group.row[r]!;
      const temperature = group.temperature[r]!;
      const at = r * stride;
      x.set(logits.subarray(row * n, (row + 1) * n), at);
      if (temperature !== 1) {
        const t = f32(temperature);
        k.divide(at * 4, n4, t);
        for (let i = n4; i < n; i++) x[at + i] = f32(x[at + i]! / t);
      }
      const max = k.rowrange(at * 4, n, lowest * 4);
      // No lane can fall below the denormal cutoff: the cheaper loop gives the same values.
      let sum = f32(x[lowest]! - max) >= EXP.denormCutoff ? k.expsumNear(at * 4, at * 4, n4, max) : k.expsum(at * 4, at * 4, n4, max);
      for (let i = n4; i < n; i++) {
        const v = expScalar(x[at + i]! - max);
        x[at + i] = v;
        sum = f32(sum + v);
      }
      scales[r] = f32(1 / sum);
    }
    for (let r = group.size; r < PLAIN_GROUP; r++) {
      x.fill(0, r * stride, r * stride + n);
      scales[r] = 0;
    }
    const sums = PLAIN_GROUP * stride;
    if (n4 > 0) {
      const s = scales;
      k.cumscale8(0, stride * 4, sums * 4, 16 * stride, n4, s[0]!, s[1]!, s[2]!, s[3]!, s[4]!, s[5]!, s[6]!, s[7]!);
    }
    for (let r = 0; r < group.size; r++) {
      const at = sums + 4 * stride * (r >> 2) + (r & 3); // row r's sum i at at + 4i
      // The last n mod 4 sums of the chain, as cumscale would continue it.
      for (let i = n4; i < n; i++) {
        const p = f32(x[r * stride + i]! * scales[r]!);
        x[at + 4 * i] = i === 0 ? p : f32(p + x[at + 4 * (i - 1)]!);
      }
      const target = f32(group.u[r]! * x[at + 4 * (n - 1)]!);
      let lo = 0;
      let hi = n;
      while (lo < hi) {
        const mid = (lo + hi) >> 1;
        if (x[at + 4 * mid]! < target) lo = mid + 1;
        else hi = mid;
      }
      tokens[group.row[r]!] = Math.min(lo, n - 1);
    }
    group.size = 0;
  }

  argmax(): number {
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
      return Math.min(this.firstAtLeast(this.at.c, n, f32(u * total)), n - 1);
    }
    return this.sampleFiltered(sampling.topK ?? n, sampling.topP, u);
  }

  /**
   * Top-k / top-p. The tensor path sorts the width-w top (w = k, or the vocabulary), takes
   * its softmax in that order, keeps the prefix whose mass before each token is < p, and
   * inverts the CDF of the kept probabilities.
   */
  private sampleFiltered(width: number, topP: number | null, u: number): number {
    const { order, known } = this.ranked(width);
    // The ranked values, padded with −∞ (exp 0, a no-op in every sum) to whole lanes.
    const x = this.mem;
    const base = this.at.x;
    const w4 = width & ~3;
    const lanes = Math.min((known + 3) & ~3, w4);
    const values = new Float32Array(known);
    for (let r = 0; r < known; r++) values[r] = x[base + order[r]!]!;
    x.set(values, base);
    for (let r = known; r < lanes; r++) x[base + r] = -Infinity;
    const max = values[0]!;
    let sum = this.expLanes(base, lanes, max);
    const e = this.at.e;
    for (let r = w4; r < known; r++) {
      const v = expScalar(values[r]! - max);
      x[e + r] = v;
      sum = f32(sum + v);
    }
    const scale = f32(1 / sum);
    // Kept: the ranks whose exclusive cumulative mass is below p (the tokens past `known`
    // add nothing to any float32 sum, so the kept ranks that matter end at `known`).
    const p = topP === null ? Infinity : f32(topP);
    const c = this.at.c;
    let before = 0;
    let kept = 0;
    while (kept < known && before < p) {
      before = kept === 0 ? f32(x[e]! * scale) : f32(f32(x[e + kept]! * scale) + before);
      x[c + kept] = before; // inclusive cumsum of the kept probabilities
      kept++;
    }
    const total = x[c + kept - 1]!;
    const column = Math.min(this.firstAtLeast(c, kept, f32(u * total)), width - 1);
    if (column >= known) throw new Error("internal: sampled past the ranked tokens");
    return order[column]!;
  }

  /**
   * The top of the row in tfjs TopK's order (value descending, index ascending): the
   * first `width` entries, or fewer (`known`) when the rest cannot change the float32
   * sums (see NEGLIGIBLE_BELOW).
   */
  private ranked(width: number): { order: Int32Array; known: number } {
    if (width <= HEAP_WIDTH) return { order: this.heapTop(width), known: width };
    const x = this.mem;
    const base = this.at.x;
    const n = this.n;
    const cut = x[base + this.heapTop(4)[3]!]! - NEGLIGIBLE_BELOW;
    let count = 0;
    for (let i = 0; i < n; i++) if (x[base + i]! >= cut) count++;
    const indices = new Int32Array(count);
    count = 0;
    for (let i = 0; i < n; i++) if (x[base + i]! >= cut) indices[count++] = i;
    const order = radixRank(indices, this.bits, base);
    const known = Math.min(count, width);
    return { order: known < count ? order.subarray(0, known) : order, known };
  }

  /** The best k indices (k ≤ n) in TopK order, by a min-heap of the best seen so far. */
  private heapTop(k: number): Int32Array {
    const x = this.mem;
    const base = this.at.x;
    const n = this.n;
    // heap[0] is the worst kept: the lowest value, on ties the highest index.
    const heap = new Int32Array(k);
    const value = new Float64Array(k);
    for (let i = 0; i < k; i++) {
      const v = x[base + i]!;
      let at = i;
      while (at > 0) {
        const parent = (at - 1) >> 1;
        // Earlier indices win ties, so index i is worse than any kept entry of equal value.
        if (!(v <= value[parent]!)) break;
        heap[at] = heap[parent]!;
        value[at] = value[parent]!;
        at = parent;
      }
      heap[at] = i;
      value[at] = v;
    }
    for (let i = k; i < n; i++) {
      const v = x[base + i]!;
      // A later index never beats an equal value: strictly larger only.
      if (!(v > value[0]!)) continue;
      let at = 0;
      for (;;) {
        const l = 2 * at + 1;
        if (l >= k) break;
        const r = l + 1;
        let child = l;
        if (r < k && (value[r]! < value[l]! || (value[r] === value[l] && heap[r]! > heap[l]!))) child = r;
        const cv = value[child]!;
        if (!(cv < v || (cv === v && heap[child]! > i))) break;
        heap[at] = heap[child]!;
        value[at] = cv;
        at = child;
      }
      heap[at] = i;
      value[at] = v;
    }
    heap.sort(); // ascending index, then a stable sort by value
    return radixRank(heap, this.bits, base);
  }

  private divide(n: number, t: number): void {
    const x = this.mem;
    const base = this.at.x;
    const n4 = n & ~3;
    if (this.kernel) this.kernel.divide(base * 4, n4, t);
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

  /** exp(x − max) into the e region for the first n4 (a multiple of 4); the four lanes' sum, reduced. */
  private expLanes(at: number, n4: number, max: number): number {
    const e = this.at.e;
    if (this.kernel) return this.kernel.expsum(at * 4, e * 4, n4, max);
    const x = this.mem;
    const lane = [0, 0, 0, 0];
    for (let i = 0; i < n4; i++) {
      const v = expScalar(x[at + i]! - max);
      x[e + i] = v;
      lane[i & 3] = f32(lane[i & 3]! + v);
    }
    return f32(f32(lane[0]! + lane[2]!) + f32(lane[1]! + lane[3]!));
  }

  /** Softmax of n values at `at` (vocabulary order), its cumulative sums into the c region; returns the total. */
  private softmaxCdf(at: number, n: number, max: number): number {
    const x = this.mem;
    const e = this.at.e;
    const n4 = n & ~3;
    let sum = this.expLanes(at, n4, max);
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

  /** The number of the n non-decreasing values at `at` that are below `target` (binary search). */
  private firstAtLeast(at: number, n: number, target: number): number {
    const x = this.mem;
    let lo = 0;
    let hi = n;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (x[at + mid]! < target) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }
}

/**
 * `indices` (ascending) reordered as TopK orders them: value descending, equal values in
 * ascending index. A stable least-significant-digit radix sort (11-bit digits) on a key
 * whose ascending order is descending value; −0 counts as +0, as the comparison does.
 */
function radixRank(indices: Int32Array, bits: Uint32Array, base: number): Int32Array {
  const n = indices.length;
  let keys = new Uint32Array(n);
  for (let r = 0; r < n; r++) {
    let b = bits[base + indices[r]!]!;
    if (b === 0x80000000) b = 0;
    const ascending = b & 0x80000000 ? ~b >>> 0 : (b | 0x80000000) >>> 0;
    keys[r] = 0xffffffff - ascending;
  }
  let order = indices.slice();
  let nextKeys = new Uint32Array(n);
  let nextOrder = new Int32Array(n);
  const counts = new Int32Array(2048);
  for (let shift = 0; shift < 32; shift += 11) {
    counts.fill(0);
    for (let r = 0; r < n; r++) counts[(keys[r]! >>> shift) & 2047]!++;
    if (counts[(keys[0]! >>> shift) & 2047] === n) continue; // one digit for all: nothing moves
    let sum = 0;
    for (let d = 0; d < 2048; d++) {
      const c = counts[d]!;
      counts[d] = sum;
      sum += c;
    }
    for (let r = 0; r < n; r++) {
      const k = keys[r]!;
      const at = counts[(k >>> shift) & 2047]!++;
      nextKeys[at] = k;
      nextOrder[at] = order[r]!;
    }
    [keys, nextKeys] = [nextKeys, keys];
    [order, nextOrder] = [nextOrder, order];
  }
  return order;
}
