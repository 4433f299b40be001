import { describe, expect, it } from "vitest";
import { counterUniform, philox4x32 } from "../../../forge/sampler/index.js";

describe("philox4x32-10", () => {
  // Known-answer vectors from Random123's kat_vectors (philox4x32, 10 rounds).
  it("matches the Random123 known answers", () => {
    expect(philox4x32(0, 0, 0, 0, 0, 0)).toEqual([0x6627e8d5, 0xe169c58d, 0xbc57ac4c, 0x9b00dbd8]);
    expect(philox4x32(0xffffffff, 0xffffffff, 0xffffffff, 0xffffffff, 0xffffffff, 0xffffffff)).toEqual([
      0x408f276d, 0x41c83b0e, 0xa20bc7c6, 0x6d5451fd,
    ]);
    expect(philox4x32(0x243f6a88, 0x85a308d3, 0x13198a2e, 0x03707344, 0xa4093822, 0x299f31d0)).toEqual([
      0xd16cfe09, 0x94fdcceb, 0x5001e420, 0x24126ea1,
    ]);
  });
});

describe("counterUniform", () => {
  it("is a pure function of (seed, instance, step) in [0, 1)", () => {
    expect(counterUniform(7, 3, 11)).toBe(counterUniform(7, 3, 11));
    const seen = new Set<number>();
    for (const [s, i, t] of [[7, 3, 11], [8, 3, 11], [7, 4, 11], [7, 3, 12], [7, 11, 3], [2 ** 40, 3, 11]] as const)
      seen.add(counterUniform(s, i, t));
    expect(seen.size).toBe(6);
  });

  it("is uniform: 20 bins over 20 000 draws pass a chi-square test", () => {
    const bins = new Array(20).fill(0);
    let n = 0, lo = 1, hi = 0;
    for (let i = 0; i < 200; i++)
      for (let t = 0; t < 100; t++) {
        const u = counterUniform(42, i, t);
        lo = Math.min(lo, u);
        hi = Math.max(hi, u);
        bins[Math.floor(u * 20)]++;
        n++;
      }
    expect(lo).toBeGreaterThanOrEqual(0);
    expect(hi).toBeLessThan(1);
    const expected = n / 20;
    const chi2 = bins.reduce((acc, c) => acc + (c - expected) ** 2 / expected, 0);
    expect(chi2).toBeLessThan(43.82); // df = 19, p = 0.001
  });

  it("rejects negative or fractional counters with a clear error", () => {
    expect(() => counterUniform(-1, 0, 0)).toThrow(/seed must be a non-negative safe integer/);
    expect(() => counterUniform(0, 1.5, 0)).toThrow(/instance/);
    expect(() => counterUniform(0, 0, NaN)).toThrow(/step/);
  });
});
