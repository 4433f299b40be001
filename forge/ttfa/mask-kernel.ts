/**
 * Masked row copies for constrained sampling on host logits (forge/ttfa/mask.ts): rows of
 * `logits` copied into this module's memory with −∞ wherever a per-state bitset (bit v set:
 * token v allowed) has a zero, in one WebAssembly SIMD pass (v128.bitselect of the row and
 * −∞ under a lane mask looked up by each 4-bit nibble of the bitset; a word with every bit
 * set is skipped). The sampler then reads the masked rows in place.
 *
 * Why a module of its own: a scalar JavaScript scatter of −∞ over 20 000 disallowed ids
 * costs ≈ 35 µs per row on the shared machine, ten times the goal of issue 18 §3; this pass
 * is a copy plus one SIMD select. The allowed values are copied bit for bit, so the rows equal
 * maskLogitsInPlace's output exactly. Where WebAssembly SIMD is missing the same copy runs in
 * plain JavaScript.
 */

const NEG_INF_BITS = [0x00, 0x00, 0x80, 0xff];
/** Bytes before the bitset: 16 lane masks of 16 bytes (mask n has lane j all ones when bit j of n is set). */
const LUT_BYTES = 256;

/** Signed LEB128 of a 32-bit integer (i32.const immediates). */
function sleb(n: number): number[] {
  const out: number[] = [];
  for (;;) {
    const byte = n & 0x7f;
    n >>= 7;
    if ((n === 0 && (byte & 0x40) === 0) || (n === -1 && (byte & 0x40) !== 0)) return [...out, byte];
    out.push(byte | 0x80);
  }
}

/** Unsigned LEB128 (sizes, counts, memarg fields). */
function uleb(n: number): number[] {
  const out: number[] = [];
  do {
    let byte = n & 0x7f;
    n >>>= 7;
    if (n !== 0) byte |= 0x80;
    out.push(byte);
  } while (n !== 0);
  return out;
}

const section = (id: number, body: number[]) => [id, ...uleb(body.length), ...body];
const vec = (items: number[][]) => [...uleb(items.length), ...items.flat()];
const name = (s: string) => [...uleb(s.length), ...Array.from(s, (c) => c.charCodeAt(0))];

/**
 * `maskwords(x, bits, words)`: for each of `words` 32-bit words at byte address `bits`, the
 * 32 float32 at `x` (advancing 128 bytes a word) keep their value where the word's bit is set
 * and become −∞ where it is clear.
 */
function maskwordsBody(): number[] {
  const [X, BITS, WORDS, W, NINF] = [0, 1, 2, 3, 4];
  const get = (l: number) => [0x20, l];
  const set = (l: number) => [0x21, l];
  const i32 = (n: number) => [0x41, ...sleb(n)];
  const simd = (op: number, ...imm: number[]) => [0xfd, ...uleb(op), ...imm];
  const memarg = (offset: number) => [0x00, ...uleb(offset)];
  const lane = (j: number) => [
    ...get(X), // store address
    ...get(X), ...simd(0x00, ...memarg(16 * j)), // v128.load x + 16j
    ...get(NINF),
    // nibble j of the word, times 16: the lane mask's address in the table at 0
    ...get(W), ...(j === 0 ? [...i32(4), 0x74] : [...i32(4 * j - 4), 0x76]), ...i32(0xf0), 0x71,
    ...simd(0x00, ...memarg(0)),
    ...simd(0x52), // v128.bitselect(value, −∞, mask)
    ...simd(0x0b, ...memarg(16 * j)), // v128.store x + 16j
  ];
  const code = [
    ...simd(0x0c, ...Array.from({ length: 4 }, () => NEG_INF_BITS).flat()), ...set(NINF),
    0x02, 0x40, // block $done
    0x03, 0x40, // loop $next
    ...get(WORDS), 0x45, 0x0d, 0x01, // words == 0 → $done
    ...get(BITS), 0x28, 0x02, 0x00, ...set(W), // w = bits[0]
    0x02, 0x40, // block $word
    ...get(W), ...i32(-1), 0x46, 0x0d, 0x00, // every token allowed: the copied values stand
    ...Array.from({ length: 8 }, (_, j) => lane(j)).flat(),
    0x0b, // end $word
    ...get(X), ...i32(128), 0x6a, ...set(X),
    ...get(BITS), ...i32(4), 0x6a, ...set(BITS),
    ...get(WORDS), ...i32(1), 0x6b, ...set(WORDS),
    0x0c, 0x00, // br $next
    0x0b, // end loop
    0x0b, // end block
    0x0b, // end function
  ];
  const locals = vec([[1, 0x7f], [1, 0x7b]]); // w: i32, −∞ splat: v128
  const body = [...locals, ...code];
  return [...uleb(body.length), ...body];
}

/** The module's bytes (for tests: WebAssembly.validate). */
export function maskKernelBytes(): Uint8Array<ArrayBuffer> {
  return Uint8Array.from([
    0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00,
    ...section(1, vec([[0x60, 3, 0x7f, 0x7f, 0x7f, 0]])),
    ...section(3, vec([[0]])),
    ...section(5, vec([[0x00, 1]])),
    ...section(7, vec([[...name("memory"), 0x02, 0], [...name("maskwords"), 0x00, 0]])),
    ...section(10, vec([maskwordsBody()])),
  ]);
}

interface Module {
  memory: WebAssembly.Memory;
  maskwords: (x: number, bits: number, words: number) => void;
}

let compiled: Module | null | undefined;

function simdModule(): Module | null {
  if (compiled !== undefined) return compiled;
  try {
    const instance = new WebAssembly.Instance(new WebAssembly.Module(maskKernelBytes()));
    const e = instance.exports as unknown as Module;
    const lut = new Uint32Array(e.memory.buffer, 0, LUT_BYTES / 4);
    for (let n = 0; n < 16; n++) for (let j = 0; j < 4; j++) lut[4 * n + j] = (n >> j) & 1 ? 0xffffffff : 0;
    compiled = e;
  } catch {
    compiled = null; // no WebAssembly SIMD here: the JavaScript copy below
  }
  return compiled;
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
 * as zero). Returns a view that stays valid until the next call (it may live in the module's
 * memory); the caller reads it at once.
 */
export function maskedRowCopies(logits: Float32Array, width: number, rows: ArrayLike<number>, bitsOf: (row: number) => Uint32Array): Float32Array {
  const n = rows.length;
  const words = width >>> 5; // whole words; the last width mod 32 columns in JavaScript
  const module = kernelEnabled ? simdModule() : null;
  let out: Float32Array;
  let bitsAt = 0;
  let u32: Uint32Array | null = null;
  if (module) {
    const wordCount = Math.ceil(width / 32);
    bitsAt = LUT_BYTES;
    const rowsAt = bitsAt + ((wordCount * 4 + 15) & ~15);
    const bytes = rowsAt + n * width * 4;
    const memory = module.memory;
    if (memory.buffer.byteLength < bytes) memory.grow(Math.ceil((bytes - memory.buffer.byteLength) / 65536));
    out = new Float32Array(memory.buffer, rowsAt, n * width);
    u32 = new Uint32Array(memory.buffer, bitsAt, wordCount);
  } else {
    if (jsRows.length < n * width) jsRows = new Float32Array(n * width);
    out = jsRows.subarray(0, n * width);
  }
  for (let k = 0; k < n; k++) {
    const r = rows[k]!;
    const bits = bitsOf(r);
    const at = k * width;
    out.set(logits.subarray(r * width, r * width + width), at);
    if (module) {
      // The bitset into the module, zeros past its end (columns no state allows).
      const have = Math.min(bits.length, u32!.length);
      u32!.set(have === bits.length ? bits : bits.subarray(0, have));
      if (have < u32!.length) u32!.fill(0, have);
      module.maskwords(out.byteOffset + at * 4, bitsAt, words);
    } else {
      for (let w = 0; w < words; w++) {
        const word = w < bits.length ? bits[w]! : 0;
        if (word === -1 || word === 0xffffffff) continue;
        for (let j = 0; j < 32; j++) if (((word >>> j) & 1) === 0) out[at + 32 * w + j] = -Infinity;
      }
    }
    for (let v = words * 32; v < width; v++) {
      const w = v >>> 5;
      if (w >= bits.length || ((bits[w]! >>> (v & 31)) & 1) === 0) out[at + v] = -Infinity;
    }
  }
  return out;
}
