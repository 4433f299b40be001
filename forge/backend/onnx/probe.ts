/**
 * "Probe" forwards on the ONNX decoder (StepModel.probe, forge/model/step-model.ts): a token
 * tree fed after some rows' pasts, nothing written to the cache: one run of the step graph over
 * the whole batch when many rows ask (WHOLE_BATCH_SHARE), else one batch-1 run per row.
 *
 * The graph already takes what a tree needs: per-token positions (node i at the row's next
 * position + depth(i) − 1), a step mask [S·g, S] among this call's tokens (here: each node
 * sees its ancestors and itself), and `last_rows`, which here lists every node of every probed
 * row, so the logits come back for all of them. A row's own K/V (f32, or int8 with scales) are
 * contiguous slices of the cache's arrays: a batch-1 run reads them as views
 * (OnnxKvCache.ownFeeds), no copy.
 */
type Ort = typeof import("onnxruntime-node");
import type { DecoderConfig } from "../../model/config.js";
import { checkProbe } from "../../model/probe.js";
import { IO } from "./graph.js";

type OrtTensor = InstanceType<Ort["Tensor"]>;

/** What a probe reads of the ONNX KV cache (model.ts's OnnxKvCache). */
export interface ProbeCache {
  readonly batch: number;
  readonly columns: number;
  readonly rowLength: Int32Array;
  readonly prefixLength: number;
  readonly prefixKeyTensors: OrtTensor[];
  readonly prefixValueTensors: OrtTensor[];
  checkUsable(): void;
  /** Every layer's own-column inputs: the whole batch, or row `row` as a batch of one (views, no copy; f32 or int8 with its scales). */
  ownFeeds(row?: number): Record<string, OrtTensor>;
}

/** The native session's run (onnxruntime-node's binding), as model.ts uses it. */
interface ProbeSession {
  run(feeds: Record<string, OrtTensor>, fetches: Record<string, OrtTensor | null>, options: object): Record<string, unknown>;
}

const MASKED = -1e9;

/**
 * Rows probed in one run of the whole batch once they are at least this share of it (the other
 * rows compute S throwaway tokens); fewer run one batch-1 run each over views of their rows.
 */
export const WHOLE_BATCH_SHARE = 1 / 8;

export function runProbe(
  ort: Ort,
  session: ProbeSession,
  config: DecoderConfig,
  cache: ProbeCache,
  rows: Int32Array,
  tokens: Int32Array,
  parents: Int32Array,
  positions: Int32Array,
): Float32Array {
  cache.checkUsable();
  const { vocabSize: V, maxPositions } = config;
  const S = tokens.length;
  const depth = checkProbe(tokens, parents, rows, positions, cache.batch, V, maxPositions);
  const out = new Float32Array(rows.length * S * V);
  if (S === 0 || rows.length === 0) return out;
  const stepMask = treeMask(parents, config.heads / config.kvHeads);
  if (rows.length >= cache.batch * WHOLE_BATCH_SHARE) {
    runTree(ort, session, config, cache, null, rows, tokens, depth, positions, stepMask, out);
  } else {
    rows.forEach((row, r) =>
      runTree(ort, session, config, cache, row, Int32Array.of(0), tokens, depth, positions.subarray(r, r + 1), stepMask, out.subarray(r * S * V, (r + 1) * S * V)),
    );
  }
  return out;
}

/** Row s·g + j (query head j of node s) sees node t when t is s or one of its ancestors. */
function treeMask(parents: Int32Array, group: number): Float32Array {
  const S = parents.length;
  const mask = new Float32Array(S * group * S).fill(MASKED);
  for (let s = 0; s < S; s++)
    for (let t = s; t >= 0; t = parents[t]!)
      for (let j = 0; j < group; j++) mask[(s * group + j) * S + t] = 0;
  return mask;
}

/**
 * One run: the tree after every row of the batch (`only` null; the logits gathered for
 * `rows`, in their order) or after row `only` alone as a batch of one (`rows` = [0]).
 */
function runTree(
  ort: Ort,
  session: ProbeSession,
  config: DecoderConfig,
  cache: ProbeCache,
  only: number | null,
  rows: Int32Array,
  tokens: Int32Array,
  depth: Int32Array,
  positions: Int32Array,
  stepMask: Float32Array,
  out: Float32Array,
): void {
  const { layers, kvHeads: H, headDim: D, heads } = config;
  const group = heads / H;
  const S = tokens.length;
  const B = only === null ? cache.batch : 1;
  const M = cache.columns;
  const ids = new Int32Array(B * S);
  const pos = new BigInt64Array(B * S); // rows not probed: token 0 at position 0, their outputs unread
  const lastRows = new BigInt64Array(rows.length * S);
  rows.forEach((row, r) => {
    ids.set(tokens, row * S);
    for (let i = 0; i < S; i++) {
      pos[row * S + i] = BigInt(positions[r]! + depth[i]! - 1);
      lastRows[r * S + i] = BigInt(row * S + i);
    }
  });
  const ownMask = new Float32Array(B * M).fill(MASKED);
  for (let b = 0; b < B; b++) ownMask.fill(0, b * M, b * M + cache.rowLength[only ?? b]!);
  const { Tensor } = ort;
  const P = Math.max(cache.prefixLength, 1);
  const feeds: Record<string, OrtTensor> = {
    [IO.ids]: new Tensor("int32", ids, [B, S]),
    [IO.positions]: new Tensor("int64", pos, [B, S]),
    [IO.lastRows]: new Tensor("int64", lastRows, [rows.length * S]),
    [IO.ownMask]: new Tensor("float32", ownMask, [B, 1, 1, M]),
    [IO.prefixMask]: new Tensor("float32", new Float32Array(P).fill(cache.prefixLength > 0 ? 0 : MASKED), [1, 1, 1, P]),
    [IO.stepMask]: new Tensor("float32", stepMask, [S * group, S]),
    ...(only === null ? cache.ownFeeds() : cache.ownFeeds(only)),
  };
  const fetches: Record<string, OrtTensor> = { [IO.logits]: new Tensor("float32", out, [rows.length * S, config.vocabSize]) };
  for (let l = 0; l < layers; l++) {
    feeds[IO.prefixKeys(l)] = cache.prefixKeyTensors[l]!;
    feeds[IO.prefixValues(l)] = cache.prefixValueTensors[l]!;
    // The tree's own K/V come out too; nothing keeps them.
    fetches[IO.newKeys(l)] = new Tensor("float32", new Float32Array(B * S * H * D), [B, S, H * D]);
    fetches[IO.newValues(l)] = new Tensor("float32", new Float32Array(B * S * H * D), [B, S, H * D]);
  }
  session.run(feeds, fetches, {});
}
