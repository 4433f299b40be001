/**
 * A minimal WebAssembly assembler for the host-side SIMD kernels: the sampler's
 * (forge/sampler/kernel.ts) and the constraint masks' (forge/ttfa/mask-kernel.ts). Both are
 * written as instruction bytes in TypeScript, so no build step or binary asset is needed, and
 * both may be instantiated on another module's memory (the tfjs wasm backend's heap) to read
 * the logits where the model wrote them.
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
