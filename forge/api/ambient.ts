/**
 * Ambient hooks: how a host (the notebook kernel) lends a running request its
 * interruption signal and its progress display without every cell passing them.
 * `session.request` uses `options.signal ?? ambient signal` and calls both the
 * request's own `onProgress` and the ambient one.
 */
export interface Progress {
  /** Streams (workflow instances) finished so far, and in all. */
  streamsDone: number;
  streams: number;
  /** Decode steps taken, tokens emitted (all streams), tokens per second since start. */
  step: number;
  tokens: number;
  tokensPerSecond: number;
  elapsedMs: number;
  /** Estimated time left (null when unknown). */
  etaMs: number | null;
  /** True on the last report of a request. */
  finished: boolean;
}

export type ProgressListener = (progress: Progress) => void;

export interface AmbientHooks {
  signal?: () => AbortSignal | undefined;
  progress?: () => ProgressListener | undefined;
}

let hooks: AmbientHooks = {};

export function setAmbientHooks(next: AmbientHooks): void {
  hooks = next;
}

export function ambientSignal(): AbortSignal | undefined {
  return hooks.signal?.();
}

export function ambientProgress(): ProgressListener | undefined {
  return hooks.progress?.();
}
