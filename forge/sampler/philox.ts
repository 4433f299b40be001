/**
 * Counter-based uniform numbers: Philox4x32-10 (Salmon et al., "Parallel random numbers:
 * as easy as 1, 2, 3", SC'11). The draw for workflow instance i at its step t is a pure
 * function of (seed, i, t), so a sample does not depend on batch size, slot, continuous
 * batching or how many machines shared the request, and a stream can be replayed alone.
 */
import { SamplingOptionsError } from "./options.js";

const M0 = 0xd2511f53;
const M1 = 0xcd9e8d57;
const W0 = 0x9e3779b9;
const W1 = 0xbb67ae85;

/** High 32 bits of the 64-bit product of two uint32 (JS numbers are exact to 2^53). */
function mulHi(a: number, b: number): number {
  const aHi = a >>> 16, aLo = a & 0xffff;
  const bHi = b >>> 16, bLo = b & 0xffff;
  const lo = aLo * bLo;
  const mid1 = aHi * bLo;
  const mid2 = aLo * bHi;
  const carry = ((lo >>> 16) + (mid1 & 0xffff) + (mid2 & 0xffff)) >>> 16;
  return (aHi * bHi + (mid1 >>> 16) + (mid2 >>> 16) + carry) >>> 0;
}

/** Philox4x32 with 10 rounds: counter (4 words) and key (2 words) → 4 random words. */
export function philox4x32(
  c0: number, c1: number, c2: number, c3: number, k0: number, k1: number,
): [number, number, number, number] {
  philoxInto(c0, c1, c2, c3, k0, k1);
  return [words[0]!, words[1]!, words[2]!, words[3]!];
}

/** philoxInto's output (reused: counterUniform runs once per row and step, and allocates nothing). */
const words = new Float64Array(4);

/** philox4x32 into `words`. */
function philoxInto(c0: number, c1: number, c2: number, c3: number, k0: number, k1: number): void {
  let x0 = c0 >>> 0, x1 = c1 >>> 0, x2 = c2 >>> 0, x3 = c3 >>> 0;
  let key0 = k0 >>> 0, key1 = k1 >>> 0;
  for (let round = 0; round < 10; round++) {
    const hi0 = mulHi(M0, x0), lo0 = Math.imul(M0, x0) >>> 0;
    const hi1 = mulHi(M1, x2), lo1 = Math.imul(M1, x2) >>> 0;
    const n0 = (hi1 ^ x1 ^ key0) >>> 0;
    const n2 = (hi0 ^ x3 ^ key1) >>> 0;
    x0 = n0; x1 = lo1; x2 = n2; x3 = lo0;
    key0 = (key0 + W0) >>> 0;
    key1 = (key1 + W1) >>> 0;
  }
  words[0] = x0;
  words[1] = x1;
  words[2] = x2;
  words[3] = x3;
}

function checkInteger(value: number, name: string): void {
  if (!Number.isSafeInteger(value) || value < 0)
    throw new SamplingOptionsError(name, `counterUniform: ${name} must be a non-negative safe integer, got ${value}`);
}

/**
 * Uniform in [0, 1) with 53 random bits, determined by (seed, instance, step) alone.
 * seed, instance and step are non-negative safe integers (seed uses all 53 bits as key).
 */
export function counterUniform(seed: number, instance: number, step: number): number {
  checkInteger(seed, "seed");
  checkInteger(instance, "instance");
  checkInteger(step, "step");
  philoxInto(
    instance >>> 0, Math.floor(instance / 2 ** 32) >>> 0,
    step >>> 0, Math.floor(step / 2 ** 32) >>> 0,
    seed >>> 0, Math.floor(seed / 2 ** 32) >>> 0,
  );
  const r0 = words[0]!;
  const r1 = words[1]!;
  // 27 + 26 bits → a double in [0, 1) with 53 bits of randomness.
  return ((r0 >>> 5) * 67108864 + (r1 >>> 6)) / 9007199254740992;
}
