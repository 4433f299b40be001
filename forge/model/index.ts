/**
 * Model stage: one decoder-only transformer (GPT-2 and Llama families) in tfjs, its KV cache
 * with per-stream positions, and the Hugging Face folder loader / writer.
 */
export { DecoderModel } from "./decoder.js";
export { KvCache, defaultCacheMode } from "./cache.js";
export type { CacheMode, CacheOptions } from "./cache.js";
export { configFromHf, configToHf, validateConfig, smallConfig } from "./config.js";
export type { DecoderConfig, ModelFamily, Activation } from "./config.js";
export { ropeInvFreq } from "./rope.js";
export type { RopeScaling } from "./rope.js";
export { loadModel, saveModel } from "./io.js";
export type { LoadedModel } from "./io.js";
export { readGenerationConfig, GENERATION_CONFIG_FILE } from "./generation-config.js";
export type { SamplingDefaults } from "./generation-config.js";
export {
  parseSafetensors, readSafetensors, serializeSafetensors, writeSafetensors, f16ToF32, bf16ToF32, f32ToF16, f32ToBf16, SafetensorsFile,
} from "./safetensors.js";
export type { SafetensorsEntry, SafetensorsDtype, TensorToWrite } from "./safetensors.js";
export { ModelFormatError, ModelUsageError } from "./errors.js";
export type { DecoderWeights, LayerWeights, Linear, Norm } from "./weights.js";
export { DecoderTrainer, trainableMatMul, oneHotEmbed, TRAINING_OPS } from "./train.js";
export { INFERENCE_OPS } from "./decoder.js";
export type { ForwardOps } from "./decoder.js";
