/**
 * Safetensors read and write, done directly: an 8-byte little-endian header length, a JSON
 * header `{name: {dtype, shape, data_offsets: [begin, end]}, "__metadata__"?: {...}}`, then
 * the raw little-endian tensor bytes. F32, F16 and BF16 tensors are read as float32.
 */
import { readFileSync, writeFileSync } from "node:fs";
import { ModelFormatError } from "./errors.js";

export type SafetensorsDtype = "F32" | "F16" | "BF16";
const BYTES: Record<string, number> = { F64: 8, F32: 4, F16: 2, BF16: 2, I64: 8, I32: 4, I16: 2, I8: 1, U8: 1, BOOL: 1 };

export interface SafetensorsEntry {
  dtype: string;
  shape: number[];
  /** Byte range inside the data section. */
  begin: number;
  end: number;
}

/** A parsed file: the header, and float32 conversion of any tensor on demand. */
export class SafetensorsFile {
  constructor(
    readonly file: string,
    readonly entries: ReadonlyMap<string, SafetensorsEntry>,
    readonly metadata: Record<string, string>,
    private readonly data: Uint8Array,
  ) {}

  has(name: string): boolean {
    return this.entries.has(name);
  }

  /** The tensor as float32 (converted from F16 / BF16); errors name the file and tensor. */
  float32(name: string): { shape: number[]; data: Float32Array } {
    const entry = this.entries.get(name);
    if (entry === undefined) throw new ModelFormatError(this.file, name, "tensor missing");
    const bytes = this.data.subarray(entry.begin, entry.end);
    switch (entry.dtype) {
      case "F32": {
        const out = new Float32Array(bytes.length / 4);
        new Uint8Array(out.buffer).set(bytes); // copy: the source may be unaligned
        return { shape: entry.shape, data: out };
      }
      case "F16":
        return { shape: entry.shape, data: f16ToF32(copyU16(bytes)) };
      case "BF16":
        return { shape: entry.shape, data: bf16ToF32(copyU16(bytes)) };
      default:
        throw new ModelFormatError(this.file, name, `dtype ${entry.dtype} is not supported (expected F32, F16 or BF16)`);
    }
  }
}

function copyU16(bytes: Uint8Array): Uint16Array {
  const out = new Uint16Array(bytes.length / 2);
  new Uint8Array(out.buffer).set(bytes);
  return out;
}

/** IEEE half → float32, exact (subnormals, infinities and NaN included). */
export function f16ToF32(half: Uint16Array): Float32Array {
  const out = new Float32Array(half.length);
  const bits = new Uint32Array(out.buffer);
  for (let i = 0; i < half.length; i++) {
    const h = half[i]!;
    const sign = (h & 0x8000) << 16;
    const exp = (h >> 10) & 0x1f;
    const mant = h & 0x3ff;
    if (exp === 0) {
      // zero or subnormal: mant × 2^-24
      out[i] = (sign ? -1 : 1) * mant * 2 ** -24;
    } else if (exp === 0x1f) {
      bits[i] = sign | 0x7f800000 | (mant << 13);
    } else {
      bits[i] = sign | ((exp + 112) << 23) | (mant << 13);
    }
  }
  return out;
}

/** float32 → IEEE half, round to nearest even (overflow → ±inf); for writing f16 checkpoints. */
export function f32ToF16(values: Float32Array): Uint16Array {
  const out = new Uint16Array(values.length);
  const f = new Float32Array(1);
  const u = new Uint32Array(f.buffer);
  for (let i = 0; i < values.length; i++) {
    f[0] = values[i]!;
    const x = u[0]!;
    const sign = (x >>> 16) & 0x8000;
    const exp = (x >>> 23) & 0xff;
    let mant = x & 0x7fffff;
    if (exp === 0xff) { out[i] = sign | 0x7c00 | (mant !== 0 ? 0x200 : 0); continue; }
    let e = exp - 127 + 15;
    if (e >= 0x1f) { out[i] = sign | 0x7c00; continue; }
    if (e <= 0) {
      // subnormal half: shift the implicit-1 mantissa right, round to nearest even
      if (e < -10) { out[i] = sign; continue; }
      mant |= 0x800000;
      const shift = 14 - e;
      const half = 1 << (shift - 1);
      let m = mant >>> shift;
      const rest = mant & ((1 << shift) - 1);
      if (rest > half || (rest === half && (m & 1))) m++;
      out[i] = sign | m;
      continue;
    }
    let m = mant >>> 13;
    const rest = mant & 0x1fff;
    if (rest > 0x1000 || (rest === 0x1000 && (m & 1))) {
      m++;
      if (m === 0x400) { m = 0; e++; if (e >= 0x1f) { out[i] = sign | 0x7c00; continue; } }
    }
    out[i] = sign | (e << 10) | m;
  }
  return out;
}

/** float32 → bfloat16, round to nearest even (NaN kept NaN). */
export function f32ToBf16(values: Float32Array): Uint16Array {
  const out = new Uint16Array(values.length);
  const bits = new Uint32Array(values.buffer, values.byteOffset, values.length);
  for (let i = 0; i < values.length; i++) {
    const x = bits[i]!;
    if ((x & 0x7f800000) === 0x7f800000 && (x & 0x7fffff) !== 0) { out[i] = (x >>> 16) | 0x40; continue; }
    out[i] = ((x + 0x7fff + ((x >>> 16) & 1)) >>> 16) & 0xffff;
  }
  return out;
}

/** bfloat16 → float32: the high 16 bits of a float32. */
export function bf16ToF32(bf: Uint16Array): Float32Array {
  const out = new Float32Array(bf.length);
  const bits = new Uint32Array(out.buffer);
  for (let i = 0; i < bf.length; i++) bits[i] = bf[i]! << 16;
  return out;
}

/** Parse safetensors bytes; `file` names the file in errors. */
export function parseSafetensors(bytes: Uint8Array, file: string): SafetensorsFile {
  if (bytes.length < 8) throw new ModelFormatError(file, null, `too short to be safetensors (${bytes.length} bytes)`);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const headerLength = Number(view.getBigUint64(0, true));
  if (headerLength > bytes.length - 8)
    throw new ModelFormatError(file, null, `header length ${headerLength} exceeds the file size (${bytes.length} bytes); not a safetensors file?`);
  let header: unknown;
  try {
    header = JSON.parse(new TextDecoder().decode(bytes.subarray(8, 8 + headerLength)));
  } catch (err) {
    throw new ModelFormatError(file, null, `header is not valid JSON (${(err as Error).message})`);
  }
  if (typeof header !== "object" || header === null || Array.isArray(header))
    throw new ModelFormatError(file, null, "header is not a JSON object");
  const data = bytes.subarray(8 + headerLength);
  const entries = new Map<string, SafetensorsEntry>();
  let metadata: Record<string, string> = {};
  for (const [name, raw] of Object.entries(header as Record<string, unknown>)) {
    if (name === "__metadata__") {
      metadata = (raw ?? {}) as Record<string, string>;
      continue;
    }
    const e = raw as { dtype?: unknown; shape?: unknown; data_offsets?: unknown };
    if (typeof e !== "object" || e === null) throw new ModelFormatError(file, name, "header entry is not an object");
    if (typeof e.dtype !== "string" || !(e.dtype in BYTES)) throw new ModelFormatError(file, name, `unknown dtype ${JSON.stringify(e.dtype)}`);
    if (!Array.isArray(e.shape) || !e.shape.every((d) => Number.isInteger(d) && d >= 0))
      throw new ModelFormatError(file, name, `shape must be a list of non-negative integers, got ${JSON.stringify(e.shape)}`);
    const off = e.data_offsets;
    if (!Array.isArray(off) || off.length !== 2 || !off.every((o) => Number.isInteger(o) && o >= 0) || off[0] > off[1])
      throw new ModelFormatError(file, name, `data_offsets must be [begin, end], got ${JSON.stringify(off)}`);
    const [begin, end] = off as [number, number];
    if (end > data.length) throw new ModelFormatError(file, name, `data_offsets end ${end} is past the end of the data (${data.length} bytes); file truncated?`);
    const count = (e.shape as number[]).reduce((a, b) => a * b, 1);
    if (end - begin !== count * BYTES[e.dtype]!)
      throw new ModelFormatError(file, name, `byte range ${end - begin} does not match shape [${(e.shape as number[]).join(", ")}] × ${e.dtype}`);
    entries.set(name, { dtype: e.dtype, shape: e.shape as number[], begin, end });
  }
  return new SafetensorsFile(file, entries, metadata, data);
}

/** Read and parse a .safetensors file. */
export function readSafetensors(path: string): SafetensorsFile {
  let bytes: Uint8Array;
  try {
    bytes = readFileSync(path);
  } catch (err) {
    throw new ModelFormatError(path, null, `cannot read (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})`);
  }
  return parseSafetensors(bytes, path);
}

export interface TensorToWrite {
  shape: number[];
  data: Float32Array | Uint16Array;
  /** Default F32; F16/BF16 take the raw 16-bit words in `data` (used by tests). */
  dtype?: SafetensorsDtype;
}

/** Serialise tensors to safetensors bytes (header padded to 8 bytes, as HF writes it). */
export function serializeSafetensors(tensors: Record<string, TensorToWrite>, metadata: Record<string, string> = {}): Uint8Array {
  const names = Object.keys(tensors).sort();
  const header: Record<string, unknown> = {};
  if (Object.keys(metadata).length > 0) header["__metadata__"] = metadata;
  let offset = 0;
  for (const name of names) {
    const t = tensors[name]!;
    const dtype = t.dtype ?? "F32";
    const count = t.shape.reduce((a, b) => a * b, 1);
    if (count !== t.data.length) throw new Error(`serializeSafetensors: ${name}: shape [${t.shape.join(", ")}] holds ${count} values, data has ${t.data.length}`);
    if ((dtype === "F32") !== t.data instanceof Float32Array) throw new Error(`serializeSafetensors: ${name}: ${dtype} needs ${dtype === "F32" ? "Float32Array" : "Uint16Array"} data`);
    const size = t.data.byteLength;
    header[name] = { dtype, shape: t.shape, data_offsets: [offset, offset + size] };
    offset += size;
  }
  const json = new TextEncoder().encode(JSON.stringify(header));
  const headerBytes = new Uint8Array(json.length + ((8 - (json.length % 8)) % 8)).fill(0x20); // pad with spaces
  headerBytes.set(json);
  const out = new Uint8Array(8 + headerBytes.length + offset);
  new DataView(out.buffer).setBigUint64(0, BigInt(headerBytes.length), true);
  out.set(headerBytes, 8);
  let at = 8 + headerBytes.length;
  for (const name of names) {
    const d = tensors[name]!.data;
    out.set(new Uint8Array(d.buffer, d.byteOffset, d.byteLength), at);
    at += d.byteLength;
  }
  return out;
}

export function writeSafetensors(path: string, tensors: Record<string, TensorToWrite>, metadata: Record<string, string> = { format: "pt" }): void {
  writeFileSync(path, serializeSafetensors(tensors, metadata));
}
