/**
 * The lint context for one file: turns a document path and a description into a located
 * `UdplError` (thrown) or `UdplWarning` (collected).
 */
import { formatUdplProblem, UdplError, type UdplProblem, type UdplWarning } from "./errors.js";
import { UDPL_LIMITS, limitLabel, type UdplLimitName } from "./limits.js";
import { formatPath, TomlLocator, type PathSegment } from "./locate.js";

export interface ProblemDetails {
  sequence?: string;
  block?: number;
  expected?: string;
  found?: string;
  hint?: string;
}

/** Warnings over `UDPL_LIMITS.maxWarnings` are counted here instead of kept (shared by the files of a folder). */
export interface WarningOverflow {
  dropped: number;
}

export class LintContext {
  readonly locator: TomlLocator;

  constructor(
    readonly file: string,
    text: string,
    readonly warnings: UdplWarning[],
    readonly overflow: WarningOverflow = { dropped: 0 },
  ) {
    this.locator = new TomlLocator(text);
  }

  problem(path: readonly PathSegment[], message: string, details: ProblemDetails = {}): UdplProblem {
    const { line, column } = this.locator.nearest(path);
    return { file: this.file, line, column, key: path.length ? displayPath(path) : undefined, message, ...details };
  }

  /** True once `UDPL_LIMITS.maxWarnings` are kept: a further warning is only counted (callers may skip building it). */
  get warningsFull(): boolean {
    return this.warnings.length >= UDPL_LIMITS.maxWarnings;
  }

  /** Fails with the limit's name and value when `value` exceeds it. */
  limit(name: UdplLimitName, value: number, path: readonly PathSegment[], what: string, details: ProblemDetails = {}): void {
    if (value > UDPL_LIMITS[name]) {
      this.fail(path, `${what} exceeds ${limitLabel(name)}`, {
        expected: `at most ${UDPL_LIMITS[name]}`,
        found: String(value),
        hint: "the UDPL limits (forge/udpl/limits.ts) bound what a file may make the parser allocate",
        ...details,
      });
    }
  }

  fail(path: readonly PathSegment[], message: string, details: ProblemDetails = {}): never {
    throw new UdplError(this.problem(path, message, details));
  }

  warn(path: readonly PathSegment[], message: string, details: ProblemDetails = {}): void {
    if (this.warningsFull) {
      this.overflow.dropped++;
      return;
    }
    const problem = this.problem(path, message, details);
    this.warnings.push({ ...problem, message: formatUdplProblem(problem), reason: message, severity: "warning" });
  }
}

/** A short description of a TOML value for "found: …". */
export function describeValue(v: unknown): string {
  if (v === undefined) return "nothing (missing)";
  if (typeof v === "string") return `string ${JSON.stringify(v.length > 40 ? v.slice(0, 40) + "…" : v)}`;
  if (typeof v === "number") return Number.isInteger(v) ? `integer ${v}` : `float ${v}`;
  if (typeof v === "bigint") return `integer ${v}`;
  if (typeof v === "boolean") return `boolean ${v}`;
  if (Array.isArray(v)) return `array of ${v.length}`;
  if (v instanceof Date) return `date ${v.toISOString()}`;
  if (typeof v === "object" && v !== null) return "table";
  return typeof v;
}

export function isTable(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v) && !(v instanceof Date);
}

/** A user string for a message, cut to `max` characters ("…" marks the cut): a 10 MB key makes a readable, small error. */
export function cut(s: string, max = 80): string {
  return s.length > max ? s.slice(0, max - 1) + "…" : s;
}

/** `JSON.stringify(cut(s))`. */
export function quote(s: string, max = 80): string {
  return JSON.stringify(cut(s, max));
}

/** Like `formatPath`, with each segment over 80 characters cut (an error's `key` stays readable and small). */
export function displayPath(path: readonly PathSegment[]): string {
  return formatPath(path.map((seg) => (typeof seg === "string" ? cut(seg) : seg)));
}

/** `["a", "b", …]` for a message, listing at most `max` entries. */
export function listForMessage(items: readonly string[], max = 20): string {
  if (items.length <= max) return JSON.stringify(items);
  return `${JSON.stringify(items.slice(0, max).map((s) => cut(s)))} … (${items.length} in all)`;
}

/**
 * Closest candidate by edit distance, for "did you mean …?". Bounded: words longer than
 * `UDPL_LIMITS.maxSuggestionLength` get none; a candidate whose length alone puts it out
 * of reach is skipped before any comparison; a comparison is abandoned as soon as a whole
 * row of the table reaches the best distance so far; at most
 * `UDPL_LIMITS.maxSuggestionCandidates` candidates are compared. So one suggestion costs
 * O(candidates + maxSuggestionCandidates × maxSuggestionLength²) at worst.
 */
export function suggest(word: string, candidates: readonly string[]): string | undefined {
  if (word.length > UDPL_LIMITS.maxSuggestionLength) return undefined;
  const lower = word.toLowerCase();
  let best: string | undefined;
  let bestDistance = Math.max(2, Math.floor(word.length / 3)) + 1;
  let compared = 0;
  for (const c of candidates) {
    if (Math.abs(c.length - word.length) >= bestDistance) continue;
    if (compared++ >= UDPL_LIMITS.maxSuggestionCandidates) break;
    const d = boundedEditDistance(lower, c.toLowerCase(), bestDistance);
    if (d < bestDistance) {
      best = c;
      bestDistance = d;
    }
  }
  return best;
}

/** Levenshtein distance of a and b when it is below `limit`, else some value ≥ `limit`. */
function boundedEditDistance(a: string, b: string, limit: number): number {
  const row = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    let prev = row[0];
    row[0] = i;
    let rowMin = row[0];
    for (let j = 1; j <= b.length; j++) {
      const tmp = row[j];
      row[j] = Math.min(row[j] + 1, row[j - 1] + 1, prev + (a[i - 1] === b[j - 1] ? 0 : 1));
      prev = tmp;
      if (row[j] < rowMin) rowMin = row[j];
    }
    if (rowMin >= limit) return limit; // every later row is at least this
  }
  return row[b.length];
}
