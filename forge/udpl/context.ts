/**
 * The lint context for one file: turns a document path and a description into a located
 * `UdplError` (thrown) or `UdplWarning` (collected).
 */
import { formatUdplProblem, UdplError, type UdplProblem, type UdplWarning } from "./errors.js";
import { formatPath, TomlLocator, type PathSegment } from "./locate.js";

export interface ProblemDetails {
  sequence?: string;
  block?: number;
  expected?: string;
  found?: string;
  hint?: string;
}

export class LintContext {
  readonly locator: TomlLocator;

  constructor(
    readonly file: string,
    text: string,
    readonly warnings: UdplWarning[],
  ) {
    this.locator = new TomlLocator(text);
  }

  problem(path: readonly PathSegment[], message: string, details: ProblemDetails = {}): UdplProblem {
    const { line, column } = this.locator.nearest(path);
    return { file: this.file, line, column, key: path.length ? formatPath(path) : undefined, message, ...details };
  }

  fail(path: readonly PathSegment[], message: string, details: ProblemDetails = {}): never {
    throw new UdplError(this.problem(path, message, details));
  }

  warn(path: readonly PathSegment[], message: string, details: ProblemDetails = {}): void {
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

/** Closest candidate by edit distance, for "did you mean …?". */
export function suggest(word: string, candidates: readonly string[]): string | undefined {
  let best: string | undefined;
  let bestDistance = Math.max(2, Math.floor(word.length / 3)) + 1;
  for (const c of candidates) {
    const d = editDistance(word.toLowerCase(), c.toLowerCase());
    if (d < bestDistance) {
      best = c;
      bestDistance = d;
    }
  }
  return best;
}

function editDistance(a: string, b: string): number {
  const row = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    let prev = row[0];
    row[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const tmp = row[j];
      row[j] = Math.min(row[j] + 1, row[j - 1] + 1, prev + (a[i - 1] === b[j - 1] ? 0 : 1));
      prev = tmp;
    }
  }
  return row[b.length];
}
