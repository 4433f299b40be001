/** Cell text questions answered without running it: is it complete, is it a pager request, cursor offsets. */
import { cellTypeScript } from "./typescript.js";

export type Completeness = { status: "complete" } | { status: "incomplete"; indent: string } | { status: "invalid" } | { status: "unknown" };

/**
 * Bounds on the text these questions look at (they run in the kernel's main process, which
 * must keep answering): the pager syntax is one dotted name, so longer code is not asked
 * about (its pattern is quadratic in trailing spaces: "a" + 40 000 spaces + "!" took 0.8 s,
 * a 1 MB cell minutes); is_complete answers "unknown" past MAX_IS_COMPLETE_LENGTH or when the
 * parser's recursion runs out (5 000 nested braces overflowed the stack, and the reply carried
 * a stack trace); the indent guess reads at most MAX_INDENT_LINE_LENGTH of the last line.
 */
export const MAX_PAGER_LENGTH = 1_024;
export const MAX_IS_COMPLETE_LENGTH = 1_048_576;
export const MAX_INDENT_LINE_LENGTH = 1_024;

/** `expr?`, `?expr`, `expr??`: the IPython pager syntax. Returns the expression, or null. */
export function pagerTarget(code: string): string | null {
  if (code.length > MAX_PAGER_LENGTH) return null;
  const m = /^\s*(\?{0,2})\s*([A-Za-z_$][\w$]*(?:\s*\.\s*[A-Za-z_$][\w$]*)*)\s*(\?{0,2})\s*$/.exec(code);
  if (!m || (m[1] === "" && m[3] === "")) return null;
  return m[2]!.replace(/\s+/g, "");
}

/**
 * complete: can run as is; incomplete: the parser ran off the end (an open brace, a dangling operator);
 * invalid: a syntax error before the end that more input cannot fix.
 */
export function checkCompleteness(code: string): Completeness {
  if (code.trim() === "" || pagerTarget(code) !== null) return { status: "complete" };
  // Two blank lines at the end: run it as it is (a console's way to force a cell).
  if (endsWithBlankLine(code)) return { status: "complete" };
  if (code.length > MAX_IS_COMPLETE_LENGTH) return { status: "unknown" };
  const ts = cellTypeScript();
  type Parsed = { parseDiagnostics?: { start: number; length: number; messageText: string | { messageText: string } }[] };
  let file: Parsed;
  try {
    file = ts.createSourceFile("cell.ts", code, ts.ScriptTarget.Latest, false, ts.ScriptKind.TS) as unknown as Parsed;
  } catch (error) {
    if (error instanceof RangeError) return { status: "unknown" }; // nested too deeply for the parser's recursion
    throw error;
  }
  const diagnostics = file.parseDiagnostics ?? [];
  if (diagnostics.length === 0) return { status: "complete" };
  // The parser ran off the end wanting more ("'}' expected." at the end): more lines may complete it.
  if (diagnostics.some((d) => d.start === code.length && d.length === 0 && typeof d.messageText === "string" && d.messageText.endsWith(" expected."))) {
    return { status: "incomplete", indent: indentOnEnter(code) };
  }
  if (diagnostics.some((d) => d.start < code.length)) return { status: "invalid" };
  // Ran off the end otherwise (e.g. an unterminated string or template).
  return { status: "incomplete", indent: "" };
}

/**
 * Whether the trailing whitespace holds two line breaks (a blank line at the end), read
 * backwards in one pass: the pattern /(^|\n)\s*\n\s*$/ it replaces is cubic in blank lines
 * (2 000 newlines before "x(" took 4.5 s).
 */
function endsWithBlankLine(code: string): boolean {
  let breaks = 0;
  for (let i = code.length - 1; i >= 0 && /\s/.test(code[i]!); i--) if (code[i] === "\n" && ++breaks === 2) return true;
  return false;
}

/** The next line's indent: the last line's, one level more after an opening bracket, less after a closing one. */
function indentOnEnter(code: string): string {
  const line = code.slice(code.lastIndexOf("\n") + 1);
  const current = /^\s*/.exec(line)![0];
  if (line.length > MAX_INDENT_LINE_LENGTH) return current; // the patterns below backtrack on long lines
  if (/^((?!.*?\/\*).*\*\/)?\s*[\}\]].*$/.test(line)) {
    if (current.endsWith("  ")) return current.slice(0, -2);
    if (current.endsWith("\t") || current.endsWith(" ")) return current.slice(0, -1);
    return current;
  }
  if (/^((?!\/\/).)*(\{[^}"'`]*|\([^)"'`]*|\[[^\]"'`]*)$/.test(line)) return current + "  ";
  return current;
}

/** Jupyter counts cursor positions in Unicode code points; JavaScript strings index UTF-16 units. */
export function codePointToUtf16(text: string, codePoints: number): number {
  let units = 0;
  let seen = 0;
  for (const ch of text) {
    if (seen >= codePoints) break;
    units += ch.length;
    seen++;
  }
  return units;
}

export function utf16ToCodePoint(text: string, units: number): number {
  return [...text.slice(0, units)].length;
}
