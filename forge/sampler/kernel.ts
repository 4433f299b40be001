/**
 * The host sampler's inner loops as a small WebAssembly SIMD module, assembled here from
 * opcodes (no toolchain): the float32 softmax of the tfjs wasm backend, instruction for
 * instruction, so that sampling on typed arrays draws the tokens the tensor sampler draws.
 *
 * The tfjs wasm backend (4.22) computes softmax with XNNPACK (commit 5e8033a, Jan 2022):
 * xnn_f32_rmax (max), xnn_f32_raddstoreexpminusmax_ukernel__wasmsimd_rr2_p5_x16_acc2
 * (exp(x − max) by a degree-5 polynomial after a Cody–Waite reduction, summed in four
 * lanes: lane l adds elements l, l+4, l+8, … in order; the lanes are reduced as
 * (l0 + l2) + (l1 + l3); the last n mod 4 elements are added to that sum one by one) and
 * xnn_f32_vmulc (times 1 / sum). `expsum` below is that ukernel's arithmetic on four lanes;
 * `cumscale` is the backend's Cumsum loop fused with the vmulc scaling. Every operation is
 * a rounded IEEE float32 operation, so the results are bit-identical (test/forge/sampler
 * checks them against tf.softmax and tf.cumsum).
 *
 * The same arithmetic in plain JavaScript (`expScalar`, Math.fround after each operation;
 * float64 then float32 rounding equals float32 rounding for +, −, ×, ÷) handles the few
 * tail elements and serves as the test's reference; it is ≈ 20× slower than the module.
 */

import { addr, assemble, F32, forLoop, I32, op, V128, v, type WasmFunction } from "./wasm-assembler.js";

const f32 = Math.fround;

/** XNNPACK's wasmsimd_rr2_p5 constants (params-init.c), as float32. */
export const EXP = {
  log2e: f32(1.4426950216293335), // 0x1.715476p+0
  magicBias: f32(12583039), // 0x1.8000FEp23
  minusLn2Hi: f32(-0.693145751953125), // -0x1.62E400p-1
  minusLn2Lo: f32(-1.428606765330187e-6), // -0x1.7F7D1Cp-20
  c5: f32(0.008289290592074394), // 0x1.0F9F9Cp-7
  c4: f32(0.04189782217144966), // 0x1.573A1Ap-5
  c3: f32(0.16667652130126953), // 0x1.555A80p-3
  c2: f32(0.4999915063381195), // 0x1.FFFDC6p-2
  c1: f32(0.9999997019767761), // 0x1.FFFFF6p-1
  denormCutoff: f32(-87.33654022216797), // -0x1.5D589Ep6
} as const;

const POW2 = Float64Array.from({ length: 128 }, (_, i) => 2 ** -i);

/** XNNPACK's exp(x) for one float32 x ≤ 0 (x = value − max), rounded as the SIMD lanes round. */
export function expScalar(x: number): number {
  const vx = f32(x);
  if (vx < EXP.denormCutoff) return 0;
  const vn = f32(EXP.magicBias + f32(vx * EXP.log2e));
  const k = vn - EXP.magicBias; // an integer in [-126, 0]: the lanes' `vs = vn << 23` is 2^k
  const s = POW2[-k]!;
  let vt = f32(vx + f32(k * EXP.minusLn2Hi));
  vt = f32(vt + f32(k * EXP.minusLn2Lo));
  let vp = f32(EXP.c4 + f32(EXP.c5 * vt));
  vp = f32(EXP.c3 + f32(vp * vt));
  vp = f32(EXP.c2 + f32(vp * vt));
  vp = f32(EXP.c1 + f32(vp * vt));
  vt = f32(vt * s);
  return f32(s + f32(vt * vp));
}

export interface SamplerKernel {
  memory: WebAssembly.Memory;
  /** Largest of n float32 at byte address `ptr` (n ≥ 1; NaN-free: lanes use pmax, as XNNPACK's rmax does). */
  rowmax(ptr: number, n: number): number;
  /** rowmax that also stores the row's smallest value (float32) at byte address `out`. */
  rowrange(ptr: number, n: number, out: number): number;
  /** Index of the first largest of n float32 (tfjs ArgMax: strict >). */
  argmax(ptr: number, n: number): number;
  /** dst[i] = src[i] / t for the first n4 (a multiple of 4) float32 (dst = src: in place). */
  divide(src: number, dst: number, n4: number, t: number): void;
  /**
   * divide, also finding the quotients' range as rowrange would on dst: returns their largest,
   * stores their smallest at byte address `out` (−∞ and +∞ when n4 = 0). One pass instead of two.
   */
  dividerange(src: number, dst: number, n4: number, t: number, out: number): number;
  /** dst[i] = exp(src[i] − max) for the first n4 (a multiple of 4); returns the lanes' reduced sum. */
  expsum(src: number, dst: number, n4: number, max: number): number;
  /** expsum for rows whose every x − max is at least EXP.denormCutoff (same results there, faster). */
  expsumNear(src: number, dst: number, n4: number, max: number): number;
  /** dst[i] = Σ_{j ≤ i} (src[j] · scale) in order, float32 (n ≥ 1); returns dst[n − 1]. */
  cumscale(src: number, dst: number, n: number, scale: number): number;
  /**
   * cumscale's chains for eight rows at once (row r at src + r·stride bytes, scales s0..s7)
   * over their first n4 (a multiple of 4) elements, storing the sum through every 64th
   * element only: row r's checkpoint k at byte dst + (r >> 2)·dstStride + 16k + 4(r & 3).
   * See cumscaleGroupsFn.
   */
  cumscale8(
    src: number, stride: number, dst: number, dstStride: number, n4: number,
    s0: number, s1: number, s2: number, s3: number, s4: number, s5: number, s6: number, s7: number,
  ): void;
  /**
   * rowrange over the allowed columns of the first n4 (a multiple of 4) float32 at `ptr`: the
   * largest allowed value, the smallest stored at `out` (−∞ and +∞ when none is allowed).
   * `bits`: byte address of the bitset (bit i of word i >> 5 set: column i allowed); `lut`:
   * byte address of LANE_MASKS (writeLaneMasks). See the masked passes' comment below.
   */
  rowrangeMasked(ptr: number, n4: number, bits: number, lut: number, out: number): number;
  /** expsum with 0 stored and added where the bitset's bit is clear (rowrangeMasked's `bits`, `lut`). */
  expsumMasked(src: number, dst: number, n4: number, max: number, bits: number, lut: number): number;
  /** expsumNear's arithmetic, masked as expsumMasked: valid when every *allowed* x − max is at least EXP.denormCutoff. */
  expsumNearMasked(src: number, dst: number, n4: number, max: number, bits: number, lut: number): number;
  /** dst[i] = src[i] where the bit is set, −∞ where it is clear, for the first n4 (a multiple of 4); dst = src: in place. */
  maskselect(src: number, dst: number, n4: number, bits: number, lut: number): void;
  /**
   * The first group of four (its first element's index) among the first n4 float32 at `ptr`
   * holding an allowed column equal to `value` (−0 = +0), or n4: with rowrangeMasked's
   * maximum, a masked argmax (the caller finds the column inside the group).
   */
  findMasked(ptr: number, n4: number, bits: number, lut: number, value: number): number;
}

/** Bytes of the 16 lane masks the masked passes look up by a bitset's nibble (writeLaneMasks). */
export const LANE_MASK_BYTES = 256;

/** Writes the 16 lane masks into `words` from element `at` (a multiple of 4): mask m has lane j all ones when bit j of m is set. */
export function writeLaneMasks(words: Uint32Array, at: number): void {
  for (let m = 0; m < 16; m++) for (let j = 0; j < 4; j++) words[at + 4 * m + j] = (m >> j) & 1 ? 0xffffffff : 0;
}

/** The chains expsumFn interleaves (four groups of four elements). */
const CHAINS = 4;

/**
 * `cutoff`: whether lanes below XNNPACK's denormal cutoff are zeroed. Without it (expsumNear)
 * the arithmetic is the same for every x − max ≥ the cutoff, two instructions fewer per four
 * elements; the caller checks the row's range first (rowrange). `masked`: the masked form
 * (params bits, lut; see the masked passes below): the lane mask ANDed into each result.
 */
function expsumFn(cutoff: boolean, masked = false): WasmFunction {
  // params: 0 src, 1 dst, 2 n4, 3 max, [4 bits, 5 lut]; locals: i, vmax, vacc, n32, word,
  // then per chain vx, vn, vs, vt, vp, vf, vmask, then the constants
  const [src, dst, n4, max, bits, lut] = [0, 1, 2, 3, 4, 5];
  const p = masked ? 6 : 4;
  const [i, vmax, vacc, nBlock, word] = [p, p + 1, p + 2, p + 3, p + 4];
  const chainLocals = 7;
  const local = (chain: number, j: number) => p + 5 + chainLocals * chain + j;
  const block = 32;
  // The polynomial's constants, splat once into locals (not rebuilt per iteration).
  const constants = [EXP.magicBias, EXP.log2e, EXP.minusLn2Hi, EXP.minusLn2Lo, EXP.c5, EXP.c4, EXP.c3, EXP.c2, EXP.c1, EXP.denormCutoff];
  const first = p + 5 + chainLocals * CHAINS;
  const k = (c: number) => op.get(first + constants.indexOf(c));
  /**
   * The steps of four elements at byte offset `at` from element i, in chain `chain`'s locals
   * (`mask`: the instructions leaving its lane mask on the stack). Each step is one rounded
   * operation or two (XNNPACK's order), ending in a local.set.
   */
  const steps = (chain: number, at: number, mask: number[] | null): number[][] => {
    const [vx, vn, vs, vt, vp, vf, vmask] = Array.from({ length: chainLocals }, (_, j) => local(chain, j)) as [number, number, number, number, number, number, number];
    const poly = (c: number) => [...k(c), ...op.get(vp), ...op.get(vt), ...v.mul, ...v.add, ...op.set(vp)];
    return [
      ...(mask ? [[...mask, ...op.set(vmask)]] : []),
      [...addr(src, i), ...v.loadAt(at), ...op.get(vmax), ...v.sub, ...op.set(vx)],
      [...k(EXP.magicBias), ...op.get(vx), ...k(EXP.log2e), ...v.mul, ...v.add, ...op.set(vn)],
      [...op.get(vn), ...op.i32(23), ...v.shl, ...op.set(vs)],
      [...op.get(vn), ...k(EXP.magicBias), ...v.sub, ...op.set(vn)],
      [...op.get(vx), ...op.get(vn), ...k(EXP.minusLn2Hi), ...v.mul, ...v.add, ...op.set(vt)],
      [...op.get(vt), ...op.get(vn), ...k(EXP.minusLn2Lo), ...v.mul, ...v.add, ...op.set(vt)],
      [...k(EXP.c4), ...k(EXP.c5), ...op.get(vt), ...v.mul, ...v.add, ...op.set(vp)],
      poly(EXP.c3), poly(EXP.c2), poly(EXP.c1),
      [...op.get(vt), ...op.get(vs), ...v.mul, ...op.set(vt)],
      [...op.get(vs), ...op.get(vt), ...op.get(vp), ...v.mul, ...v.add, ...op.set(vf)],
      ...(cutoff ? [[...op.get(vf), ...op.get(vx), ...k(EXP.denormCutoff), ...v.lt, ...v.andnot, ...op.set(vf)]] : []),
      ...(mask ? [[...op.get(vf), ...op.get(vmask), ...v.and, ...op.set(vf)]] : []),
      [...addr(dst, i), ...op.get(vf), ...v.storeAt(at)],
    ];
  };
  /**
   * Four groups of four elements side by side: their independent steps interleaved (step s of
   * every chain, then step s + 1), so the core overlaps the chains instead of waiting on each
   * one's dependent operations; then the accumulator takes their results in element order, so
   * the sums are the ones of one group at a time. `masks[c]`: chain c's lane mask, or null.
   */
  const interleaved = (at: number, masks: (number[] | null)[]) => {
    const chains = masks.map((mask, c) => steps(c, at + 16 * c, mask));
    return [
      ...chains[0]!.flatMap((_, s) => chains.flatMap((chain) => chain[s]!)),
      ...chains.flatMap((_, c) => [...op.get(vacc), ...op.get(local(c, 5)), ...v.add, ...op.set(vacc)]),
    ];
  };
  const unmasked = [null, null, null, null];
  const mainLoop = masked
    ? [
        ...wordAt(bits, i), ...op.set(word),
        ...interleaved(0, [0, 1, 2, 3].map((j) => wordMask(word, lut, j))),
        ...interleaved(64, [4, 5, 6, 7].map((j) => wordMask(word, lut, j))),
      ]
    : [...interleaved(0, unmasked), ...interleaved(64, unmasked)];
  const tail = [...steps(0, 0, masked ? nibbleMask(bits, lut, i) : null).flat(), ...op.get(vacc), ...op.get(local(0, 5)), ...v.add, ...op.set(vacc)];
  return {
    name: `${cutoff ? "expsum" : "expsumNear"}${masked ? "Masked" : ""}`,
    params: masked ? [I32, I32, I32, F32, I32, I32] : [I32, I32, I32, F32],
    results: [F32],
    locals: [I32, V128, V128, I32, I32, ...Array.from({ length: chainLocals * CHAINS }, () => V128), ...constants.map(() => V128)],
    body: [
      ...op.get(max), ...v.f32x4Splat, ...op.set(vmax),
      ...constants.flatMap((c, j) => [...v.splat(c), ...op.set(first + j)]),
      ...op.get(n4), ...op.i32(-block), ...op.i32And, ...op.set(nBlock),
      // 32 elements per iteration (fewer loop and address instructions; masked: one word of the
      // bitset), two rounds of the four interleaved chains, then 4 at a time.
      ...forLoop(i, op.i32(0), nBlock, block, mainLoop),
      ...forLoop(i, op.get(i), n4, 4, tail),
      ...op.get(vacc), ...op.get(vacc), ...op.get(vacc), ...v.shuffle2323, ...v.add, ...op.set(vacc),
      ...op.get(vacc), ...v.extract(0), ...op.get(vacc), ...v.extract(1), ...op.f32Add,
    ],
  };
}

function cumscaleFn(): WasmFunction {
  // params: 0 src, 1 dst, 2 n, 3 scale; locals: 4 i, 5 c
  const [src, dst, n, scale, i, c] = [0, 1, 2, 3, 4, 5];
  return {
    name: "cumscale",
    params: [I32, I32, I32, F32],
    results: [F32],
    locals: [I32, F32],
    body: [
      ...op.get(src), ...op.f32Load, ...op.get(scale), ...op.f32Mul, ...op.set(c),
      ...op.get(dst), ...op.get(c), ...op.f32Store,
      ...forLoop(i, op.i32(1), n, 1, [
        ...addr(src, i), ...op.f32Load, ...op.get(scale), ...op.f32Mul, ...op.get(c), ...op.f32Add, ...op.set(c),
        ...addr(dst, i), ...op.get(c), ...op.f32Store,
      ]),
      ...op.get(c),
    ],
  };
}

/**
 * cumscale's chain for 4·groups rows at once (row r at src + r·stride bytes, scale r in
 * params 5…) over their first n4 (a multiple of 4) elements, keeping only every 64th sum
 * (a checkpoint: the sum through element 64k + 63 of the group's rows r = 0..3 at dst +
 * g·dstStride + 16k + 4r bytes); the caller redoes the ≤ 64 float32 steps after the
 * checkpoint it needs, the same operations in the same order. Storing every sum wrote 32 KB
 * per row of 8 192 that the search then read once. Each group's four chains run in the lanes
 * of one vector (a 4 × 4 transpose per step), so the adds no longer wait on each other; the
 * groups' chains are independent too, so the core overlaps them.
 */
function cumscaleGroupsFn(groups: number): WasmFunction {
  // params: 0 src, 1 stride, 2 dst, 3 dstStride, 4 n4, 5.. scales; locals: i, a0..a3, t0..t3, (vscale, c) per group
  const [src, stride, dst, dstStride, n4] = [0, 1, 2, 3, 4];
  const p = 5 + 4 * groups;
  const i = p;
  const a = [p + 1, p + 2, p + 3, p + 4];
  const t = [p + 5, p + 6, p + 7, p + 8];
  const vscale = (g: number) => p + 9 + 2 * g;
  const c = (g: number) => p + 10 + 2 * g;
  const loadRow = (g: number, r: number) => [
    ...op.get(src), ...op.get(stride), ...op.i32(4 * g + r), ...op.i32Mul, ...op.i32Add, ...op.get(i), ...op.i32(2), ...op.i32Shl, ...op.i32Add,
    ...v.load, ...op.set(a[r]!),
  ];
  const shuffle = (x: number, y: number, lanes: [number, number, number, number], out: number) => [...op.get(x), ...op.get(y), ...v.lanes(...lanes), ...op.set(out)];
  // Column j (element i + j of the group's four rows) → c += column · scale; dst[4(i + j) + r] = c.
  const column = (g: number, x: number, y: number, lanes: [number, number, number, number]) => [
    ...op.get(x), ...op.get(y), ...v.lanes(...lanes), ...op.get(vscale(g)), ...v.mul, ...op.get(c(g)), ...v.add, ...op.set(c(g)),
  ];
  // After the last column of each 64: dst + g·dstStride + 16·(i >> 6) = the four chains' sums.
  const checkpoint = (g: number) => [
    ...op.get(i), ...op.i32(2), ...op.i32ShrU, ...op.i32(15), ...op.i32And, ...op.i32(15), ...op.i32Eq, ...op.if,
    ...op.get(dst), ...op.get(dstStride), ...op.i32(g), ...op.i32Mul, ...op.i32Add,
    ...op.get(i), ...op.i32(6), ...op.i32ShrU, ...op.i32(4), ...op.i32Shl /* ×16 bytes */, ...op.i32Add,
    ...op.get(c(g)), ...v.store,
    ...op.end,
  ];
  const group = (g: number) => [
    ...loadRow(g, 0), ...loadRow(g, 1), ...loadRow(g, 2), ...loadRow(g, 3),
    ...shuffle(a[0]!, a[1]!, [0, 4, 1, 5], t[0]!), // r0[0] r1[0] r0[1] r1[1]
    ...shuffle(a[2]!, a[3]!, [0, 4, 1, 5], t[1]!), // r2[0] r3[0] r2[1] r3[1]
    ...shuffle(a[0]!, a[1]!, [2, 6, 3, 7], t[2]!), // r0[2] r1[2] r0[3] r1[3]
    ...shuffle(a[2]!, a[3]!, [2, 6, 3, 7], t[3]!),
    ...column(g, t[0]!, t[1]!, [0, 1, 4, 5]),
    ...column(g, t[0]!, t[1]!, [2, 3, 6, 7]),
    ...column(g, t[2]!, t[3]!, [0, 1, 4, 5]),
    ...column(g, t[2]!, t[3]!, [2, 3, 6, 7]),
    ...checkpoint(g),
  ];
  const groupIds = Array.from({ length: groups }, (_, g) => g);
  return {
    name: `cumscale${4 * groups}`,
    params: [I32, I32, I32, I32, I32, ...groupIds.flatMap(() => [F32, F32, F32, F32])],
    results: [],
    locals: [I32, ...Array.from({ length: 8 + 2 * groups }, () => V128)],
    body: [
      ...groupIds.flatMap((g) => [
        ...op.get(5 + 4 * g), ...v.f32x4Splat,
        ...[1, 2, 3].flatMap((l) => [...op.get(5 + 4 * g + l), ...v.replaceLane(l)]), ...op.set(vscale(g)),
      ]),
      ...forLoop(i, op.i32(0), n4, 4, groupIds.flatMap(group)),
    ],
  };
}

/**
 * Four vector accumulators (locals `acc`) folded into one scalar local `into`: the vectors
 * pairwise by `combine` (pmax / pmin), then the four lanes by `scalar` (f32.max / f32.min).
 * For max and min the order does not change the result (NaN-free rows).
 */
const reduceLanes = (acc: number[], combine: number[], scalar: number[], into: number) => [
  ...op.get(acc[0]!), ...op.get(acc[1]!), ...combine, ...op.get(acc[2]!), ...op.get(acc[3]!), ...combine, ...combine, ...op.set(acc[0]!),
  ...op.get(acc[0]!), ...v.extract(0), ...op.get(acc[0]!), ...v.extract(1), ...scalar,
  ...op.get(acc[0]!), ...v.extract(2), ...op.get(acc[0]!), ...v.extract(3), ...scalar, ...scalar, ...op.set(into),
];

/**
 * rowmax, or with `min` rowrange (which also stores the row's smallest value at byte address
 * `out`). Four running maxima (and minima) take the 16-element iterations, so the pmax steps
 * do not wait on each other; the maximum of the four is the row's maximum whatever the order
 * (for NaN-free rows; on a row whose largest value is zero it may come out as −0 instead of
 * +0, which changes no x − max, exp or sum below).
 */
function rowmaxFn(min: boolean): WasmFunction {
  // params: 0 ptr, 1 n, [2 out]; locals: i, n4, n16, m, lo, vmax0..3, vmin0..3
  const p = min ? 3 : 2;
  const [ptr, n, out] = [0, 1, 2];
  const [i, n4, n16, m, lo] = [p, p + 1, p + 2, p + 3, p + 4];
  const vmax = [p + 5, p + 6, p + 7, p + 8];
  const vmin = [p + 9, p + 10, p + 11, p + 12];
  const step = (at: number, acc: number) => [
    ...addr(ptr, i), ...v.loadAt(at), ...(min ? [...op.tee(vmin[3]! + 1)] : []), ...op.get(vmax[acc]!), ...v.pmax, ...op.set(vmax[acc]!),
    ...(min ? [...op.get(vmin[acc]!), ...op.get(vmin[3]! + 1), ...v.pmin, ...op.set(vmin[acc]!)] : []),
  ];
  return {
    name: min ? "rowrange" : "rowmax",
    params: min ? [I32, I32, I32] : [I32, I32],
    results: [F32],
    locals: [I32, I32, I32, F32, F32, V128, V128, V128, V128, V128, V128, V128, V128, V128],
    body: [
      ...op.get(n), ...op.i32(-4), ...op.i32And, ...op.set(n4),
      ...op.get(n), ...op.i32(-16), ...op.i32And, ...op.set(n16),
      ...op.get(ptr), ...op.f32Load, ...v.f32x4Splat, ...op.set(vmax[0]!),
      ...[1, 2, 3].flatMap((j) => [...op.get(vmax[0]!), ...op.set(vmax[j]!)]),
      ...[0, 1, 2, 3].flatMap((j) => [...op.get(vmax[0]!), ...op.set(vmin[j]!)]),
      ...forLoop(i, op.i32(0), n16, 16, [...step(0, 0), ...step(16, 1), ...step(32, 2), ...step(48, 3)]),
      ...forLoop(i, op.get(i), n4, 4, step(0, 0)),
      ...reduceLanes(vmax, v.pmax, op.f32Max, m),
      ...(min ? reduceLanes(vmin, v.pmin, op.f32Min, lo) : []),
      ...forLoop(i, op.get(n4), n, 1, [
        ...op.get(m), ...addr(ptr, i), ...op.f32Load, ...op.f32Max, ...op.set(m),
        ...(min ? [...op.get(lo), ...addr(ptr, i), ...op.f32Load, ...op.f32Min, ...op.set(lo)] : []),
      ]),
      ...(min ? [...op.get(out), ...op.get(lo), ...op.f32Store] : []),
      ...op.get(m),
    ],
  };
}

/**
 * argmax as rowmax, then the first element equal to the maximum (four at a time): the first
 * largest, as tfjs ArgMax's strict > finds it (−0 and +0 compare equal there and here).
 */
function argmaxFn(rowmaxIndex: number): WasmFunction {
  // params: 0 ptr, 1 n; locals: 2 i, 3 m, 4 vm, 5 n4
  const [ptr, n, i, m, vm, n4] = [0, 1, 2, 3, 4, 5];
  return {
    name: "argmax",
    params: [I32, I32],
    results: [I32],
    locals: [I32, F32, V128, I32],
    body: [
      ...op.get(ptr), ...op.get(n), ...op.call(rowmaxIndex), ...op.set(m),
      ...op.get(m), ...v.f32x4Splat, ...op.set(vm),
      ...op.get(n), ...op.i32(-4), ...op.i32And, ...op.set(n4),
      // The first group of four holding the maximum…
      ...op.i32(0), ...op.set(i),
      ...op.block, ...op.loop,
      ...op.get(i), ...op.get(n4), ...op.i32GeU, ...op.brIf(1),
      ...addr(ptr, i), ...v.load, ...op.get(vm), ...v.eq, ...v.anyTrue, ...op.brIf(1),
      ...op.get(i), ...op.i32(4), ...op.i32Add, ...op.set(i),
      ...op.br(0),
      ...op.end, ...op.end,
      // …then the first element in it (or in the tail) equal to the maximum.
      ...op.block, ...op.loop,
      ...op.get(i), ...op.get(n), ...op.i32GeU, ...op.brIf(1),
      ...addr(ptr, i), ...op.f32Load, ...op.get(m), ...op.f32Eq, ...op.brIf(1),
      ...op.get(i), ...op.i32(1), ...op.i32Add, ...op.set(i),
      ...op.br(0),
      ...op.end, ...op.end,
      ...op.get(i), ...op.get(n), ...op.i32GeU, ...op.if, ...op.i32(0), ...op.set(i), ...op.end, // unreachable for NaN-free rows
      ...op.get(i),
    ],
  };
}

function divideFn(): WasmFunction {
  // params: 0 src, 1 dst, 2 n4, 3 t; locals: 4 i, 5 vt
  const [src, dst, n4, t, i, vt] = [0, 1, 2, 3, 4, 5];
  return {
    name: "divide",
    params: [I32, I32, I32, F32],
    results: [],
    locals: [I32, V128],
    body: [
      ...op.get(t), ...v.f32x4Splat, ...op.set(vt),
      ...forLoop(i, op.i32(0), n4, 4, [...addr(dst, i), ...addr(src, i), ...v.load, ...op.get(vt), ...v.div, ...v.store]),
    ],
  };
}

/**
 * divide and rowrange in one pass (temperature ≠ 1): each quotient, once stored, goes to four
 * running maxima and minima as in rowmaxFn (16 elements per iteration, then 4). The same
 * quotients; the same maximum up to the sign of a zero one and the same minimum (NaN-free rows).
 */
function dividerangeFn(): WasmFunction {
  // params: 0 src, 1 dst, 2 n4, 3 t, 4 out; locals: 5 i, 6 n16, 7 m, 8 lo, 9 vt, 10 vq, 11..14 vmax, 15..18 vmin
  const [src, dst, n4, t, out, i, n16, m, lo, vt, vq] = [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10];
  const vmax = [11, 12, 13, 14];
  const vmin = [15, 16, 17, 18];
  const step = (at: number, acc: number) => [
    ...addr(dst, i), ...addr(src, i), ...v.loadAt(at), ...op.get(vt), ...v.div, ...op.tee(vq), ...v.storeAt(at),
    ...op.get(vmax[acc]!), ...op.get(vq), ...v.pmax, ...op.set(vmax[acc]!),
    ...op.get(vmin[acc]!), ...op.get(vq), ...v.pmin, ...op.set(vmin[acc]!),
  ];
  return {
    name: "dividerange",
    params: [I32, I32, I32, F32, I32],
    results: [F32],
    locals: [I32, I32, F32, F32, ...Array.from({ length: 10 }, () => V128)],
    body: [
      ...op.get(t), ...v.f32x4Splat, ...op.set(vt),
      ...op.get(n4), ...op.i32(-16), ...op.i32And, ...op.set(n16),
      ...[0, 1, 2, 3].flatMap((j) => [...v.splat(-Infinity), ...op.set(vmax[j]!), ...v.splat(Infinity), ...op.set(vmin[j]!)]),
      ...forLoop(i, op.i32(0), n16, 16, [...step(0, 0), ...step(16, 1), ...step(32, 2), ...step(48, 3)]),
      ...forLoop(i, op.get(i), n4, 4, step(0, 0)),
      ...reduceLanes(vmax, v.pmax, op.f32Max, m),
      ...reduceLanes(vmin, v.pmin, op.f32Min, lo),
      ...op.get(out), ...op.get(lo), ...op.f32Store,
      ...op.get(m),
    ],
  };
}

/*
 * Masked passes: the plain passes with a constraint's bitset applied as they read the row, so a
 * constrained row is sampled where it lies instead of from a masked copy (forge/ttfa/mask.ts).
 * The lane mask for elements i..i+3 is LANE_MASKS[nibble], the nibble being bits i..i+3 of
 * the bitset (word i >> 5, shifted by i & 31): one scalar load per 32 elements, one v128 load
 * per 4 (as forge/ttfa/mask-kernel.ts's maskcopy selects).
 *
 * Why the draws are those of the sampler on the fully masked row (the tensor path's row with
 * −∞ where the bit is clear), bit for bit:
 * - rowrangeMasked's maximum is the largest allowed value, as rowrange's on the masked row is
 *   (a −∞ never wins; pmax takes a set's largest value in any order, up to the sign of a zero
 *   maximum, which changes no x − max: see rowmaxFn). Its minimum is the allowed minimum, not
 *   the masked row's −∞: it only chooses between the two expsum loops below.
 * - On the masked row, x − max = −∞ falls below XNNPACK's denormal cutoff and its exp is
 *   stored and summed as +0; expsumMasked ANDs the lane mask into the result, so masked lanes
 *   are +0 too (whatever the polynomial made of the real value there), allowed lanes are
 *   computed as before, acc + 0 = acc, and the sum, 1 / sum, the stored exp values (zeros
 *   where masked), cumscale8's sums, the checkpoints and the search are the same operations
 *   on the same values. expsumNearMasked (no cutoff test) is valid when the *allowed*
 *   minimum − max is at least the cutoff: then no allowed lane is zeroed by the cutoff, and
 *   the masked ones are zeroed by the mask.
 * NaN-free rows, as everywhere here.
 */

/** The lane mask for the four elements from element `i` (a local) on: `lut` + 16 × nibble, loaded (`inverted`: of the word's complement). */
const nibbleMask = (bits: number, lut: number, i: number, inverted = false) => [
  ...op.get(lut),
  ...op.get(bits), ...op.get(i), ...op.i32(5), ...op.i32ShrU, ...op.i32(2), ...op.i32Shl, ...op.i32Add, ...op.i32Load,
  ...(inverted ? [...op.i32(-1), ...op.i32Xor] : []),
  ...op.get(i), ...op.i32(31), ...op.i32And, ...op.i32ShrU, ...op.i32(15), ...op.i32And, ...op.i32(4), ...op.i32Shl,
  ...op.i32Add, ...v.load,
];
/** The lane mask of nibble j (0..7) of the word in local `word` (lut: the byte address of writeLaneMasks's masks). */
export const wordMask = (word: number, lut: number, j: number) => [
  ...op.get(lut),
  ...op.get(word), ...(j === 0 ? [...op.i32(4), ...op.i32Shl] : [...op.i32(4 * j - 4), ...op.i32ShrU]), ...op.i32(0xf0), ...op.i32And,
  ...op.i32Add, ...v.load,
];
/** The bitset's word for elements i..i+31 (i a multiple of 32). */
const wordAt = (bits: number, i: number) => [...op.get(bits), ...op.get(i), ...op.i32(3), ...op.i32ShrU, ...op.i32Add, ...op.i32Load];

/**
 * rowrangeMasked's select costs one OR per four elements: the lanes of a masked column are
 * made NaN (x | all ones) and pmax/pmin keep their accumulator against a NaN second operand
 * (pmax(a, b) = a < b ? b : a), so a masked column counts as if it were −∞ for the maximum
 * and +∞ for the minimum. The lane mask is the one of the *inverted* nibble (set where the
 * column is masked). Operands in the accumulator-first order pick the other zero on a tie of
 * −0 and +0, which changes no x − max (see rowmaxFn).
 */
function rowrangeMaskedFn(): WasmFunction {
  // params: 0 ptr, 1 n4, 2 bits, 3 lut, 4 out; locals: 5 i, 6 n32, 7 word, 8 m, 9 lo, 10..13 vmax, 14..17 vmin, 18 vx
  const [ptr, n4, bits, lut, out, i, n32, word, m, lo] = [0, 1, 2, 3, 4, 5, 6, 7, 8, 9];
  const vmax = [10, 11, 12, 13];
  const vmin = [14, 15, 16, 17];
  const vx = 18;
  const step = (at: number, acc: number, maskedLanes: number[]) => [
    ...addr(ptr, i), ...v.loadAt(at), ...maskedLanes, ...v.or, ...op.set(vx),
    ...op.get(vmax[acc]!), ...op.get(vx), ...v.pmax, ...op.set(vmax[acc]!),
    ...op.get(vmin[acc]!), ...op.get(vx), ...v.pmin, ...op.set(vmin[acc]!),
  ];
  return {
    name: "rowrangeMasked",
    params: [I32, I32, I32, I32, I32],
    results: [F32],
    locals: [I32, I32, I32, F32, F32, ...Array.from({ length: 9 }, () => V128)],
    body: [
      ...op.get(n4), ...op.i32(-32), ...op.i32And, ...op.set(n32),
      ...[0, 1, 2, 3].flatMap((j) => [...v.splat(-Infinity), ...op.set(vmax[j]!), ...v.splat(Infinity), ...op.set(vmin[j]!)]),
      // 32 elements (one word of the bitset, inverted) per iteration, then 4 at a time.
      ...forLoop(i, op.i32(0), n32, 32, [
        ...wordAt(bits, i), ...op.i32(-1), ...op.i32Xor, ...op.set(word),
        ...[0, 1, 2, 3, 4, 5, 6, 7].flatMap((j) => step(16 * j, j & 3, wordMask(word, lut, j))),
      ]),
      ...forLoop(i, op.get(i), n4, 4, step(0, 0, nibbleMask(bits, lut, i, true))),
      // The lanes' extremes (a lane that saw only masked columns holds ∓∞, never NaN).
      ...reduceLanes(vmax, v.pmax, op.f32Max, m),
      ...reduceLanes(vmin, v.pmin, op.f32Min, lo),
      ...op.get(out), ...op.get(lo), ...op.f32Store,
      ...op.get(m),
    ],
  };
}

function findMaskedFn(): WasmFunction {
  // params: 0 ptr, 1 n4, 2 bits, 3 lut, 4 value; locals: 5 i, 6 vvalue
  const [ptr, n4, bits, lut, value, i, vvalue] = [0, 1, 2, 3, 4, 5, 6];
  return {
    name: "findMasked",
    params: [I32, I32, I32, I32, F32],
    results: [I32],
    locals: [I32, V128],
    body: [
      ...op.get(value), ...v.f32x4Splat, ...op.set(vvalue),
      ...op.i32(0), ...op.set(i),
      ...op.block, ...op.loop,
      ...op.get(i), ...op.get(n4), ...op.i32GeU, ...op.brIf(1),
      // A masked column made NaN (as in rowrangeMasked) equals nothing.
      ...addr(ptr, i), ...v.load, ...nibbleMask(bits, lut, i, true), ...v.or, ...op.get(vvalue), ...v.eq, ...v.anyTrue, ...op.brIf(1),
      ...op.get(i), ...op.i32(4), ...op.i32Add, ...op.set(i),
      ...op.br(0),
      ...op.end, ...op.end,
      ...op.get(i),
    ],
  };
}

function maskselectFn(): WasmFunction {
  // params: 0 src, 1 dst, 2 n4, 3 bits, 4 lut; locals: 5 i, 6 ninf
  const [src, dst, n4, bits, lut, i, ninf] = [0, 1, 2, 3, 4, 5, 6];
  return {
    name: "maskselect",
    params: [I32, I32, I32, I32, I32],
    results: [],
    locals: [I32, V128],
    body: [
      ...v.splat(-Infinity), ...op.set(ninf),
      ...forLoop(i, op.i32(0), n4, 4, [
        ...addr(dst, i), ...addr(src, i), ...v.load, ...op.get(ninf), ...nibbleMask(bits, lut, i), ...v.bitselect, ...v.store,
      ]),
    ],
  };
}


let kernel: SamplerKernel | null | undefined;
/** Instances on other modules' memories (samplerKernelOn), by memory. */
const kernelsOn = new WeakMap<WebAssembly.Memory, SamplerKernel | null>();

function kernelOf(instance: WebAssembly.Instance): SamplerKernel {
  const e = instance.exports as unknown as SamplerKernel;
  return {
    memory: e.memory, rowmax: e.rowmax, rowrange: e.rowrange, argmax: e.argmax, divide: e.divide,
    expsum: e.expsum, expsumNear: e.expsumNear, cumscale: e.cumscale, cumscale8: e.cumscale8,
    rowrangeMasked: e.rowrangeMasked, expsumMasked: e.expsumMasked, expsumNearMasked: e.expsumNearMasked, maskselect: e.maskselect,
    findMasked: e.findMasked, dividerange: e.dividerange,
  };
}

/** The module, compiled once per process; null where WebAssembly SIMD is unavailable. */
export function samplerKernel(): SamplerKernel | null {
  if (kernel !== undefined) return kernel;
  try {
    kernel = kernelOf(new WebAssembly.Instance(new WebAssembly.Module(samplerKernelBytes())));
  } catch {
    kernel = null;
  }
  return kernel;
}

/**
 * The module on another module's (non-shared) memory, e.g. the tfjs wasm backend's heap, so
 * that it reads the logits where they lie; one instance per memory. Null where WebAssembly
 * SIMD is unavailable or the memory is shared (the import declares an unshared one).
 */
export function samplerKernelOn(memory: WebAssembly.Memory): SamplerKernel | null {
  const known = kernelsOn.get(memory);
  if (known !== undefined) return known;
  let made: SamplerKernel | null = null;
  if (!(typeof SharedArrayBuffer !== "undefined" && memory.buffer instanceof SharedArrayBuffer)) {
    try {
      made = kernelOf(new WebAssembly.Instance(new WebAssembly.Module(samplerKernelBytes(true)), { env: { memory } }));
    } catch {
      made = null;
    }
  }
  kernelsOn.set(memory, made);
  return made;
}

/** The module's source bytes (for tests: WebAssembly.validate); `importMemory` as samplerKernelOn builds it. */
export function samplerKernelBytes(importMemory = false): Uint8Array<ArrayBuffer> {
  const fns = [
    expsumFn(true), expsumFn(false), cumscaleFn(), cumscaleGroupsFn(2), rowmaxFn(false), rowmaxFn(true), divideFn(),
    rowrangeMaskedFn(), expsumFn(true, true), expsumFn(false, true), maskselectFn(), findMaskedFn(), dividerangeFn(),
  ];
  return assemble([...fns, argmaxFn(fns.findIndex((f) => f.name === "rowmax"))], importMemory);
}
