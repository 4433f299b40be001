/** Sampler stage: seeded, batch-independent sampling of next tokens from logits on tensors. */
export { counterUniform, philox4x32 } from "./philox.js";
export { sampleTokens } from "./sample.js";
export { resolveSampling, SamplingOptionsError } from "./options.js";
export type { SamplingOptions, ResolvedSampling } from "./options.js";
