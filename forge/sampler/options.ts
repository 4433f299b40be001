import { ForgeError } from "../errors.js";

/** Sampling options and their validation. */
export interface SamplingOptions {
  /** Take the most likely token (ignores the other options). */
  greedy?: boolean;
  /** Divide logits by this before softmax; 0 means greedy. Default 1. */
  temperature?: number;
  /** Keep only the k most likely tokens. */
  topK?: number;
  /** Keep the smallest set of most likely tokens whose probability reaches p (nucleus). */
  topP?: number;
}

export class SamplingOptionsError extends ForgeError {
  readonly code: string = "sampling_options";
  constructor(field: string, message: string) {
    super(`sampling option ${field}: ${message}`);
    this.name = "SamplingOptionsError";
  }
}

/** Options after validation: greedy resolved, defaults filled in. */
export interface ResolvedSampling {
  greedy: boolean;
  temperature: number;
  /** null: no top-k filter. */
  topK: number | null;
  /** null: no nucleus filter. */
  topP: number | null;
}

/** Validate options against a vocabulary size; throws SamplingOptionsError naming the field. */
export function resolveSampling(options: SamplingOptions, vocabSize: number): ResolvedSampling {
  const { greedy = false, temperature = 1, topK, topP } = options;
  if (typeof greedy !== "boolean") throw new SamplingOptionsError("greedy", `expected true or false, got ${String(greedy)}`);
  if (typeof temperature !== "number" || !Number.isFinite(temperature) || temperature < 0)
    throw new SamplingOptionsError("temperature", `expected a finite number >= 0, got ${String(temperature)}`);
  if (topK !== undefined && (!Number.isInteger(topK) || topK < 1))
    throw new SamplingOptionsError("topK", `expected an integer >= 1, got ${String(topK)}`);
  if (topP !== undefined && (typeof topP !== "number" || !(topP > 0 && topP <= 1)))
    throw new SamplingOptionsError("topP", `expected a number in (0, 1], got ${String(topP)}`);
  const isGreedy = greedy || temperature === 0 || topK === 1;
  return {
    greedy: isGreedy,
    temperature,
    topK: topK === undefined || topK >= vocabSize ? null : topK,
    topP: topP === undefined || topP === 1 ? null : topP,
  };
}
