/** Resources: what fills placeholders when a workflow is sampled (docs/language.md#resources). */
export type { Resource, ResourceArguments, ResourceMap, ResourceValue } from "./types.js";
export { ResourceError } from "./errors.js";
export {
  staticResource,
  listSampler,
  feedbackBuffer,
  isResource,
  toResource,
  type StaticResource,
  type ListSampler,
  type FeedbackBuffer,
  type FeedbackBufferOptions,
  type SamplerOptions,
} from "./resources.js";
export { seededRandom, sampleWithoutReplacement } from "./random.js";
