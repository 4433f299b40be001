import { afterEach, describe, expect, it } from "vitest";
import { maskedRowCopies, maskKernelBytes, useMaskKernel } from "../../../forge/ttfa/mask-kernel.js";

/** What the copy must hold: the value where bit v is set, −∞ where clear or past the bitset. */
function reference(logits: Float32Array, width: number, rows: number[], bitsOf: (r: number) => Uint32Array): Float32Array {
  const out = new Float32Array(rows.length * width);
  rows.forEach((r, k) => {
    const bits = bitsOf(r);
    for (let v = 0; v < width; v++) {
      const w = v >>> 5;
      out[k * width + v] = w < bits.length && (bits[w]! >>> (v & 31)) & 1 ? logits[r * width + v]! : -Infinity;
    }
  });
  return out;
}

describe("masked row copies", () => {
  afterEach(() => useMaskKernel(true));

  it("the SIMD module validates, and both paths copy allowed values bit for bit and −∞ elsewhere (any width, full and empty words, short bitsets)", () => {
    expect(WebAssembly.validate(maskKernelBytes())).toBe(true);
    let seed = 12345;
    const rand = () => ((seed = (Math.imul(seed, 1664525) + 1013904223) >>> 0) / 4294967296);
    for (const width of [1, 3, 31, 32, 33, 100, 257, 1024, 5003]) {
      const R = 6;
      const logits = Float32Array.from({ length: R * width }, () => (rand() - 0.5) * 20);
      logits[0] = NaN; // a NaN's bits survive the select too
      const words = Math.ceil(width / 32);
      const bitsets = Array.from({ length: R }, (_, r) => {
        const len = r === 5 ? Math.max(0, words - 2) : words; // shorter than the row: the rest is disallowed
        return Uint32Array.from({ length: len }, () => (r === 0 ? 0xffffffff : r === 1 ? 0 : r === 2 ? (rand() < 0.5 ? 0xffffffff : 0) : (rand() * 2 ** 32) >>> 0));
      });
      const rows = [3, 0, 5, 1, 2, 4, 3];
      const want = reference(logits, width, rows, (r) => bitsets[r]!);
      for (const kernel of [true, false]) {
        useMaskKernel(kernel);
        const got = maskedRowCopies(logits, width, rows, (r) => bitsets[r]!);
        expect(got.length).toBe(rows.length * width);
        const gotBits = new Uint32Array(Float32Array.from(got).buffer);
        const wantBits = new Uint32Array(want.buffer);
        const wrong = Array.from(wantBits).flatMap((b, i) => (gotBits[i] === b ? [] : [i]));
        expect(wrong, `width ${width}, kernel ${kernel}`).toEqual([]);
      }
    }
  });

  it("grows its memory for 64 rows of 50 257 columns", () => {
    const width = 50_257;
    const rows = Array.from({ length: 64 }, (_, r) => r);
    const logits = Float32Array.from({ length: rows.length * width }, (_, i) => (i % 977) - 400);
    const bits = Uint32Array.from({ length: Math.ceil(width / 32) }, (_, w) => (w % 3 === 0 ? 0xffffffff : 0x0f0f0f0f));
    const got = maskedRowCopies(logits, width, rows, () => bits);
    const want = reference(logits, width, rows, () => bits);
    expect(got.every((x, i) => Object.is(x, want[i]!))).toBe(true);
  });
});

describe("masked row copies on another module's heap", () => {
  it("reads the logits where they lie, writes the copies into the heap's allocation, and survives the heap growing on that allocation", () => {
    const memory = new WebAssembly.Memory({ initial: 1 });
    let top = 16_384; // past the logits below
    let grown = 0;
    // A bump allocator that grows the memory when it runs out, as an emscripten heap does.
    const heap = {
      memory,
      malloc(bytes: number): number {
        const at = top;
        top += bytes;
        if (top > memory.buffer.byteLength) { memory.grow(Math.ceil((top - memory.buffer.byteLength) / 65536)); grown++; }
        return at;
      },
    };
    const width = 1000;
    const rowsHere = 2;
    const values = Float32Array.from({ length: rowsHere * width }, (_, i) => Math.sin(i * 0.7) * 9);
    const inHeap = new Float32Array(memory.buffer, 64, rowsHere * width);
    inHeap.set(values);
    const bits = [Uint32Array.from({ length: 32 }, (_, w) => (w * 2654435761) >>> 0), Uint32Array.from({ length: 31 }, () => 0xf0f0f0f0)];
    const rows = Array.from({ length: 15 }, (_, k) => (k * 7) % 2); // 15 copies: 60 KB, more than the memory has left
    const want = reference(values, width, rows, (r) => bits[r]!);
    const got = maskedRowCopies(inHeap, width, rows, (r) => bits[r]!, heap);
    expect(grown).toBeGreaterThan(0); // the copies' allocation grew the memory, detaching `inHeap`
    expect(got.buffer).toBe(memory.buffer); // the copies lie in the heap
    expect(got.byteOffset).toBeGreaterThanOrEqual(16_384);
    expect(Array.from(got)).toEqual(Array.from(want));
    // The heap's values themselves are untouched.
    expect(Array.from(new Float32Array(memory.buffer, 64, rowsHere * width))).toEqual(Array.from(values));
  });
});
