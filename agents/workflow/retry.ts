/**
 * Retry policy: exponential backoff with jitter and a cap, limited to retryable error kinds.
 * Delay before retry k (1-based): min(cap, backoff × multiplier^(k-1)) × (1 + jitter × (2r − 1)),
 * r uniform in [0,1) — then capped again, so jitter never exceeds `maxBackoffSeconds`.
 */
import { errorKind } from "../errors.js";
import type { RetryPolicy } from "../types.js";

/** Mistakes in the workflow itself: retrying cannot fix them. */
const NEVER_RETRIED = new Set(["validation", "input", "expression", "aborted", "definition", "unknown-agent", "in-doubt"]);

export function isRetryable(policy: RetryPolicy | undefined, error: unknown): boolean {
  if (!policy || policy.maxRetries <= 0) return false;
  const kind = errorKind(error);
  if (policy.retryOn) return policy.retryOn.includes(kind);
  return !NEVER_RETRIED.has(kind);
}

export function retryDelayMs(policy: RetryPolicy, retry: number, random: () => number): number {
  const base = policy.backoffSeconds ?? 1;
  const multiplier = policy.multiplier ?? 2;
  const cap = policy.maxBackoffSeconds ?? Infinity;
  const jitter = Math.min(1, Math.max(0, policy.jitter ?? 0));
  const nominal = Math.min(cap, base * multiplier ** (retry - 1));
  const jittered = nominal * (1 + jitter * (2 * random() - 1));
  return Math.max(0, Math.min(cap, jittered)) * 1000;
}
