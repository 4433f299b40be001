import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import {
  bf16ToF32, f16ToF32, f32ToBf16, f32ToF16, ModelFormatError, parseSafetensors, readSafetensors, serializeSafetensors, writeSafetensors,
} from "../../../forge/model/index.js";

describe("half-precision conversion", () => {
  it("f16 → f32 on known values (normals, subnormals, zeros, infinities, NaN)", () => {
    const bits = [0x3c00, 0xc000, 0x7bff, 0x0001, 0x03ff, 0x0400, 0x3555, 0x8000, 0x7c00, 0xfc00, 0x7e00];
    const out = f16ToF32(Uint16Array.from(bits));
    expect(Array.from(out.subarray(0, 7))).toEqual([1, -2, 65504, 2 ** -24, 1023 * 2 ** -24, 2 ** -14, 0.333251953125]);
    expect(Object.is(out[7], -0)).toBe(true);
    expect(out[8]).toBe(Infinity);
    expect(out[9]).toBe(-Infinity);
    expect(out[10]).toBeNaN();
  });

  it("bf16 → f32 on known values", () => {
    const out = bf16ToF32(Uint16Array.from([0x3f80, 0xc040, 0x4049, 0x7f80, 0x0000, 0x3c00]));
    expect(Array.from(out)).toEqual([1, -3, 3.140625, Infinity, 0, 2 ** -7]);
  });

  it("f32 → f16 / bf16 rounds to nearest even and round-trips every f16 value", () => {
    expect(Array.from(f32ToF16(Float32Array.from([1, -2, 65504, 70000, 2 ** -24, 2 ** -26, 1 + 2 ** -11, 1 + 3 * 2 ** -11])))).toEqual([
      0x3c00, 0xc000, 0x7bff, 0x7c00, 0x0001, 0x0000, 0x3c00, 0x3c02,
    ]);
    expect(Array.from(f32ToBf16(Float32Array.from([1, Math.PI, -3])))).toEqual([0x3f80, 0x4049, 0xc040]);
    const all = new Uint16Array(0x7c00);
    for (let i = 0; i < all.length; i++) all[i] = i;
    expect(Array.from(f32ToF16(f16ToF32(all)))).toEqual(Array.from(all));
  });
});

describe("safetensors read / write", () => {
  const dir = mkdtempSync(join(tmpdir(), "forge-st-"));

  it("round-trips f32 tensors and reads f16 / bf16 as f32", () => {
    const a = Float32Array.from([1.5, -2.25, 3, 0.1]);
    const path = join(dir, "x.safetensors");
    writeSafetensors(path, {
      a: { shape: [2, 2], data: a },
      h: { shape: [3], data: f32ToF16(Float32Array.from([0.5, -1, 2.5])), dtype: "F16" },
      b: { shape: [1, 2], data: f32ToBf16(Float32Array.from([1, -0.75])), dtype: "BF16" },
    });
    const file = readSafetensors(path);
    expect(file.float32("a")).toEqual({ shape: [2, 2], data: a });
    expect(Array.from(file.float32("h").data)).toEqual([0.5, -1, 2.5]);
    expect(Array.from(file.float32("b").data)).toEqual([1, -0.75]);
    expect(file.metadata).toEqual({ format: "pt" });
    // The header is padded so the data starts 8-byte aligned, as Hugging Face writes it.
    const bytes = serializeSafetensors({ a: { shape: [4], data: a } });
    expect(Number(new DataView(bytes.buffer).getBigUint64(0, true)) % 8).toBe(0);
  });

  it("reports malformed files with the file and tensor", () => {
    const good = serializeSafetensors({ w: { shape: [2, 2], data: new Float32Array(4) } });
    expect(() => parseSafetensors(good.subarray(0, 5), "m.safetensors")).toThrow(/m.safetensors: too short/);
    const truncated = good.subarray(0, good.length - 4);
    expect(() => parseSafetensors(truncated, "m.safetensors")).toThrow(/m.safetensors: w: data_offsets end 16 is past the end of the data \(12 bytes\); file truncated/);
    const huge = good.slice();
    new DataView(huge.buffer).setBigUint64(0, 10n ** 9n, true);
    expect(() => parseSafetensors(huge, "m.safetensors")).toThrow(/header length 1000000000 exceeds the file size/);
    const badJson = good.slice();
    badJson[9] = 0x7b; // '{' inside the header: no longer valid JSON
    expect(() => parseSafetensors(badJson, "m.safetensors")).toThrow(/header is not valid JSON/);
    const header = (obj: unknown) => {
      const h = new TextEncoder().encode(JSON.stringify(obj));
      const out = new Uint8Array(8 + h.length + 16);
      new DataView(out.buffer).setBigUint64(0, BigInt(h.length), true);
      out.set(h, 8);
      return out;
    };
    expect(() => parseSafetensors(header({ w: { dtype: "F32", shape: [3], data_offsets: [0, 16] } }), "m")).toThrow(/m: w: byte range 16 does not match shape \[3\] × F32/);
    expect(() => parseSafetensors(header({ w: { dtype: "Q4", shape: [3], data_offsets: [0, 16] } }), "m")).toThrow(/m: w: unknown dtype "Q4"/);
    const ints = parseSafetensors(header({ w: { dtype: "I32", shape: [4], data_offsets: [0, 16] } }), "m");
    expect(() => ints.float32("w")).toThrow(/m: w: dtype I32 is not supported \(expected F32, F16 or BF16\)/);
    expect(() => ints.float32("nope")).toThrow(ModelFormatError);
    expect(() => readSafetensors(join(dir, "absent.safetensors"))).toThrow(/absent.safetensors: cannot read \(ENOENT\)/);
    writeFileSync(join(dir, "empty.safetensors"), "");
    expect(() => readSafetensors(join(dir, "empty.safetensors"))).toThrow(/too short to be safetensors/);
  });
});
