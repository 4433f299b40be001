/**
 * What a running request reports about itself, at most every 250 ms and once at the end: for
 * the request's `onProgress`, the notebook's progress display and the server's event stream.
 * The engine produces it (it alone knows steps, zones and which tokens were forced); the
 * layers above only pass it on, so the type lives here, at the bottom.
 */
export interface Progress {
  /** Streams (workflow instances) finished so far, and in all. */
  streamsDone: number;
  streams: number;
  /** Decode steps taken, tokens emitted (all streams, generated + forced), tokens per second since start. */
  step: number;
  tokens: number;
  tokensPerSecond: number;
  /** Tokens the model sampled, and tokens the automaton fed (prompts, forced text): told apart because only the first cost a decode step each. */
  generatedTokens?: number;
  forcedTokens?: number;
  /** Sampled tokens per second since start. */
  generatedTokensPerSecond?: number;
  /** Estimated share of the work done, 0…1 (from steps and zones, not only finished streams); null when unknown. */
  fraction?: number | null;
  elapsedMs: number;
  /** Estimated time left (null when unknown). */
  etaMs: number | null;
  /** True on the last report of a request. */
  finished: boolean;
}

export type ProgressListener = (progress: Progress) => void;
