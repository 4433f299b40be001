/**
 * Top-k / top-p sampling of one row on typed arrays, for the host sampler (host.ts): the
 * same draws as the tensor sampler (sample.ts) bit for bit. The tensor path sorts the
 * width-w top (w = k, or the vocabulary) in tfjs TopK's order (value descending, then index
 * ascending), takes its softmax in that order (XNNPACK's four-lane sums, kernel.ts), keeps
 * the prefix whose exclusive cumulative mass is < p, and inverts the CDF of the kept
 * probabilities.
 *
 * Only the tokens whose exp(x − max) can still change a float32 sum need ranking: a token
 * below the fourth largest logit by more than 17.5 adds less than half a unit in the last
 * place to every partial sum it meets (each lane starts with one of the four largest;
 * exp(−17.5) < 2^−25), so the tensor path's sums do not depend on where it sits, and it is
 * never the first to reach the CDF's target. The ranking runs in the sort module
 * (sort-kernel.ts: top-p collects those tokens' keys and radix-sorts them; top-k bounds its
 * k-th value by SIMD and sorts only the values above the bound), or in JavaScript where the
 * module is missing (a heap for small k; value buckets, see rankCandidates).
 */
import { expScalar, type SamplerKernel } from "./kernel.js";
import { BOUND_RANK, COUNT_BYTES, NEGLIGIBLE_BELOW, sortKernel, type SortKernel } from "./sort-kernel.js";

const f32 = Math.fround;
/** Up to this width top-k bounds its k-th value (the module) or keeps a heap of the best k (JavaScript); above it, the negligible-token cut. */
const HEAP_WIDTH = 64;

/**
 * The row being sampled, as host.ts's row sampler holds it: views of one memory (the SIMD
 * module's, or plain arrays without it), the element offsets of the row's values (x), of
 * exp(x − max) (e) and of the cumulative sums (c) — one region, each pass overwriting the
 * one before in place —, the row's width n, and the SIMD module (null: plain JavaScript).
 */
export interface FilteredRow {
  readonly mem: Float32Array;
  readonly bits: Uint32Array;
  readonly at: { readonly x: number; readonly e: number; readonly c: number };
  readonly n: number;
  readonly kernel: SamplerKernel | null;
}

/** Candidate lists up to this length are ranked by insertion alone. */
const INSERTION_RANK = 64;
/** Value buckets up to this size are sorted by insertion; a larger one sends the row to the radix passes. */
const INSERTION_BUCKET = 32;
/** Radix digit width of the fallback ranking (three passes cover a 32-bit key). */
const DIGIT_BITS = 11;
const DIGITS = 1 << DIGIT_BITS;

/**
 * Scratch of the ranking, grown to the widest row seen and then reused, so that a row
 * allocates nothing (in the engine's loop an allocation can start a collection of the whole
 * step's garbage). The candidates' values and indices, twice (a scatter goes from one to the
 * other), each candidate's value bucket and the buckets' starts, the radix passes' keys and
 * count tables, and heapTop's heap.
 */
const scratch = {
  values: new Float32Array(0),
  nextValues: new Float32Array(0),
  order: new Int32Array(0),
  nextOrder: new Int32Array(0),
  bucket: new Int32Array(0),
  starts: new Int32Array(1),
  keys: new Uint32Array(0),
  nextKeys: new Uint32Array(0),
  counts: new Int32Array(3 * DIGITS),
  heap: new Int32Array(HEAP_WIDTH),
  heapValue: new Float64Array(HEAP_WIDTH),
};

function reserve(n: number): void {
  if (scratch.values.length >= n) return;
  scratch.values = new Float32Array(n);
  scratch.nextValues = new Float32Array(n);
  scratch.order = new Int32Array(n);
  scratch.nextOrder = new Int32Array(n);
  scratch.bucket = new Int32Array(n);
  scratch.starts = new Int32Array(n + 1);
  scratch.keys = new Uint32Array(n);
  scratch.nextKeys = new Uint32Array(n);
}

let sortKernelEnabled = true;

/** Whether sampleFiltered ranks in the sort module (default) or in plain JavaScript (the path without WebAssembly). For tests. */
export function useSortKernel(enabled: boolean): void {
  sortKernelEnabled = enabled;
}

/** The sort module and its memory's layout (byte addresses) for rows up to `capacity` wide. */
interface SortSpace {
  kernel: SortKernel;
  capacity: number;
  /** The row's copy at byte 0, the keys, the second key buffer, the count tables. */
  keys: number;
  tmp: number;
  counts: number;
  f32: Float32Array;
  i32: Int32Array;
  /**
   * Views reused so that a row allocates nothing: of the last row region copied in (its
   * memory, offset, width), and of the module's memory from each place `sort` may leave the
   * ranked values.
   */
  rowView: { mem: Float32Array | null; base: number; n: number; view: Float32Array };
  rankedViews: Map<number, Float32Array>;
}

let sortSpace: SortSpace | null = null;

/** The sort module with room for a row of n (its memory grown to the widest row seen), or null without it. */
function sortSpaceFor(n: number): SortSpace | null {
  if (!sortKernelEnabled) return null;
  if (sortSpace !== null && sortSpace.capacity >= n && sortSpace.f32.buffer === sortSpace.kernel.memory.buffer) return sortSpace;
  const kernel = sortKernel();
  if (kernel === null) return null;
  const capacity = Math.max(n, sortSpace?.capacity ?? 0);
  const bytes = 12 * capacity + COUNT_BYTES;
  const memory = kernel.memory;
  if (memory.buffer.byteLength < bytes) memory.grow(Math.ceil((bytes - memory.buffer.byteLength) / 65536));
  sortSpace = {
    kernel, capacity, keys: 4 * capacity, tmp: 8 * capacity, counts: 12 * capacity,
    f32: new Float32Array(memory.buffer), i32: new Int32Array(memory.buffer),
    rowView: { mem: null, base: 0, n: 0, view: new Float32Array(0) },
    rankedViews: new Map(),
  };
  return sortSpace;
}

/** Copies the row (n at `base` of `mem`) to byte 0 of the module's memory, through a view reused while the row region stays. */
function copyRowIn(space: SortSpace, mem: Float32Array, base: number, n: number): void {
  const last = space.rowView;
  if (last.mem !== mem || last.base !== base || last.n !== n) {
    last.mem = mem;
    last.base = base;
    last.n = n;
    last.view = mem.subarray(base, base + n);
  }
  space.f32.set(last.view, 0);
}

/**
 * Copies the first `known` ranked values (at element `sorted` of the module's memory) to
 * `base` of `mem`, a region of at least n: few by a loop, many as n values through a view
 * reused per place and width (what lies past `known` is not read).
 */
function copyRankedOut(space: SortSpace, sorted: number, known: number, n: number, mem: Float32Array, base: number): void {
  const values = space.f32;
  if (known < 256) {
    for (let r = 0; r < known; r++) mem[base + r] = values[sorted + r]!;
    return;
  }
  let view = space.rankedViews.get(sorted);
  if (view === undefined || view.length !== n) space.rankedViews.set(sorted, (view = values.subarray(sorted, sorted + n)));
  mem.set(view, base);
}

/**
 * Top-k / top-p of the row in the region at row.at.x (already divided by the temperature).
 * The tensor path sorts the width-w top (w = k, or the vocabulary), takes its softmax in that
 * order, keeps the prefix whose mass before each token is < p, and inverts the CDF of the
 * kept probabilities. Overwrites the region.
 */
export function sampleFiltered(row: FilteredRow, width: number, topP: number | null, u: number): number {
  const space = sortSpaceFor(row.n);
  if (space !== null) return sampleInModule(space, row, width, topP, u);
  reserve(row.n);
  // The top in TopK order: values in scratch.values, indices in scratch.order, known ≤ width.
  const known = width <= HEAP_WIDTH ? heapTop(row, width) : ranked(row, width);
  const { values, order } = scratch;
  const x = row.mem;
  const base = row.at.x;
  for (let r = 0; r < known; r++) x[base + r] = values[r]!;
  return order[drawRanked(row, width, known, topP, u)]!;
}

/**
 * sampleFiltered with the ranking in the sort module: the row copied into its memory, the
 * candidates' keys collected (top-k up to HEAP_WIDTH: the values not below a bound of the
 * k-th, see aboveBound; else every token that can change a sum, for a larger k cut down to
 * the top-digit bins holding the best `width`), sorted, turned back into values and copied
 * into the region in rank order. The sampled rank's index is its value's occurrence of that
 * rank among equal values (TopK orders ties by ascending index).
 */
function sampleInModule(space: SortSpace, row: FilteredRow, width: number, topP: number | null, u: number): number {
  const { kernel, keys, tmp, counts, f32: values } = space;
  const n = row.n;
  const x = row.mem;
  const base = row.at.x;
  copyRowIn(space, x, base, n);
  let m = width <= HEAP_WIDTH ? aboveBound(space, n, width) : -1;
  let sorted: number;
  if (m >= width) sorted = kernel.sortShort(keys, tmp, m, counts) / 4;
  else {
    m = collectCandidates(space, n, width);
    sorted = kernel.sort(keys, tmp, m, counts) / 4;
  }
  const known = Math.min(m, width);
  copyRankedOut(space, sorted, known, n, x, base);
  const column = drawRanked(row, width, known, topP, u);
  const value = values[sorted + column]!;
  let first = column;
  while (first > 0 && values[sorted + first - 1] === value) first--;
  const index = kernel.nth(0, n, value, column - first);
  if (index < 0) throw new Error("internal: the sampled value is not in the row");
  return index;
}

/**
 * Top-k's candidates by a bound: with the row cut into 4·⌈width/16⌉ disjoint sets (lanes of
 * blocks), the smallest of the sets' BOUND_RANK-th largest values (sort-kernel's bound, by
 * SIMD) is at most the row's width-th largest, as at least width values are not below it;
 * the keys of every value not below it go to the keys buffer, in index order: about twice
 * width on flat rows. Returns how many, or −1 where the row is too short for the sets,
 * −2 where a NaN hid the bound.
 */
function aboveBound(space: SortSpace, n: number, width: number): number {
  const blocks = Math.ceil(width / (4 * BOUND_RANK));
  const vecs = Math.floor(n / (4 * blocks));
  if (vecs < BOUND_RANK) return -1;
  const bound = space.kernel.bound(0, blocks, vecs);
  if (bound !== bound) return -2;
  return space.kernel.above(0, n, bound, space.keys);
}

/**
 * The candidates in the general case: the keys of every token that can change a float32 sum
 * (the running-cut pass, see ranked); for top-k (width < n) cut down to the top-digit bins
 * holding the best width (the bins come in key order, so the keys past the bin that completes
 * width rank below the top width). Leaves the three digits counted; returns how many.
 */
function collectCandidates(space: SortSpace, n: number, width: number): number {
  const { kernel, keys, counts, i32 } = space;
  const topK = width < n;
  const m = kernel.collect(0, n, keys, counts, topK ? 0 : 1);
  if (!topK) return m;
  let limit = -1; // 0xffffffff unsigned: keeps every key (no NaN is collected)
  if (m > width) {
    const table = counts / 4 + 2 * 2048;
    let seen = 0;
    for (let d = 0; d < 2048; d++) {
      seen += i32[table + d]!;
      if (seen >= width) {
        if (d < 2047) limit = (d + 1) << 21;
        break;
      }
    }
  }
  return kernel.keep(keys, m, limit, counts);
}

/**
 * The draw over the ranked values (known of them, in the region at row.at.x; the tensor
 * path's width-w top beyond them adds nothing to any float32 sum): softmax in rank order with
 * the four-lane sums, the inclusive cumulative sums, the kept prefix, the inverse CDF.
 * Returns the sampled rank. Overwrites the region.
 */
function drawRanked(row: FilteredRow, width: number, known: number, topP: number | null, u: number): number {
  const x = row.mem;
  const base = row.at.x;
  // Padded with −∞ (exp 0, a no-op in every sum) to whole lanes.
  const w4 = width & ~3;
  const lanes = Math.min((known + 3) & ~3, w4);
  for (let r = known; r < lanes; r++) x[base + r] = -Infinity;
  const max = x[base]!;
  let sum = expLanes(row, base, lanes, max);
  const e = row.at.e;
  for (let r = w4; r < known; r++) {
    const v = expScalar(x[base + r]! - max);
    x[e + r] = v;
    sum = f32(sum + v);
  }
  const scale = f32(1 / sum);
  // The inclusive cumulative sums of the ranked probabilities (in place); kept: the ranks
  // whose exclusive cumulative mass is below p, i.e. up to the first sum ≥ p (the tokens past
  // `known` add nothing to any float32 sum, so the kept ranks that matter end at `known`).
  const c = row.at.c;
  if (row.kernel) row.kernel.cumscale(e * 4, c * 4, known, scale);
  else {
    let acc = f32(x[e]! * scale);
    x[c] = acc;
    for (let r = 1; r < known; r++) x[c + r] = acc = f32(f32(x[e + r]! * scale) + acc);
  }
  const kept = topP === null ? known : Math.min(known, firstAtLeast(x, c, known, f32(topP)) + 1);
  const total = x[c + kept - 1]!;
  const column = Math.min(firstAtLeast(x, c, kept, f32(u * total)), width - 1);
  if (column >= known) throw new Error("internal: sampled past the ranked tokens");
  return column;
}

/**
 * The top of the row in tfjs TopK's order (value descending, index ascending) into
 * scratch.values/order: the first `width` entries, or fewer when the rest cannot change the
 * float32 sums (see NEGLIGIBLE_BELOW). Returns how many.
 *
 * One pass collects the candidates: every token not below the running fourth largest minus
 * NEGLIGIBLE_BELOW. The running fourth largest never exceeds the row's, so the candidates
 * hold every token that matters, plus perhaps some negligible ones met early; those rank
 * below every token that matters (they are smaller than its cut), so they only lengthen the
 * tail of no-ops.
 */
function ranked(row: FilteredRow, width: number): number {
  const x = row.mem;
  const base = row.at.x;
  const n = row.n;
  const { values, order } = scratch;
  // The four largest so far (t0 ≥ t1 ≥ t2 ≥ t3, with multiplicity), from −∞.
  let t0 = -Infinity;
  let t1 = -Infinity;
  let t2 = -Infinity;
  let t3 = -Infinity;
  let cut = -Infinity;
  let min = Infinity;
  let m = 0;
  for (let i = 0; i < n; i++) {
    const v = x[base + i]!;
    if (!(v >= cut)) continue;
    values[m] = v;
    order[m++] = i;
    if (v < min) min = v;
    if (v > t3) {
      if (v > t1) {
        t3 = t2;
        t2 = t1;
        if (v > t0) {
          t1 = t0;
          t0 = v;
        } else t1 = v;
      } else if (v > t2) {
        t3 = t2;
        t2 = v;
      } else t3 = v;
      cut = t3 - NEGLIGIBLE_BELOW;
    }
  }
  rankCandidates(row, m, t0, min);
  return Math.min(m, width);
}

/**
 * Sorts the m candidates (scratch.values, indices in scratch.order, ascending) by value
 * descending, stably (equal values keep ascending index; −0 equals +0), `max` and `min`
 * being their largest and smallest value. Short lists by insertion. Longer ones in about one
 * pass: one bucket per candidate by (max − value), linear in the value, so the buckets come
 * in value order; a stable scatter; then insertion over the whole list, which only moves
 * values within their bucket. Rows with an infinite value, or a bucket of many values (ties,
 * bunched values), go to the radix passes, which keep the whole linear in the row.
 */
function rankCandidates(row: FilteredRow, m: number, max: number, min: number): void {
  if (m <= INSERTION_RANK) return insertionRank(m);
  if (max === min) return; // all equal: index order is the order
  if (!Number.isFinite(max - min)) return radixRank(row, m);
  const { values, order, nextValues, nextOrder, bucket, starts } = scratch;
  const scale = (m - 1) / (max - min);
  starts.fill(0, 0, m + 1);
  let largest = 0;
  for (let r = 0; r < m; r++) {
    // Monotone in the value: a larger value never lands in a later bucket.
    const b = Math.min(m - 1, ((max - values[r]!) * scale) | 0);
    bucket[r] = b;
    const size = ++starts[b + 1]!;
    if (size > largest) largest = size;
  }
  if (largest > INSERTION_BUCKET) return radixRank(row, m);
  for (let b = 0; b < m; b++) starts[b + 1]! += starts[b]!;
  for (let r = 0; r < m; r++) {
    const at = starts[bucket[r]!]!++;
    nextValues[at] = values[r]!;
    nextOrder[at] = order[r]!;
  }
  // Strictly larger values move ahead; equal ones keep their (ascending index) order.
  for (let r = 1; r < m; r++) {
    const v = nextValues[r]!;
    if (!(v > nextValues[r - 1]!)) continue;
    const id = nextOrder[r]!;
    let at = r;
    do {
      nextValues[at] = nextValues[at - 1]!;
      nextOrder[at] = nextOrder[at - 1]!;
      at--;
    } while (at > 0 && v > nextValues[at - 1]!);
    nextValues[at] = v;
    nextOrder[at] = id;
  }
  swapCandidates();
}

/** The scatter's lists become scratch.values/order. */
function swapCandidates(): void {
  [scratch.values, scratch.nextValues] = [scratch.nextValues, scratch.values];
  [scratch.order, scratch.nextOrder] = [scratch.nextOrder, scratch.order];
}

/**
 * Sorts the m candidates by value descending, equal values by ascending index (so the
 * candidates may come in any order), by insertion.
 */
function insertionRank(m: number): void {
  const { values, order } = scratch;
  for (let r = 1; r < m; r++) {
    const v = values[r]!;
    const id = order[r]!;
    let at = r;
    while (at > 0 && (v > values[at - 1]! || (v === values[at - 1] && id < order[at - 1]!))) {
      values[at] = values[at - 1]!;
      order[at] = order[at - 1]!;
      at--;
    }
    values[at] = v;
    order[at] = id;
  }
}

/**
 * The m candidates (indices ascending) ranked by a stable least-significant-digit radix sort
 * (11-bit digits) on a key whose ascending order is descending value (−0 counts as +0, as the
 * comparison does); a pass whose digit is the same for every key moves nothing and is skipped.
 * Then the values gathered from the row in that order.
 */
function radixRank(row: FilteredRow, m: number): void {
  const bits = row.bits;
  const base = row.at.x;
  let { keys, nextKeys, order, nextOrder } = scratch;
  const counts = scratch.counts;
  counts.fill(0);
  for (let r = 0; r < m; r++) {
    let b = bits[base + order[r]!]!;
    if (b === 0x80000000) b = 0;
    const k = (b & 0x80000000 ? b : ~b & 0x7fffffff) >>> 0;
    keys[r] = k;
    counts[k & (DIGITS - 1)]!++;
    counts[DIGITS + ((k >>> DIGIT_BITS) & (DIGITS - 1))]!++;
    counts[2 * DIGITS + (k >>> (2 * DIGIT_BITS))]!++;
  }
  for (let pass = 0; pass < 3; pass++) {
    const shift = pass * DIGIT_BITS;
    const from = pass * DIGITS;
    if (counts[from + ((keys[0]! >>> shift) & (DIGITS - 1))] === m) continue; // one digit for all: nothing moves
    let sum = 0;
    for (let d = from; d < from + DIGITS; d++) {
      const c = counts[d]!;
      counts[d] = sum;
      sum += c;
    }
    for (let r = 0; r < m; r++) {
      const k = keys[r]!;
      const at = counts[from + ((k >>> shift) & (DIGITS - 1))]!++;
      nextKeys[at] = k;
      nextOrder[at] = order[r]!;
    }
    [keys, nextKeys] = [nextKeys, keys];
    [order, nextOrder] = [nextOrder, order];
  }
  scratch.keys = keys;
  scratch.nextKeys = nextKeys;
  scratch.order = order;
  scratch.nextOrder = nextOrder;
  const { values } = scratch;
  const x = row.mem;
  for (let r = 0; r < m; r++) values[r] = x[base + order[r]!]!;
}

/**
 * The best k indices (k ≤ HEAP_WIDTH, k < n) and their values in TopK order into
 * scratch.values/order, by a min-heap of the best seen so far; returns k.
 */
function heapTop(row: FilteredRow, k: number): number {
  const x = row.mem;
  const base = row.at.x;
  const n = row.n;
  // heap[0] is the worst kept: the lowest value, on ties the highest index.
  const { heap, heapValue: value } = scratch;
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
  let worst = value[0]!;
  for (let i = k; i < n; i++) {
    const v = x[base + i]!;
    // A later index never beats an equal value: strictly larger only.
    if (!(v > worst)) continue;
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
    worst = value[0]!;
  }
  const { values, order } = scratch;
  for (let r = 0; r < k; r++) {
    order[r] = heap[r]!;
    values[r] = value[r]!;
  }
  insertionRank(k);
  return k;
}

/** exp(x − max) of the n4 values at `at` (a multiple of 4) into the e region; the four lanes' sum, reduced as XNNPACK does. */
export function expLanes(row: FilteredRow, at: number, n4: number, max: number): number {
  const e = row.at.e;
  if (row.kernel) return row.kernel.expsum(at * 4, e * 4, n4, max);
  const x = row.mem;
  const lane = [0, 0, 0, 0];
  for (let i = 0; i < n4; i++) {
    const v = expScalar(x[at + i]! - max);
    x[e + i] = v;
    lane[i & 3] = f32(lane[i & 3]! + v);
  }
  return f32(f32(lane[0]! + lane[2]!) + f32(lane[1]! + lane[3]!));
}

/** The number of the n non-decreasing values at `at` of `x` that are below `target` (binary search). */
export function firstAtLeast(x: Float32Array, at: number, n: number, target: number): number {
  let lo = 0;
  let hi = n;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (x[at + mid]! < target) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}
