/** Model benchmarks: the raw decode loop (what bench/ttfa compares a Forge run against). */
export { rawDecodeLoop } from "./decode.js";
export type { RawDecodeOptions, RawDecodeResult } from "./decode.js";
export { naiveDecodeLoop, naiveDecode, naiveCache } from "./naive.js";
