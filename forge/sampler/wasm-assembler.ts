/**
 * A minimal WebAssembly assembler for the host-side kernels: the sampler's
 * (forge/sampler/kernel.ts), its ranking module (forge/sampler/sort-kernel.ts) and the
 * constraint masks' (forge/ttfa/mask-kernel.ts). All are written as instruction bytes in
 * TypeScript, so no build step or binary asset is needed; the sampler's and the masks' may be
 * instantiated on another module's memory (the tfjs wasm backend's heap) to read the logits
 * where the model wrote them.
 */

/** Value types. */
export const I32 = 0x7f;
export const F32 = 0x7d;
export const V128 = 0x7b;

/** Unsigned LEB128 (sizes, counts, indices, memarg fields). */
export function uleb(n: number): number[] {
  const out: number[] = [];
  do {
    let byte = n & 0x7f;
    n >>>= 7;
    if (n !== 0) byte |= 0x80;
    out.push(byte);
  } while (n !== 0);
  return out;
}

/** Signed LEB128 of a 32-bit integer (i32.const immediates). */
export function sleb(n: number): number[] {
  const out: number[] = [];
  for (;;) {
    const byte = n & 0x7f;
    n >>= 7;
    if ((n === 0 && (byte & 0x40) === 0) || (n === -1 && (byte & 0x40) !== 0)) {
      out.push(byte);
      return out;
    }
    out.push(byte | 0x80);
  }
}

export const vec = (items: number[][]): number[] => [...uleb(items.length), ...items.flat()];
export const section = (id: number, body: number[]): number[] => [id, ...uleb(body.length), ...body];
export const name = (s: string): number[] => vec([...s].map((c) => [c.charCodeAt(0)]));
export const f32Bytes = (x: number): number[] => [...new Uint8Array(new Float32Array([x]).buffer)];

/** One exported function: its signature, its locals (after the parameters) and its body without the final `end`. */
export interface WasmFunction {
  name: string;
  params: number[];
  results: number[];
  locals: number[];
  body: number[];
}

/**
 * A module exporting `fns` (function k at index k) and its memory as `memory`.
 * `importMemory`: the memory is imported as env.memory (at least one page, no maximum) instead of defined.
 */
export function assemble(fns: WasmFunction[], importMemory = false): Uint8Array<ArrayBuffer> {
  const types = section(1, vec(fns.map((f) => [0x60, ...vec(f.params.map((t) => [t])), ...vec(f.results.map((t) => [t]))])));
  const imports = importMemory ? section(2, vec([[...name("env"), ...name("memory"), 0x02, 0x00, ...uleb(1)]])) : [];
  const funcs = section(3, vec(fns.map((_, k) => uleb(k))));
  const memory = importMemory ? [] : section(5, vec([[0x00, ...uleb(1)]]));
  const exports = section(7, vec([...fns.map((f, k) => [...name(f.name), 0x00, ...uleb(k)]), [...name("memory"), 0x02, 0x00]]));
  const code = section(
    10,
    vec(
      fns.map((f) => {
        // Locals in runs of one type each.
        const runs: number[][] = [];
        for (const t of f.locals) {
          const last = runs[runs.length - 1];
          if (last && last[1] === t) last[0]!++;
          else runs.push([1, t]);
        }
        const body = [...vec(runs.map(([count, t]) => [...uleb(count!), t!])), ...f.body, 0x0b];
        return [...uleb(body.length), ...body];
      }),
    ),
  );
  return new Uint8Array([0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00, ...types, ...imports, ...funcs, ...memory, ...exports, ...code]);
}

/*
 * The instruction tables the hand-assembled modules share (kernel.ts, sort-kernel.ts,
 * forge/ttfa/mask-kernel.ts): each entry is an instruction's bytes, or a function of its
 * immediates. Names are the text format's, typed (`i32Add` is i32.add); `v` holds the SIMD
 * ones, f32x4 unless named otherwise. Loads and stores without an offset argument use offset
 * 0 and the natural alignment (2: 4 bytes; v128: 4, 16 bytes); the alignment is a hint.
 */

/** Scalar and control instructions. */
export const op = {
  get: (i: number) => [0x20, ...uleb(i)],
  set: (i: number) => [0x21, ...uleb(i)],
  tee: (i: number) => [0x22, ...uleb(i)],
  i32: (n: number) => [0x41, ...sleb(n | 0)],
  f32: (x: number) => [0x43, ...f32Bytes(x)],
  f64: (x: number) => [0x44, ...new Uint8Array(new Float64Array([x]).buffer)],
  call: (f: number) => [0x10, ...uleb(f)],
  block: [0x02, 0x40],
  loop: [0x03, 0x40],
  if: [0x04, 0x40],
  else: [0x05],
  end: [0x0b],
  br: (d: number) => [0x0c, ...uleb(d)],
  brIf: (d: number) => [0x0d, ...uleb(d)],
  return: [0x0f],
  select: [0x1b],
  i32Load: [0x28, 2, 0],
  f32Load: [0x2a, 2, 0],
  i32Store: [0x36, 2, 0],
  f32Store: [0x38, 2, 0],
  /** i32.load / i32.store at a constant byte offset from the address on the stack. */
  i32LoadAt: (offset: number) => [0x28, 2, ...uleb(offset)],
  i32StoreAt: (offset: number) => [0x36, 2, ...uleb(offset)],
  i32Eqz: [0x45],
  i32Eq: [0x46],
  i32LtS: [0x48],
  i32LtU: [0x49],
  i32GtS: [0x4a],
  i32GtU: [0x4b],
  i32GeU: [0x4f],
  f32Eq: [0x5b],
  f32Gt: [0x5e],
  f32Ge: [0x60],
  f64Ge: [0x66],
  i32Add: [0x6a],
  i32Sub: [0x6b],
  i32Mul: [0x6c],
  i32And: [0x71],
  i32Xor: [0x73],
  i32Shl: [0x74],
  i32ShrU: [0x76],
  f32Add: [0x92],
  f32Mul: [0x94],
  f32Div: [0x95],
  f32Min: [0x96],
  f32Max: [0x97],
  f64Sub: [0xa1],
  f64PromoteF32: [0xbb],
  i32ReinterpretF32: [0xbc],
  /** memory.fill on memory 0 (dst, value, bytes on the stack). */
  memoryFill: [0xfc, ...uleb(11), 0x00],
  /** Any SIMD instruction by its opcode (prefix 0xfd) and immediates. */
  simd: (code: number, ...imm: number[]) => [0xfd, ...uleb(code), ...imm],
};

const splatBytes = (x: number) => [...f32Bytes(x), ...f32Bytes(x), ...f32Bytes(x), ...f32Bytes(x)];
const laneBytes = (lanes: number[]) => lanes.flatMap((l) => [4 * l, 4 * l + 1, 4 * l + 2, 4 * l + 3]);

/** SIMD instructions (f32x4 arithmetic and comparisons; v128 loads, stores and bitwise operations). */
export const v = {
  load: op.simd(0x00, 4, 0),
  store: op.simd(0x0b, 4, 0),
  /** v128.load / v128.store at a constant byte offset from the address on the stack (`align`: log2 bytes promised, a hint). */
  loadAt: (offset: number, align = 4) => op.simd(0x00, align, ...uleb(offset)),
  storeAt: (offset: number, align = 4) => op.simd(0x0b, align, ...uleb(offset)),
  /** v128.const of four equal float32. */
  splat: (x: number) => op.simd(0x0c, ...splatBytes(x)),
  /** i8x16.shuffle picking 32-bit lanes (0–3: first operand, 4–7: second). */
  lanes: (a: number, b: number, c: number, d: number) => op.simd(0x0d, ...laneBytes([a, b, c, d])),
  /** The first operand's upper half twice (lanes 2, 3, 2, 3): the first step of a lane reduction. */
  shuffle2323: op.simd(0x0d, ...laneBytes([2, 3, 2, 3])),
  f32x4Splat: op.simd(0x13),
  extract: (lane: number) => op.simd(0x1f, lane),
  replaceLane: (lane: number) => op.simd(0x20, lane),
  eq: op.simd(0x41),
  lt: op.simd(0x43),
  ge: op.simd(0x46),
  and: op.simd(0x4e),
  andnot: op.simd(0x4f),
  or: op.simd(0x50),
  bitselect: op.simd(0x52),
  anyTrue: op.simd(0x53),
  /** i32x4.shl */
  shl: op.simd(0xab),
  add: op.simd(0xe4),
  sub: op.simd(0xe5),
  mul: op.simd(0xe6),
  div: op.simd(0xe7),
  pmin: op.simd(0xea),
  pmax: op.simd(0xeb),
};

/** Byte address of element `i` (a local) of the float32/i32 array at byte address `base` (a local). */
export const addr = (base: number, i: number) => [...op.get(base), ...op.get(i), ...op.i32(2), ...op.i32Shl, ...op.i32Add];

/** `for (i = start; i < end; i += step) body` with i and end locals (unsigned compare). */
export const forLoop = (i: number, start: number[], end: number, step: number, body: number[]) => [
  ...start, ...op.set(i),
  ...op.block, ...op.loop,
  ...op.get(i), ...op.get(end), ...op.i32GeU, ...op.brIf(1),
  ...body,
  ...op.get(i), ...op.i32(step), ...op.i32Add, ...op.set(i),
  ...op.br(0),
  ...op.end, ...op.end,
];
