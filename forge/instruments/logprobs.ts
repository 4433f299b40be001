/**
 * Token log-probabilities, computed beside the sampler from the same logits row.
 *
 * Two distributions matter for analysis, and both are reported:
 *  - the **model's**: softmax of the raw logits (temperature 1, no filter) — what the model
 *    believes, comparable across runs with different sampling settings;
 *  - the **sampling** one: what the token was actually drawn from — logits ÷ temperature,
 *    then top-k, then the nucleus (top-p), renormalised; −∞ for a token the filters removed,
 *    and for greedy 0 for the chosen (first largest) logit. Its sum along a trace is the
 *    log-likelihood of the trace under the run's own sampler (what importance weights need).
 * The top-k alternatives are under the model's distribution, best first (ties: lower id first,
 * like the sampler's top-k).
 *
 * The model's normaliser (max, Σexp) runs in the sampler's SIMD module, float32 lanes (relative
 * error ~1e-7: what keeps the instrument within a few per cent of a step); the filtered
 * distributions are summed in float64. The numbers are the distributions', not a replay of the
 * sampler's float32 cumulative sums.
 * Cost: two passes over the row (max, Σexp), a heap of `top` entries, and for top-p rows a sort
 * of only the tokens that can matter (see nucleusLogNorm).
 */
import type { ResolvedSampling } from "../sampler/options.js";
import { samplerKernel } from "../sampler/kernel.js";
import { InstrumentError } from "./errors.js";

/** The most alternatives per step a request may ask for (each costs 8 bytes per stream-step). */
export const MAX_TOP_LOGPROBS = 20;

export interface TokenLogprob {
  /** log p(token) under the model's distribution. */
  model: number;
  /** log p(token) under the distribution the sampler drew from (−Infinity when filtered out). */
  sampling: number;
  /** log Σ exp(logits) of the row: the model distribution's normaliser (for other instruments on the same row). */
  lse: number;
}

/** Scratch reused across rows: one per vocabulary size. */
export class LogprobScratch {
  readonly order: Int32Array;
  readonly heapIds: Int32Array;
  readonly heapValues: Float64Array;
  constructor(readonly vocab: number) {
    this.order = new Int32Array(vocab);
    this.heapIds = new Int32Array(MAX_TOP_LOGPROBS);
    this.heapValues = new Float64Array(MAX_TOP_LOGPROBS);
  }
}

/**
 * log Σ exp(row[i]) at temperature 1 through the sampler's SIMD module (max and Σexp four lanes
 * at a time, XNNPACK's float32 exp: relative error ~1e-7, far below what a logprob needs);
 * null where WebAssembly SIMD is missing. The module's memory is scratch between calls: the
 * sampler's row views are made per call, so growing it here detaches nothing in use.
 */
function logSumExpSimd(row: Float32Array, offset: number, vocab: number): { max: number; lse: number } | null {
  const k = samplerKernel();
  if (k === null) return null;
  const bytes = (vocab + 8) * 4;
  if (k.memory.buffer.byteLength < bytes) k.memory.grow(Math.ceil((bytes - k.memory.buffer.byteLength) / 65536));
  const mem = new Float32Array(k.memory.buffer, 0, vocab + 8);
  mem.set(row.subarray(offset, offset + vocab));
  const max = k.rowmax(0, vocab);
  const n4 = vocab & ~3;
  let sum = n4 > 0 ? k.expsum(0, 0, n4, max) : 0;
  for (let i = n4; i < vocab; i++) sum += Math.exp(row[offset + i]! - max);
  return { max, lse: max + Math.log(sum) };
}

/** log Σ exp(row[i] / t) over the whole row, with its max (for reuse). */
function logSumExp(row: Float32Array, offset: number, vocab: number, t: number): { max: number; lse: number } {
  if (t === 1) {
    const fast = logSumExpSimd(row, offset, vocab);
    if (fast !== null) return fast;
  }
  let max = -Infinity;
  for (let i = 0; i < vocab; i++) {
    const v = row[offset + i]!;
    if (v > max) max = v;
  }
  const m = max / t;
  let sum = 0;
  for (let i = 0; i < vocab; i++) sum += Math.exp(row[offset + i]! / t - m);
  return { max, lse: m + Math.log(sum) };
}

/**
 * The emitted token's log-probabilities in row `offset / vocab` of `logits`.
 * `topOut`, when given with `top` > 0, receives the best `top` ids and model logprobs.
 */
export function tokenLogprob(
  logits: Float32Array,
  offset: number,
  vocab: number,
  token: number,
  sampling: ResolvedSampling,
  scratch: LogprobScratch,
  top = 0,
  topIds?: Int32Array,
  topLogprobs?: Float32Array,
  topAt = 0,
): TokenLogprob {
  if (token < 0 || token >= vocab) throw new InstrumentError(`token ${token} is outside the vocabulary (0..${vocab - 1})`);
  const model = logSumExp(logits, offset, vocab, 1);
  const x = logits[offset + token]!;
  const modelLogprob = x - model.lse;
  if (top > 0) topAlternatives(logits, offset, vocab, model.lse, top, scratch, topIds!, topLogprobs!, topAt);
  let samplingLogprob: number;
  if (sampling.greedy) {
    // The sampler takes the first largest logit.
    samplingLogprob = logits.subarray(offset, offset + vocab).indexOf(model.max) === token ? 0 : -Infinity;
  } else if (sampling.topK === null && sampling.topP === null) {
    samplingLogprob = sampling.temperature === 1 ? modelLogprob : x / sampling.temperature - logSumExp(logits, offset, vocab, sampling.temperature).lse;
  } else {
    samplingLogprob = filteredLogprob(logits, offset, vocab, token, sampling, scratch, model.max);
  }
  return { model: modelLogprob, sampling: samplingLogprob, lse: model.lse };
}

/** The best `top` tokens by logit (ties: lower id first), written at topAt… in descending order. */
function topAlternatives(
  logits: Float32Array,
  offset: number,
  vocab: number,
  lse: number,
  top: number,
  scratch: LogprobScratch,
  ids: Int32Array,
  out: Float32Array,
  at: number,
): void {
  const k = Math.min(top, vocab);
  const hv = scratch.heapValues;
  const hi = scratch.heapIds;
  // A min-heap of the best k so far; the root is the worst kept (smallest value, then largest id).
  let size = 0;
  const worse = (a: number, b: number) => hv[a]! < hv[b]! || (hv[a] === hv[b] && hi[a]! > hi[b]!);
  const swap = (a: number, b: number) => {
    const v = hv[a]!, id = hi[a]!;
    hv[a] = hv[b]!; hi[a] = hi[b]!; hv[b] = v; hi[b] = id;
  };
  const down = (i: number) => {
    for (;;) {
      const l = 2 * i + 1, r = l + 1;
      let m = i;
      if (l < size && worse(l, m)) m = l;
      if (r < size && worse(r, m)) m = r;
      if (m === i) return;
      swap(i, m);
      i = m;
    }
  };
  for (let t = 0; t < vocab; t++) {
    const v = logits[offset + t]!;
    if (size < k) {
      hv[size] = v; hi[size] = t;
      let i = size++;
      while (i > 0) {
        const p = (i - 1) >> 1;
        if (!worse(i, p)) break;
        swap(i, p);
        i = p;
      }
    } else if (v > hv[0]!) {
      // Equal values keep the earlier (lower) id already in the heap.
      hv[0] = v; hi[0] = t;
      down(0);
    }
  }
  // Pop worst first into the tail: the output is best first.
  for (let j = size - 1; j >= 0; j--) {
    ids[at + j] = hi[0]!;
    out[at + j] = hv[0]! - lse;
    swap(0, size - 1);
    size--;
    down(0);
  }
  for (let j = k; j < top; j++) {
    ids[at + j] = -1;
    out[at + j] = Number.NaN;
  }
}

/**
 * log p(token) after temperature, top-k and top-p, renormalised over the kept tokens.
 * The nucleus keeps, in descending order, every token whose exclusive cumulative mass is
 * < p (the sampler's rule). Only tokens whose tempered probability is at least 1e-12 of the
 * largest are sorted; the rest can enter the nucleus only if the sorted ones' mass stays
 * below p, and then the whole row is sorted (exact either way).
 */
function filteredLogprob(logits: Float32Array, offset: number, vocab: number, token: number, s: ResolvedSampling, scratch: LogprobScratch, max: number): number {
  const t = s.temperature;
  const m = max / t;
  const cut = Math.log(1e-12);
  const order = scratch.order;
  const sortFrom = (all: boolean): number => {
    let n = 0;
    for (let i = 0; i < vocab; i++) if (all || logits[offset + i]! / t - m >= cut) order[n++] = i;
    const view = order.subarray(0, n);
    view.sort((a, b) => logits[offset + b]! - logits[offset + a]! || a - b);
    return n;
  };
  let n = sortFrom(false);
  let total = 0;
  for (let i = 0; i < vocab; i++) total += Math.exp(logits[offset + i]! / t - m);
  const keepK = s.topK === null ? vocab : Math.min(s.topK, vocab);
  // Mass of the top-k set, over the tempered distribution (top-p applies to it renormalised).
  const massOf = (count: number) => {
    let sum = 0;
    for (let j = 0; j < count; j++) sum += Math.exp(logits[offset + order[j]!]! / t - m);
    return sum;
  };
  if (n < keepK && s.topK !== null) n = sortFrom(true);
  let kept = Math.min(keepK, n);
  let keptMass = s.topK === null ? total : massOf(kept);
  if (s.topP !== null) {
    let before = 0;
    let j = 0;
    for (; j < kept; j++) {
      if (before / keptMass >= s.topP) break;
      before += Math.exp(logits[offset + order[j]!]! / t - m);
    }
    if (j === kept && kept < keepK) {
      // The sorted candidates did not reach p: the tail may enter; redo over the whole row.
      n = sortFrom(true);
      kept = Math.min(keepK, n);
      keptMass = s.topK === null ? total : massOf(kept);
      before = 0;
      for (j = 0; j < kept; j++) {
        if (before / keptMass >= s.topP) break;
        before += Math.exp(logits[offset + order[j]!]! / t - m);
      }
    }
    kept = j;
    keptMass = before;
  }
  for (let j = 0; j < kept; j++) {
    if (order[j] === token) return logits[offset + token]! / t - m - Math.log(keptMass);
  }
  return -Infinity;
}
