/**
 * Sampler stage: seeded, batch-independent sampling of next tokens from logits — on tensors
 * (sample.ts, for GPU backends) or on typed arrays (host.ts, where logits are host memory;
 * the same draws as the tensor path on the wasm backend).
 */
export { counterUniform, philox4x32 } from "./philox.js";
export { sampleTokens } from "./sample.js";
export { sampleTokensHost } from "./host.js";
export { sampleOnBackend, hostSampling } from "./dispatch.js";
export { resolveSampling, SamplingOptionsError } from "./options.js";
export type { SamplingOptions, ResolvedSampling } from "./options.js";
