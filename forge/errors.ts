/**
 * The one base of every error Forge throws for a user's mistake or an unusable environment.
 *
 * Why a base: callers (the kernel's error display, the HTTP server, the agents' retry policy,
 * a notebook's try/catch) tell a mistake the user can fix from a bug in Forge by
 * `error instanceof ForgeError`, and branch on `code` — a stable, machine-readable name that is
 * part of the API (never reworded; messages may be). Each stage's `errors.ts` declares its
 * class with its code and the fields that say where (file:line:column, a JSON path, a call
 * site); `where` gives that place as one string for displays that only want a location.
 */
export abstract class ForgeError extends Error {
  /** Stable name of the kind of mistake, e.g. "udpl_invalid", "limit_exceeded". */
  abstract readonly code: string;

  /** The place of the mistake as one string ("file:line:column", "$.workflow.zones[3]", a call site), when it has one. */
  declare readonly where?: string;
}

/** Whether a thrown value is a Forge error (a user's mistake or the environment), not a bug. */
export function isForgeError(error: unknown): error is ForgeError {
  return error instanceof ForgeError;
}
