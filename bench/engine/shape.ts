/**
 * The benchmark model: SmolLM2-135M's shape (Llama family: 30 layers, hidden 576, 9 heads,
 * 3 kv heads, head 64, intermediate 1 536, vocabulary 49 152, tied embeddings), random
 * weights (seed 1, std 0.02), context 2 048.
 */
import { DecoderModel, smallConfig, type DecoderConfig } from "../../forge/model/index.js";

export const SMOL_135M: DecoderConfig = smallConfig("llama", {
  vocabSize: 49_152,
  hiddenSize: 576,
  layers: 30,
  heads: 9,
  kvHeads: 3,
  headDim: 64,
  intermediateSize: 1_536,
  maxPositions: 2_048,
  ropeTheta: 100_000,
  tieEmbeddings: true,
  normEps: 1e-5,
});

export function smolModel(config: DecoderConfig = SMOL_135M): DecoderModel {
  return DecoderModel.random(config, 1, { name: "random-smollm2-135m-shape" });
}

/** Multiply-adds of the weight products per token (q/k/v, o, MLP, head), ×2 for FLOPs. */
export function weightFlopsPerToken(c: DecoderConfig): number {
  const { hiddenSize: h, heads, kvHeads, headDim: d, intermediateSize: i, vocabSize: v, layers } = c;
  const perLayer = h * (heads + 2 * kvHeads) * d + heads * d * h + 3 * h * i;
  return 2 * (layers * perLayer + h * v);
}
