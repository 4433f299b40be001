/**
 * UDPL errors and warnings. Every user mistake in a UDPL file becomes a `UdplError` that
 * says where (file, line, column of the offending key or value), in which sequence and
 * block, and what was expected versus found. Its message reads well on its own.
 */
import { ForgeError } from "../errors.js";

export interface UdplLocation {
  file: string;
  /** 1-based; 0 when the problem has no position (e.g. an unreadable file). */
  line: number;
  column: number;
  sequence?: string;
  /** Block index within the sequence (0-based: the n-th `[[sequence]]` table). */
  block?: number;
  /** Dotted key path inside the document, e.g. `conclusion[0].tags[1][0]`. */
  key?: string;
}

export interface UdplProblem extends UdplLocation {
  message: string;
  expected?: string;
  found?: string;
  hint?: string;
}

/** A lint warning. `message` reads alone (with file:line:column, like an error's); `reason` is the bare description. */
export type UdplWarning = UdplProblem & { readonly severity: "warning"; readonly reason: string };

export function formatUdplProblem(p: UdplProblem): string {
  const where = p.line > 0 ? `${p.file}:${p.line}:${p.column}` : p.file;
  const scope: string[] = [];
  if (p.sequence !== undefined) scope.push(`sequence "${p.sequence.length > 80 ? p.sequence.slice(0, 79) + "…" : p.sequence}"`);
  if (p.block !== undefined) scope.push(`block ${p.block}`);
  if (p.key !== undefined) scope.push(`key ${p.key}`);
  let text = `${where}: ${p.message}`;
  if (scope.length) text += ` (${scope.join(", ")})`;
  if (p.expected !== undefined) text += `\n  expected: ${p.expected}`;
  if (p.found !== undefined) text += `\n  found:    ${p.found}`;
  if (p.hint) text += `\n  hint: ${p.hint}`;
  return text;
}

export class UdplError extends ForgeError {
  readonly code: string = "udpl_invalid";
  readonly file: string;
  readonly line: number;
  readonly column: number;
  readonly sequence?: string;
  readonly block?: number;
  readonly key?: string;
  readonly expected?: string;
  readonly found?: string;
  readonly hint?: string;
  /** The bare description, without location (the `message` has everything). */
  readonly reason: string;
  override readonly where: string;

  constructor(problem: UdplProblem) {
    super(formatUdplProblem(problem));
    this.name = "UdplError";
    this.file = problem.file;
    this.line = problem.line;
    this.column = problem.column;
    this.sequence = problem.sequence;
    this.block = problem.block;
    this.key = problem.key;
    this.expected = problem.expected;
    this.found = problem.found;
    this.hint = problem.hint;
    this.reason = problem.message;
    this.where = problem.line > 0 ? `${problem.file}:${problem.line}:${problem.column}` : problem.file;
  }
}
