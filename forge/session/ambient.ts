/**
 * Ambient hooks: how a host (the notebook kernel) lends a running request its
 * interruption signal and its progress display without every cell passing them.
 * `session.request` uses `options.signal ?? ambient signal` and calls both the
 * request's own `onProgress` and the ambient one.
 */
import type { ProgressListener } from "../engine/progress.js";
export type { Progress, ProgressListener } from "../engine/progress.js";

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
