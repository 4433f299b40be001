/**
 * "Probe" forwards on the ONNX decoder (StepModel.probe, forge/model/step-model.ts): a token
 * tree fed after one row's past in ONE run of the step graph, nothing written to the cache.
 *
 * The graph already takes what a tree needs: per-token positions (node i at the row's next
 * position + depth(i) − 1), a step mask [S·g, S] among this call's tokens (here: each node
 * sees its ancestors and itself), and `last_rows`, which here lists every token, so the logits
 * come back for all S nodes. The row's own K/V (f32, or int8 with scales) are contiguous
 * slices of the cache's arrays: the run reads them as batch-1 views (OnnxKvCache.ownFeeds), no copy.
 */
type Ort = typeof import("onnxruntime-node");
import type { DecoderConfig } from "../../model/config.js";
import { ModelUsageError } from "../../model/errors.js";
import { checkTree } from "../../model/probe.js";
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
  /** Every layer's own-column inputs of row `row` as a batch of one (views, no copy; f32 or int8 with its scales). */
  ownFeeds(row: number): Record<string, OrtTensor>;
}

/** The native session's run (onnxruntime-node's binding), as model.ts uses it. */
interface ProbeSession {
  run(feeds: Record<string, OrtTensor>, fetches: Record<string, OrtTensor | null>, options: object): Record<string, unknown>;
}

const MASKED = -1e9;

export function runProbe(
  ort: Ort,
  session: ProbeSession,
  config: DecoderConfig,
  cache: ProbeCache,
  row: number,
  tokens: Int32Array,
  parents: Int32Array,
  position: number,
): Float32Array {
  cache.checkUsable();
  const { maxPositions, layers, kvHeads: H, headDim: D, heads, vocabSize: V } = config;
  const S = tokens.length;
  if (S === 0) return new Float32Array(0);
  const depth = checkTree(tokens, parents, row, cache.batch, V);
  const deepest = Math.max(...depth);
  if (position < 0 || position + deepest > maxPositions)
    throw new ModelUsageError(`probe: the tree would reach position ${position + deepest - 1}, outside the model's context (0..${maxPositions - 1})`);
  const group = heads / H;
  const pos = BigInt64Array.from(depth, (d) => BigInt(position + d - 1));
  const lastRows = BigInt64Array.from({ length: S }, (_, i) => BigInt(i));
  const M = cache.columns;
  const ownMask = new Float32Array(M).fill(MASKED).fill(0, 0, cache.rowLength[row]!);
  // Row s·g + j (query head j of node s) sees node t when t is s or one of its ancestors.
  const stepMask = new Float32Array(S * group * S).fill(MASKED);
  for (let s = 0; s < S; s++)
    for (let t = s; t >= 0; t = parents[t]!)
      for (let j = 0; j < group; j++) stepMask[(s * group + j) * S + t] = 0;
  const { Tensor } = ort;
  const P = Math.max(cache.prefixLength, 1);
  const feeds: Record<string, OrtTensor> = {
    [IO.ids]: new Tensor("int32", tokens, [1, S]),
    [IO.positions]: new Tensor("int64", pos, [1, S]),
    [IO.lastRows]: new Tensor("int64", lastRows, [S]),
    [IO.ownMask]: new Tensor("float32", ownMask, [1, 1, 1, M]),
    [IO.prefixMask]: new Tensor("float32", new Float32Array(P).fill(cache.prefixLength > 0 ? 0 : MASKED), [1, 1, 1, P]),
    [IO.stepMask]: new Tensor("float32", stepMask, [S * group, S]),
  };
  const logits = new Float32Array(S * V);
  const fetches: Record<string, OrtTensor> = { [IO.logits]: new Tensor("float32", logits, [S, V]) };
  Object.assign(feeds, cache.ownFeeds(row));
  for (let l = 0; l < layers; l++) {
    feeds[IO.prefixKeys(l)] = cache.prefixKeyTensors[l]!;
    feeds[IO.prefixValues(l)] = cache.prefixValueTensors[l]!;
    // The tree's own K/V come out too; nothing keeps them.
    fetches[IO.newKeys(l)] = new Tensor("float32", new Float32Array(S * H * D), [1, S, H * D]);
    fetches[IO.newValues(l)] = new Tensor("float32", new Float32Array(S * H * D), [1, S, H * D]);
  }
  session.run(feeds, fetches, {});
  return logits;
}
