import { describe, expect, it } from "vitest";
import { EXP, LANE_MASK_BYTES, samplerKernel, samplerKernelBytes, writeLaneMasks } from "../../../forge/sampler/kernel.js";
import { seededRandom } from "../../../forge/resources/random.js";

const f32 = Math.fround;

/**
 * The masked passes against the plain ones on the masked row (−∞ where the bitset's bit is
 * clear): the same maximum, the allowed minimum, the same exp values and lane sums bit for
 * bit, and maskselect's row equal to the masked row.
 */
describe("the sampler kernel's masked passes", () => {
  it("validates with the masked passes", () => {
    expect(WebAssembly.validate(samplerKernelBytes())).toBe(true);
    expect(WebAssembly.validate(samplerKernelBytes(true))).toBe(true);
  });

  const k = samplerKernel()!;
  const V = 50257;
  const floats = 4 * (V + 8);
  // Layout (bytes): lane masks, bitset, row, masked row, exp (masked pass), exp (plain pass), one float.
  const lut = 0;
  const bitsAt = LANE_MASK_BYTES;
  const xAt = bitsAt + 4 * ((Math.ceil(V / 32) + 3) & ~3);
  const [mAt, eAt, fAt, outAt] = [xAt + floats, xAt + 2 * floats, xAt + 3 * floats, xAt + 4 * floats];
  if (k.memory.buffer.byteLength < outAt + 16) k.memory.grow(Math.ceil((outAt + 16 - k.memory.buffer.byteLength) / 65536));

  for (const spread of ["near", "far"] as const) {
    it(`rowrangeMasked, findMasked, expsumMasked/expsumNearMasked and maskselect match the plain passes on the masked row (allowed minimum ${spread === "near" ? "within" : "below"} the cutoff), bit for bit`, () => {
      const random = seededRandom(spread === "near" ? 3 : 4);
      const mem = new Float32Array(k.memory.buffer);
      const u32 = new Uint32Array(k.memory.buffer);
      writeLaneMasks(u32, lut / 4);
      let nearRows = 0;
      for (const n4 of [4, 28, 32, 36, 100, 1000, 8192, V & ~3]) {
        for (const density of ["random", "full", "empty words", "one column"] as const) {
          const words = Math.ceil(n4 / 32);
          for (let w = 0; w < words; w++)
            u32[bitsAt / 4 + w] = density === "full" ? 0xffffffff : density === "empty words" && w % 3 === 1 ? 0 : density === "one column" ? 0 : (random() * 2 ** 32) >>> 0;
          if (density === "one column") u32[bitsAt / 4 + (words >> 1)] = 1 << 7; // a single allowed column
          for (let i = 0; i < n4; i++) mem[xAt / 4 + i] = f32((random() - 0.5) * (spread === "near" ? 20 : 400));
          mem[xAt / 4] = -0; // a signed zero among the values
          const allowed = (i: number) => ((u32[bitsAt / 4 + (i >>> 5)]! >>> (i & 31)) & 1) === 1;
          if (!Array.from({ length: n4 }, (_, i) => i).some(allowed)) continue; // no allowed column in range (the one-column row of short widths)
          // The masked row, by JavaScript.
          for (let i = 0; i < n4; i++) mem[mAt / 4 + i] = allowed(i) ? mem[xAt / 4 + i]! : -Infinity;
          let lowest = Infinity;
          for (let i = 0; i < n4; i++) if (allowed(i)) lowest = Math.min(lowest, mem[xAt / 4 + i]!);
          const label = `n4 ${n4}, ${density}`;
          const max = k.rowrange(mAt, n4, outAt);
          const maskedMax = k.rowrangeMasked(xAt, n4, bitsAt, lut, outAt);
          expect(maskedMax === max, `${label}: maximum ${maskedMax} vs ${max}`).toBe(true); // === : −0 and +0 alike (see rowmaxFn)
          expect(mem[outAt / 4], `${label}: the allowed minimum`).toBe(lowest);
          // findMasked: the group of four holding the first allowed column equal to the maximum (the masked argmax).
          let first = 0;
          while (!(allowed(first) && mem[xAt / 4 + first] === maskedMax)) first++;
          expect(k.findMasked(xAt, n4, bitsAt, lut, maskedMax), `${label}: findMasked`).toBe(first & ~3);
          expect(k.findMasked(xAt, n4, bitsAt, lut, 1e30), `${label}: findMasked, no such value`).toBe(n4);
          const near = f32(lowest - maskedMax) >= EXP.denormCutoff;
          if (near) nearRows++;
          const sum = k.expsum(mAt, fAt, n4, max);
          for (const pass of near ? (["expsumMasked", "expsumNearMasked"] as const) : (["expsumMasked"] as const)) {
            mem.fill(NaN, eAt / 4, eAt / 4 + n4);
            const maskedSum = k[pass](xAt, eAt, n4, maskedMax, bitsAt, lut);
            expect(Object.is(maskedSum, sum), `${label}, ${pass}: sum ${maskedSum} vs ${sum}`).toBe(true);
            const differ: number[] = [];
            for (let i = 0; i < n4 && differ.length < 5; i++) if (!Object.is(mem[eAt / 4 + i], mem[fAt / 4 + i])) differ.push(i);
            expect(differ, `${label}, ${pass}: exp values`).toEqual([]);
          }
          // maskselect, out of place and in place.
          mem.fill(0, eAt / 4, eAt / 4 + n4);
          k.maskselect(xAt, eAt, n4, bitsAt, lut);
          const wrong: number[] = [];
          for (let i = 0; i < n4 && wrong.length < 5; i++) if (!Object.is(mem[eAt / 4 + i], mem[mAt / 4 + i])) wrong.push(i);
          expect(wrong, `${label}: maskselect`).toEqual([]);
          k.maskselect(eAt, eAt, n4, bitsAt, lut);
          expect(mem.subarray(eAt / 4, eAt / 4 + n4).every((x, i) => Object.is(x, mem[mAt / 4 + i])), `${label}: maskselect in place`).toBe(true);
        }
      }
      // Both loops were exercised: "near" rows take the cheaper loop, "far" rows (values over 400 apart) the cutoff loop.
      if (spread === "near") expect(nearRows).toBeGreaterThan(20);
      else expect(nearRows).toBeLessThan(10);
    });
  }
});

describe("the sampler kernel's dividerange", () => {
  it("stores divide's quotients and finds rowrange's maximum and minimum of them, bit for bit", () => {
    const k = samplerKernel()!;
    const n = 8200;
    const [xAt, qAt, dAt, outAt] = [0, 4 * n, 8 * n, 12 * n];
    if (k.memory.buffer.byteLength < outAt + 16) k.memory.grow(Math.ceil((outAt + 16 - k.memory.buffer.byteLength) / 65536));
    const mem = new Float32Array(k.memory.buffer);
    const random = seededRandom(11);
    for (const t of [0.7, 1.3, 1e-3]) {
      for (let i = 0; i < n; i++) mem[xAt / 4 + i] = f32((random() - 0.5) * 40);
      mem[xAt / 4 + 5] = -0;
      for (const n4 of [4, 12, 16, 20, 60, 8192]) {
        mem.fill(NaN, qAt / 4, qAt / 4 + n4);
        const max = k.dividerange(xAt, qAt, n4, f32(t), outAt);
        const lowest = mem[outAt / 4];
        k.divide(xAt, dAt, n4, f32(t));
        const quotients = mem.subarray(qAt / 4, qAt / 4 + n4);
        expect(quotients.every((q, i) => Object.is(q, mem[dAt / 4 + i])), `t ${t}, n4 ${n4}: quotients`).toBe(true);
        expect(max === k.rowrange(dAt, n4, outAt), `t ${t}, n4 ${n4}: maximum`).toBe(true); // === : −0 and +0 alike (see rowmaxFn)
        expect(lowest, `t ${t}, n4 ${n4}: minimum`).toBe(mem[outAt / 4]);
      }
    }
    expect(k.dividerange(xAt, qAt, 0, 0.5, outAt)).toBe(-Infinity);
    expect(mem[outAt / 4]).toBe(Infinity);
  });
});
