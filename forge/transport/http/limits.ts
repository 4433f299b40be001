/** Server limits: defaults, and the user's overrides checked once at start. */
import { HttpConfigError } from "./errors.js";
import { MAX_INLINE_TABLE_ROWS } from "./tables.js";
import type { ServerLimits } from "./types.js";

/**
 * A body over `maxBodyBytes` is read to its end (and discarded) before the 413 goes out, so
 * the client, still sending, reads the answer instead of a broken pipe: at most this many
 * bytes, for at most `DRAIN_TIMEOUT_MS`; past either the connection is closed on it.
 */
export const MAX_DRAINED_BODY_BYTES = 64 * 1024 * 1024;
export const DRAIN_TIMEOUT_MS = 10_000;

export function defaultLimits(contextLength: number): ServerLimits {
  return {
    maxBodyBytes: 4 * 1024 * 1024,
    maxBatchSize: 256,
    maxInstances: 4096,
    maxTokens: contextLength,
    maxTotalTokens: 8 * 1024 * 1024,
    maxQueuedJobs: 32,
    maxRetainedJobs: 64,
    maxToolTimeoutMs: 120_000,
    maxInlineTableRows: MAX_INLINE_TABLE_ROWS,
  };
}

/** Defaults overlaid with `overrides`; every value must be a positive integer. maxTokens never exceeds the context. */
export function resolveLimits(contextLength: number, overrides: Partial<ServerLimits> = {}): ServerLimits {
  const limits = defaultLimits(contextLength);
  for (const [key, value] of Object.entries(overrides)) {
    if (!(key in limits)) throw new HttpConfigError(`makeServer(options.limits.${key})`, `unknown limit "${key}" (known: ${Object.keys(limits).join(", ")})`);
    if (value === undefined) continue;
    if (!Number.isSafeInteger(value) || (value as number) < 1)
      throw new HttpConfigError(`makeServer(options.limits.${key})`, `must be a positive integer, got ${String(value)}`);
    (limits as unknown as Record<string, number>)[key] = value as number;
  }
  limits.maxTokens = Math.min(limits.maxTokens, contextLength);
  return limits;
}
