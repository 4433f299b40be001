/**
 * The training loop: a decoder (forge/model's DecoderConfig and weight layout) trained on a
 * packed byte corpus with Adam, on whatever tfjs backend is active (wasm here), deterministic
 * for a seed: the initial weights, the corpus and the order of the transcripts all come from it,
 * and the step count is fixed in advance (never "until the clock runs out").
 *
 * Stages: `initWeights` (trainable variables in the model's layout) → `trainModel` (steps of
 * forward, weighted cross-entropy, clipped Adam, warmup + cosine learning rate) →
 * `saveTrainedModel` (Hugging Face folder + training log + the command that made it).
 */
import * as tf from "@tensorflow/tfjs";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { DecoderModel, GENERATION_CONFIG_FILE, saveModel, validateConfig, type DecoderConfig, type DecoderWeights, type Linear, type Norm } from "../../forge/model/index.js";
import { byteLevelTokenizerConfig, byteLevelTokenizerJson } from "../../forge/tokenizer/index.js";
import { seededRandom } from "../../forge/resources/random.js";
import { forwardConstants, disposeConstants, raggedTrainingLogits, weightedCrossEntropy } from "./forward.js";
import type { PackedCorpus } from "./corpus.js";
import { TrainingError } from "./errors.js";

export interface TrainOptions {
  seed: number;
  /** Optimizer steps (fixed: the run is reproducible). */
  steps: number;
  /** A step takes whole transcripts until they would pass batchSize · seqLen tokens. */
  batchSize: number;
  /** Longest sequence (≤ config.maxPositions): a longer transcript is cut there. Each
   * transcript is its own sequence from position 0, as an engine stream starts its workflow. */
  seqLen: number;
  /** Peak learning rate (after warmup; cosine decay to `minLrRatio`·peak). */
  learningRate: number;
  warmupSteps: number;
  minLrRatio: number;
  /** Global gradient-norm clip. */
  clipNorm: number;
  weightDecay: number;
  /** Log a line every this many steps. */
  logEvery: number;
  /** Called with each log line (the CLI prints and records them). */
  onLog?: (line: string) => void;
  /** Every this many steps, `onCheckpoint` gets the model as trained so far (0: never). */
  checkpointEvery?: number;
  onCheckpoint?: (step: number, model: DecoderModel, log: readonly string[]) => void;
}

export const DEFAULT_TRAIN_OPTIONS: Omit<TrainOptions, "seed" | "steps"> = {
  batchSize: 8,
  seqLen: 256,
  learningRate: 2e-3,
  warmupSteps: 40,
  minLrRatio: 0.1,
  clipNorm: 1,
  weightDecay: 0.01,
  logEvery: 10,
};

export interface TrainResult {
  model: DecoderModel;
  steps: number;
  tokensSeen: number;
  seconds: number;
  /** Mean training loss over the last `logEvery` steps. */
  finalLoss: number;
  /** Weighted loss on the held-out corpus after training (null when none was given). */
  heldOutLoss: number | null;
  log: string[];
}

/**
 * Fresh trainable weights in the model's layout: normal(0, 0.02) matrices, residual output
 * projections scaled by 1/√(2·layers) (GPT-2's scheme), norm gains 1, biases 0.
 */
export function initWeights(config: DecoderConfig, seed: number, from?: DecoderWeights): DecoderWeights {
  validateConfig(config);
  if (from !== undefined) return variableCopy(from);
  let counter = 0;
  const std = 0.02;
  const normal = (shape: number[], s = std) => tf.variable(tf.randomNormal(shape, 0, s, "float32", seed * 7919 + counter++));
  const zeros = (n: number) => tf.variable(tf.zeros([n]));
  const ones = (n: number) => tf.variable(tf.ones([n]));
  const { hiddenSize: h, heads, kvHeads, headDim: d, intermediateSize: inter, vocabSize: v, layers: L } = config;
  const gpt2 = config.family === "gpt2";
  const residual = std / Math.sqrt(2 * L);
  const norm = (): Norm => ({ gain: ones(h) as tf.Variable<tf.Rank.R1>, bias: gpt2 ? (zeros(h) as tf.Variable<tf.Rank.R1>) : null });
  const lin = (rows: number, cols: number, s: number, bias: boolean): Linear => ({
    w: normal([rows, cols], s) as tf.Variable<tf.Rank.R2>,
    b: bias ? (zeros(cols) as tf.Variable<tf.Rank.R1>) : null,
  });
  if (config.tieEmbeddings) throw new TrainingError("tied embeddings are not supported by the trainer (set tieEmbeddings: false)");
  const layers = Array.from({ length: L }, () => ({
    attnNorm: norm(),
    qkv: lin(h, (heads + 2 * kvHeads) * d, std, gpt2 || config.attentionBias),
    attnOut: lin(heads * d, h, residual, gpt2),
    mlpNorm: norm(),
    mlpIn: lin(h, gpt2 ? inter : 2 * inter, std, gpt2),
    mlpOut: lin(inter, h, residual, gpt2),
  }));
  return {
    tokenEmbedding: normal([v, h]) as tf.Variable<tf.Rank.R2>,
    positionEmbedding: gpt2 ? (normal([config.maxPositions, h], 0.01) as tf.Variable<tf.Rank.R2>) : null,
    layers,
    finalNorm: norm(),
    head: normal([h, v]) as tf.Variable<tf.Rank.R2>,
  };
}

/** Trainable copies of existing weights (to continue training a saved model). */
function variableCopy(w: DecoderWeights): DecoderWeights {
  const v = <T extends tf.Tensor>(t: T) => tf.variable(t) as unknown as T;
  const lin = (l: Linear): Linear => ({ w: v(l.w), b: l.b === null ? null : v(l.b) });
  const norm = (n: Norm): Norm => ({ gain: v(n.gain), bias: n.bias === null ? null : v(n.bias) });
  return {
    tokenEmbedding: v(w.tokenEmbedding),
    positionEmbedding: w.positionEmbedding === null ? null : v(w.positionEmbedding),
    layers: w.layers.map((l) => ({ attnNorm: norm(l.attnNorm), qkv: lin(l.qkv), attnOut: lin(l.attnOut), mlpNorm: norm(l.mlpNorm), mlpIn: lin(l.mlpIn), mlpOut: lin(l.mlpOut) })),
    finalNorm: norm(w.finalNorm),
    head: v(w.head),
  };
}

function variablesOf(w: DecoderWeights): tf.Variable[] {
  const all: (tf.Tensor | null)[] = [w.tokenEmbedding, w.positionEmbedding, w.head, w.finalNorm.gain, w.finalNorm.bias];
  for (const l of w.layers) all.push(l.attnNorm.gain, l.attnNorm.bias, l.qkv.w, l.qkv.b, l.attnOut.w, l.attnOut.b, l.mlpNorm.gain, l.mlpNorm.bias, l.mlpIn.w, l.mlpIn.b, l.mlpOut.w, l.mlpOut.b);
  return all.filter((t): t is tf.Variable => t instanceof tf.Variable);
}

/**
 * One transcript of the packed corpus: ids tokens[start, start + length), targets one further
 * on (the last target is the separator, weighted 0).
 */
export interface TranscriptSpan {
  start: number;
  length: number;
}

/** Every transcript's span, cut to `maxLength` tokens (the model's context). */
export function transcriptSpans(corpus: PackedCorpus, maxLength: number): TranscriptSpan[] {
  const spans: TranscriptSpan[] = [];
  const starts = corpus.documentStarts;
  for (let d = 0; d < corpus.documents; d++) {
    const separator = d + 1 < corpus.documents ? starts[d + 1]! - 1 : corpus.tokens.length - 1;
    const length = Math.min(separator - starts[d]!, maxLength);
    if (length > 0) spans.push({ start: starts[d]!, length });
  }
  if (spans.length === 0) throw new TrainingError(`the corpus (${corpus.tokens.length} tokens) holds no transcript to train on`);
  return spans;
}

/** The transcripts' indices in a seeded order (one pass = one epoch). */
export function transcriptOrder(count: number, seed: number): Int32Array {
  const order = Int32Array.from({ length: count }, (_, i) => i);
  const r = seededRandom(seed ^ 0x10ff);
  for (let i = count - 1; i > 0; i--) {
    const j = Math.floor(r() * (i + 1));
    [order[i], order[j]] = [order[j]!, order[i]!];
  }
  return order;
}

/** A step's batch: whole transcripts laid end to end, each its own sequence (positions from 0). */
interface Batch {
  ids: tf.Tensor1D;
  targets: tf.Tensor1D;
  weights: tf.Tensor1D;
  lengths: number[];
}

function makeBatch(corpus: PackedCorpus, spans: readonly TranscriptSpan[]): Batch {
  const total = spans.reduce((n, s) => n + s.length, 0);
  const ids = new Int32Array(total);
  const targets = new Int32Array(total);
  const weights = new Float32Array(total);
  let at = 0;
  for (const { start, length } of spans) {
    ids.set(corpus.tokens.subarray(start, start + length), at);
    targets.set(corpus.tokens.subarray(start + 1, start + length + 1), at);
    weights.set(corpus.weights.subarray(start, start + length), at);
    at += length;
  }
  return { ids: tf.tensor1d(ids, "int32"), targets: tf.tensor1d(targets, "int32"), weights: tf.tensor1d(weights), lengths: spans.map((s) => s.length) };
}

/** Takes transcripts in `order` (cyclically, from `next`) until the next would pass `budget` tokens; always at least one. */
function takeSpans(spans: readonly TranscriptSpan[], order: Int32Array, next: { at: number }, budget: number): TranscriptSpan[] {
  const taken: TranscriptSpan[] = [];
  let tokens = 0;
  for (;;) {
    const span = spans[order[next.at % order.length]!]!;
    if (taken.length > 0 && tokens + span.length > budget) return taken;
    taken.push(span);
    tokens += span.length;
    next.at++;
    if (taken.length === order.length) return taken;
  }
}

function disposeBatch(b: Batch): void {
  b.ids.dispose();
  b.targets.dispose();
  b.weights.dispose();
}

/** Learning rate at `step` (0-based): linear warmup, then cosine to minLrRatio·peak. */
export function learningRateAt(step: number, o: Pick<TrainOptions, "steps" | "learningRate" | "warmupSteps" | "minLrRatio">): number {
  if (step < o.warmupSteps) return (o.learningRate * (step + 1)) / o.warmupSteps;
  const progress = Math.min(1, (step - o.warmupSteps) / Math.max(1, o.steps - o.warmupSteps));
  return o.learningRate * (o.minLrRatio + (1 - o.minLrRatio) * 0.5 * (1 + Math.cos(Math.PI * progress)));
}

function checkOptions(config: DecoderConfig, o: TrainOptions): void {
  const positive: (keyof TrainOptions)[] = ["steps", "batchSize", "seqLen", "logEvery"];
  for (const k of positive) {
    const v = o[k];
    if (typeof v !== "number" || !Number.isInteger(v) || v <= 0) throw new TrainingError(`training option ${k} must be a positive integer, got ${String(v)}`);
  }
  if (!(o.learningRate > 0)) throw new TrainingError(`training option learningRate must be positive, got ${o.learningRate}`);
  if (o.seqLen > config.maxPositions) throw new TrainingError(`training option seqLen (${o.seqLen}) exceeds the model's maxPositions (${config.maxPositions})`);
}

/** Weighted loss of the current weights over (up to `maxTranscripts`) transcripts of a corpus, in batches of `budget` tokens. */
export function evaluateLoss(config: DecoderConfig, weights: DecoderWeights, corpus: PackedCorpus, budget: number, maxTranscripts = 64): number {
  const spans = transcriptSpans(corpus, config.maxPositions).slice(0, maxTranscripts);
  const order = Int32Array.from(spans.keys());
  const c = forwardConstants(config, Math.max(...spans.map((s) => s.length)));
  let sum = 0;
  let weight = 0;
  for (const next = { at: 0 }; next.at < order.length; ) {
    const batch = makeBatch(corpus, takeSpans(spans, order, next, budget));
    const [l, w] = tf.tidy(() => {
      const loss = weightedCrossEntropy(raggedTrainingLogits(config, weights, batch.ids, batch.lengths, c), batch.targets, batch.weights);
      return [loss.dataSync()[0]!, tf.sum(batch.weights).dataSync()[0]!];
    });
    sum += l * w;
    weight += w;
    disposeBatch(batch);
  }
  disposeConstants(c);
  return weight > 0 ? sum / weight : NaN;
}

/**
 * Train a fresh model on `corpus` (or continue from `initial` weights, which are copied). The
 * model's name is `name`; `heldOut` (optional) is scored at the end.
 */
export function trainModel(config: DecoderConfig, corpus: PackedCorpus, options: TrainOptions, name = "forge-tiny", heldOut?: PackedCorpus, initial?: DecoderWeights): TrainResult {
  checkOptions(config, options);
  const o = options;
  const log: string[] = [];
  const say = (line: string) => {
    log.push(line);
    o.onLog?.(line);
  };
  const weights = initWeights(config, o.seed, initial);
  const vars = variablesOf(weights);
  const paramCount = vars.reduce((n, v) => n + v.size, 0);
  const spans = transcriptSpans(corpus, o.seqLen);
  const order = transcriptOrder(spans.length, o.seed);
  const budget = o.batchSize * o.seqLen;
  say(`model ${config.family} layers=${config.layers} hidden=${config.hiddenSize} heads=${config.heads}/${config.kvHeads} mlp=${config.intermediateSize} context=${config.maxPositions} vocab=${config.vocabSize} params=${paramCount}`);
  say(`corpus ${corpus.documents} transcripts, ${corpus.tokens.length} tokens; steps=${o.steps}, each whole transcripts up to ${budget} tokens (≤ ${o.seqLen} per transcript)`);
  if (initial !== undefined) say("continuing from the given weights (fresh optimizer state)");
  say(`optimizer adam lr=${o.learningRate} warmup=${o.warmupSteps} cosine→${o.minLrRatio} clip=${o.clipNorm} weightDecay=${o.weightDecay} seed=${o.seed} backend=${tf.getBackend()}`);

  const optimizer = tf.train.adam(o.learningRate, 0.9, 0.95, 1e-8);
  const c = forwardConstants(config, o.seqLen);
  let tokensSeen = 0;
  const decayed = new Set(vars.filter((v) => v.rank === 2)); // matrices only, not gains and biases
  const started = performance.now();
  const next = { at: 0 };
  let recent: number[] = [];
  let finalLoss = NaN;
  for (let step = 0; step < o.steps; step++) {
    const batch = makeBatch(corpus, takeSpans(spans, order, next, budget));
    tokensSeen += batch.ids.shape[0];
    const lr = learningRateAt(step, o);
    (optimizer as unknown as { learningRate: number }).learningRate = lr;
    const lossValue = tf.tidy(() => {
      const { value, grads } = tf.variableGrads(() => weightedCrossEntropy(raggedTrainingLogits(config, weights, batch.ids, batch.lengths, c), batch.targets, batch.weights), vars);
      // Global-norm clipping, then decoupled weight decay on the matrices (AdamW-style).
      const names = Object.keys(grads);
      const norm = Math.sqrt(tf.addN(names.map((k) => tf.sum(tf.square(grads[k]!)))).dataSync()[0]!);
      const scale = norm > o.clipNorm ? o.clipNorm / norm : 1;
      const clipped: tf.NamedTensorMap = {};
      for (const k of names) clipped[k] = scale === 1 ? grads[k]! : tf.mul(grads[k]!, scale);
      (optimizer as tf.Optimizer).applyGradients(clipped);
      if (o.weightDecay > 0) for (const v of decayed) v.assign(tf.mul(v, 1 - lr * o.weightDecay));
      return value.dataSync()[0]!;
    });
    disposeBatch(batch);
    if (!Number.isFinite(lossValue)) throw new TrainingError(`training diverged at step ${step + 1}: loss ${lossValue}`);
    recent.push(lossValue);
    if ((step + 1) % o.logEvery === 0 || step + 1 === o.steps) {
      const mean = recent.reduce((a, b) => a + b, 0) / recent.length;
      finalLoss = mean;
      recent = [];
      const seconds = (performance.now() - started) / 1000;
      say(`step ${String(step + 1).padStart(5)} loss ${mean.toFixed(4)} lr ${lr.toExponential(2)} ${(tokensSeen / seconds).toFixed(0)} tok/s ${seconds.toFixed(0)} s`);
    }
    if (o.checkpointEvery && o.onCheckpoint && (step + 1) % o.checkpointEvery === 0 && step + 1 < o.steps) {
      say(`checkpoint at step ${step + 1} of ${o.steps}`);
      // The model shares the variables: it is not disposed here.
      o.onCheckpoint(step + 1, new DecoderModel(`${name}-step${step + 1}`, config, weights), log);
    }
  }
  disposeConstants(c);
  optimizer.dispose();
  const seconds = (performance.now() - started) / 1000;
  const heldOutLoss = heldOut ? evaluateLoss(config, weights, heldOut, budget) : null;
  if (heldOutLoss !== null) say(`held-out loss ${heldOutLoss.toFixed(4)}`);
  say(`done: ${o.steps} steps, ${tokensSeen} tokens (${(next.at / spans.length).toFixed(2)} epochs) in ${seconds.toFixed(0)} s`);
  return {
    model: new DecoderModel(name, config, weights),
    steps: o.steps,
    tokensSeen,
    seconds,
    finalLoss,
    heldOutLoss,
    log,
  };
}

/**
 * Write the trained model as a Hugging Face folder (config.json, model.safetensors,
 * tokenizer.json, tokenizer_config.json) with its training log and the command that made it.
 */
export function saveTrainedModel(
  model: DecoderModel,
  folder: string,
  record: { log: string[]; command: string; generationConfig?: Record<string, unknown> },
): void {
  saveModel(model, folder, byteLevelTokenizerJson());
  if (record.generationConfig) writeFileSync(join(folder, GENERATION_CONFIG_FILE), JSON.stringify(record.generationConfig, null, 2) + "\n");
  writeFileSync(join(folder, "tokenizer_config.json"), JSON.stringify(byteLevelTokenizerConfig(), null, 2) + "\n");
  writeFileSync(join(folder, "training-log.txt"), record.log.join("\n") + "\n");
  writeFileSync(join(folder, "COMMAND.txt"), record.command + "\n");
}
