/**
 * The sort module's functions one by one (forge/sampler/sort-kernel.ts), against plain
 * JavaScript on the same values: the module is hand-assembled, so each function's contract
 * is checked alone before filtered.test.ts checks the draws.
 */
import { describe, expect, it } from "vitest";
import { BOUND_RANK, COUNT_BYTES, INSERTION_SORT, sortKernel, sortKernelBytes } from "../../../forge/sampler/sort-kernel.js";
import { seededRandom } from "../../../forge/resources/random.js";

const N = 20000;
const ROW = 0;
const KEYS = 4 * N;
const TMP = 8 * N;
const COUNTS = 12 * N;

function module() {
  const kernel = sortKernel()!;
  const bytes = COUNTS + COUNT_BYTES;
  if (kernel.memory.buffer.byteLength < bytes) kernel.memory.grow(Math.ceil((bytes - kernel.memory.buffer.byteLength) / 65536));
  return { kernel, f32: new Float32Array(kernel.memory.buffer), u32: new Uint32Array(kernel.memory.buffer) };
}

/** Values with ties, both zeros and infinities. */
function values(n: number, seed: number): Float32Array {
  const random = seededRandom(seed);
  return Float32Array.from({ length: n }, () => {
    const r = random();
    if (r < 0.05) return r < 0.025 ? -0 : 0;
    if (r < 0.06) return r < 0.055 ? Infinity : -Infinity;
    if (r < 0.2) return Math.round(4 * (random() - 0.5));
    return 6 * (random() - 0.5);
  });
}

/** Descending, −0 as +0 (what the module returns). */
const descending = (xs: Iterable<number>) => Float32Array.from(xs, (v) => (v === 0 ? 0 : v)).sort().reverse();

describe("the sort module", () => {
  it("is valid WebAssembly and loads", () => {
    expect(WebAssembly.validate(sortKernelBytes())).toBe(true);
    expect(sortKernel()).not.toBeNull();
  });

  for (const n of [1, 2, INSERTION_SORT, INSERTION_SORT + 1, 300, 5000, N]) {
    it(`collect keeps every value not below the fourth largest − 17.5; sort and sortShort rank them descending (${n} values)`, () => {
      const { kernel, f32 } = module();
      const x = values(n, n);
      for (const short of [false, true]) {
        f32.set(x, ROW / 4);
        const m = kernel.collect(ROW, n, KEYS, COUNTS, 1);
        const fourth = descending(x)[Math.min(3, n - 1)]!;
        const needed = x.filter((v) => v >= fourth - 17.5).length;
        expect(m).toBeGreaterThanOrEqual(needed);
        expect(m).toBeLessThanOrEqual(n);
        const at = (short ? kernel.sortShort(KEYS, TMP, m, COUNTS) : kernel.sort(KEYS, TMP, m, COUNTS)) / 4;
        const sorted = f32.slice(at, at + m);
        expect(Array.from(sorted.subarray(0, needed))).toEqual(Array.from(descending(x).subarray(0, needed)));
        for (let r = 1; r < m; r++) expect(sorted[r]! <= sorted[r - 1]!).toBe(true);
      }
    });
  }

  it("keep keeps the keys below a limit, in order", () => {
    const { kernel, f32, u32 } = module();
    const x = values(1000, 9);
    f32.set(x, ROW / 4);
    const m = kernel.collect(ROW, 1000, KEYS, COUNTS, 0);
    const keys = Array.from(u32.subarray(KEYS / 4, KEYS / 4 + m));
    const limit = 0x40000000;
    const kept = kernel.keep(KEYS, m, limit, COUNTS);
    expect(Array.from(u32.subarray(KEYS / 4, KEYS / 4 + kept))).toEqual(keys.filter((k) => k < limit));
  });

  it("bound is at most the (BOUND_RANK·4·blocks)-th largest value; above collects every value not below it, in index order", () => {
    const { kernel, f32, u32 } = module();
    for (const [n, blocks] of [[8192, 3], [8192, 1], [50257, 4], [300, 2]] as const) {
      const x = values(n, n + blocks);
      for (let i = 0; i < n; i++) if (!Number.isFinite(x[i]!)) x[i] = 1; // bound's contract is for NaN-free rows; infinities tie here
      f32.set(x, ROW / 4);
      const vecs = Math.floor(n / (4 * blocks));
      const bound = kernel.bound(ROW, blocks, vecs);
      expect(bound).toBeLessThanOrEqual(descending(x)[BOUND_RANK * 4 * blocks - 1]!);
      const m = kernel.above(ROW, n, bound, KEYS);
      const expected = x.filter((v) => v >= bound);
      expect(m).toBe(expected.length);
      // Keys back to values: the same values in index order.
      const back = Array.from(u32.subarray(KEYS / 4, KEYS / 4 + m), (k) => new Float32Array(new Uint32Array([k >= 0x80000000 ? k : ~k & 0x7fffffff]).buffer)[0]!);
      expect(back).toEqual(Array.from(expected, (v) => (v === 0 ? 0 : v)));
    }
  });

  it("nth finds the j-th occurrence of a value (−0 equal to +0), −1 past the last", () => {
    const { kernel, f32 } = module();
    const x = Float32Array.from([5, -0, 3, 0, 5, 7, 0, 5, 1, 2, 3, 4, 5, 6, 7, 8, 9, 5, 0]);
    f32.set(x, ROW / 4);
    const at = (v: number) => Array.from(x.keys()).filter((i) => x[i] === v);
    for (const v of [5, 0, 7]) {
      at(v).forEach((i, j) => expect(kernel.nth(ROW, x.length, v, j)).toBe(i));
      expect(kernel.nth(ROW, x.length, v, at(v).length)).toBe(-1);
    }
  });
});
