/**
 * The decoder as an ONNX graph, built in TypeScript from the weights the tfjs decoder holds
 * (as onnxruntime-genai's model builder does from a Hugging Face checkpoint), for ONNX
 * Runtime's CPU execution provider.
 *
 * One graph serves every call: decode (S = 1), several tokens per stream (S = k), the shared
 * prefix at batch 1 (S = n) and any batch size. Per layer:
 *
 *     norm → x·Wqkv (+b) → split q | k | v → RoPE on q, k (com.microsoft.RotaryEmbedding, by
 *     position_ids) → attention → x·Wo (+b) → residual → norm → MLP (SwiGLU or GELU) → residual
 *
 * Attention reads the KV cache as graph inputs, which the binding hands over without a copy,
 * and returns only the new columns (k after RoPE, v: [B, S, kvHeads·D]), which the host writes
 * into the cache. (GroupQueryAttention's in-place cache was tried first: through
 * onnxruntime-node every run copied the whole present cache back out, 15× slower at batch 64.)
 * Three parts share one softmax, as the tfjs decoder's attention.ts does:
 * - the shared prefix, held once per kv head (keys transposed [kvH, D, P], values [kvH, P, D]):
 *   all streams' query rows against it are one 2-D product per head;
 * - each stream's own past columns (keys [B, kvH, M, D], values transposed [B, kvH, D, M],
 *   masked per stream by `own_mask` [B, 1, 1, M]), each block the transposed RIGHT operand of
 *   its product (q·Kᵀ, w·(Vᵀ)ᵀ as FusedMatMul transB): MLAS packs it at every call, but the
 *   scores and the output come out in the softmax's and the output's layout (the cache as the
 *   left operand needed two transposes with an inner dimension of 3, which cost more);
 *   With the int8 cache (GraphOptions.kvCache) these blocks are int8 with a float scale per
 *   (row, kv head, column): the graph casts them and applies the scales to the small side;
 * - the S tokens of this call (causal within the call: `step_mask` [S·g, S]).
 * Query rows are laid out per (stream, kv head) as r = s·g + i (g = heads / kvHeads).
 *
 * The final norm and LM head run only on the rows named by `last_rows` (indices into the
 * flattened [B·S] tokens): logits come back as [B, vocab], one row per stream.
 */
import onnxProto from "onnx-proto";
import type { DecoderConfig } from "../../model/config.js";
import { ropeAngle, ropeInvFreq } from "../../model/rope.js";

const { onnx } = onnxProto;
type NodeProto = InstanceType<typeof onnx.NodeProto>;
type TensorProto = InstanceType<typeof onnx.TensorProto>;
type ValueInfoProto = InstanceType<typeof onnx.ValueInfoProto>;

const FLOAT = onnx.TensorProto.DataType.FLOAT;
const INT32 = onnx.TensorProto.DataType.INT32;
const INT64 = onnx.TensorProto.DataType.INT64;
const UINT8 = onnx.TensorProto.DataType.UINT8;
const INT8 = onnx.TensorProto.DataType.INT8;

/** Weight storage of the graph's products: "f32", or "int8" (com.microsoft.MatMulNBits, 8 bits, blocks of 32 along the input). */
export type WeightFormat = "f32" | "int8";

/**
 * Storage of each stream's own KV-cache columns: "f32", or "int8" — symmetric 8-bit values with
 * one float scale per (row, kv head, column) (absmax over the head's D values / 127). The
 * shared prefix stays f32 (it is held once).
 */
export type KvFormat = "f32" | "int8";

export interface GraphOptions {
  /** Default "f32". int8 covers every linear layer and the LM head; embeddings and norms stay f32. */
  weights?: WeightFormat;
  /** Default "f32". See KvFormat. */
  kvCache?: KvFormat;
  /**
   * MatMulNBits accuracy_level for int8: 4 also quantizes the activations to int8 per block
   * (integer products, the fast path), 0 dequantizes the weights to f32 first. Default 4.
   */
  accuracyLevel?: 0 | 4;
}

/** Input elements per quantization block (one scale each). */
export const INT8_BLOCK = 32;

/**
 * Symmetric 8-bit block quantization of w [K, N] (row-major, the decoder's [in, out]) in
 * MatMulNBits' layout: q [N, ⌈K/32⌉, 32] with zero point 128 (the op's default), scales
 * [N, ⌈K/32⌉]; a block's scale is max|w| / 127. Padding columns hold the zero point.
 */
export function quantizeInt8(w: Float32Array, K: number, N: number): { q: Uint8Array; scales: Float32Array } {
  const blocks = Math.ceil(K / INT8_BLOCK);
  const q = new Uint8Array(N * blocks * INT8_BLOCK).fill(128);
  const scales = new Float32Array(N * blocks);
  for (let n = 0; n < N; n++)
    for (let b = 0; b < blocks; b++) {
      const k0 = b * INT8_BLOCK;
      const k1 = Math.min(K, k0 + INT8_BLOCK);
      let max = 0;
      for (let k = k0; k < k1; k++) max = Math.max(max, Math.abs(w[k * N + n]!));
      const scale = max / 127;
      scales[n * blocks + b] = scale;
      if (scale === 0) continue;
      const base = (n * blocks + b) * INT8_BLOCK;
      for (let k = k0; k < k1; k++) q[base + k - k0] = 128 + Math.max(-127, Math.min(127, Math.round(w[k * N + n]! / scale)));
    }
  return { q, scales };
}

/** The weights in the tfjs decoder's layout (forge/model/weights.ts), as host arrays. */
export interface HostLinear {
  /** [in, out] */
  w: Float32Array;
  b: Float32Array | null;
}
export interface HostNorm {
  gain: Float32Array;
  bias: Float32Array | null;
}
export interface HostLayer {
  attnNorm: HostNorm;
  qkv: HostLinear;
  attnOut: HostLinear;
  mlpNorm: HostNorm;
  mlpIn: HostLinear;
  mlpOut: HostLinear;
}
export interface HostWeights {
  /** [vocab, hidden] */
  tokenEmbedding: Float32Array;
  /** [maxPositions, hidden] or null (RoPE). */
  positionEmbedding: Float32Array | null;
  layers: HostLayer[];
  finalNorm: HostNorm;
  /** [hidden, vocab] */
  head: Float32Array;
}

/** Graph input and output names. */
export const IO = {
  ids: "input_ids", // int32 [B, S]
  positions: "position_ids", // int64 [B, S]
  lastRows: "last_rows", // int64 [B]: index into [B·S] of each row's token whose logits are wanted
  ownMask: "own_mask", // float [B, 1, 1, M]: 0 where a stream may attend to its own column, −1e9 elsewhere
  prefixMask: "prefix_mask", // float [1, 1, 1, P]: 0, or −1e9 for a placeholder prefix
  stepMask: "step_mask", // float [S·g, S]: causal mask among this call's tokens
  logits: "logits", // float [B, vocab]
  ownKeys: (l: number) => `own_keys_${l}`, // [B, kvH, M, D]
  ownValues: (l: number) => `own_values_t_${l}`, // [B, kvH, D, M]
  ownKeyScales: (l: number) => `own_key_scales_${l}`, // float [B, kvH, M, 1] (int8 cache only)
  ownValueScales: (l: number) => `own_value_scales_${l}`, // float [B, kvH, 1, M] (int8 cache only)
  prefixKeys: (l: number) => `prefix_keys_t_${l}`, // [kvH, D, P]
  prefixValues: (l: number) => `prefix_values_${l}`, // [kvH, P, D]
  newKeys: (l: number) => `new_keys_${l}`, // [B, S, kvH·D], RoPE applied
  newValues: (l: number) => `new_values_${l}`, // [B, S, kvH·D]
} as const;

/** The decoder as a serialized ONNX model (opset 17 + com.microsoft). */
export function buildDecoderGraph(config: DecoderConfig, weights: HostWeights, name = "forge-decoder", options: GraphOptions = {}): Uint8Array {
  const format = options.weights ?? "f32";
  const accuracyLevel = options.accuracyLevel ?? 4;
  const kvFormat = options.kvCache ?? "f32";
  const { hiddenSize: H, heads, kvHeads, headDim: D, vocabSize: V, maxPositions, normEps } = config;
  const nodes: NodeProto[] = [];
  const inits: TensorProto[] = [];
  let counter = 0;
  const fresh = (base: string) => `${base}_${counter++}`;

  const init = (tensorName: string, dims: number[], data: Float32Array | Int32Array | BigInt64Array | Uint8Array, dataType = FLOAT): string => {
    const bytes = new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
    inits.push(onnx.TensorProto.create({ name: tensorName, dims, dataType, rawData: bytes }));
    return tensorName;
  };
  const node = (opType: string, inputs: string[], outputs: string[] | number = 1, attrs: Record<string, number | number[] | string> = {}, domain = ""): string[] => {
    const outs = typeof outputs === "number" ? Array.from({ length: outputs }, () => fresh(opType.toLowerCase())) : outputs;
    const attribute = Object.entries(attrs).map(([key, value]) => {
      if (typeof value === "string") return { name: key, type: onnx.AttributeProto.AttributeType.STRING, s: new TextEncoder().encode(value) };
      if (Array.isArray(value)) return { name: key, type: onnx.AttributeProto.AttributeType.INTS, ints: value };
      return Number.isInteger(value) && !FLOAT_ATTRS.has(key)
        ? { name: key, type: onnx.AttributeProto.AttributeType.INT, i: value }
        : { name: key, type: onnx.AttributeProto.AttributeType.FLOAT, f: value };
    });
    nodes.push(onnx.NodeProto.create({ opType, input: inputs, output: outs, name: fresh(`n_${opType}`), domain, attribute }));
    return outs;
  };
  const one = (opType: string, inputs: string[], attrs: Record<string, number | number[] | string> = {}, domain = ""): string => node(opType, inputs, 1, attrs, domain)[0]!;
  const i64 = (tensorName: string, values: number[]) => init(tensorName, [values.length], BigInt64Array.from(values.map(BigInt)), INT64);

  const norm = (x: string, n: HostNorm, prefix: string): string => {
    const gain = init(`${prefix}.gain`, [H], n.gain);
    if (n.bias !== null) return one("LayerNormalization", [x, gain, init(`${prefix}.bias`, [H], n.bias)], { axis: -1, epsilon: normEps });
    return one("SimplifiedLayerNormalization", [x, gain], { axis: -1, epsilon: normEps });
  };
  /** x · w for w [K, N]: a plain MatMul, or MatMulNBits on the int8 blocks. */
  const product = (x: string, w: Float32Array, K: number, N: number, tensorName: string, output?: string): string => {
    const outputs = output === undefined ? 1 : [output];
    if (format === "f32") return node("MatMul", [x, init(tensorName, [K, N], w)], outputs)[0]!;
    const { q, scales } = quantizeInt8(w, K, N);
    const blocks = Math.ceil(K / INT8_BLOCK);
    const inputs = [x, init(`${tensorName}.q8`, [N, blocks, INT8_BLOCK], q, UINT8), init(`${tensorName}.scales`, [N * blocks], scales)];
    return node("MatMulNBits", inputs, outputs, { K, N, bits: 8, block_size: INT8_BLOCK, accuracy_level: accuracyLevel }, "com.microsoft")[0]!;
  };
  const linear = (x: string, l: HostLinear, inDim: number, outDim: number, prefix: string): string => {
    const y = product(x, l.w, inDim, outDim, `${prefix}.w`);
    return l.b === null ? y : one("Add", [y, init(`${prefix}.b`, [outDim], l.b)]);
  };

  // Embedding (+ learned positions).
  let x = one("Gather", [init("embed.tokens", [V, H], weights.tokenEmbedding), IO.ids], { axis: 0 }); // [B, S, H]
  if (weights.positionEmbedding !== null)
    x = one("Add", [x, one("Gather", [init("embed.positions", [maxPositions, H], weights.positionEmbedding), IO.positions], { axis: 0 })]);

  let cos: string | null = null;
  let sin: string | null = null;
  if (config.family === "llama") {
    const tables = ropeCaches(config);
    cos = init("rope.cos", [maxPositions, D / 2], tables.cos);
    sin = init("rope.sin", [maxPositions, D / 2], tables.sin);
  }
  const splitSizes = i64("qkv.split", [heads * D, kvHeads * D, kvHeads * D]);
  const mlpSplit = config.activation === "silu" ? i64("mlp.split", [config.intermediateSize, config.intermediateSize]) : null;

  const group = heads / kvHeads;
  const dim = (tensor: string, axis: number) => one("Slice", [one("Shape", [tensor]), i64(fresh("axis_start"), [axis]), i64(fresh("axis_end"), [axis + 1])]);
  const cat = (parts: string[]) => one("Concat", parts, { axis: 0 });
  const B = dim(IO.ids, 0);
  const S = dim(IO.ids, 1);
  const P = dim(IO.prefixMask, 3);
  const M = dim(IO.ownMask, 3);
  const kvHeadsC = i64("attn.kv_heads", [kvHeads]);
  const Sg = one("Mul", [S, i64("attn.group", [group])]);
  const c = {
    qShape: i64("attn.q_shape", [0, 0, kvHeads, group, D]), // [B, S, kvH, g, D]
    rowsShape: i64("attn.rows_shape", [0, kvHeads, -1, D]), // [B, kvH, S·g, D]
    headRows: i64("attn.head_rows", [kvHeads, -1, D]), // [kvH, B·S·g, D]
    kvShape: i64("attn.kv_shape", [0, 0, kvHeads, D]), // [B, S, kvH, D]
    scale: init("attn.scale", [], Float32Array.of(1 / Math.sqrt(D))),
    headsBySg: cat([kvHeadsC, B, Sg, i64("attn.minus_one", [-1])]), // [kvH, B, S·g, −1]
    headRowsP: cat([kvHeadsC, i64("attn.minus_one_b", [-1]), P]), // [kvH, B·S·g, P]
    splits: cat([P, M, S]),
    o5Shape: i64("attn.o5_shape", [0, 0, -1, group, D]), // [B, kvH, S, g, D]
    outShape: i64("attn.out_shape", [0, 0, heads * D]),
  };
  // int8 cache: the key scales [B, kvH, M, 1] read as [B, kvH, 1, M] (same order, no copy).
  const keyScalesAsRow = kvFormat === "int8" ? i64("attn.key_scales_row", [0, 0, 1, -1]) : null;
  /** q [B, S, heads·D], k/v [B, S, kvH·D] → attended [B, S, heads·D] (see the file comment). */
  const attention = (q: string, k: string, v: string, l: number): string => {
    const q5 = one("Reshape", [one("Mul", [q, c.scale]), c.qShape]); // [B, S, kvH, g, D]
    const qRows = one("Reshape", [one("Transpose", [q5], { perm: [0, 2, 1, 3, 4] }), c.rowsShape]); // [B, kvH, S·g, D]
    // Prefix: one product per kv head over every stream's rows, then to the streams' layout.
    const qHeads = one("Reshape", [one("Transpose", [qRows], { perm: [1, 0, 2, 3] }), c.headRows]); // [kvH, B·S·g, D]
    const prefixScores = one("Reshape", [one("MatMul", [qHeads, IO.prefixKeys(l)]), c.headsBySg]); // [kvH, B, S·g, P]
    const pStream = one("Add", [one("Transpose", [prefixScores], { perm: [1, 0, 2, 3] }), IO.prefixMask]); // [B, kvH, S·g, P]
    // Each stream's own past columns, and this call's columns (causal among themselves).
    // q·Kᵀ and w·V with the cache as the transposed right operand (FusedMatMul transB): MLAS
    // packs it, but the results come out in the softmax's layout — the other way round (K·qᵀ,
    // Vᵀ·wᵀ) needs two transposes with an inner dimension of S·g (3 at decode), which cost more
    // than the packing at every M measured (bench/engine/README.md, "Where the seed run's step goes").
    // int8 cache: the product runs on the cast values and the per-column scales multiply the
    // small results (keys: the scores; values: the softmax weights, before their product), so
    // the only full-size transient is one Cast output per product.
    const ownK = kvFormat === "int8" ? one("Cast", [IO.ownKeys(l)], { to: FLOAT }) : IO.ownKeys(l);
    const ownKScores = one("FusedMatMul", [qRows, ownK], { transB: 1 }, "com.microsoft"); // [B, kvH, S·g, M]
    const ownKScaled = kvFormat === "int8" ? one("Mul", [ownKScores, one("Reshape", [IO.ownKeyScales(l), keyScalesAsRow!])]) : ownKScores;
    const ownScores = one("Add", [ownKScaled, IO.ownMask]); // [B, kvH, S·g, M]
    const kT = one("Transpose", [one("Reshape", [k, c.kvShape])], { perm: [0, 2, 3, 1] }); // [B, kvH, D, S]
    const vS = one("Transpose", [one("Reshape", [v, c.kvShape])], { perm: [0, 2, 1, 3] }); // [B, kvH, S, D]
    const stepScores = one("Add", [one("MatMul", [qRows, kT]), IO.stepMask]); // [B, kvH, S·g, S]
    const all = one("Softmax", [one("Concat", [pStream, ownScores, stepScores], { axis: -1 })], { axis: -1 });
    const [wPrefix, wOwn, wStep] = node("Split", [all, c.splits], 3, { axis: -1 }) as [string, string, string];
    const wpHeads = one("Reshape", [one("Transpose", [wPrefix], { perm: [1, 0, 2, 3] }), c.headRowsP]); // [kvH, B·S·g, P]
    const prefixOut = one("Transpose", [one("Reshape", [one("MatMul", [wpHeads, IO.prefixValues(l)]), c.headsBySg])], { perm: [1, 0, 2, 3] }); // [B, kvH, S·g, D]
    const ownV = kvFormat === "int8" ? one("Cast", [IO.ownValues(l)], { to: FLOAT }) : IO.ownValues(l);
    const wOwnScaled = kvFormat === "int8" ? one("Mul", [wOwn, IO.ownValueScales(l)]) : wOwn;
    const ownOut = one("FusedMatMul", [wOwnScaled, ownV], { transB: 1 }, "com.microsoft"); // [B, kvH, S·g, D]
    const out = one("Add", [one("Add", [prefixOut, ownOut]), one("MatMul", [wStep, vS])]); // [B, kvH, S·g, D]
    const o5 = one("Reshape", [out, c.o5Shape]); // [B, kvH, S, g, D]
    return one("Reshape", [one("Transpose", [o5], { perm: [0, 2, 1, 3, 4] }), c.outShape]);
  };

  weights.layers.forEach((layer, l) => {
    const p = `layers.${l}`;
    const h = norm(x, layer.attnNorm, `${p}.attn_norm`);
    const qkv = linear(h, layer.qkv, H, (heads + 2 * kvHeads) * D, `${p}.qkv`);
    let [q, k, v] = node("Split", [qkv, splitSizes], 3, { axis: -1 }) as [string, string, string];
    if (cos !== null) {
      q = one("RotaryEmbedding", [q, IO.positions, cos, sin!], { interleaved: 0, num_heads: heads }, "com.microsoft");
      k = one("RotaryEmbedding", [k, IO.positions, cos, sin!], { interleaved: 0, num_heads: kvHeads }, "com.microsoft");
    }
    node("Identity", [k], [IO.newKeys(l)]);
    node("Identity", [v], [IO.newValues(l)]);
    const attended = attention(q, k, v, l);
    x = one("Add", [x, linear(attended, layer.attnOut, heads * D, H, `${p}.attn_out`)]);
    const m = norm(x, layer.mlpNorm, `${p}.mlp_norm`);
    let act: string;
    if (config.activation === "silu") {
      const up2 = linear(m, layer.mlpIn, H, 2 * config.intermediateSize, `${p}.mlp_in`);
      const [gate, up] = node("Split", [up2, mlpSplit!], 2, { axis: -1 }) as [string, string];
      act = one("Mul", [one("Mul", [gate, one("Sigmoid", [gate])]), up]);
    } else {
      const pre = linear(m, layer.mlpIn, H, config.intermediateSize, `${p}.mlp_in`);
      act = config.activation === "gelu_new" ? one("FastGelu", [pre], {}, "com.microsoft") : one("Gelu", [pre], {}, "com.microsoft");
    }
    x = one("Add", [x, linear(act, layer.mlpOut, config.intermediateSize, H, `${p}.mlp_out`)]);
  });

  // Final norm and head on each row's wanted token only.
  const flat = one("Reshape", [x, i64("flat.shape", [-1, H])]);
  const last = one("Gather", [flat, IO.lastRows], { axis: 0 }); // [B, H]
  product(norm(last, weights.finalNorm, "final_norm"), weights.head, H, V, "head.w", IO.logits);

  const inputs: ValueInfoProto[] = [
    valueInfo(IO.ids, INT32, ["batch", "sequence"]),
    valueInfo(IO.positions, INT64, ["batch", "sequence"]),
    valueInfo(IO.lastRows, INT64, ["batch"]),
    valueInfo(IO.ownMask, FLOAT, ["batch", 1, 1, "own"]),
    valueInfo(IO.prefixMask, FLOAT, [1, 1, 1, "prefix"]),
    valueInfo(IO.stepMask, FLOAT, ["rows", "sequence"]),
  ];
  const outputs: ValueInfoProto[] = [valueInfo(IO.logits, FLOAT, ["batch", V])];
  for (let l = 0; l < weights.layers.length; l++) {
    const ownType = kvFormat === "int8" ? INT8 : FLOAT;
    inputs.push(
      valueInfo(IO.ownKeys(l), ownType, ["batch", kvHeads, "own", D]),
      valueInfo(IO.ownValues(l), ownType, ["batch", kvHeads, D, "own"]),
      valueInfo(IO.prefixKeys(l), FLOAT, [kvHeads, D, "prefix"]),
      valueInfo(IO.prefixValues(l), FLOAT, [kvHeads, "prefix", D]),
    );
    if (kvFormat === "int8") inputs.push(valueInfo(IO.ownKeyScales(l), FLOAT, ["batch", kvHeads, "own", 1]), valueInfo(IO.ownValueScales(l), FLOAT, ["batch", kvHeads, 1, "own"]));
    outputs.push(valueInfo(IO.newKeys(l), FLOAT, ["batch", "sequence", kvHeads * D]), valueInfo(IO.newValues(l), FLOAT, ["batch", "sequence", kvHeads * D]));
  }
  const graph = onnx.GraphProto.create({ name, node: nodes, initializer: inits, input: inputs, output: outputs });
  const model = onnx.ModelProto.create({
    irVersion: 8,
    producerName: "workflow-forge",
    opsetImport: [
      { domain: "", version: 17 },
      { domain: "com.microsoft", version: 1 },
    ],
    graph,
  });
  return onnx.ModelProto.encode(model).finish();
}

/** Attributes that are floats even when their value happens to be a whole number. */
const FLOAT_ATTRS = new Set(["epsilon", "scale"]);

function valueInfo(name: string, elemType: number, dims: Array<string | number>): ValueInfoProto {
  return onnx.ValueInfoProto.create({
    name,
    type: { tensorType: { elemType, shape: { dim: dims.map((d) => (typeof d === "string" ? { dimParam: d } : { dimValue: d })) } } },
  });
}

/**
 * RotaryEmbedding's cos/sin caches [maxPositions, D/2] (non-interleaved: the op rotates the
 * halves), with the angles computed as the tfjs decoder computes them (float32 inv_freq and
 * angle, as Hugging Face does; rope_scaling through forge/model/rope.ts).
 */
export function ropeCaches(config: DecoderConfig): { cos: Float32Array; sin: Float32Array } {
  const D = config.headDim;
  const half = D / 2;
  const P = config.maxPositions;
  const cos = new Float32Array(P * half);
  const sin = new Float32Array(P * half);
  const invFreq = ropeInvFreq(config);
  for (let p = 0; p < P; p++)
    for (let j = 0; j < half; j++) {
      const angle = ropeAngle(p, invFreq[j]!);
      cos[p * half + j] = Math.cos(angle);
      sin[p * half + j] = Math.sin(angle);
    }
  return { cos, sin };
}
