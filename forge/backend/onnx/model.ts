/**
 * The decoder on ONNX Runtime (CPU execution provider), behind the engine's StepModel seam
 * (forge/model/step-model.ts). The graph is graph.ts's; this file holds the session and the
 * KV cache.
 *
 * The cache, per layer: each stream's own columns (keys [B, kvHeads, M, D], values transposed
 * [B, kvHeads, D, M]) and the shared prefix held once (keys transposed [kvHeads, D, P], values
 * [kvHeads, P, D]), all host Float32Arrays that the graph reads as inputs without a copy. A run
 * returns only its new columns, which are written here at each row's own length: rows are
 * always packed from column 0, a held row (active 0) writes nothing, and compaction has
 * nothing to do. M grows in chunks as rows lengthen (one copy of the cache per growth).
 *
 * With `kvCache: "int8"` the own columns are Int8Arrays in the same layout, each (row, kv head,
 * column) with one float scale (absmax of its D values / 127; keys [B, kvH, M], values
 * [B, kvH, M]), quantized here as the columns are written in; the graph casts them and applies
 * the scales (graph.ts). A quarter of the f32 cache's memory plus 1/16 for the scales.
 *
 * Runs are synchronous (the native binding's own `run`, as the tfjs decoder's are), with every
 * output pre-allocated: logits land in a reused Float32Array; the tfjs sampler then reads
 * them as a tensor (one copy; a typed-array sampler, issue 21, would read them directly).
 */
import * as tf from "@tensorflow/tfjs";
import { readdirSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import { availableParallelism } from "node:os";
import type { DecoderConfig } from "../../model/config.js";
import type { DecoderModel } from "../../model/decoder.js";
import type { Linear, Norm } from "../../model/weights.js";
import { ModelUsageError } from "../../model/errors.js";
import type { StepCache, StepModel } from "../../model/step-model.js";
import { buildDecoderGraph, IO, type HostLinear, type HostNorm, type HostWeights, type KvFormat, type WeightFormat } from "./graph.js";
import { runProbe } from "./probe.js";

type Ort = typeof import("onnxruntime-node");
type OrtTensor = InstanceType<Ort["Tensor"]>;

/** The native session's synchronous surface (onnxruntime-node's binding). */
interface NativeSession {
  loadModel(buffer: ArrayBuffer, byteOffset: number, byteLength: number, options: object): unknown;
  run(feeds: Record<string, OrtTensor>, fetches: Record<string, OrtTensor | null>, options: object): Record<string, unknown>;
  dispose(): void;
}
interface NativeBinding {
  binding: { InferenceSession: new () => NativeSession };
  initOrt(): void;
}

export interface OnnxOptions {
  /** Intra-op threads; default $FORGE_ONNX_THREADS, else os.availableParallelism(). */
  threads?: number;
  /** Cache columns added per growth (default 64). */
  chunk?: number;
  /**
   * Execution provider: "cpu"; "cuda" (fails when ONNX Runtime's CUDA binaries are absent);
   * "auto" (CUDA when it starts, else CPU). Default: $FORGE_ONNX_PROVIDER, else "cpu".
   */
  provider?: OnnxProvider;
  /**
   * Weight storage: "f32" (default), or "int8" (MatMulNBits, blocks of 32; graph.ts) — a quarter
   * of the weight memory, at the quality cost bench/engine/README.md measures. Default
   * $FORGE_ONNX_WEIGHTS, else "f32".
   */
  weights?: WeightFormat;
  /**
   * Storage of each stream's own KV-cache columns: "f32" (default) or "int8" (graph.ts's
   * KvFormat; bench/engine/README.md "int8 KV cache" measures its quality, speed and memory).
   * Default $FORGE_ONNX_KV, else "f32".
   */
  kvCache?: KvFormat;
  /**
   * ONNX Runtime's CPU memory arena (and memory patterns) for the run's intermediate tensors.
   * Off, each is allocated and freed as it goes: no arena holding its high-water mark (the
   * int8 cache's per-layer cast of a batch's columns is 0.4 GiB at 256 × 2 048), at the price
   * of fresh pages for the large ones (page faults: at batch 64 × 1 024 columns the int8 cache
   * ran 1.5× the CPU time with it off). Turn it off for batches near the memory's limit
   * (bench/engine/README.md, "Memory"). Default $FORGE_ONNX_ARENA ("0" or "1"), else on.
   */
  arena?: boolean;
  /** selectEngine only: keep a folder-loaded model's tfjs weights after the session is built (default: released). */
  keepTfjsWeights?: boolean;
}

/** Environment variable: the ONNX engine's weight storage, "f32" or "int8". */
export const ONNX_WEIGHTS_ENV = "FORGE_ONNX_WEIGHTS";
/** Environment variable: "0" or "1" turns ONNX Runtime's CPU memory arena off or on (OnnxOptions.arena). */
export const ONNX_ARENA_ENV = "FORGE_ONNX_ARENA";
/** Environment variable: the ONNX engine's KV-cache storage (own columns), "f32" or "int8". */
export const ONNX_KV_ENV = "FORGE_ONNX_KV";

export type OnnxProvider = "cpu" | "cuda" | "auto";

/** Environment variable: intra-op threads of the ONNX engine. */
export const ONNX_THREADS_ENV = "FORGE_ONNX_THREADS";

/** Additive mask value for a column a row must not see (finite, as the tfjs decoder's). */
const MASKED = -1e9;
/**
 * Environment variable: "cuda" runs the graph on ONNX Runtime's CUDA execution provider
 * (bench/engine/gpu.sh; needs onnxruntime-node installed with its CUDA binaries), "auto" tries
 * CUDA and falls back to the CPU, "cpu" (default). Never run on a GPU so far (no GPU machine
 * was lent): the KV cache is host memory, copied to the device at every run.
 */
export const ONNX_PROVIDER_ENV = "FORGE_ONNX_PROVIDER";
/** Environment variable: "1" lets idle intra-op threads spin (ONNX Runtime's default; off here). */
export const ONNX_SPIN_ENV = "FORGE_ONNX_SPIN";

let loaded: { ort: Ort; native: NativeBinding } | null = null;

/** onnxruntime-node, or an Error saying why it cannot be used here. */
export async function loadOnnxRuntime(): Promise<{ ort: Ort; native: NativeBinding }> {
  if (loaded !== null) return loaded;
  const ort = (await import("onnxruntime-node")) as Ort & { default?: Ort };
  const require = createRequire(import.meta.url);
  const native = require("onnxruntime-node/dist/binding.js") as NativeBinding;
  loaded = { ort: ort.default ?? ort, native };
  return loaded;
}

/** The weights of a tfjs decoder as host arrays (one copy; the tfjs tensors stay as they are). */
export function hostWeights(model: DecoderModel): HostWeights {
  const w = model.weights;
  const arr = (t: tf.Tensor) => t.dataSync() as Float32Array;
  const lin = (l: Linear): HostLinear => ({ w: arr(l.w), b: l.b === null ? null : arr(l.b) });
  const norm = (n: Norm): HostNorm => ({ gain: arr(n.gain), bias: n.bias === null ? null : arr(n.bias) });
  return {
    tokenEmbedding: arr(w.tokenEmbedding),
    positionEmbedding: w.positionEmbedding === null ? null : arr(w.positionEmbedding),
    layers: w.layers.map((l) => ({ attnNorm: norm(l.attnNorm), qkv: lin(l.qkv), attnOut: lin(l.attnOut), mlpNorm: norm(l.mlpNorm), mlpIn: lin(l.mlpIn), mlpOut: lin(l.mlpOut) })),
    finalNorm: norm(w.finalNorm),
    head: arr(w.head),
  };
}

/** The KV cache of the ONNX decoder (see the file comment). */
export class OnnxKvCache implements StepCache {
  /** Own columns allocated per row (M). */
  columns = 0;
  /** Per layer: keys [B, kvH, M, D], values transposed [B, kvH, D, M]; Int8Arrays when format is "int8". */
  ownKeys: Array<Float32Array | Int8Array> = [];
  ownValues: Array<Float32Array | Int8Array> = [];
  ownKeyTensors: OrtTensor[] = [];
  ownValueTensors: OrtTensor[] = [];
  /** int8 only, per layer: one scale per (row, kv head, column), [B, kvH, M] (empty for f32). */
  ownKeyScales: Float32Array[] = [];
  ownValueScales: Float32Array[] = [];
  ownKeyScaleTensors: OrtTensor[] = [];
  ownValueScaleTensors: OrtTensor[] = [];
  /** Own columns each row holds. */
  readonly rowLength: Int32Array;
  /** The shared prefix (a masked one-column placeholder when none is attached). */
  prefixLength = 0;
  prefixKeyTensors: OrtTensor[] = [];
  prefixValueTensors: OrtTensor[] = [];
  private disposed = false;

  constructor(
    private readonly ort: Ort,
    readonly batch: number,
    readonly capacity: number,
    readonly layers: number,
    readonly kvHeads: number,
    readonly headDim: number,
    readonly chunk: number,
    readonly format: KvFormat = "f32",
  ) {
    this.rowLength = new Int32Array(batch);
    const placeholder = new this.ort.Tensor("float32", new Float32Array(kvHeads * headDim), [kvHeads, headDim, 1]);
    const placeholderV = new this.ort.Tensor("float32", new Float32Array(kvHeads * headDim), [kvHeads, 1, headDim]);
    for (let l = 0; l < layers; l++) {
      this.prefixKeyTensors.push(placeholder);
      this.prefixValueTensors.push(placeholderV);
    }
  }

  get length(): number {
    let most = 0;
    for (const n of this.rowLength) most = Math.max(most, n);
    return most;
  }

  checkUsable(): void {
    if (this.disposed) throw new ModelUsageError("KV cache used after dispose()");
  }

  /** Room for `n` more own columns in every row. */
  reserve(n: number): void {
    const need = Math.max(1, this.length + n);
    if (need <= this.columns) return;
    this.resize(Math.ceil(need / this.chunk) * this.chunk);
  }

  /** Reallocate every layer with `columns` own columns per row, keeping what fits. */
  resize(columns: number): void {
    const { batch: B, kvHeads: H, headDim: D } = this;
    const old = this.columns;
    const keep = Math.min(old, columns);
    const int8 = this.format === "int8";
    const type = int8 ? "int8" : "float32";
    for (let l = 0; l < this.layers; l++) {
      const kOld = this.ownKeys[l];
      const vOld = this.ownValues[l];
      const k = int8 ? new Int8Array(B * H * columns * D) : new Float32Array(B * H * columns * D);
      const v = int8 ? new Int8Array(B * H * D * columns) : new Float32Array(B * H * D * columns);
      if (kOld !== undefined && vOld !== undefined && keep > 0) {
        for (let bh = 0; bh < B * H; bh++) k.set(kOld.subarray(bh * old * D, (bh * old + keep) * D), bh * columns * D);
        for (let r = 0; r < B * H * D; r++) v.set(vOld.subarray(r * old, r * old + keep), r * columns);
      }
      this.ownKeys[l] = k;
      this.ownValues[l] = v;
      this.ownKeyTensors[l] = new this.ort.Tensor(type, k, [B, H, columns, D]);
      this.ownValueTensors[l] = new this.ort.Tensor(type, v, [B, H, D, columns]);
      if (!int8) continue;
      const scales = [this.ownKeyScales, this.ownValueScales].map((list) => {
        const before = list[l];
        const now = new Float32Array(B * H * columns);
        if (before !== undefined && keep > 0) for (let bh = 0; bh < B * H; bh++) now.set(before.subarray(bh * old, bh * old + keep), bh * columns);
        list[l] = now;
        return now;
      });
      this.ownKeyScaleTensors[l] = new this.ort.Tensor("float32", scales[0]!, [B, H, columns, 1]);
      this.ownValueScaleTensors[l] = new this.ort.Tensor("float32", scales[1]!, [B, H, 1, columns]);
    }
    this.columns = columns;
  }

  /** Write `n` new columns of row b (from [rows, S, kvH·D] outputs, row `from`, tokens 0..n−1) at its length. */
  append(l: number, b: number, n: number, newKeys: Float32Array, newValues: Float32Array, from: number, S: number): void {
    const { kvHeads: H, headDim: D, columns: M } = this;
    const k = this.ownKeys[l]!;
    const v = this.ownValues[l]!;
    const at = this.rowLength[b]!;
    if (this.format === "int8") {
      const kScales = this.ownKeyScales[l]!;
      const vScales = this.ownValueScales[l]!;
      for (let j = 0; j < n; j++) {
        const src = (from * S + j) * H * D;
        for (let h = 0; h < H; h++) {
          const column = (b * H + h) * M + at + j;
          kScales[column] = quantizeColumn(newKeys, src + h * D, D, k, column * D, 1);
          vScales[column] = quantizeColumn(newValues, src + h * D, D, v, (b * H + h) * D * M + at + j, M);
        }
      }
      return;
    }
    for (let j = 0; j < n; j++) {
      const src = (from * S + j) * H * D;
      for (let h = 0; h < H; h++) {
        k.set(newKeys.subarray(src + h * D, src + (h + 1) * D), ((b * H + h) * M + at + j) * D);
        const vBase = (b * H + h) * D * M + at + j;
        for (let d = 0; d < D; d++) v[vBase + d * M] = newValues[src + h * D + d]!;
      }
    }
  }

  /** The shared prefix from a batch-1 run's new columns ([1, n, kvH·D] per layer). */
  setPrefix(n: number, keys: Float32Array[], values: Float32Array[]): void {
    const { kvHeads: H, headDim: D } = this;
    this.prefixKeyTensors = [];
    this.prefixValueTensors = [];
    for (let l = 0; l < this.layers; l++) {
      const kT = new Float32Array(H * D * n);
      const v = new Float32Array(H * n * D);
      for (let j = 0; j < n; j++)
        for (let h = 0; h < H; h++)
          for (let d = 0; d < D; d++) {
            kT[(h * D + d) * n + j] = keys[l]![(j * H + h) * D + d]!;
            v[(h * n + j) * D + d] = values[l]![(j * H + h) * D + d]!;
          }
      this.prefixKeyTensors.push(new this.ort.Tensor("float32", kT, [H, D, n]));
      this.prefixValueTensors.push(new this.ort.Tensor("float32", v, [H, n, D]));
    }
    this.prefixLength = n;
  }

  /**
   * The own-column feeds of every layer (own_keys_l, own_values_t_l, and the int8 scales): the
   * whole batch, or only `row` as a batch of one (views of the row's block, no copy).
   */
  ownFeeds(row?: number): Record<string, OrtTensor> {
    const feeds: Record<string, OrtTensor> = {};
    const int8 = this.format === "int8";
    if (row === undefined) {
      for (let l = 0; l < this.layers; l++) {
        feeds[IO.ownKeys(l)] = this.ownKeyTensors[l]!;
        feeds[IO.ownValues(l)] = this.ownValueTensors[l]!;
        if (!int8) continue;
        feeds[IO.ownKeyScales(l)] = this.ownKeyScaleTensors[l]!;
        feeds[IO.ownValueScales(l)] = this.ownValueScaleTensors[l]!;
      }
      return feeds;
    }
    if (!Number.isInteger(row) || row < 0 || row >= this.batch) throw new ModelUsageError(`ownFeeds: row ${row} is outside the batch (0..${this.batch - 1})`);
    const { kvHeads: H, headDim: D, columns: M } = this;
    const type = int8 ? "int8" : "float32";
    const block = H * M * D;
    for (let l = 0; l < this.layers; l++) {
      feeds[IO.ownKeys(l)] = new this.ort.Tensor(type, this.ownKeys[l]!.subarray(row * block, (row + 1) * block), [1, H, M, D]);
      feeds[IO.ownValues(l)] = new this.ort.Tensor(type, this.ownValues[l]!.subarray(row * block, (row + 1) * block), [1, H, D, M]);
      if (!int8) continue;
      feeds[IO.ownKeyScales(l)] = new this.ort.Tensor("float32", this.ownKeyScales[l]!.subarray(row * H * M, (row + 1) * H * M), [1, H, M, 1]);
      feeds[IO.ownValueScales(l)] = new this.ort.Tensor("float32", this.ownValueScales[l]!.subarray(row * H * M, (row + 1) * H * M), [1, H, 1, M]);
    }
    return feeds;
  }

  /** Takes another cache's prefix (kept rows). */
  sharePrefix(from: OnnxKvCache): void {
    this.prefixLength = from.prefixLength;
    this.prefixKeyTensors = from.prefixKeyTensors;
    this.prefixValueTensors = from.prefixValueTensors;
  }

  resetSlot(row: number): void {
    this.checkUsable();
    if (!Number.isInteger(row) || row < 0 || row >= this.batch) throw new ModelUsageError(`resetSlot: slot ${row} is outside the batch (0..${this.batch - 1})`);
    this.rowLength[row] = 0;
  }

  dispose(): void {
    this.disposed = true;
    this.ownKeys = [];
    this.ownValues = [];
    this.ownKeyTensors = [];
    this.ownValueTensors = [];
    this.ownKeyScales = [];
    this.ownValueScales = [];
    this.ownKeyScaleTensors = [];
    this.ownValueScaleTensors = [];
    this.prefixKeyTensors = [];
    this.prefixValueTensors = [];
  }
}

/**
 * Symmetric 8-bit quantization of D values (src[from + d]) into out[to + d·stride]; returns the
 * scale, absmax / 127 (0 for an all-zero column, whose codes are then 0).
 */
function quantizeColumn(src: Float32Array, from: number, D: number, out: Float32Array | Int8Array, to: number, stride: number): number {
  let max = 0;
  for (let d = 0; d < D; d++) max = Math.max(max, Math.abs(src[from + d]!));
  const scale = max / 127;
  const inverse = scale > 0 ? 1 / scale : 0;
  for (let d = 0; d < D; d++) out[to + d * stride] = Math.round(src[from + d]! * inverse);
  return scale;
}

function parseKv(value: string | undefined): KvFormat {
  const v = (value ?? "").trim().toLowerCase();
  if (v === "" || v === "f32") return "f32";
  if (v === "int8") return "int8";
  throw new ModelUsageError(`environment variable ${ONNX_KV_ENV}: unknown KV-cache format "${value}"; expected f32 or int8`);
}

function parseWeights(value: string | undefined): WeightFormat {
  const v = (value ?? "").trim().toLowerCase();
  if (v === "" || v === "f32") return "f32";
  if (v === "int8") return "int8";
  throw new ModelUsageError(`environment variable ${ONNX_WEIGHTS_ENV}: unknown weight format "${value}"; expected f32 or int8`);
}

function parseProvider(value: string | undefined): OnnxProvider {
  const v = (value ?? "").trim().toLowerCase();
  if (v === "" || v === "cpu") return "cpu";
  if (v === "cuda" || v === "auto") return v;
  throw new ModelUsageError(`environment variable ${ONNX_PROVIDER_ENV}: unknown provider "${value}"; expected cpu, cuda or auto`);
}

/** $FORGE_ONNX_ARENA: "0" off, "1" or unset on (the default). */
function parseArena(value: string | undefined): boolean {
  const v = (value ?? "").trim();
  if (v === "") return true;
  if (v === "1") return true;
  if (v === "0") return false;
  throw new ModelUsageError(`environment variable ${ONNX_ARENA_ENV}: expected 0 or 1, got "${value}"`);
}

/** Whether onnxruntime-node's CUDA execution provider library is installed beside its native binding (bench/engine/gpu.sh installs it). */
function cudaProviderInstalled(): boolean {
  try {
    const bin = join(dirname(createRequire(import.meta.url).resolve("onnxruntime-node/package.json")), "bin");
    return readdirSync(bin, { recursive: true }).some((file) => String(file).includes("providers_cuda"));
  } catch {
    return false;
  }
}

function sessionOptions(device: "cpu" | "cuda", threads: number, arena: boolean): object {
  return {
    // CUDA runs what it supports and leaves the rest (ops without a CUDA kernel) to the CPU provider.
    executionProviders: device === "cuda" ? [{ name: "cuda" }, { name: "cpu" }] : [{ name: "cpu" }],
    intraOpNumThreads: threads,
    interOpNumThreads: 1,
    graphOptimizationLevel: "all",
    executionMode: "sequential",
    enableCpuMemArena: arena,
    enableMemPattern: arena,
    // Idle intra-op threads sleep instead of spinning: on a shared or busy machine a
    // spinning pool steals the cores the other thread needs.
    extra: { "session.intra_op.allow_spinning": process.env[ONNX_SPIN_ENV] === "1" ? "1" : "0" },
  };
}

export class OnnxStepModel implements StepModel<OnnxKvCache> {
  readonly engine = "onnxruntime";
  /** "cpu" or "cuda": the execution provider the session was opened with. */
  readonly device: string;
  readonly name: string;
  readonly config: DecoderConfig;
  /** Intra-op threads the session runs with. */
  readonly threads: number;
  private readonly chunk: number;
  /** Storage of the caches' own columns (the graph was built for it). */
  readonly kvCache: KvFormat;
  /** Reused logits buffers by batch size. */
  private logitsBuffers = new Map<number, { data: Float32Array; tensor: OrtTensor }>();

  private constructor(
    private readonly ort: Ort,
    private readonly session: NativeSession,
    name: string,
    config: DecoderConfig,
    threads: number,
    chunk: number,
    device: string,
    kvCache: KvFormat,
  ) {
    this.device = device;
    this.kvCache = kvCache;
    this.name = name;
    this.config = config;
    this.threads = threads;
    this.chunk = chunk;
  }

  /** Builds the graph from a tfjs decoder's weights and opens a session on it. */
  static async fromDecoder(model: DecoderModel, options: OnnxOptions = {}): Promise<OnnxStepModel> {
    return OnnxStepModel.fromHostWeights(model.config, hostWeights(model), model.name, options);
  }

  /** Builds the graph from host weights (the tfjs decoder's layout, graph.ts's HostWeights) and opens a session on it. */
  static async fromHostWeights(config: DecoderConfig, weights: HostWeights, name: string, options: OnnxOptions = {}): Promise<OnnxStepModel> {
    const format = options.weights ?? parseWeights(process.env[ONNX_WEIGHTS_ENV]);
    const kvCache = options.kvCache ?? parseKv(process.env[ONNX_KV_ENV]);
    const graph = buildDecoderGraph(config, weights, name, { weights: format, kvCache });
    return OnnxStepModel.fromGraph(graph, name, config, { ...options, kvCache });
  }

  /** Opens a session on a graph from buildDecoderGraph; `options.kvCache` must be the format it was built with. */
  static async fromGraph(graph: Uint8Array, name: string, config: DecoderConfig, options: OnnxOptions = {}): Promise<OnnxStepModel> {
    const kvCache = options.kvCache ?? parseKv(process.env[ONNX_KV_ENV]);
    const { ort, native } = await loadOnnxRuntime();
    const envThreads = Number(process.env[ONNX_THREADS_ENV] ?? "");
    const threads = options.threads ?? (Number.isInteger(envThreads) && envThreads > 0 ? envThreads : availableParallelism());
    native.initOrt();
    const provider = options.provider ?? parseProvider(process.env[ONNX_PROVIDER_ENV]);
    const arena = options.arena ?? parseArena(process.env[ONNX_ARENA_ENV]);
    const open = (device: "cpu" | "cuda"): NativeSession => {
      const session = new native.binding.InferenceSession();
      try {
        session.loadModel(graph.buffer as ArrayBuffer, graph.byteOffset, graph.byteLength, sessionOptions(device, threads, arena));
      } catch (error) {
        session.dispose();
        throw error;
      }
      return session;
    };
    // "auto" without ONNX Runtime's CUDA library beside its binding: the CPU at once (trying
    // CUDA would print a "failed to load libonnxruntime_providers_shared.so" line to stderr).
    if (provider === "cpu" || (provider === "auto" && !cudaProviderInstalled()))
      return new OnnxStepModel(ort, open("cpu"), name, config, threads, options.chunk ?? 64, "cpu", kvCache);
    try {
      return new OnnxStepModel(ort, open("cuda"), name, config, threads, options.chunk ?? 64, "cuda", kvCache);
    } catch (error) {
      if (provider === "cuda") throw new ModelUsageError(`ONNX Runtime's CUDA execution provider did not start (${(error as Error).message.split("\n")[0]}); bench/engine/gpu.sh installs its CUDA binaries`);
      return new OnnxStepModel(ort, open("cpu"), name, config, threads, options.chunk ?? 64, "cpu", kvCache);
    }
  }

  createCache(batch: number, capacity: number): OnnxKvCache {
    if (!Number.isInteger(batch) || batch < 1) throw new ModelUsageError(`createCache: batch must be a positive integer, got ${batch}`);
    if (!Number.isInteger(capacity) || capacity < 1) throw new ModelUsageError(`createCache: capacity must be a positive integer, got ${capacity}`);
    const { layers, kvHeads, headDim } = this.config;
    const cache = new OnnxKvCache(this.ort, batch, capacity, layers, kvHeads, headDim, this.chunk, this.kvCache);
    cache.reserve(1);
    return cache;
  }

  decode(cache: OnnxKvCache, tokens: tf.Tensor1D | Int32Array, positions: Int32Array, active?: Uint8Array): tf.Tensor2D {
    const ids = tokens instanceof Int32Array ? tokens : (tokens.dataSync() as Int32Array);
    const B = cache.batch;
    if (ids.length !== B) throw new ModelUsageError(`decode: tokens must be int32 [${B}] (the cache's batch), got ${ids.length}`);
    if (positions.length !== B) throw new ModelUsageError(`decode: positions has ${positions.length} entries, the batch is ${B}`);
    if (active !== undefined && active.length !== B) throw new ModelUsageError(`decode: active has ${active.length} entries, the batch is ${B}`);
    const counts = new Int32Array(B);
    for (let b = 0; b < B; b++) counts[b] = active === undefined || active[b] !== 0 ? 1 : 0;
    const { logits } = this.run(cache, ids, counts, positions, 1);
    return tf.tensor2d(logits, [B, this.config.vocabSize]);
  }

  decodeChunk(cache: OnnxKvCache, tokens: Int32Array, counts: Int32Array, positions: Int32Array, k: number): tf.Tensor2D {
    const B = cache.batch;
    if (!Number.isInteger(k) || k < 1) throw new ModelUsageError(`decodeChunk: k must be a positive integer, got ${k}`);
    if (tokens.length !== B * k) throw new ModelUsageError(`decodeChunk: tokens has ${tokens.length} entries, expected ${B}·${k}`);
    if (counts.length !== B || positions.length !== B) throw new ModelUsageError(`decodeChunk: counts and positions need ${B} entries`);
    const { logits } = this.run(cache, tokens, counts, positions, k);
    return tf.tensor2d(logits, [B, this.config.vocabSize]);
  }

  attachPrefix(cache: OnnxKvCache, tokens: Int32Array): void {
    cache.checkUsable();
    const n = tokens.length;
    if (n < 1) throw new ModelUsageError("attachPrefix: no tokens");
    if (n > this.config.maxPositions) throw new ModelUsageError(`attachPrefix: ${n} tokens exceed the model's context (${this.config.maxPositions})`);
    if (cache.length !== 0 || cache.prefixLength !== 0) throw new ModelUsageError(`attachPrefix: the target cache already holds ${cache.length} columns${cache.prefixLength ? " and a prefix" : ""}`);
    // One causal pass at batch 1; its new columns become the prefix every row attends to.
    const one = this.createCache(1, n);
    const { keys, values } = this.run(one, tokens, Int32Array.of(n), Int32Array.of(0), n, false);
    one.dispose();
    cache.setPrefix(n, keys, values);
  }

  compact(cache: OnnxKvCache): void {
    cache.checkUsable(); // rows are always packed: nothing to drop
  }

  keepRows(cache: OnnxKvCache, rows: ArrayLike<number>): OnnxKvCache {
    cache.checkUsable();
    const R = rows.length;
    if (R < 1) throw new ModelUsageError("keepRows: no rows to keep");
    for (let r = 0; r < R; r++)
      if (!Number.isInteger(rows[r]) || rows[r]! < 0 || rows[r]! >= cache.batch) throw new ModelUsageError(`keepRows: row ${rows[r]} is outside the batch (0..${cache.batch - 1})`);
    const { layers, kvHeads: H, headDim: D } = this.config;
    const kept = new OnnxKvCache(this.ort, R, cache.capacity, layers, H, D, this.chunk, cache.format);
    for (let r = 0; r < R; r++) kept.rowLength[r] = cache.rowLength[rows[r]!]!;
    kept.sharePrefix(cache);
    const M = cache.columns;
    kept.resize(M);
    const block = H * M * D; // one row of keys or of values
    for (let l = 0; l < layers; l++)
      for (let r = 0; r < R; r++) {
        const from = rows[r]! * block;
        kept.ownKeys[l]!.set(cache.ownKeys[l]!.subarray(from, from + block), r * block);
        kept.ownValues[l]!.set(cache.ownValues[l]!.subarray(from, from + block), r * block);
        if (cache.format !== "int8") continue;
        const scaleBlock = H * M;
        const at = rows[r]! * scaleBlock;
        kept.ownKeyScales[l]!.set(cache.ownKeyScales[l]!.subarray(at, at + scaleBlock), r * scaleBlock);
        kept.ownValueScales[l]!.set(cache.ownValueScales[l]!.subarray(at, at + scaleBlock), r * scaleBlock);
      }
    cache.dispose();
    return kept;
  }

  /**
   * One run: row b feeds its first counts[b] of S tokens (ids row-major [B, S]) from position
   * positions[b]. Returns the logits buffer [B, vocab] of each row's last fed token (reused:
   * copy what you keep before the next run); with `append` the new columns go into the cache,
   * else they are returned.
   */
  private run(cache: OnnxKvCache, ids: Int32Array, counts: Int32Array, positions: Int32Array, S: number, append = true): { logits: Float32Array; keys: Float32Array[]; values: Float32Array[] } {
    cache.checkUsable();
    const B = cache.batch;
    const { maxPositions, layers, kvHeads, headDim: D, heads } = this.config;
    const group = heads / kvHeads;
    const pos = new BigInt64Array(B * S);
    const lastRows = new BigInt64Array(B);
    for (let b = 0; b < B; b++) {
      const n = counts[b]!;
      const p = n > 0 ? positions[b]! : 0;
      if (n > 0 && (p < 0 || p + n > maxPositions))
        throw new ModelUsageError(`decode: stream ${b} would reach position ${p + n - 1}, outside the model's context (0..${maxPositions - 1})`);
      for (let j = 0; j < S; j++) pos[b * S + j] = BigInt(Math.min(p + j, maxPositions - 1));
      lastRows[b] = BigInt(b * S + Math.max(n - 1, 0));
    }
    const M = cache.columns;
    const ownMask = new Float32Array(B * M).fill(MASKED);
    for (let b = 0; b < B; b++) ownMask.fill(0, b * M, b * M + cache.rowLength[b]!);
    const stepMask = new Float32Array(S * group * S);
    for (let s = 0; s < S; s++) for (let i = 0; i < group; i++) stepMask.fill(MASKED, (s * group + i) * S + s + 1, (s * group + i + 1) * S);
    const { Tensor } = this.ort;
    const feeds: Record<string, OrtTensor> = {
      [IO.ids]: new Tensor("int32", ids, [B, S]),
      [IO.positions]: new Tensor("int64", pos, [B, S]),
      [IO.lastRows]: new Tensor("int64", lastRows, [B]),
      [IO.ownMask]: new Tensor("float32", ownMask, [B, 1, 1, M]),
      [IO.prefixMask]: new Tensor("float32", new Float32Array(Math.max(cache.prefixLength, 1)).fill(cache.prefixLength > 0 ? 0 : MASKED), [1, 1, 1, Math.max(cache.prefixLength, 1)]),
      [IO.stepMask]: new Tensor("float32", stepMask, [S * group, S]),
    };
    const logits = this.logitsFor(B);
    const fetches: Record<string, OrtTensor> = { [IO.logits]: logits.tensor };
    const keys: Float32Array[] = [];
    const values: Float32Array[] = [];
    Object.assign(feeds, cache.ownFeeds());
    for (let l = 0; l < layers; l++) {
      feeds[IO.prefixKeys(l)] = cache.prefixKeyTensors[l]!;
      feeds[IO.prefixValues(l)] = cache.prefixValueTensors[l]!;
      keys.push(new Float32Array(B * S * kvHeads * D));
      values.push(new Float32Array(B * S * kvHeads * D));
      fetches[IO.newKeys(l)] = new Tensor("float32", keys[l]!, [B, S, kvHeads * D]);
      fetches[IO.newValues(l)] = new Tensor("float32", values[l]!, [B, S, kvHeads * D]);
    }
    this.session.run(feeds, fetches, {});
    if (append) {
      let most = 0;
      for (let b = 0; b < B; b++) most = Math.max(most, counts[b]!);
      cache.reserve(most);
      for (let l = 0; l < layers; l++) for (let b = 0; b < B; b++) if (counts[b]! > 0) cache.append(l, b, counts[b]!, keys[l]!, values[l]!, b, S);
      for (let b = 0; b < B; b++) cache.rowLength[b]! += counts[b]!;
    }
    return { logits: logits.data, keys, values };
  }

  /** A token tree's logits after each of `rows`' pasts, nothing written (probe.ts; StepModel.probe). */
  probe(cache: OnnxKvCache, rows: Int32Array, tokens: Int32Array, parents: Int32Array, positions: Int32Array): Float32Array {
    return runProbe(this.ort, this.session, this.config, cache, rows, tokens, parents, positions);
  }

  private logitsFor(B: number): { data: Float32Array; tensor: OrtTensor } {
    let entry = this.logitsBuffers.get(B);
    if (entry === undefined) {
      const data = new Float32Array(B * this.config.vocabSize);
      entry = { data, tensor: new this.ort.Tensor("float32", data, [B, this.config.vocabSize]) };
      this.logitsBuffers.set(B, entry);
    }
    return entry;
  }

  dispose(): void {
    this.session.dispose();
    this.logitsBuffers.clear();
  }
}
