/**
 * Masked row copies of host logits (forge/ttfa/mask.ts maskLogitsInPlace, which the
 * instruments use): rows of `logits` copied with −∞ wherever a per-state bitset (bit v set:
 * token v allowed) has a zero, in one WebAssembly SIMD pass (v128.bitselect of the row and −∞
 * under a lane mask looked up by each 4-bit nibble of the bitset). The engine's sampling no
 * longer copies: the sampler applies the bitset in its own passes (forge/sampler/kernel.ts,
 * the masked passes); the heap form below is what it did before, kept for
 * bench/ttfa/constraints.ts's comparison with that path.
 *
 * Where the logits lie in the tfjs wasm backend's heap, the module is instantiated on that
 * memory (as the sampler's is, forge/sampler/host.ts LogitsHeap) and reads each row where it
 * is: one pass per row, copy and select together. Elsewhere the rows are copied into the
 * module's own memory first and selected in place.
 *
 * Why a module of its own: a scalar JavaScript scatter of −∞ over 20 000 disallowed ids
 * costs ≈ 35 µs per row on the shared machine, several times the goal of issue 18 §3. The
 * allowed values are copied bit for bit, so the rows equal maskLogitsInPlace's output
 * exactly. Where WebAssembly SIMD is missing the same copy runs in plain JavaScript.
 */

import { assemble, I32, op, V128, v, type WasmFunction } from "../sampler/wasm-assembler.js";
import { LANE_MASK_BYTES as LUT_BYTES, wordMask, writeLaneMasks } from "../sampler/kernel.js";


/**
 * `maskcopy(src, dst, bits, words, lut)`: for each of `words` 32-bit words at byte address
 * `bits`, the 32 float32 at `src` are written to `dst` (both advancing 128 bytes a word) where
 * the word's bit is set, and −∞ where it is clear; `lut` is the byte address of the 16 lane
 * masks. `src` may equal `dst`.
 */
function maskcopyFunction(): WasmFunction {
  const [SRC, DST, BITS, WORDS, LUT, W, NINF] = [0, 1, 2, 3, 4, 5, 6];
  const ALIGN = 0; // the rows need not be 16-byte aligned (an alignment hint of 1 byte)
  const lane = (j: number) => [
    ...op.get(DST), // store address
    ...op.get(SRC), ...v.loadAt(16 * j, ALIGN), // src + 16j
    ...op.get(NINF),
    ...wordMask(W, LUT, j), // the lane mask of nibble j of the word
    ...v.bitselect, // (value, −∞, mask)
    ...v.storeAt(16 * j, ALIGN), // dst + 16j
  ];
  const code = [
    ...v.splat(-Infinity), ...op.set(NINF),
    ...op.block, // $done
    ...op.loop, // $next
    ...op.get(WORDS), ...op.i32Eqz, ...op.brIf(1), // words == 0 → $done
    ...op.get(BITS), ...op.i32Load, ...op.set(W), // w = bits[0]
    ...Array.from({ length: 8 }, (_, j) => lane(j)).flat(),
    ...op.get(SRC), ...op.i32(128), ...op.i32Add, ...op.set(SRC),
    ...op.get(DST), ...op.i32(128), ...op.i32Add, ...op.set(DST),
    ...op.get(BITS), ...op.i32(4), ...op.i32Add, ...op.set(BITS),
    ...op.get(WORDS), ...op.i32(1), ...op.i32Sub, ...op.set(WORDS),
    ...op.br(0), // $next
    ...op.end, // loop
    ...op.end, // block
  ];
  return { name: "maskcopy", params: [I32, I32, I32, I32, I32], results: [], locals: [I32, V128], body: code }; // locals w, −∞ splat
}

/**
 * The module's bytes (for tests: WebAssembly.validate): with a memory of its own (exported as
 * `memory`), or importing `env.memory` (another module's heap, as the tfjs wasm backend's).
 */
export function maskKernelBytes(importMemory = false): Uint8Array<ArrayBuffer> {
  return assemble([maskcopyFunction()], importMemory);
}

type MaskCopy = (src: number, dst: number, bits: number, words: number, lut: number) => void;

interface Module {
  memory: WebAssembly.Memory;
  maskcopy: MaskCopy;
}

let compiled: Module | null | undefined;

/** The 16 lane masks at `byteAddress` (a multiple of 16) of `buffer`. */
const writeLut = (buffer: ArrayBuffer, byteAddress: number) => writeLaneMasks(new Uint32Array(buffer), byteAddress / 4);

function simdModule(): Module | null {
  if (compiled !== undefined) return compiled;
  try {
    const instance = new WebAssembly.Instance(new WebAssembly.Module(maskKernelBytes()));
    const e = instance.exports as unknown as Module;
    writeLut(e.memory.buffer, 0);
    compiled = e;
  } catch {
    compiled = null; // no WebAssembly SIMD here: the JavaScript copy below
  }
  return compiled;
}

/**
 * Another module's memory holding the logits, and its allocator (the tfjs wasm backend's
 * heap: forge/sampler/dispatch.ts wasmHeap). The masked copies are then made there in one
 * pass and the sampler reads them in place.
 */
export interface HostHeap {
  memory: WebAssembly.Memory;
  malloc(bytes: number): number;
}

/** Per heap: the module instantiated on it, and its scratch (lane masks, bitset, rows) from the heap's allocator. */
const onHeaps = new WeakMap<WebAssembly.Memory, { maskcopy: MaskCopy; address: number; bytes: number } | null>();

function heapModule(heap: HostHeap, bytes: number): { maskcopy: MaskCopy; address: number } | null {
  let entry = onHeaps.get(heap.memory);
  if (entry === null) return null;
  if (entry === undefined) {
    try {
      const instance = new WebAssembly.Instance(new WebAssembly.Module(maskKernelBytes(true)), { env: { memory: heap.memory } });
      entry = { maskcopy: (instance.exports as unknown as Module).maskcopy, address: 0, bytes: 0 };
    } catch {
      onHeaps.set(heap.memory, null);
      return null;
    }
    onHeaps.set(heap.memory, entry);
  }
  if (entry.bytes < bytes) {
    // Reserved once per size (a larger width or row count reserves anew; the old block is kept, as the sampler keeps its own).
    entry.address = (heap.malloc(bytes + 16) + 15) & ~15;
    entry.bytes = bytes;
    writeLut(heap.memory.buffer, entry.address);
  }
  return entry;
}
let kernelEnabled = true;

/** Whether masked copies use the SIMD module (default) or plain JavaScript. For tests. */
export function useMaskKernel(enabled: boolean): void {
  kernelEnabled = enabled;
}

/** Region of plain-JavaScript rows when the module is off or missing. */
let jsRows = new Float32Array(0);

/**
 * Rows `rows[k]` of `logits` ([*, width] row-major) copied into one [rows.length × width]
 * block with −∞ wherever `bitsOf(rows[k])` has a zero bit (bits past the bitset's end count
 * as zero). Returns a view that stays valid until the next call; the caller reads it at once.
 * When `heap` holds the logits, the block is made in the heap in one pass (copy and select
 * together) and lies in it; `logits` is then read through a fresh view of the heap, as
 * reserving the block may grow it.
 */
export function maskedRowCopies(logits: Float32Array, width: number, rows: ArrayLike<number>, bitsOf: (row: number) => Uint32Array, heap?: HostHeap): Float32Array {
  const n = rows.length;
  const words = width >>> 5; // whole words; the last width mod 32 columns in JavaScript
  const wordCount = Math.ceil(width / 32);
  const bitsBytes = (wordCount * 4 + 15) & ~15;
  const srcByte = logits.byteOffset; // before reserving: a grown heap detaches `logits`
  const srcLength = logits.length;
  const onHeap = kernelEnabled && heap !== undefined && logits.buffer === heap.memory.buffer ? heapModule(heap, LUT_BYTES + bitsBytes + n * width * 4) : null;
  const module = onHeap === null && kernelEnabled ? simdModule() : null;
  let out: Float32Array;
  let src = logits;
  let u32: Uint32Array | null = null;
  let lutAt = 0;
  let maskcopy: MaskCopy | null = null;
  if (onHeap) {
    const buffer = heap!.memory.buffer;
    src = new Float32Array(buffer, srcByte, srcLength);
    lutAt = onHeap.address;
    u32 = new Uint32Array(buffer, lutAt + LUT_BYTES, wordCount);
    out = new Float32Array(buffer, lutAt + LUT_BYTES + bitsBytes, n * width);
    maskcopy = onHeap.maskcopy;
  } else if (module) {
    const rowsAt = LUT_BYTES + bitsBytes;
    const bytes = rowsAt + n * width * 4;
    const memory = module.memory;
    if (memory.buffer.byteLength < bytes) memory.grow(Math.ceil((bytes - memory.buffer.byteLength) / 65536));
    out = new Float32Array(memory.buffer, rowsAt, n * width);
    u32 = new Uint32Array(memory.buffer, LUT_BYTES, wordCount);
    maskcopy = module.maskcopy;
  } else {
    if (jsRows.length < n * width) jsRows = new Float32Array(n * width);
    out = jsRows.subarray(0, n * width);
  }
  for (let k = 0; k < n; k++) {
    const r = rows[k]!;
    const bits = bitsOf(r);
    const at = k * width;
    const from = r * width;
    if (maskcopy) {
      // The bitset into the module's memory, zeros past its end (columns no state allows).
      const have = Math.min(bits.length, wordCount);
      u32!.set(have === bits.length ? bits : bits.subarray(0, have));
      if (have < wordCount) u32!.fill(0, have);
      if (onHeap) maskcopy(src.byteOffset + from * 4, out.byteOffset + at * 4, u32!.byteOffset, words, lutAt);
      else {
        out.set(src.subarray(from, from + words * 32), at);
        maskcopy(out.byteOffset + at * 4, out.byteOffset + at * 4, u32!.byteOffset, words, lutAt);
      }
    } else {
      out.set(src.subarray(from, from + words * 32), at);
      for (let w = 0; w < words; w++) {
        const word = w < bits.length ? bits[w]! : 0;
        if (word === -1 || word === 0xffffffff) continue;
        for (let j = 0; j < 32; j++) if (((word >>> j) & 1) === 0) out[at + 32 * w + j] = -Infinity;
      }
    }
    for (let v = words * 32; v < width; v++) {
      const w = v >>> 5;
      out[at + v] = w < bits.length && ((bits[w]! >>> (v & 31)) & 1) !== 0 ? src[from + v]! : -Infinity;
    }
  }
  return out;
}
