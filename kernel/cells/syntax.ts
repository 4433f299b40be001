/** Cell text questions answered without running it: is it complete, is it a pager request, cursor offsets. */
import { tslabConverter, tslabTypeScript } from "./tslab.js";

export type Completeness = { status: "complete" } | { status: "incomplete"; indent: string } | { status: "invalid" };

/** `expr?`, `?expr`, `expr??`: the IPython pager syntax. Returns the expression, or null. */
export function pagerTarget(code: string): string | null {
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
  const tslab = tslabConverter().isCompleteCode(code);
  const ts = tslabTypeScript();
  if (!tslab.completed) return { status: "incomplete", indent: tslab.indent ?? "" };
  const file = ts.createSourceFile("cell.ts", code, ts.ScriptTarget.Latest, false, ts.ScriptKind.TS);
  const errors = (file.parseDiagnostics ?? []).filter((d) => d.start < code.length);
  if (errors.length > 0) return { status: "invalid" };
  // Ran off the end without a "… expected" tslab recognises (e.g. an unterminated string or template).
  if ((file.parseDiagnostics ?? []).length > 0) return { status: "incomplete", indent: "" };
  return { status: "complete" };
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
