import { describe, expect, it } from "vitest";
import { addr, assemble, F32, forLoop, I32, op, sleb, uleb, v, V128 } from "../../../forge/sampler/wasm-assembler.js";

/**
 * The shared instruction tables against the WebAssembly binary format's encodings (spec §5.4),
 * and a module built from them run: a loop summing float32 and a SIMD lane reduction.
 */
describe("wasm-assembler's instruction tables", () => {
  it("encodes LEB128 immediates and opcodes as the binary format does", () => {
    expect(uleb(624485)).toEqual([0xe5, 0x8e, 0x26]);
    expect(sleb(-123456)).toEqual([0xc0, 0xbb, 0x78]);
    expect(op.i32(-4)).toEqual([0x41, 0x7c]);
    expect(op.i32(0x80000000)).toEqual([0x41, 0x80, 0x80, 0x80, 0x80, 0x78]); // i32 −2^31, as unsigned input
    expect(op.get(200)).toEqual([0x20, 0xc8, 0x01]);
    expect(op.f32(1)).toEqual([0x43, 0x00, 0x00, 0x80, 0x3f]);
    expect(op.f64(1)).toEqual([0x44, 0, 0, 0, 0, 0, 0, 0xf0, 0x3f]);
    expect([op.i32Add, op.i32Mul, op.i32ShrU, op.f32Add, op.f32Max, op.f64PromoteF32]).toEqual([[0x6a], [0x6c], [0x76], [0x92], [0x97], [0xbb]]);
    expect(op.memoryFill).toEqual([0xfc, 0x0b, 0x00]);
    expect(v.pmax).toEqual([0xfd, 0xeb, 0x01]); // opcodes ≥ 128 take two LEB bytes
    expect(v.load).toEqual([0xfd, 0x00, 4, 0]);
    expect(v.storeAt(200, 0)).toEqual([0xfd, 0x0b, 0, 0xc8, 0x01]);
    expect(v.shuffle2323).toEqual([0xfd, 0x0d, 8, 9, 10, 11, 12, 13, 14, 15, 8, 9, 10, 11, 12, 13, 14, 15]);
    expect(v.lanes(0, 4, 1, 5)).toEqual([0xfd, 0x0d, 0, 1, 2, 3, 16, 17, 18, 19, 4, 5, 6, 7, 20, 21, 22, 23]);
  });

  it("builds modules that run: forLoop and addr over a row, a lane reduction", () => {
    // sum(ptr, n): Σ f32 in order; lanesum(ptr): (x0 + x2) + (x1 + x3) of one v128.
    const [ptr, n, i, s] = [0, 1, 2, 3];
    const bytes = assemble([
      {
        name: "sum", params: [I32, I32], results: [F32], locals: [I32, F32],
        body: [...forLoop(i, op.i32(0), n, 1, [...op.get(s), ...addr(ptr, i), ...op.f32Load, ...op.f32Add, ...op.set(s)]), ...op.get(s)],
      },
      {
        name: "lanesum", params: [I32], results: [F32], locals: [V128],
        body: [...op.get(ptr), ...v.load, ...op.get(ptr), ...v.load, ...v.shuffle2323, ...op.get(ptr), ...v.load, ...v.add, ...op.tee(1), ...v.extract(0), ...op.get(1), ...v.extract(1), ...op.f32Add],
      },
    ]);
    expect(WebAssembly.validate(bytes)).toBe(true);
    const e = new WebAssembly.Instance(new WebAssembly.Module(bytes)).exports as unknown as {
      memory: WebAssembly.Memory; sum(p: number, n: number): number; lanesum(p: number): number;
    };
    const mem = new Float32Array(e.memory.buffer);
    mem.set([1.5, 2, 4, 8, 16], 4);
    expect(e.sum(16, 5)).toBe(31.5);
    expect(e.sum(16, 0)).toBe(0);
    expect(e.lanesum(16)).toBe(1.5 + 4 + (2 + 8));
  });
});
