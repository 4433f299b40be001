/**
 * Training stage: the project's own small model that speaks the zone protocol.
 * - corpus.ts: the seeded transcript generator (tasks, loops with jump cues, setup blocks);
 * - forward.ts: the differentiable forward over forge/model's weight layout;
 * - train.ts: the training loop and the folder writer;
 * - recipe.ts: the shipped model's config and plan (`npm run train:model`);
 * - eval.ts: protocol adherence, jump rates per cue, accuracy per task (`npm run eval:model`).
 */
export {
  PROMPT, ANSWER, EOS, JUMP, ESCAPE, quoted,
  SEED_SETUP_PROMPT, SEED_SETUP_ANSWER, SEED_CONTROL_PROMPT, SEED_CONCLUSION_PROMPT, seedReasoningPrompt,
  TASK_KINDS, JUMP_CUES, OPEN_QUESTIONS,
  makeTask, drawTask, splitOf, jumpProbability, triesCue, notYet, tryPrefix, verdictText, restateVerdict,
  generateTranscript, generateCorpus, packCorpus, transcriptText,
} from "./corpus.js";
export type { Task, TaskKind, JumpCue, Split, Segment, SegmentRole, Transcript, DocumentKind, CorpusOptions, PackedCorpus, PackOptions } from "./corpus.js";
export { trainingLogits, raggedTrainingLogits, weightedCrossEntropy, forwardConstants, disposeConstants } from "./forward.js";
export type { ForwardConstants } from "./forward.js";
export { initWeights, trainModel, saveTrainedModel, evaluateLoss, learningRateAt, transcriptSpans, transcriptOrder, DEFAULT_TRAIN_OPTIONS } from "./train.js";
export type { TrainOptions, TrainResult } from "./train.js";
export { FORGE_TINY_CONFIG, FORGE_TINY_GENERATION_CONFIG, SMOKE_CONFIG, FULL_TRAINING, SMOKE_TRAINING, runTraining, BYTE_VOCAB_SIZE, SEPARATOR_ID } from "./recipe.js";
export type { TrainingPlan, RunTrainingOptions } from "./recipe.js";
export { TrainingError } from "./errors.js";
