/**
 * A small WebAssembly module that ranks a row's candidate tokens for top-k / top-p
 * (filtered.ts) without JavaScript's typed-array overhead (≈ 8 ns per element-step there):
 * collect the candidates' sort keys (`collect`, `keep`), radix-sort them (`sort`,
 * `sortShort`), and three SIMD scans — a lower bound of the k-th largest value (`bound`), the
 * keys of the values not below it (`above`), a value's j-th occurrence (`nth`). Hand-assembled
 * like kernel.ts; where WebAssembly SIMD is missing it does not load and filtered.ts ranks in
 * JavaScript.
 *
 * Keys: a float32's bits mapped so that ascending key order is descending value, −0 counting
 * as +0 (as comparisons do): non-negative values b → ~b & 0x7fffffff, negative b → b.
 * Sorting keys alone loses which index each value came from; filtered.ts needs that for one
 * rank only (the sampled one) and finds it with `nth`: among equal values TopK's order is
 * ascending index, so rank r holding value v is v's (r − first rank of v)-th occurrence.
 *
 * Memory layout (byte addresses chosen by the caller): the row (n float32), the keys and a
 * second key buffer (n u32 each), and the count tables (3 × 2048 i32: one per radix digit,
 * digits of 11, 10 and 11 bits from the low end; sortShort uses the first 4 × 256 for bytes).
 */
import { addr, assemble, F32, forLoop, I32, op, v, V128, type WasmFunction } from "./wasm-assembler.js";

const F64 = 0x7c;

/** Bytes of the three count tables. */
export const COUNT_BYTES = 3 * 2048 * 4;
/** Lists up to this length are sorted by insertion (no count tables to clear and sum). */
export const INSERTION_SORT = 64;
/**
 * Tokens more than this below the fourth largest logit cannot change a float32 partial sum
 * (filtered.ts says why): `collect`'s running cut, and filtered.ts's JavaScript ranking's.
 */
export const NEGLIGIBLE_BELOW = 17.5;

/** A radix digit: its shift, mask and count table (byte offset from the tables' start). */
interface Digit {
  shift: number;
  mask: number;
  table: number;
}
/** The digits `collect` and `keep` count and `sort` uses: 11, 10 and 11 bits (few passes, for long lists). */
const DIGITS: readonly Digit[] = [
  { shift: 0, mask: 2047, table: 0 },
  { shift: 11, mask: 1023, table: 2048 * 4 },
  { shift: 21, mask: 2047, table: 2 * 2048 * 4 },
];
/** The digits of `sortShort`: four bytes (small count tables, for lists of a few hundred). */
const BYTE_DIGITS: readonly Digit[] = [0, 1, 2, 3].map((q) => ({ shift: 8 * q, mask: 255, table: 256 * 4 * q }));

export interface SortKernel {
  memory: WebAssembly.Memory;
  /**
   * One pass over the n float32 at `row`: the key of every value not below the running fourth
   * largest minus 17.5 (NaN never) into `keys`, in index order; counts of the top digit into
   * the count tables at `counts` (of all three digits when `all` ≠ 0). Returns how many.
   */
  collect(row: number, n: number, keys: number, counts: number, all: number): number;
  /** Keeps the keys (of m at `keys`) below `limit` (unsigned), in order, counting all three digits; returns how many. */
  keep(keys: number, m: number, limit: number, counts: number): number;
  /**
   * Sorts the m keys at `keys` ascending (by insertion up to INSERTION_SORT, else by radix
   * passes through `tmp`, skipping a digit every key shares; the counts must hold all three
   * digits), then turns each key back into its value's float32 bits (−0 as +0). Returns the
   * byte address of the result: `keys` or `tmp`.
   */
  sort(keys: number, tmp: number, m: number, counts: number): number;
  /** sort with byte digits, counted here (the count tables need not hold anything). */
  sortShort(keys: number, tmp: number, m: number, counts: number): number;
  /** Index of the j-th (from 0) of the n float32 at `row` equal to `value` (−0 = +0); −1 if none. */
  nth(row: number, n: number, value: number, j: number): number;
  /**
   * The smallest of the BOUND_RANK-th largest values of 4·blocks disjoint sets of the float32
   * at `row`: block b is `vecs` vectors of four, lane j of it the set of its elements 4q + j
   * (lanes by pmax and pmin: a NaN may or may not show). So at least BOUND_RANK·4·blocks of
   * the row's values are not below it (vecs ≥ BOUND_RANK).
   */
  bound(row: number, blocks: number, vecs: number): number;
  /** The keys of the n float32 at `row` not below `bound` into `keys`, in index order; returns how many. */
  above(row: number, n: number, bound: number, keys: number): number;
}

/** `for (i = 0; i < end; i++) body` (i, end: locals). */
const forEach = (i: number, end: number, body: number[]) => forLoop(i, op.i32(0), end, 1, body);

/** counts[digit d of key k]++ (counts, k, slot: locals). */
const count = (counts: number, k: number, slot: number, d: Digit) => [
  ...op.get(counts), ...op.get(k), ...op.i32(d.shift), ...op.i32ShrU, ...op.i32(d.mask), ...op.i32And, ...op.i32(2), ...op.i32Shl, ...op.i32Add, ...op.tee(slot),
  ...op.get(slot), ...op.i32LoadAt(d.table), ...op.i32(1), ...op.i32Add, ...op.i32StoreAt(d.table),
];

/** The key of float32 bits b (local), left on the stack. */
const keyOf = (b: number) => [
  // −0 → +0
  ...op.i32(0), ...op.get(b), ...op.get(b), ...op.i32(0x80000000), ...op.i32Eq, ...op.select, ...op.set(b),
  ...op.get(b),
  ...op.get(b), ...op.i32(-1), ...op.i32Xor, ...op.i32(0x7fffffff), ...op.i32And,
  ...op.get(b), ...op.i32(0), ...op.i32LtS,
  ...op.select,
];

function collectFn(): WasmFunction {
  const [row, n, keys, counts, all, i, m, b, k, slot, val, t0, t1, t2, t3, cut] = Array.from({ length: 16 }, (_, j) => j);
  const setCut = [...op.get(t3), ...op.f64PromoteF32, ...op.f64(NEGLIGIBLE_BELOW), ...op.f64Sub, ...op.set(cut)];
  return {
    name: "collect",
    params: [I32, I32, I32, I32, I32],
    results: [I32],
    locals: [I32, I32, I32, I32, I32, F32, F32, F32, F32, F32, F64],
    body: [
      ...op.get(counts), ...op.i32(0), ...op.i32(COUNT_BYTES), ...op.memoryFill,
      ...op.f32(-Infinity), ...op.tee(t0), ...op.tee(t1), ...op.tee(t2), ...op.set(t3),
      ...op.f64(-Infinity), ...op.set(cut),
      ...forEach(i, n, [
        ...addr(row, i), ...op.f32Load, ...op.tee(val), ...op.f64PromoteF32, ...op.get(cut), ...op.f64Ge, ...op.if,
        ...op.get(val), ...op.i32ReinterpretF32, ...op.set(b),
        ...keyOf(b), ...op.set(k),
        ...addr(keys, m), ...op.get(k), ...op.i32Store,
        ...op.get(m), ...op.i32(1), ...op.i32Add, ...op.set(m),
        ...count(counts, k, slot, DIGITS[2]!),
        ...op.get(all), ...op.if, ...count(counts, k, slot, DIGITS[0]!), ...count(counts, k, slot, DIGITS[1]!), ...op.end,
        // The four largest so far (t0 ≥ t1 ≥ t2 ≥ t3) and the cut below the fourth.
        ...op.get(val), ...op.get(t3), ...op.f32Gt, ...op.if,
        ...op.get(val), ...op.get(t1), ...op.f32Gt, ...op.if,
        ...op.get(t2), ...op.set(t3), ...op.get(t1), ...op.set(t2),
        ...op.get(val), ...op.get(t0), ...op.f32Gt, ...op.if,
        ...op.get(t0), ...op.set(t1), ...op.get(val), ...op.set(t0),
        ...op.else,
        ...op.get(val), ...op.set(t1),
        ...op.end,
        ...op.else,
        ...op.get(val), ...op.get(t2), ...op.f32Gt, ...op.if,
        ...op.get(t2), ...op.set(t3), ...op.get(val), ...op.set(t2),
        ...op.else,
        ...op.get(val), ...op.set(t3),
        ...op.end,
        ...op.end,
        ...setCut,
        ...op.end,
        ...op.end,
      ]),
      ...op.get(m),
    ],
  };
}

function keepFn(): WasmFunction {
  const [keys, m, limit, counts, r, j, k, slot] = Array.from({ length: 8 }, (_, i) => i);
  return {
    name: "keep",
    params: [I32, I32, I32, I32],
    results: [I32],
    locals: [I32, I32, I32, I32],
    body: [
      ...op.get(counts), ...op.i32(0), ...op.i32(COUNT_BYTES), ...op.memoryFill,
      ...forEach(r, m, [
        ...addr(keys, r), ...op.i32Load, ...op.tee(k), ...op.get(limit), ...op.i32LtU, ...op.if,
        ...addr(keys, j), ...op.get(k), ...op.i32Store,
        ...op.get(j), ...op.i32(1), ...op.i32Add, ...op.set(j),
        ...DIGITS.flatMap((digit) => count(counts, k, slot, digit)),
        ...op.end,
      ]),
      ...op.get(j),
    ],
  };
}

/**
 * `sort` (digits counted by collect/keep) or, with `countFirst`, `sortShort` (byte digits,
 * counted here first).
 */
function sortFn(name: string, digits: readonly Digit[], countFirst: boolean): WasmFunction {
  const [keys, tmp, m, counts, src, dst, r, k, slot, sum, c, d, at, size] = Array.from({ length: 14 }, (_, i) => i);
  const pass = (digit: Digit) => [
    ...op.block,
    // A digit every key shares moves nothing.
    ...op.get(counts), ...op.get(src), ...op.i32Load, ...op.i32(digit.shift), ...op.i32ShrU, ...op.i32(digit.mask), ...op.i32And,
    ...op.i32(2), ...op.i32Shl, ...op.i32Add, ...op.i32LoadAt(digit.table), ...op.get(m), ...op.i32Eq, ...op.brIf(0),
    // Counts → starts.
    ...op.i32(0), ...op.set(sum),
    ...op.i32(digit.mask + 1), ...op.set(size),
    ...forEach(d, size, [
      ...addr(counts, d), ...op.tee(slot), ...op.i32LoadAt(digit.table), ...op.set(c),
      ...op.get(slot), ...op.get(sum), ...op.i32StoreAt(digit.table),
      ...op.get(sum), ...op.get(c), ...op.i32Add, ...op.set(sum),
    ]),
    // Stable scatter.
    ...forEach(r, m, [
      ...addr(src, r), ...op.i32Load, ...op.set(k),
      ...op.get(counts), ...op.get(k), ...op.i32(digit.shift), ...op.i32ShrU, ...op.i32(digit.mask), ...op.i32And, ...op.i32(2), ...op.i32Shl, ...op.i32Add, ...op.tee(slot),
      ...op.get(slot), ...op.i32LoadAt(digit.table), ...op.tee(at), ...op.i32(1), ...op.i32Add, ...op.i32StoreAt(digit.table),
      ...addr(dst, at), ...op.get(k), ...op.i32Store,
    ]),
    ...op.get(src), ...op.get(dst), ...op.set(src), ...op.set(dst),
    ...op.end,
  ];
  return {
    name,
    params: [I32, I32, I32, I32],
    results: [I32],
    locals: [I32, I32, I32, I32, I32, I32, I32, I32, I32, I32],
    body: [
      ...op.get(keys), ...op.set(src), ...op.get(tmp), ...op.set(dst),
      ...op.get(m), ...op.i32(INSERTION_SORT), ...op.i32GtU, ...op.if,
      ...(countFirst
        ? [
            ...op.get(counts), ...op.i32(0), ...op.i32(digits.length * 256 * 4), ...op.memoryFill,
            ...forEach(r, m, [...addr(src, r), ...op.i32Load, ...op.set(k), ...digits.flatMap((digit) => count(counts, k, slot, digit))]),
          ]
        : []),
      ...digits.flatMap(pass),
      ...op.else,
      // Insertion: for r in 1..m, shift the larger keys before it one up.
      ...op.i32(1), ...op.set(r),
      ...op.block, ...op.loop,
      ...op.get(r), ...op.get(m), ...op.i32GeU, ...op.brIf(1),
      ...addr(src, r), ...op.i32Load, ...op.set(k),
      ...op.get(r), ...op.set(at),
      ...op.block, ...op.loop,
      ...op.get(at), ...op.i32Eqz, ...op.brIf(1),
      ...addr(src, at), ...op.i32(4), ...op.i32Sub, ...op.i32Load, ...op.tee(c), ...op.get(k), ...op.i32GtU, ...op.i32Eqz, ...op.brIf(1),
      ...addr(src, at), ...op.get(c), ...op.i32Store,
      ...op.get(at), ...op.i32(1), ...op.i32Sub, ...op.set(at),
      ...op.br(0),
      ...op.end, ...op.end,
      ...addr(src, at), ...op.get(k), ...op.i32Store,
      ...op.get(r), ...op.i32(1), ...op.i32Add, ...op.set(r),
      ...op.br(0),
      ...op.end, ...op.end,
      ...op.end,
      // Keys back to float32 bits: a key with the top bit set is a negative value's bits as they were.
      ...forEach(r, m, [
        ...addr(src, r), ...op.tee(slot),
        ...op.get(slot), ...op.i32Load, ...op.tee(k),
        ...op.get(k), ...op.i32(-1), ...op.i32Xor, ...op.i32(0x7fffffff), ...op.i32And,
        ...op.get(k), ...op.i32(0), ...op.i32LtS,
        ...op.select,
        ...op.i32Store,
      ]),
      ...op.get(src),
    ],
  };
}

/** Elements per step of the SIMD scans (nth, above): four vectors compared, one branch. */
const GROUP = 16;

/** Whether any of the GROUP float32 from element i of `row` compares true with the splat `vs` (locals). */
const anyLane = (row: number, i: number, vs: number, compare: number[]) => [
  ...addr(row, i), ...v.loadAt(0), ...op.get(vs), ...compare,
  ...[1, 2, 3].flatMap((q) => [...addr(row, i), ...v.loadAt(16 * q), ...op.get(vs), ...compare, ...v.or]),
  ...v.anyTrue,
];

/** `while (i < limit) { each; i++ }` (locals; i goes on from where it is). */
const scalarUpTo = (i: number, limit: number, each: number[]) => [
  ...op.block, ...op.loop,
  ...op.get(i), ...op.get(limit), ...op.i32GeU, ...op.brIf(1),
  ...each,
  ...op.get(i), ...op.i32(1), ...op.i32Add, ...op.set(i),
  ...op.br(0),
  ...op.end, ...op.end,
];

/**
 * The scan nth and above share: elements i = 0..n − 1 of `row` by `each`, skipping the
 * GROUP-element groups in which no lane compares true with the splat `vs` (anyLane); the
 * last n mod GROUP elements one by one. Locals i, n4, end are its own.
 */
const scanGroups = (row: number, n: number, i: number, n4: number, end: number, vs: number, compare: number[], each: number[]) => [
  ...op.get(n), ...op.i32(-GROUP), ...op.i32And, ...op.set(n4),
  ...op.i32(0), ...op.set(i),
  ...op.block, ...op.loop,
  ...op.get(i), ...op.get(n4), ...op.i32GeU, ...op.brIf(1),
  ...anyLane(row, i, vs, compare), ...op.if,
  ...op.get(i), ...op.i32(GROUP), ...op.i32Add, ...op.set(end),
  ...scalarUpTo(i, end, each),
  ...op.else,
  ...op.get(i), ...op.i32(GROUP), ...op.i32Add, ...op.set(i),
  ...op.end,
  ...op.br(0),
  ...op.end, ...op.end,
  ...scalarUpTo(i, n, each),
];

function nthFn(): WasmFunction {
  const [row, n, value, j, i, n4, vv, end] = [0, 1, 2, 3, 4, 5, 6, 7];
  // Element i: when equal to the value, return i if it is the j-th, else count it.
  const check = [
    ...addr(row, i), ...op.f32Load, ...op.get(value), ...op.f32Eq, ...op.if,
    ...op.get(j), ...op.i32Eqz, ...op.if, ...op.get(i), ...op.return, ...op.end,
    ...op.get(j), ...op.i32(1), ...op.i32Sub, ...op.set(j),
    ...op.end,
  ];
  return {
    name: "nth",
    params: [I32, I32, F32, I32],
    results: [I32],
    locals: [I32, I32, V128, I32],
    body: [
      ...op.get(value), ...v.f32x4Splat, ...op.set(vv),
      // GROUP at a time, past groups holding no equal value.
      ...scanGroups(row, n, i, n4, end, vv, v.eq, check),
      ...op.i32(-1),
    ],
  };
}

/** Per lane set, `bound` keeps this many largest values (a sorting network of pmax/pmin). */
export const BOUND_RANK = 4;

function boundFn(): WasmFunction {
  const [row, blocks, vecs, b, q, p, x, low] = [0, 1, 2, 3, 4, 5, 6, 7];
  const top = Array.from({ length: BOUND_RANK }, (_, j) => 8 + j); // the lane sets' largest, descending
  // x into the lanes' top BOUND_RANK: each register keeps the larger, passes the smaller on.
  const insert = top.flatMap((m, j) =>
    j < BOUND_RANK - 1
      ? [...op.get(m), ...op.get(x), ...v.pmax, ...op.get(m), ...op.get(x), ...v.pmin, ...op.set(x), ...op.set(m)]
      : [...op.get(m), ...op.get(x), ...v.pmax, ...op.set(m)],
  );
  return {
    name: "bound",
    params: [I32, I32, I32],
    results: [F32],
    locals: [I32, I32, I32, V128, V128, ...top.map(() => V128)],
    body: [
      ...op.f32(Infinity), ...v.f32x4Splat, ...op.set(low),
      ...op.get(row), ...op.set(p),
      ...forEach(b, blocks, [
        ...top.flatMap((m) => [...op.f32(-Infinity), ...v.f32x4Splat, ...op.set(m)]),
        ...op.i32(0), ...op.set(q),
        ...op.block, ...op.loop,
        ...op.get(q), ...op.get(vecs), ...op.i32GeU, ...op.brIf(1),
        ...op.get(p), ...v.load, ...op.set(x),
        ...insert,
        ...op.get(p), ...op.i32(16), ...op.i32Add, ...op.set(p),
        ...op.get(q), ...op.i32(1), ...op.i32Add, ...op.set(q),
        ...op.br(0),
        ...op.end, ...op.end,
        ...op.get(low), ...op.get(top[BOUND_RANK - 1]!), ...v.pmin, ...op.set(low),
      ]),
      ...op.get(low), ...v.extract(0), ...op.get(low), ...v.extract(1), ...op.f32Min,
      ...op.get(low), ...v.extract(2), ...op.get(low), ...v.extract(3), ...op.f32Min,
      ...op.f32Min,
    ],
  };
}

function aboveFn(): WasmFunction {
  const [row, n, bound, keys, i, m, n4, end, b, vb] = Array.from({ length: 10 }, (_, j) => j);
  // Element i: when not below the bound, its key appended.
  const take = [
    ...addr(row, i), ...op.f32Load, ...op.get(bound), ...op.f32Ge, ...op.if,
    ...addr(row, i), ...op.i32Load, ...op.set(b),
    ...addr(keys, m), ...keyOf(b), ...op.i32Store,
    ...op.get(m), ...op.i32(1), ...op.i32Add, ...op.set(m),
    ...op.end,
  ];
  return {
    name: "above",
    params: [I32, I32, F32, I32],
    results: [I32],
    locals: [I32, I32, I32, I32, I32, V128],
    body: [
      ...op.get(bound), ...v.f32x4Splat, ...op.set(vb),
      ...scanGroups(row, n, i, n4, end, vb, v.ge, take),
      ...op.get(m),
    ],
  };
}

/** The module's bytes. */
export function sortKernelBytes(): Uint8Array<ArrayBuffer> {
  return assemble([collectFn(), keepFn(), sortFn("sort", DIGITS, false), nthFn(), boundFn(), aboveFn(), sortFn("sortShort", BYTE_DIGITS, true)]);
}

let instance: SortKernel | null | undefined;

/** The module (one per process, its own memory), or null where WebAssembly (with SIMD) is missing. */
export function sortKernel(): SortKernel | null {
  if (instance !== undefined) return instance;
  try {
    const module = new WebAssembly.Module(sortKernelBytes());
    instance = new WebAssembly.Instance(module, {}).exports as unknown as SortKernel;
  } catch {
    instance = null;
  }
  return instance;
}
